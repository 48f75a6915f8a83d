"""The batch reads behind the per-request dataloaders (`schema/loaders.py`): one query for a
whole page of keys, answered in key order, with what a missing key means spelled out here.

Each read is a read-only unit of work over one repository verb; the scope check happened
where the keys came from (the order the caller was allowed to load), so these never widen
what a caller sees.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from ordergate.connectors.errors import UpstreamError
from ordergate.connectors.storefront.base import StorefrontCustomer
from ordergate.models.appeasements import Appeasement
from ordergate.models.audit import AuditEntry
from ordergate.models.customer import Customer
from ordergate.models.errors import UpstreamFailed
from ordergate.models.events import OrderEvent
from ordergate.models.fulfillment import FulfillmentOrder, FulfillmentOrderLine
from ordergate.models.location import Location
from ordergate.models.notes import Note, Tag, TargetKind
from ordergate.models.order import Order, OrderHold, OrderLine
from ordergate.models.outbox import OutboxTask
from ordergate.models.payments import PaymentTransaction
from ordergate.models.returns import OrderReturn, ReturnLine
from ordergate.models.routing import RoutingDecisionRecord
from ordergate.models.scope import OrderScope
from ordergate.models.shipment import Shipment, ShipmentEvent
from ordergate.models.supply import Backorder
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases.services import Services

V = TypeVar("V")
D = TypeVar("D")
EVERYTHING = OrderScope(everything=True)

Read = Callable[[UnitOfWork, Sequence[str]], Awaitable[Mapping[str, V]]]


async def _keyed(services: Services, ids: Sequence[str], read: Read[V], missing: D) -> list[V | D]:
    async with services.store.read() as uow:
        found = await read(uow, ids)
    return [found.get(i, missing) for i in ids]


async def _lists(services: Services, ids: Sequence[str], read: Read[list[V]]) -> list[list[V]]:
    async with services.store.read() as uow:
        found = await read(uow, ids)
    return [found.get(i, []) for i in ids]


# -- the network and its customers -------------------------------------------------------------


async def locations_by_ids(services: Services, ids: Sequence[str]) -> list[Location | None]:
    return await _keyed(services, ids, lambda uow, keys: uow.catalog.locations_by_ids(keys), None)


async def short_nodes_by_skus(services: Services, skus: Sequence[str]) -> list[list[str]]:
    """For each SKU, the nodes where the ERP's last count leaves fewer units than are allocated."""

    async def read(uow: UnitOfWork, keys: Sequence[str]) -> Mapping[str, list[str]]:
        found: dict[str, list[str]] = {}
        for sku, location_id in await uow.inventory.over_committed(keys):
            found.setdefault(sku, []).append(location_id)
        return found

    return await _lists(services, skus, read)


async def open_fulfillment_counts(services: Services, ids: Sequence[str]) -> list[int]:
    return await _keyed(services, ids, lambda uow, keys: uow.catalog.open_fulfillment_counts(keys), 0)


async def customers_by_ids(services: Services, ids: Sequence[str]) -> list[Customer | None]:
    return await _keyed(services, ids, lambda uow, keys: uow.customers.by_ids(keys), None)


async def customer_totals(services: Services, ids: Sequence[str]) -> list[tuple[int, Decimal]]:
    return await _keyed(services, ids, lambda uow, keys: uow.customers.totals(keys), (0, Decimal("0")))


async def loyalty_balances(services: Services, customer_ids: Sequence[str]) -> list[tuple[int, int]]:
    """Points and entries per customer."""
    return await _keyed(services, customer_ids, lambda uow, keys: uow.loyalty.balances(keys), (0, 0))


async def storefront_records(
    services: Services, emails: Sequence[str]
) -> tuple[dict[str, StorefrontCustomer | None], UpstreamFailed | None]:
    """What the storefront says about these customers, by casefolded email (None: it does not
    know them): answers kept within their bound (`services.storefront_customers`), the rest in
    one request. When that request fails, the answers kept and the failure, which stands for
    every email missing from them: an outage is a labelled error on those customers' storefront
    fields, never a failed query."""
    storefront = services.storefront
    if storefront is None:
        return {email.casefold(): None for email in emails}, None
    kept = services.storefront_customers
    found, missing = kept.kept(dict.fromkeys(emails))
    if not missing:
        return found, None
    read_at = kept.timer()
    try:
        asked = await storefront.customers_by_email(missing)
    except UpstreamError as error:
        return found, UpstreamFailed(
            storefront.name, f"the storefront's customer record is unavailable ({error.message})"
        )
    by_email = {email.casefold(): customer for email, customer in asked.items()}
    answers = {email.casefold(): by_email.get(email.casefold()) for email in missing}
    kept.keep(answers, read_at)
    found.update(answers)
    return found, None


