"""The one HTTP client every connector is built with: timeouts, retries, throttling, a circuit
breaker and error translation live here, so no vendor module has a retry loop of its own.

`UpstreamClient.request` returns 2xx and 3xx responses and raises the errors of
`ordergate.connectors.errors` for everything else; no httpx exception escapes it.

- Retries: idempotent requests only (GET/HEAD/PUT/DELETE/OPTIONS, or `idempotent=True` for a
  POST that carries an idempotency key), on transport errors, timeouts, 429 and 5xx; full-jitter
  exponential backoff capped by `backoff_max`, or the upstream's `Retry-After`.
- Deadline: one budget per request on the injected clock. A wait that would pass it ends the
  retries at once (a `Retry-After` beyond it is reported in the error, not slept through);
  per-attempt timeouts never exceed what is left of it.
- Throttle: when the last response said at most `min_remaining` requests remain, the next
  attempt first sleeps until the upstream's window resets.
- Circuit breaker: per upstream, shareable through `CircuitBreakers`; counted per attempt.

stamina and purgatory are not used here: stamina sleeps with `asyncio.sleep` and measures its
timeout with tenacity's own clock (neither injectable), and its test mode zeroes the waits, so
a test could not see that `Retry-After: 7` became a 7 s wait; purgatory reads `time.time()`
directly and lets every call through while half-open, not one probe.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import logging
import math
import random
import ssl
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from types import TracebackType
from typing import Any, Literal, Self

import httpx

from ordergate import metrics, tracing
from ordergate.connectors.errors import (
    CircuitOpen,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamUnavailable,
)
from ordergate.connectors.payloads import load_json
from ordergate.models.text import scrub

_log = logging.getLogger("ordergate.upstream")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
_BODY_LIMIT = 1000

BreakerState = Literal["closed", "open", "half-open"]
BreakerEvent = Literal["threshold_reached", "cooldown_elapsed", "probe_succeeded", "probe_failed"]

BREAKER_TRANSITIONS: Mapping[tuple[BreakerState, BreakerEvent], BreakerState] = {
    ("closed", "threshold_reached"): "open",
    ("open", "cooldown_elapsed"): "half-open",
    ("half-open", "probe_succeeded"): "closed",
    ("half-open", "probe_failed"): "open",
}


@dataclass(frozen=True)
class UpstreamPolicy:
    """How one upstream is called. Times are seconds."""

    name: str
    base_url: str
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    attempts: int = 3
    backoff_initial: float = 0.2
    backoff_max: float = 5.0
    deadline: float = 20.0
    breaker_threshold: int = 5
    breaker_cooldown: float = 30.0
    min_remaining: int = 1

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.breaker_threshold < 1:
            raise ValueError("attempts and breaker_threshold must be at least 1")
        if min(self.connect_timeout, self.read_timeout, self.deadline) <= 0:
            raise ValueError("timeouts and the deadline must be positive")


@dataclass(frozen=True)
class RateLimitHeaders:
    """Where an upstream reports its request budget.

    `reset` is a delay from now, or with `reset_is_timestamp` a Unix time; either is multiplied
    by `reset_unit_seconds`. BigCommerce: `RateLimitHeaders("X-Rate-Limit-Requests-Left",
    "X-Rate-Limit-Time-Reset-Ms", 0.001)`; Katana, whose reset is epoch milliseconds:
    `RateLimitHeaders("X-Ratelimit-Remaining", "X-Ratelimit-Reset", 0.001, reset_is_timestamp=True)`.
    """

    remaining: str
    reset: str
    reset_unit_seconds: float = 1.0
    reset_is_timestamp: bool = False


@dataclass
class UpstreamCounters:
    """Per-client tallies for metrics. `failures` counts requests that ended in an error, by its `kind`."""

    requests: int = 0
    attempts: int = 0
    retries: int = 0
    throttle_waits: int = 0
    failures: Counter[str] = field(default_factory=Counter)


class CircuitBreaker:
    """Consecutive-failure breaker for one upstream, on an injected clock.

    Not thread-safe: share it between clients on one event loop (its methods never await).
    """

    def __init__(
        self, name: str, *, threshold: int, cooldown: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.name = name
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._state: BreakerState = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False

    @classmethod
    def for_policy(cls, policy: UpstreamPolicy, clock: Callable[[], float] = time.monotonic) -> Self:
        return cls(
            policy.name, threshold=policy.breaker_threshold, cooldown=policy.breaker_cooldown, clock=clock
        )

    @property
    def state(self) -> BreakerState:
        return self._state

    def admit(self) -> bool:
        """Let a call through, or raise `CircuitOpen`. True when the call is the half-open probe,
        whose outcome alone decides the next state."""
        if self._state == "open":
            left = self._opened_at + self.cooldown - self._clock()
            if left > 0:
                raise CircuitOpen(self.name, f"circuit open for another {left:.1f}s", retry_after=left)
            self._fire("cooldown_elapsed")
        if self._state == "half-open":
            if self._probing:
                raise CircuitOpen(self.name, "circuit half-open, a probe is in flight")
            self._probing = True
            return True
        return False

    def record(self, probe: bool, *, failed: bool) -> None:
        if probe:
            self._probing = False
            self._fire("probe_failed" if failed else "probe_succeeded")
        elif self._state == "closed":
            self._failures = self._failures + 1 if failed else 0
            if self._failures >= self.threshold:
                self._fire("threshold_reached")
        # Calls let through before the breaker opened tell nothing the probe will not.

    def release(self, probe: bool) -> None:
        """The call ended without a verdict on the upstream (cancelled, or never sent)."""
        if probe:
            self._probing = False

    def _fire(self, event: BreakerEvent) -> None:
        before, self._state = self._state, BREAKER_TRANSITIONS[(self._state, event)]
        self._failures = 0
        if self._state == "open":
            self._opened_at = self._clock()
        _log.log(
            logging.WARNING if self._state == "open" else logging.INFO,
            "circuit %s: %s -> %s (%s)",
            self.name,
            before,
            self._state,
            event,
            extra={"upstream": self.name, "breaker_from": before, "breaker_to": self._state},
        )


class CircuitBreakers:
    """One breaker per upstream name, for every client of that upstream in the process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}

    def for_policy(self, policy: UpstreamPolicy) -> CircuitBreaker:
        if policy.name not in self._breakers:
            self._breakers[policy.name] = CircuitBreaker.for_policy(policy, self._clock)
        return self._breakers[policy.name]


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context (the CA bundle loaded once) for every client this process makes: building
    one reads and parses the whole bundle, tens of milliseconds per client. A context is meant
    to be shared; SSL_CERT_FILE / SSL_CERT_DIR count as httpx's own would."""
    return httpx.create_ssl_context()


