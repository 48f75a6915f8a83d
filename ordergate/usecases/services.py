"""The bundle of dependencies a use case may take, built once by the composition root."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ordergate.broker.base import Broker
from ordergate.connectors.carriers.base import Carrier
from ordergate.connectors.erp.base import ErpConnector
from ordergate.connectors.geocoding import OfflineGeocoder
from ordergate.connectors.mail.base import Mailer
from ordergate.connectors.payments.base import PaymentProvider
from ordergate.connectors.storefront.base import StorefrontConnector
from ordergate.connectors.webhooks.base import WebhookSender
from ordergate.connectors.webhooks.targets import TargetGuard
from ordergate.models.commands import Limits
from ordergate.models.emails import Sender
from ordergate.models.fraud import FraudPolicy
from ordergate.models.identity import Role
from ordergate.models.links import StatusLinks, link_key
from ordergate.models.outbox import lane_of
from ordergate.models.pricing import DEFAULT_RULES, PricingRule, ShippingPolicy, TaxRules
from ordergate.store.unit_of_work import Committed, Store
from ordergate.usecases.feed import Feed
from ordergate.usecases.kept_customers import KeptCustomers
from ordergate.usecases.views import ReadViews

DEMO_SENDER = Sender(
    name="Ordergate Demo Store",
    from_address="orders@shop.example",
    reply_to="support@shop.example",
    postal_address="1 Market Street, San Francisco, CA 94105, US",
)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Policy:
    currency: str
    shipping: ShippingPolicy
    limits: Limits
    page_size_cap: int = 250
    event_poll_seconds: float = 5.0
    stock_ttl: timedelta = timedelta(seconds=15)
    incoming_ttl: timedelta = timedelta(minutes=5)
    stale_after: timedelta = timedelta(minutes=2)
    stock_read_timeout: float = 2.0  # a shopper waits this long for the ERP, then gets the snapshot
    # How far replicas' clocks may disagree: a snapshot read this close to a movement's sending
    # or acknowledgement is not trusted to include it or not (models.movements).
    clock_skew: timedelta = timedelta(seconds=2)
    hold_ttl: timedelta = timedelta(minutes=15)
    max_hold_ttl: timedelta = timedelta(hours=2)
    max_skus_per_query: int = 250
    max_split: int = 2  # nodes an order may ship from, where its channel has no limit of its own
    split_limits: Mapping[str, int] = field(default_factory=dict)  # per channel
    return_window: timedelta = timedelta(days=30)
    # How long an approved return's parcel has to be sent once its label is bought (None: no limit).
    return_label_ttl: timedelta | None = timedelta(days=14)
    tax_rules: TaxRules = DEFAULT_RULES
    fraud: FraudPolicy = field(default_factory=FraudPolicy)
    edit_window: timedelta = timedelta(minutes=60)
    # A key claimed ahead of a provider call is its request's for this long, past any provider's
    # deadline: a claim still pending after it was abandoned (a crash) and may be taken again.
    idempotency_lease: timedelta = timedelta(minutes=2)
    idempotency_wait: float = 5.0  # seconds a repeat waits for the pending first request's result
    loyalty_points_per_unit: Decimal = Decimal("1")
    # The most one appeasement may give, per role allowed to give any; absent or None: no limit.
    appeasement_limits: Mapping[Role, Decimal | None] = field(
        default_factory=lambda: {Role.AGENT: Decimal("50.00")}
    )
    # Given to a carrier that requires a phone where neither the address nor the node has one.
    merchant_phone: str | None = None

    @property
    def pricing(self) -> PricingRule:
        """The one rule every path prices orders by (`models.pricing`)."""
        return PricingRule(self.currency, self.shipping, self.tax_rules)

    def split_limit(self, channel: str | None) -> int:
        """How many nodes one order of this channel may ship from."""
        return self.split_limits.get(channel or "", self.max_split)


SHORT_FOR = 60.0
"""Seconds a SKU a placement was refused for stays suspect (`Services.short_lately`); each refusal
renews it."""
STUCK_FOR = 600.0
"""Seconds the backorder loop's round leaves an order it routed off a short position and could not
move (`Services.stuck_lately`), unless more units are free for its SKUs meanwhile; an ERP notice
tries it again at once."""


@dataclass
class Lately:
    """Keys noted in this process in the last `window` seconds: the SKUs placements were lately
    refused for (INSUFFICIENT_STOCK: a placement of one reads its figures before it claims
    anything, and is refused at once if they are still short, `usecases.orders`), the orders a
    shortfall pass could not move (`rerouting.route_shortfalls`). A hint of what to look at, never
    a figure: what decides is read from the store. At most `max_keys` are kept, the oldest noted
    dropped first."""

    window: float
    max_keys: int = 10_000
    timer: Callable[[], float] = time.monotonic
    _noted: dict[str, float] = field(default_factory=dict)
    _marks: dict[str, int] = field(default_factory=dict)

    def note(self, keys: Iterable[str], marks: Mapping[str, int] | None = None) -> None:
        """Note these keys now, each with its mark where given (what was true when it was noted,
        for whoever asks later whether that has changed: `mark`)."""
        at = self.timer()
        for key in keys:
            self._noted.pop(key, None)  # re-inserted last: the dict's order is the order of noting
            while len(self._noted) >= self.max_keys:
                self._marks.pop(oldest := next(iter(self._noted)), None)
                self._noted.pop(oldest)
            self._noted[key] = at
            if marks is not None and key in marks:
                self._marks[key] = marks[key]
            else:
                self._marks.pop(key, None)

    def mark(self, key: str) -> int | None:
        """The mark this key was last noted with (None: noted without one, or not noted)."""
        return self._marks.get(key)

    def of(self, keys: Iterable[str]) -> list[str]:
        """Those of these keys noted in the last `window` seconds."""
        since = self.timer() - self.window
        return [key for key in dict.fromkeys(keys) if self._noted.get(key, -math.inf) > since]

    def forget(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._noted.pop(key, None)
            self._marks.pop(key, None)


@dataclass
class StockFreshness:
    """When this process last read each SKU's stock and supply from the ERP: a short-lived
    cache, so a busy product page costs the ERP one request per TTL, not one per view.

    `reading` holds the read of each SKU under way: a request that finds its SKU's snapshot past
    the TTL while a read of it is under way waits for that read instead of starting its own, so
    a sale's first second costs the ERP one read per SKU, not one per order in flight."""

    stock_read_at: dict[str, datetime] = field(default_factory=dict)
    incoming_read_at: dict[str, datetime] = field(default_factory=dict)
    reading: dict[str, asyncio.Future[set[str]]] = field(default_factory=dict)

    def stamp(
        self, sku: str, by: object, *, stock: datetime | None = None, supply: datetime | None = None
    ) -> None:
        """Mark `sku`'s stock (and its incoming supply) as read at these times, only while `by` is
        still the read registered for it: a SKU forgotten meanwhile keeps no stamp of a read
        from before."""
        if self.reading.get(sku) is not by:
            return
        if stock is not None:
            self.stock_read_at[sku] = stock
        if supply is not None:
            self.incoming_read_at[sku] = supply

    def forget(self, skus: Iterable[str]) -> None:
        """The ERP said these SKUs changed: the next answer about them reads afresh, and a read
        already under way is not joined (it may have been answered before the change)."""
        for sku in skus:
            self.stock_read_at.pop(sku, None)
            self.incoming_read_at.pop(sku, None)
            self.reading.pop(sku, None)


