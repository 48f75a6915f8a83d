"""The storefront as an order source and a customer record, and what we tell it back.

Webhooks are thin and may arrive twice or out of order: each delivery is written to the
durable work queue (the outbox table, kind STOREFRONT_DELIVERY, keyed by the delivery's hash)
before it is acknowledged, then the relay fetches the order and imports it. An import goes
through `place_order`, so an imported order is routed and allocated like any other; it is
keyed by its source reference (`<storefront>:<id>`, unique), so every path (webhook, repeat,
backfill) imports it once. What we do with it follows from its status, which the connector
turns into an `OrderAction`.

Back to the storefront, through the same queue: each shipment we buy a label for, and the
statuses it shows shoppers (ready for pickup, completed). Per-location availability is pushed
by `AvailabilityPusher` whenever ours changes.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ordergate.connectors.errors import WebhookRejected
from ordergate.connectors.storefront.base import (
    OrderAction,
    PushedStatus,
    ShipmentPush,
    StorefrontConnector,
    StorefrontOrder,
    StorefrontPayment,
    StorefrontVariant,
)
from ordergate.models.catalog import Product
from ordergate.models.commands import (
    MAX_NOTE,
    CustomerDetails,
    ExternalSale,
    HoldOrder,
    LineRequest,
    PlaceOrder,
    ReleaseOrderHold,
    routable_sku,
    sale_email,
    sale_sku,
    shipping_gaps,
)
from ordergate.models.errors import IdempotencyKeyReused, InvalidTransition, ValidationFailed
from ordergate.models.events import EventType
from ordergate.models.identity import Principal, Role
from ordergate.models.order import DeliveryMethod, HoldReason, Order, OrderStatus, external_id_of, imported
from ordergate.models.outbox import (
    STOREFRONT_SHIPMENT,
    OutboxTask,
    Permanent,
    storefront_delivery,
)
from ordergate.models.pricing import SaleLine, one_line_per_sku
from ordergate.models.scope import OrderScope
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases import payments, returns
from ordergate.usecases.holds import hold_order, release_learned, release_order_hold
from ordergate.usecases.orders import place_order
from ordergate.usecases.services import Services

log = logging.getLogger("ordergate.storefront")

EVERYTHING = OrderScope(everything=True)
ORDERS_CHECKPOINT = "storefront.orders"


def importer(storefront: StorefrontConnector) -> Principal:
    """Who imports the storefront's orders (and reads what it may sell)."""
    return Principal(f"{storefront.name}-import", Role.ADMIN)


def source_ref(storefront: StorefrontConnector, external_id: str) -> str:
    return f"{storefront.name}:{external_id}"


def _connector(services: Services) -> StorefrontConnector:
    if services.storefront is None:
        raise Permanent("no storefront is configured")
    return services.storefront


# -- webhooks in ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Intake:
    duplicate: bool
    scope: str


async def take_webhook(services: Services, headers: dict[str, str], body: bytes) -> Intake:
    """Verify the delivery, then keep it durably (once per hash) for the relay to process."""
    if services.storefront is None:
        raise WebhookRejected("NOT_CONFIGURED", "no storefront is configured")
    notice = services.storefront.verify_webhook(headers, body)
    now = services.clock()
    async with services.store.write() as uow:
        text = body.decode("utf-8", errors="replace")
        added = await uow.outbox.add_once(
            storefront_delivery(notice.delivery_id, notice.scope, notice.order_id, now, text)
        )
    return Intake(duplicate=not added, scope=notice.scope)


async def process_delivery(services: Services, task: OutboxTask) -> str:
    """The relay's handler for a storefront delivery: thin payload, so fetch and import."""
    order_id = task.payload.get("order_id")
    if order_id is None:
        return f"ignored {task.payload.get('scope', '')}"
    return await import_order(services, str(order_id))


# -- imports ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Imported:
    created: bool
    outcome: str


async def import_order(services: Services, external_id: str) -> str:
    found = await _connector(services).order(external_id)
    if found is None:
        return "gone from the storefront"
    return (await import_fetched(services, found)).outcome


