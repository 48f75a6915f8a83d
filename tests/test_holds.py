"""Holding and releasing orders: the lifecycle table at work, with events and idempotency."""

from __future__ import annotations

from typing import Any

import httpx

from tests.builders import a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import execute

AGENT = a_token("agent")
HOLD = """mutation($input: HoldOrderInput!) {
  holdOrder(input: $input) {
    order { status holds { reason note placedBy } }
    userErrors { code field message }
  }
}"""
RELEASE = """mutation($input: ReleaseOrderHoldInput!) {
  releaseOrderHold(input: $input) { order { status holds { reason } } userErrors { code field message } }
}"""


async def an_order(client: httpx.AsyncClient) -> str:
    body = await execute(client, operation("PlaceOrder"), {"input": an_order_input()}, token=AGENT)
    order_id: str = body["data"]["placeOrder"]["order"]["id"]
    return order_id


async def hold(client: httpx.AsyncClient, **input: Any) -> dict[str, Any]:
    payload: dict[str, Any] = (await execute(client, HOLD, {"input": input}, token=AGENT))["data"][
        "holdOrder"
    ]
    return payload


async def release(client: httpx.AsyncClient, **input: Any) -> dict[str, Any]:
    body = await execute(client, RELEASE, {"input": input}, token=AGENT)
    payload: dict[str, Any] = body["data"]["releaseOrderHold"]
    return payload


async def test_a_held_order_is_on_hold_with_its_reason(client: httpx.AsyncClient) -> None:
    order_id = await an_order(client)

    payload = await hold(client, orderId=order_id, reason="INCORRECT_ADDRESS", note="unit number missing")

    assert payload["userErrors"] == []
    assert payload["order"]["status"] == "ON_HOLD"
    assert payload["order"]["holds"] == [
        {"reason": "INCORRECT_ADDRESS", "note": "unit number missing", "placedBy": "agent-test"}
    ]


async def test_an_order_stays_on_hold_until_its_last_hold_is_released(client: httpx.AsyncClient) -> None:
    order_id = await an_order(client)
    await hold(client, orderId=order_id, reason="INCORRECT_ADDRESS")
    await hold(client, orderId=order_id, reason="HIGH_RISK_OF_FRAUD")

    partly = await release(client, orderId=order_id, reason="INCORRECT_ADDRESS")
    fully = await release(client, orderId=order_id)

    assert partly["order"]["status"] == "ON_HOLD"
    assert partly["order"]["holds"] == [{"reason": "HIGH_RISK_OF_FRAUD"}]
    assert fully["order"] == {"status": "CONFIRMED", "holds": []}  # back to where it was


async def test_holds_and_releases_appear_on_the_timeline(client: httpx.AsyncClient) -> None:
    order_id = await an_order(client)
    await hold(client, orderId=order_id, reason="OTHER")
    await release(client, orderId=order_id)

    body = await execute(client, operation("OrderTracking"), {"id": order_id}, token=AGENT)

    timeline = body["data"]["order"]["timeline"]
    assert [entry["type"] for entry in timeline] == [
        "ORDER_PLACED",
        "ORDER_CONFIRMED",
        "FULFILLMENT_OPENED",  # staff see the work reach a node; customers do not
        "ORDER_HELD",
        "ORDER_RELEASED",
    ]
    assert all(entry["message"] for entry in timeline)


async def test_releasing_an_order_that_is_not_held_is_an_invalid_transition(
    client: httpx.AsyncClient,
) -> None:
    order_id = await an_order(client)

    payload = await release(client, orderId=order_id)

    assert payload["order"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_TRANSITION", ["input", "orderId"])
    ]


async def test_releasing_a_reason_the_order_is_not_held_for_is_refused(client: httpx.AsyncClient) -> None:
    order_id = await an_order(client)
    await hold(client, orderId=order_id, reason="OTHER")

    payload = await release(client, orderId=order_id, reason="AWAITING_PAYMENT")

    assert [e["code"] for e in payload["userErrors"]] == ["INVALID_TRANSITION"]


async def test_holding_an_unknown_order_is_not_found(client: httpx.AsyncClient) -> None:
    payload = await hold(client, orderId="no-such-order", reason="OTHER")

    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("NOT_FOUND", ["input", "orderId"])]


async def test_a_repeated_hold_key_places_one_hold(client: httpx.AsyncClient) -> None:
    order_id = await an_order(client)
    first = await hold(client, orderId=order_id, reason="OTHER", idempotencyKey="hold-1")
    again = await hold(client, orderId=order_id, reason="OTHER", idempotencyKey="hold-1")
    reused = await hold(client, orderId=order_id, reason="AWAITING_PAYMENT", idempotencyKey="hold-1")

    assert first["order"]["holds"] == again["order"]["holds"]
    assert len(again["order"]["holds"]) == 1
    assert [e["code"] for e in reused["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"]


async def test_an_overlong_note_is_refused(client: httpx.AsyncClient) -> None:
    order_id = await an_order(client)

    payload = await hold(client, orderId=order_id, reason="OTHER", note="x" * 1001)

    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("TOO_LONG", ["input", "note"])]
