"""Email over SMTP with aiosmtplib: `smtp://user:password@host:587` (STARTTLS whenever the
server offers it) or `smtps://user:password@host:465` (TLS from the first byte).

A connection is kept for the next message for a few seconds (`KEEP_IDLE_SECONDS`, at most
`KEEP_CONNECTIONS` of them, each for at most `MESSAGES_PER_CONNECTION` messages): transactional
email is a trickle most of the time, when a connection kept longer is one a server would drop
anyway, but a sale's confirmations are a burst, and a connection per message is a TLS handshake
and a login per message. A kept connection is asked NOOP before it is used; one that does not
answer is dropped and a new one made, and any failure while sending drops the connection it
happened on. The message carries its own `Message-ID` (derived from the event it tells of), so
a send retried after an unclear ending is the same message to whoever received the first.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aiosmtplib

from ordergate.connectors.errors import UpstreamUnavailable
from ordergate.connectors.mail.base import UPSTREAM, MailRejected
from ordergate.connectors.mail.wire import needs_utf8, wire
from ordergate.models.emails import Email

TIMEOUT_SECONDS = 30.0
KEEP_IDLE_SECONDS = 10.0
KEEP_CONNECTIONS = 4
MESSAGES_PER_CONNECTION = 100
NOOP_TIMEOUT_SECONDS = 5.0  # a kept connection that does not answer this soon is replaced
PORTS = {"smtp": 25, "smtps": 465}
SERVER_WIDE = (
    aiosmtplib.SMTPAuthenticationError,
    aiosmtplib.SMTPConnectResponseError,
    aiosmtplib.SMTPHeloError,
)


@dataclass(frozen=True)
class SmtpServer:
    hostname: str
    port: int
    use_tls: bool
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in PORTS or not parts.hostname:
            raise ValueError("an SMTP URL is smtp://[user:password@]host[:port] or smtps://...")
        return cls(
            hostname=parts.hostname,
            port=parts.port or PORTS[parts.scheme],
            use_tls=parts.scheme == "smtps",
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


class SmtpMailer:
    """`url` is the server's, or says where it is at each send (the sandbox's sink has its port
    once it serves)."""

    def __init__(self, url: str | Callable[[], str], *, timeout: float = TIMEOUT_SECONDS) -> None:
        self._url = url
        if isinstance(url, str):
            SmtpServer.parse(url)  # a bad URL stops the gateway at start, not at the first email
        self.timeout = timeout
        self._local_hostname: str | None = None
        self._idle: list[_Kept] = []  # connections between messages, the most recently used last

    @property
    def server(self) -> SmtpServer:
        return SmtpServer.parse(self._url if isinstance(self._url, str) else self._url())

    async def send(self, message: Email) -> None:
        try:
            await self._send(message)
        finally:
            _raise_if_cancelled()

    async def local_hostname(self) -> str:
        """The name this host greets servers with (EHLO), looked up once: aiosmtplib would look
        it up on a thread at every connection."""
        if self._local_hostname is None:
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)
        return self._local_hostname

    async def _send(self, message: Email) -> None:
        server = self.server
        try:
            await self._deliver(server, message, wire(message))
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [refused.code for refused in error.recipients]
            if codes and all(code >= 500 for code in codes):
                raise MailRejected(f"recipient refused ({codes[0]})", codes[0]) from None
            deferred = codes[0] if codes else "?"
            raise UpstreamUnavailable(UPSTREAM, f"recipient deferred ({deferred})") from None
        except aiosmtplib.SMTPResponseException as error:
            # A refused login or greeting is the server's setup, not this message: it waits.
            if error.code >= 500 and not isinstance(error, SERVER_WIDE):
                raise MailRejected(f"refused: {error.code} {error.message}"[:200], error.code) from None
            raise UpstreamUnavailable(UPSTREAM, f"{error.code} {error.message}"[:200]) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise UpstreamUnavailable(UPSTREAM, f"{type(error).__name__}: {error}"[:200]) from None

    async def _deliver(self, server: SmtpServer, message: Email, data: bytes) -> None:
        """The message (`wire`) over a kept connection when one still answers, else a new one; a
        send broken off (cancelled as the relay stops, or failed mid-message) drops the
        connection at once. aiosmtplib says QUIT first, and a server still reading the message
        answers nothing until the timeout: a stopping relay waited 30 s for it."""
        local_hostname = await self.local_hostname()
        kept = await self._kept(server)
        if kept is None:
            kept = _Kept(self._client(server, local_hostname), server)
            try:
                await kept.client.connect()
            except BaseException:
                kept.client.close()
                raise
        try:
            await kept.client.sendmail(
                message.sender.from_address,
                [message.to],
                data,
                mail_options=["SMTPUTF8"] if needs_utf8(message) else [],
            )
        except BaseException:
            kept.client.close()
            raise
        kept.sent += 1
        kept.idle_since = asyncio.get_running_loop().time()
        if kept.sent >= MESSAGES_PER_CONNECTION:
            await _quit(kept.client)
            return
        self._idle.append(kept)
        while len(self._idle) > KEEP_CONNECTIONS:
            await _quit(self._idle.pop(0).client)

    def _client(self, server: SmtpServer, local_hostname: str) -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(
            hostname=server.hostname,
            port=server.port,
            local_hostname=local_hostname,
            username=server.username,
            password=server.password,
            use_tls=server.use_tls,
            start_tls=None if not server.use_tls else False,  # None: STARTTLS when offered
            timeout=self.timeout,
        )

    async def _kept(self, server: SmtpServer) -> _Kept | None:
        """The most recently used kept connection to `server` that still answers NOOP; those
        idle too long (or to another server: the URL changed) are dropped on the way."""
        now = asyncio.get_running_loop().time()
        while self._idle:
            kept = self._idle.pop()
            if kept.server != server or now - kept.idle_since > KEEP_IDLE_SECONDS:
                kept.client.close()  # no QUIT: a server that dropped it already would not answer
                continue
            try:
                await kept.client.noop(timeout=min(self.timeout, NOOP_TIMEOUT_SECONDS))
            except BaseException as error:
                kept.client.close()
                if not isinstance(error, Exception):
                    raise
                continue
            return kept
        return None

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for kept in idle:
            await _quit(kept.client)


@dataclass
class _Kept:
    client: aiosmtplib.SMTP
    server: SmtpServer
    sent: int = 0
    idle_since: float = 0.0


async def _quit(client: aiosmtplib.SMTP) -> None:
    """QUIT, as a courtesy (briefly: a server that does not answer is not waited for), then close."""
    try:
        async with asyncio.timeout(1):
            await client.quit()
    except (
        aiosmtplib.SMTPException,
        OSError,
        TimeoutError,
    ):
        pass
    finally:
        client.close()


def _raise_if_cancelled() -> None:
    """aiosmtplib waits with `asyncio.wait_for`, which on Python 3.11 can swallow a cancellation
    that arrives as the server answers: the relay being stopped would then run on forever."""
    task = asyncio.current_task()
    if task is not None and task.cancelling() and sys.version_info < (3, 12):
        raise asyncio.CancelledError
