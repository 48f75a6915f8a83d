"""The audit trail (issue 19, item 3): every state-changing request leaves who, what, when, from
which request and each field's before and after, in the same transaction, append-only, read by
order, actor and time by agents and admins, and never by customers."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa

from ordergate.bootstrap import Sandboxes
from ordergate.models.audit import REDACTED, audit_value
from ordergate.models.order import OrderStatus
from ordergate.usecases.services import Services
from tests.builders import a_line, a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import execute
from tests.test_fulfillment import DALLAS

AGENT = a_token("agent")
ANN = a_token("customer", email="ann@example.com")
AUDIT = """query($id: ID!) { order(id: $id) { audit { operation actor role requestId
  changes { record field before after } } } }"""
TRAIL = """query($orderId: ID, $actor: String, $since: DateTime, $until: DateTime, $first: Int = 50,
  $after: String) {
  auditTrail(orderId: $orderId, actor: $actor, since: $since, until: $until, first: $first, after: $after) {
    edges { node { operation actor requestId orderId } } pageInfo { hasNextPage endCursor } } }"""
HOLD = """mutation($id: ID!) { holdOrder(input: {orderId: $id, reason: OTHER, note: "check id"}) {
  order { status } userErrors { code } } }"""


async def call(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str, request_id: str
) -> dict[str, Any]:
    body = await execute(client, query, variables, token=token, headers={"X-Request-ID": request_id})
    assert "errors" not in body, body
    payload: dict[str, Any] = next(iter(body["data"].values()))
    assert payload.get("userErrors", []) == [], payload
    return payload


async def test_a_change_says_who_what_when_and_each_field(client: httpx.AsyncClient) -> None:
    order = (await call(client, operation("PlaceOrder"), {"input": an_order_input()}, AGENT, "req-place"))[
        "order"
    ]

    await call(client, HOLD, {"id": order["id"]}, AGENT, "req-hold")

    trail = (await execute(client, AUDIT, {"id": order["id"]}, token=AGENT))["data"]["order"]["audit"]
    [hold] = [entry for entry in trail if entry["requestId"] == "req-hold"]
    assert (hold["operation"], hold["actor"], hold["role"]) == ("holdOrder", "agent-test", "agent")
    status = [c for c in hold["changes"] if (c["record"], c["field"]) == ("Order", "status")]
    assert status == [{"record": "Order", "field": "status", "before": '"CONFIRMED"', "after": '"ON_HOLD"'}]
    assert {"record": "OrderHold", "field": "note", "before": None, "after": '"check id"'} in hold["changes"]
    placed = [entry for entry in trail if entry["requestId"] == "req-place"]
    assert [entry["operation"] for entry in placed] == ["placeOrder"]
    assert any(c["record"] == "OrderLine" and c["field"] == "sku" for c in placed[0]["changes"])


async def test_every_contract_mutation_leaves_one_record(client: httpx.AsyncClient) -> None:
    sent: list[tuple[str, str]] = []

    async def step(name: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
        request_id = f"req-{len(sent)}-{name}"
        sent.append((request_id, name))
        return await call(client, operation(name), variables, token, request_id)

    order = (await step("PlaceOrder", {"input": an_order_input(lines=[a_line("MUG-BLUE", 2)])}, ANN))["order"]
    fo_id = order["fulfillmentOrders"][0]["id"]
    for name in ("Accept", "StartPicking", "Pack"):
        await step(name, {"id": fo_id}, DALLAS)
    await step("Ship", {"input": {"fulfillmentOrderId": fo_id}}, DALLAS)

    trail = (await execute(client, TRAIL, {"orderId": order["id"]}, token=AGENT))["data"]["auditTrail"][
        "edges"
    ]
    per_request = Counter(edge["node"]["requestId"] for edge in trail)
    assert {request_id: per_request[request_id] for request_id, _ in sent} == {
        request_id: 1 for request_id, _ in sent
    }
    assert all(edge["node"]["orderId"] == order["id"] for edge in trail)


async def test_a_refused_change_leaves_nothing(client: httpx.AsyncClient) -> None:
    order = (await call(client, operation("PlaceOrder"), {"input": an_order_input()}, AGENT, "req-a"))[
        "order"
    ]
    refused = await execute(
        client,
        operation("Accept"),
        {"id": order["fulfillmentOrders"][0]["id"]},
        token=a_token("associate", locations=("ST-CHI",)),
        headers={"X-Request-ID": "req-refused"},
    )
    assert refused["data"]["acceptFulfillmentOrder"]["userErrors"]

    trail = (await execute(client, TRAIL, {"orderId": order["id"]}, token=AGENT))["data"]["auditTrail"][
        "edges"
    ]
    assert [edge["node"]["requestId"] for edge in trail] == ["req-a"]


async def test_the_trail_by_actor_and_time_pages_newest_first(client: httpx.AsyncClient) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    for index in range(3):
        await call(client, operation("PlaceOrder"), {"input": an_order_input()}, AGENT, f"req-{index}")
    await call(client, operation("PlaceOrder"), {"input": an_order_input()}, ANN, "req-ann")

    first = (
        await execute(
            client, TRAIL, {"actor": "agent-test", "since": before.isoformat(), "first": 2}, token=AGENT
        )
    )["data"]["auditTrail"]
    rest = (
        await execute(
            client,
            TRAIL,
            {"actor": "agent-test", "since": before.isoformat(), "after": first["pageInfo"]["endCursor"]},
            token=AGENT,
        )
    )["data"]["auditTrail"]
    later = (
        await execute(
            client, TRAIL, {"since": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()}, token=AGENT
        )
    )["data"]["auditTrail"]

    ids = [edge["node"]["requestId"] for edge in first["edges"] + rest["edges"]]
    assert ids == ["req-2", "req-1", "req-0"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert later["edges"] == []


async def test_customers_never_read_the_trail(client: httpx.AsyncClient) -> None:
    order = (await call(client, operation("PlaceOrder"), {"input": an_order_input()}, ANN, "req-x"))["order"]

    own = await execute(client, AUDIT, {"id": order["id"]}, token=ANN)
    trail = await execute(client, TRAIL, {"orderId": order["id"]}, token=ANN)
    associate = await execute(client, TRAIL, {}, token=DALLAS)

    assert own["data"]["order"]["audit"] == []
    assert trail["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert associate["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_the_trail_is_append_only(client: httpx.AsyncClient, services: Services) -> None:
    await call(client, operation("PlaceOrder"), {"input": an_order_input()}, AGENT, "req-kept")
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            async with services.store.write() as uow:
                await uow.session.execute(sa.text(statement))
    async with services.store.read() as uow:
        kept = (await uow.session.execute(sa.text("SELECT actor FROM audit_log"))).scalars().all()
    assert kept == ["agent-test"]


def test_values_are_kept_as_json_with_secrets_redacted() -> None:
    assert audit_value("status", OrderStatus.ON_HOLD) == "ON_HOLD"
    assert audit_value("total", Decimal("10.50")) == "10.50"
    assert audit_value("secret", "whsec_abc") == REDACTED
    assert audit_value("webhook_secret", "abc") == REDACTED
    assert audit_value("at", datetime(2026, 12, 4, tzinfo=UTC)) == "2026-12-04T00:00:00+00:00"
    assert len(audit_value("note", "x" * 5000)) == 500
    json.dumps([audit_value("q", 3), audit_value("ok", True)])


async def test_upstreams_and_the_status_page_are_actors_too(
    client: httpx.AsyncClient, sandboxes: Sandboxes
) -> None:
    order = (
        await call(
            client,
            operation("PlaceOrder"),
            {"input": an_order_input(lines=[a_line("MUG-BLUE", 1)])},
            ANN,
            "r1",
        )
    )["order"]
    fo_id = order["fulfillmentOrders"][0]["id"]
    for name in ("Accept", "StartPicking", "Pack"):
        await call(client, operation(name), {"id": fo_id}, DALLAS, f"r-{name}")
    await call(client, operation("Ship"), {"input": {"fulfillmentOrderId": fo_id}}, DALLAS, "r-ship")
    assert sandboxes.shipengine is not None
    await sandboxes.shipengine.advance(time.time() + 31)
    link = await execute(
        client, "query($id: ID!) { order(id: $id) { statusPageUrl } }", {"id": order["id"]}, token=ANN
    )
    path = urlsplit(link["data"]["order"]["statusPageUrl"])
    page = (await client.get(f"{path.path}?{path.query}")).text
    [field] = re.findall(r'name="(qty-[^"]+)"', page)
    returned = await client.post(f"{path.path}/returns?{path.query}", data={field: "1", "reason": "Other"})
    assert returned.status_code == 303

    trail = (await execute(client, TRAIL, {"orderId": order["id"]}, token=AGENT))["data"]["auditTrail"][
        "edges"
    ]
    actors = {(edge["node"]["operation"], edge["node"]["actor"]) for edge in trail}
    assert ("webhook:shipengine", "shipengine") in actors
    assert ("statusPage:requestReturn", "ann@example.com") in actors
