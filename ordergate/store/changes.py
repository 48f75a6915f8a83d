"""What a write transaction changed that the per-process read views (`usecases.views`) hold:
the SKUs whose stock figures moved, and whether the catalogue (products, locations) did.

Records a transaction keeps through the session (`uow.save`, the repositories' `add`) are
seen at every flush, whatever code kept them; statements that bypass the session's records
(the repositories' conditional updates, upserts and bulk deletes) name what they touched with
`stock_changed` / `catalog_changed`. A hold's status changes on the hold, which names no SKU:
its id is kept and the store looks its lines' SKUs up before commit."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from ordergate.models.catalog import Product
from ordergate.models.inventory import (
    IncomingSupplyRecord,
    InventoryPosition,
    LedgerEntry,
    Reservation,
    ReservationLine,
    SafetyStock,
)
from ordergate.models.location import Location
from ordergate.models.supply import Backorder

STOCK = "ordergate.changed.stock"
CATALOG = "ordergate.changed.catalog"
HOLDS = "ordergate.changed.holds"

# Records whose change moves a SKU's figures in an availability answer.
_STOCK_RECORDS = (
    InventoryPosition,
    ReservationLine,
    IncomingSupplyRecord,
    Backorder,
    LedgerEntry,
    SafetyStock,
)
_CATALOG_RECORDS = (Product, Location)


def stock_changed(session: Any, skus: Iterable[str]) -> None:
    """`session`: an AsyncSession or its Session (both share `info`)."""
    session.info.setdefault(STOCK, set()).update(skus)


def catalog_changed(session: Any) -> None:
    session.info[CATALOG] = True


def holds_changed(session: Any) -> set[str]:
    """The ids of holds whose own row changed (their lines' SKUs are looked up at commit)."""
    found: set[str] = session.info.get(HOLDS, set())
    return found


def changed_stock(session: Any) -> frozenset[str]:
    return frozenset(session.info.get(STOCK, ()))


def changed_catalog(session: Any) -> bool:
    return bool(session.info.get(CATALOG, False))


@event.listens_for(Session, "before_flush")
def _note_changes(session: Session, _context: Any, _instances: Any) -> None:
    for record in chain(session.new, session.dirty, session.deleted):
        if isinstance(record, _STOCK_RECORDS):
            session.info.setdefault(STOCK, set()).add(record.sku)
        elif isinstance(record, Reservation):
            session.info.setdefault(HOLDS, set()).add(record.id)
        elif isinstance(record, _CATALOG_RECORDS):
            session.info[CATALOG] = True
