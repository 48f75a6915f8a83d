"""Outgoing webhooks: every event reaches each endpoint that wants it, once accepted, signed,
retried with backoff from the database until the receiver says 2xx, restarts included."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
from collections import Counter as Tally
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ordergate import bootstrap
from ordergate.connectors.webhooks.http import HttpWebhookSender
from ordergate.models.events import OrderEvent
from ordergate.models.outbox import WEBHOOK_DELIVERY, OutboxTask
from ordergate.models.webhooks import signature, url_problems, verify
from ordergate.settings import Settings
from ordergate.store.unit_of_work import Store
from ordergate.usecases.services import Services
from ordergate.usecases.webhooks_out import deliver
from ordergate.workers.dispatch import dispatch_once
from ordergate.workers.relay import relay_once
from tests.builders import a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import error_codes, execute
from tests.server import free_port
from tests.targets import INVALID, NOT_ALLOWED, PUBLIC_V4, FakeDns, RecordingNetwork

pytestmark = pytest.mark.no_relay

HANDLERS = {WEBHOOK_DELIVERY: deliver}

REGISTER = """
mutation Register($input: RegisterWebhookEndpointInput!) {
  registerWebhookEndpoint(input: $input) {
    endpoint { id url eventTypes active }
    secret
    userErrors { code field message }
  }
}
"""
UPDATE = """
mutation Update($input: UpdateWebhookEndpointInput!) {
  updateWebhookEndpoint(input: $input) {
    endpoint { id active }
    secret
    userErrors { code field message }
  }
}
"""
REPLAY = """
mutation Replay($id: ID!) {
  replayWebhookDelivery(id: $id) {
    delivery { id eventId deliveryKey attempts delivered }
    userErrors { code field message }
  }
}
"""
LOG = """
query Log($endpointId: ID!, $first: Int, $after: String) {
  webhookDeliveries(endpointId: $endpointId, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id eventId deliveryKey statusCode error succeeded attemptedAt } }
  }
}
"""
ENDPOINTS = "query { webhookEndpoints { id url eventTypes active } }"


# --- a real receiver -----------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: datetime
    status: int


@dataclass
class Receiver:
    """A Starlette app on a real port that answers 500 to each event's first `failures`
    deliveries and 204 after; it remembers every request."""

    clock: Callable[[], datetime]
    failures: int = 0
    base_url: str = ""
    requests: list[Received] = field(default_factory=list)

    async def receive(self, request: Request) -> Response:
        event_id = request.headers.get("x-ordergate-event-id", "")
        seen = sum(1 for r in self.requests if r.headers.get("x-ordergate-event-id") == event_id)
        status = 500 if seen < self.failures else 204
        self.requests.append(
            Received(request.url.path, dict(request.headers), await request.body(), self.clock(), status)
        )
        return Response(status_code=status)

    def url(self, path: str = "/hooks") -> str:
        return f"{self.base_url}{path}"

    def accepted(self, path: str = "/hooks") -> list[Received]:
        return [r for r in self.requests if r.status == 204 and r.path == path]


@dataclass
class FakeClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The receivers here listen on 127.0.0.1, as an on-premises network's would."""
    return replace(settings, webhooks=replace(settings.webhooks, allow_private=True))


@pytest.fixture
def dns() -> FakeDns:
    return FakeDns()


@pytest.fixture
def network() -> RecordingNetwork:
    return RecordingNetwork()


@pytest.fixture
def services(services: Services, dns: FakeDns) -> Services:
    """Names resolve through `dns`: the machine has no outside DNS."""
    services.webhook_targets = replace(services.webhook_targets, resolver=dns)
    return services


@pytest.fixture
def clock(services: Services) -> FakeClock:
    clock = FakeClock(datetime.now(UTC))
    services.clock = clock
    return clock


@contextlib.asynccontextmanager
async def listening(receiver: Receiver) -> AsyncIterator[Receiver]:
    """`receiver` served on a free port of 127.0.0.1 for as long as the block runs."""
    app = Starlette(routes=[Route("/{path:path}", receiver.receive, methods=["POST"])])
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="none")
    )
    serving = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or serving.done():
            break
        await asyncio.sleep(0.01)
    assert server.started, "the receiver did not start"
    receiver.base_url = f"http://127.0.0.1:{port}"
    try:
        yield receiver
    finally:
        server.should_exit = True
        await serving


