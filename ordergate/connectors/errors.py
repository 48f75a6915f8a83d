"""Upstream errors: what a connector raises instead of an httpx exception.

UpstreamError                  (upstream, message)
 ├── UpstreamUnavailable       (UPSTREAM_UNAVAILABLE: no usable answer; connect errors, timeouts,
 │    │                         5xx after retries, the deadline spent; status, retry_after)
 │    ├── CircuitOpen          (failed fast: the breaker is open; retry_after)
 │    └── UpstreamRateLimited  (429 after retries, or a throttle wait beyond the deadline; retry_after)
 ├── UpstreamRejected          (UPSTREAM_REJECTED: a 4xx other than 429; status, body)
 └── UpstreamProtocolError     (UPSTREAM_PROTOCOL_ERROR: an answer we cannot read)

WebhookRejected                (an incoming webhook failed verification; code)

`code` is stable and may reach clients; `kind` labels metrics. Messages never carry
credentials or headers.
"""

from __future__ import annotations


class UpstreamError(Exception):
    code = "UPSTREAM_ERROR"
    kind = "error"

    def __init__(self, upstream: str, message: str) -> None:
        super().__init__(f"{upstream}: {message}")
        self.upstream = upstream
        self.message = message


class UpstreamUnavailable(UpstreamError):
    code = "UPSTREAM_UNAVAILABLE"
    kind = "unavailable"

    def __init__(
        self, upstream: str, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(upstream, message)
        self.status = status
        self.retry_after = retry_after


class CircuitOpen(UpstreamUnavailable):
    """Failed fast: the transport was not called. `retry_after` is the rest of the cool-down,
    or None while a half-open probe is in flight."""

    kind = "circuit_open"


class UpstreamRateLimited(UpstreamUnavailable):
    kind = "rate_limited"


class UpstreamRejected(UpstreamError):
    """The upstream understood and refused: retrying the same request would be refused again."""

    code = "UPSTREAM_REJECTED"
    kind = "rejected"

    def __init__(self, upstream: str, message: str, *, status: int, body: str = "") -> None:
        super().__init__(upstream, message)
        self.status = status
        self.body = body


class UpstreamProtocolError(UpstreamError):
    code = "UPSTREAM_PROTOCOL_ERROR"
    kind = "protocol"


class WebhookRejected(Exception):
    """An incoming webhook failed verification (bad signature, stale timestamp, malformed body)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
