"""The routing policy through the API (issue 19, item 5, its first part): admins set weights and
split limits, every replica routes by them at the next decision, and each change is audited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from ordergate import bootstrap
from ordergate.bootstrap import Sandboxes
from ordergate.models.identity import Principal, Role
from ordergate.settings import Settings
from ordergate.store.unit_of_work import Store
from ordergate.usecases import network
from ordergate.usecases.services import Services
from tests.builders import a_line, a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import execute

ADMIN = a_token("admin")
AGENT = a_token("agent")
SET = """mutation($input: SetRoutingPolicyInput!) { setRoutingPolicy(input: $input) {
  policy { maxSplit version updatedBy splitLimits { channel limit }
    weights { distance cost capacity priority } }
  userErrors { code field } } }"""
READ = "{ routingPolicy { maxSplit version splitLimits { channel limit } } }"
TRAIL = (
    """{ auditTrail(actor: "admin-test") { edges { node { operation changes { record field after } } } } }"""
)
WEIGHTS = {"distance": 0.4, "cost": 0.3, "capacity": 0.2, "priority": 0.1}


@pytest.fixture
async def other_services(settings: Settings, database: tuple[str, dict[str, Any]]) -> AsyncIterator[Services]:
    """A second replica: its own services over the same database."""
    store = Store(database[0], connect_args=database[1])
    async with bootstrap.opened(settings, store, Sandboxes(), prepared=False) as replica:
        yield replica


async def mugs(client: httpx.AsyncClient, quantity: int) -> dict[str, Any]:
    body = await execute(
        client,
        operation("PlaceOrder"),
        {"input": an_order_input(lines=[a_line("MUG-BLUE", quantity)])},
        token=AGENT,
    )
    payload: dict[str, Any] = body["data"]["placeOrder"]
    return payload


async def test_a_split_limit_set_through_the_api_holds_at_the_next_order(client: httpx.AsyncClient) -> None:
    before = (await execute(client, READ, token=AGENT))["data"]["routingPolicy"]
    assert (before["maxSplit"], before["version"]) == (2, 0)  # the settings' policy
    assert (await mugs(client, 250))["userErrors"] == []  # no node holds 250 mugs: two share them

    set_to_one = await execute(client, SET, {"input": {"weights": WEIGHTS, "maxSplit": 1}}, token=ADMIN)
    refused = await mugs(client, 250)
    per_channel = await execute(
        client,
        SET,
        {"input": {"weights": WEIGHTS, "maxSplit": 1, "splitLimits": [{"channel": "web", "limit": 2}]}},
        token=ADMIN,
    )
    allowed = await mugs(client, 250)

    assert set_to_one["data"]["setRoutingPolicy"]["policy"]["version"] == 1
    assert set_to_one["data"]["setRoutingPolicy"]["policy"]["updatedBy"] == "admin-test"
    assert [e["code"] for e in refused["userErrors"]] == ["SPLIT_LIMIT_EXCEEDED"]
    assert per_channel["data"]["setRoutingPolicy"]["policy"]["splitLimits"] == [
        {"channel": "web", "limit": 2}
    ]
    assert allowed["userErrors"] == []
    trail = (await execute(client, TRAIL, token=ADMIN))["data"]["auditTrail"]["edges"]
    changes = [c for e in trail if e["node"]["operation"] == "setRoutingPolicy" for c in e["node"]["changes"]]
    assert {"record": "RoutingPolicy", "field": "max_split", "after": "1"} in changes


async def test_another_replica_routes_by_the_new_policy_without_a_restart(
    client: httpx.AsyncClient, services: Services, other_services: Services
) -> None:
    admin = Principal("admin-test", Role.ADMIN)
    assert (await network.routing_policy(other_services, admin)).max_split == 2
    await execute(client, SET, {"input": {"weights": WEIGHTS, "maxSplit": 3}}, token=ADMIN)
    assert (await network.routing_policy(other_services, admin)).max_split == 3


async def test_only_admins_set_it_and_nonsense_is_refused(client: httpx.AsyncClient) -> None:
    by_agent = await execute(client, SET, {"input": {"weights": WEIGHTS, "maxSplit": 1}}, token=AGENT)
    nonsense = await execute(
        client,
        SET,
        {
            "input": {
                "weights": {"distance": -1, "cost": 0, "capacity": 0, "priority": 0},
                "maxSplit": 0,
                "splitLimits": [{"channel": " ", "limit": 99}],
            }
        },
        token=ADMIN,
    )
    zeros = await execute(
        client, SET, {"input": {"weights": dict.fromkeys(WEIGHTS, 0), "maxSplit": 2}}, token=ADMIN
    )

    assert by_agent["data"]["setRoutingPolicy"]["userErrors"] == [{"code": "FORBIDDEN", "field": None}]
    assert nonsense["data"]["setRoutingPolicy"]["userErrors"] == [
        {"code": "INVALID_WEIGHT", "field": ["input", "weights", "distance"]},
        {"code": "INVALID_SPLIT_LIMIT", "field": ["input", "maxSplit"]},
        {"code": "INVALID_SPLIT_LIMIT", "field": ["input", "splitLimits", "0"]},
    ]
    assert [e["code"] for e in zeros["data"]["setRoutingPolicy"]["userErrors"]] == ["INVALID_WEIGHT"]
    assert (await execute(client, READ, token=AGENT))["data"]["routingPolicy"]["version"] == 0
    customer = await execute(client, READ, token=a_token("customer"))
    assert customer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
