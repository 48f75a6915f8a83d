"""Routing what-if through the API (issue 19, item 6): the orders of a period replayed under the
policy in force and a proposed one, against the stock each order saw, changing nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ordergate.bootstrap import Sandboxes
from ordergate.store import tables
from ordergate.store.unit_of_work import Committed
from ordergate.usecases import what_if
from ordergate.usecases.inventory import refresh_stock
from ordergate.usecases.services import Services
from tests.builders import a_line, a_token, an_address, an_order_input
from tests.clock import MovingClock, moving
from tests.contract import operation
from tests.graphql_client import execute

pytestmark = pytest.mark.no_relay  # nothing moves in the background while the database is compared

AGENT = a_token("agent")
ADMIN = a_token("admin")
WEIGHTS = {"distance": 0.4, "cost": 0.3, "capacity": 0.2, "priority": 0.1}
IN_FORCE = {"weights": WEIGHTS, "maxSplit": 2}
NEW_YORK = an_address(line1="20 W 34th St", city="New York", region="NY", postalCode="10001")
# Newark holds the throws and no Dutch oven, Manhattan a shelf of Dutch ovens but too few throws
# (its safety stock keeps 2 of 4 back); only Ontario, across the country, holds the cart whole.
THROWS_AND_OVEN = [a_line("THROW-WOOL", 3), a_line("POT-DUTCH-5", 1)]
SET_POLICY = """mutation($input: SetRoutingPolicyInput!) { setRoutingPolicy(input: $input) {
  policy { version } userErrors { code } } }"""
SIMULATE = """query($policy: SetRoutingPolicyInput!, $from: DateTime!, $to: DateTime!) {
  simulateRouting(policy: $policy, from: $from, to: $to) {
    currentPolicy { maxSplit version }
    current { ...Figures } proposed { ...Figures }
    changedOrders skipped skippedReasons { reason orders }
    userErrors { code field message } } }
