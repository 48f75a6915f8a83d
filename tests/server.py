"""Real gateway processes for end-to-end tests, and the clients that talk to them.

    async with fresh_postgres_database() as url:
        with gateway(tmp_path, database_url=url, redis_url=REDIS_URL) as server:
            ...  # server.http_url, server.ws_url, server.log()

Processes: uvicorn on a free port, forked from a process that has imported the app already
(`tests.zygote`; `ORDERGATE_TEST_FORKED_GATEWAYS=0` starts each as its own interpreter).
Everything is bounded: start-up waits at most `READY_SECONDS` for `/readyz`, shut-down sends
SIGTERM and kills after `STOP_SECONDS`. A failure inside the block gets the server's log
attached as an exception note, and the log is printed on exit (pytest shows it only for a
failing test).

Clients: mutations over HTTP (httpx) and subscriptions over WebSocket (gql), each read with
a deadline so that a broken subscription fails a test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from gql import Client, GraphQLRequest
from gql.client import AsyncClientSession
from gql.transport.websockets import WebsocketsTransport
from sqlalchemy.engine import make_url

from ordergate.connectors.http import tls_context
from ordergate.models.pagination import decode_cursor, encode_cursor
from tests.builders import a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import execute
from tests.services import POSTGRES_URL
from tests.zygote import ZYGOTE, ForkedProcess, forking_works

ROOT = Path(__file__).resolve().parents[1]
READY_SECONDS = 30.0
STOP_SECONDS = 5.0
LOG_TAIL_CHARS = 6000
# Settings the child must not inherit from whoever runs the tests: tokens minted by
# tests.builders use the default development secret, and each server names its own stores.
SCRUBBED = ("ORDERGATE_JWT_SECRET", "ORDERGATE_JWT_PUBLIC_KEY", "DATABASE_URL", "REDIS_URL")

DEADLINE = 10.0  # the longest any single wait may take before the test fails instead of hanging
# A live event comes from a broker wake-up within milliseconds; subscriptions also re-read the
# log every 5 s (Policy.event_poll_seconds), so waiting less than that proves the wake-up works.
PROMPT = 2.5
QUIET = 0.5  # how long "nothing else arrives" is watched for
# Cursors are opaque to clients; the tests build the one before the first event so that a
# subscription starts with a replayed event. Receiving it proves the subscription is live
# before the test changes anything, which a subscription "from now" cannot acknowledge.
BEGINNING = encode_cursor(0)


# --- processes -------------------------------------------------------------------------------


class GatewayFailed(RuntimeError):
    """The process exited or never became ready."""


@dataclass(frozen=True)
class Gateway:
    name: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | ForkedProcess  # tests.zygote: forked, unless forking is off

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def log(self) -> str:
        """The tail of what the process wrote to stdout and stderr so far."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return text[-LOG_TAIL_CHARS:]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def sqlite_url(directory: Path, name: str = "ordergate") -> str:
    return f"sqlite+aiosqlite:///{directory / f'{name}.db'}"


def gateway_env(
    database_url: str, redis_url: str | None, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env["DATABASE_URL"] = database_url
    if redis_url is not None:
        env["REDIS_URL"] = redis_url
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def _launch(
    directory: Path, name: str, database_url: str | None, redis_url: str | None, env: Mapping[str, str] | None
) -> Gateway:
    port = free_port()
    log_path = directory / f"{name}.log"
    arguments = ["ordergate.app:create_app", "--factory", "--host", "127.0.0.1", "--port", str(port)]
    child_env = gateway_env(database_url or sqlite_url(directory, name), redis_url, env)
    log_path.write_bytes(b"")
    process: subprocess.Popen[bytes] | ForkedProcess
    if forking_works():
        process = ZYGOTE.spawn(arguments, child_env, ROOT, log_path)
    else:
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", *arguments],
                cwd=ROOT,
                env=child_env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
            )
    return Gateway(name=name, port=port, log_path=log_path, process=process)


def _wait_ready(server: Gateway) -> None:
    deadline = time.monotonic() + READY_SECONDS
    last = "no answer yet"
    with httpx.Client(base_url=server.http_url, timeout=2.0, verify=tls_context()) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise GatewayFailed(
                    f"{server.name} exited with {server.process.returncode} before it was ready\n"
                    f"--- {server.name} log ---\n{server.log()}"
                )
            try:
                response = client.get("/readyz")
            except httpx.TransportError as error:
                last = repr(error)
            else:
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text}"
            time.sleep(0.1)
    raise GatewayFailed(
        f"{server.name} was not ready within {READY_SECONDS:.0f} s (last: {last})\n"
        f"--- {server.name} log ---\n{server.log()}"
    )


