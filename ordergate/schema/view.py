"""The GraphQL endpoint: HTTP per the GraphQL-over-HTTP spec, WebSocket with both protocols,
and the caller identified from a bearer token (HTTP header, or `connection_init` payload)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import json
import math
import time
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import ExecutionResult, GraphQLError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

from ordergate import metrics, tracing
from ordergate.auth import VerifiedTokens, bearer
from ordergate.models.errors import Unauthenticated
from ordergate.models.identity import Principal
from ordergate.schema import answers, limits, persisted
from ordergate.schema.build import Schema, build_schema
from ordergate.schema.context import Context
from ordergate.schema.limits import THROTTLED
from ordergate.settings import Settings
from ordergate.untrusted import MalformedJson, load_json
from ordergate.usecases import inventory
from ordergate.usecases.services import Services
from ordergate.usecases.views import Reading

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
# The federation router's own credential, beside the end user's `Authorization` it forwards.
ROUTER_HEADER = "x-ordergate-router-token"


def preferred_media_type(accept: str | None) -> str:
    """`application/graphql-response+json` when the client lists it before (or without)
    `application/json`; plain JSON otherwise, as legacy clients expect."""
    if not accept:
        return JSON
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        if media in (GRAPHQL_RESPONSE, JSON):
            ranked.append((-quality, index, media))
    ranked.sort()
    return ranked[0][2] if ranked and ranked[0][0] < 0 else JSON


def is_request_error(response: Mapping[str, Any]) -> bool:
    """Parse and validation failures: no data, and no error points into an executed path."""
    errors = response.get("errors") or []
    return response.get("data") is None and bool(errors) and not any(e.get("path") for e in errors)


def throttled(response: object) -> int | None:
    """The seconds a THROTTLED client must wait, when that is the answer."""
    if not isinstance(response, Mapping):
        return None
    for error in response.get("errors") or ():
        extensions = error.get("extensions") or {}
        if extensions.get("code") == THROTTLED:
            return int(extensions.get("retryAfter", 1))
    return None


def unauthenticated(message: str) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]}
    return Response(
        json.dumps(body),
        status_code=401,
        media_type=JSON,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


class InvalidFrame(dict[str, Any]):
    """A WebSocket frame that is not JSON, or nested too deep: passed to the protocol handler
    (which closes with 4400 and `reason`), since a frame reader cannot close the socket."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


# The operation a frame starts, by protocol: `subscribe` in graphql-transport-ws, `start` in
# the legacy graphql-ws.
STARTS = {GRAPHQL_TRANSPORT_WS_PROTOCOL: "subscribe", GRAPHQL_WS_PROTOCOL: "start"}
OPTIONAL_OBJECTS = ("variables", "extensions")


def frame_problem(message: object, protocol: str) -> str | None:
    """Why a WebSocket frame cannot be handled (the reason sent with close code 4400), or None.
    Strawberry's handlers index frames as the protocol's objects; anything else would reach
    them as a TypeError."""
    if isinstance(message, InvalidFrame):
        return message.reason
    if not isinstance(message, dict):
        return "WebSocket message must be a JSON object"
    kind = message.get("type")
    if not isinstance(kind, str):
        return "WebSocket message must have a string `type`"
    if kind in ("complete", "stop", STARTS[protocol]) and not isinstance(message.get("id"), str):
        return f"`{kind}` must have a string `id`"
    if kind != STARTS[protocol]:
        return None
    payload = message.get("payload")
    if not isinstance(payload, dict):
        return f"`{kind}` payload must be an object"
    if not isinstance(payload.get("query"), str):
        return f"`{kind}` payload must have a string `query`"
    if not isinstance(payload.get("operationName"), str | None):
        return f"`{kind}` payload's `operationName` must be a string or null"
    for name in OPTIONAL_OBJECTS:
        if not isinstance(payload.get(name), dict | None):
            return f"`{kind}` payload's `{name}` must be an object or null"
    return None


class CheckedGraphQLTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """`graphql-transport-ws`, closing with 4400 and a reason on a frame of the wrong shape."""

    async def handle_message(self, message: Any) -> None:
        problem = frame_problem(message, GRAPHQL_TRANSPORT_WS_PROTOCOL)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        await super().handle_message(message)


