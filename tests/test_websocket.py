"""Subscriptions end to end: a real gateway process, the `gql` client over both WebSocket
protocols, and mutations over HTTP that the subscriptions must report."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from gql.transport.exceptions import TransportConnectionFailed, TransportQueryError, TransportServerError
from gql.transport.websockets import WebsocketsTransport
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from ordergate.models.pagination import encode_cursor
from ordergate.settings import Settings
from tests.builders import a_token
from tests.server import (
    DEADLINE,
    PROMPT,
    Gateway,
    bearer,
    gateway,
    hold,
    http_client,
    live_orders,
    order_updates,
    place_order,
    release,
    strictly_increasing,
    ws_session,
)

pytestmark = pytest.mark.server

INIT_TIMEOUT_SECONDS = 2
LEGACY = WebsocketsTransport.APOLLO_SUBPROTOCOL  # "graphql-ws" (subscriptions-transport-ws)
MODERN = WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL  # "graphql-transport-ws" (the graphql-ws library)
PROTOCOLS = [pytest.param(LEGACY, id=LEGACY), pytest.param(MODERN, id=MODERN)]
ANN, BOB = "ann@example.com", "bob@example.com"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """One gateway (SQLite, in-process broker) for the module: every test uses its own orders."""
    directory = tmp_path_factory.mktemp("websocket")
    with gateway(directory, env={"ORDERGATE_WS_INIT_TIMEOUT_SECONDS": str(INIT_TIMEOUT_SECONDS)}) as running:
        yield running


@pytest.fixture
async def http(server: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(server) as client:
        yield client


def codes(error: TransportQueryError) -> list[str]:
    return [(e.get("extensions") or {}).get("code", "") for e in error.errors or []]


def close_code(error: BaseException) -> int | None:
    """The WebSocket close code behind a gql transport error, if it carries one."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ConnectionClosed) and seen.rcvd is not None:
            return seen.rcvd.code
        seen = seen.__cause__ or seen.__context__
    return None


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_the_owner_sees_the_hold_and_the_release_of_their_order(
    server: Gateway, http: httpx.AsyncClient, protocol: str
) -> None:
    order = await place_order(http, ANN)

    async with (
        ws_session(server, protocol, bearer(a_token("customer", email=ANN))) as session,
        order_updates(session, order["id"]) as updates,
    ):
        placed, confirmed = await updates.next(), await updates.next()
        await hold(http, order["id"])
        held = await updates.next(PROMPT)
        await release(http, order["id"])
        released = await updates.next(PROMPT)
        await updates.nothing_more()

    assert [placed["type"], confirmed["type"], held["type"], released["type"]] == [
        "ORDER_PLACED",
        "ORDER_CONFIRMED",
        "ORDER_HELD",
        "ORDER_RELEASED",
    ]
    assert held["order"] == {
        "id": order["id"],
        "status": "ON_HOLD",
        "fulfillmentStatus": order["fulfillmentStatus"],
    }
    assert released["order"]["id"] == order["id"]
    assert released["order"]["status"] == "CONFIRMED"
    assert strictly_increasing([placed, confirmed, held, released])
    assert all(e["occurredAt"] for e in (placed, held, released))


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_subscription_after_a_cursor_replays_the_later_events_once_then_follows_live(
    server: Gateway, http: httpx.AsyncClient, protocol: str
) -> None:
    order = await place_order(http, ANN)

    async with ws_session(server, protocol, bearer(a_token("customer", email=ANN))) as session:
        async with order_updates(session, order["id"]) as first:
            placed = await first.next()
            assert (await first.next())["type"] == "ORDER_CONFIRMED"
            await hold(http, order["id"])
            held = await first.next(PROMPT)
        await release(http, order["id"])  # while nobody follows the order

        async with order_updates(session, order["id"], after=placed["cursor"]) as resumed:
            replayed = [await resumed.next(), await resumed.next(), await resumed.next()]
            await hold(http, order["id"])
            live = await resumed.next(PROMPT)
            await resumed.nothing_more()

    assert placed["type"] == "ORDER_PLACED"
    assert [e["type"] for e in replayed] == ["ORDER_CONFIRMED", "ORDER_HELD", "ORDER_RELEASED"]
    assert replayed[1]["cursor"] == held["cursor"]
    assert (live["type"], live["order"]["status"]) == ("ORDER_HELD", "ON_HOLD")
    assert strictly_increasing([placed, *replayed, live])


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_admin_on_the_firehose_sees_every_new_order(
    server: Gateway, http: httpx.AsyncClient, protocol: str
) -> None:
    earlier = await place_order(http, ANN)

    async with (
        ws_session(server, protocol, bearer(a_token("admin"))) as session,
        live_orders(session) as firehose,
    ):
        # The replay reaches the order placed before subscribing: the firehose is live.
        replayed = await firehose.until(earlier["id"], "ORDER_CONFIRMED")
        newer = await place_order(http, BOB)
        event = await firehose.next(PROMPT)

    assert (event["type"], event["order"]) == (
        "ORDER_PLACED",
        {"id": newer["id"], "number": newer["number"], "status": "CONFIRMED"},  # the order as it is now
    )
    assert strictly_increasing([*replayed, event])


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_customer_may_not_follow_the_firehose(server: Gateway, protocol: str) -> None:
    async with (
        ws_session(server, protocol, bearer(a_token("customer", email=ANN))) as session,
        live_orders(session) as firehose,
    ):
        with pytest.raises(TransportQueryError) as refused:
            await firehose.next()

    assert codes(refused.value) == ["FORBIDDEN"]
    assert not refused.value.data


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    "init_payload",
    [
        pytest.param({}, id="no-token"),
        pytest.param(
            bearer(a_token("admin", settings=Settings(jwt_secret="forged-" * 8))), id="forged-token"
        ),
        pytest.param(bearer("not-a-jwt"), id="malformed-token"),
        pytest.param(
            bearer(a_token("admin", now=datetime.now(UTC) - timedelta(days=1), ttl_seconds=60)),
            id="expired-token",
        ),
    ],
)
async def test_a_connection_without_a_valid_token_is_rejected(
    server: Gateway, protocol: str, init_payload: dict[str, Any]
) -> None:
    with pytest.raises((TransportServerError, TransportConnectionFailed)) as rejected:
        async with ws_session(server, protocol, init_payload):
            pass

    if protocol == LEGACY:
        # graphql-ws answers connection_init with connection_error, and the reason.
        assert isinstance(rejected.value, TransportServerError)
        assert "UNAUTHENTICATED" in str(rejected.value)
    else:
        # graphql-transport-ws closes the socket with 4403 Forbidden.
        assert isinstance(rejected.value, TransportConnectionFailed)
        assert close_code(rejected.value) == 4403, repr(rejected.value)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_customer_cannot_follow_another_customers_order(
    server: Gateway, http: httpx.AsyncClient, protocol: str
) -> None:
    anns = await place_order(http, ANN)

    async with (
        ws_session(server, protocol, bearer(a_token("customer", email=BOB))) as session,
        order_updates(session, anns["id"]) as updates,
    ):
        with pytest.raises(TransportQueryError) as refused:
            await updates.next()

    assert codes(refused.value) == ["NOT_FOUND"]
    assert not refused.value.data


