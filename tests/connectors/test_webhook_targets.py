"""Where our outgoing webhooks may connect: the guard that resolves and judges a URL's host,
and the sender that connects only to an address the guard allowed in that same step.

Names resolve through `FakeDns` (the machine has no outside DNS); connections are real, to a
small HTTP server on 127.0.0.1, through a network backend that records each one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from ipaddress import ip_address

import pytest

from ordergate.connectors.webhooks.base import WebhookSendFailed, WebhookTargetRefused
from ordergate.connectors.webhooks.http import HttpWebhookSender
from ordergate.connectors.webhooks.targets import TargetGuard, TargetRefused, TargetUnresolvable
from tests.server import free_port
from tests.targets import (
    NOT_ALLOWED,
    ON_PREMISES,
    PUBLIC_V4,
    PUBLIC_V6,
    STILL_NOT_ALLOWED,
    FakeDns,
    RecordingNetwork,
)

Refused = (TargetRefused, TargetUnresolvable)


@dataclass
class Server:
    """Answers every request 204, or never answers when `silent`; keeps each request's head."""

    silent: bool = False
    port: int = 0
    heads: list[str] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode()
            self.heads.append(head)
            if self.silent:
                await reader.read()  # until the client gives up
                return
            length = next(
                (
                    int(line.partition(":")[2])
                    for line in head.split("\r\n")
                    if line.lower().startswith("content-length:")
                ),
                0,
            )
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
            await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


@contextlib.asynccontextmanager
async def serving(silent: bool = False) -> AsyncIterator[Server]:
    server = Server(silent=silent)
    listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.port = listening.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listening.close()
        await listening.wait_closed()


@contextlib.asynccontextmanager
async def sender(
    guard: TargetGuard, network: RecordingNetwork, timeout: float = 5.0
) -> AsyncIterator[HttpWebhookSender]:
    built = HttpWebhookSender.create(guard=guard, network=network, timeout=timeout)
    try:
        yield built
    finally:
        await built.aclose()


# --- the guard ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", NOT_ALLOWED)
async def test_a_url_that_points_inside_is_refused(url: str) -> None:
    guard = TargetGuard(resolver=FakeDns())

    with pytest.raises(Refused):
        await guard.check_url(url)


async def test_a_public_host_is_allowed_with_every_address_it_resolves_to() -> None:
    guard = TargetGuard(resolver=FakeDns())

    await guard.check_url("https://hooks.example.com/ordergate")
    found = await guard.addresses("hooks.example.com")

    assert found == [ip_address(PUBLIC_V4), ip_address(PUBLIC_V6)]


@pytest.mark.parametrize("url", ON_PREMISES)
async def test_private_targets_are_allowed_when_the_setting_says_so(url: str) -> None:
    with pytest.raises(Refused):
        await TargetGuard(resolver=FakeDns()).check_url(url)

    await TargetGuard(allow_private=True, resolver=FakeDns()).check_url(url)


@pytest.mark.parametrize("url", STILL_NOT_ALLOWED)
async def test_metadata_and_link_local_stay_refused_with_private_targets_allowed(url: str) -> None:
    guard = TargetGuard(allow_private=True, resolver=FakeDns())

    with pytest.raises(Refused):
        await guard.check_url(url)


@pytest.mark.parametrize(
    "host", ["localhost", "foo.localhost", "metadata.google.internal", "127.0.0.1", "0x7f.1"]
)
async def test_names_and_literals_that_are_refused_by_definition_ask_no_resolver(host: str) -> None:
    dns = FakeDns()

    with pytest.raises(TargetRefused):
        await TargetGuard(resolver=dns).addresses(host)

    assert dns.asked == []


async def test_a_resolver_that_does_not_answer_in_time_leaves_the_host_unresolved() -> None:
    async def stuck(host: str) -> Sequence[str]:
        await asyncio.Event().wait()
        return []

    with pytest.raises(TargetUnresolvable):
        await TargetGuard(resolver=stuck, resolve_seconds=0.01).addresses("hooks.example.com")


