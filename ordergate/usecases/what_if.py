"""Routing what-if (agents, admins): the orders placed in a period, replayed under the policy in
force and under a proposed one (`models.what_if`), in one read transaction that writes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from ordergate.models.errors import Forbidden, Problem, ValidationFailed
from ordergate.models.identity import Permission, Principal
from ordergate.models.network_policy import RoutingPolicy, check_policy
from ordergate.models.order import DeliveryMethod
from ordergate.models.routing import RoutingDecisionRecord, Weights
from ordergate.models.what_if import Simulation, case_of
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases.network import policy_in_force
from ordergate.usecases.services import Services

MAX_ORDERS = 10_000  # orders one simulation replays, at most
BATCH = 500  # orders read at a time
PICKUP = "PICKUP"  # collected where it was placed for: not routed
NOT_ROUTED = "NOT_ROUTED"  # no decision: held, or not routed yet
NO_SNAPSHOT = "NO_SNAPSHOT"  # decided before decisions kept what they saw, or from a cart hold


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime


def check_period(start: datetime, end: datetime) -> Period:
    """INVALID_DATETIME for a time without a UTC offset; INVALID_RANGE unless `start` < `end`."""
    problems = [
        Problem("INVALID_DATETIME", f"`{name}` needs a UTC offset", (name,))
        for name, value in (("from", start), ("to", end))
        if value.tzinfo is None
    ]
    if not problems and start >= end:
        problems.append(Problem("INVALID_RANGE", "`to` must be after `from`", ("to",)))
    if problems:
        raise ValidationFailed(problems)
    return Period(start, end)


def proposed_policy(weights: Weights, max_split: int, split_limits: Mapping[str, int]) -> RoutingPolicy:
    """The policy to try, checked as setRoutingPolicy checks it (its problems under `policy`)."""
    try:
        check_policy(weights, max_split, split_limits)
    except ValidationFailed as refused:
        raise ValidationFailed(
            [Problem(p.code, p.message, ("policy", *(p.field or ()))) for p in refused.problems]
        ) from None
    return RoutingPolicy(weights, max_split, {k.strip(): v for k, v in split_limits.items()})


async def simulate_routing(
    services: Services,
    principal: Principal,
    weights: Weights,
    max_split: int,
    split_limits: Mapping[str, int],
    start: datetime,
    end: datetime,
) -> Simulation:
    """Replay the decisions of the orders placed in [start, end) under the policy in force and
    the proposed one, each against the stock it saw. PERIOD_TOO_LARGE past MAX_ORDERS orders."""
    if not principal.can(Permission.READ_METRICS):
        raise Forbidden("this role may not simulate routing")
    proposed = proposed_policy(weights, max_split, split_limits)
    period = check_period(start, end)
    async with services.store.read() as uow:
        count = await uow.orders.placed_count(period.start, period.end, cap=MAX_ORDERS)
        if count > MAX_ORDERS:
            message = f"more than {MAX_ORDERS} orders were placed in this period: simulate a shorter one"
            raise ValidationFailed([Problem("PERIOD_TOO_LARGE", message, ("to",))])
        simulation = Simulation(policy_in_force(services, await uow.network.routing_policy()), proposed)
        await _replay(uow, period, simulation)
    return simulation


def _route_batch(
    page: Sequence[tuple[str, datetime, DeliveryMethod]],
    decisions: Mapping[str, RoutingDecisionRecord],
    simulation: Simulation,
) -> None:
    for order_id, _, method in page:
        record = decisions.get(order_id)
        case = case_of(record) if record is not None else None
        if method is not DeliveryMethod.SHIP:
            simulation.skip(PICKUP)
        elif record is None:
            simulation.skip(NOT_ROUTED)
        elif case is None:
            simulation.skip(NO_SNAPSHOT)
        else:
            simulation.add(case)


async def _replay(uow: UnitOfWork, period: Period, simulation: Simulation) -> None:
    after: tuple[datetime, str] | None = None
    while True:
        page = await uow.orders.placed_page(period.start, period.end, after, BATCH)
        if not page:
            return
        shipped = [order_id for order_id, _, method in page if method is DeliveryMethod.SHIP]
        decisions = await uow.orders.first_decisions(shipped)
        # Routing a batch twice is pure CPU (~0.1 s for 500 orders): on a worker thread, so the
        # event loop goes on answering everyone else meanwhile.
        await asyncio.to_thread(_route_batch, page, decisions, simulation)
        last_id, last_at, _ = page[-1]
        after = (last_at, last_id)
        if len(page) < BATCH:
            return
