"""The shared upstream client: retries, deadline, throttling, circuit breaker, error translation.

Upstreams are plain handler functions behind `httpx.MockTransport`; time is a fake clock whose
`sleep` records the wait and moves the clock instead of sleeping.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from ordergate.connectors.errors import (
    CircuitOpen,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamUnavailable,
)
from ordergate.connectors.http import (
    CircuitBreakers,
    RateLimitHeaders,
    UpstreamClient,
    UpstreamPolicy,
    parse_retry_after,
)

WALL_NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC).timestamp()
BIGCOMMERCE_LIMITS = RateLimitHeaders("X-Rate-Limit-Requests-Left", "X-Rate-Limit-Time-Reset-Ms", 0.001)
KATANA_LIMITS = RateLimitHeaders("X-Ratelimit-Remaining", "X-Ratelimit-Reset", 0.001, reset_is_timestamp=True)

Reply = httpx.Response | type[httpx.RequestError]


class FakeTime:
    """A monotonic clock that only moves when someone sleeps; records every wait."""

    def __init__(self) -> None:
        self.now = 100.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Upstream:
    """Answers with the scripted replies in turn (the last one repeats) and records each request."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies) or [httpx.Response(200)]
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies[min(len(self.requests), len(self.replies)) - 1]
        if isinstance(reply, httpx.Response):
            return reply
        raise reply("simulated", request=request)

    @property
    def calls(self) -> int:
        return len(self.requests)


def highest_jitter(low: float, high: float) -> float:
    return high


def a_policy(**overrides: Any) -> UpstreamPolicy:
    return UpstreamPolicy(**{"name": "katana", "base_url": "https://erp.example", **overrides})


def a_client(
    handler: Callable[[httpx.Request], Any],
    time: FakeTime,
    *,
    policy: UpstreamPolicy | None = None,
    **kw: Any,
) -> UpstreamClient:
    return UpstreamClient(
        policy or a_policy(),
        transport=httpx.MockTransport(handler),
        clock=time.clock,
        sleep=time.sleep,
        wall_clock=lambda: WALL_NOW + time.now,
        **{"jitter": highest_jitter, **kw},
    )


def a_response(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers={name.replace("_", "-"): value for name, value in headers.items()})


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


# Retries


async def test_a_get_is_retried_through_5xx_until_it_succeeds(time: FakeTime) -> None:
    upstream = Upstream(a_response(503), a_response(503), httpx.Response(200, json={"ok": True}))
    client = a_client(upstream, time)

    response = await client.get("/products")

    assert upstream.calls == 3
    assert response.json() == {"ok": True}
    assert len(time.waits) == 2


async def test_retry_after_in_seconds_is_the_wait(time: FakeTime) -> None:
    upstream = Upstream(a_response(429, Retry_After="7"), a_response(200))
    client = a_client(upstream, time)

    await client.get("/products")

    assert time.waits == [7.0]


async def test_retry_after_as_an_http_date_is_the_wait(time: FakeTime) -> None:
    later = datetime.fromtimestamp(WALL_NOW + time.now + 12, tz=UTC)
    upstream = Upstream(a_response(503, Retry_After=format_datetime(later, usegmt=True)), a_response(200))
    client = a_client(upstream, time)

    await client.get("/products")

    assert time.waits == [12.0]


async def test_a_post_is_never_retried(time: FakeTime) -> None:
    upstream = Upstream(a_response(503), a_response(200))
    client = a_client(upstream, time)

    with pytest.raises(UpstreamUnavailable) as raised:
        await client.post("/sales_orders", json={"order_no": "1001"})

    assert upstream.calls == 1
    assert raised.value.status == 503
    assert time.waits == []


async def test_a_post_with_an_idempotency_key_is_retried(time: FakeTime) -> None:
    upstream = Upstream(a_response(503), a_response(201))
    client = a_client(upstream, time)

    response = await client.post(
        "/sales_orders", json={"order_no": "1001"}, headers={"Idempotency-Key": "k-1"}, idempotent=True
    )

    assert upstream.calls == 2
    assert response.status_code == 201
    assert [request.content for request in upstream.requests] == [b'{"order_no":"1001"}'] * 2


async def test_a_get_marked_not_idempotent_is_not_retried(time: FakeTime) -> None:
    upstream = Upstream(a_response(502), a_response(200))
    client = a_client(upstream, time)

    with pytest.raises(UpstreamUnavailable):
        await client.request("GET", "/report", idempotent=False)

    assert upstream.calls == 1