def _stop(process: subprocess.Popen[bytes] | ForkedProcess) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_SECONDS)


@contextlib.contextmanager
def gateways(
    directory: Path,
    names: Sequence[str],
    *,
    database_url: str | None = None,
    redis_url: str | None = None,
    env: Mapping[str, str] | None = None,
    together: bool = False,
) -> Iterator[list[Gateway]]:
    """Run one `uvicorn ordergate.app:create_app --factory` per name until the block exits
    (forked from `tests.zygote`).

    A plain (blocking) context manager, so it also serves module-scoped sync fixtures. Without
    `database_url` each gets its own SQLite file in `directory`, which also holds the logs
    (`<name>.log`). `env` adds or overrides settings, e.g.
    `{"ORDERGATE_WS_INIT_TIMEOUT_SECONDS": "2"}`.

    Each starts once the one before is ready, unless `together`: then all start at once, as
    replicas of a deployment do (tests/test_workers.py holds that none of them fails)."""
    servers: list[Gateway] = []
    try:
        for name in names:
            servers.append(_launch(directory, name, database_url, redis_url, env))
            if not together:
                _wait_ready(servers[-1])
        for server in servers:
            _wait_ready(server)
        try:
            yield servers
        except Exception as error:
            for server in servers:
                error.add_note(f"--- {server.name} log ({server.log_path}) ---\n{server.log()}")
            raise
    finally:
        for server in servers:
            _stop(server.process)
        for server in servers:
            print(f"--- {server.name} log ({server.log_path}) ---\n{server.log()}")


@contextlib.contextmanager
def gateway(
    directory: Path,
    *,
    database_url: str | None = None,
    redis_url: str | None = None,
    env: Mapping[str, str] | None = None,
    name: str = "gateway",
) -> Iterator[Gateway]:
    """One gateway process; see `gateways`."""
    with gateways(directory, [name], database_url=database_url, redis_url=redis_url, env=env) as (server,):
        yield server


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _pg_admin(sql: str) -> None:
    connection = await asyncio.wait_for(asyncpg.connect(_asyncpg_dsn(POSTGRES_URL)), DEADLINE)
    try:
        await asyncio.wait_for(connection.execute(sql), 30)
    finally:
        await asyncio.wait_for(connection.close(), DEADLINE)


@contextlib.asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """A new, empty database `og_<random>` next to the test database, dropped afterwards
    (even while a server still holds connections to it). Yields its SQLAlchemy URL."""
    name = f"og_{uuid.uuid4().hex[:16]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- HTTP: the mutations that append events ---------------------------------------------------

HOLD = """
mutation Hold($input: HoldOrderInput!) {
  holdOrder(input: $input) { order { id status } userErrors { code field message } }
}
"""
RELEASE = """
mutation Release($input: ReleaseOrderHoldInput!) {
  releaseOrderHold(input: $input) { order { id status } userErrors { code field message } }
}
"""


@contextlib.asynccontextmanager
async def http_client(server: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.http_url, timeout=DEADLINE, verify=tls_context()) as client:
        yield client


async def place_order(http: httpx.AsyncClient, email: str) -> dict[str, Any]:
    """The storefront's PlaceOrder, by the customer with that email."""
    body = await execute(
        http,
        operation("PlaceOrder"),
        {"input": an_order_input(customer={"email": email})},
        token=a_token("customer", email=email),
    )
    payload = body["data"]["placeOrder"]
    assert payload["userErrors"] == [], payload
    order: dict[str, Any] = payload["order"]
    return order


async def hold(http: httpx.AsyncClient, order_id: str) -> None:
    body = await execute(
        http, HOLD, {"input": {"orderId": order_id, "reason": "OTHER"}}, token=a_token("agent")
    )
    assert body["data"]["holdOrder"]["userErrors"] == [], body
    assert body["data"]["holdOrder"]["order"]["status"] == "ON_HOLD", body