async def test_a_host_that_resolves_to_no_address_is_unresolved() -> None:
    dns = FakeDns({"empty.example.com": []})

    with pytest.raises(TargetUnresolvable):
        await TargetGuard(resolver=dns).addresses("empty.example.com")


# --- the sender --------------------------------------------------------------------------------


async def test_the_sender_connects_to_the_address_it_checked_and_keeps_the_name_in_the_host_header() -> None:
    network = RecordingNetwork()
    guard = TargetGuard(allow_private=True, resolver=FakeDns({"receiver.test": ["127.0.0.1"]}))
    async with serving() as server, sender(guard, network) as client:
        status, _ = await client.post(f"http://receiver.test:{server.port}/hooks", b"{}", {})

    assert status == 204
    assert network.connected == [("127.0.0.1", server.port)]
    assert f"host: receiver.test:{server.port}" in server.heads[0].lower()


async def test_a_name_that_now_resolves_inside_is_refused_before_any_connection() -> None:
    network = RecordingNetwork()
    guard = TargetGuard(resolver=FakeDns({"receiver.test": [PUBLIC_V4, "127.0.0.1"]}))
    async with serving() as server, sender(guard, network) as client:
        with pytest.raises(WebhookTargetRefused) as refused:
            await client.post(f"http://receiver.test:{server.port}/hooks", b"{}", {})

    assert refused.value.message == "target not allowed"
    assert network.connected == []
    assert server.heads == []


async def test_a_literal_address_inside_is_refused_before_any_connection() -> None:
    network = RecordingNetwork()
    async with serving() as server, sender(TargetGuard(resolver=FakeDns()), network) as client:
        with pytest.raises(WebhookTargetRefused):
            await client.post(f"http://0x7f.1:{server.port}/hooks", b"{}", {})

    assert network.connected == []
    assert server.heads == []


async def test_each_allowed_address_is_tried_in_turn() -> None:
    network = RecordingNetwork()
    guard = TargetGuard(allow_private=True, resolver=FakeDns({"receiver.test": ["127.0.0.2", "127.0.0.1"]}))
    async with serving() as server, sender(guard, network) as client:  # listens on 127.0.0.1 only
        status, _ = await client.post(f"http://receiver.test:{server.port}/hooks", b"{}", {})

    assert status == 204
    assert network.connected == [("127.0.0.2", server.port), ("127.0.0.1", server.port)]


async def test_a_closed_port_reads_only_could_not_connect() -> None:
    guard = TargetGuard(allow_private=True, resolver=FakeDns())
    port = free_port()
    async with sender(guard, RecordingNetwork()) as client:
        with pytest.raises(WebhookSendFailed) as failed:
            await client.post(f"http://127.0.0.1:{port}/hooks", b"{}", {})

    assert failed.value.message == "could not connect"
    assert not isinstance(failed.value, WebhookTargetRefused)


async def test_a_receiver_that_never_answers_reads_only_timed_out() -> None:
    guard = TargetGuard(allow_private=True, resolver=FakeDns())
    async with serving(silent=True) as server, sender(guard, RecordingNetwork(), timeout=0.2) as client:
        with pytest.raises(WebhookSendFailed) as failed:
            await client.post(f"http://127.0.0.1:{server.port}/hooks", b"{}", {})

    assert failed.value.message == "timed out"


async def test_a_name_that_no_longer_resolves_reads_only_could_not_connect() -> None:
    network = RecordingNetwork()
    async with sender(TargetGuard(resolver=FakeDns()), network) as client:
        with pytest.raises(WebhookSendFailed) as failed:
            await client.post("http://gone.example.com/hooks", b"{}", {})

    assert failed.value.message == "could not connect"
    assert not isinstance(failed.value, WebhookTargetRefused)
    assert network.connected == []