async def test_a_4xx_is_rejected_after_one_attempt(time: FakeTime) -> None:
    upstream = Upstream(httpx.Response(404, text='{"error": "no such product"}'))
    client = a_client(upstream, time)

    with pytest.raises(UpstreamRejected) as raised:
        await client.get("/products/9")

    assert upstream.calls == 1
    assert raised.value.status == 404
    assert raised.value.body == '{"error": "no such product"}'
    assert raised.value.upstream == "katana"


async def test_a_rejected_body_is_truncated(time: FakeTime) -> None:
    client = a_client(Upstream(httpx.Response(422, text="x" * 5000)), time)

    with pytest.raises(UpstreamRejected) as raised:
        await client.get("/products")

    assert len(raised.value.body) == 1000


async def test_exhausted_429s_raise_rate_limited_with_retry_after(time: FakeTime) -> None:
    upstream = Upstream(a_response(429, Retry_After="2"))
    client = a_client(upstream, time)

    with pytest.raises(UpstreamRateLimited) as raised:
        await client.get("/products")

    assert upstream.calls == 3
    assert time.waits == [2.0, 2.0]
    assert raised.value.retry_after == 2.0
    assert raised.value.status == 429


async def test_exhausted_5xx_raise_unavailable_with_the_last_status(time: FakeTime) -> None:
    upstream = Upstream(a_response(500), a_response(502), a_response(504))
    client = a_client(upstream, time)

    with pytest.raises(UpstreamUnavailable) as raised:
        await client.get("/products")

    assert type(raised.value) is UpstreamUnavailable
    assert raised.value.status == 504


async def test_backoff_doubles_and_is_capped_by_backoff_max(time: FakeTime) -> None:
    upstream = Upstream(a_response(503))
    client = a_client(upstream, time, policy=a_policy(attempts=5, backoff_initial=1.0, backoff_max=3.0))

    with pytest.raises(UpstreamUnavailable):
        await client.get("/products")

    assert time.waits == [1.0, 2.0, 3.0, 3.0]


async def test_backoff_is_jittered_between_zero_and_the_ceiling(time: FakeTime) -> None:
    asked: list[tuple[float, float]] = []

    def jitter(low: float, high: float) -> float:
        asked.append((low, high))
        return high / 4

    client = a_client(Upstream(a_response(503), a_response(200)), time, jitter=jitter)

    await client.get("/products")

    assert asked == [(0.0, 0.2)]
    assert time.waits == [0.05]


@pytest.mark.parametrize(
    "failure", [httpx.ConnectError, httpx.ConnectTimeout, httpx.ReadTimeout, httpx.RemoteProtocolError]
)
async def test_transport_failures_are_retried_and_become_unavailable(
    time: FakeTime, failure: type[httpx.TransportError]
) -> None:
    upstream = Upstream(failure)
    client = a_client(upstream, time)

    with pytest.raises(UpstreamUnavailable) as raised:
        await client.get("/products")

    assert upstream.calls == 3
    assert not isinstance(raised.value, httpx.HTTPError)
    assert isinstance(raised.value.__cause__, failure)


async def test_an_httpx_error_that_a_retry_cannot_fix_is_unavailable_at_once(time: FakeTime) -> None:
    upstream = Upstream(httpx.DecodingError, a_response(200))
    client = a_client(upstream, time)

    with pytest.raises(UpstreamUnavailable) as raised:
        await client.get("/products")

    assert upstream.calls == 1
    assert isinstance(raised.value.__cause__, httpx.DecodingError)
    assert client.breaker_state == "closed"


async def test_a_connection_error_then_success_returns_the_response(time: FakeTime) -> None:
    upstream = Upstream(httpx.ConnectError, a_response(200))
    client = a_client(upstream, time)

    response = await client.get("/products")

    assert response.status_code == 200
    assert upstream.calls == 2


async def test_a_redirect_is_returned_not_followed(time: FakeTime) -> None:
    upstream = Upstream(a_response(302, Location="/elsewhere"))
    client = a_client(upstream, time)

    response = await client.get("/products")

    assert response.status_code == 302
    assert upstream.calls == 1


# Deadline and timeouts


async def test_a_retry_after_beyond_the_deadline_ends_the_retries(time: FakeTime) -> None:
    upstream = Upstream(a_response(429, Retry_After="30"), a_response(200))
    client = a_client(upstream, time, policy=a_policy(deadline=20.0))

    with pytest.raises(UpstreamRateLimited) as raised:
        await client.get("/products")

    assert upstream.calls == 1
    assert time.waits == []
    assert raised.value.retry_after == 30.0


