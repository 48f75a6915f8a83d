"""Pushers keep an upstream's copy of our figures equal to ours."""

from __future__ import annotations

from ordergate.connectors.storefront.base import AvailabilityPush
from ordergate.usecases.inventory import availability
from ordergate.usecases.services import Services
from ordergate.usecases.storefront import importer


class AvailabilityPusher:
    """Keeps the storefront's per-location stock equal to what we can sell there: one batch of
    the levels that changed since the last push (every level, the first time)."""

    def __init__(self) -> None:
        self.pushed: dict[tuple[str, int], int] = {}

    async def push(self, services: Services) -> int:
        storefront = services.storefront
        if storefront is None:
            return 0
        theirs = {loc.code: loc.id for loc in await storefront.locations() if loc.enabled}
        async with services.store.read() as uow:
            skus = await uow.catalog.active_skus()
        changes: list[AvailabilityPush] = []
        for start in range(0, len(skus), services.policy.max_skus_per_query):
            chunk = skus[start : start + services.policy.max_skus_per_query]
            for stock in await availability(services, importer(storefront), chunk):
                if stock.stale:
                    continue  # never tell shoppers a guess
                for row in stock.locations:
                    location_id = theirs.get(row.location.code)
                    if location_id is None:
                        continue
                    key = (stock.sku, location_id)
                    if self.pushed.get(key) != row.available:
                        changes.append(AvailabilityPush(stock.sku, location_id, row.available))
        if changes:
            await storefront.set_availability(changes)
            for change in changes:
                self.pushed[(change.sku, change.location_id)] = change.available
        return len(changes)
