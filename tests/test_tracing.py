"""Tracing: a gateway configured with an OTLP endpoint sends its spans there, continues the
caller's trace and hands it on to the upstreams; without one, the OpenTelemetry API stays a
no-op. The collector here is a real OTLP/HTTP receiver, and the ERP a Katana sandbox served
over TCP that notes the `traceparent` of every request it gets."""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ordergate import tracing
from ordergate.logs import JsonFormatter
from ordergate.models.outbox import OutboxTask, Permanent
from ordergate.sandbox.katana import KatanaSandbox
from ordergate.settings import Settings
from ordergate.usecases.services import Services
from ordergate.workers.relay import relay_once
from tests.builders import a_token
from tests.contract import operation
from tests.server import DEADLINE, free_port, gateway, place_order

SERVER, CLIENT = 2, 3  # opentelemetry.proto.trace.v1.Span.SpanKind
STATUS_ERROR = 2  # opentelemetry.proto.trace.v1.Status.StatusCode


@dataclass(frozen=True)
class Exported:
    """One span as it reached the collector, ids in hex."""

    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]]
    status: int
    service: str


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, kind) if kind else None


def _attributes(pairs: Any) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs if isinstance(pair, KeyValue)}


@dataclass
class Upstreams:
    """The collector's spans and the `traceparent` headers the ERP received."""

    spans: list[Exported] = field(default_factory=list)
    traceparents: list[str] = field(default_factory=list)
    base_url: str = ""

    async def receive_traces(self, request: Request) -> Response:
        body = ExportTraceServiceRequest.FromString(await request.body())
        for resource_spans in body.resource_spans:
            service = _attributes(resource_spans.resource.attributes).get("service.name", "")
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append(
                        Exported(
                            name=span.name,
                            kind=span.kind,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_id=span.parent_span_id.hex(),
                            attributes=_attributes(span.attributes),
                            events=[(e.name, _attributes(e.attributes)) for e in span.events],
                            status=span.status.code,
                            service=str(service),
                        )
                    )
        return Response(ExportTraceServiceResponse().SerializeToString(), media_type="application/x-protobuf")

    def noting_traceparent(self, app: ASGIApp) -> ASGIApp:
        async def noted(scope: Scope, receive: Receive, send: Send) -> None:
            for name, value in scope.get("headers") or ():
                if name == b"traceparent":
                    self.traceparents.append(value.decode("latin-1"))
            await app(scope, receive, send)

        return noted

    def wait_for(self, found: Callable[[list[Exported]], bool], what: str) -> list[Exported]:
        deadline = time.monotonic() + 3 * DEADLINE
        while time.monotonic() < deadline:
            spans = list(self.spans)
            if found(spans):
                return spans
            time.sleep(0.05)
        raise AssertionError(f"no {what} among {[(s.name, s.trace_id) for s in self.spans]}")


