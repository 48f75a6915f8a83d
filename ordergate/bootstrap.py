"""Building and closing every service the gateway runs with: the store, the broker, each
upstream (real when its URL is set, else the sandbox, spoken to in its wire format through an
in-process transport), the policy; preparing the database; and, while the app serves, the
sandboxes' deliveries to it, the broker's listening and the workers.

The app, the CLI, the tests and the benchmarks all build here, and everything built is
closed by one `AsyncExitStack` (`Services.aclose`): nothing is closed by hand elsewhere. This
is the only module that picks concrete brokers, connectors and sandboxes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
from starlette.types import ASGIApp

from ordergate.broker.base import Broker
from ordergate.broker.memory import MemoryBroker
from ordergate.connectors.carriers.base import Carrier
from ordergate.connectors.carriers.shipengine import SECRET_HEADER as SHIPENGINE_SECRET_HEADER
from ordergate.connectors.carriers.shipengine import ShipEngineCarrier
from ordergate.connectors.carriers.ups import UpsCarrier
from ordergate.connectors.erp.base import ErpConnector
from ordergate.connectors.erp.katana import KatanaErp
from ordergate.connectors.errors import UpstreamError
from ordergate.connectors.mail.base import Mailer
from ordergate.connectors.mail.smtp import SmtpMailer
from ordergate.connectors.payments.base import PaymentProvider
from ordergate.connectors.payments.stripe_like import StripeLikeProvider
from ordergate.connectors.storefront.base import StorefrontConnector
from ordergate.connectors.storefront.bigcommerce import ORDER_SCOPES, BigCommerceStorefront
from ordergate.connectors.storefront.bigcommerce import SECRET_HEADER as STOREFRONT_SECRET_HEADER
from ordergate.connectors.webhooks.http import HttpWebhookSender
from ordergate.connectors.webhooks.targets import TargetGuard
from ordergate.models.commands import Limits
from ordergate.models.emails import Sender
from ordergate.models.fraud import FraudPolicy
from ordergate.models.identity import Role
from ordergate.models.links import StatusLinks, link_key
from ordergate.models.pricing import DEFAULT_RULES, ShippingPolicy, TaxRules
from ordergate.sandbox.bigcommerce import BigCommerceSandbox
from ordergate.sandbox.katana import KatanaSandbox
from ordergate.sandbox.keeper import Snapshotting, StateKeeper
from ordergate.sandbox.mail import MailSink
from ordergate.sandbox.payments import PaymentsSandbox
from ordergate.sandbox.seed import MERCHANT_PHONE, demo_locations, demo_products
from ordergate.sandbox.shipengine import ShipEngineSandbox
from ordergate.sandbox.ups import UpsSandbox
from ordergate.settings import Settings, SettingsError
from ordergate.store import migrate
from ordergate.store.engine import sqlite_file
from ordergate.store.unit_of_work import Store
from ordergate.usecases import catalog, inventory
from ordergate.usecases.kept_customers import KeptCustomers
from ordergate.usecases.services import Policy, Services, utc_now
from ordergate.usecases.views import ReadViews
from ordergate.workers import runner
from ordergate.workers.hub import EventHub

log = logging.getLogger("ordergate")


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
    keeper: StateKeeper | None = None
    # The carrier sandboxes move their parcels every `step_seconds` of real time, as the gateway
    # serves; a caller that moves them itself (`advance` on its own clock: a seeded walk, which
    # must take the same steps on every run) turns this off.
    tracking_in_real_time: bool = True

    def kept(self) -> dict[str, Snapshotting]:
        """The sandboxes this process runs, by vendor, whose state a restart keeps."""
        sandboxes: dict[str, Snapshotting | None] = {
            "katana": self.katana,
            "shipengine": self.shipengine,
            "ups": self.ups,
            "payments": self.payments,
            "bigcommerce": self.bigcommerce,
            "mail": self.mail,
        }
        return {name: sandbox for name, sandbox in sandboxes.items() if sandbox is not None}

    mail: MailSink | None = None

    def served(self) -> dict[str, ASGIApp]:
        """The sandboxes this process runs, by vendor, to be mounted under /sandbox/<vendor>."""
        apps: dict[str, ASGIApp | None] = {
            "katana": self.katana.app if self.katana else None,
            "shipengine": self.shipengine.app if self.shipengine else None,
            "ups": self.ups.app if self.ups else None,
            "payments": self.payments.app if self.payments else None,
            "bigcommerce": self.bigcommerce.app if self.bigcommerce else None,
            "mail": self.mail.app if self.mail else None,
        }
        return {name: app for name, app in apps.items() if app is not None}


def build_upstreams(settings: Settings, sandboxes: Sandboxes) -> ErpConnector | None:
    """The real Katana when its URL is set; else, with the sandbox on, the simulated one,
    spoken to over the same wire format through an in-process transport."""
    if settings.katana.url:
        return KatanaErp.create(
            settings.katana.url, settings.katana.token or "", settings.katana.webhook_secrets or None
        )
    if not settings.sandbox:
        return None
    secrets = settings.katana.webhook_secrets or (SANDBOX_WEBHOOK_SECRET,)
    sandboxes.katana = sandboxes.katana or KatanaSandbox(
        token=settings.katana.token, webhook_token=secrets[0]
    )
    return KatanaErp.create(
        SANDBOX_KATANA_URL,
        settings.katana.token or "sandbox",
        secrets,
        transport=httpx.ASGITransport(app=sandboxes.katana.app),
    )


SANDBOX_BIGCOMMERCE_URL = "http://bigcommerce.sandbox.internal"
SANDBOX_BIGCOMMERCE_SECRET = "ordergate-sandbox-bigcommerce-webhook-secret"  # noqa: S105


def build_storefront(settings: Settings, sandboxes: Sandboxes) -> StorefrontConnector | None:
    """The real BigCommerce store when its URL is set; else, with the sandbox on, the simulated
    one, spoken to in its wire format through an in-process transport."""
    secrets = settings.bigcommerce.webhook_secrets
    if settings.bigcommerce.url:
        return BigCommerceStorefront.create(
            settings.bigcommerce.url, settings.bigcommerce.token or "", list(secrets) or None
        )
    if not settings.sandbox:
        return None
    sandboxes.bigcommerce = sandboxes.bigcommerce or BigCommerceSandbox(token=settings.bigcommerce.token)
    return BigCommerceStorefront.create(
        SANDBOX_BIGCOMMERCE_URL,
        settings.bigcommerce.token or "sandbox",
        list(secrets or (SANDBOX_BIGCOMMERCE_SECRET,)),
        transport=httpx.ASGITransport(app=sandboxes.bigcommerce.app),
    )


def connect_storefront_sandbox(app: ASGIApp, settings: Settings, sandboxes: Sandboxes) -> None:
    """The storefront sandbox tells us about its orders as BigCommerce would: hooks registered
    with our secret as a custom header, delivered in-process."""
    sandbox = sandboxes.bigcommerce
    if sandbox is None:
        return
    sandbox.webhook_client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=settings.public_url
    )
    secret = (settings.bigcommerce.webhook_secrets or (SANDBOX_BIGCOMMERCE_SECRET,))[0]
    for scope in ORDER_SCOPES:
        sandbox.register_hook(
            scope, f"{settings.public_url}/webhooks/bigcommerce", {STOREFRONT_SECRET_HEADER: secret}
        )


SANDBOX_PAYMENTS_URL = "http://payments.sandbox.internal"


def build_payments(settings: Settings, sandboxes: Sandboxes) -> dict[str, PaymentProvider]:
    """`stripe` when its key is set; `sandbox` (the contract's test tokens) with the sandbox on."""
    providers: dict[str, PaymentProvider] = {}
    if settings.stripe.key:
        providers["stripe"] = StripeLikeProvider.create(settings.stripe.url, settings.stripe.key)
    if settings.sandbox:
        sandboxes.payments = sandboxes.payments or PaymentsSandbox()
        providers["sandbox"] = StripeLikeProvider.create(
            SANDBOX_PAYMENTS_URL, "sk_test_sandbox", transport=httpx.ASGITransport(app=sandboxes.payments.app)
        )
    return providers


SANDBOX_SHIPENGINE_URL = "http://shipengine.sandbox.internal"
SANDBOX_UPS_URL = "http://ups.sandbox.internal"
SANDBOX_CARRIER_SECRET = "ordergate-sandbox-carrier-webhook-secret"  # noqa: S105


def build_carriers(settings: Settings, sandboxes: Sandboxes) -> dict[str, Carrier]:
    """Each carrier real when its URL is set, simulated in-process when the sandbox is on."""
    carriers: dict[str, Carrier] = {}
    step = settings.sandbox_tracking_step_seconds
    if settings.shipengine.url:
        carriers["shipengine"] = ShipEngineCarrier.create(
            settings.shipengine.url,
            settings.shipengine.key or "",
            webhook_secret=settings.shipengine.webhook_secret,
        )
    elif settings.sandbox:
        sandboxes.shipengine = sandboxes.shipengine or ShipEngineSandbox(
            api_key=settings.shipengine.key,
            step_seconds=step,
            public_url=f"{settings.public_url}/sandbox/shipengine",
        )
        carriers["shipengine"] = ShipEngineCarrier.create(
            SANDBOX_SHIPENGINE_URL,
            settings.shipengine.key or "sandbox",
            transport=httpx.ASGITransport(app=sandboxes.shipengine.app),
            webhook_secret=settings.shipengine.webhook_secret or SANDBOX_CARRIER_SECRET,
        )
    if settings.ups.url:
        carriers["ups"] = UpsCarrier.create(
            settings.ups.url,
            settings.ups.client_id or "",
            settings.ups.client_secret or "",
            settings.ups.account or "",
            webhook_credential=settings.ups.webhook_credential,
        )
    elif settings.sandbox:
        sandboxes.ups = sandboxes.ups or UpsSandbox(
            step_seconds=step, public_url=f"{settings.public_url}/sandbox/ups"
        )
        carriers["ups"] = UpsCarrier.create(
            SANDBOX_UPS_URL,
            settings.ups.client_id or "sandbox",
            settings.ups.client_secret or "sandbox",
            settings.ups.account or "A1B2C3",
            transport=httpx.ASGITransport(app=sandboxes.ups.app),
            webhook_credential=settings.ups.webhook_credential or SANDBOX_CARRIER_SECRET,
        )
    return carriers


def connect_carrier_sandboxes(
    app: ASGIApp, settings: Settings, sandboxes: Sandboxes
) -> tuple[asyncio.Event, list[asyncio.Task[None]]]:
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
            headers={SHIPENGINE_SECRET_HEADER: settings.shipengine.webhook_secret or SANDBOX_CARRIER_SECRET},
        )
        if sandboxes.tracking_in_real_time:
            tasks.append(
                asyncio.create_task(sandboxes.shipengine.run(stop), name="sandbox-shipengine-tracking")
            )
    if sandboxes.ups is not None:
        sandboxes.ups.webhook_client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=settings.public_url
        )
        sandboxes.ups.subscribe(
            f"{settings.public_url}/webhooks/ups", settings.ups.webhook_credential or SANDBOX_CARRIER_SECRET
        )
        if sandboxes.tracking_in_real_time:
            tasks.append(asyncio.create_task(sandboxes.ups.run(stop), name="sandbox-ups-tracking"))
    return stop, tasks


