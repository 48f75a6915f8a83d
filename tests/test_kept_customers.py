"""What the storefront said about customers is kept per process for a bounded time
(`usecases.kept_customers`, the README's ORDERGATE_STOREFRONT_CUSTOMER_SECONDS): boards shown
within the bound cost no storefront request, nothing kept is served past it, and an outage
still labels every customer whose record is not kept."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ordergate.bootstrap import Sandboxes
from ordergate.connectors.storefront.base import StorefrontCustomer
from ordergate.usecases.kept_customers import KeptCustomers
from ordergate.usecases.services import Services
from tests.graphql_client import execute
from tests.test_order_prefetch import ADMIN, ALONE, GUEST, PAGE, SHOPPER, a_mixed_board
from tests.test_statement_budget import counting

IDS = "query($first: Int!) { orders(first: $first) { edges { node { id customer { email } } } } }"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def a_record(email: str, first_name: str = "Priya") -> StorefrontCustomer:
    return StorefrontCustomer(7, email, first_name, "Patel", "", "", 0, ())


def test_an_answer_is_kept_for_its_bound_and_no_longer() -> None:
    clock = Clock()
    kept = KeptCustomers(max_age=60, timer=clock)
    kept.keep({"priya@example.com": a_record("priya@example.com"), "guest@example.com": None}, clock())

    clock.now += 59.9
    found, missing = kept.kept(["Priya@Example.com", "guest@example.com", "new@example.com"])
    assert found == {"priya@example.com": a_record("priya@example.com"), "guest@example.com": None}
    assert missing == ["new@example.com"]

    clock.now += 0.1
    assert kept.kept(["priya@example.com"]) == ({}, ["priya@example.com"])


def test_the_oldest_read_goes_first_past_the_cap_and_a_zero_bound_keeps_nothing() -> None:
    clock = Clock()
    kept = KeptCustomers(max_age=60, max_entries=2, timer=clock)
    for n in range(3):
        kept.keep({f"c{n}@example.com": None}, clock())
    assert kept.kept([f"c{n}@example.com" for n in range(3)])[1] == ["c0@example.com"]

    off = KeptCustomers(max_age=0, timer=clock)
    off.keep({"c0@example.com": None}, clock())
    assert off.kept(["c0@example.com"]) == ({}, ["c0@example.com"])


def names(page: dict[str, Any]) -> dict[str, str]:
    return {e["node"]["customer"]["email"]: e["node"]["customer"]["displayName"] for e in edges(page)}


def edges(page: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page["data"]["orders"]["edges"]
    return found


@pytest.fixture
async def clock(client: httpx.AsyncClient, services: Services) -> Clock:
    """A board of mixed customers placed, then the services' kept customers on a clock of the
    test's (60 s bound)."""
    await a_mixed_board(client)
    clock = Clock()
    services.storefront_customers = KeptCustomers(max_age=60, timer=clock)
    return clock


@pytest.mark.no_relay
async def test_boards_within_the_bound_ask_the_storefront_once_and_a_name_changed_there_shows_after_it(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: Clock
) -> None:
    asked = []
    for _ in range(3):
        with counting(services) as cost:
            page = await execute(client, PAGE, {"first": 10}, token=ADMIN)
        asked.append(cost.upstream.get("bigcommerce", 0))
        clock.now += 20
    assert asked == [1, 0, 0]
    assert names(page)[SHOPPER] != SHOPPER

    assert sandboxes.bigcommerce is not None
    [shopper] = [c for c in sandboxes.bigcommerce.customers.values() if c.email == SHOPPER]
    shopper.first_name, shopper.last_name = "Renamed", "There"
    clock.now = 1_059.9
    assert names(await execute(client, PAGE, {"first": 10}, token=ADMIN))[SHOPPER] != "Renamed There"
    clock.now = 1_060.0  # 60 s after the first board asked
    with counting(services) as cost:
        page = await execute(client, PAGE, {"first": 10}, token=ADMIN)
    assert cost.upstream.get("bigcommerce", 0) == 1
    assert names(page)[SHOPPER] == "Renamed There"


async def test_with_the_storefront_down_kept_customers_are_shown_and_the_others_labelled(
    client: httpx.AsyncClient, sandboxes: Sandboxes, clock: Clock
) -> None:
    listed = await execute(client, IDS, {"first": 10}, token=ADMIN)
    shoppers = [e["node"]["id"] for e in edges(listed) if e["node"]["customer"]["email"] == SHOPPER]
    seen = await execute(client, ALONE, {"id": shoppers[0]}, token=ADMIN)  # keeps the shopper alone
    assert sandboxes.bigcommerce is not None
    sandboxes.bigcommerce.down = True

    page = await execute(client, PAGE, {"first": 10}, token=ADMIN)

    nodes = [e["node"] for e in edges(page)]
    shown = names(page)
    assert shown[SHOPPER] == seen["data"]["order"]["customer"]["displayName"] != SHOPPER
    assert shown[GUEST] == GUEST
    others = [node for node in nodes if node["customer"]["email"] != SHOPPER]
    assert all(node["customer"]["storefront"] is None for node in others)
    assert len(page["errors"]) == len(others)
    assert {e["extensions"]["code"] for e in page["errors"]} == {"UPSTREAM_UNAVAILABLE"}
    for node in nodes:
        alone = await execute(client, ALONE, {"id": node["id"]}, token=ADMIN)
        assert alone["data"]["order"] == node
        assert ("errors" in alone) == (node["customer"]["email"] != SHOPPER)

    clock.now += 60
    page = await execute(client, PAGE, {"first": 10}, token=ADMIN)
    assert names(page)[SHOPPER] == SHOPPER  # nothing served past its bound, outage or not
    assert len(page["errors"]) == len(edges(page))