class InitialisingGraphQLWSHandler(BaseGraphQLWSHandler[Context, None]):
    """The legacy `graphql-ws` protocol, held to the same `connection_init` deadline that
    Strawberry applies to `graphql-transport-ws` (4408 when it passes), and closed with 4400
    and a reason on a frame of the wrong shape."""

    async def handle_message(self, message: Any) -> None:
        problem = frame_problem(message, GRAPHQL_WS_PROTOCOL)
        if problem is not None:
            await self.websocket.close(code=4400, reason=problem)
            return
        await super().handle_message(message)

    async def handle(self) -> None:
        deadline = self.view.connection_init_wait_timeout.total_seconds()
        watchdog = asyncio.create_task(self._close_if_uninitialised(deadline))
        try:
            await super().handle()
        finally:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog

    async def _close_if_uninitialised(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        if not self.connection_acknowledged:
            await self.websocket.close(code=4408, reason="Connection initialisation timeout")


# The request body this task parsed and checked, so that Strawberry's own parse of the same
# bytes (a moment later, in `parse_http_body`) is not done twice.
_BODY: ContextVar[tuple[bytes, object] | None] = ContextVar("ordergate_graphql_body", default=None)
# The key under which this request's answer may be kept (`answers`): set when none was kept.
_KEEP: ContextVar[answers.Key | None] = ContextVar("ordergate_answer_key", default=None)


class GraphQLView(GraphQL[Context, None]):
    graphql_ws_handler_class = InitialisingGraphQLWSHandler
    graphql_transport_ws_handler_class = CheckedGraphQLTransportWSHandler

    def __init__(
        self,
        schema: Schema,
        services: Services,
        settings: Settings,
        graphiql_html: str | None,
        trusted: persisted.PersistedQueries | None = None,
        *,
        serves_router: bool = False,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql_html is not None else None,
            keep_alive=True,
            keep_alive_interval=settings.ws_keep_alive_seconds,
            connection_init_wait_timeout=timedelta(seconds=settings.ws_connection_init_timeout_seconds),
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
        )
        self.services = services
        self.settings = settings
        self.tokens = VerifiedTokens(settings)
        self.graphql_schema = schema._schema
        self.budget = schema.budget
        self._graphiql_html = graphiql_html
        self.persisted = trusted or persisted.for_settings(settings)
        self.operation_names = frozenset(op.name for op in self.persisted.registered.values())
        self.serves_router = serves_router
        # The view that answers a request presenting ORDERGATE_ROUTER_TOKEN (see `endpoint`).
        self.router: GraphQLView | None = None
        self.answers = (
            answers.AnswerCache(
                services.views,
                settings.answer_cache_entries,
                refresh_due=lambda skus, now: inventory.refresh_due(services, skus, now),
            )
            if settings.answer_cache_entries > 0 and settings.read_view_ms > 0 and not serves_router
            else None
        )

    @property
    def graphql_ide_html(self) -> str:
        return self._graphiql_html or ""

    def encode_json(self, data: object) -> str:
        """Compact JSON as before (`json.dumps` with `(",", ":")`), by orjson: several times
        faster on a large answer. Text, not bytes, so WebSocket messages stay text frames;
        non-ASCII is sent as UTF-8 rather than `\\u` escapes. What orjson refuses (a non-string
        key, an integer over 64 bits) still goes through `json`."""
        try:
            return orjson.dumps(data).decode()
        except TypeError:
            return json.dumps(data, separators=(",", ":"))

    def parse_json(self, data: str | bytes) -> Any:
        """A request body (or a GET parameter): JSON, nested no deeper than we read; else 400."""
        parsed = _BODY.get()
        if parsed is not None and parsed[0] is data:
            return parsed[1]
        try:
            return load_json(data)
        except MalformedJson as error:
            raise HTTPException(400, f"Unable to parse request body: {error}") from None

    def decode_json(self, data: str | bytes) -> object:
        """A WebSocket frame; one we cannot read goes to the protocol handler as `InvalidFrame`."""
        if len(data) > self.settings.max_body_bytes:  # uvicorn's ws_max_size bounds it first when served
            return InvalidFrame(f"WebSocket message larger than {self.settings.max_body_bytes} bytes")
        try:
            return load_json(data)
        except MalformedJson as error:
            return InvalidFrame(f"WebSocket message must be valid JSON: {error}")

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> Any:
        """A POSTed body must be a JSON object (GraphQL over HTTP); Strawberry assumes one."""
        content_type, _ = parse_content_type(request.content_type or "")
        if request.method == "POST" and "application/json" in content_type:
            body = await request.get_body()
            data = self.parse_json(body)
            if not isinstance(data, dict | list):  # a list is a batch, which Strawberry refuses
                raise HTTPException(400, 'The request body must be a JSON object: {"query": "..."}')
            _BODY.set((body, data))
        return await super().parse_http_body(request)

    def principal_from_header(self, value: str | None) -> Principal | None:
        token = bearer(value)
        return self.tokens.verify(token) if token is not None else None

    def view_for(self, router_token: str | None) -> GraphQLView:
        """This view, or the router's for a request that presents the router token. A token
        presented and wrong (or none configured) is refused, never served as a client."""
        if router_token is None or self.serves_router:
            return self
        expected = self.settings.router_token
        if (
            self.router is None
            or expected is None
            or not hmac.compare_digest(router_token.encode(), expected.encode())
        ):
            raise Unauthenticated(f"the {ROUTER_HEADER} header does not carry this gateway's router token")
        return self.router

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        principal = None
        if isinstance(request, Request):
            principal = getattr(request.state, "principal", None)
        request_id = getattr(request.state, "request_id", None)
        client = request.client
        return Context(
            services=self.services,
            principal=principal,
            client_address=client.host if client else None,
            router=self.serves_router,
            **({"request_id": request_id} if request_id else {}),  # the middleware's, else a new one
        )

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        raw = params.get("authorization") or params.get("Authorization")
        try:
            principal = self.principal_from_header(raw if isinstance(raw, str) else None)
        except Unauthenticated as error:
            raise ConnectionRejectionError({"code": error.code, "message": error.message}) from None
        if principal is None:
            raise ConnectionRejectionError(
                {
                    "code": "UNAUTHENTICATED",
                    "message": 'send {"authorization": "Bearer <token>"} in connection_init',
                }
            )
        context.principal = principal
        return None

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = preferred_media_type(request.headers.get("accept"))
        return sub_response

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        media_type = sub_response.media_type or JSON
        request_error = (
            media_type == GRAPHQL_RESPONSE
            and isinstance(response_data, dict)
            and is_request_error(response_data)
        )
        if request_error and isinstance(response_data, dict):
            # The spec's request error: no `data` entry at all, and a 4xx status.
            response_data = {k: v for k, v in response_data.items() if k != "data"}  # type: ignore[assignment]
        response = super().create_response(response_data, sub_response)
        response.headers["content-type"] = media_type
        if request_error and not sub_response.status_code:
            response.status_code = 400
        retry_after = throttled(response_data)
        if retry_after is not None:
            response.status_code = 429
            response.headers["Retry-After"] = str(retry_after)
        return response

    async def execute_single(self, *args: Any, **kwargs: Any) -> Any:
        request_data: GraphQLRequestData = kwargs["request_data"]
        try:
            query = self.persisted.resolve(request_data.query, request_data.extensions)
        except persisted.PersistedQueryError as error:
            return ExecutionResult(
                data=None, errors=[GraphQLError(error.message, extensions={"code": error.code})]
            )
        kwargs["request_data"] = dataclasses.replace(request_data, query=query)
        name = metrics.operation_name(request_data.operation_name, query)
        operation = metrics.operation_label(name, self.operation_names)
        began = time.perf_counter()
        key = _KEEP.get()
        with tracing.graphql_span(name, query, request_data.operation_name) as span:
            try:
                if key is None:
                    result = await self._execute_single(*args, **kwargs)
                else:
                    with self.services.views.watch() as reading:
                        answered_at = self.services.clock()
                        result = await self._execute_single(*args, **kwargs)
                    kept = (reading, answered_at, name, operation)
                    self.keep(key, query or "", request_data.operation_name, result, kept)
            except HTTPException:
                metrics.GRAPHQL_REQUESTS.labels(operation, "refused").inc()
                raise
            codes = [str((e.extensions or {}).get("code", "UNKNOWN")) for e in result.errors or []]
            tracing.graphql_errors(span, codes)
        metrics.GRAPHQL_SECONDS.labels(operation).observe(time.perf_counter() - began)
        metrics.GRAPHQL_REQUESTS.labels(operation, "error" if result.errors else "ok").inc()
        for code in codes:
            metrics.GRAPHQL_ERRORS.labels(code).inc()
        return result

    def keep(
        self,
        key: answers.Key,
        query: str,
        operation_name: str | None,
        result: Any,
        made: tuple[Reading, datetime, str, str],
    ) -> None:
        """Keep an answer GraphQL just made, when its document may be kept and it went well."""
        if self.answers is None or getattr(result, "errors", True):  # Strawberry's or graphql-core's
            return
        cost = (getattr(result, "extensions", None) or {}).get("cost")
        if getattr(result, "data", None) is None or not isinstance(cost, dict):
            return
        reading, answered_at, name, operation = made
        if reading.fallback or math.isinf(reading.oldest):  # a fallback, or nothing read from the views
            return
        if not self.answers.document_keepable(self.graphql_schema, query, operation_name):
            return
        try:
            data = orjson.dumps(result.data)
        except TypeError:
            return
        requested, actual = int(cost["requestedQueryCost"]), int(cost["actualQueryCost"])
        fixed = answers.cost_bytes(limits.cost_report(requested, actual, None))
        kept = answers.Kept(
            data, reading, answered_at, requested, actual, name, operation, answers.answer_bytes(data, fixed)
        )
        if self.answers.put(key, kept):
            metrics.KEPT_ANSWERS.labels("kept").inc()

    async def kept_answer(self, request: Request, principal: Principal | None) -> Response | None:
        """The kept answer to this body from this caller, while it is current; else None, with
        the key noted so that the answer GraphQL makes may be kept."""
        cache = self.answers
        length = request.headers.get("content-length", "")
        if (
            cache is None
            or request.method != "POST"
            or not request.headers.get("content-type", "").startswith(JSON)
            or not length.isdigit()
            or int(length) > answers.MAX_BODY
        ):
            return None
        began = time.perf_counter()
        key = (principal, await request.body())
        now = self.services.clock()
        kept = cache.get(key, now)
        if kept is None:
            _KEEP.set(key)
            return None
        content = kept.body
        budget = self.budget
        if budget is not None:
            client = limits.payer(principal, request.client.host if request.client else None)
            at = now.timestamp()
            if not budget.reserve(client, kept.requested, at).granted:
                return None  # GraphQL answers: THROTTLED
            status = budget.refund(client, kept.requested - kept.actual, at)
            cost = limits.cost_report(kept.requested, kept.actual, status)
            content = answers.answer_bytes(kept.data, answers.cost_bytes(cost))
        with tracing.graphql_span(kept.name, None, None):
            pass
        metrics.GRAPHQL_SECONDS.labels(kept.operation).observe(time.perf_counter() - began)
        metrics.GRAPHQL_REQUESTS.labels(kept.operation, "ok").inc()
        metrics.KEPT_ANSWERS.labels("served").inc()
        cache.hits += 1
        return Response(content, media_type=preferred_media_type(request.headers.get("accept")))

    async def _execute_single(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().execute_single(*args, **kwargs)
        except HTTPException as error:
            # GraphQL over HTTP: a mutation sent with GET is 405, not 400.
            if isinstance(error.__cause__, InvalidOperationTypeError):
                raise HTTPException(405, error.reason) from error
            raise

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            # Authenticate first: a bad token is a 401 with no data, whatever the query.
            view = self.view_for(request.headers.get(ROUTER_HEADER))
            principal = self.principal_from_header(request.headers.get("authorization"))
            request.state.principal = principal
            response = await view.kept_answer(request, principal) or await view.run(request)
        except Unauthenticated as error:
            response = unauthenticated(error.message)
        except HTTPException as error:
            response = PlainTextResponse(error.reason, status_code=error.status_code)
        await response(scope, receive, send)


def endpoint(settings: Settings, services: Services, graphiql_html: str | None) -> GraphQLView:
    """The `/graphql` view for `settings`; with ORDERGATE_ROUTER_TOKEN set, a second view behind
    it serves the federation router: `_service { sdl }` with introspection off, and, in
    allow-list mode, a schema without the allow-list, since a router sends query-plan fragments
    (`query OrderDetail__ordergate__0`), never a client's registered text. The end user is still
    who the forwarded `Authorization` says."""
    trusted = persisted.for_settings(settings)
    schema = build_schema(settings, trusted)
    view = GraphQLView(schema, services, settings, graphiql_html, trusted)
    if settings.router_token:
        for_router = trusted.for_router()
        router_schema = schema if for_router is trusted else build_schema(settings, for_router)
        view.router = GraphQLView(router_schema, services, settings, None, for_router, serves_router=True)
    return view