async def import_fetched(services: Services, found: StorefrontOrder) -> Imported:
    """One storefront order into ours, once; later news about it (cancelled, disputed) holds it
    for an agent, since only an agent may undo work that is under way."""
    storefront = _connector(services)
    reference = source_ref(storefront, found.external_id)
    action = found.action
    async with services.store.read() as uow:
        existing = await uow.orders.by_source_ref(reference)
    command = _command(found, reference, storefront.name)
    gaps = shipping_gaps(command.shipping_address)
    if existing is not None:
        refunded = await _refunds(services, existing, found)
        addressed = await _address(services, existing, command, gaps)
        return Imported(False, await _follow_up(services, existing, found, action) + addressed + refunded)
    if action not in (OrderAction.IMPORT, OrderAction.HOLD):
        return Imported(False, f"not imported: the storefront says {found.status}")
    await _learn_products(services, [line.sku for line in found.lines])
    try:
        order = await place_order(services, importer(storefront), command)
    except IdempotencyKeyReused:
        return Imported(False, "imported already")  # a concurrent import of the same order won
    except ValidationFailed as refused:
        codes = ", ".join(sorted({p.code for p in refused.problems}))
        raise Permanent(f"cannot import {reference}: {codes}") from None
    await _remember_customer(services, order, found)
    refunded = await _refunds(services, order, found)  # an order partly refunded before it came
    addressed = await _address(services, order, command, gaps)
    if action is OrderAction.HOLD:
        await _hold(services, storefront, order, found)
    return Imported(True, f"imported as {order.number}{addressed}{refunded}")


async def _learn_products(services: Services, skus: list[str]) -> None:
    """SKUs a sale has that our catalogue lacks (the catalogue's sync has not run since the
    merchant added them), from the storefront's catalogue, one request each. A SKU neither has
    stays unknown: the sale is kept with it, held (UNKNOWN_PRODUCT) until the catalogue has it.
    Sales held earlier for SKUs learned here are let go (`holds.release_learned`)."""
    async with services.store.read() as uow:
        known = await uow.catalog.products_by_skus(skus)
    missing = [sku for sku in dict.fromkeys(skus) if routable_sku(sku) and sku not in known]
    if not missing:
        return
    found = await _connector(services).variants_by_sku(missing)
    if not found:
        return
    now = services.clock()
    async with services.store.write() as uow:
        known = await uow.catalog.products_by_skus(list(found))  # another import may have won
        for variant in found.values():
            if variant.sku not in known:
                uow.save(_product(variant, services.policy.currency, now))
    await release_learned(services)


def _product(variant: StorefrontVariant, currency: str, now: datetime) -> Product:
    return Product(
        sku=variant.sku,
        name=variant.name[:255],
        price=variant.price,
        currency=currency,
        created_at=now,
        updated_at=now,
    )


def _command(found: StorefrontOrder, reference: str, source: str) -> PlaceOrder:
    lines, rounding = one_line_per_sku(
        [
            SaleLine(sale_sku(line.sku, line.order_product_id), line.name, line.quantity, line.unit_price)
            for line in found.lines
        ]
    )
    return PlaceOrder(
        idempotency_key=reference,
        channel=found.channel,
        customer=CustomerDetails(
            email=sale_email(found.email, reference),
            first_name=found.first_name or None,
            last_name=found.last_name or None,
            phone=found.phone or None,
        ),
        lines=tuple(LineRequest(line.sku, line.quantity) for line in lines),
        delivery_method=DeliveryMethod.SHIP,
        shipping_address=found.shipping_address,
        external_reference=found.external_id,
        source_ref=reference,
        billing_address=found.billing_address,
        hold_when_short=True,
        sale=ExternalSale(
            provider=source,
            reference=found.external_id,
            unit_prices=tuple(line.unit_price for line in lines),
            shipping=found.shipping,
            tax=found.tax,
            authorised=found.total if found.payment is not StorefrontPayment.NONE else Decimal(0),
            captured=found.total if found.payment is StorefrontPayment.CAPTURED else Decimal(0),
            names=tuple(line.name for line in lines),
            discount=found.discount + rounding,
        ),
    )


async def _remember_customer(services: Services, order: Order, found: StorefrontOrder) -> None:
    if not found.customer_id:
        return
    async with services.store.write() as uow:
        customer = (await uow.customers.by_ids([order.customer_id])).get(order.customer_id)
        if customer is not None and customer.external_id is None:
            customer.external_id = str(found.customer_id)
            uow.save(customer)


async def _hold(
    services: Services, storefront: StorefrontConnector, order: Order, found: StorefrontOrder
) -> None:
    reason = HoldReason.HIGH_RISK_OF_FRAUD if found.suspected_fraud else HoldReason.OTHER
    await _held(services, order, reason, f"the storefront says {found.status}", found.status_code)


async def _held(services: Services, order: Order, reason: HoldReason, note: str, why: str) -> None:
    """The import's hold on the order, placed once for each `why` however often it is told."""
    command = HoldOrder(order.id, reason, note, idempotency_key=f"{order.source_ref}:hold:{why}")
    await hold_order(services, importer(_connector(services)), command)