@pytest.fixture
async def receiver(clock: FakeClock) -> AsyncIterator[Receiver]:
    async with listening(Receiver(clock)) as receiver:
        yield receiver


@contextlib.asynccontextmanager
async def sending(services: Services, network: RecordingNetwork) -> AsyncIterator[HttpWebhookSender]:
    """A sender of the test's own, judging targets as `services` does and connecting through
    `network`; whatever the composition root built is put back after."""
    built = services.webhook_sender
    sender = HttpWebhookSender.create(guard=services.webhook_targets, network=network)
    services.webhook_sender = sender
    try:
        yield sender
    finally:
        services.webhook_sender = built
        await sender.aclose()


@pytest.fixture
async def sender(services: Services, network: RecordingNetwork) -> AsyncIterator[HttpWebhookSender]:
    async with sending(services, network) as sender:
        yield sender


# --- steps ---------------------------------------------------------------------------------

ADMIN = a_token("admin")


async def register(
    client: httpx.AsyncClient, url: str, event_types: list[str] | None = None
) -> dict[str, Any]:
    body = await execute(
        client, REGISTER, {"input": {"url": url, "eventTypes": event_types or []}}, token=ADMIN
    )
    payload: dict[str, Any] = body["data"]["registerWebhookEndpoint"]
    assert payload["userErrors"] == []
    return payload


async def place(client: httpx.AsyncClient) -> str:
    body = await execute(client, operation("PlaceOrder"), {"input": an_order_input()}, token=a_token("agent"))
    order_id: str = body["data"]["placeOrder"]["order"]["id"]
    return order_id


async def events_of(services: Services, order_id: str) -> list[OrderEvent]:
    async with services.store.read() as uow:
        return (await uow.events.by_order_ids([order_id]))[order_id]


@contextlib.asynccontextmanager
async def replica(settings: Settings, database: tuple[str, dict[str, Any]]) -> AsyncIterator[Services]:
    """Another process over the same database: its own engines, relay state and sender."""
    async with bootstrap.opened(
        settings, Store(database[0], connect_args=database[1]), prepared=False
    ) as other:
        yield other


async def deliveries(services: Services) -> list[OutboxTask]:
    async with services.store.read() as uow:
        return await uow.outbox.by_kind(WEBHOOK_DELIVERY)


async def deliver_all(services: Services, clock: FakeClock, rounds: int = 6) -> None:
    """Dispatch, then relay round after round with the clock moved past any backoff."""
    await dispatch_once(services)
    for _ in range(rounds):
        while await relay_once(services, HANDLERS):
            pass
        if all(task.done_at is not None for task in await deliveries(services)):
            return
        clock.advance(timedelta(hours=1, seconds=1))


async def log(client: httpx.AsyncClient, endpoint_id: str, first: int = 50) -> list[dict[str, Any]]:
    body = await execute(client, LOG, {"endpointId": endpoint_id, "first": first}, token=ADMIN)
    edges: list[dict[str, Any]] = body["data"]["webhookDeliveries"]["edges"]
    return [edge["node"] for edge in edges]


# --- behaviour -----------------------------------------------------------------------------


async def test_a_receiver_that_fails_three_times_gets_each_event_once_with_a_valid_signature(
    client: httpx.AsyncClient, services: Services, clock: FakeClock, receiver: Receiver, sender: object
) -> None:
    receiver.failures = 3
    registered = await register(client, receiver.url())
    order_id = await place(client)
    events = await events_of(services, order_id)

    await dispatch_once(services)
    await relay_once(services, HANDLERS)  # attempt 1 fails: next in 5 s
    clock.advance(timedelta(seconds=4))
    assert await relay_once(services, HANDLERS) == 0  # still backing off
    for wait in (timedelta(seconds=1), timedelta(seconds=10), timedelta(seconds=20)):
        clock.advance(wait)  # attempts 2 and 3 fail; attempt 4 succeeds
        assert await relay_once(services, HANDLERS) == len(events)

    accepted = receiver.accepted()
    assert Tally(r.headers["x-ordergate-event-id"] for r in accepted) == Tally(e.id for e in events)
    by_id = {e.id: e for e in events}
    for request in accepted:
        event = by_id[request.headers["x-ordergate-event-id"]]
        assert verify(
            registered["secret"], request.headers["x-ordergate-signature"], request.body, request.at
        )
        assert request.headers["x-ordergate-event-type"] == event.type
        assert request.headers["x-ordergate-sequence"] == str(event.seq)
        assert request.headers["x-ordergate-order-id"] == order_id
        assert request.headers["user-agent"] == "ordergate-webhooks/1"
    assert all(task.done_at is not None and task.attempts == 4 for task in await deliveries(services))
    placed = next(e for e in events if e.type == "ORDER_PLACED")
    history = [
        a for a in reversed(await log(client, registered["endpoint"]["id"])) if a["eventId"] == placed.id
    ]
    assert [a["statusCode"] for a in history] == [500, 500, 500, 204]
    assert [a["succeeded"] for a in history] == [False, False, False, True]