def sandbox_state_dir(settings: Settings) -> Path | None:
    """Where the sandboxes keep their state: `ORDERGATE_SANDBOX_STATE`, or else beside the
    database when that is an SQLite file (`ordergate.sandbox/` beside `ordergate.db`). None (memory
    only) when it is `off`, with the sandbox off, and by default for in-memory SQLite and for
    PostgreSQL, whose life this process cannot see: state survives exactly when the store does.

    Why files beside the database and not a table in it: the sandboxes are vendors simulated in
    this process and know nothing of the store (the import contracts say so), so their state
    does not become rows the store owns, migrates or backs up; they never take the store's one
    SQLite write lock; and a user can read, set aside or delete them on their own. The price is
    that deleting the database leaves them behind, which `stale_sandbox_state` answers."""
    if not settings.sandbox or settings.sandbox_state == "off":
        return None
    if settings.sandbox_state:
        return Path(settings.sandbox_state)
    database = sqlite_file(settings.database_url)
    if database is None:
        return None
    beside = database.with_name(f"{database.stem}.sandbox")
    return beside if beside != database else database.with_name(f"{database.name}.sandbox")


def stale_sandbox_state(settings: Settings) -> bool:
    """Whether the sandboxes' saved state outlived its store: the SQLite file is not there (yet)
    when the gateway starts, as after `rm ordergate.db` for a fresh start. Sandbox state kept for
    a store that is gone is a world the new one never saw (orders it would import, parcels it never
    shipped), so it is set aside too. Checked before anything opens the store, which makes the
    file; not keyed by the file's inode, which a new file may well reuse. (The other way round,
    state deleted beside a store that stays, the sandboxes start over from their demo data.)"""
    database = sqlite_file(settings.database_url)
    return database is not None and not database.exists()


