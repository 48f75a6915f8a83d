"""Multi-step journeys several tests take, written once."""

from __future__ import annotations

from typing import Any

import httpx

from tests.builders import a_token
from tests.contract import operation
from tests.graphql_client import execute


def agent() -> str:
    """An agent's token, minted when it is sent: valid on whatever calendar the caller's clock
    keeps (a walk's runs on `simulation.WALK_STARTS`)."""
    return a_token("agent")


APPROVE = "mutation($id: ID!) { approveReturn(input: {returnId: $id}) { orderReturn { lines { id } } } }"
RETURN_LINES = "query($id: ID!) { order(id: $id) { returns { id lines { id } } } }"
RECEIVE = """mutation($input: ReceiveReturnInput!) {
  receiveReturn(input: $input) { orderReturn { status } userErrors { code } }
}"""


async def send_back(
    client: httpx.AsyncClient,
    order_id: str,
    line_id: str,
    location_id: str,
    *,
    quantity: int = 1,
    disposition: str = "RESTOCK",
    receiver: str | None = None,
) -> dict[str, Any]:
    """A return the whole way: requested (contract `StartReturn`) and approved by an agent, then
    received at `location_id` by `receiver`; the `receiveReturn` payload."""
    return_id, lines = await ask_back(client, order_id, line_id, quantity=quantity)
    return await receive_back(
        client, return_id, lines, location_id, disposition=disposition, receiver=receiver
    )


async def ask_back(
    client: httpx.AsyncClient, order_id: str, line_id: str, *, quantity: int = 1, approve: bool = True
) -> tuple[str, list[str]]:
    """A return requested (contract `StartReturn`) and approved by an agent (unless not to be:
    the items handed in at a counter before a decision): its id and lines."""
    asked = await execute(
        client,
        operation("StartReturn"),
        {
            "input": {
                "orderId": order_id,
                "lines": [{"lineId": line_id, "quantity": quantity, "reason": "spare"}],
            }
        },
        token=agent(),
    )
    assert asked["data"]["requestReturn"]["userErrors"] == [], asked
    return_id: str = asked["data"]["requestReturn"]["orderReturn"]["id"]
    if not approve:
        found = await execute(client, RETURN_LINES, {"id": order_id}, token=agent())
        [lines] = [r["lines"] for r in found["data"]["order"]["returns"] if r["id"] == return_id]
        return return_id, [line["id"] for line in lines]
    approved = await execute(client, APPROVE, {"id": return_id}, token=agent())
    return return_id, [line["id"] for line in approved["data"]["approveReturn"]["orderReturn"]["lines"]]


async def receive_back(
    client: httpx.AsyncClient,
    return_id: str,
    lines: list[str],
    location_id: str,
    *,
    disposition: str = "RESTOCK",
    receiver: str | None = None,
) -> dict[str, Any]:
    """An approved return's `lines` received at `location_id`; the `receiveReturn` payload."""
    received = await execute(
        client,
        RECEIVE,
        {
            "input": {
                "returnId": return_id,
                "locationId": location_id,
                "lines": [{"lineId": line, "disposition": disposition} for line in lines],
            }
        },
        token=receiver or agent(),
    )
    payload: dict[str, Any] = received["data"]["receiveReturn"]
    return payload