async def test_the_body_names_the_event_and_its_order(
    client: httpx.AsyncClient, services: Services, clock: FakeClock, receiver: Receiver, sender: object
) -> None:
    await register(client, receiver.url(), ["ORDER_PLACED"])
    order_id = await place(client)

    await deliver_all(services, clock)

    [request] = receiver.accepted()
    [placed] = [e for e in await events_of(services, order_id) if e.type == "ORDER_PLACED"]
    sent = httpx.Response(200, content=request.body).json()
    assert {k: sent[k] for k in ("id", "type", "orderId", "sequence")} == {
        "id": placed.id,
        "type": "ORDER_PLACED",
        "orderId": order_id,
        "sequence": placed.seq,
    }
    assert sent["cursor"]
    assert sent["occurredAt"]
    assert isinstance(sent["data"], dict)
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-ordergate-delivery"] == f"{(await deliveries(services))[0].key}"


async def test_events_of_types_an_endpoint_did_not_ask_for_are_not_sent(
    client: httpx.AsyncClient, services: Services, clock: FakeClock, receiver: Receiver, sender: object
) -> None:
    await register(client, receiver.url("/placed"), ["ORDER_PLACED"])
    await register(client, receiver.url("/all"))
    order_id = await place(client)

    await deliver_all(services, clock)

    events = await events_of(services, order_id)
    assert len(events) > 1
    assert [r.headers["x-ordergate-event-type"] for r in receiver.accepted("/placed")] == ["ORDER_PLACED"]
    assert sorted(r.headers["x-ordergate-event-id"] for r in receiver.accepted("/all")) == sorted(
        e.id for e in events
    )


async def test_an_endpoint_hears_only_of_events_after_it_was_registered(
    client: httpx.AsyncClient, services: Services, clock: FakeClock, receiver: Receiver, sender: object
) -> None:
    before = await place(client)
    await register(client, receiver.url())
    after = await place(client)

    await deliver_all(services, clock)

    orders = {r.headers["x-ordergate-order-id"] for r in receiver.accepted()}
    assert orders == {after}
    assert before not in orders


async def test_replay_sends_one_delivery_again_as_a_new_attempt(
    client: httpx.AsyncClient, services: Services, clock: FakeClock, receiver: Receiver, sender: object
) -> None:
    registered = await register(client, receiver.url(), ["ORDER_PLACED"])
    await place(client)
    await deliver_all(services, clock)
    [first] = await log(client, registered["endpoint"]["id"])
    clock.advance(timedelta(minutes=5))

    body = await execute(client, REPLAY, {"id": first["id"]}, token=ADMIN)
    await relay_once(services, HANDLERS)

    replayed = body["data"]["replayWebhookDelivery"]
    assert replayed["userErrors"] == []
    assert (replayed["delivery"]["eventId"], replayed["delivery"]["delivered"]) == (first["eventId"], False)
    assert [r.headers["x-ordergate-event-id"] for r in receiver.accepted()] == [first["eventId"]] * 2
    attempts = await log(client, registered["endpoint"]["id"])
    assert [a["statusCode"] for a in attempts] == [204, 204]
    assert attempts[1]["id"] == first["id"]
    assert {a["deliveryKey"] for a in attempts} == {first["deliveryKey"]}


async def test_after_a_restart_mid_retry_the_pending_deliveries_still_go_out(
    client: httpx.AsyncClient,
    services: Services,
    clock: FakeClock,
    receiver: Receiver,
    sender: object,
    settings: Settings,
    database: tuple[str, dict[str, Any]],
) -> None:
    receiver.failures = 1
    await register(client, receiver.url(), ["ORDER_PLACED"])
    retried = await place(client)
    await dispatch_once(services)
    await relay_once(services, HANDLERS)  # fails; waits in the outbox
    undispatched = await place(client)  # committed, never dispatched before the "crash"

    async with replica(settings, database) as restarted:
        restarted.clock = clock
        clock.advance(timedelta(minutes=1))
        await deliver_all(restarted, clock)

    accepted = Tally(r.headers["x-ordergate-order-id"] for r in receiver.accepted())
    assert accepted == Tally({retried: 1, undispatched: 1})


