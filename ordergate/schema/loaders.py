"""Per-request dataloaders, `<Thing>By<Key>Loader`; results come back in key order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from aiodataloader import DataLoader

from ordergate.resolvers import appeasements, catalog, loyalty, orders, payments, returns, storefront
from ordergate.resolvers.services import Services

V = TypeVar("V")


def _loader(
    services: Services, batch: Callable[[Services, Sequence[str]], Awaitable[list[V]]]
) -> DataLoader[str, V]:
    async def load(keys: list[str]) -> list[V]:
        return await batch(services, keys)

    return DataLoader(load, max_batch_size=500)


def prime_placed(loaders: Loaders, placed: orders.Placed) -> None:
    """What placing an order just wrote, put where its answer's fields look first: the answer
    to `placeOrder` then needs no second read of the order it took."""
    if placed.lines is None or placed.opened is None:
        return  # a repeat: its fields read the first order
    order_id = placed.order.id
    loaders.lines_by_order_id.prime(order_id, sorted(placed.lines, key=lambda line: line.position))
    # in the order the store reads them back, so a later read shows the same
    opened = sorted(placed.opened.fulfillment_orders, key=lambda fo: (fo.created_at, fo.id))
    loaders.fulfillment_orders_by_order_id.prime(order_id, opened)
    for fo in opened:
        loaders.fulfillment_order_by_id.prime(fo.id, fo)
        fo_lines = sorted(placed.opened.lines.get(fo.id, []), key=lambda line: line.sku)
        loaders.fulfillment_lines_by_fo_id.prime(fo.id, fo_lines)
    for location_id, location in placed.opened.locations.items():
        loaders.location_by_id.prime(location_id, location)


class Loaders:
    def __init__(self, services: Services) -> None:
        self.customer_by_id: DataLoader[str, Any] = _loader(services, catalog.customers_by_ids)
        self.customer_totals_by_id: DataLoader[str, Any] = _loader(services, catalog.customer_totals)
        # One storefront request for every customer on a page.
        self.storefront_customer_by_email: DataLoader[str, Any] = _loader(
            services, storefront.customers_by_email
        )
        self.location_by_id: DataLoader[str, Any] = _loader(services, catalog.locations_by_ids)
        self.open_fulfillment_count_by_location_id: DataLoader[str, int] = _loader(
            services, catalog.open_fulfillment_counts
        )
        self.lines_by_order_id: DataLoader[str, Any] = _loader(services, orders.lines_by_order_ids)
        self.fulfillment_orders_by_order_id: DataLoader[str, Any] = _loader(
            services, orders.fulfillment_orders_by_order_ids
        )
        self.fulfillment_order_by_id: DataLoader[str, Any] = _loader(
            services, orders.fulfillment_orders_by_ids
        )
        self.fulfillment_lines_by_fo_id: DataLoader[str, Any] = _loader(
            services, orders.fulfillment_lines_by_fo_ids
        )
        self.shipments_by_order_id: DataLoader[str, Any] = _loader(services, orders.shipments_by_order_ids)
        self.shipment_events_by_shipment_id: DataLoader[str, Any] = _loader(
            services, orders.shipment_events_by_shipment_ids
        )
        self.active_holds_by_order_id: DataLoader[str, Any] = _loader(
            services, orders.active_holds_by_order_ids
        )
        self.order_by_id: DataLoader[str, Any] = _loader(services, orders.orders_by_ids)
        self.routing_decision_by_order_id: DataLoader[str, Any] = _loader(
            services, orders.routing_decisions_by_order_ids
        )
        self.returns_by_order_id: DataLoader[str, Any] = _loader(services, returns.returns_by_order_ids)
        self.return_lines_by_return_id: DataLoader[str, Any] = _loader(services, returns.lines_by_return_ids)
        self.payments_by_order_id: DataLoader[str, Any] = _loader(services, payments.ledger_by_order_ids)
        self.pending_payments_by_order_id: DataLoader[str, Any] = _loader(
            services, payments.pending_by_order_ids
        )
        self.events_by_order_id: DataLoader[str, Any] = _loader(services, orders.events_by_order_ids)
        self.appeasements_by_order_id: DataLoader[str, Any] = _loader(
            services, appeasements.appeasements_by_order_ids
        )
        self.loyalty_by_customer_id: DataLoader[str, Any] = _loader(services, loyalty.balances)
