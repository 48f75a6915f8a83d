"""Network KPIs for staff, and the record of orders refused for want of stock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta

from ordergate.models.capture import SHORT
from ordergate.models.errors import Forbidden, Problem
from ordergate.models.identity import Permission, Principal
from ordergate.models.metrics import MetricsGroup, NetworkMetrics, assemble, check_range
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases.services import Services


async def network_metrics(
    services: Services, principal: Principal, start: date, end: date, group: MetricsGroup
) -> NetworkMetrics:
    """The figures of the orders placed from `start` to `end` (UTC days, both included), per
    row of `group` and in total: a few aggregate statements, however many orders."""
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
        spells = await uow.metrics.spells(since, until, group)
        spells |= await uow.metrics.spells(since, until, None)
    return assemble(start, end, group, tallies, spans, refusals, spells)


def refusal_kept(
    channel: str, problems: Sequence[Problem], now: datetime
) -> Callable[[UnitOfWork], Awaitable[None]]:
    """Keeps a placement refused for want of stock (INSUFFICIENT_STOCK, SPLIT_LIMIT_EXCEEDED)
    in the transaction it is given (the one that gives the order's key up: the order's own was
    rolled back). Other refusals are not kept."""
    reason = next((problem.code for problem in problems if problem.code in SHORT), None)

    async def keep(uow: UnitOfWork) -> None:
        if reason is not None:
            await uow.metrics.add_refusal(channel=channel, reason=reason, occurred_at=now)

    return keep
