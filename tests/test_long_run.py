"""Stock that stays true over time: short seeded walks of orders, holds, shipments, handovers,
rejections, short picks, cancellations, returns, receipts, refreshes and relays, with every
invariant checked after every step (`tests/simulation.py`). Longer walks:
`.venv/bin/python bench/long_run.py --steps 2000`."""

from __future__ import annotations

import dataclasses
import io
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from ordergate.bootstrap import Sandboxes
from ordergate.settings import Settings
from ordergate.usecases.services import Services
from tests.clock import moving
from tests.gateways import gateways
from tests.services import REDIS_URL, require_redis
from tests.simulation import WALK_STARTS, WALK_TICK, Walk, on_the_walk_calendar, seeded_ids

pytestmark = pytest.mark.no_relay

STEPS = 120
REPLICA_STEPS = 60


@pytest.fixture(autouse=True)
def calendar(seed: int) -> Iterator[None]:
    """Before the gateway and its sandboxes start: a seed meets the same calendar on any day,
    and the locations and products it routes among have the same ids on every run."""
    with on_the_walk_calendar(), seeded_ids(seed, "setup"):
        yield


@pytest.fixture
def sandboxes() -> Sandboxes:
    return Sandboxes(tracking_in_real_time=False)  # the walk moves parcels itself: `carriers_scan`


@pytest.mark.parametrize("seed", [1, 2])
async def test_a_seeded_walk_keeps_stock_and_orders_true_after_every_step(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, seed: int
) -> None:
    trace = io.StringIO()
    with moving(services, WALK_TICK) as clock:
        walk = Walk(client, services, sandboxes, clock, seed, trace=trace)
        await walk.run(STEPS)
    lines = [line.split() for line in trace.getvalue().splitlines()]
    # on the walk's calendar, whatever the day: its clock is where it started, plus the days it
    # moved on and the seconds it ran
    assert timedelta(0) <= clock() - clock.offset - WALK_STARTS < timedelta(minutes=10)

    # the walk did what it is for: every kind of step, and orders that went all the way
    assert set(walk.kinds) >= {"place", "work", "relay", "refresh"}, walk.kinds
    assert len(walk.orders) >= 10
    # its trace: a line per step, with its move, the orders so far and four checksums
    assert [int(line[0]) for line in lines] == list(range(1, STEPS + 1))
    assert Counter(line[1] for line in lines) == walk.kinds
    assert all(len(line) == 7 for line in lines)
    assert int(lines[-1][2]) == len(walk.orders)
    assert len({line[6] for line in lines}) > 1  # the stock's checksum moves as the walk does


@pytest.mark.redis
@pytest.mark.parametrize("seed", [3])
@pytest.mark.parametrize(  # replicas in production: PostgreSQL and Redis
    "database", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_a_walk_over_two_replicas_finds_every_change_in_each_replica_s_answers(
    database: tuple[str, dict[str, Any]], settings: Settings, sandboxes: Sandboxes, seed: int
) -> None:
    """Two gateways on the one database and Redis, each request of the walk to one of them: after
    every step, each replica's availability equals its definition over the stored rows within
    `ANNOUNCED_WITHIN`, with the views kept until a change is announced (so a change one replica
    commits but does not announce fails the walk: `bench/long_run.py --replicas 2`)."""
    require_redis()
    url, connect_args = database
    replicated = dataclasses.replace(settings, redis_url=REDIS_URL)
    async with gateways(replicated, url, connect_args, sandboxes, 2, seed) as served:
        with moving(served.services, WALK_TICK) as clock:
            walk = Walk(
                served.client,
                served.services,
                sandboxes,
                clock,
                seed,
                replicas=served.others,
                replica_clients=served.each,
            )
            await walk.run(REPLICA_STEPS)
        assert served.sent is not None
        assert min(served.sent) > REPLICA_STEPS // 4, served.sent  # both replicas served the walk
    assert set(walk.kinds) >= {"place", "work", "relay", "refresh"}, walk.kinds
    assert len(walk.orders) >= 5