@contextlib.contextmanager
def served(app: ASGIApp) -> Iterator[str]:
    """`app` on its own uvicorn in a thread (a loop the gateway's test client cannot block)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="none")
    )
    thread = threading.Thread(target=server.run, name="tracing-test-upstreams", daemon=True)
    thread.start()
    deadline = time.monotonic() + DEADLINE
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started, "the collector and ERP did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(DEADLINE)


@pytest.fixture
def upstreams() -> Iterator[Upstreams]:
    noted = Upstreams()
    katana = KatanaSandbox()
    app = Starlette(
        routes=[
            Route("/v1/traces", noted.receive_traces, methods=["POST"]),
            Mount("/katana", noted.noting_traceparent(katana.app)),
        ]
    )
    with served(app) as url:
        noted.base_url = url
        yield noted


def ancestors(span: Exported, spans: list[Exported]) -> list[str]:
    by_id = {s.span_id: s for s in spans}
    chain: list[str] = []
    while span.parent_id in by_id:
        span = by_id[span.parent_id]
        chain.append(span.span_id)
    return chain


@pytest.mark.server
async def test_a_request_continues_the_callers_trace_down_to_the_erp(
    tmp_path: Path, upstreams: Upstreams
) -> None:
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": upstreams.base_url,
        "OTEL_SERVICE_NAME": "ordergate-under-test",
        "OTEL_BSP_SCHEDULE_DELAY": "50",
        "ORDERGATE_KATANA_URL": f"{upstreams.base_url}/katana",
        "ORDERGATE_KATANA_TOKEN": "katana-test-token",
        "ORDERGATE_STOREFRONT_SYNC_SECONDS": "0",
        "ORDERGATE_STOREFRONT_AVAILABILITY_SECONDS": "0",
    }
    with gateway(tmp_path, env=env) as server:
        async with httpx.AsyncClient(base_url=server.http_url, timeout=DEADLINE) as http:
            # An unknown SKU has no fresh snapshot, so the answer waits for a read from the ERP.
            response = await http.post(
                "/graphql",
                json={"query": operation("ProductAvailability"), "variables": {"skus": ["TRACE-PROBE-1"]}},
                headers={
                    "authorization": f"Bearer {a_token('storefront')}",
                    "traceparent": f"00-{trace_id}-{caller_span}-01",
                },
            )
            assert response.status_code == 200, response.text
            assert "errors" not in response.json(), response.text
            missing = await http.post(
                "/graphql",
                json={"query": 'query Missing { order(id: "nope") { id } }'},
                headers={"authorization": f"Bearer {a_token('agent')}"},
            )
            assert missing.status_code == 200, missing.text
            order = await place_order(http, "traced@example.com")

        def of_the_request(spans: list[Exported]) -> bool:
            mine = [s for s in spans if s.trace_id == trace_id]
            return any(s.kind == SERVER for s in mine) and any(s.kind == CLIENT for s in mine)

        spans = upstreams.wait_for(of_the_request, "server and client spans of the traced request")
        mine = [s for s in spans if s.trace_id == trace_id]
        (root,) = [s for s in mine if s.kind == SERVER]
        assert root.parent_id == caller_span
        assert root.name == "POST /graphql"
        assert root.service == "ordergate-under-test"
        assert root.attributes["http.route"] == "/graphql"
        assert root.attributes["http.response.status_code"] == 200
        assert root.attributes["ordergate.request_id"] == response.headers["x-request-id"]
        assert root.attributes["graphql.operation.name"] == "ProductAvailability"
        assert root.attributes["graphql.operation.type"] == "query"

        (execution,) = [s for s in mine if s.name == "query ProductAvailability"]
        assert execution.parent_id == root.span_id

        calls = [s for s in mine if s.kind == CLIENT]
        assert calls, mine
        for call in calls:
            assert root.span_id in ancestors(call, spans)
            assert call.attributes["ordergate.upstream"] == "katana"
            assert call.attributes["ordergate.upstream.attempt"] == 1
            assert call.attributes["http.response.status_code"] == 200
            assert call.attributes["url.full"].startswith(f"{upstreams.base_url}/katana/")
            assert "?" not in call.attributes["url.full"]
        sent = [header for header in upstreams.traceparents if header.split("-")[1] == trace_id]
        assert sorted(header.split("-")[2] for header in sent) == sorted(call.span_id for call in calls)

        def failed_execution(spans: list[Exported]) -> bool:
            return any(s.name == "query Missing" for s in spans)

        spans = upstreams.wait_for(failed_execution, "span of the failed query")
        (failed,) = [s for s in spans if s.name == "query Missing"]
        assert failed.status == STATUS_ERROR
        assert ("graphql.error", {"graphql.error.code": "NOT_FOUND"}) in failed.events

        def pushed(spans: list[Exported]) -> bool:
            return any(
                s.attributes.get("ordergate.outbox.kind") == "erp.sales_order"
                and s.attributes.get("ordergate.outbox.outcome") == "done"
                for s in spans
            )

        spans = upstreams.wait_for(pushed, f"outbox span of the ERP push of {order['id']}")
        push = next(s for s in spans if s.attributes.get("ordergate.outbox.outcome") == "done")
        assert push.attributes["ordergate.outbox.attempt"] == 1
        assert any(s.kind == CLIENT and s.parent_id == push.span_id for s in spans)


async def test_without_an_endpoint_tracing_is_the_no_op_api(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"traceparent": f"00-{'a' * 32}-{'b' * 16}-01"})

    assert response.status_code == 200
    assert isinstance(tracing.provider(), trace.NoOpTracerProvider)
    assert not tracing.enabled()
    assert not any(t.name.startswith("OtelBatch") for t in threading.enumerate())


@pytest.mark.parametrize(
    ("env", "endpoint"),
    [
        ({}, None),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"}, "http://collector:4318/v1/traces"),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:4318/custom",
            },
            "http://traces:4318/custom",
        ),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"}, None),
    ],
)
def test_the_standard_variables_say_where_spans_go(env: dict[str, str], endpoint: str | None) -> None:
    assert Settings.from_env(env).otlp_traces_endpoint == endpoint


def test_log_lines_carry_the_current_trace_and_span() -> None:
    context = SpanContext(0xABC, 0xDEF, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    record = logging.LogRecord("ordergate.test", logging.INFO, __file__, 1, "hello", (), None)

    with trace.use_span(NonRecordingSpan(context)):
        inside = json.loads(JsonFormatter().format(record))
    outside = json.loads(JsonFormatter().format(record))

    assert (inside["trace_id"], inside["span_id"]) == (f"{0xABC:032x}", f"{0xDEF:016x}")
    assert "trace_id" not in outside


@pytest.fixture
def installed() -> Iterator[tuple[tracing.Tracing, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    handle = tracing.setup(None, "ordergate-test", exporter=exporter)
    try:
        yield handle, exporter
    finally:
        handle.shutdown()


async def test_each_outbox_task_is_a_span_with_its_kind_attempt_and_outcome(
    services: Services, installed: tuple[tracing.Tracing, InMemorySpanExporter]
) -> None:
    handle, exported = installed
    now = datetime.now(UTC)
    async with services.store.write() as uow:
        for key in ("fails", "gives-up"):
            uow.outbox.add(OutboxTask(kind=f"test.{key}", key=key, available_at=now, created_at=now))

    async def fail(_: Services, task: OutboxTask) -> str:
        raise RuntimeError("upstream said no")

    async def give_up(_: Services, task: OutboxTask) -> str:
        raise Permanent("the order is gone")

    await relay_once(services, {"test.fails": fail, "test.gives-up": give_up})
    assert handle.sdk is not None
    assert handle.sdk.force_flush()

    outcomes = {
        s.name: (dict(s.attributes or {}), s.status.status_code.name) for s in exported.get_finished_spans()
    }
    assert outcomes["outbox test.fails"] == (
        {
            "ordergate.outbox.kind": "test.fails",
            "ordergate.outbox.attempt": 1,
            "ordergate.outbox.outcome": "retry",
        },
        "ERROR",
    )
    assert outcomes["outbox test.gives-up"][0]["ordergate.outbox.outcome"] == "gave_up"


def test_upstream_urls_lose_credentials_query_and_fragment() -> None:
    assert tracing.safe_url("https://user:pw@api.example.com:8443/v1/items?token=s3cret#x") == (
        "https://api.example.com:8443/v1/items"
    )


@pytest.mark.parametrize(
    ("document", "name", "kind"),
    [
        ("mutation Place { a } query Read { b }", "Read", "query"),
        ("mutation Place { a } query Read { b }", None, "mutation"),
        ("subscription { orderEvents { cursor } }", None, "subscription"),
        ("{ products(first: 1) { edges { cursor } } }", None, "query"),
    ],
)
def test_the_operation_type_is_that_of_the_named_operation(
    document: str, name: str | None, kind: str
) -> None:
    assert tracing.operation_type(document, name) == kind
