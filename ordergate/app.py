"""The composition root: the only place that picks the store, broker and upstreams from settings."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordergate import logs, metrics, runtime, tracing
from ordergate.body_limit import BodyLimit
from ordergate.broker.base import Broker
from ordergate.broker.memory import MemoryBroker
from ordergate.broker.redis import RedisBroker
from ordergate.connectors.carriers.base import Carrier
from ordergate.connectors.carriers.shipengine import SECRET_HEADER as SHIPENGINE_SECRET_HEADER
from ordergate.connectors.carriers.shipengine import ShipEngineCarrier
from ordergate.connectors.carriers.ups import UpsCarrier
from ordergate.connectors.erp.base import ErpConnector
from ordergate.connectors.erp.katana import KatanaErp
from ordergate.connectors.errors import UpstreamError
from ordergate.connectors.payments.base import PaymentProvider
from ordergate.connectors.payments.stripe_like import StripeLikeProvider
from ordergate.connectors.storefront.base import StorefrontConnector
from ordergate.connectors.storefront.bigcommerce import ORDER_SCOPES, BigCommerceStorefront
from ordergate.connectors.storefront.bigcommerce import SECRET_HEADER as STOREFRONT_SECRET_HEADER
from ordergate.connectors.webhooks.http import HttpWebhookSender
from ordergate.connectors.webhooks.targets import TargetGuard
from ordergate.graphiql import ASSETS_DIR, graphiql_html
from ordergate.logs import REQUEST_ID
from ordergate.models.commands import Limits
from ordergate.models.fraud import FraudPolicy
from ordergate.models.identity import Role
from ordergate.models.outbox import (
    ERP_SALES_ORDER,
    ERP_SALES_ORDER_AMEND,
    PAYMENT_CAPTURE,
    PAYMENT_REFUND,
    PAYMENT_VOID,
    RETURN_LABEL,
    STOREFRONT_DELIVERY,
    STOREFRONT_SHIPMENT,
    STOREFRONT_STATUS,
)
from ordergate.models.pricing import DEFAULT_RULES, ShippingPolicy, TaxRules
from ordergate.models.webhooks import WEBHOOK_DELIVERY
from ordergate.resolvers import catalog, erp_sync, inventory, payments, returns, storefront, webhooks_out
from ordergate.resolvers.relay import Handler, relay_once
from ordergate.resolvers.services import Policy, Services, utc_now
from ordergate.sandbox.bigcommerce import BigCommerceSandbox
from ordergate.sandbox.katana import KatanaSandbox
from ordergate.sandbox.payments import PaymentsSandbox
from ordergate.sandbox.seed import demo_locations, demo_products
from ordergate.sandbox.shipengine import ShipEngineSandbox
from ordergate.sandbox.ups import UpsSandbox
from ordergate.schema.view import endpoint
from ordergate.settings import Settings, SettingsError
from ordergate.store import migrate
from ordergate.store.unit_of_work import Store
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


# The sandbox app serves the paths that the gateway mounts under /sandbox/katana; in-process
# the connector reaches it directly, without the hop through the mount.
SANDBOX_KATANA_URL = "http://katana.sandbox.internal"
SANDBOX_WEBHOOK_SECRET = "ordergate-sandbox-katana-webhook-secret"  # noqa: S105
KATANA_EVENTS = ("current_inventory.product_updated", "current_inventory.product_out_of_stock")


@dataclass
class Sandboxes:
    """The simulated upstreams this process serves, when the settings ask for them."""

    katana: KatanaSandbox | None = None
    shipengine: ShipEngineSandbox | None = None
    ups: UpsSandbox | None = None
    bigcommerce: BigCommerceSandbox | None = None
    payments: PaymentsSandbox | None = None


def build_upstreams(settings: Settings, sandboxes: Sandboxes) -> ErpConnector | None:
    """The real Katana when its URL is set; else, with the sandbox on, the simulated one,
    spoken to over the same wire format through an in-process transport."""
    if settings.katana_url:
        return KatanaErp.create(
            settings.katana_url, settings.katana_token or "", settings.katana_webhook_secrets or None
        )
    if not settings.sandbox:
        return None
    secrets = settings.katana_webhook_secrets or (SANDBOX_WEBHOOK_SECRET,)
    sandboxes.katana = sandboxes.katana or KatanaSandbox(
        token=settings.katana_token, webhook_token=secrets[0]
    )
    return KatanaErp.create(
        SANDBOX_KATANA_URL,
        settings.katana_token or "sandbox",
        secrets,
        transport=httpx.ASGITransport(app=sandboxes.katana.app),
    )


SANDBOX_BIGCOMMERCE_URL = "http://bigcommerce.sandbox.internal"
SANDBOX_BIGCOMMERCE_SECRET = "ordergate-sandbox-bigcommerce-webhook-secret"  # noqa: S105


def build_storefront(settings: Settings, sandboxes: Sandboxes) -> StorefrontConnector | None:
    """The real BigCommerce store when its URL is set; else, with the sandbox on, the simulated
    one, spoken to in its wire format through an in-process transport."""
    secrets = settings.bigcommerce_webhook_secrets
    if settings.bigcommerce_url:
        return BigCommerceStorefront.create(
            settings.bigcommerce_url, settings.bigcommerce_token or "", list(secrets) or None
        )
    if not settings.sandbox:
        return None
    sandboxes.bigcommerce = sandboxes.bigcommerce or BigCommerceSandbox(token=settings.bigcommerce_token)
    return BigCommerceStorefront.create(
        SANDBOX_BIGCOMMERCE_URL,
        settings.bigcommerce_token or "sandbox",
        list(secrets or (SANDBOX_BIGCOMMERCE_SECRET,)),
        transport=httpx.ASGITransport(app=sandboxes.bigcommerce.app),
    )


def connect_storefront_sandbox(app: Starlette, settings: Settings, sandboxes: Sandboxes) -> None:
    """The storefront sandbox tells us about its orders as BigCommerce would: hooks registered
    with our secret as a custom header, delivered in-process."""
    sandbox = sandboxes.bigcommerce
    if sandbox is None:
        return
    sandbox.webhook_client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=settings.public_url
    )
    secret = (settings.bigcommerce_webhook_secrets or (SANDBOX_BIGCOMMERCE_SECRET,))[0]
    for scope in ORDER_SCOPES:
        sandbox.register_hook(
            scope, f"{settings.public_url}/webhooks/bigcommerce", {STOREFRONT_SECRET_HEADER: secret}
        )


async def sync_storefront_forever(services: Services, every_seconds: int) -> None:
    """The backfill, resumed from its checkpoint, at start and then every so often; the
    catalogue with it. Webhooks bring orders at once: this catches what they missed."""
    while True:
        try:
            changed = await storefront.sync_catalog(services)
            report = await storefront.sync_orders(services)
            if changed or report.imported:
                log.info("storefront sync: %d products changed, %d orders imported", changed, report.imported)
        except UpstreamError as error:
            log.warning("storefront sync: %s", error)
        except Exception:  # a supervisor: log, wait, and go on
            log.exception("storefront sync failed; retrying")
        await asyncio.sleep(every_seconds)


async def push_availability_forever(services: Services, at_most_every: int) -> None:
    """What we can sell per location, to the storefront: after changes (woken by the broker),
    no more often than `at_most_every` seconds."""
    pusher = storefront.AvailabilityPusher()
    async with services.broker.listen() as listener:
        while True:
            try:
                await pusher.push(services)
            except UpstreamError as error:
                log.warning("storefront availability push: %s", error)
            except Exception:
                log.exception("storefront availability push failed; retrying")
            await listener.wait(at_most_every)
            await asyncio.sleep(min(2.0, at_most_every))  # let a burst of changes settle


SANDBOX_PAYMENTS_URL = "http://payments.sandbox.internal"


def build_payments(settings: Settings, sandboxes: Sandboxes) -> dict[str, PaymentProvider]:
    """`stripe` when its key is set; `sandbox` (the contract's test tokens) with the sandbox on."""
    providers: dict[str, PaymentProvider] = {}
    if settings.stripe_key:
        providers["stripe"] = StripeLikeProvider.create(settings.stripe_url, settings.stripe_key)
    if settings.sandbox:
        sandboxes.payments = sandboxes.payments or PaymentsSandbox()
        providers["sandbox"] = StripeLikeProvider.create(
            SANDBOX_PAYMENTS_URL, "sk_test_sandbox", transport=httpx.ASGITransport(app=sandboxes.payments.app)
        )
    return providers


SANDBOX_SHIPENGINE_URL = "http://shipengine.sandbox.internal"
SANDBOX_UPS_URL = "http://ups.sandbox.internal"
SANDBOX_CARRIER_SECRET = "ordergate-sandbox-carrier-webhook-secret"  # noqa: S105
SANDBOX_CARRIER_SECRET = "ordergate-sandbox-carrier-webhook-secret"  # noqa: S105


def build_carriers(settings: Settings, sandboxes: Sandboxes) -> dict[str, Carrier]:
    """Each carrier real when its URL is set, simulated in-process when the sandbox is on."""
    carriers: dict[str, Carrier] = {}
    step = settings.sandbox_tracking_step_seconds
    if settings.shipengine_url:
        carriers["shipengine"] = ShipEngineCarrier.create(
            settings.shipengine_url,
            settings.shipengine_key or "",
            webhook_secret=settings.shipengine_webhook_secret,
        )
    elif settings.sandbox:
        sandboxes.shipengine = sandboxes.shipengine or ShipEngineSandbox(
            api_key=settings.shipengine_key,
            step_seconds=step,
            public_url=f"{settings.public_url}/sandbox/shipengine",
        )
        carriers["shipengine"] = ShipEngineCarrier.create(
            SANDBOX_SHIPENGINE_URL,
            settings.shipengine_key or "sandbox",
            transport=httpx.ASGITransport(app=sandboxes.shipengine.app),
            webhook_secret=settings.shipengine_webhook_secret or SANDBOX_CARRIER_SECRET,
        )
    if settings.ups_url:
        carriers["ups"] = UpsCarrier.create(
            settings.ups_url,
            settings.ups_client_id or "",
            settings.ups_client_secret or "",
            settings.ups_account or "",
            webhook_credential=settings.ups_webhook_credential,
        )
    elif settings.sandbox:
        sandboxes.ups = sandboxes.ups or UpsSandbox(
            step_seconds=step, public_url=f"{settings.public_url}/sandbox/ups"
        )
        carriers["ups"] = UpsCarrier.create(
            SANDBOX_UPS_URL,
            settings.ups_client_id or "sandbox",
            settings.ups_client_secret or "sandbox",
            settings.ups_account or "A1B2C3",
            transport=httpx.ASGITransport(app=sandboxes.ups.app),
            webhook_credential=settings.ups_webhook_credential or SANDBOX_CARRIER_SECRET,
        )
    return carriers


def connect_carrier_sandboxes(
    app: Starlette, settings: Settings, sandboxes: Sandboxes
) -> list[asyncio.Task[None]]:
    """The carrier sandboxes advance their parcels' tracking every step and tell us as the real
    carriers would: with a webhook secret (ShipEngine) or a credential (UPS), delivered in-process."""
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    if sandboxes.shipengine is not None:
        sandboxes.shipengine.webhook_client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=settings.public_url
        )
        sandboxes.shipengine.register_webhook(
            f"{settings.public_url}/webhooks/shipengine",
            headers={SHIPENGINE_SECRET_HEADER: settings.shipengine_webhook_secret or SANDBOX_CARRIER_SECRET},
        )
        tasks.append(asyncio.create_task(sandboxes.shipengine.run(stop), name="sandbox-shipengine-tracking"))
    if sandboxes.ups is not None:
        sandboxes.ups.webhook_client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=settings.public_url
        )
        sandboxes.ups.subscribe(
            f"{settings.public_url}/webhooks/ups", settings.ups_webhook_credential or SANDBOX_CARRIER_SECRET
        )
        tasks.append(asyncio.create_task(sandboxes.ups.run(stop), name="sandbox-ups-tracking"))
    app.state.sandbox_stop = stop
    return tasks


