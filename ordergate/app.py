"""The composition root: the only place that picks the store, broker and upstreams from settings."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordergate.broker.base import Broker
from ordergate.broker.memory import MemoryBroker
from ordergate.broker.redis import RedisBroker
from ordergate.graphiql import ASSETS_DIR, graphiql_html
from ordergate.models.commands import Limits
from ordergate.models.pricing import ShippingPolicy
from ordergate.resolvers import catalog
from ordergate.resolvers.services import Policy, Services, utc_now
from ordergate.sandbox.seed import demo_locations, demo_products
from ordergate.schema.build import build_schema
from ordergate.schema.view import GraphQLView
from ordergate.settings import Settings
from ordergate.store import migrate
from ordergate.store.unit_of_work import Store

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

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)


def build_services(settings: Settings, store: Store | None = None) -> Services:
    store = store or Store(settings.database_url)
    broker: Broker = RedisBroker(settings.redis_url) if settings.redis_url else MemoryBroker()
    policy = Policy(
        currency=settings.currency,
        shipping=ShippingPolicy(
            flat_rate=settings.flat_shipping_rate, free_over=settings.free_shipping_threshold
        ),
        limits=Limits(max_line_quantity=settings.max_line_quantity, max_lines=settings.max_lines_per_order),
        page_size_cap=settings.page_size_cap,
    )
    return Services(store=store, broker=broker, policy=policy, clock=utc_now)


async def prepare(services: Services, settings: Settings) -> None:
    """Migrate when allowed, and seed the demo network and catalogue on first start."""
    if settings.auto_migrate:
        await migrate.upgrade(services.store)
    if settings.seed_demo_data:
        added = await catalog.seed(
            services, demo_products(services.clock(), settings.currency), demo_locations()
        )
        if added:
            log.info("seeded %d demo products and locations", added)


def create_app(settings: Settings | None = None, services: Services | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    services = services or build_services(settings)
    html = graphiql_html("/graphql", ASSETS_PATH) if settings.graphiql else None
    view = GraphQLView(build_schema(), services, settings, html)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        if await services.store.ping():
            return JSONResponse({"status": "ready", "database": "ok"})
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await prepare(services, settings)
        await services.broker.start()
        try:
            yield
        finally:
            await services.broker.stop()
            await services.store.dispose()

    routes = [
        Route("/graphql", view, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", view),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
    ]
    if html is not None:
        routes.append(Mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="graphiql-assets"))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(RequestId)
    app.state.services = services
    app.state.settings = settings
    return app