class UpstreamClient:
    def __init__(
        self,
        policy: UpstreamPolicy,
        *,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rate_limit: RateLimitHeaders | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
        breaker: CircuitBreaker | None = None,
        wall_clock: Callable[[], float] = time.time,
        jitter: Callable[[float, float], float] = random.uniform,
    ) -> None:
        if breaker is not None and breaker.name != policy.name:
            raise ValueError(f"breaker {breaker.name!r} does not guard upstream {policy.name!r}")
        self.policy = policy
        self.counters = UpstreamCounters()
        self._clock = clock
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._jitter = jitter
        self._rate_limit = rate_limit
        self._breaker = breaker or CircuitBreaker.for_policy(policy, clock)
        self._resume_at: float | None = None
        self._http = httpx.AsyncClient(
            base_url=policy.base_url,
            headers=headers,
            transport=transport,
            verify=tls_context(),
            timeout=self._timeout(policy.deadline),
            event_hooks=event_hooks,
        )

    @property
    def breaker_state(self) -> BreakerState:
        return self._breaker.state

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send with retries when `idempotent` (by default: the method is); see the module docstring."""
        method = method.upper()
        request = self._http.build_request(
            method, path, params=params, json=json, content=content, headers=headers
        )
        retryable = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        self.counters.requests += 1
        try:
            return await self._send(request, retryable)
        except UpstreamError as error:
            self.counters.failures[error.kind] += 1
            raise

    async def get(
        self, path: str, *, params: Any = None, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        return await self.request("GET", path, params=params, headers=headers)

    async def post(
        self,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        return await self.request(
            "POST", path, json=json, content=content, params=params, headers=headers, idempotent=idempotent
        )

    async def put(
        self,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        return await self.request("PUT", path, json=json, content=content, params=params, headers=headers)

    def read_json(self, response: httpx.Response) -> Any:
        """The body as JSON, or `UpstreamProtocolError`."""
        try:
            return load_json(response.content)
        except ValueError as exc:
            raise UpstreamProtocolError(
                self.policy.name, f"{_label(response.request)}: body is not JSON"
            ) from exc

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _send(self, request: httpx.Request, retryable: bool) -> httpx.Response:
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            outcome = await self._traced_attempt(request, started, attempt)
            if isinstance(outcome, httpx.Response):
                return outcome
            if not retryable or attempt >= self.policy.attempts:
                raise outcome
            wait = outcome.retry_after if outcome.retry_after is not None else self._backoff(attempt)
            if self._clock() - started + wait >= self.policy.deadline:
                raise outcome
            self.counters.retries += 1
            _log.warning(
                "retrying %s on %s in %.2fs: %s (attempt %d of %d)",
                _label(request),
                self.policy.name,
                wait,
                outcome.message,
                attempt,
                self.policy.attempts,
                extra={
                    "upstream": self.policy.name,
                    "http_method": request.method,
                    "http_path": request.url.path,
                    "attempt": attempt,
                    "wait_seconds": wait,
                    "reason": outcome.kind if outcome.status is None else outcome.status,
                },
            )
            await self._sleep(wait)

    async def _traced_attempt(
        self, request: httpx.Request, started: float, attempt: int
    ) -> httpx.Response | UpstreamUnavailable:
        """`_attempt` in a client span, whose context goes to the upstream as `traceparent`."""
        with tracing.client_span(self.policy.name, request.method, str(request.url), attempt) as span:
            tracing.inject(request.headers)
            try:
                outcome = await self._attempt(request, started)
            except UpstreamError as error:
                tracing.client_outcome(span, getattr(error, "status", None), error.kind)
                raise
            if isinstance(outcome, httpx.Response):
                tracing.client_outcome(span, outcome.status_code, None)
            else:
                tracing.client_outcome(span, outcome.status, outcome.kind)
            return outcome

    async def _attempt(self, request: httpx.Request, started: float) -> httpx.Response | UpstreamUnavailable:
        """One try: the response to return, a retryable error to return, or a final error raised."""
        probe = self._breaker.admit()
        began = time.perf_counter()
        try:
            response = await self._exchange(request, started)
        except (httpx.HTTPError, TimeoutError) as exc:
            self._breaker.record(probe, failed=True)
            self._measure(began, "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__)
            if isinstance(exc, TimeoutError):
                message = f"{_label(request)}: no answer within the {self.policy.deadline:g}s deadline"
                raise UpstreamUnavailable(self.policy.name, message) from exc
            error = UpstreamUnavailable(self.policy.name, f"{_label(request)}: {type(exc).__name__}")
            if not isinstance(exc, httpx.TransportError):
                raise error from exc
            error.__cause__ = exc  # raised by the retry loop once it gives up
            return error
        except BaseException:
            self._breaker.release(probe)
            raise
        self._breaker.record(probe, failed=response.is_server_error)
        self._measure(began, str(response.status_code))
        self._note_budget(response)
        return self._classify(request, response)

    def _measure(self, began: float, status: str) -> None:
        upstream = self.policy.name
        metrics.UPSTREAM_REQUESTS.labels(upstream, status).inc()
        metrics.UPSTREAM_SECONDS.labels(upstream).observe(time.perf_counter() - began)
        metrics.BREAKER_OPEN.labels(upstream).set(0 if self._breaker.state == "closed" else 1)

    async def _exchange(self, request: httpx.Request, started: float) -> httpx.Response:
        await self._wait_for_budget(request, started)
        left = self.policy.deadline - (self._clock() - started)
        if left <= 0:
            message = f"{_label(request)}: the {self.policy.deadline:g}s deadline passed before sending"
            raise UpstreamUnavailable(self.policy.name, message)
        request.extensions["timeout"] = self._timeout(left).as_dict()
        self.counters.attempts += 1
        # httpx's timeouts bound each phase; this bounds the whole exchange, e.g. a slow drip.
        async with asyncio.timeout(left):
            return await self._http.send(request)

    def _classify(
        self, request: httpx.Request, response: httpx.Response
    ) -> httpx.Response | UpstreamUnavailable:
        status = response.status_code
        if status < 400:
            return response
        message = f"{_label(request)} answered {status}"
        retry_after = parse_retry_after(response.headers.get("Retry-After"), self._wall_clock())
        if status == 429:
            return UpstreamRateLimited(self.policy.name, message, status=status, retry_after=retry_after)
        if status >= 500:
            return UpstreamUnavailable(self.policy.name, message, status=status, retry_after=retry_after)
        raise UpstreamRejected(
            self.policy.name, message, status=status, body=scrub(response.text[:_BODY_LIMIT])
        )

    def _note_budget(self, response: httpx.Response) -> None:
        if self._rate_limit is None:
            return
        remaining = _number(response.headers.get(self._rate_limit.remaining))
        reset = _number(response.headers.get(self._rate_limit.reset))
        if remaining is None or reset is None:
            return
        if remaining > self.policy.min_remaining:
            self._resume_at = None
            return
        delay = reset * self._rate_limit.reset_unit_seconds
        if self._rate_limit.reset_is_timestamp:
            delay -= self._wall_clock()
        self._resume_at = self._clock() + max(0.0, delay)

    async def _wait_for_budget(self, request: httpx.Request, started: float) -> None:
        if self._resume_at is None:
            return
        wait = self._resume_at - self._clock()
        if wait <= 0:
            return
        if self._clock() - started + wait >= self.policy.deadline:
            message = f"{_label(request)}: request budget spent for another {wait:.1f}s, past the deadline"
            raise UpstreamRateLimited(self.policy.name, message, status=None, retry_after=wait)
        self.counters.throttle_waits += 1
        _log.info(
            "throttling %s on %s for %.2fs: the request budget is spent",
            _label(request),
            self.policy.name,
            wait,
            extra={"upstream": self.policy.name, "wait_seconds": wait},
        )
        await self._sleep(wait)

    def _backoff(self, retry: int) -> float:
        ceiling = min(self.policy.backoff_max, self.policy.backoff_initial * 2 ** min(retry - 1, 32))
        return self._jitter(0.0, ceiling)

    def _timeout(self, left: float) -> httpx.Timeout:
        connect = min(self.policy.connect_timeout, left)
        read = min(self.policy.read_timeout, left)
        return httpx.Timeout(connect=connect, read=read, write=read, pool=connect)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a `Retry-After` of delta-seconds or an HTTP date; `now` is Unix time."""
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def _number(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else math.nan
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _label(request: httpx.Request) -> str:
    # Method and path only: queries and headers may carry credentials.
    return f"{request.method} {request.url.path}"
