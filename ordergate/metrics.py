"""Prometheus metrics, served at `/metrics`: requests and latency per operation, errors by
code, upstream calls by upstream, status and latency, breaker state, open subscriptions and
outbox lag. One registry per process (`prometheus_client`'s default)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from prometheus_client import Counter, Gauge, Histogram

from ordergate.models.outbox import LANES, OTHER_LANE, lane_of

LANE_NAMES = (*sorted(set(LANES.values())), OTHER_LANE)

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
KEPT_ANSWERS = Counter(
    "ordergate_kept_answers_total",
    "Catalogue and availability answers kept (kept) and answered from what was kept (served)",
    ["outcome"],
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
OUTBOX_LANE_LAG = Gauge(
    "ordergate_outbox_lane_lag_seconds", "Age of the oldest due task not done, per relay lane", ["lane"]
)
OUTBOX_LANE_PENDING = Gauge(
    "ordergate_outbox_lane_pending", "Outbox tasks not yet done, per relay lane", ["lane"]
)
OUTBOX_LANE_FAILING = Gauge(
    "ordergate_outbox_lane_failing",
    "Outbox tasks not yet done whose last attempt failed, per relay lane: retried with backoff "
    "while an upstream is down or something must be fixed first (alert on it staying above 0)",
    ["lane"],
)
OUTBOX_GAVE_UP = Counter(
    "ordergate_outbox_gave_up",
    "Outbox tasks given up as never able to succeed, per relay lane (a storefront sale that cannot "
    "be taken, an order gone): each is logged with its reason, which it keeps as its result",
    ["lane"],
)


NAMED_OPERATION = re.compile(r"\b(?:query|mutation|subscription)\s+([A-Za-z_][A-Za-z0-9_]*)")
UNREGISTERED = "unregistered"
ANONYMOUS = "anonymous"


def operation_name(name: str | None, query: str | None = None) -> str:
    """The operation's name, from the request, else the first named operation of the document
    (kept short and printable: it is the client's), or `anonymous`."""
    if not name and query:
        found = NAMED_OPERATION.search(query)
        name = found.group(1) if found else None
    clean = "".join(c for c in name if c.isalnum() or c == "_")[:64] if name else ""
    return clean or ANONYMOUS


def operation_label(name: str, known: frozenset[str]) -> str:
    """The label for metrics: a `known` (registered) operation's name; any other name is one
    label, `unregistered`, since names are the client's to choose and every label value is a
    series kept for the life of the process. (Spans carry the name itself: they are exported,
    not kept.)"""
    return name if name in known or name == ANONYMOUS else UNREGISTERED


def record_backlog(backlog: Mapping[str, tuple[int, datetime | None, int]], now: datetime) -> None:
    """The outbox's pending work, its failing work and its lag, in all and per relay lane (every
    lane reported, so an emptied lane reads 0 rather than its last value)."""
    pending: dict[str, int] = dict.fromkeys(LANE_NAMES, 0)
    failing: dict[str, int] = dict.fromkeys(LANE_NAMES, 0)
    oldest: dict[str, datetime | None] = dict.fromkeys(LANE_NAMES, None)
    for kind, (count, due_since, failed) in backlog.items():
        lane = lane_of(kind)
        pending[lane] = pending.get(lane, 0) + count
        failing[lane] = failing.get(lane, 0) + failed
        current = oldest.get(lane)
        if due_since is not None and (current is None or due_since < current):
            oldest[lane] = due_since
    for lane in pending:
        OUTBOX_LANE_PENDING.labels(lane).set(pending[lane])
        OUTBOX_LANE_FAILING.labels(lane).set(failing.get(lane, 0))
        OUTBOX_LANE_LAG.labels(lane).set(_age(oldest.get(lane), now))
    OUTBOX_PENDING.set(sum(pending.values()))
    OUTBOX_LAG.set(max((_age(o, now) for o in oldest.values()), default=0.0))


def _age(since: datetime | None, now: datetime) -> float:
    return (now - since).total_seconds() if since is not None else 0.0