async def test_two_dispatchers_over_one_database_create_each_task_once(
    client: httpx.AsyncClient, services: Services, settings: Settings, database: tuple[str, dict[str, Any]]
) -> None:
    await register(client, "https://hooks.example.com/a")
    await register(client, "https://hooks.example.com/b", ["ORDER_PLACED"])
    orders = [await place(client) for _ in range(3)]
    expected = sum([1 + len(await events_of(services, order_id)) for order_id in orders])  # b + a

    async def dispatch(dispatcher: Services) -> None:
        while await dispatch_once(dispatcher, limit=2):
            pass

    async with replica(settings, database) as other:
        await asyncio.gather(dispatch(services), dispatch(other))

    keys = [task.key for task in await deliveries(services)]
    assert len(keys) == len(set(keys)) == expected


async def test_a_deactivated_endpoint_gives_up_its_pending_deliveries(
    client: httpx.AsyncClient, services: Services, clock: FakeClock, receiver: Receiver, sender: object
) -> None:
    receiver.failures = 10
    registered = await register(client, receiver.url(), ["ORDER_PLACED"])
    await place(client)
    await dispatch_once(services)
    await relay_once(services, HANDLERS)

    body = await execute(
        client, UPDATE, {"input": {"id": registered["endpoint"]["id"], "active": False}}, token=ADMIN
    )
    clock.advance(timedelta(minutes=1))
    await relay_once(services, HANDLERS)

    assert body["data"]["updateWebhookEndpoint"]["endpoint"]["active"] is False
    [task] = await deliveries(services)
    assert task.done_at is not None
    assert (task.result or "").startswith("gave up")
    assert len(receiver.requests) == 1


async def test_an_unreachable_receiver_is_logged_and_retried(
    client: httpx.AsyncClient, services: Services, clock: FakeClock, sender: object
) -> None:
    registered = await register(client, f"http://127.0.0.1:{free_port()}/hooks", ["ORDER_PLACED"])
    await place(client)

    await dispatch_once(services)
    await relay_once(services, HANDLERS)

    [attempt] = await log(client, registered["endpoint"]["id"])
    assert (attempt["statusCode"], attempt["succeeded"], attempt["error"]) == (
        None,
        False,
        "could not connect",
    )
    [task] = await deliveries(services)
    assert task.done_at is None
    assert task.available_at > clock()


async def test_rotating_the_secret_returns_the_new_one_once(client: httpx.AsyncClient) -> None:
    registered = await register(client, "https://hooks.example.com/a")

    body = await execute(
        client, UPDATE, {"input": {"id": registered["endpoint"]["id"], "rotateSecret": True}}, token=ADMIN
    )
    listed = await execute(client, ENDPOINTS, token=ADMIN)

    rotated = body["data"]["updateWebhookEndpoint"]["secret"]
    assert rotated
    assert rotated != registered["secret"]
    assert listed["data"]["webhookEndpoints"] == [registered["endpoint"]]
    assert "secret" not in str(listed)


async def test_only_admins_manage_webhooks(client: httpx.AsyncClient) -> None:
    agent = a_token("agent")

    registered = await execute(client, REGISTER, {"input": {"url": "https://hooks.example.com"}}, token=agent)
    listed = await execute(client, ENDPOINTS, token=agent)

    assert [e["code"] for e in registered["data"]["registerWebhookEndpoint"]["userErrors"]] == ["FORBIDDEN"]
    assert error_codes(listed) == ["FORBIDDEN"]