async def test_retries_stop_when_the_next_backoff_would_pass_the_deadline(time: FakeTime) -> None:
    upstream = Upstream(a_response(503))
    policy = a_policy(attempts=10, backoff_initial=1.0, backoff_max=60.0, deadline=5.0)
    client = a_client(upstream, time, policy=policy)

    with pytest.raises(UpstreamUnavailable):
        await client.get("/products")

    assert time.waits == [1.0, 2.0]
    assert upstream.calls == 3


async def test_timeouts_come_from_the_policy(time: FakeTime) -> None:
    upstream = Upstream()
    client = a_client(upstream, time, policy=a_policy(connect_timeout=1.5, read_timeout=4.0))

    await client.get("/products")

    assert upstream.requests[0].extensions["timeout"] == {
        "connect": 1.5,
        "read": 4.0,
        "write": 4.0,
        "pool": 1.5,
    }


async def test_timeouts_never_exceed_what_is_left_of_the_deadline(time: FakeTime) -> None:
    upstream = Upstream(a_response(503, Retry_After="7"), a_response(200))
    client = a_client(upstream, time, policy=a_policy(read_timeout=10.0, deadline=10.0))

    await client.get("/products")

    assert upstream.requests[1].extensions["timeout"]["read"] == pytest.approx(3.0)


