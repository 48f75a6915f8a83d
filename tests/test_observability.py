"""Observability: `/metrics` in Prometheus format moving with the traffic, and JSON log lines
carrying the request id that the response also returns."""

from __future__ import annotations

import json
import logging
import re
import uuid
from dataclasses import replace

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from starlette.applications import Starlette

from ordergate.app import create_app
from ordergate.logs import REQUEST_ID, JsonFormatter, ScrubbingFormatter
from ordergate.store.engine import create_engine
from tests.builders import a_token
from tests.contract import operation
from tests.graphql_client import execute
from tests.services import POSTGRES_URL, require_postgres

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
    # "Missing" is no registered operation: names are the client's, so they share one series
    assert grew("ordergate_graphql_requests_total", operation="unregistered", outcome="error") == 1
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


async def test_operation_names_a_client_makes_up_share_one_series(client: httpx.AsyncClient) -> None:
    before = await scrape(client)
    for n in range(300):
        await client.post("/graphql", json={"query": f"query Made{n}Up{n * 7919} {{ __typename }}"})
    after = await scrape(client)

    assert "Made1Up" not in after
    assert len(after) - len(before) < 2000  # 300 names, a few counters moved; no new series each
    assert sample(after, "ordergate_graphql_requests_total", operation="unregistered", outcome="ok") >= 300


async def test_metrics_answer_only_the_scraper_holding_the_token_when_one_is_set(app: Starlette) -> None:
    protected = create_app(
        replace(app.state.settings, metrics_token="s3cret-scrape-token"), app.state.services
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=protected), base_url="http://og.test"
    ) as c:
        anonymous = await c.get("/metrics")
        wrong = await c.get("/metrics", headers={"Authorization": "Bearer guess"})
        scraper = await c.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"})

    assert (anonymous.status_code, wrong.status_code) == (401, 401)
    assert "ordergate_graphql_requests_total" not in anonymous.text
    assert scraper.status_code == 200
    assert "ordergate_graphql_requests_total" in scraper.text


SECRET_EMAIL = "ann.secret@example.com"  # a name, so tracebacks quoting our source lines do not


async def duplicate_email_error(engine: AsyncEngine) -> DBAPIError:
    """The error PostgreSQL gives for a customer's email inserted twice into a unique column."""
    table = f"t_scrub_{uuid.uuid4().hex[:8]}"
    insert = text(f"INSERT INTO {table} VALUES (:email)")  # noqa: S608 - a name of ours
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f"CREATE TABLE {table} (email text UNIQUE)"))
        try:
            async with engine.begin() as connection:
                await connection.execute(insert, {"email": SECRET_EMAIL})
                await connection.execute(insert, {"email": SECRET_EMAIL})
        except DBAPIError as error:
            return error
        raise AssertionError("the second insert was accepted")
    finally:
        async with engine.begin() as connection:
            await connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
        await engine.dispose()


def logged(error: BaseException) -> list[str]:
    """The error as the JSON and the text log lines carry it (message and traceback)."""
    record = logging.LogRecord("ordergate.errors", logging.ERROR, __file__, 1, "failed: %s", (error,), None)
    record.exc_info = (type(error), error, error.__traceback__)
    return [JsonFormatter().format(record), ScrubbingFormatter("%(message)s").format(record)]


@pytest.mark.postgres
async def test_a_database_error_in_the_log_does_not_quote_customer_data() -> None:
    require_postgres()
    ours = await duplicate_email_error(create_engine(POSTGRES_URL))
    plain = await duplicate_email_error(create_async_engine(POSTGRES_URL))

    assert "ann.secret" in str(plain)  # the hazard: SQLAlchemy quotes the statement's parameters
    for line in logged(ours):
        assert "duplicate key" in line  # the error is still there to read
        assert "ann.secret" not in line


def test_the_log_formatters_hide_what_a_database_error_quotes_of_its_rows() -> None:
    quoting = RuntimeError(
        'duplicate key value violates unique constraint "customers_email_key"\n'
        "DETAIL:  Key (email)=(ann.secret@example.com) already exists.\n"
        "[SQL: INSERT INTO customers (email) VALUES ($1)]\n[parameters: ('ann.secret@example.com',)]"
    )

    for line in logged(quoting):
        assert "customers_email_key" in line
        assert "ann.secret" not in line
