"""Hostile requests against a running gateway: small documents that expand without bound,
bodies and frames of the wrong size or shape, lists of a hundred thousand items.

Each is refused with its code (or status), and a trivial query and a health check sent
alongside, while the hostile request is in flight, are answered within the helpers' deadline:
one client's request never stalls the process. None of these touch the store, so one backend
(SQLite) serves them; the refusals happen before any storage is reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from tests.builders import a_token, an_order_input
from tests.contract import operation
from tests.server import DEADLINE, Gateway, gateway, http_client

pytestmark = pytest.mark.server
T = TypeVar("T")

MAX_BODY = 64 * 1024  # small, so the tests send little and still cross it many times over
LEGACY, MODERN = "graphql-ws", "graphql-transport-ws"
TRIVIAL = "{ __typename }"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    directory = tmp_path_factory.mktemp("hostile")
    with gateway(directory, env={"ORDERGATE_MAX_BODY_BYTES": str(MAX_BODY)}) as running:
        yield running


@pytest.fixture
async def http(server: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(server) as client:
        yield client


async def alongside(http: httpx.AsyncClient, hostile: Awaitable[T]) -> T:
    """The hostile request, with a trivial query and a health check sent while it is in flight;
    both must be answered (each bounded by the client's DEADLINE) whatever the hostile one does."""
    attack = asyncio.ensure_future(hostile)
    await asyncio.sleep(0.02)  # let it reach the server first
    trivial = await http.post("/graphql", json={"query": TRIVIAL})
    health = await http.get("/healthz")
    assert trivial.status_code == 200, trivial.text
    assert trivial.json()["data"] == {"__typename": "Query"}
    assert health.status_code == 200
    return await attack


def codes(response: httpx.Response) -> list[str]:
    body = response.json()
    return [(e.get("extensions") or {}).get("code", "") for e in body.get("errors") or []]


def fan_out(levels: int, leaf: str, on: str = "Query") -> str:
    return "\n".join(
        [
            *(f"fragment F{i} on {on} {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)),
            f"fragment F{levels} on {on} {{ {leaf} }}",
        ]
    )


# --- documents that expand --------------------------------------------------------------------

EXPANDING = {
    "fan-out of 40 levels": ("query { ...F0 }\n" + fan_out(40, "__typename"), "QUERY_TOO_COSTLY"),
    "fan-out of lists": (
        "query { ...F0 }\n" + fan_out(40, "products(first: 50) { edges { node { sku } } }"),
        "QUERY_TOO_COSTLY",
    ),
    "fan-out of aliases": ("query { ...F0 }\n" + fan_out(6, "a: __typename"), "TOO_MANY_ALIASES"),
    "fan-out in introspection": (
        "query { __schema { types { ...F0 } } }\n" + fan_out(40, "name", on="__Type"),
        "QUERY_TOO_COSTLY",
    ),
    "deep through fragments": (
        "query { orders(first: 1) { edges { node { ...F0 } } } }\n"
        + "\n".join(
            f"fragment F{i} on Order {{ fulfillmentOrders {{ order {{ ...F{i + 1} }} }} }}" for i in range(20)
        )
        + "\nfragment F20 on Order { id }",
        "QUERY_TOO_DEEP",
    ),
}


@pytest.mark.parametrize("name", sorted(EXPANDING))
async def test_a_small_document_that_expands_without_bound_is_refused_before_it_runs(
    http: httpx.AsyncClient, name: str
) -> None:
    document, code = EXPANDING[name]
    assert len(document) < 3000  # small: the attack is the expansion, not the size

    response = await alongside(http, http.post("/graphql", json={"query": document}))

    assert code in codes(response), response.text
    assert response.json().get("data") is None


# --- bodies -----------------------------------------------------------------------------------

ENDPOINTS = ["/graphql", "/webhooks/katana", "/webhooks/bigcommerce", "/webhooks/shipengine", "/webhooks/ups"]


async def post_until_answered(
    server: Gateway, path: str, body: bytes, *, chunked: bool, headers: dict[str, str] | None = None
) -> tuple[bytes, int]:
    """POST `body` to `path` over a raw socket, a chunk at a time, stopping as soon as the server
    answers: (the start of the answer, the body bytes sent by then). With `chunked` no length is
    declared, so only counting what arrives can stop it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}"
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    sent = 0
    try:
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        writer.write(f"{head}{extra}{framing}\r\n\r\n".encode())
        await writer.drain()
        for start in range(0, len(body), CHUNK):
            # The server owes an answer once a declared length is over the limit (from the headers
            # alone) and once a chunked body has gone past it: wait then as long as a loaded
            # machine may need, so what is counted is what the server read, not how busy the
            # host is. Before that, a short wait only looks for an early answer.
            owed = sent > MAX_BODY or (not chunked and len(body) > MAX_BODY and sent == 0)
            patience = 2.0 if owed else 0.05
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(reader.read(300), patience), sent
            piece = body[start : start + CHUNK]
            writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece)
            await writer.drain()
            sent += len(piece)
        return await asyncio.wait_for(reader.read(300), DEADLINE), sent
    except ConnectionError:  # the server closed while we still sent: read what it answered
        return await asyncio.wait_for(reader.read(300), DEADLINE), sent
    finally:
        writer.close()


CHUNK = MAX_BODY // 4


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
@pytest.mark.parametrize("path", ENDPOINTS)
async def test_a_body_over_the_limit_is_refused_with_413_before_it_is_read_whole(
    server: Gateway, http: httpx.AsyncClient, path: str, chunked: bool
) -> None:
    body = b"{" + b" " * (MAX_BODY * 16) + b"}"

    answer, sent = await alongside(http, post_until_answered(server, path, body, chunked=chunked))

    assert answer.startswith(b"HTTP/1.1 413"), answer
    # a declared length is refused from the headers; a chunked body once it passes the limit
    assert sent <= (0 if not chunked else MAX_BODY + CHUNK) + CHUNK, sent


def resident_kib(server: Gateway) -> int:
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))


async def test_many_large_bodies_at_once_do_not_grow_the_process(
    server: Gateway, http: httpx.AsyncClient
) -> None:
    before = resident_kib(server)
    payload = b" " * (8 * 1024 * 1024)

    responses = await asyncio.gather(
        *(
            http.post("/graphql", content=payload, headers={"content-type": "application/json"})
            for _ in range(8)
        ),
        return_exceptions=True,
    )

    # refused from the declared length: 413, or the connection closed under a client still
    # sending (it reads the answer only after its body); never a 2xx or a 5xx
    assert all(
        isinstance(r, httpx.TransportError) or (isinstance(r, httpx.Response) and r.status_code == 413)
        for r in responses
    ), responses
    grown_mib = (resident_kib(server) - before) / 1024
    assert grown_mib < 32, f"64 MiB sent, the process grew by {grown_mib:.0f} MiB"


NOT_OBJECTS = [b'"x"', b"42", b"null", b"true", b"[1]", b"[]", b"{", b"\xff\xfe", b""]


@pytest.mark.parametrize("body", NOT_OBJECTS, ids=[repr(b) for b in NOT_OBJECTS])
async def test_a_body_that_is_not_a_json_object_is_a_400(http: httpx.AsyncClient, body: bytes) -> None:
    response = await alongside(
        http, http.post("/graphql", content=body, headers={"content-type": "application/json"})
    )

    assert response.status_code == 400, response.text


@pytest.mark.parametrize("where", ["variables", "extensions", "body"])
async def test_json_nested_past_a_sane_depth_is_a_400(http: httpx.AsyncClient, where: str) -> None:
    deep = "[" * 5000 + "]" * 5000
    body = {
        "variables": f'{{"query": "{TRIVIAL}", "variables": {{"a": {deep}}}}}',
        "extensions": f'{{"query": "{TRIVIAL}", "extensions": {{"a": {deep}}}}}',
        "body": f'{{"query": "{TRIVIAL}", "a": {deep}}}',
    }[where]

    response = await alongside(
        http, http.post("/graphql", content=body.encode(), headers={"content-type": "application/json"})
    )

    assert response.status_code == 400, response.text


async def test_a_deeply_nested_webhook_delivery_is_a_4xx(http: httpx.AsyncClient) -> None:
    deep = b"[" * 5000 + b"]" * 5000
    for path in ENDPOINTS[1:]:
        response = await http.post(path, content=deep, headers={"content-type": "application/json"})
        assert 400 <= response.status_code < 500, (path, response.status_code, response.text)


# --- lists ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def roomy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with gateway(tmp_path_factory.mktemp("hostile-roomy")) as running:  # the default 1 MiB body limit
        yield running


def place_order_with(lines: list[dict[str, Any]]) -> dict[str, Any]:
    return {"query": operation("PlaceOrder"), "variables": {"input": an_order_input(lines=lines)}}


async def test_a_hundred_thousand_invalid_order_lines_are_refused_once(roomy_server: Gateway) -> None:
    storefront = {"authorization": f"Bearer {a_token('storefront')}"}
    async with http_client(roomy_server) as http:
        # 100,000 lines are 3 MB: the body limit answers first, before a byte is parsed
        whole, _ = await alongside(
            http,
            post_until_answered(
                roomy_server,
                "/graphql",
                json.dumps(place_order_with([{"sku": "X", "quantity": "x"}] * 100_000)).encode(),
                chunked=False,
                headers=storefront,
            ),
        )
        # 20,000 fit in the body and meet the list cap, before any of them is coerced
        capped = await alongside(
            http,
            http.post(
                "/graphql",
                json=place_order_with([{"sku": "X", "quantity": "x"}] * 20_000),
                headers=storefront,
            ),
        )

    assert whole.startswith(b"HTTP/1.1 413"), whole
    assert codes(capped) == ["INPUT_TOO_LARGE"]
    assert "variables.input.lines" in capped.json()["errors"][0]["message"]
    assert len(capped.content) < 2000  # said once, not once per line


async def test_a_long_list_written_in_the_document_is_refused_once(http: httpx.AsyncClient) -> None:
    skus = ", ".join('"MUG-BLUE"' for _ in range(300))
    document = f"{{ availability(skus: [{skus}]) {{ sku }} }}"

    response = await alongside(
        http,
        http.post(
            "/graphql", json={"query": document}, headers={"authorization": f"Bearer {a_token('storefront')}"}
        ),
    )

    assert codes(response) == ["INPUT_TOO_LARGE"]


# --- WebSocket frames -------------------------------------------------------------------------

BAD_FRAMES = {
    "a number": "42",
    "a string": '"x"',
    "null": "null",
    "a list": "[]",
    "not JSON": "{",
    "deep": "[" * 5000 + "]" * 5000,
    "type not a string": '{"type": 5}',
    "subscribe payload a string": '{"type": "START", "id": "1", "payload": "x"}',
    "subscribe payload a list": '{"type": "START", "id": "1", "payload": [1]}',
    "query not a string": '{"type": "START", "id": "1", "payload": {"query": 5}}',
    "variables a list": '{"type": "START", "id": "1", "payload": {"query": "{ a }", "variables": [1]}}',
    "id not a string": '{"type": "START", "id": 7, "payload": {"query": "{ __typename }"}}',
}
START = {MODERN: "subscribe", LEGACY: "start"}


@pytest.mark.parametrize("protocol", [LEGACY, MODERN])
@pytest.mark.parametrize("name", sorted(BAD_FRAMES))
async def test_a_websocket_frame_of_the_wrong_shape_closes_with_4400_and_a_reason(
    server: Gateway, http: httpx.AsyncClient, protocol: str, name: str
) -> None:
    frame = BAD_FRAMES[name].replace("START", START[protocol])
    init = json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {a_token('admin')}"}})

    async def exchange() -> ConnectionClosed:
        async with connect(
            server.ws_url, subprotocols=[Subprotocol(protocol)], open_timeout=DEADLINE, close_timeout=DEADLINE
        ) as websocket:
            await websocket.send(init)
            ack = json.loads(await asyncio.wait_for(websocket.recv(), DEADLINE))
            assert ack["type"] == "connection_ack"
            await websocket.send(frame)
            while True:  # a keep-alive may come first
                try:
                    await asyncio.wait_for(websocket.recv(), DEADLINE)
                except ConnectionClosed as closed:
                    return closed

    closed = await asyncio.wait_for(exchange(), DEADLINE)
    assert await alongside(http, http.get("/healthz")) is not None

    assert closed.rcvd is not None
    assert closed.rcvd.code == 4400, closed.rcvd
    assert closed.rcvd.reason


async def test_the_gateway_answered_everything_without_an_internal_error(server: Gateway) -> None:
    log = server.log_path.read_text(errors="replace")
    assert "Traceback" not in log
    assert '"INTERNAL"' not in log