async def test_a_connection_that_never_initialises_is_closed_with_4408(server: Gateway) -> None:
    started = time.monotonic()
    async with connect(
        server.ws_url, subprotocols=[Subprotocol(MODERN)], open_timeout=DEADLINE, close_timeout=DEADLINE
    ) as websocket:
        assert websocket.subprotocol == MODERN
        try:
            message = await asyncio.wait_for(websocket.recv(), DEADLINE)
        except ConnectionClosed as error:
            closed = error
        else:
            pytest.fail(f"the server sent {message!r} instead of closing")
    waited = time.monotonic() - started

    assert closed.rcvd is not None
    assert closed.rcvd.code == 4408
    assert INIT_TIMEOUT_SECONDS - 0.5 <= waited < DEADLINE


async def test_a_legacy_connection_that_never_initialises_is_closed(server: Gateway) -> None:
    async with connect(
        server.ws_url, subprotocols=[Subprotocol(LEGACY)], open_timeout=DEADLINE, close_timeout=DEADLINE
    ) as websocket:
        assert websocket.subprotocol == LEGACY
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(websocket.recv(), INIT_TIMEOUT_SECONDS + 2)

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4408


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_cursor_ahead_of_the_log_is_refused(server: Gateway, protocol: str) -> None:
    async with (
        ws_session(server, protocol, bearer(a_token("admin"))) as session,
        live_orders(session, after=encode_cursor(10**9)) as firehose,
    ):
        with pytest.raises(TransportQueryError) as refused:
            await firehose.next()

    assert codes(refused.value) == ["INVALID_CURSOR"]
