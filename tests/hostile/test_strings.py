"""Hostile strings against a real gateway process, on SQLite and on PostgreSQL: a NUL, an
unpaired surrogate and a 100,000-character return reason, and malformed federation
representations, are coded errors (never INTERNAL, never a traceback in the log), and a trivial
query sent alongside them is answered."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport

from tests.builders import a_line, a_token
from tests.server import (
    DEADLINE,
    Gateway,
    bearer,
    feed,
    fresh_postgres_database,
    gateway,
    http_client,
    ws_session,
)
from tests.services import require_postgres
from tests.test_returns import line_id, shipped_order

pytestmark = pytest.mark.server

AGENT = a_token("agent")
REQUEST_RETURN = """mutation($input: RequestReturnInput!) {
  requestReturn(input: $input) { orderReturn { id } userErrors { code field message } }
}"""
ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }"


@pytest_asyncio.fixture(
    scope="module",
    loop_scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
async def database_url(request: pytest.FixtureRequest) -> AsyncIterator[str | None]:
    """None: the gateway makes its own SQLite file; otherwise a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    require_postgres()
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture(scope="module")
def server(database_url: str | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with gateway(tmp_path_factory.mktemp("strings"), database_url=database_url) as running:
        yield running


async def send(http: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """JSON with `\\u` escapes, as a hostile client may write it (an unpaired surrogate too)."""
    response = await http.post(
        "/graphql",
        content=json.dumps({"query": query, "variables": variables}),
        headers={"content-type": "application/json", "authorization": f"Bearer {AGENT}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def codes(body: dict[str, Any]) -> list[str]:
    payload = next(iter((body.get("data") or {}).values()), None)
    user = [e["code"] for e in payload["userErrors"]] if isinstance(payload, dict) else []
    return user + [(e.get("extensions") or {}).get("code", "") for e in body.get("errors") or []]


def no_traceback(server: Gateway) -> None:
    log = server.log_path.read_text(errors="replace")
    assert "Traceback" not in log
    assert "INTERNAL" not in log


async def test_hostile_text_is_refused_with_codes_while_a_trivial_query_is_answered(server: Gateway) -> None:
    async with http_client(server) as http:
        order = await shipped_order(http, [a_line("MUG-BLUE", 2)])  # returnable: the reason is read
        line = line_id(order, "MUG-BLUE")

        def reason(text: str) -> dict[str, Any]:
            return {
                "input": {"orderId": order["id"], "lines": [{"lineId": line, "quantity": 1, "reason": text}]}
            }

        nul, surrogate, huge, entities, trivial = await asyncio.gather(
            send(http, REQUEST_RETURN, reason("broken\x00")),
            send(http, REQUEST_RETURN, reason("broken\ud800")),
            send(http, REQUEST_RETURN, reason("x" * 100_000)),
            send(
                http,
                ENTITIES,
                {
                    "r": [
                        7,
                        {"__typename": "Order"},
                        {"__typename": "Order", "id": {"nested": 1}},
                        {"__typename": "Order", "id": "a\x00"},
                    ]
                },
            ),
            send(http, "{ __typename }", {}),
        )

    assert codes(nul) == ["INVALID_CHARACTERS"]
    assert codes(surrogate) == ["INVALID_CHARACTERS"]
    assert codes(huge) == ["TOO_LONG"]
    assert "at most 500 characters" in huge["data"]["requestReturn"]["userErrors"][0]["message"]
    assert nul["data"]["requestReturn"]["userErrors"][0]["field"] == ["input", "lines", "0", "reason"]
    assert entities["data"] == {"_entities": [None, None, None, None]}
    assert codes(entities) == ["INVALID_REPRESENTATION"] * 4
    assert trivial["data"] == {"__typename": "Query"}
    no_traceback(server)


async def test_a_subscription_with_unstorable_arguments_is_refused_with_a_code(server: Gateway) -> None:
    document = "subscription($skus: [String!]!) { availabilityChanged(skus: $skus) { sku } }"
    events = "subscription($id: ID) { orderEvents(orderId: $id) { type } }"
    protocol = WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL

    async with ws_session(server, protocol, bearer(a_token("admin"))) as session:
        async with feed(session, document, {"skus": ["MUG-BLUE\x00"]}) as stock:
            with pytest.raises(TransportQueryError) as bad_sku:
                await stock.next(DEADLINE)
        async with feed(session, events, {"id": "x" * 100_000}) as orders:
            with pytest.raises(TransportQueryError) as bad_id:
                await orders.next(DEADLINE)

    assert [(e.get("extensions") or {}).get("code") for e in bad_sku.value.errors or []] == [
        "INVALID_CHARACTERS"
    ]
    assert [(e.get("extensions") or {}).get("code") for e in bad_id.value.errors or []] == ["NOT_FOUND"]
    no_traceback(server)
