"""Per-request dataloaders, `<Thing>By<Key>Loader`; results come back in key order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

from aiodataloader import DataLoader

from ordergate.connectors.storefront.base import StorefrontCustomer
from ordergate.usecases import orders, reads
from ordergate.usecases.services import Services

V = TypeVar("V")
T = TypeVar("T")
MAX_BATCH = 500


class Loader(Generic[V]):
    """aiodataloader's DataLoader (untyped), typed: values of V by string key, batched per tick.
    A batch may answer a key with an exception: that key's load raises it, the others answer.
    The DataLoader is made when first used: a request makes every loader and uses a few."""

    def __init__(
        self,
        services: Services,
        batch: Callable[[Services, Sequence[str]], Awaitable[Sequence[V | Exception]]],
    ) -> None:
        self._services = services
        self._batch = batch
        self._made: DataLoader[str, V] | None = None

    @property
    def _loader(self) -> DataLoader[str, V]:
        if self._made is None:
            services, batch = self._services, self._batch

            async def load(keys: list[str]) -> Any:  # values, or exceptions that fail their keys alone
                return await batch(services, keys)

            self._made = DataLoader(load, max_batch_size=MAX_BATCH)
        return self._made

    async def load(self, key: str) -> V:
        value: V = await self._loader.load(key)
        return value

    async def load_many(self, keys: Sequence[str]) -> list[V]:
        values: list[V] = await self._loader.load_many(list(keys))
        return values

    async def load_present(self: Loader[T | None], key: str) -> T:
        """A record a foreign key promises (an order's location, say): missing, the store is
        broken, which is an internal error, not the client's."""
        value = await self.load(key)
        if value is None:
            raise LookupError(f"no record {key!r}, which a foreign key promises")
        return value

    def prime(self, key: str, value: V) -> None:
        self._loader.prime(key, value)


def prime_placed(loaders: Loaders, placed: orders.Placed) -> None:
    """What placing an order just wrote, put where its answer's fields look first: the answer
    to `placeOrder` then needs no second read of the order it took."""
    if placed.lines is None or placed.opened is None:
        return  # a repeat: its fields read the first order
    order_id = placed.order.id
    loaders.lines_by_order_id.prime(order_id, sorted(placed.lines, key=lambda line: line.position))
    loaders.backorders_by_order_id.prime(order_id, list(placed.waiting))
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
        self.customer_by_id = Loader(services, reads.customers_by_ids)
        self.customer_totals_by_id = Loader(services, reads.customer_totals)
        # One storefront request for every customer on a page (those not kept: `reads`).
        self.storefront_customer_by_email: Loader[StorefrontCustomer | None] = Loader(
            services, reads.storefront_customers_by_email
        )
        self.location_by_id = Loader(services, reads.locations_by_ids)
        self.open_fulfillment_count_by_location_id = Loader(services, reads.open_fulfillment_counts)
        self.short_nodes_by_sku = Loader(services, reads.short_nodes_by_skus)
        self.lines_by_order_id = Loader(services, reads.lines_by_order_ids)
        self.fulfillment_orders_by_order_id = Loader(services, reads.fulfillment_orders_by_order_ids)
        self.fulfillment_order_by_id = Loader(services, reads.fulfillment_orders_by_ids)
        self.fulfillment_lines_by_fo_id = Loader(services, reads.fulfillment_lines_by_fo_ids)
        self.shipments_by_order_id = Loader(services, reads.shipments_by_order_ids)
        self.shipment_events_by_shipment_id = Loader(services, reads.shipment_events_by_shipment_ids)
        self.active_holds_by_order_id = Loader(services, reads.active_holds_by_order_ids)
        self.order_by_id = Loader(services, reads.orders_by_ids)
        self.routing_decision_by_order_id = Loader(services, reads.routing_decisions_by_order_ids)
        self.returns_by_order_id = Loader(services, reads.returns_by_order_ids)
        self.return_lines_by_return_id = Loader(services, reads.return_lines_by_return_ids)
        self.payments_by_order_id = Loader(services, reads.ledger_by_order_ids)
        self.pending_payments_by_order_id = Loader(services, reads.pending_payments_by_order_ids)
        self.events_by_order_id = Loader(services, reads.events_by_order_ids)
        self.appeasements_by_order_id = Loader(services, reads.appeasements_by_order_ids)
        self.backorders_by_order_id = Loader(services, reads.backorders_by_order_ids)
        self.loyalty_by_customer_id = Loader(services, reads.loyalty_balances)
        self.notes_by_target = Loader(services, reads.notes_by_targets)  # keyed `ORDER:<id>`
        self.tags_by_target = Loader(services, reads.tags_by_targets)
        self.audit_by_order_id = Loader(services, reads.audit_by_order_ids)
