"""Two gateway processes on one PostgreSQL database and one Redis: a subscriber on either
replica sees, promptly and in order, what was done through the other."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from gql.transport.websockets import WebsocketsTransport

from tests.builders import a_token
from tests.server import (
    PROMPT,
    Gateway,
    bearer,
    fresh_postgres_database,
    gateways,
    hold,
    http_client,
    live_orders,
    order_updates,
    place_order,
    release,
    strictly_increasing,
    ws_session,
)
from tests.services import REDIS_URL, require_postgres, require_redis

pytestmark = [pytest.mark.server, pytest.mark.postgres, pytest.mark.redis]

PROTOCOL = WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL
ANN, BOB = "ann@example.com", "bob@example.com"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def database() -> AsyncIterator[str]:
    require_postgres()
    require_redis()
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture(scope="module")
def replicas(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, Gateway]]:
    """Replicas A and B of one deployment: shared database, shared Redis, separate processes."""
    directory = tmp_path_factory.mktemp("replicas")
    with gateways(directory, ["replica-a", "replica-b"], database_url=database, redis_url=REDIS_URL) as (
        a,
        b,
    ):
        yield a, b


@pytest.mark.parametrize(("watched", "written"), [(0, 1), (1, 0)], ids=["watch-a-write-b", "watch-b-write-a"])
async def test_the_firehose_on_one_replica_follows_what_is_done_through_the_other(
    replicas: tuple[Gateway, Gateway], watched: int, written: int
) -> None:
    watching, writing = replicas[watched], replicas[written]

    async with (
        http_client(writing) as http,
        ws_session(watching, PROTOCOL, bearer(a_token("admin"))) as session,
        live_orders(session) as firehose,
    ):
        earlier = await place_order(http, ANN)
        replayed = await firehose.until(earlier["id"], "FULFILLMENT_OPENED")  # live from here on

        first = await place_order(http, ANN)
        placed = [await firehose.next(PROMPT) for _ in range(3)]
        await hold(http, first["id"])
        held = await firehose.next(PROMPT)
        second = await place_order(http, BOB)
        placed_second = [await firehose.next(PROMPT) for _ in range(3)]
        await release(http, first["id"])
        released = await firehose.next(PROMPT)
        await firehose.nothing_more()

    seen = [*placed, held, *placed_second, released]
    assert [(e["type"], e["order"]["id"]) for e in seen] == [
        ("ORDER_PLACED", first["id"]),
        ("ORDER_CONFIRMED", first["id"]),
        ("FULFILLMENT_OPENED", first["id"]),
        ("ORDER_HELD", first["id"]),
        ("ORDER_PLACED", second["id"]),
        ("ORDER_CONFIRMED", second["id"]),
        ("FULFILLMENT_OPENED", second["id"]),
        ("ORDER_RELEASED", first["id"]),
    ]
    assert held["order"]["status"] == "ON_HOLD"
    assert placed_second[0]["order"]["number"] == second["number"]
    assert strictly_increasing([*replayed, *seen])


async def test_a_customer_on_one_replica_follows_their_order_changed_through_the_other(
    replicas: tuple[Gateway, Gateway],
) -> None:
    a, b = replicas

    async with http_client(b) as http:
        order = await place_order(http, ANN)
        async with (
            ws_session(a, PROTOCOL, bearer(a_token("customer", email=ANN))) as session,
            order_updates(session, order["id"]) as updates,
        ):
            placed, confirmed = await updates.next(), await updates.next()
            await hold(http, order["id"])
            held = await updates.next(PROMPT)
            await place_order(http, BOB)  # someone else's order: not in this customer's stream
            await release(http, order["id"])
            released = await updates.next(PROMPT)
            await updates.nothing_more()

    seen = [placed, confirmed, held, released]
    assert [e["type"] for e in seen] == ["ORDER_PLACED", "ORDER_CONFIRMED", "ORDER_HELD", "ORDER_RELEASED"]
    assert {e["order"]["id"] for e in seen} == {order["id"]}
    assert held["order"]["status"] == "ON_HOLD"
    assert released["order"]["status"] == "CONFIRMED"
    assert strictly_increasing(seen)


async def test_events_written_through_both_replicas_reach_a_subscriber_in_cursor_order(
    replicas: tuple[Gateway, Gateway],
) -> None:
    a, b = replicas

    async with (
        http_client(a) as through_a,
        http_client(b) as through_b,
        ws_session(a, PROTOCOL, bearer(a_token("admin"))) as session,
        live_orders(session) as firehose,
    ):
        earlier = await place_order(through_b, ANN)
        await firehose.until(earlier["id"], "FULFILLMENT_OPENED")

        placed = [await place_order(http, ANN) for http in (through_a, through_b, through_a, through_b)]
        events = [await firehose.next(PROMPT) for _ in range(3 * len(placed))]
        await firehose.nothing_more()

    assert [(e["type"], e["order"]["id"]) for e in events] == [
        (kind, o["id"]) for o in placed for kind in ("ORDER_PLACED", "ORDER_CONFIRMED", "FULFILLMENT_OPENED")
    ]
    assert strictly_increasing(events)