async def _refunds(services: Services, order: Order, found: StorefrontOrder) -> str:
    """What the storefront has refunded of the order (a merchant refunds there, after we cancel
    or take back units, since it took the payment), into our ledger: the order's payment status
    then says REFUNDED or PARTIALLY_REFUNDED instead of PAID. The units it refunded settle the
    returns received here that they cover (`returns.settle_refunded_elsewhere`)."""
    if found.refunded <= 0:
        return ""
    units = Counter[str]()
    for line in found.lines:
        units[sale_sku(line.sku, line.order_product_id)] += line.refunded
    actor, now = importer(_connector(services)).subject, services.clock()
    async with services.store.write() as uow:
        back = await returns.lock_received(uow, order.id) if any(units.values()) else []
        locked = await uow.orders.lock(order.id, EVERYTHING)
        if locked is None:
            return ""
        new = await payments.record_storefront_refunds(
            uow,
            locked,
            found.refunded,
            actor=actor,
            now=now,
            points_per_unit=services.policy.loyalty_points_per_unit,
        )
        settled = await returns.settle_refunded_elsewhere(uow, locked, back, units, actor=actor, now=now)
    money = f"; {new} refunded at the storefront" if new > 0 else ""
    return money + (f"; {settled} return{'s' if settled != 1 else ''} refunded there" if settled else "")


async def _address(services: Services, order: Order, command: PlaceOrder, gaps: list[str]) -> str:
    """A sale whose shipping address lacks what a parcel needs is kept ON_HOLD (INCORRECT_ADDRESS)
    for the merchant to fix it at the storefront, which sold it: with its units allocated, or
    unrouted when its postal code cannot be placed (`place`). Once the storefront's address is
    whole, the order takes it and the import's hold is released (an unrouted sale is routed
    then, or held for an agent if the network cannot take it). An agent's own address hold is
    the agent's to release. Each step once, however often the storefront tells us."""
    if order.status in (OrderStatus.CANCELLED, OrderStatus.COMPLETED):
        return ""
    us = importer(_connector(services))
    async with services.store.read() as uow:
        holds = (await uow.orders.active_holds_by_order_ids([order.id])).get(order.id, [])
    held = any(h.reason is HoldReason.INCORRECT_ADDRESS and h.placed_by == us.subject for h in holds)
    if gaps:
        if not held:  # (one kept unrouted was held for it when it was taken)
            note = f"the storefront's shipping address has no usable {', '.join(gaps)}: fix it there"
            await _held(services, order, HoldReason.INCORRECT_ADDRESS, note, "address")
        return f"; held for its address ({', '.join(gaps)})"
    if not held:
        return ""
    now = services.clock()
    async with services.store.write() as uow:
        locked = await uow.orders.lock(order.id, EVERYTHING)
        if locked is None:
            return ""
        if locked.shipping_address != command.shipping_address:
            locked.shipping_address = command.shipping_address
            locked.updated_at = now
            uow.save(locked)
            await uow.events.append(
                locked,
                EventType.ORDER_EDITED,
                actor=us.subject,
                occurred_at=now,
                data={
                    "changes": [],
                    "address": True,
                    "total_before": str(locked.total),
                    "total_after": str(locked.total),
                },
            )
    release = ReleaseOrderHold(order.id, HoldReason.INCORRECT_ADDRESS, f"{order.source_ref}:release:address")
    try:
        await release_order_hold(services, us, release)
    except InvalidTransition:  # another notice of the same fix released it first
        return ""
    except ValidationFailed as refused:  # kept unrouted, and the network cannot take it now
        note = "could not be routed once its address was fixed: " + "; ".join(
            p.message for p in refused.problems
        )
        await _held(services, order, HoldReason.OTHER, note[:MAX_NOTE], "address-routing")
        await release_order_hold(services, us, release)  # the other hold stays
        return "; its address fixed at the storefront, held for an agent to route"
    return "; its address fixed at the storefront, released"


async def _follow_up(services: Services, existing: Order, found: StorefrontOrder, action: OrderAction) -> str:
    if action in (OrderAction.HOLD, OrderAction.CANCEL) and existing.status not in (
        OrderStatus.ON_HOLD,
        OrderStatus.CANCELLED,
        OrderStatus.COMPLETED,
    ):
        await _hold(services, _connector(services), existing, found)
        return f"held: the storefront says {found.status}"
    return f"unchanged ({existing.number})"


@dataclass(frozen=True)
class SyncReport:
    pages: int
    seen: int
    imported: int
    watermark: datetime | None