async def storefront_customers_by_email(
    services: Services, emails: Sequence[str]
) -> list[StorefrontCustomer | UpstreamFailed | None]:
    """For the loader: per email its record, None, or the failure that kept the storefront from
    answering for it (which fails that email's load alone)."""
    found, failure = await storefront_records(services, emails)
    answers: list[StorefrontCustomer | UpstreamFailed | None] = []
    for email in emails:
        key = email.casefold()
        answers.append(found[key] if key in found or failure is None else failure)
    return answers


# -- orders and what hangs off them ------------------------------------------------------------


@dataclass(frozen=True)
class PartsWanted:
    """What a page of orders shows beside the orders themselves."""

    lines: bool = False
    backorders: bool = False
    fulfillment_orders: bool = False
    fulfillment_lines: bool = False  # of those fulfilment orders
    locations: bool = False  # of those fulfilment orders
    shipments: bool = False
    customers: bool = False
    storefront: bool = False  # the customers' storefront records (their names)


@dataclass(frozen=True)
class OrderParts:
    """What `order_parts` read for a page: per order id (fulfilment lines per fulfilment order
    id, locations and customers per their own id); None for a kind not asked for. An order
    missing from a per-order map has none of that kind."""

    lines: Mapping[str, list[OrderLine]] | None = None
    backorders: Mapping[str, list[Backorder]] | None = None
    fulfillment_orders: Mapping[str, list[FulfillmentOrder]] | None = None
    fulfillment_lines: Mapping[str, list[FulfillmentOrderLine]] | None = None
    locations: Mapping[str, Location] | None = None
    shipments: Mapping[str, list[Shipment]] | None = None
    customers: Mapping[str, Customer] | None = None
    storefront: Mapping[str, StorefrontCustomer | None] | None = None  # by email, casefolded
    # the storefront could not be asked for the customers missing from `storefront`
    storefront_failure: UpstreamFailed | None = None


async def order_parts(services: Services, orders: Sequence[Order], wanted: PartsWanted) -> OrderParts:
    """One batched read per kind asked for, all in one read unit of work, then one storefront
    request for the customers' records not kept (`storefront_records`): what a page of orders
    shows, read up front instead of field by field. The page's scope check covers these (they
    hang off orders the caller may see). A storefront outage is kept in `storefront_failure`,
    never raised."""
    ids = [o.id for o in orders]
    async with services.store.read() as uow:
        lines = await uow.orders.lines_by_order_ids(ids) if wanted.lines else None
        waiting = await uow.inventory.backorders_by_order_ids(ids) if wanted.backorders else None
        work = await uow.orders.fulfillment_orders_by_order_ids(ids) if wanted.fulfillment_orders else None
        work_lines = locations = None
        if work is not None and wanted.fulfillment_lines:
            work_lines = await uow.orders.fulfillment_lines_by_fo_ids(
                [w.id for ws in work.values() for w in ws]
            )
        if work is not None and wanted.locations:
            places = dict.fromkeys(w.location_id for ws in work.values() for w in ws)
            locations = await uow.catalog.locations_by_ids(list(places))
        shipments = await uow.orders.shipments_by_order_ids(ids) if wanted.shipments else None
        customers = None
        if wanted.customers:
            customers = await uow.customers.by_ids(list(dict.fromkeys(o.customer_id for o in orders)))
    parts = OrderParts(lines, waiting, work, work_lines, locations, shipments, customers)
    if not (wanted.storefront and parts.customers is not None):
        return parts
    found = parts.customers
    emails = list(dict.fromkeys(found[o.customer_id].email for o in orders if o.customer_id in found))
    if not emails:
        return dataclasses.replace(parts, storefront={})
    records, failure = await storefront_records(services, emails)
    return dataclasses.replace(parts, storefront=records, storefront_failure=failure)


async def orders_by_ids(services: Services, ids: Sequence[str]) -> list[Order | None]:
    """For fields reached through something the caller may already see (a fulfilment order)."""
    return await _keyed(services, ids, lambda uow, keys: uow.orders.by_ids(keys, EVERYTHING), None)


async def lines_by_order_ids(services: Services, ids: Sequence[str]) -> list[list[OrderLine]]:
    return await _lists(services, ids, lambda uow, keys: uow.orders.lines_by_order_ids(keys))


async def fulfillment_orders_by_order_ids(
    services: Services, ids: Sequence[str]
) -> list[list[FulfillmentOrder]]:
    return await _lists(services, ids, lambda uow, keys: uow.orders.fulfillment_orders_by_order_ids(keys))


async def fulfillment_orders_by_ids(services: Services, ids: Sequence[str]) -> list[FulfillmentOrder | None]:
    """For fields reached through an event the caller was allowed to receive."""
    return await _keyed(services, ids, lambda uow, keys: uow.orders.fulfillment_orders_by_ids(keys), None)


