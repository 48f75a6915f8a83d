"""Redis is only a wake-up: restarting it while events are produced loses nothing. Two gateway
processes on one PostgreSQL database share a Redis of their own (a private `redis-server`, so
the machine's is left alone), which is stopped and started again mid-stream."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from gql.transport.websockets import WebsocketsTransport

from tests.builders import a_token
from tests.server import (
    BEGINNING,
    DEADLINE,
    PROMPT,
    bearer,
    feed,
    free_port,
    fresh_postgres_database,
    gateways,
    hold,
    http_client,
    place_order,
    release,
    ws_session,
)
from tests.services import require_postgres, require_program

pytestmark = [pytest.mark.server, pytest.mark.postgres, pytest.mark.redis]

PROTOCOL = WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL
ANN = "ann@example.com"
FOLLOW = """
subscription Follow($orderId: ID!, $after: String) {
  orderEvents(orderId: $orderId, after: $after) { cursor type sequence }
}
"""


class PrivateRedis:
    """A `redis-server` on a free port, stopped and started at will."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError):
                if redis.Redis(port=self.port, socket_timeout=0.5).ping():
                    return
            time.sleep(0.05)
        raise AssertionError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(DEADLINE)
        self.process = None


@contextlib.contextmanager
def private_redis(directory: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(require_program("redis-server"), directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_nothing_is_lost_or_repeated_while_redis_restarts(tmp_path: Path) -> None:
    require_postgres()
    agent = bearer(a_token("agent"))  # every event of the order, so `sequence` has no gap
    async with fresh_postgres_database() as database:
        with (
            private_redis(tmp_path) as broker,
            gateways(tmp_path, ["replica-a", "replica-b"], database_url=database, redis_url=broker.url) as (
                a,
                b,
            ),
        ):
            async with http_client(b) as http:
                order = await place_order(http, ANN)
                variables: dict[str, Any] = {"orderId": order["id"], "after": BEGINNING}
                # Live on replica A while B writes; Redis goes away and comes back mid-stream.
                async with (
                    ws_session(a, PROTOCOL, agent) as session,
                    feed(session, FOLLOW, variables) as live,
                ):
                    seen = [await live.next() for _ in range(3)]  # placed, confirmed, opened
                    await hold(http, order["id"])
                    seen.append(await live.next(PROMPT))
                    broker.stop()
                    await release(http, order["id"])
                    await hold(http, order["id"])
                    seen += [await live.next(DEADLINE), await live.next(DEADLINE)]  # by A's own re-read
                    broker.start()
                    await release(http, order["id"])
                    seen.append(await live.next(DEADLINE))
                last = seen[-1]["cursor"]
                # Disconnected; events are written while Redis restarts again; then resume.
                await hold(http, order["id"])
                broker.stop()
                await release(http, order["id"])
                broker.start()
                await hold(http, order["id"])
                variables["after"] = last
                async with (
                    ws_session(a, PROTOCOL, agent) as session,
                    feed(session, FOLLOW, variables) as resumed,
                ):
                    missed = [await resumed.next(DEADLINE) for _ in range(3)]
                    await release(http, order["id"])
                    after_restart = await resumed.next(DEADLINE)
                    await resumed.nothing_more()

    everything = [*seen, *missed, after_restart]
    assert [e["sequence"] for e in everything] == list(range(1, len(everything) + 1))  # no gap, no repeat
    assert [e["type"] for e in missed] == ["ORDER_HELD", "ORDER_RELEASED", "ORDER_HELD"]
    assert after_restart["type"] == "ORDER_RELEASED"
