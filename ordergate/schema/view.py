"""The GraphQL endpoint: HTTP per the GraphQL-over-HTTP spec, WebSocket with both protocols,
and the caller identified from a bearer token (HTTP header, or `connection_init` payload)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import ExecutionResult, GraphQLError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

from ordergate import metrics, tracing
from ordergate.auth import bearer, verify_token
from ordergate.models.errors import Unauthenticated
from ordergate.models.identity import Principal
from ordergate.resolvers.services import Services
from ordergate.schema import persisted
from ordergate.schema.build import Schema
from ordergate.schema.context import Context
from ordergate.schema.limits import THROTTLED
from ordergate.settings import Settings

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


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


class InitialisingGraphQLWSHandler(BaseGraphQLWSHandler[Context, None]):
    """The legacy `graphql-ws` protocol, held to the same `connection_init` deadline that
    Strawberry applies to `graphql-transport-ws` (4408 when it passes)."""

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


class GraphQLView(GraphQL[Context, None]):
    graphql_ws_handler_class = InitialisingGraphQLWSHandler

    def __init__(
        self, schema: Schema, services: Services, settings: Settings, graphiql_html: str | None
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
        self._graphiql_html = graphiql_html
        self.persisted = persisted.for_settings(settings)

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

    def principal_from_header(self, value: str | None) -> Principal | None:
        token = bearer(value)
        return verify_token(self.settings, token) if token is not None else None

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        principal = None
        if isinstance(request, Request):
            principal = getattr(request.state, "principal", None)
        request_id = getattr(request.state, "request_id", None)
        client = request.client
        context = Context(
            services=self.services, principal=principal, client_address=client.host if client else None
        )
        if request_id:
            context.request_id = request_id
        return context

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
        operation = metrics.operation_label(request_data.operation_name, query)
        began = time.perf_counter()
        with tracing.graphql_span(operation, query, request_data.operation_name) as span:
            try:
                result = await self._execute_single(*args, **kwargs)
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
            request.state.principal = self.principal_from_header(request.headers.get("authorization"))
            response = await self.run(request)
        except Unauthenticated as error:
            response = unauthenticated(error.message)
        except HTTPException as error:
            response = PlainTextResponse(error.reason, status_code=error.status_code)
        await response(scope, receive, send)
