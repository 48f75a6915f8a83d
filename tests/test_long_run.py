"""Stock that stays true over time: short seeded walks of orders, holds, shipments, handovers,
rejections, short picks, cancellations, returns, receipts, refreshes and relays, with every
invariant checked after every step (`tests/simulation.py`). Longer walks:
`.venv/bin/python bench/long_run.py --steps 2000`."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from ordergate.bootstrap import Sandboxes
from ordergate.usecases.services import Services
from tests.clock import moving
from tests.simulation import WALK_STARTS, WALK_TICK, Walk, on_the_walk_calendar, seeded_ids

pytestmark = pytest.mark.no_relay

STEPS = 120


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
