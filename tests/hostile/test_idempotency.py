"""A reused idempotency key against a real gateway process, on SQLite and PostgreSQL: the
repeat with a changed body is refused with its code while the server keeps answering, and the
first order's payment is untouched: it ships, and the relay captures it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.builders import an_order_input
from tests.contract import operation
from tests.graphql_client import execute
from tests.server import DEADLINE, Gateway, fresh_postgres_database, gateway, http_client
from tests.services import require_postgres
from tests.test_payments_flow import AGENT, ship

pytestmark = pytest.mark.server

LEDGER = "query($id: ID!) { order(id: $id) { paymentStatus payments { kind status } } }"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def server(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Gateway]:
    if request.param == "sqlite":
        with gateway(tmp_path) as running:
            yield running
        return
    require_postgres()
    async with fresh_postgres_database() as url:
        with gateway(tmp_path, database_url=url) as running:
            yield running


async def place(http: httpx.AsyncClient, order: dict[str, Any]) -> dict[str, Any]:
    body = await execute(http, operation("PlaceOrder"), {"input": order}, token=AGENT)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["placeOrder"]
    return payload


async def settled(http: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    """The order once the relay has captured it, or as it is after DEADLINE seconds."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + DEADLINE
    while True:
        order: dict[str, Any] = (await execute(http, LEDGER, {"id": order_id}, token=AGENT))["data"]["order"]
        if order["paymentStatus"] == "PAID" or loop.time() > give_up:
            return order
        await asyncio.sleep(0.1)


async def test_a_key_reused_with_a_changed_body_is_refused_and_the_first_order_still_ships_and_captures(
    server: Gateway,
) -> None:
    order = an_order_input(payment={"provider": "sandbox", "token": "tok_visa"}, externalReference="PO-1")
    async with http_client(server) as http:
        first = await place(http, order)

        reused, typename = await asyncio.gather(
            place(http, {**order, "externalReference": "PO-2"}),
            execute(http, "{ __typename }", token=AGENT),
        )
        await ship(http, first["order"])
        captured = await settled(http, first["order"]["id"])

    assert first["userErrors"] == []
    assert reused["order"] is None
    assert [(e["code"], e["field"]) for e in reused["userErrors"]] == [
        ("IDEMPOTENCY_KEY_REUSED", ["input", "idempotencyKey"])
    ]
    assert typename["data"] == {"__typename": "Query"}
    assert captured["paymentStatus"] == "PAID"
    assert [(p["kind"], p["status"]) for p in captured["payments"]] == [
        ("AUTHORIZATION", "SUCCEEDED"),
        ("CAPTURE", "SUCCEEDED"),
    ]