async def test_a_hanging_upstream_fails_within_the_deadline(time: FakeTime) -> None:
    # The one test that waits for real: asyncio's timer runs on the loop's clock. 10 ms.
    calls: list[httpx.Request] = []

    async def hangs(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    client = a_client(hangs, time, policy=a_policy(deadline=0.01))

    with pytest.raises(UpstreamUnavailable, match="deadline"):
        await client.get("/products")

    assert len(calls) == 1


# Proactive throttling


async def test_the_next_request_waits_for_the_reset_when_the_budget_is_spent(time: FakeTime) -> None:
    sent_at: list[float] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        sent_at.append(time.now)
        return a_response(200, X_Rate_Limit_Requests_Left="1", X_Rate_Limit_Time_Reset_Ms="1500")

    client = a_client(upstream, time, rate_limit=BIGCOMMERCE_LIMITS)

    await client.get("/v3/catalog/products")
    await client.get("/v3/catalog/products")

    assert time.waits == [1.5]
    assert sent_at == [100.0, 101.5]
    assert client.counters.throttle_waits == 1


async def test_no_wait_while_requests_remain(time: FakeTime) -> None:
    upstream = Upstream(a_response(200, X_Rate_Limit_Requests_Left="25", X_Rate_Limit_Time_Reset_Ms="1500"))
    client = a_client(upstream, time, rate_limit=BIGCOMMERCE_LIMITS)

    await client.get("/v3/catalog/products")
    await client.get("/v3/catalog/products")

    assert time.waits == []


async def test_a_reset_given_as_epoch_milliseconds_is_measured_from_the_wall_clock(time: FakeTime) -> None:
    reset_ms = str(int((WALL_NOW + time.now + 4) * 1000))
    upstream = Upstream(a_response(200, X_Ratelimit_Remaining="0", X_Ratelimit_Reset=reset_ms))
    client = a_client(upstream, time, rate_limit=KATANA_LIMITS)

    await client.get("/v1/inventory")
    await client.get("/v1/inventory")

    assert time.waits == [pytest.approx(4.0)]


async def test_a_throttle_wait_beyond_the_deadline_fails_fast(time: FakeTime) -> None:
    upstream = Upstream(a_response(200, X_Rate_Limit_Requests_Left="0", X_Rate_Limit_Time_Reset_Ms="60000"))
    client = a_client(upstream, time, rate_limit=BIGCOMMERCE_LIMITS)
    await client.get("/v3/catalog/products")

    with pytest.raises(UpstreamRateLimited) as raised:
        await client.get("/v3/catalog/products")

    assert upstream.calls == 1
    assert raised.value.retry_after == 60.0
    assert client.breaker_state == "closed"


# Circuit breaker


def a_tripped_client(time: FakeTime, upstream: Upstream, **policy: Any) -> UpstreamClient:
    return a_client(upstream, time, policy=a_policy(attempts=1, breaker_threshold=3, **policy))


async def fail_times(client: UpstreamClient, times: int) -> None:
    for _ in range(times):
        with pytest.raises(UpstreamUnavailable):
            await client.get("/products")


async def test_the_breaker_opens_after_the_threshold_of_consecutive_failures(time: FakeTime) -> None:
    client = a_tripped_client(time, Upstream(a_response(503)))

    await fail_times(client, 2)
    below_threshold = client.breaker_state
    await fail_times(client, 1)

    assert below_threshold == "closed"
    assert client.breaker_state == "open"


async def test_an_open_breaker_fails_fast_without_calling_the_transport(time: FakeTime) -> None:
    upstream = Upstream(httpx.ConnectError)
    client = a_tripped_client(time, upstream, breaker_cooldown=30.0)
    await fail_times(client, 3)
    time.advance(10.0)

    with pytest.raises(CircuitOpen) as raised:
        await client.get("/products")

    assert upstream.calls == 3
    assert raised.value.retry_after == pytest.approx(20.0)


async def test_a_success_resets_the_count_of_consecutive_failures(time: FakeTime) -> None:
    upstream = Upstream(a_response(503), a_response(503), a_response(200), a_response(503))
    client = a_tripped_client(time, upstream)

    await fail_times(client, 2)
    await client.get("/products")
    await fail_times(client, 2)

    assert client.breaker_state == "closed"


async def test_rejections_do_not_count_as_failures(time: FakeTime) -> None:
    client = a_tripped_client(time, Upstream(a_response(404)))

    for _ in range(5):
        with pytest.raises(UpstreamRejected):
            await client.get("/products/9")

    assert client.breaker_state == "closed"


async def test_after_the_cooldown_a_successful_probe_closes_the_breaker(time: FakeTime) -> None:
    upstream = Upstream(a_response(503), a_response(503), a_response(503), a_response(200))
    client = a_tripped_client(time, upstream, breaker_cooldown=30.0)
    await fail_times(client, 3)
    time.advance(30.0)

    response = await client.get("/products")

    assert response.status_code == 200
    assert upstream.calls == 4
    assert client.breaker_state == "closed"


async def test_a_failed_probe_reopens_the_breaker_for_another_cooldown(time: FakeTime) -> None:
    upstream = Upstream(a_response(503))
    client = a_tripped_client(time, upstream, breaker_cooldown=30.0)
    await fail_times(client, 3)
    time.advance(30.0)

    await fail_times(client, 1)
    time.advance(29.0)

    assert client.breaker_state == "open"
    with pytest.raises(CircuitOpen):
        await client.get("/products")
    assert upstream.calls == 4


async def test_only_one_probe_goes_through_while_half_open(time: FakeTime) -> None:
    probe_arrived, released = asyncio.Event(), asyncio.Event()
    calls: list[httpx.Request] = []

    async def recovering(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) <= 3:
            return a_response(503)
        probe_arrived.set()
        await released.wait()
        return a_response(200)

    client = a_client(recovering, time, policy=a_policy(attempts=1, breaker_threshold=3))
    await fail_times(client, 3)
    time.advance(30.0)
    probe = asyncio.create_task(client.get("/products"))
    await probe_arrived.wait()

    with pytest.raises(CircuitOpen) as raised:
        await client.get("/products")
    state_during_probe = client.breaker_state
    released.set()
    await probe

    assert raised.value.retry_after is None
    assert state_during_probe == "half-open"
    assert len(calls) == 4
    assert client.breaker_state == "closed"


async def test_a_cancelled_probe_lets_the_next_request_probe(time: FakeTime) -> None:
    probe_arrived = asyncio.Event()
    calls: list[httpx.Request] = []

    async def recovering(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) <= 3:
            return a_response(503)
        if len(calls) == 4:
            probe_arrived.set()
            await asyncio.Event().wait()
        return a_response(200)

    client = a_client(recovering, time, policy=a_policy(attempts=1, breaker_threshold=3))
    await fail_times(client, 3)
    time.advance(30.0)
    probe = asyncio.create_task(client.get("/products"))
    await probe_arrived.wait()
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe

    response = await client.get("/products")

    assert response.status_code == 200
    assert client.breaker_state == "closed"


async def test_retries_stop_once_the_breaker_opens(time: FakeTime) -> None:
    upstream = Upstream(a_response(503))
    client = a_client(upstream, time, policy=a_policy(attempts=5, breaker_threshold=2))

    with pytest.raises(CircuitOpen) as raised:
        await client.get("/products")

    assert upstream.calls == 2
    assert isinstance(raised.value, UpstreamUnavailable)


async def test_clients_of_one_upstream_share_its_breaker(time: FakeTime) -> None:
    breakers = CircuitBreakers(clock=time.clock)
    katana = a_policy(attempts=1, breaker_threshold=2)
    ups = a_policy(name="ups", base_url="https://ups.example", attempts=1, breaker_threshold=2)
    katana_upstream = Upstream(a_response(503))
    first = a_client(katana_upstream, time, policy=katana, breaker=breakers.for_policy(katana))
    second = a_client(katana_upstream, time, policy=katana, breaker=breakers.for_policy(katana))
    other = a_client(Upstream(), time, policy=ups, breaker=breakers.for_policy(ups))

    await fail_times(first, 2)

    with pytest.raises(CircuitOpen):
        await second.get("/products")
    assert katana_upstream.calls == 2
    assert (await other.get("/track")).status_code == 200


# Logging, counters, hooks


@pytest.fixture
def upstream_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.INFO, logger="ordergate.upstream"):
        yield caplog