def keep_sandbox_state(settings: Settings, sandboxes: Sandboxes, *, stale: bool) -> None:
    """Restore the sandboxes built from their saved state, and keep saving it (see `StateKeeper`)."""
    directory = sandbox_state_dir(settings)
    if directory is None or sandboxes.keeper is not None:
        return
    keeper = StateKeeper(directory, stale=stale)
    for name, sandbox in sandboxes.kept().items():
        keeper.keep(name, sandbox)
    sandboxes.keeper = keeper


def build_mailer(settings: Settings, sandboxes: Sandboxes) -> Mailer | None:
    """SMTP to the server ORDERGATE_SMTP_URL names; else, with the sandbox on, SMTP to the
    sandbox's own server (served while the gateway serves, read at /sandbox/mail)."""
    if settings.email.smtp_url:
        try:
            return SmtpMailer(settings.email.smtp_url)
        except ValueError as error:
            raise SettingsError(f"ORDERGATE_SMTP_URL: {error}") from None
    if not settings.sandbox:
        return None
    sink = sandboxes.mail = sandboxes.mail or MailSink()
    return SmtpMailer(lambda: sink.url)


def email_sender(settings: Settings) -> Sender:
    return Sender(
        name=settings.email.merchant_name,
        from_address=settings.email.from_address,
        reply_to=settings.email.reply_to,
        postal_address=settings.email.postal_address,
    )


