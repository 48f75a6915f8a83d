"""The audit trail as the store keeps it: every record a state-changing request writes through
the session is diffed at flush, field by field, and the transaction adds the entries before it
commits (`Store.write`), one per order it touched. Records the session does not see (the
conditional updates of stock positions) and the store's own bookkeeping (the event log, the
outbox, idempotency keys, counters, ledgers) are not diffed: the first are told by the event
log, the second are not changes a person made."""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm.base import NO_VALUE
from sqlmodel import select

from ordergate.models.audit import MAX_CHANGES, Actor, AuditEntry, change
from ordergate.models.erp import ErpSalesOrderRef
from ordergate.models.events import Counter, OrderEvent
from ordergate.models.idempotency import IdempotencyRecord
from ordergate.models.inventory import IncomingSupplyRecord, LedgerEntry, WebhookDelivery
from ordergate.models.loyalty import LoyaltyEntry
from ordergate.models.movements import StockMovement
from ordergate.models.notes import Note, Tag, TargetKind
from ordergate.models.order import Order
from ordergate.models.outbox import OutboxTask
from ordergate.models.sync import SyncCheckpoint
from ordergate.models.webhooks import WebhookAttempt
from ordergate.store import tables

ACTOR: ContextVar[Actor | None] = ContextVar("ordergate_audit_actor", default=None)
CHANGES = "ordergate.audit.changes"
UNAUDITED = (
    AuditEntry,
    OrderEvent,
    OutboxTask,
    IdempotencyRecord,
    Counter,
    WebhookDelivery,
    WebhookAttempt,
    SyncCheckpoint,
    ErpSalesOrderRef,
    LedgerEntry,
    LoyaltyEntry,
    StockMovement,
    IncomingSupplyRecord,
)
NO_ORDER = ""


def _order_of(record: Any) -> str:
    if isinstance(record, Order):
        return str(record.id)
    if isinstance(record, Note | Tag) and record.target_kind is TargetKind.ORDER:
        return str(record.target_id)
    return str(getattr(record, "order_id", None) or NO_ORDER)


_COLUMNS: dict[type, frozenset[str]] = {}


def _columns(mapper: Any) -> frozenset[str]:
    found = _COLUMNS.get(mapper.class_)
    if found is None:
        found = _COLUMNS[mapper.class_] = frozenset(a.key for a in mapper.column_attrs)
    return found


def _diff(record: Any, state: str) -> list[tuple[str, str, Any, Any]]:
    """(record id, field, before, after) for each column the flush writes. A changed record
    is read for the fields it changed only (`committed_state` holds their values before)."""
    inspected = sa.inspect(record)
    record_id = str(getattr(record, "id", None) or inspected.identity or "")
    columns = _columns(inspected.mapper)
    if state == "new":
        return [
            (record_id, name, None, value) for name in columns if (value := getattr(record, name)) is not None
        ]
    if state == "deleted":
        return [(record_id, name, getattr(record, name), None) for name in columns]
    found = []
    for name, before in inspected.committed_state.items():
        if name not in columns:
            continue
        before = None if before is NO_VALUE else before
        after = getattr(record, name)
        if before != after:
            found.append((record_id, name, before, after))
    return found


@event.listens_for(Session, "before_flush")
def _note_changes(session: Session, _context: Any, _instances: Any) -> None:
    if ACTOR.get() is None:
        return
    kept: dict[tuple[str, str, str, str], list[Any]] = session.info.setdefault(CHANGES, {})
    for state, records in (("new", session.new), ("dirty", session.dirty), ("deleted", session.deleted)):
        for record in records:
            if isinstance(record, UNAUDITED):
                continue
            for record_id, name, before, after in _diff(record, state):
                key = (_order_of(record), type(record).__name__, record_id, name)
                if key in kept:
                    kept[key][1] = after  # flushed before in this transaction: the first before stands
                else:
                    kept[key] = [before, after]


def changed(session: Any, record: str, record_id: str, name: str, before: Any, after: Any) -> None:
    """A change made by a statement the session does not track, told to the trail by hand."""
    if ACTOR.get() is None or before == after:
        return
    kept: dict[tuple[str, str, str, str], list[Any]] = session.info.setdefault(CHANGES, {})
    key = (NO_ORDER, record, record_id, name)
    kept[key] = [kept[key][0] if key in kept else before, after]


def entries(session: Any, now: datetime) -> list[AuditEntry]:
    """This transaction's entries: one per order it changed (what no order owns joins the only
    order, when there is one), for the request's actor; none without an actor or a change."""
    actor = ACTOR.get()
    kept: dict[tuple[str, str, str, str], list[Any]] = session.info.pop(CHANGES, {})
    if actor is None or not kept:
        return []
    by_order: dict[str, list[dict[str, Any]]] = {}
    for (order_id, record, record_id, name), (before, after) in kept.items():
        by_order.setdefault(order_id, []).append(change(record, record_id, name, before, after))
    orders = [order_id for order_id in by_order if order_id != NO_ORDER]
    if len(orders) == 1 and NO_ORDER in by_order:
        by_order[orders[0]] = by_order.pop(NO_ORDER) + by_order[orders[0]]
    return [
        AuditEntry(
            occurred_at=now,
            actor=actor.subject,
            role=actor.role,
            operation=actor.operation,
            request_id=actor.request_id,
            order_id=order_id or None,
            changes=changes[:MAX_CHANGES],
            omitted=max(0, len(changes) - MAX_CHANGES),
        )
        for order_id, changes in by_order.items()
    ]


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, now: datetime) -> int:
        """Adds this transaction's entries; call last, before commit."""
        await self.session.flush()
        found = entries(self.session, now)
        if found:
            await self.session.execute(
                sa.insert(tables.audit_log),
                [
                    {
                        "id": entry.id,
                        "occurred_at": entry.occurred_at,
                        "actor": entry.actor,
                        "role": entry.role,
                        "operation": entry.operation,
                        "request_id": entry.request_id,
                        "order_id": entry.order_id,
                        "changes": entry.changes,
                        "omitted": entry.omitted,
                    }
                    for entry in found
                ],
            )
        return len(found)

    async def page(
        self,
        *,
        order_id: str | None,
        actor: str | None,
        since: datetime | None,
        until: datetime | None,
        first: int,
        after: tuple[datetime, str] | None,
    ) -> tuple[list[AuditEntry], bool]:
        """Newest first, keyset-paginated on (occurred_at, id)."""
        log = tables.audit_log.c
        query = select(AuditEntry)
        if order_id is not None:
            query = query.where(log.order_id == order_id)
        if actor is not None:
            query = query.where(log.actor == actor)
        if since is not None:
            query = query.where(log.occurred_at >= since)
        if until is not None:
            query = query.where(log.occurred_at < until)
        if after is not None:
            at, entry_id = after
            query = query.where(
                sa.or_(log.occurred_at < at, sa.and_(log.occurred_at == at, log.id < entry_id))
            )
        query = query.order_by(log.occurred_at.desc(), log.id.desc()).limit(first + 1)
        rows = list((await self.session.execute(query)).scalars())
        return rows[:first], len(rows) > first

    async def by_order_ids(self, ids: Sequence[str]) -> dict[str, list[AuditEntry]]:
        """Each order's entries, oldest first."""
        if not ids:
            return {}
        log = tables.audit_log.c
        query = select(AuditEntry).where(log.order_id.in_(set(ids))).order_by(log.occurred_at, log.id)
        found: dict[str, list[AuditEntry]] = {}
        for entry in (await self.session.execute(query)).scalars():
            found.setdefault(str(entry.order_id), []).append(entry)
        return found