async def test_each_retry_is_logged_once_without_headers_or_query(
    time: FakeTime, upstream_log: pytest.LogCaptureFixture
) -> None:
    upstream = Upstream(a_response(503), a_response(503), a_response(200))
    client = a_client(upstream, time, headers={"Authorization": "Bearer s3cret"})

    await client.get("/products", params={"api_key": "k3y"})

    retries = [record for record in upstream_log.records if record.getMessage().startswith("retrying")]
    assert len(retries) == 2
    assert retries[0].__dict__["upstream"] == "katana"
    assert retries[0].__dict__["reason"] == 503
    logged = " ".join(f"{record.getMessage()} {record.__dict__}" for record in upstream_log.records)
    assert "s3cret" not in logged
    assert "k3y" not in logged
    assert upstream.requests[0].headers["Authorization"] == "Bearer s3cret"


async def test_each_breaker_transition_is_logged_once(
    time: FakeTime, upstream_log: pytest.LogCaptureFixture
) -> None:
    upstream = Upstream(a_response(503), a_response(503), a_response(200))
    client = a_client(upstream, time, policy=a_policy(attempts=1, breaker_threshold=2))
    await fail_times(client, 2)
    time.advance(30.0)

    await client.get("/products")

    transitions = [
        record.getMessage() for record in upstream_log.records if record.getMessage().startswith("circuit")
    ]
    assert transitions == [
        "circuit katana: closed -> open (threshold_reached)",
        "circuit katana: open -> half-open (cooldown_elapsed)",
        "circuit katana: half-open -> closed (probe_succeeded)",
    ]


async def test_counters_tally_requests_attempts_retries_and_failures_by_kind(time: FakeTime) -> None:
    upstream = Upstream(
        a_response(503), a_response(200), a_response(404), a_response(429), a_response(429), a_response(429)
    )
    client = a_client(upstream, time)

    await client.get("/a")
    with pytest.raises(UpstreamRejected):
        await client.get("/b")
    with pytest.raises(UpstreamRateLimited):
        await client.get("/c")

    assert client.counters.requests == 3
    assert client.counters.attempts == 6
    assert client.counters.retries == 3
    assert client.counters.failures == {"rejected": 1, "rate_limited": 1}


async def test_event_hooks_see_every_attempt(time: FakeTime) -> None:
    seen: list[str] = []

    async def record(request: httpx.Request) -> None:
        seen.append(request.url.path)

    client = a_client(Upstream(a_response(503), a_response(200)), time, event_hooks={"request": [record]})

    await client.get("/products")

    assert seen == ["/products", "/products"]


async def test_the_client_closes_its_connections(time: FakeTime) -> None:
    async with a_client(Upstream(), time) as client:
        await client.get("/products")

    with pytest.raises(RuntimeError):
        await client.get("/products")


# Reading answers and errors


async def test_a_body_that_is_not_json_is_a_protocol_error(time: FakeTime) -> None:
    client = a_client(Upstream(httpx.Response(200, text="<html>maintenance</html>")), time)
    response = await client.get("/products")

    with pytest.raises(UpstreamProtocolError) as raised:
        client.read_json(response)

    assert raised.value.message == "GET /products: body is not JSON"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("Sat, 01 Mar 2025 12:00:30 GMT", 30.0),
        ("Sat, 01 Mar 2025 11:00:00 GMT", 0.0),
        ("soon", None),
        ("nan", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=WALL_NOW) == expected


@pytest.mark.parametrize("error", [CircuitOpen, UpstreamRateLimited])
def test_fail_fast_and_rate_limits_are_kinds_of_unavailability(error: type[UpstreamError]) -> None:
    raised = error("katana", "gone")

    assert isinstance(raised, UpstreamUnavailable)
    assert raised.code == "UPSTREAM_UNAVAILABLE"
    assert str(raised) == "katana: gone"
