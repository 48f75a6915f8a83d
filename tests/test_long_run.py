"""Stock that stays true over time: short seeded walks of orders, holds, shipments, handovers,
rejections, short picks, cancellations, returns, receipts, refreshes and relays, with every
invariant checked after every step (`tests/simulation.py`). Longer walks:
`.venv/bin/python bench/long_run.py --steps 2000`."""

from __future__ import annotations

import httpx
import pytest

from ordergate.bootstrap import Sandboxes
from ordergate.usecases.services import Services
from tests.clock import moving
from tests.simulation import Walk

pytestmark = pytest.mark.no_relay

STEPS = 120


@pytest.mark.parametrize("seed", [1, 2])
async def test_a_seeded_walk_keeps_stock_and_orders_true_after_every_step(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, seed: int
) -> None:
    with moving(services) as clock:
        walk = Walk(client, services, sandboxes, clock, seed)
        await walk.run(STEPS)

    # the walk did what it is for: every kind of step, and orders that went all the way
    assert set(walk.kinds) >= {"place", "work", "relay", "refresh"}, walk.kinds
    assert len(walk.orders) >= 10
