"""Lines split across nodes when no one node holds the quantity, within the channel's split limit;
beyond it, a refusal of its own that says what would work."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx

from ordergate.usecases.services import Services
from tests.builders import a_line, a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import execute

AGENT = a_token("agent")


async def place(client: httpx.AsyncClient, quantity: int) -> dict[str, Any]:
    body = await execute(
        client,
        operation("PlaceOrder"),
        {"input": an_order_input(lines=[a_line("MUG-BLUE", quantity)])},
        token=AGENT,
    )
    payload: dict[str, Any] = body["data"]["placeOrder"]
    return payload


def shares(payload: dict[str, Any]) -> list[tuple[str, int]]:
    return sorted(
        (fo["location"]["code"], sum(line["quantity"] for line in fo["lines"]))
        for fo in payload["order"]["fulfillmentOrders"]
    )


async def allocated(services: Services) -> int:
    async with services.store.read() as uow:
        return sum(p.allocated for p in await uow.inventory.positions(["MUG-BLUE"]))


async def test_a_line_bigger_than_any_node_holds_ships_from_two(
    client: httpx.AsyncClient, services: Services
) -> None:
    placed = await place(client, 400)  # DC-EWR has 240, DC-ONT 210, DC-DFW 180

    assert placed["userErrors"] == []
    split = shares(placed)
    assert len(split) == 2
    assert sum(units for _, units in split) == 400
    assert all(units <= 240 for _, units in split)
    assert await allocated(services) == 400


async def test_beyond_the_split_limit_the_refusal_says_what_would_work(
    client: httpx.AsyncClient, services: Services
) -> None:
    refused = await place(client, 500)  # no two nodes hold 500; three do

    [error] = refused["userErrors"]
    assert error["code"] == "SPLIT_LIMIT_EXCEEDED"
    assert "3 locations" in error["message"]
    assert "at most 2" in error["message"]
    assert error["field"] == ["input", "lines"]
    assert await allocated(services) == 0

    services.policy = dataclasses.replace(services.policy, split_limits={"web": 3})
    allowed = await place(client, 500)
    assert allowed["userErrors"] == []
    assert len(shares(allowed)) == 3
    assert sum(units for _, units in shares(allowed)) == 500


async def test_more_than_the_network_holds_is_still_insufficient_stock(client: httpx.AsyncClient) -> None:
    refused = await place(client, 999)

    assert [e["code"] for e in refused["userErrors"]] == ["INSUFFICIENT_STOCK"]
