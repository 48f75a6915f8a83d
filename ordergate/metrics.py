"""Prometheus metrics, served at `/metrics`: requests and latency per operation, errors by
code, upstream calls by upstream, status and latency, breaker state, open subscriptions and
outbox lag. One registry per process (`prometheus_client`'s default)."""

from __future__ import annotations

import re

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

GRAPHQL_REQUESTS = Counter(
    "ordergate_graphql_requests_total", "GraphQL operations answered over HTTP", ["operation", "outcome"]
)
GRAPHQL_SECONDS = Histogram(
    "ordergate_graphql_request_seconds",
    "Time to answer a GraphQL operation",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)
GRAPHQL_ERRORS = Counter("ordergate_graphql_errors_total", "Errors in GraphQL answers, by code", ["code"])
UPSTREAM_REQUESTS = Counter(
    "ordergate_upstream_requests_total",
    "Attempts at an upstream call, by status or failure",
    ["upstream", "status"],
)
UPSTREAM_SECONDS = Histogram(
    "ordergate_upstream_request_seconds",
    "Time of one attempt at an upstream",
    ["upstream"],
    buckets=LATENCY_BUCKETS,
)
BREAKER_OPEN = Gauge(
    "ordergate_upstream_breaker_open", "1 while an upstream's breaker is not closed", ["upstream"]
)
SUBSCRIPTIONS = Gauge("ordergate_subscriptions_open", "Event-log subscriptions open in this process")
OUTBOX_LAG = Gauge("ordergate_outbox_lag_seconds", "Age of the oldest outbox task that is due and not done")
OUTBOX_PENDING = Gauge("ordergate_outbox_pending", "Outbox tasks not yet done")


NAMED_OPERATION = re.compile(r"\b(?:query|mutation|subscription)\s+([A-Za-z_][A-Za-z0-9_]*)")
UNREGISTERED = "unregistered"
ANONYMOUS = "anonymous"


def operation_label(name: str | None, query: str | None = None, known: frozenset[str] = frozenset()) -> str:
    """The operation's name (from the request, else the first named operation of the
    document) when it is one of the `known` (registered) operations; any other name is one
    label, `unregistered`, since names are the client's to choose and every label value is a
    series kept for the life of the process."""
    if not name and query:
        found = NAMED_OPERATION.search(query)
        name = found.group(1) if found else None
    if not name:
        return ANONYMOUS
    return name if name in known else UNREGISTERED