@dataclass
class Wakeups:
    """One event per relay lane, set when a commit made work due in it."""

    events: dict[str, asyncio.Event] = field(default_factory=dict)

    def lane(self, name: str) -> asyncio.Event:
        return self.events.setdefault(name, asyncio.Event())

    def wake(self, kinds: Iterable[str]) -> None:
        for kind in kinds:
            self.lane(lane_of(kind)).set()


@dataclass
class Services:
    store: Store
    broker: Broker
    policy: Policy
    hub: Feed  # the process's reader of the event log (workers.hub, built by bootstrap)
    clock: Callable[[], datetime] = field(default=utc_now)
    erp: ErpConnector | None = None
    storefront: StorefrontConnector | None = None
    payments: dict[str, PaymentProvider] = field(default_factory=dict)
    geocoder: OfflineGeocoder = field(default_factory=OfflineGeocoder)
    freshness: StockFreshness = field(default_factory=StockFreshness)
    short_lately: Lately = field(default_factory=lambda: Lately(SHORT_FOR))
    stuck_lately: Lately = field(default_factory=lambda: Lately(STUCK_FOR))
    wakeups: Wakeups = field(default_factory=Wakeups)
    closing: AsyncExitStack = field(default_factory=AsyncExitStack)  # what `aclose` closes
    carriers: dict[str, Carrier] = field(default_factory=dict)
    default_carrier: str = ""  # the carrier used when none is named (bootstrap: from settings)
    webhook_sender: WebhookSender | None = None
    webhook_targets: TargetGuard = field(default_factory=TargetGuard)
    views: ReadViews = field(default_factory=ReadViews)  # catalogue and stock, kept per process
    # what the storefront said about customers, kept per process for a bounded time
    storefront_customers: KeptCustomers = field(default_factory=KeptCustomers)
    # Order status links for customers (bootstrap: the public URL and a key from settings)
    links: StatusLinks = field(default_factory=lambda: StatusLinks("http://127.0.0.1:8000", link_key("test")))
    mailer: Mailer | None = None  # email to customers (bootstrap: SMTP, to the sandbox's sink or a server)
    email_sender: Sender = field(default_factory=lambda: DEMO_SENDER)
    prepared: bool = False  # the database migrated, seeded and the ERP read (bootstrap.prepare)

    def __post_init__(self) -> None:
        self.store.after_commit = self.committed
        self.store.clock = self.clock
        self.broker.on_change(self.views.changed, self.views.drop_all)

    async def aclose(self) -> None:
        """Close everything these services were built with (see `bootstrap`), last built first."""
        await self.closing.aclose()

    async def committed(self, what: Committed) -> None:
        """After every write transaction that promised something: subscribers and other
        replicas hear of its events, and this process's relay wakes for its outbox work."""
        if what.changed_views:
            # This process's views first: the request that committed answers from fresh figures.
            self.views.changed(what.stock, what.catalog)
        if what.events:
            await self.broker.notify()
        if what.changed_views:
            await self.broker.announce(what.stock, what.catalog)
        self.wakeups.wake(what.queued)
