"""Network KPIs for staff, and the record of orders refused for want of stock."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from ordergate.models.capture import SHORT
from ordergate.models.errors import Forbidden, Problem, StoreBusy
from ordergate.models.identity import Permission, Principal
from ordergate.models.metrics import MetricsGroup, NetworkMetrics, assemble, check_range
from ordergate.usecases.services import Services

log = logging.getLogger("ordergate.metrics")


async def network_metrics(
    services: Services, principal: Principal, start: date, end: date, group: MetricsGroup
) -> NetworkMetrics:
    """The figures of the orders placed from `start` to `end` (UTC days, both included), per
    row of `group` and in total: five aggregate statements, however many orders."""
    if not principal.can(Permission.READ_METRICS):
        raise Forbidden("this role may not read network metrics")
    check_range(start, end)
    since = datetime.combine(start, time(), UTC)
    until = datetime.combine(end + timedelta(days=1), time(), UTC)
    async with services.store.read() as uow:
        tallies = await uow.metrics.tallies(since, until, group)
        tallies |= await uow.metrics.tallies(since, until, None)
        spans = await uow.metrics.percentiles(since, until, group)
        spans |= await uow.metrics.percentiles(since, until, None)
        refusals = await uow.metrics.refusals(since, until)
    return assemble(start, end, group, tallies, spans, refusals)


async def record_refusal(
    services: Services, channel: str, problems: Sequence[Problem], now: datetime
) -> None:
    """Keep a placement refused for want of stock (INSUFFICIENT_STOCK, SPLIT_LIMIT_EXCEEDED), in
    a transaction of its own: the order's was rolled back. Other refusals are not kept. A store
    too busy to keep it loses the count, not the caller's answer (the refusal's own code)."""
    reason = next((problem.code for problem in problems if problem.code in SHORT), None)
    if reason is None:
        return
    try:
        async with services.store.write() as uow:
            await uow.metrics.add_refusal(channel=channel, reason=reason, occurred_at=now)
    except StoreBusy:
        log.warning("a stock-out refusal (%s, %s) was not counted: the store is busy", channel, reason)
