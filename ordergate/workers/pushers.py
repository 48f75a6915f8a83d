"""Pushers keep an upstream's copy of our figures equal to ours."""

from __future__ import annotations

import time
from collections.abc import Callable

from ordergate.connectors.storefront.base import AvailabilityPush
from ordergate.models.availability_push import Pushed, due_for_push, resend_due
from ordergate.usecases.inventory import availability
from ordergate.usecases.services import Services
from ordergate.usecases.storefront import importer
from ordergate.workers.roles import leading

# every level worked out again at least this often, whatever the changes heard of say
FULL_EVERY_SECONDS = 30.0
# every level sent at least this often, whatever was sent before: what changed at the storefront
# behind our back is put right within it (`models.availability_push.resend_due`)
RESEND_EVERY_SECONDS = 600.0
PUSH_ROLE = "storefront-availability"  # one replica pushes for all (`Broker.lead`)


class AvailabilityPusher:
    """Keeps the storefront's per-location stock equal to what we can sell there: one batch of
    the levels that changed since the last push (every level, the first time). Only the SKUs
    that may have changed are worked out again (`models.availability_push`), and every one at
    least each `full_every` seconds: in a busy hour a push costs the SKUs being sold, not the
    whole catalogue. The storefront's locations are asked for with every full push. Every
    `resend_every` seconds every level is sent, not only those that differ from what was sent:
    a level changed at the storefront behind our back is put right within that bound."""

    def __init__(
        self,
        full_every: float = FULL_EVERY_SECONDS,
        timer: Callable[[], float] = time.monotonic,
        resend_every: float = RESEND_EVERY_SECONDS,
    ) -> None:
        self.pushed: dict[tuple[str, int], int] = {}
        self.full_every = full_every
        self.resend_every = resend_every
        self.timer = timer
        self.last: Pushed | None = None
        self.theirs: dict[str, int] = {}  # the storefront's enabled locations: our code -> its id
        self.looked_at = 0  # SKUs the last push worked out

    async def push_if_leading(self, services: Services, token: str, hold: float) -> int | None:
        """`push` when this replica (`token`) leads the pushes for the next `hold` seconds, None
        when another does: N replicas tell the storefront once, not N times, out of its request
        quota. A replica that does not lead forgets what it pushed (the leader has pushed since),
        so that when it takes the lead its first push is of every level."""
        async with leading(services, PUSH_ROLE, token, hold) as leads:  # kept while a push is slow
            if leads:
                return await self.push(services)
        self.pushed.clear()
        self.last = None
        return None

    async def push(self, services: Services) -> int:
        storefront = services.storefront
        if storefront is None:
            return 0
        now = self.timer()
        async with services.store.read() as uow:
            skus = await uow.catalog.active_skus()
        # read before the levels are: a change made meanwhile is looked at again next time
        epochs, changes = services.views.epochs(), services.views.change_counts(skus)
        resend = resend_due(self.last, now, self.resend_every)
        wanted, full = (
            (list(skus), True)
            if resend
            else due_for_push(self.last, skus, changes, epochs, now, self.full_every)
        )
        sent = {} if resend else self.pushed
        theirs = self.theirs
        if full:
            theirs = {loc.code: loc.id for loc in await storefront.locations() if loc.enabled}
        pushes: list[AvailabilityPush] = []
        unsettled: set[str] = set()
        for start in range(0, len(wanted), services.policy.max_skus_per_query):
            chunk = wanted[start : start + services.policy.max_skus_per_query]
            for stock in await availability(services, importer(storefront), chunk):
                if stock.stale:
                    unsettled.add(stock.sku)
                    continue  # never tell shoppers a guess
                for row in stock.locations:
                    location_id = theirs.get(row.location.code)
                    if location_id is None:
                        continue
                    key = (stock.sku, location_id)
                    if sent.get(key) != row.available:
                        pushes.append(AvailabilityPush(stock.sku, location_id, row.available))
        if pushes:
            await storefront.set_availability(pushes)
            for pushed in pushes:
                self.pushed[(pushed.sku, pushed.location_id)] = pushed.available
        # kept only once the storefront has them: a push that failed is worked out again
        full_at = now if full or self.last is None else self.last.full_at
        resent_at = now if resend or self.last is None else self.last.resent_at
        self.last = Pushed(full_at, changes, epochs, frozenset(unsettled), resent_at)
        self.theirs, self.looked_at = theirs, len(wanted)
        return len(pushes)
