"""The SMTP mailer against real SMTP servers (aiosmtpd): the sandbox's sink, and servers that
defer or refuse; the sink's pages read what it kept, escaped."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from ordergate.connectors.errors import UpstreamUnavailable
from ordergate.connectors.mail import smtp
from ordergate.connectors.mail.base import MailRejected
from ordergate.connectors.mail.smtp import SmtpMailer
from ordergate.models.emails import Email, EmailKind
from ordergate.sandbox.mail import MailSink
from ordergate.usecases.services import DEMO_SENDER
from tests.server import free_port


def an_email(**changes: str) -> Email:
    values = {
        "to": "ann@example.com",
        "subject": "Your order OG-1 has shipped",
        "text": "Track it: https://track.example/1Z?x=1&y=2\n",
        "html": "<p onclick=alert(1)>Shipped <script>alert(1)</script></p>",
        "message_id": "<event-1.shipped@shop.example>",
        **changes,
    }
    return Email(sender=DEMO_SENDER, kind=EmailKind.SHIPPED, **values)


@asynccontextmanager
async def sink() -> AsyncIterator[MailSink]:
    server = MailSink(keep=3)
    await server.start()
    try:
        yield server
    finally:
        await server.aclose()


class Answering:
    """An SMTP server's handler that answers every recipient with one reply."""

    def __init__(self, reply: str) -> None:
        self.reply = reply

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        return self.reply


@asynccontextmanager
async def answering(reply: str) -> AsyncIterator[int]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(Answering(reply)), "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def test_a_message_reaches_the_server_with_its_headers_and_both_parts() -> None:
    async with sink() as server:
        await SmtpMailer(server.url).send(an_email())

        [kept] = server.received
    assert kept.rcpt_tos == ("ann@example.com",)
    assert kept.mail_from == "orders@shop.example"
    assert kept.header("From") == "Ordergate Demo Store <orders@shop.example>"
    assert kept.header("Reply-To") == "support@shop.example"
    assert kept.header("Message-ID") == "<event-1.shipped@shop.example>"
    assert kept.header("Auto-Submitted") == "auto-generated"
    assert kept.subject == "Your order OG-1 has shipped"
    assert kept.text == "Track it: https://track.example/1Z?x=1&y=2\n"
    assert "<script>alert(1)</script>" in kept.html


async def test_the_sink_keeps_what_arrives_unparsed_until_it_is_read_and_reads_it_once() -> None:
    async with sink() as server:
        mailer = SmtpMailer(server.url)
        await mailer.send(an_email(subject="first"))
        await mailer.send(an_email(subject="second"))
        unread = [type(mail).__name__ for mail in server._arrived]

        first_read = server.received
        again = server.received

    assert unread == ["Unread", "Unread"]  # the relay's send paid for no parsing
    assert [mail.subject for mail in first_read] == ["first", "second"]
    assert all(a is b for a, b in zip(first_read, again, strict=True))  # parsed once, kept parsed


async def test_the_mailer_looks_up_the_name_it_greets_with_once_not_per_message() -> None:
    async with sink() as server:
        mailer = SmtpMailer(server.url)
        await mailer.send(an_email(subject="first"))
        looked_up = mailer._local_hostname
        await mailer.send(an_email(subject="second"))

    assert looked_up == socket.getfqdn()
    assert mailer._local_hostname is looked_up
    assert [mail.subject for mail in server.received] == ["first", "second"]


async def test_a_server_that_is_down_is_unavailable_for_now() -> None:
    with pytest.raises(UpstreamUnavailable):
        await SmtpMailer(f"smtp://127.0.0.1:{free_port()}", timeout=2).send(an_email())


async def test_a_deferred_recipient_is_unavailable_for_now_and_a_refused_one_for_good() -> None:
    async with answering("451 4.3.0 try again later") as port:
        with pytest.raises(UpstreamUnavailable) as deferred:
            await SmtpMailer(f"smtp://127.0.0.1:{port}").send(an_email())
    async with answering("550 5.1.1 no such user") as port:
        with pytest.raises(MailRejected) as refused:
            await SmtpMailer(f"smtp://127.0.0.1:{port}").send(an_email())

    assert not isinstance(deferred.value, MailRejected)
    assert refused.value.status == 550


def test_an_smtp_url_names_the_server_its_tls_and_login() -> None:
    plain = SmtpMailer("smtp://user%40shop:p%3Ass@mail.example:587").server
    implicit = SmtpMailer("smtps://mail.example").server

    assert (plain.hostname, plain.port, plain.use_tls, plain.username, plain.password) == (
        "mail.example",
        587,
        False,
        "user@shop",
        "p:ss",
    )
    assert (implicit.port, implicit.use_tls) == (465, True)
    with pytest.raises(ValueError, match="SMTP URL"):
        SmtpMailer("http://mail.example")


