"""The composition root: the routes and middleware of the gateway, over the services that
`bootstrap` builds (and closes, when this app built them)."""

from __future__ import annotations

import hmac
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordergate import bootstrap, logs, metrics, runtime, tracing
from ordergate.body_limit import BodyLimit
from ordergate.bootstrap import Sandboxes
from ordergate.graphiql import ASSETS_DIR, graphiql_html
from ordergate.logs import REQUEST_ID
from ordergate.pages.dashboard import Dashboard
from ordergate.pages.opt_out import opt_out_routes
from ordergate.pages.status import StatusPages
from ordergate.schema.view import endpoint
from ordergate.settings import Settings
from ordergate.usecases.services import Services
from ordergate.webhooks import carrier_endpoint, katana_endpoint, storefront_endpoint

log = logging.getLogger("ordergate")
ASSETS_PATH = "/graphiql-assets"


class RequestId:
    """Gives every request an id (or keeps a sane incoming `X-Request-ID`) and returns it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = REQUEST_ID.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)


def create_app(
    settings: Settings | None = None, services: Services | None = None, sandboxes: Sandboxes | None = None
) -> Starlette:
    settings = settings or Settings.from_env()
    settings.check_serving()  # however it is started (the CLI checks first, to say so plainly)
    sandboxes = sandboxes or Sandboxes()
    owned = services is None
    services = services or bootstrap.build_services(settings, sandboxes=sandboxes)
    html = graphiql_html("/graphql", ASSETS_PATH) if settings.graphiql else None
    view = endpoint(settings, services, html)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        traces = tracing.setup(settings.otlp_traces_endpoint, settings.service_name)
        try:
            async with bootstrap.serving(app, settings, services, sandboxes):
                yield
        finally:
            if owned:  # built here, closed here; services handed in are their owner's to close
                await services.aclose()
            await traces.aclose()  # after everything else, so that its spans are flushed too

    routes = [
        Route("/graphql", view, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", view),
        *operations_routes(settings, services),
        Route("/webhooks/katana", katana_endpoint(services), methods=["POST"]),
        Route("/webhooks/shipengine", carrier_endpoint(services, "shipengine"), methods=["POST"]),
        Route("/webhooks/ups", carrier_endpoint(services, "ups"), methods=["POST"]),
        Route("/webhooks/bigcommerce", storefront_endpoint(services), methods=["POST"]),
        *StatusPages(services).routes(),
        *Dashboard(settings, services).routes(),
        *opt_out_routes(services),
    ]
    for name, sandbox in sandboxes.served().items():  # each vendor's sandbox, under /sandbox/<vendor>
        routes.append(Mount(f"/sandbox/{name}", sandbox, name=f"sandbox-{name}"))
    if html is not None:
        routes.append(Mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="graphiql-assets"))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestId)
    app.add_middleware(tracing.ServerSpans)  # outermost: its span covers the whole request
    app.state.services = services
    app.state.settings = settings
    app.state.graphql = view
    return app


def operations_routes(settings: Settings, services: Services) -> list[Route]:
    """/healthz (the process is up), /readyz (the database answers) and /metrics."""

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        if await services.store.ping():
            return JSONResponse({"status": "ready", "database": "ok"})
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)

    async def metrics_endpoint(request: Request) -> Response:
        """Prometheus text format; the gauges that need the database are read now. With
        ORDERGATE_METRICS_TOKEN set, only a scraper presenting it as a bearer token is answered."""
        if settings.metrics_token is not None:
            presented = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(presented.encode(), settings.metrics_token.encode()):
                message = "send the metrics token as a bearer token"
                return JSONResponse(
                    {"error": {"code": "UNAUTHENTICATED", "message": message}},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        metrics.SUBSCRIPTIONS.set(services.hub.subscriber_count)
        now = services.clock()
        try:
            async with services.store.read() as uow:
                backlog = await uow.outbox.backlog(now)
        except Exception:  # a metrics scrape never fails because the database is away
            log.warning("metrics: could not read the outbox backlog", exc_info=True)
        else:
            metrics.record_backlog(backlog, now)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return [Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics_endpoint)]


def create_served_app() -> Starlette:
    """The app as `ordergate serve` runs it, in each worker process: a worker is a fresh
    interpreter, so nothing the parent set up reaches it; logging is configured here from the
    settings (format, level, request ids) before anything logs, and the collector is tuned for
    serving once the app is built (see `runtime`)."""
    settings = Settings.from_env()
    logs.configure(settings.log_level, settings.log_format)
    app = create_app(settings)
    runtime.tune_gc_for_serving()
    return app
