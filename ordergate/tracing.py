"""Traces over OpenTelemetry, exported by OTLP/HTTP (protobuf) when an endpoint is configured;
otherwise the API's no-op tracer: no exporter, no thread, and spans that cost next to nothing.

The provider is installed by the app's lifespan (`setup`) and flushed at its end (`Tracing.shutdown`);
callers take `tracer()` when they start a span, so they always see the one installed. The SDK and
the exporter are imported only when tracing is on. This is a leaf module, importable from every
layer: plain ASGI (`ServerSpans`) and plain mappings, no Starlette, Strawberry or httpx.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from opentelemetry import trace
from opentelemetry.trace import SpanKind as SpanKind  # re-exported for callers' span kinds
from opentelemetry.trace import StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

NAME = "ordergate"
FLUSH_MILLIS = 5000

# W3C trace context only: caller-supplied baggage is not handed on to third-party upstreams.
_W3C = TraceContextTextMapPropagator()
_NOOP = trace.NoOpTracerProvider()
_provider: trace.TracerProvider = _NOOP
_tracer: trace.Tracer = _NOOP.get_tracer(NAME)


def provider() -> trace.TracerProvider:
    """The SDK's provider while tracing is on, the API's `NoOpTracerProvider` otherwise."""
    return _provider


def tracer() -> trace.Tracer:
    return _tracer


def enabled() -> bool:
    return _provider is not _NOOP


def _install(new: trace.TracerProvider) -> None:
    global _provider, _tracer
    _provider, _tracer = new, new.get_tracer(NAME)


class Tracing:
    """What `setup` installed (nothing when tracing is off)."""

    def __init__(self, sdk: SdkTracerProvider | None) -> None:
        self.sdk = sdk

    def shutdown(self) -> None:
        """Export what is buffered (waiting at most `FLUSH_MILLIS`), stop, and go back to no-op."""
        if self.sdk is None:
            return
        if _provider is self.sdk:
            _install(_NOOP)
        self.sdk.force_flush(FLUSH_MILLIS)
        self.sdk.shutdown()

    async def aclose(self) -> None:
        """`shutdown` off the event loop: the last export may wait on the collector."""
        if self.sdk is not None:
            await asyncio.to_thread(self.shutdown)


def setup(endpoint: str | None, service_name: str, exporter: SpanExporter | None = None) -> Tracing:
    """Export spans in batches to `endpoint` (an OTLP/HTTP traces URL), or to `exporter`;
    with neither, change nothing."""
    if endpoint is None and exporter is None:
        return Tracing(None)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    sdk = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    sdk.add_span_processor(BatchSpanProcessor(exporter or OTLPSpanExporter(endpoint=endpoint)))
    _install(sdk)
    return Tracing(sdk)


_OFF: contextlib.nullcontext[trace.Span] = contextlib.nullcontext(trace.INVALID_SPAN)


def span(
    name: str, kind: SpanKind = SpanKind.INTERNAL, attributes: Mapping[str, AttributeValue] | None = None
) -> contextlib.AbstractContextManager[trace.Span]:
    """A span, current inside the block; exceptions that leave it are recorded. When tracing
    is off it is the invalid span, and no context is even attached."""
    if not enabled():
        return _OFF
    return _tracer.start_as_current_span(name, kind=kind, attributes=attributes)


def record_failure(current: trace.Span, error: BaseException) -> None:
    """An exception that was handled inside the span (it did not leave it): still a failure."""
    current.record_exception(error)
    current.set_status(StatusCode.ERROR, type(error).__name__)


def inject(headers: MutableMapping[str, str]) -> None:
    """Add the current span's W3C `traceparent` (and `tracestate`) to outgoing headers."""
    if enabled():
        _W3C.inject(headers)


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) in hex while a span is current, for log lines."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return trace.format_trace_id(context.trace_id), trace.format_span_id(context.span_id)


def safe_url(url: str) -> str:
    """The URL without credentials, query or fragment, which may carry secrets."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


# --- upstream calls -------------------------------------------------------------------------


def client_span(
    upstream: str, method: str, url: str, attempt: int
) -> contextlib.AbstractContextManager[trace.Span]:
    """One attempt at an upstream; `attempt` counts from 1."""
    if not enabled():
        return _OFF
    return span(
        method,
        SpanKind.CLIENT,
        {
            "ordergate.upstream": upstream,
            "http.request.method": method,
            "url.full": safe_url(url),
            "ordergate.upstream.attempt": attempt,
            "http.request.resend_count": attempt - 1,
        },
    )


def client_outcome(current: trace.Span, status: int | None, error_kind: str | None) -> None:
    if status is not None:
        current.set_attribute("http.response.status_code", status)
    if error_kind is not None:
        current.set_attribute("error.type", str(status) if status is not None else error_kind)
        current.set_status(StatusCode.ERROR, error_kind)


# --- GraphQL --------------------------------------------------------------------------------

_OPERATION = re.compile(r"\b(query|mutation|subscription)\b\s*([A-Za-z_][A-Za-z0-9_]*)?")


def operation_type(document: str | None, name: str | None) -> str:
    """`query`, `mutation` or `subscription`: of the operation called `name`, else the
    document's first (a bare `{ ... }` is a query). A cheap scan, for span names only."""
    first = None
    for found in _OPERATION.finditer(document or ""):
        first = first or found.group(1)
        if name and found.group(2) == name:
            return found.group(1)
    return first or "query"


def graphql_span(
    operation: str, document: str | None, name: str | None
) -> contextlib.AbstractContextManager[trace.Span]:
    """The execution of one operation; its name and type also go on the request's server span."""
    if not enabled():
        return _OFF
    kind = operation_type(document, name)
    attributes: dict[str, AttributeValue] = {
        "graphql.operation.name": operation,
        "graphql.operation.type": kind,
    }
    trace.get_current_span().set_attributes(attributes)
    return span(f"{kind} {operation}", attributes=attributes)


def graphql_errors(current: trace.Span, codes: Sequence[str]) -> None:
    """Errors in the answer, by code: one event each, and the span marked failed."""
    if not codes or not current.is_recording():
        return
    for code in codes:
        current.add_event("graphql.error", {"graphql.error.code": code})
    current.set_attribute("graphql.error.codes", list(codes))
    current.set_status(StatusCode.ERROR, ", ".join(sorted(set(codes))))


# --- HTTP server ----------------------------------------------------------------------------

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ServerSpans:
    """ASGI middleware: one server span per HTTP request, continuing an incoming `traceparent`,
    named after the route, with the status and the request id (set by an inner middleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not enabled():
            await self.app(scope, receive, send)
            return
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers") or ()}
        method = str(scope.get("method", "GET"))
        status = 0

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        with _tracer.start_as_current_span(
            method,
            context=_W3C.extract(carrier),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": str(scope.get("path", ""))},
        ) as current:
            try:
                await self.app(scope, receive, send_noting_status)
            finally:
                route = getattr(scope.get("route"), "path", None)
                if isinstance(route, str):
                    current.update_name(f"{method} {route}")
                    current.set_attribute("http.route", route)
                request_id = (scope.get("state") or {}).get("request_id")
                if isinstance(request_id, str):
                    current.set_attribute("ordergate.request_id", request_id)
                if status:
                    current.set_attribute("http.response.status_code", status)
                if status >= 500:
                    current.set_status(StatusCode.ERROR)