def load_tax_rules(path: str | None) -> TaxRules:
    """The built-in rules, or those in the JSON file named by ORDERGATE_TAX_RULES (a bad file
    stops the gateway at start with what is wrong, not at the first order)."""
    if path is None:
        return DEFAULT_RULES
    try:
        return TaxRules.from_json(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise SettingsError(f"ORDERGATE_TAX_RULES: {exc}") from None


def _pool(settings: Settings) -> dict[str, int] | None:
    """The PostgreSQL pool: a third of `database_connections` kept open (10 + 20 by default)."""
    if settings.is_sqlite:
        return None
    kept = max(1, settings.database_connections // 3)
    return {"pool_size": kept, "max_overflow": settings.database_connections - kept}


def _redis_broker(url: str) -> Broker:
    """The Redis broker, imported only where one is configured: redis-py brings OpenTelemetry
    and more with it: 113 modules, ~90 ms of every start and CLI command on the embedded default."""
    from ordergate.broker.redis import RedisBroker

    return RedisBroker(url)


def build_services(
    settings: Settings, store: Store | None = None, sandboxes: Sandboxes | None = None
) -> Services:
    stale = stale_sandbox_state(settings)  # before the store can make the file
    store = store or Store(settings.database_url, engine_options=_pool(settings))
    broker: Broker = _redis_broker(settings.redis_url) if settings.redis_url else MemoryBroker()
    policy = Policy(
        currency=settings.currency,
        shipping=ShippingPolicy(
            flat_rate=settings.flat_shipping_rate,
            free_over=settings.free_shipping_threshold,
            express_rate=settings.express_shipping_rate,
        ),
        limits=Limits(max_line_quantity=settings.max_line_quantity, max_lines=settings.max_lines_per_order),
        page_size_cap=settings.page_size_cap,
        tax_rules=load_tax_rules(settings.tax_rules_path),
        fraud=FraudPolicy(threshold=settings.fraud_threshold, blocklist=frozenset(settings.fraud_blocklist)),
        edit_window=timedelta(minutes=settings.edit_window_minutes),
        max_split=settings.split_limit,
        split_limits=dict(settings.split_limits),
        loyalty_points_per_unit=settings.loyalty_points_per_unit,
        appeasement_limits={
            Role.AGENT: settings.appeasement_limit_agent,
            Role.ADMIN: settings.appeasement_limit_admin,
        },
        merchant_phone=settings.merchant_phone or (MERCHANT_PHONE if settings.sandbox else None),
        return_label_ttl=timedelta(days=settings.return_label_days)
        if settings.return_label_days > 0
        else None,
    )
    sandboxes = sandboxes if sandboxes is not None else Sandboxes()
    targets = TargetGuard(allow_private=settings.webhooks.allow_private)
    services = Services(
        store=store,
        broker=broker,
        policy=policy,
        hub=EventHub(store, broker, poll_seconds=policy.event_poll_seconds),
        clock=utc_now,
        erp=build_upstreams(settings, sandboxes),
        storefront=build_storefront(settings, sandboxes),
        webhook_sender=HttpWebhookSender.create(guard=targets),
        webhook_targets=targets,
        payments=build_payments(settings, sandboxes),
        carriers=build_carriers(settings, sandboxes),
        default_carrier=settings.default_carrier,
        views=ReadViews(max_age=max(settings.read_view_ms, 0) / 1000),
        storefront_customers=KeptCustomers(max_age=max(settings.storefront_customer_seconds, 0)),
        links=StatusLinks(settings.public_url, link_key(settings.status_link_secret)),
        mailer=build_mailer(settings, sandboxes),
        email_sender=email_sender(settings),
    )
    keep_sandbox_state(settings, sandboxes, stale=stale)
    _close_with(services, sandboxes)
    return services


def _close_with(services: Services, sandboxes: Sandboxes) -> None:
    """Everything built above is closed by `services.aclose()`, last built first: the hub
    and the clients before the sandboxes they speak to, the store last."""
    closing = services.closing
    closing.push_async_callback(services.store.dispose)
    if sandboxes.keeper is not None:
        closing.push_async_callback(sandboxes.keeper.aclose)  # once all else is closed: the last word
    for sandbox in (
        sandboxes.katana,
        sandboxes.bigcommerce,
        sandboxes.shipengine,
        sandboxes.ups,
        sandboxes.mail,
    ):
        if sandbox is not None:
            closing.push_async_callback(sandbox.aclose)
    for upstream in (services.erp, services.storefront, services.webhook_sender, services.mailer):
        if upstream is not None:
            closing.push_async_callback(upstream.aclose)
    for provider in services.payments.values():
        closing.push_async_callback(provider.aclose)
    for carrier in services.carriers.values():
        closing.push_async_callback(carrier.aclose)
    closing.push_async_callback(services.hub.stop)


@asynccontextmanager
async def opened(
    settings: Settings,
    store: Store | None = None,
    sandboxes: Sandboxes | None = None,
    *,
    prepared: bool = True,
    read_stock: bool = True,
) -> AsyncIterator[Services]:
    """The services for a command or a test: built (and, unless told otherwise, migrated,
    seeded and warmed as settings say), closed whole on exit however the block ends. Without
    `read_stock` the warming joins the ERP's locations but leaves every product's stock to be
    read when it is first asked for, as it is once its snapshot is past the TTL."""
    services = build_services(settings, store, sandboxes)
    try:
        if prepared:
            await prepare(services, settings, read_stock=read_stock)
        yield services
    finally:
        await services.aclose()


async def prepare(services: Services, settings: Settings, *, read_stock: bool = True) -> None:
    """Migrate when allowed, seed the demo network and catalogue on first start, and warm."""
    if settings.auto_migrate:
        await migrate.upgrade(services.store)
    async with services.store.write() as uow:
        services.broker.keep_reads_for(str(await uow.events.database_id()))
    if settings.seed_demo_data:
        added = await catalog.seed(
            services, demo_products(services.clock(), settings.currency), demo_locations()
        )
        if added:
            log.info("seeded %d demo products and locations", added)
    await warm_inventory(services, read_stock=read_stock)
    services.prepared = True


async def warm_inventory(services: Services, *, read_stock: bool = True) -> None:
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
    try:
        await services.erp.learn(skus)  # once, here, though another replica reads the stock
    except UpstreamError as error:
        log.warning("could not learn the ERP's ids for %d SKUs: %s", len(skus), error)
    if not read_stock:
        return
    stale = await inventory.refresh_stock(services, skus)
    log.info("joined %d ERP locations; read stock for %d SKUs (%d stale)", joined, len(skus), len(stale))


@asynccontextmanager
async def serving(
    app: ASGIApp, settings: Settings, services: Services, sandboxes: Sandboxes
) -> AsyncIterator[None]:
    """What the app does while it serves, undone on exit in reverse: the database prepared
    (unless whoever built the services did, as `opened` does), the broker listening, the
    sandboxes delivering their webhooks to `app` in-process, the real storefront's webhooks
    registered, and the workers running."""
    async with AsyncExitStack() as stack:
        if not services.prepared:
            await prepare(services, settings)
        await services.broker.start()
        stack.push_async_callback(services.broker.stop)
        await stack.enter_async_context(_sandboxes_delivering(app, settings, sandboxes))
        if settings.bigcommerce.url and services.storefront is not None:
            try:
                await services.storefront.register_webhooks(f"{settings.public_url}/webhooks/bigcommerce")
            except (UpstreamError, ValueError) as error:
                log.warning("could not register the storefront's webhooks: %s", error)
        await stack.enter_async_context(runner.running(services, settings))
        yield


@asynccontextmanager
async def _sandboxes_delivering(
    app: ASGIApp, settings: Settings, sandboxes: Sandboxes
) -> AsyncIterator[None]:
    """The sandboxes tell us what changed as their vendors would (signed webhooks, secret
    headers, tracking as parcels move), delivered to `app` in-process."""
    if sandboxes.katana is not None:
        sandboxes.katana.webhook_client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=settings.public_url
        )
        sandboxes.katana.register_webhook(
            f"{settings.public_url}/webhooks/katana",
            KATANA_EVENTS,
            token=(settings.katana.webhook_secrets or (SANDBOX_WEBHOOK_SECRET,))[0],
        )
    connect_storefront_sandbox(app, settings, sandboxes)
    if sandboxes.mail is not None:
        await sandboxes.mail.start()
    stop, trackers = connect_carrier_sandboxes(app, settings, sandboxes)
    if sandboxes.keeper is not None:
        trackers.append(asyncio.create_task(sandboxes.keeper.run(stop), name="sandbox-state-saving"))
    try:
        yield
    finally:
        if sandboxes.katana is not None:
            await sandboxes.katana.delivered()  # to the app, while it still serves
        stop.set()
        for tracker in trackers:
            with suppress(asyncio.CancelledError):
                await tracker