fragment Figures on RoutingKpis {
  orders routed refused { code orders } splitRate shipmentsPerOrder
  shippingCostPerOrder { amount currency } distancePerOrderKm distancePerShipmentKm promiseDays
  nodeShares { locationCode shipments share } differentFromRecorded }"""


@pytest.fixture
def clock(services: Services) -> Iterator[MovingClock]:
    with moving(services) as clock:
        yield clock


async def stock(
    services: Services, sandboxes: Sandboxes, clock: MovingClock, sku: str, code: str, units: int
) -> None:
    """The ERP counts `units` of `sku` at `code`, and ordergate has read it."""
    assert sandboxes.katana is not None
    await sandboxes.katana.set_on_hand(sku, code, units)
    clock.advance(30)
    services.freshness.stock_read_at.clear()
    assert await refresh_stock(services, [sku]) == set()


async def place(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    body = await execute(client, operation("PlaceOrder"), {"input": an_order_input(**overrides)}, token=AGENT)
    payload: dict[str, Any] = body["data"]["placeOrder"]
    assert payload["userErrors"] == [], payload["userErrors"]
    return payload


def shipped_from(payload: dict[str, Any]) -> list[str]:
    return sorted(fo["location"]["code"] for fo in payload["order"]["fulfillmentOrders"])


async def demo_history(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> None:
    """Three carts to New York that two nearby nodes hold between them and one node across the
    country holds whole, two to Austin that Dallas holds whole, and a pickup."""
    await stock(services, sandboxes, clock, "POT-DUTCH-5", "ST-NYC", 12)
    for _ in range(3):
        placed = await place(client, lines=THROWS_AND_OVEN, shippingAddress=NEW_YORK)
        assert shipped_from(placed) == ["DC-EWR", "ST-NYC"]  # within the split limit of 2
    for _ in range(2):
        assert shipped_from(await place(client)) == ["DC-DFW"]
    await place(
        client,
        deliveryMethod="PICKUP",
        pickupLocationId="ST-NYC",
        shippingAddress=None,
        lines=[a_line("MUG-BLUE", 1)],
    )


async def simulate(
    client: httpx.AsyncClient, policy: dict[str, Any], start: datetime, end: datetime, token: str = AGENT
) -> dict[str, Any]:
    variables = {"policy": policy, "from": start.isoformat(), "to": end.isoformat()}
    body = await execute(client, SIMULATE, variables, token=token)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["simulateRouting"]
    return payload


def the_day(services: Services) -> tuple[datetime, datetime]:
    now = services.clock()
    return now - timedelta(hours=1), now + timedelta(hours=1)


async def everything(services: Services) -> dict[str, list[str]]:
    """Every row of every table, as text, in a stable order."""
    async with services.store.read() as uow:
        return {
            table.name: sorted(
                repr(tuple(row)) for row in (await uow.session.execute(sa.select(table))).all()
            )
            for table in tables.metadata.sorted_tables
        }


class Commits:
    """What the store told the rest of the process after each commit (events, outbox, views)."""

    def __init__(self, services: Services) -> None:
        self.seen: list[Committed] = []
        self.inner = services.store.after_commit
        services.store.after_commit = self.record

    async def record(self, what: Committed) -> None:
        self.seen.append(what)
        await self.inner(what)


async def test_a_split_limit_of_one_shows_fewer_splits_and_longer_distances_and_changes_nothing(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> None:
    await demo_history(client, services, sandboxes, clock)
    before = await everything(services)
    commits = Commits(services)
    start, end = the_day(services)

    answer = await simulate(client, {"weights": WEIGHTS, "maxSplit": 1}, start, end)

    assert answer["userErrors"] == []
    current, proposed = answer["current"], answer["proposed"]
    assert answer["currentPolicy"] == {"maxSplit": 2, "version": 0}
    assert (current["orders"], current["routed"], proposed["orders"], proposed["routed"]) == (5, 5, 5, 5)
    assert (answer["skipped"], answer["skippedReasons"]) == (1, [{"reason": "PICKUP", "orders": 1}])
    assert current["splitRate"] == pytest.approx(3 / 5)
    assert proposed["splitRate"] == 0
    assert proposed["distancePerOrderKm"] > current["distancePerOrderKm"] * 2
    assert proposed["shipmentsPerOrder"] == 1
    assert current["shipmentsPerOrder"] == pytest.approx(8 / 5)
    assert proposed["promiseDays"] > current["promiseDays"]
    assert answer["changedOrders"] == 3
    assert current["differentFromRecorded"] == 0  # the policy in force reproduces what was decided
    assert proposed["differentFromRecorded"] == 3
    shares = {s["locationCode"]: s["shipments"] for s in proposed["nodeShares"]}
    assert shares == {"DC-ONT": 3, "DC-DFW": 2}
    assert {s["locationCode"]: s["shipments"] for s in current["nodeShares"]} == {
        "DC-EWR": 3,
        "ST-NYC": 3,
        "DC-DFW": 2,
    }
    assert current["refused"] == proposed["refused"] == []
    assert await everything(services) == before
    assert commits.seen == []


async def test_replaying_under_the_policy_in_force_reproduces_every_recorded_decision(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> None:
    await demo_history(client, services, sandboxes, clock)
    nearest = {"weights": {"distance": 1.0, "cost": 0.0, "capacity": 0.0, "priority": 0.0}, "maxSplit": 3}
    body = await execute(client, SET_POLICY, {"input": nearest}, token=ADMIN)
    assert body["data"]["setRoutingPolicy"]["userErrors"] == []
    await place(client, lines=THROWS_AND_OVEN, shippingAddress=NEW_YORK)
    await place(client, lines=[a_line("MUG-BLUE", 30), a_line("POT-DUTCH-5", 2)], shippingAddress=NEW_YORK)
    await place(client)
    start, end = the_day(services)

    answer = await simulate(client, nearest, start, end)

    assert answer["userErrors"] == []
    assert answer["currentPolicy"] == {"maxSplit": 3, "version": 1}
    current = answer["current"]
    assert (current["orders"], current["routed"], answer["skipped"]) == (8, 8, 1)
    assert current["differentFromRecorded"] == 0
    assert current["shipmentsPerOrder"] > 1
    assert answer["changedOrders"] == 0
    assert answer["current"] == answer["proposed"]


async def test_the_period_is_read_in_batches_with_the_same_answer(
    client: httpx.AsyncClient,
    services: Services,
    sandboxes: Sandboxes,
    clock: MovingClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await demo_history(client, services, sandboxes, clock)
    start, end = the_day(services)
    whole = await simulate(client, {"weights": WEIGHTS, "maxSplit": 1}, start, end)

    monkeypatch.setattr(what_if, "BATCH", 2)
    in_pairs = await simulate(client, {"weights": WEIGHTS, "maxSplit": 1}, start, end)

    assert in_pairs == whole


async def test_a_period_with_more_orders_than_the_cap_is_refused(
    client: httpx.AsyncClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        await place(client)
    start, end = the_day(services)
    monkeypatch.setattr(what_if, "MAX_ORDERS", 2)

    refused = await simulate(client, IN_FORCE, start, end)

    assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [("PERIOD_TOO_LARGE", ["to"])]
    assert refused["current"] is None
    monkeypatch.setattr(what_if, "MAX_ORDERS", 3)
    assert (await simulate(client, IN_FORCE, start, end))["current"]["orders"] == 3


@pytest.mark.parametrize(
    ("policy", "start", "end", "expected"),
    [
        (IN_FORCE, "2026-01-02T00:00:00+00:00", "2026-01-01T00:00:00+00:00", ("INVALID_RANGE", ["to"])),
        (IN_FORCE, "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00", ("INVALID_RANGE", ["to"])),
        (IN_FORCE, "2026-01-01T00:00:00", "2026-01-02T00:00:00+00:00", ("INVALID_DATETIME", ["from"])),
        (
            {"weights": {**WEIGHTS, "distance": -1}, "maxSplit": 2},
            "2026-01-01T00:00:00+00:00",
            "2026-01-02T00:00:00+00:00",
            ("INVALID_WEIGHT", ["policy", "weights", "distance"]),
        ),
        (
            {"weights": WEIGHTS, "maxSplit": 0},
            "2026-01-01T00:00:00+00:00",
            "2026-01-02T00:00:00+00:00",
            ("INVALID_SPLIT_LIMIT", ["policy", "maxSplit"]),
        ),
    ],
)
async def test_bad_input_is_a_user_error_with_its_code(
    client: httpx.AsyncClient, policy: dict[str, Any], start: str, end: str, expected: tuple[str, list[str]]
) -> None:
    body = await execute(client, SIMULATE, {"policy": policy, "from": start, "to": end}, token=AGENT)

    payload = body["data"]["simulateRouting"]
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [expected]
    assert payload["current"] is None


@pytest.mark.parametrize("role", ["customer", "associate", "storefront"])
async def test_only_agents_and_admins_simulate(client: httpx.AsyncClient, role: str) -> None:
    token = a_token(role, email="ann@example.com" if role == "customer" else None, locations=("ST-NYC",))
    now = datetime.now(UTC)

    answer = await simulate(client, IN_FORCE, now - timedelta(days=1), now, token=token)

    assert [e["code"] for e in answer["userErrors"]] == ["FORBIDDEN"]


async def test_an_admin_simulates_an_empty_period(client: httpx.AsyncClient) -> None:
    now = datetime.now(UTC)

    answer = await simulate(client, IN_FORCE, now - timedelta(days=1), now, token=ADMIN)

    assert answer["current"]["orders"] == 0
    assert answer["current"]["splitRate"] is None
    assert answer["skipped"] == 0