async def test_the_sink_lists_the_newest_first_keeps_the_last_few_and_escapes_every_page() -> None:
    async with sink() as server:
        mailer = SmtpMailer(server.url)
        for number in range(4):
            await mailer.send(
                an_email(subject=f"<b>message {number}</b>", message_id=f"<m{number}@shop.example>")
            )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=server.app), base_url="http://sink.test"
        ) as client:
            listing = await client.get("/")
            shown = await client.get("/4")
            html = await client.get("/4/html")
            gone = await client.get("/1")

    assert [mail.number for mail in server.received] == [2, 3, 4]  # keep=3
    assert listing.text.index("message 3") < listing.text.index("message 1")
    assert "&lt;b&gt;message 3&lt;/b&gt;" in listing.text
    assert "<b>message" not in listing.text
    assert "&lt;script&gt;" not in shown.text  # the HTML part is not in the page, only framed
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox" src="/4/html"' in shown.text
    assert 'href="https://track.example/1Z?x=1&amp;y=2"' in shown.text
    assert "script-src" not in html.headers["content-security-policy"]
    assert "default-src 'none'" in html.headers["content-security-policy"]
    assert "sandbox" in html.headers["content-security-policy"]
    assert gone.status_code == 404


async def test_a_send_cancelled_while_the_message_goes_out_drops_the_connection_without_a_quit() -> None:
    """A relay stopped mid-message must not wait for a server still reading that message: a QUIT
    there is read as more of the message, and nothing answers it until the mailer's timeout."""
    heard: list[bytes] = []
    reading = asyncio.Event()
    closed = asyncio.Event()

    async def reading_forever(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 slow.example ESMTP\r\n")
        while line := await reader.readline():
            heard.append(line)
            command = line.strip().upper()
            if command.startswith(b"EHLO"):
                writer.write(b"250 slow.example\r\n")
            elif command.startswith((b"MAIL", b"RCPT")):
                writer.write(b"250 OK\r\n")
            elif command == b"DATA":
                writer.write(b"354 go on\r\n")
            elif heard[-2:-1] and heard[-2].strip().upper() == b"DATA":
                reading.set()  # the message has begun: read on, answer nothing
        closed.set()
        writer.close()

    server = await asyncio.start_server(reading_forever, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        mailer = SmtpMailer(f"smtp://127.0.0.1:{port}", timeout=3600)  # only a dropped line ends it
        sending = asyncio.create_task(mailer.send(an_email(text="line\n" * 200_000)))
        await reading.wait()
        sending.cancel()
        async with asyncio.timeout(60):  # a guard against hanging, not a measure: the fix ends at once
            with pytest.raises(asyncio.CancelledError):
                await sending
            await closed.wait()
    finally:
        server.close()
        await server.wait_closed()

    assert not any(line.strip().upper() == b"QUIT" for line in heard)


class Peers:
    """An SMTP server's handler that keeps each message's subject with the connection it came on."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, object]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        subject = next(
            (line[9:].decode() for line in content.splitlines() if line.startswith(b"Subject: ")), ""
        )
        self.seen.append((subject, session.peer))
        return "250 OK"


@asynccontextmanager
async def peers(idle_timeout: float = 300) -> AsyncIterator[tuple[int, Peers]]:
    """A server that drops a connection left idle for `idle_timeout` seconds, as servers do."""
    handler = Peers()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, timeout=idle_timeout), "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], handler
    finally:
        server.close()
        await server.wait_closed()


async def test_messages_in_a_burst_share_one_connection_and_closing_says_quit() -> None:
    async with peers() as (port, handler):
        mailer = SmtpMailer(f"smtp://127.0.0.1:{port}")
        for number in range(3):
            await mailer.send(an_email(subject=f"burst {number}"))
        kept = list(mailer._idle)
        await mailer.aclose()

    assert [subject for subject, _ in handler.seen] == ["burst 0", "burst 1", "burst 2"]
    assert len({peer for _, peer in handler.seen}) == 1
    assert len(kept) == 1
    assert not mailer._idle
    assert not kept[0].client.is_connected


async def test_a_connection_the_server_dropped_while_idle_is_replaced_and_the_message_still_goes() -> None:
    async with peers(idle_timeout=0.2) as (port, handler):
        mailer = SmtpMailer(f"smtp://127.0.0.1:{port}")
        await mailer.send(an_email(subject="before"))
        await asyncio.sleep(0.6)  # the server hangs up on the idle connection
        await mailer.send(an_email(subject="after"))
        await mailer.aclose()

    assert [subject for subject, _ in handler.seen] == ["before", "after"]
    assert handler.seen[0][1] != handler.seen[1][1]


async def test_a_connection_idle_past_the_keeping_time_or_full_is_not_used_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with peers() as (port, handler):
        mailer = SmtpMailer(f"smtp://127.0.0.1:{port}")
        monkeypatch.setattr(smtp, "KEEP_IDLE_SECONDS", 0.0)
        await mailer.send(an_email(subject="one"))
        await asyncio.sleep(0.01)
        await mailer.send(an_email(subject="two"))
        monkeypatch.setattr(smtp, "KEEP_IDLE_SECONDS", 300.0)
        monkeypatch.setattr(smtp, "MESSAGES_PER_CONNECTION", 2)
        for number in range(3):
            await mailer.send(an_email(subject=f"full {number}"))
        await mailer.aclose()

    connections = [peer for _, peer in handler.seen]
    assert [subject for subject, _ in handler.seen] == ["one", "two", "full 0", "full 1", "full 2"]
    assert connections[0] != connections[1]  # idle too long: a new one
    assert connections[1] == connections[2]  # "two" was its first message: "full 0" its second
    assert connections[3] not in connections[:3]  # that one was full: QUIT, and a new one