def load_tax_rules(path: str | None) -> TaxRules:
    """The built-in rules, or those in the JSON file named by ORDERGATE_TAX_RULES (a bad file
    stops the gateway at start with what is wrong, not at the first order)."""
    if path is None:
        return DEFAULT_RULES
    try:
        return TaxRules.from_json(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise SettingsError(f"ORDERGATE_TAX_RULES: {exc}") from None


def build_services(
    settings: Settings, store: Store | None = None, sandboxes: Sandboxes | None = None
) -> Services:
    store = store or Store(settings.database_url)
    broker: Broker = RedisBroker(settings.redis_url) if settings.redis_url else MemoryBroker()
    policy = Policy(
        currency=settings.currency,
        shipping=ShippingPolicy(
            flat_rate=settings.flat_shipping_rate, free_over=settings.free_shipping_threshold
        ),
        limits=Limits(max_line_quantity=settings.max_line_quantity, max_lines=settings.max_lines_per_order),
        page_size_cap=settings.page_size_cap,
        tax_rules=load_tax_rules(settings.tax_rules_path),
        fraud=FraudPolicy(threshold=settings.fraud_threshold, blocklist=frozenset(settings.fraud_blocklist)),
        edit_window=timedelta(minutes=settings.edit_window_minutes),
        loyalty_points_per_unit=settings.loyalty_points_per_unit,
        appeasement_limits={
            Role.AGENT: settings.appeasement_limit_agent,
            Role.ADMIN: settings.appeasement_limit_admin,
        },
    )
    sandboxes = sandboxes if sandboxes is not None else Sandboxes()
    targets = TargetGuard(allow_private=settings.webhooks_allow_private)
    return Services(
        store=store,
        broker=broker,
        policy=policy,
        clock=utc_now,
        erp=build_upstreams(settings, sandboxes),
        storefront=build_storefront(settings, sandboxes),
        webhook_sender=HttpWebhookSender.create(guard=targets),
        webhook_targets=targets,
        payments=build_payments(settings, sandboxes),
        carriers=build_carriers(settings, sandboxes),
        default_carrier=settings.default_carrier,
    )


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
    await warm_inventory(services)


async def warm_inventory(services: Services) -> None:
    """Join the ERP's locations and read every product's stock, so the first shopper's answer
    is not the one that waits. An unreachable ERP leaves the last snapshot in place."""
    services.geocoder.warm()
    if services.erp is None:
        return
    try:
        joined = await inventory.sync_locations(services)
    except UpstreamError as error:
        log.warning("could not read the ERP's locations: %s", error)
        return
    async with services.store.read() as uow:
        skus = sorted(await uow.catalog.active_skus())
    stale = await inventory.refresh_stock(services, skus)
    log.info("joined %d ERP locations; read stock for %d SKUs (%d stale)", joined, len(skus), len(stale))


def outbox_handlers(services: Services) -> dict[str, Handler]:
    """Who does each kind of durable work, given the upstreams this gateway has."""
    handlers: dict[str, Handler] = {}
    if services.erp is not None:
        handlers[ERP_SALES_ORDER] = erp_sync.push_sales_order
        handlers[ERP_SALES_ORDER_AMEND] = erp_sync.amend_sales_order
    if services.storefront is not None:
        handlers[STOREFRONT_DELIVERY] = storefront.process_delivery
        handlers[STOREFRONT_SHIPMENT] = storefront.push_shipment
        handlers[STOREFRONT_STATUS] = storefront.push_status
    if services.webhook_sender is not None:
        handlers[WEBHOOK_DELIVERY] = webhooks_out.deliver
    if services.payments:
        for kind in (PAYMENT_CAPTURE, PAYMENT_VOID, PAYMENT_REFUND):
            handlers[kind] = payments.do_payment_task
        handlers[PAYMENT_REFUND] = returns.refund_and_settle  # the refund, then the return it was for
    if services.carriers:
        handlers[RETURN_LABEL] = returns.buy_return_label
    return handlers


async def relay_outbox(services: Services, idle_seconds: float = 5.0) -> None:
    """Do the outbox's work for as long as the gateway runs; woken after each commit that
    adds some, and every few seconds for retries that have come due."""
    handlers = outbox_handlers(services)
    while True:
        services.outbox_ready.clear()
        try:
            attempted = await relay_once(services, handlers)
        except Exception:  # a supervisor: log, wait, and go on
            log.exception("the outbox relay failed; retrying")
            attempted = 0
        if attempted == 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(idle_seconds):  # not wait_for: see broker.memory
                    await services.outbox_ready.wait()


def create_app(
    settings: Settings | None = None, services: Services | None = None, sandboxes: Sandboxes | None = None
) -> Starlette:
    settings = settings or Settings.from_env()
    settings.check_serving()  # however it is started (the CLI checks first, to say so plainly)
    sandboxes = sandboxes or Sandboxes()
    services = services or build_services(settings, sandboxes=sandboxes)
    html = graphiql_html("/graphql", ASSETS_PATH) if settings.graphiql else None
    view = endpoint(settings, services, html)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def metrics_endpoint(request: Request) -> Response:
        """Prometheus text format; the gauges that need the database are read now. With
        ORDERGATE_METRICS_TOKEN set, only a scraper presenting it as a bearer token is answered."""
        if settings.metrics_token is not None:
            presented = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(presented.encode(), settings.metrics_token.encode()):
                return JSONResponse(
                    {
                        "error": {
                            "code": "UNAUTHENTICATED",
                            "message": "send the metrics token as a bearer token",
                        }
                    },
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        metrics.SUBSCRIPTIONS.set(services.hub.subscriber_count)
        now = services.clock()
        try:
            async with services.store.read() as uow:
                pending, oldest = await uow.outbox.backlog(now)
        except Exception:  # a metrics scrape never fails because the database is away
            log.warning("metrics: could not read the outbox backlog", exc_info=True)
        else:
            metrics.OUTBOX_PENDING.set(pending)
            metrics.OUTBOX_LAG.set((now - oldest).total_seconds() if oldest is not None else 0)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    async def readyz(_: Request) -> Response:
        if await services.store.ping():
            return JSONResponse({"status": "ready", "database": "ok"})
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)

    @asynccontextmanager
    async def lifespan(starlette: Starlette) -> AsyncIterator[None]:
        traces = tracing.setup(settings.otlp_traces_endpoint, settings.service_name)
        try:
            async with serving(starlette):
                yield
        finally:
            await traces.aclose()  # after everything else, so that its spans are flushed too

    @asynccontextmanager
    async def serving(_: Starlette) -> AsyncIterator[None]:
        await prepare(services, settings)
        await services.broker.start()
        if sandboxes.katana is not None:
            # The sandbox tells us about stock changes as Katana would: signed webhooks to our
            # endpoint, delivered in-process.
            sandboxes.katana.webhook_client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=settings.public_url
            )
            sandboxes.katana.register_webhook(
                f"{settings.public_url}/webhooks/katana",
                KATANA_EVENTS,
                token=(settings.katana_webhook_secrets or (SANDBOX_WEBHOOK_SECRET,))[0],
            )
        trackers = connect_carrier_sandboxes(app, settings, sandboxes)
        connect_storefront_sandbox(app, settings, sandboxes)
        if settings.bigcommerce_url and services.storefront is not None:
            try:
                await services.storefront.register_webhooks(f"{settings.public_url}/webhooks/bigcommerce")
            except (UpstreamError, ValueError) as error:
                log.warning("could not register the storefront's webhooks: %s", error)
        workers: list[asyncio.Task[None]] = []
        if settings.outbox_relay:
            workers.append(asyncio.create_task(relay_outbox(services), name="ordergate-outbox-relay"))
            workers.append(
                asyncio.create_task(webhooks_out.dispatch_loop(services), name="ordergate-webhook-dispatch")
            )
        if services.storefront is not None and settings.storefront_sync_seconds > 0:
            workers.append(
                asyncio.create_task(
                    sync_storefront_forever(services, settings.storefront_sync_seconds),
                    name="ordergate-storefront-sync",
                )
            )
        if services.storefront is not None and settings.storefront_availability_seconds > 0:
            workers.append(
                asyncio.create_task(
                    push_availability_forever(services, settings.storefront_availability_seconds),
                    name="ordergate-storefront-availability",
                )
            )
        try:
            yield
        finally:
            for worker in workers:
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
            app.state.sandbox_stop.set()
            for tracker in trackers:
                with contextlib.suppress(asyncio.CancelledError):
                    await tracker
            await services.hub.stop()
            await services.broker.stop()
            if sandboxes.katana is not None:
                await sandboxes.katana.aclose()
            if services.erp is not None:
                await services.erp.aclose()
            for carrier in services.carriers.values():
                await carrier.aclose()
            if services.storefront is not None:
                await services.storefront.aclose()
            if services.webhook_sender is not None:
                await services.webhook_sender.aclose()
            for provider in services.payments.values():
                await provider.aclose()
            if sandboxes.bigcommerce is not None:
                await sandboxes.bigcommerce.aclose()
            for sandbox in (sandboxes.shipengine, sandboxes.ups):
                if sandbox is not None:
                    await sandbox.aclose()
            await services.store.dispose()

    routes = [
        Route("/graphql", view, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", view),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint),
        Route("/webhooks/katana", katana_endpoint(services), methods=["POST"]),
        Route("/webhooks/shipengine", carrier_endpoint(services, "shipengine"), methods=["POST"]),
        Route("/webhooks/ups", carrier_endpoint(services, "ups"), methods=["POST"]),
        Route("/webhooks/bigcommerce", storefront_endpoint(services), methods=["POST"]),
    ]
    if sandboxes.katana is not None:
        routes.append(Mount("/sandbox/katana", sandboxes.katana.app, name="sandbox-katana"))
    if sandboxes.shipengine is not None:
        routes.append(Mount("/sandbox/shipengine", sandboxes.shipengine.app, name="sandbox-shipengine"))
    if sandboxes.ups is not None:
        routes.append(Mount("/sandbox/ups", sandboxes.ups.app, name="sandbox-ups"))
    if sandboxes.payments is not None:
        routes.append(Mount("/sandbox/payments", sandboxes.payments.app, name="sandbox-payments"))
    if sandboxes.bigcommerce is not None:
        routes.append(Mount("/sandbox/bigcommerce", sandboxes.bigcommerce.app, name="sandbox-bigcommerce"))
    if html is not None:
        routes.append(Mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="graphiql-assets"))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestId)
    app.add_middleware(tracing.ServerSpans)  # outermost: its span covers the whole request
    app.state.services = services
    app.state.settings = settings
    return app


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
