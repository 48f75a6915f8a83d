"""Observability: `/metrics` in Prometheus format moving with the traffic, and JSON log lines
carrying the request id that the response also returns."""

from __future__ import annotations

import json
import logging
import re

import httpx

from ordergate.logs import REQUEST_ID, JsonFormatter
from tests.builders import a_token
from tests.contract import operation
from tests.graphql_client import execute

STOREFRONT = a_token("storefront")


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when it is not there yet)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and ",".join(sorted(match.group(1).split(","))) == wanted:
            return float(match.group(2))
    return 0.0


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_the_counters_move_with_each_request(client: httpx.AsyncClient) -> None:
    before = await scrape(client)
    await execute(client, operation("Catalog"), {"first": 2}, token=STOREFRONT)
    await execute(client, operation("ProductAvailability"), {"skus": ["MUG-BLUE"]}, token=STOREFRONT)
    await execute(client, 'query Missing { order(id: "nope") { id } }', token=a_token("agent"))
    after = await scrape(client)

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("ordergate_graphql_requests_total", operation="Catalog", outcome="ok") == 1
    assert grew("ordergate_graphql_request_seconds_count", operation="Catalog") == 1
    assert grew("ordergate_graphql_requests_total", operation="Missing", outcome="error") == 1
    assert grew("ordergate_graphql_errors_total", code="NOT_FOUND") == 1
    assert "ordergate_upstream_requests_total" in after
    assert sample(after, "ordergate_upstream_breaker_open", upstream="katana") == 0
    assert "ordergate_outbox_lag_seconds" in after
    assert "ordergate_subscriptions_open" in after


async def test_the_request_id_goes_back_in_a_header_and_into_the_log_lines() -> None:
    record = logging.LogRecord(
        "ordergate.test", logging.WARNING, __file__, 1, "upstream %s slow", ("katana",), None
    )
    record.upstream = "katana"
    token = REQUEST_ID.set("req-123")
    try:
        line = JsonFormatter().format(record)
    finally:
        REQUEST_ID.reset(token)

    entry = json.loads(line)
    assert entry["request_id"] == "req-123"
    assert (entry["level"], entry["logger"], entry["message"]) == (
        "WARNING",
        "ordergate.test",
        "upstream katana slow",
    )
    assert entry["upstream"] == "katana"


async def test_a_request_id_is_given_or_kept(client: httpx.AsyncClient) -> None:
    kept = await client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    given = await client.get("/healthz")

    assert kept.headers["x-request-id"] == "abc-123"
    assert len(given.headers["x-request-id"]) == 32