async def release(http: httpx.AsyncClient, order_id: str) -> None:
    body = await execute(http, RELEASE, {"input": {"orderId": order_id}}, token=a_token("agent"))
    assert body["data"]["releaseOrderHold"]["userErrors"] == [], body


# --- WebSocket: subscriptions ------------------------------------------------------------------


def bearer(token: str) -> dict[str, Any]:
    """The connection_init payload that authenticates a WebSocket."""
    return {"authorization": f"Bearer {token}"}


@contextlib.asynccontextmanager
async def ws_session(
    server: Gateway, protocol: str, init_payload: dict[str, Any]
) -> AsyncIterator[AsyncClientSession]:
    """A connected and acknowledged gql session over `protocol`
    (WebsocketsTransport.APOLLO_SUBPROTOCOL is the legacy "graphql-ws",
    WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL is "graphql-transport-ws"), closed on exit."""
    transport = WebsocketsTransport(
        url=server.ws_url,
        subprotocols=[protocol],
        init_payload=init_payload,
        connect_timeout=DEADLINE,
        ack_timeout=DEADLINE,
        close_timeout=DEADLINE,
    )
    client = Client(transport=transport)
    session = await asyncio.wait_for(client.connect_async(), DEADLINE)  # type: ignore[no-untyped-call]
    assert isinstance(session, AsyncClientSession)
    try:
        yield session
    finally:
        await asyncio.wait_for(client.close_async(), DEADLINE)  # type: ignore[no-untyped-call]


class NoEventInTime(AssertionError):
    """A subscription stayed silent past its deadline."""


class Feed:
    """One subscription (`orderEvents`, `fulfillmentOrderEvents`, ...) whose every read has a
    deadline. The subscribe message goes out with the first read."""

    def __init__(self, session: AsyncClientSession, document: str, variables: dict[str, Any]) -> None:
        self._stream = session.subscribe(GraphQLRequest(document, variable_values=variables))

    async def next(self, timeout: float = DEADLINE) -> dict[str, Any]:
        """The next event; NoEventInTime (which ends the stream) when none comes in `timeout` s."""
        try:
            data = await asyncio.wait_for(anext(self._stream), timeout)
        except TimeoutError:
            raise NoEventInTime(f"no event within {timeout} s") from None
        event: dict[str, Any] = next(iter(data.values()))  # the one root field subscribed to
        return event

    async def until(self, order_id: str, event_type: str, limit: int = 500) -> list[dict[str, Any]]:
        """Every event up to and including the first of `event_type` for `order_id`."""
        seen = [await self.next()]
        while (seen[-1]["order"]["id"], seen[-1]["type"]) != (order_id, event_type):
            assert len(seen) < limit, f"no {event_type} for {order_id} in {limit} events"
            seen.append(await self.next())
        return seen

    async def nothing_more(self) -> None:
        """Nothing arrives for QUIET seconds (which ends the stream)."""
        try:
            unexpected = await self.next(QUIET)
        except NoEventInTime:
            return
        raise AssertionError(f"unexpected event {unexpected}")

    async def close(self) -> None:
        await asyncio.wait_for(self._stream.aclose(), DEADLINE)


@contextlib.asynccontextmanager
async def feed(session: AsyncClientSession, document: str, variables: dict[str, Any]) -> AsyncIterator[Feed]:
    subscription = Feed(session, document, variables)
    try:
        yield subscription
    finally:
        await subscription.close()


def order_updates(
    session: AsyncClientSession, order_id: str, after: str | None = BEGINNING
) -> contextlib.AbstractAsyncContextManager[Feed]:
    """The mobile app's OrderUpdates; by default from the first event (see BEGINNING)."""
    return feed(session, operation("OrderUpdates"), {"orderId": order_id, "after": after})


def live_orders(
    session: AsyncClientSession, after: str | None = BEGINNING
) -> contextlib.AbstractAsyncContextManager[Feed]:
    """The dashboard's LiveOrders firehose; by default from the first event."""
    return feed(session, operation("LiveOrders"), {"after": after})


def position(cursor: str) -> int:
    """Where an (opaque) event cursor points, to compare two of them."""
    value = decode_cursor(cursor, 1)[0]
    assert isinstance(value, int), cursor
    return value


def strictly_increasing(events: Sequence[Mapping[str, Any]]) -> bool:
    positions = [position(e["cursor"]) for e in events]
    return all(a < b for a, b in itertools.pairwise(positions))