async def fulfillment_lines_by_fo_ids(
    services: Services, ids: Sequence[str]
) -> list[list[FulfillmentOrderLine]]:
    return await _lists(services, ids, lambda uow, keys: uow.orders.fulfillment_lines_by_fo_ids(keys))


async def shipments_by_order_ids(services: Services, ids: Sequence[str]) -> list[list[Shipment]]:
    return await _lists(services, ids, lambda uow, keys: uow.orders.shipments_by_order_ids(keys))


async def shipment_events_by_shipment_ids(
    services: Services, ids: Sequence[str]
) -> list[list[ShipmentEvent]]:
    return await _lists(services, ids, lambda uow, keys: uow.orders.shipment_events_by_shipment_ids(keys))


async def active_holds_by_order_ids(services: Services, ids: Sequence[str]) -> list[list[OrderHold]]:
    return await _lists(services, ids, lambda uow, keys: uow.orders.active_holds_by_order_ids(keys))


async def routing_decisions_by_order_ids(
    services: Services, ids: Sequence[str]
) -> list[RoutingDecisionRecord | None]:
    return await _keyed(services, ids, lambda uow, keys: uow.orders.latest_decisions(keys), None)


async def events_by_order_ids(services: Services, ids: Sequence[str]) -> list[list[OrderEvent]]:
    return await _lists(services, ids, lambda uow, keys: uow.events.by_order_ids(keys))


async def returns_by_order_ids(services: Services, ids: Sequence[str]) -> list[list[OrderReturn]]:
    return await _lists(services, ids, lambda uow, keys: uow.returns.by_order_ids(keys))


async def return_lines_by_return_ids(services: Services, ids: Sequence[str]) -> list[list[ReturnLine]]:
    return await _lists(services, ids, lambda uow, keys: uow.returns.lines_by_return_ids(keys))


async def backorders_by_order_ids(services: Services, ids: Sequence[str]) -> list[list[Backorder]]:
    return await _lists(services, ids, lambda uow, keys: uow.inventory.backorders_by_order_ids(keys))


async def appeasements_by_order_ids(services: Services, ids: Sequence[str]) -> list[list[Appeasement]]:
    return await _lists(services, ids, lambda uow, keys: uow.appeasements.by_order_ids(keys))


def target_key(kind: TargetKind, target_id: str) -> str:
    """How the notes and tags loaders are keyed: `ORDER:<id>`."""
    return f"{kind.value}:{target_id}"


async def _by_target(
    services: Services,
    keys: Sequence[str],
    read: Callable[[UnitOfWork, TargetKind, list[str]], Awaitable[Mapping[str, list[V]]]],
) -> list[list[V]]:
    wanted: dict[TargetKind, list[str]] = {}
    for key in keys:
        kind, _, target_id = key.partition(":")
        wanted.setdefault(TargetKind(kind), []).append(target_id)
    found: dict[str, list[V]] = {}
    async with services.store.read() as uow:
        for kind, ids in wanted.items():
            for target_id, rows in (await read(uow, kind, ids)).items():
                found[target_key(kind, target_id)] = rows
    return [found.get(key, []) for key in keys]


async def notes_by_targets(services: Services, keys: Sequence[str]) -> list[list[Note]]:
    """Staff notes per `KIND:id` key, oldest first (the caller checked who may read them)."""
    return await _by_target(services, keys, lambda uow, kind, ids: uow.notes.notes_for(kind, ids))


async def tags_by_targets(services: Services, keys: Sequence[str]) -> list[list[Tag]]:
    return await _by_target(services, keys, lambda uow, kind, ids: uow.notes.tags_for(kind, ids))


async def audit_by_order_ids(services: Services, ids: Sequence[str]) -> list[list[AuditEntry]]:
    """Each order's audit entries, oldest first (the caller checked who may read them)."""
    return await _lists(services, ids, lambda uow, keys: uow.audit.by_order_ids(keys))


# -- money -------------------------------------------------------------------------------------


async def ledger_by_order_ids(services: Services, ids: Sequence[str]) -> list[list[PaymentTransaction]]:
    return await _lists(services, ids, lambda uow, keys: uow.payments.by_order_ids(keys))


async def pending_payments_by_order_ids(services: Services, ids: Sequence[str]) -> list[list[OutboxTask]]:
    """Captures, voids and refunds promised and not yet done, per order: one query."""
    async with services.store.read() as uow:
        tasks = await uow.outbox.with_key_prefixes([f"{order_id}:payment." for order_id in ids])
    by_order: dict[str, list[OutboxTask]] = {}
    for task in tasks:
        if task.done_at is None:
            by_order.setdefault(task.key.split(":", 1)[0], []).append(task)
    return [by_order.get(i, []) for i in ids]
