"""The loops a gateway runs beside its requests, each a supervisor: a failure is logged and
the loop goes on. Started and stopped together by `workers.runner.running`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ordergate.connectors.errors import UpstreamError
from ordergate.usecases import backorders, rerouting, short_spells, storefront
from ordergate.usecases.services import Services
from ordergate.workers.dispatch import DISPATCH_BATCH, Follower, dispatch_once
from ordergate.workers.pushers import PUSH_ROLE, AvailabilityPusher
from ordergate.workers.relay import stop_if_cancelled
from ordergate.workers.roles import leading, role_token

log = logging.getLogger("ordergate.workers")
DISPATCH_IDLE_SECONDS = 2.0


SYNC_ROLE = "storefront-sync"
BACKORDER_ROLE = "backorder-allocation"


async def every_so_often(
    services: Services,
    role: str,
    every_seconds: float,
    what: str,
    step: Callable[[Services], Awaitable[object]],
) -> None:
    """`step` every `every_seconds`, by one replica for all: the one that leads `role` through
    the broker (`Broker.lead`; the in-process broker always leads), renewed each round for two
    rounds, given up as the loop stops so another takes it at its next round (and after its hold
    when the replica dies). A chore N replicas did each was N times the upstream requests out of
    one quota (the storefront's, the ERP's 60 a minute) for the same result. A failure is logged
    and the loop goes on. The role is kept while a step outlasts its hold (`roles.leading`)."""
    hold = 2 * every_seconds
    async with role_token(services, role) as token:
        while True:
            try:
                async with leading(services, role, token, hold) as leads:
                    if leads:
                        await step(services)
            except UpstreamError as error:
                log.warning("%s: %s", what, error)
            except Exception:  # a supervisor: log, wait, and go on
                log.exception("%s failed; retrying", what)
            stop_if_cancelled()  # redis-py can swallow a cancellation that lands mid-command
            await asyncio.sleep(every_seconds)


async def sync_storefront(services: Services) -> None:
    """The backfill, resumed from its checkpoint, and the catalogue with it. Webhooks bring
    orders at once: this catches what they missed."""
    changed = await storefront.sync_catalog(services)
    report = await storefront.sync_orders(services)
    if changed or report.imported:
        log.info("storefront sync: %d products changed, %d orders imported", changed, report.imported)


async def sync_storefront_forever(services: Services, every_seconds: float) -> None:
    """`sync_storefront` at start and then every so often, by one replica for all."""
    await every_so_often(services, SYNC_ROLE, every_seconds, "storefront sync", sync_storefront)


async def allocate_backorders_forever(services: Services, every_seconds: float) -> None:
    """Supply that arrived without a webhook saying so: every so often, one replica for all
    re-reads the stock of the SKUs with units waiting and gives what came to the oldest lines;
    and routes again the work at positions a count left short (`rerouting.route_shortfalls`:
    stock read by a request past its TTL, or a notice whose pass failed)."""
    await every_so_often(services, BACKORDER_ROLE, every_seconds, "backorder allocation", stock_pass)


async def stock_pass(services: Services) -> None:
    """The backorder loop's round: units that arrived to the lines waiting, then short positions
    routed again (from the stored figures, so an ERP that cannot be read does not stop it), then
    the spells of short stock noted as the positions stand after it."""
    try:
        await backorders.refresh_and_allocate(services)
    finally:
        try:
            await rerouting.route_shortfalls(services, sweep=True)
        finally:
            await short_spells.note_spells(services)


async def push_availability_forever(services: Services, at_most_every: int) -> None:
    """What we can sell per location, to the storefront: after changes (woken by the broker),
    about 2 s after them, and at least every `at_most_every` seconds; by one replica for all
    (`AvailabilityPusher.push_if_leading`), the others ready to take over once its hold on the
    role runs out (two rounds) or it steps down as it stops."""
    pusher = AvailabilityPusher(full_every=at_most_every)
    settle = min(2.0, at_most_every)
    hold = 2 * (at_most_every + settle)
    async with role_token(services, PUSH_ROLE) as token, services.broker.listen() as listener:
        while True:
            try:
                await pusher.push_if_leading(services, token, hold)
            except UpstreamError as error:
                log.warning("storefront availability push: %s", error)
            except Exception:
                log.exception("storefront availability push failed; retrying")
            stop_if_cancelled()  # redis-py can swallow a cancellation that lands mid-command
            await listener.wait(at_most_every)
            await asyncio.sleep(settle)  # let a burst of changes settle


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