async def test_bad_input_is_refused_with_stable_codes(client: httpx.AsyncClient) -> None:
    bad_url = await execute(client, REGISTER, {"input": {"url": "ftp://hooks.example.com"}}, token=ADMIN)
    bad_type = await execute(
        client, REGISTER, {"input": {"url": "https://hooks.example.com", "eventTypes": ["NOPE"]}}, token=ADMIN
    )
    unknown = await execute(client, UPDATE, {"input": {"id": "missing", "active": False}}, token=ADMIN)
    no_log = await execute(client, LOG, {"endpointId": "missing"}, token=ADMIN)

    def codes(body: dict[str, Any], field: str) -> list[str]:
        return [e["code"] for e in body["data"][field]["userErrors"]]

    assert codes(bad_url, "registerWebhookEndpoint") == ["INVALID_URL"]
    assert codes(bad_type, "registerWebhookEndpoint") == ["UNKNOWN_EVENT_TYPE"]
    assert codes(unknown, "updateWebhookEndpoint") == ["NOT_FOUND"]
    assert error_codes(no_log) == ["NOT_FOUND"]


# --- targets inside the network ------------------------------------------------------------


def strict(services: Services) -> None:
    """Public targets only, as by default (this module allows private ones for its receivers)."""
    services.webhook_targets = replace(services.webhook_targets, allow_private=False)


def codes_of(body: dict[str, Any], mutation: str) -> list[tuple[str, list[str]]]:
    return [(e["code"], e["field"]) for e in body["data"][mutation]["userErrors"]]


async def test_urls_that_point_inside_the_network_are_refused_at_registration(
    client: httpx.AsyncClient, services: Services
) -> None:
    strict(services)
    expected = {url: [("WEBHOOK_URL_NOT_ALLOWED", ["input", "url"])] for url in NOT_ALLOWED}
    expected |= {url: [("INVALID_URL", ["input", "url"])] for url in INVALID}

    answers = {url: await execute(client, REGISTER, {"input": {"url": url}}, token=ADMIN) for url in expected}

    assert {url: codes_of(body, "registerWebhookEndpoint") for url, body in answers.items()} == expected
    messages = {
        e["message"]
        for url in NOT_ALLOWED
        for e in answers[url]["data"]["registerWebhookEndpoint"]["userErrors"]
    }
    assert len(messages) == 1  # one message whatever the host resolved to, or did not
    assert not any(address in str(messages) for address in ("10.0.0.5", "127.0.0.1", "169.254"))
    listed = await execute(client, ENDPOINTS, token=ADMIN)
    assert listed["data"]["webhookEndpoints"] == []


async def test_a_public_url_is_registered(
    client: httpx.AsyncClient, services: Services, dns: FakeDns
) -> None:
    strict(services)

    registered = await register(client, "https://hooks.example.com/ordergate")

    assert registered["endpoint"]["url"] == "https://hooks.example.com/ordergate"
    assert dns.asked == ["hooks.example.com"]


async def test_an_update_may_not_point_an_endpoint_inside(
    client: httpx.AsyncClient, services: Services
) -> None:
    strict(services)
    registered = await register(client, "https://hooks.example.com/a")
    endpoint_id = registered["endpoint"]["id"]

    body = await execute(
        client, UPDATE, {"input": {"id": endpoint_id, "url": "http://169.254.169.254/"}}, token=ADMIN
    )
    listed = await execute(client, ENDPOINTS, token=ADMIN)

    assert codes_of(body, "updateWebhookEndpoint") == [("WEBHOOK_URL_NOT_ALLOWED", ["input", "url"])]
    assert [e["url"] for e in listed["data"]["webhookEndpoints"]] == ["https://hooks.example.com/a"]


async def test_private_targets_allowed_still_leave_metadata_and_link_local_refused(
    client: httpx.AsyncClient,
) -> None:
    allowed = [await register(client, url) for url in ("http://10.0.0.1/", "http://localhost:8080/")]
    refused = [
        await execute(client, REGISTER, {"input": {"url": url}}, token=ADMIN)
        for url in ("http://169.254.169.254/", "http://metadata.google.internal/", "http://[fe80::1]/")
    ]

    assert [r["endpoint"]["url"] for r in allowed] == ["http://10.0.0.1/", "http://localhost:8080/"]
    assert [codes_of(body, "registerWebhookEndpoint") for body in refused] == [
        [("WEBHOOK_URL_NOT_ALLOWED", ["input", "url"])]
    ] * 3


