"""The loops a gateway runs beside its requests, each a supervisor: a failure is logged and
the loop goes on. Started and stopped together by `workers.runner.running`."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from ordergate.connectors.errors import UpstreamError
from ordergate.usecases import backorders, storefront
from ordergate.usecases.services import Services
from ordergate.workers.dispatch import DISPATCH_BATCH, Follower, dispatch_once
from ordergate.workers.pushers import PUSH_ROLE, AvailabilityPusher
from ordergate.workers.relay import stop_if_cancelled

log = logging.getLogger("ordergate.workers")
DISPATCH_IDLE_SECONDS = 2.0


async def sync_storefront_forever(services: Services, every_seconds: int) -> None:
    """The backfill, resumed from its checkpoint, at start and then every so often; the
    catalogue with it. Webhooks bring orders at once: this catches what they missed."""
    while True:
        try:
            changed = await storefront.sync_catalog(services)
            report = await storefront.sync_orders(services)
            if changed or report.imported:
                log.info("storefront sync: %d products changed, %d orders imported", changed, report.imported)
        except UpstreamError as error:
            log.warning("storefront sync: %s", error)
        except Exception:  # a supervisor: log, wait, and go on
            log.exception("storefront sync failed; retrying")
        await asyncio.sleep(every_seconds)


async def allocate_backorders_forever(services: Services, every_seconds: int) -> None:
    """Supply that arrived without a webhook saying so: every so often, re-read the stock of
    the SKUs with units waiting and give what came to the oldest lines."""
    while True:
        try:
            await backorders.refresh_and_allocate(services)
        except UpstreamError as error:
            log.warning("backorder allocation: %s", error)
        except Exception:  # a supervisor: log, wait, and go on
            log.exception("backorder allocation failed; retrying")
        await asyncio.sleep(every_seconds)


async def push_availability_forever(services: Services, at_most_every: int) -> None:
    """What we can sell per location, to the storefront: after changes (woken by the broker),
    about 2 s after them, and at least every `at_most_every` seconds; by one replica for all
    (`AvailabilityPusher.push_if_leading`), the others ready to take over once its hold on the
    role runs out (two rounds) or it steps down as it stops."""
    pusher = AvailabilityPusher(full_every=at_most_every)
    token = uuid.uuid4().hex
    settle = min(2.0, at_most_every)
    hold = 2 * (at_most_every + settle)
    try:
        async with services.broker.listen() as listener:
            while True:
                try:
                    await pusher.push_if_leading(services, token, hold)
                except UpstreamError as error:
                    log.warning("storefront availability push: %s", error)
                except Exception:
                    log.exception("storefront availability push failed; retrying")
                await listener.wait(at_most_every)
                await asyncio.sleep(settle)  # let a burst of changes settle
    finally:
        await services.broker.step_down(PUSH_ROLE, token)


async def dispatch_forever(
    services: Services, follower: Follower[Any], idle_seconds: float = DISPATCH_IDLE_SECONDS
) -> None:
    """Events become the follower's tasks (webhook deliveries, emails) for as long as the gateway
    runs: woken by the broker after commits, and every `idle_seconds` in case a wake-up was lost."""
    async with services.broker.listen() as listener:
        while True:
            stop_if_cancelled()
            try:
                read = await dispatch_once(services, follower)
            except Exception:  # a supervisor: log, wait, and go on
                log.exception("%s dispatch failed; retrying", follower.name)
                read = 0
            if read < DISPATCH_BATCH:
                await listener.wait(idle_seconds)
