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
from tests.contract import operation
from tests.graphql_client import execute
from tests.server import (
    BEGINNING,
    DEADLINE,
    PROMPT,
    Gateway,
    bearer,
    feed,
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

    assert [e["type"] for e in (placed, confirmed, held, released)] == [
        "ORDER_PLACED",
        "ORDER_CONFIRMED",
        "ORDER_HELD",  # not FULFILLMENT_OPENED before it: staff-only, as on the timeline
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
            replayed = [await resumed.next() for _ in range(3)]
            await hold(http, order["id"])
            live = await resumed.next(PROMPT)
            await resumed.nothing_more()

    assert placed["type"] == "ORDER_PLACED"
    assert [e["type"] for e in replayed] == ["ORDER_CONFIRMED", "ORDER_HELD", "ORDER_RELEASED"]
    assert replayed[1]["cursor"] == held["cursor"]
    assert (live["type"], live["order"]["status"]) == ("ORDER_HELD", "ON_HOLD")
    assert strictly_increasing([placed, *replayed, live])


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_customer_s_stream_leaves_out_the_staff_only_events_an_agent_s_carries(
    server: Gateway, http: httpx.AsyncClient, protocol: str
) -> None:
    order = await place_order(http, ANN)

    async with (
        ws_session(server, protocol, bearer(a_token("customer", email=ANN))) as mine,
        ws_session(server, protocol, bearer(a_token("agent"))) as staff,
        order_updates(mine, order["id"]) as customer,
        order_updates(staff, order["id"]) as agent,
    ):
        replayed = [await customer.next(), await customer.next()]  # from the log
        await agent.until(order["id"], "FULFILLMENT_OPENED")
        await cancel_as(http, ANN, order["id"])
        customer_live = await customer.until(order["id"], "ORDER_CANCELLED")  # from the hub
        agent_live = await agent.until(order["id"], "ORDER_CANCELLED")

    assert [e["type"] for e in replayed + customer_live] == [
        "ORDER_PLACED",
        "ORDER_CONFIRMED",
        "ORDER_CANCELLED",
    ]
    assert [e["type"] for e in agent_live] == ["FULFILLMENT_CANCELLED", "ORDER_CANCELLED"]
    assert customer_live[-1]["cursor"] == agent_live[-1]["cursor"]


async def cancel_as(http: httpx.AsyncClient, email: str, order_id: str) -> None:
    variables = {"input": {"orderId": order_id, "reason": "CUSTOMER"}}
    body = await execute(http, operation("CancelMyOrder"), variables, token=a_token("customer", email=email))
    assert body["data"]["cancelOrder"]["userErrors"] == [], body


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
        replayed = await firehose.until(earlier["id"], "FULFILLMENT_OPENED")
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


async def location_id(http: httpx.AsyncClient, code: str) -> str:
    body = await execute(http, "{ locations { id code } }", token=a_token("agent"))
    return str(next(loc["id"] for loc in body["data"]["locations"] if loc["code"] == code))


# The contract's QueueUpdates, resumable from a cursor.
QUEUE_FROM = """
subscription QueueFrom($locationId: ID!, $after: String) {
  fulfillmentOrderEvents(locationId: $locationId, after: $after) {
    cursor type fulfillmentOrder { id status }
  }
}
"""


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_associate_s_queue_updates_as_work_arrives_and_moves(
    server: Gateway, http: httpx.AsyncClient, protocol: str
) -> None:
    dallas = await location_id(http, "DC-DFW")
    associate = a_token("associate", locations=("DC-DFW",))

    order = await place_order(http, ANN)
    fo_id = order["fulfillmentOrders"][0]["id"]
    variables = {"locationId": dallas, "after": BEGINNING}

    async with (
        ws_session(server, protocol, bearer(associate)) as session,
        feed(session, QUEUE_FROM, variables) as queue,
    ):
        replayed = [await queue.next()]
        while replayed[-1]["fulfillmentOrder"]["id"] != fo_id:  # the node's earlier work first
            replayed.append(await queue.next())
        accepted = await execute(http, operation("Accept"), {"id": fo_id}, token=associate)
        moved = await queue.next(PROMPT)
        await hold(http, order["id"])  # the order's event, not the node's: not in the queue
        await queue.nothing_more()

    opened = replayed[-1]
    assert accepted["data"]["acceptFulfillmentOrder"]["userErrors"] == []
    assert (opened["type"], opened["fulfillmentOrder"]["status"]) == ("FULFILLMENT_OPENED", "OPEN")
    assert all(e["type"].startswith("FULFILLMENT_") for e in replayed)  # only the node's own work
    assert (moved["type"], moved["fulfillmentOrder"]) == (
        "FULFILLMENT_ACCEPTED",
        {"id": fo_id, "status": "ACCEPTED"},
    )
    assert strictly_increasing([*replayed, moved])


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_another_node_s_queue_is_not_an_associate_s_to_follow(
    server: Gateway, http: httpx.AsyncClient, protocol: str
) -> None:
    dallas = await location_id(http, "DC-DFW")

    async with (
        ws_session(server, protocol, bearer(a_token("associate", locations=("ST-CHI",)))) as session,
        feed(session, operation("QueueUpdates"), {"locationId": dallas}) as queue,
    ):
        with pytest.raises(TransportQueryError) as refused:
            await queue.next()

    assert codes(refused.value) == ["NOT_FOUND"]


AVAILABILITY = """
subscription Live($skus: [String!]!) {
  availabilityChanged(skus: $skus) {
    sku availableToSell stale locations { location { code } availableToSell }
  }
}
"""


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_product_page_sees_availability_drop_when_an_order_takes_units(
    server: Gateway, http: httpx.AsyncClient, protocol: str
) -> None:
    async with (
        ws_session(server, protocol, bearer(a_token("storefront"))) as session,
        feed(session, AVAILABILITY, {"skus": ["MUG-BLUE"]}) as live,
    ):
        now = await live.next()
        order = await place_order(http, ANN)  # two MUG-BLUE among its lines
        after = await live.next(PROMPT)

    taken = {line["sku"]: line["quantity"] for line in order["lines"]}["MUG-BLUE"]
    assert now["sku"] == after["sku"] == "MUG-BLUE"
    assert after["availableToSell"] == now["availableToSell"] - taken
    per_node = {row["location"]["code"]: row["availableToSell"] for row in after["locations"]}
    before = {row["location"]["code"]: row["availableToSell"] for row in now["locations"]}
    assert per_node["DC-DFW"] == before["DC-DFW"] - taken


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