async def test_a_name_that_resolves_to_loopback_at_delivery_is_refused_there_and_nothing_connects(
    client: httpx.AsyncClient,
    services: Services,
    clock: FakeClock,
    receiver: Receiver,
    dns: FakeDns,
    network: RecordingNetwork,
) -> None:
    strict(services)
    dns.answers["rebind.example.com"] = [PUBLIC_V4]
    url = receiver.url().replace("127.0.0.1", "rebind.example.com")
    registered = await register(client, url, ["ORDER_PLACED"])
    await place(client)
    dns.answers["rebind.example.com"] = ["127.0.0.1"]  # the attacker's DNS changes its answer

    async with sending(services, network):
        await dispatch_once(services)
        await relay_once(services, HANDLERS)

    [attempt] = await log(client, registered["endpoint"]["id"])
    assert (attempt["statusCode"], attempt["succeeded"], attempt["error"]) == (
        None,
        False,
        "target not allowed",
    )
    [task] = await deliveries(services)
    assert (task.done_at is not None, task.result) == (True, "gave up: target not allowed")
    assert network.connected == []
    assert receiver.requests == []


async def test_a_delivery_refused_for_its_target_goes_out_when_replayed_after_dns_is_fixed(
    client: httpx.AsyncClient,
    services: Services,
    clock: FakeClock,
    receiver: Receiver,
    dns: FakeDns,
    network: RecordingNetwork,
    sender: object,
) -> None:
    dns.answers["receiver.example.com"] = ["127.0.0.1"]
    url = receiver.url().replace("127.0.0.1", "receiver.example.com")
    registered = await register(client, url, ["ORDER_PLACED"])
    await place(client)
    dns.answers["receiver.example.com"] = ["169.254.169.254"]  # never allowed, even on premises
    await dispatch_once(services)
    await relay_once(services, HANDLERS)
    [refused] = await log(client, registered["endpoint"]["id"])
    refused_connections = list(network.connected)

    dns.answers["receiver.example.com"] = ["127.0.0.1"]
    clock.advance(timedelta(minutes=5))
    replayed = await execute(client, REPLAY, {"id": refused["id"]}, token=ADMIN)
    await relay_once(services, HANDLERS)

    assert (refused["error"], refused_connections) == ("target not allowed", [])
    assert replayed["data"]["replayWebhookDelivery"]["userErrors"] == []
    assert [a["statusCode"] for a in await log(client, registered["endpoint"]["id"])] == [204, None]
    assert network.connected == [("127.0.0.1", int(receiver.base_url.rpartition(":")[2]))]
    assert len(receiver.accepted()) == 1


# --- the pure rules (no database) ----------------------------------------------------------

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SECRET = "whsec-test-secret-0123456789"


def test_a_signature_verifies_only_the_body_secret_and_time_it_was_made_for() -> None:
    body = b'{"id":"e1"}'
    header = signature(SECRET, int(NOW.timestamp()), body)

    assert verify(SECRET, header, body, NOW)
    assert verify(SECRET, header, body, NOW + timedelta(seconds=299))
    assert not verify(SECRET, header, b'{"id":"e2"}', NOW)
    assert not verify(SECRET, header, b'{"id": "e1"}', NOW)  # re-serialised JSON
    assert not verify("another-secret-0123456789", header, body, NOW)
    assert not verify(SECRET, header, body, NOW + timedelta(seconds=301))
    assert not verify(SECRET, "v1=" + header.partition(",v1=")[2], body, NOW)
    assert not verify(SECRET, "garbage", body, NOW)


def test_the_signature_is_stripe_shaped() -> None:
    header = signature("secret", 1_700_000_000, b"{}")

    assert header == "t=1700000000,v1=" + hmac.new(b"secret", b"1700000000.{}", hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.com/",
        "https://",
        "hooks.example.com/path",
        "https://user:password@hooks.example.com/",
        "https://hooks.example.com/a b",
        "https://hooks.example.com:99999/",
        "https://hooks.example.com/" + "a" * 2048,
    ],
)
def test_a_webhook_url_must_be_plain_http_or_https_with_a_host(url: str) -> None:
    assert [p.code for p in url_problems(url)] == ["INVALID_URL"]


@pytest.mark.parametrize("url", ["https://hooks.example.com/ordergate", "http://127.0.0.1:8080/hooks?x=1"])
def test_good_webhook_urls_pass(url: str) -> None:
    assert url_problems(url) == []


def test_private_targets_stay_refused_unless_the_setting_allows_them() -> None:
    assert Settings.from_env({}).webhooks.allow_private is False
    assert Settings.from_env({"ORDERGATE_WEBHOOKS_ALLOW_PRIVATE": "on"}).webhooks.allow_private is True