async def sync_orders(services: Services, since: datetime | None = None, page_size: int = 50) -> SyncReport:
    """Backfill: every storefront order modified since `since` (default: where the last
    complete run got to), page by page. Idempotent, so a run cut short is simply run again."""
    storefront = services.storefront
    if storefront is None:
        return SyncReport(0, 0, 0, None)
    if since is None:
        async with services.store.read() as uow:
            checkpoint = await uow.sync.checkpoint(ORDERS_CHECKPOINT)
        since = checkpoint.watermark if checkpoint else None
    pages = seen = imported = 0
    newest = since
    page = 1
    while True:
        batch = await storefront.orders_page(page=page, limit=page_size, min_date_modified=since)
        pages += 1
        for found in batch.orders:
            seen += 1
            try:
                outcome = await import_fetched(services, found)
            except Permanent as refused:
                log.warning("storefront order %s skipped: %s", found.external_id, refused)
                continue
            imported += outcome.created
            newest = found.date_modified if newest is None else max(newest, found.date_modified)
        if not batch.has_more:
            break
        page += 1
    async with services.store.write() as uow:
        await uow.sync.advance(ORDERS_CHECKPOINT, newest, imported, services.clock())
    return SyncReport(pages, seen, imported, newest)


async def sync_catalog(services: Services, page_size: int = 250) -> int:
    """Names and prices from the storefront's variants into our catalogue; new SKUs are added,
    and sales held for lacking them are let go (`holds.release_learned`). Returns how many
    products changed or were added."""
    storefront = services.storefront
    if storefront is None:
        return 0
    changed = added = skipped = 0
    now = services.clock()
    page = 1
    while True:
        variants, more = await storefront.variants(page=page, limit=page_size)
        async with services.store.write() as uow:
            known = await uow.catalog.products_by_skus([v.sku for v in variants if routable_sku(v.sku)])
            for variant in variants:
                if not routable_sku(variant.sku):  # none, or one no order of ours could name
                    skipped += variant.sku != ""
                    continue
                product = known.get(variant.sku)
                if product is None:
                    uow.save(_product(variant, services.policy.currency, now))
                    changed, added = changed + 1, added + 1
                elif (product.name, product.price) != (variant.name[:255], variant.price):
                    product.name, product.price, product.updated_at = variant.name[:255], variant.price, now
                    uow.save(product)
                    changed += 1
        if not more:
            break
        page += 1
    if skipped:
        log.warning(
            "catalogue sync: %d storefront SKUs are no SKUs of ours (a space, a slash?): left out", skipped
        )
    if added:
        await release_learned(services)
    return changed


# -- back to the storefront --------------------------------------------------------------------


def promise_shipment(uow: UnitOfWork, order: Order, shipment_id: str, now: datetime) -> None:
    """In the shipment's own transaction: tell the storefront, if the order came from it."""
    if not imported(order):
        return
    uow.outbox.add(
        OutboxTask(
            kind=STOREFRONT_SHIPMENT,
            key=shipment_id,
            payload={"shipment_id": shipment_id},
            available_at=now,
            created_at=now,
        )
    )


async def push_shipment(services: Services, task: OutboxTask) -> str:
    storefront = _connector(services)
    shipment_id = str(task.payload["shipment_id"])
    async with services.store.read() as uow:
        found = await uow.orders.shipments_by_ids([shipment_id])
        shipment = found.get(shipment_id)
        if shipment is None:
            raise Permanent(f"shipment {shipment_id} is gone")
        order = (await uow.orders.by_ids([shipment.order_id], EVERYTHING))[shipment.order_id]
        fo_lines = (await uow.orders.fulfillment_lines_by_fo_ids([shipment.fulfillment_order_id])).get(
            shipment.fulfillment_order_id, []
        )
    external_id = external_id_of(order, storefront.name)
    if external_id is None:
        raise Permanent("the order did not come from the storefront")
    theirs = await storefront.order(external_id)
    if theirs is None:
        raise Permanent(f"order {external_id} is gone from the storefront")
    sold_there = {line.sku for line in theirs.lines}
    items = tuple((line.sku, line.quantity) for line in fo_lines if line.sku in sold_there)
    if not items:
        raise Permanent("none of the shipment's SKUs are on the storefront's order")
    return await storefront.push_shipment(
        ShipmentPush(
            order_external_id=external_id,
            tracking_number=shipment.tracking_number,
            carrier=shipment.carrier,
            items=items,
        )
    )


async def push_status(services: Services, task: OutboxTask) -> str:
    storefront = _connector(services)
    order_id = str(task.payload["order_id"])
    async with services.store.read() as uow:
        order = (await uow.orders.by_ids([order_id], EVERYTHING)).get(order_id)
    external_id = external_id_of(order, storefront.name) if order is not None else None
    if external_id is None:
        raise Permanent("the order did not come from the storefront")
    status = PushedStatus(str(task.payload["status"]))
    await storefront.set_status(external_id, status)
    return f"status {status.value}"


# -- the storefront's view of a customer -----------------------------------------------------
