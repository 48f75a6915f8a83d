"""Sending our webhooks over HTTP: one POST, no retries (the outbox retries), no redirects
followed, no proxy or .netrc from the environment, the response body never read, and transport
failures translated into a few coarse words, so that a delivery log cannot map open ports.

Each connection resolves its host through the `TargetGuard` and connects to an address the
guard allowed in that same step, so a name that resolves elsewhere after it was registered
(DNS rebinding) is refused at delivery too; TLS and the Host header still use the name.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping

import httpcore
import httpx

from ordergate.connectors.http import tls_context
from ordergate.connectors.webhooks.base import WebhookSendFailed, WebhookTargetRefused
from ordergate.connectors.webhooks.targets import TargetGuard, TargetRefused, TargetUnresolvable

log = logging.getLogger("ordergate.webhooks_out")

TIMEOUT_SECONDS = 10.0
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)  # httpx's defaults
COULD_NOT_CONNECT = "could not connect"
TIMED_OUT = "timed out"
CONNECTION_FAILED = "the connection failed"
BAD_URL = "the URL cannot be used"


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend behind the guard: `connect_tcp` resolves the host, refuses it
    unless every address is allowed, and connects only to those addresses."""

    def __init__(self, guard: TargetGuard, network: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._guard = guard
        self._network = network or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await self._guard.addresses(host)  # TargetRefused goes up as it is
        except TargetUnresolvable as error:
            raise httpcore.ConnectError(str(error)) from None
        failure: Exception = httpcore.ConnectError("no address to connect to")
        for address in addresses:
            try:
                return await self._network.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        raise failure

    async def sleep(self, seconds: float) -> None:
        await self._network.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport over a `GuardedBackend` (httpx takes no backend as an argument,
    so the connection pool it built is replaced by one that uses ours)."""

    def __init__(self, guard: TargetGuard, network: httpcore.AsyncNetworkBackend | None = None) -> None:
        super().__init__(verify=tls_context(), trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=tls_context(),  # SSL_CERT_FILE / SSL_CERT_DIR still count
            network_backend=GuardedBackend(guard, network),
            max_connections=LIMITS.max_connections,
            max_keepalive_connections=LIMITS.max_keepalive_connections,
            keepalive_expiry=LIMITS.keepalive_expiry,
        )


class HttpWebhookSender:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    @classmethod
    def create(
        cls,
        *,
        guard: TargetGuard | None = None,
        network: httpcore.AsyncNetworkBackend | None = None,
        timeout: float = TIMEOUT_SECONDS,
    ) -> HttpWebhookSender:
        """`guard` defaults to public addresses only; `network` is the backend that makes the
        connections the guard allows (httpcore's AnyIO backend unless a test records them)."""
        transport = GuardedTransport(guard or TargetGuard(), network)
        return cls(
            httpx.AsyncClient(transport=transport, timeout=timeout, follow_redirects=False, trust_env=False)
        )

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, int]:
        started = time.perf_counter()
        try:
            async with self._client.stream("POST", url, content=body, headers=dict(headers)) as response:
                status = response.status_code
        except TargetRefused as error:
            log.info("webhook target refused: %s", error)
            raise WebhookTargetRefused(_since(started)) from None
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            # The details are for our own log; the delivery log gets only the kind of failure.
            log.info("webhook POST failed: %s: %s", type(error).__name__, error)
            raise WebhookSendFailed(_coarse(error), _since(started)) from None
        return status, _since(started)

    async def aclose(self) -> None:
        await self._client.aclose()


def _coarse(error: httpx.HTTPError | httpx.InvalidURL) -> str:
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
        return COULD_NOT_CONNECT
    if isinstance(error, httpx.TimeoutException):
        return TIMED_OUT
    if isinstance(error, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return BAD_URL
    return CONNECTION_FAILED


def _since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
