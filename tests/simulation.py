"""A seeded random walk over simulated days: orders (shipped and picked up, some backordered),
cart holds, picks, shipments, handovers, rejections, short picks, cancellations, returns,
purchase-order receipts, cycle counts at the ERP (units found, free units lost, units open work
holds lost), ERP refreshes
outbox relays (partial, and repeated) and carrier scans in between,
against the real gateway in-process and the stateful sandboxes. After every step it checks:

- units are conserved: for every tracked SKU and node, the ERP's on-hand plus the units in
  flight to it (movements not yet acknowledged) equals what the walk put there (the ERP's
  opening stock, plus receipts, counts and restocked returns, minus what was shipped, handed
  over or written off), and ordergate's own on-hand equals the same figure;
- nothing is oversold: 0 <= allocated <= on-hand, and allocated equals the units of open
  fulfilment orders at the node;
- available-to-sell, as the API answers it, equals its definition over the stored rows;
- every order line accounts for its units (fulfilled + cancelled + open + waiting <= ordered,
  returned <= fulfilled);
- the gateway heard what the sandboxes told it: every webhook they sent was answered 2xx and
  nothing logged an error (`check_logs`), every parcel a carrier delivered is delivered here
  (`carriers_scan`), and every return whose parcel a carrier had knows it (`check_labels`);

and at the end, once every retry has come due, that the ERP heard of everything: no task of its
lane is waiting or gave up, and no movement is still in flight.

A failure names the seed and the step, so `Walk(..., seed=N)` replays it. `tests/test_long_run.py`
runs a few short walks; `bench/long_run.py` runs long ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import random
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TextIO
from unittest import mock

import httpx
import sqlalchemy as sa
import time_machine

from ordergate.bootstrap import Sandboxes
from ordergate.connectors.erp.katana import KatanaErp
from ordergate.connectors.errors import UpstreamUnavailable
from ordergate.models.emails import EMAIL_POSITION, email_kind, key_prefix, task_key
from ordergate.models.erp import discount_shares
from ordergate.models.events import OrderEvent
from ordergate.models.fulfillment import FulfillmentOrderStatus
from ordergate.models.ids import new_id
from ordergate.models.location import local_today
from ordergate.models.order import HoldReason
from ordergate.models.outbox import (
    EMAIL_MESSAGE,
    ERP_FULFILMENT,
    ERP_SALES_ORDER,
    ERP_SALES_ORDER_AMEND,
    ERP_STOCK_ADJUSTMENT,
    ERP_STOCK_REREAD,
    LABEL_VOID,
    RETURN_LABEL_VOID,
    STOREFRONT_SHIPMENT,
    STOREFRONT_STATUS,
    Permanent,
)
from ordergate.models.payments import taken_elsewhere, totals
from ordergate.models.replanning import SHORTFALL
from ordergate.models.returns import OPEN_RETURNS, ReturnLabelStatus, ReturnStatus, label_due
from ordergate.models.scope import OrderScope
from ordergate.models.shipment import TrackingStatus
from ordergate.sandbox.bigcommerce import BigCommerceSandbox
from ordergate.sandbox.katana import KatanaSandbox, RollingWindow
from ordergate.sandbox.shipengine import ShipEngineSandbox
from ordergate.sandbox.ups import SandboxParcel
from ordergate.store import tables
from ordergate.usecases import backorders, storefront
from ordergate.usecases.inventory import availability, forget_stock, refresh_stock
from ordergate.usecases.rerouting import route_shortfalls
from ordergate.usecases.services import Services
from ordergate.usecases.short_spells import note_spells
from ordergate.workers.dispatch import EMAILS, dispatch_once
from ordergate.workers.handlers import outbox_handlers
from ordergate.workers.pushers import AvailabilityPusher
from ordergate.workers.relay import relay_once
from tests.builders import a_line, a_token, an_order_input
from tests.clock import MovingClock
from tests.contract import operation
from tests.flows import agent, ask_back, receive_back
from tests.graphql_client import execute
from tests.money import book_problems

EVERYTHING = OrderScope(everything=True)
ERP_KINDS = (ERP_SALES_ORDER, ERP_SALES_ORDER_AMEND, ERP_FULFILMENT, ERP_STOCK_ADJUSTMENT)
PUSHES = (STOREFRONT_SHIPMENT, STOREFRONT_STATUS)  # what goes back to the storefront
# The SKUs the walk sells and checks: on the open purchase orders PO-1001 and PO-1002, one of
# them (THROW-WOOL) backorderable, so receipts and backorders are part of the walk.
RACERS = (
    "place",
    "cancel",
    "work",
    "edit",
    "reroute",
    "send_back",
    "hold_or_release_order",
    "place_from_hold",
    "short_pick",
    "reject",
    "storefront_sale",
    "relay_some",
    "appease",
    "close_or_reopen",
)
# What a move may be told when the other move of a race changed its order first.
# Fulfilment work still to do, least done first (`Walk.open_work`).
OPEN_WORK = ("OPEN", "ACCEPTED", "PICKING", "PACKED", "READY_FOR_PICKUP")
# Not STORE_BUSY: a move whose node the other closed meanwhile routes again by itself
# (`allocation.routed_again_if_closed`).
RACE_REFUSALS = {"INVALID_TRANSITION", "VERSION_CONFLICT", "NOTHING_TO_CANCEL", "NOT_CANCELLABLE"}
SHOPPER = "priya.patel@example.com"  # one of the storefront sandbox's demo customers
GUEST = "sam.guest@example.com"  # no customer of the storefront's: billed to where it ships
NO_STREET = {
    "first_name": "Sam",
    "last_name": "Guest",
    "street_1": "",
    "city": "",
    "state": "Texas",
    "zip": "78701",
}
WRONG_ZIP = NO_STREET | {"street_1": "1 Main St", "city": "Austin", "zip": "ABCDE"}
NO_COUNTRY = WRONG_ZIP | {"zip": "78701", "country_iso2": "XK", "country": "Kosovo"}  # not ISO 3166-1
KEYED_IN = WRONG_ZIP | {"zip": "78701", "country_iso2": "US", "country": "United States"}  # a whole address


def addressed(address: dict[str, Any]) -> bool:
    """Whether a storefront address is one a parcel can go to (a street, a real ZIP, a country)."""
    return (
        bool(address.get("street_1"))
        and address.get("zip") != "ABCDE"
        and address.get("country_iso2") == "US"
    )


SKUS = ("MUG-BLUE", "KNIFE-CHEF-8", "THROW-WOOL", "LAMP-DESK", "POT-DUTCH-5", "CHAIR-OAK")
PURCHASE_ORDERS = ("PO-1001", "PO-1002")
# How long the walk's customers have to send a return once its label is bought: days, not the
# default two weeks, so that walks of a few simulated days see returns expire.
LABEL_TTL = timedelta(days=2)
# With replicas: how soon an answer on one replica must show a change committed on another
# (Redis carries the announcement in milliseconds; this only ends a wait for one never sent).
ANNOUNCED_WITHIN = 2.0  # seconds
PICKUP_STORES = ("ST-NYC", "ST-CHI")
OPEN = frozenset(
    {
        FulfillmentOrderStatus.OPEN,
        FulfillmentOrderStatus.ACCEPTED,
        FulfillmentOrderStatus.PICKING,
        FulfillmentOrderStatus.PACKED,
        FulfillmentOrderStatus.READY_FOR_PICKUP,
    }
)
ORDER = """query($id: ID!) {
  order(id: $id) {
    id status deliveryMethod version pickupLocation { code }
    lines { id sku quantity quantityFulfilled quantityCancelled quantityReturned }
    fulfillmentOrders { id status location { id code } lines { sku quantity } }
  }
}"""
REJECT = """mutation($id: ID!, $damaged: Boolean!) {
  rejectFulfillmentOrder(id: $id, reason: "simulated", damaged: $damaged) {
    fulfillmentOrder { lines { sku quantity } }
    userErrors { code }
  }
}"""
SHORT = (
    """mutation($input: ReportShortPickInput!) { reportShortPick(input: $input) { userErrors { code } } }"""
)
CANCEL = """mutation($input: CancelOrderInput!) { cancelOrder(input: $input) { userErrors { code } } }"""
EDIT = """mutation($input: EditOrderInput!) { editOrder(input: $input) { userErrors { code message } } }"""
APPEASE = """mutation($input: IssueAppeasementInput!) {
  issueAppeasement(input: $input) { userErrors { code message } } }"""
EDIT_REFUSALS = {
    "NOT_EDITABLE",
    "INVALID_TRANSITION",
    "BACKORDERED",
    "INSUFFICIENT_STOCK",
    "SPLIT_LIMIT_EXCEEDED",
    "NO_ROUTE",
    "PAYMENT_CAPTURED",
    "NOTHING_TO_EDIT",
    "STOREFRONT_ORDER",  # the storefront holds its payment: changed there
    "PAYMENT_DECLINED",  # the sandbox's issuer declines raising an authorisation past INCREMENT_LIMIT
}
RELEASE_HOLD = """mutation($id: ID!) { releaseInventoryHold(id: $id) { userErrors { code } } }"""
HOLD_ORDER = """mutation($input: HoldOrderInput!) {
  holdOrder(input: $input) { order { status } userErrors { code message } }
}"""
ROUTE = """mutation($id: ID!) {
  routeOrder(orderId: $id) { changed userErrors { code message } }
}"""
RELEASE_ORDER = """mutation($input: ReleaseOrderHoldInput!) {
  releaseOrderHold(input: $input) { order { status } userErrors { code message } }
}"""
POLICY = (
    """mutation($input: SetSellingPolicyInput!) { setSellingPolicy(input: $input) { userErrors { code } } }"""
)
SAFETY = (
    """mutation($input: SetSafetyStockInput!) { setSafetyStock(input: $input) { userErrors { code } } }"""
)
ACTIVE = """mutation($id: ID!, $on: Boolean!) {
  deactivateLocation(id: $id) @skip(if: $on) { userErrors { code } }
  reactivateLocation(id: $id) @include(if: $on) { userErrors { code } }
}"""
CAPACITY = (
    """mutation($input: UpdateLocationInput!) { updateLocation(input: $input) { userErrors { code } } }"""
)
AVAILABILITY = """query($skus: [String!]!) {
  availability(skus: $skus, channel: "web") { sku locations { location { id code } availableToSell } }
}"""
SHORT_VIEW = """query($after: String, $orderBy: ShortPositionOrder!) {
  shortPositions(first: 40, after: $after, orderBy: $orderBy) {
    pageInfo { hasNextPage endCursor }
    edges { node { sku location { code } onHand allocated shortSince holderCount holders { quantity } } }
  }
}"""


class RelayDied(BaseException):
    """A relay process ending mid-task: not an error its handler raised, so nothing is settled."""


class Violation(AssertionError):
    pass


@dataclass(frozen=True)
class Awaited:
    """An approved return whose parcel is still to come: its lines, and where and how it is taken in."""

    return_id: str
    lines: list[str]
    line_id: str  # the order line sent back
    sku: str
    code: str  # the node that sent the units, which takes them back
    disposition: str
    posted: bool = False  # dropped off: the carrier has scanned its label


@contextlib.contextmanager
def seeded_ids(seed: int, stream: str | None = None) -> Iterator[None]:
    """Ids drawn from the walk's seed while it runs (`uuid.uuid4`, which `models.ids.new_id` and
    every other maker of ids calls), so that a seed replays: rows are ordered by id where nothing
    else tells them apart, and the walk chooses among what it reads. Two runs of one seed side by
    side on SQLite: with random ids they parted at step 310 (seed 362); with seeded ids 800
    (seed 362) and 1,000 steps (seeds 365, 367) were the same, race steps included. On PostgreSQL
    one pair of runs of seed 366 parted at step 92, and another took the same 500 steps with the
    same orders, work and stock after every step: moves run at once may interleave otherwise
    there. The generators are not the walk's: ids drawn move none of its choices. `stream`
    names another sequence of the same seed: the gateway's start (`setup`) draws the ids of the
    locations and products the walk's routing then orders by."""
    ids = random.Random(seed if stream is None else f"{stream}:{seed}")

    def drawn() -> uuid.UUID:
        racer = _RACER.get()  # a racing move draws its own
        return uuid.UUID(int=(racer[1] if racer else ids).getrandbits(128), version=4)

    with mock.patch.object(uuid, "uuid4", drawn):
        yield


WALK_STARTS = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # a Monday: morning at every US node
# What a reading of the walk's clock moves it on by (`MovingClock.tick`), instead of real time:
# whether a stock snapshot is past its TTL when a step reads it no longer depends on how fast the
# machine ran the steps before. About what a reading took in real time here (12 ms: 3,657
# readings in 300 steps of seed 379, 44 s).
WALK_TICK = timedelta(milliseconds=10)


@contextlib.contextmanager
def on_the_walk_calendar() -> Iterator[None]:
    """Every clock in the process (the gateway's, the sandboxes', the tokens') starts at
    `WALK_STARTS` and runs on in real time, so a seed replayed on another day, or at another
    hour, meets the same calendar: the same local days at each node, the same weekdays, the same
    purchase orders due. The event loop's monotonic clock is left alone."""
    with time_machine.travel(WALK_STARTS, tick=True):
        yield


class Heard(logging.Handler):
    """The log records of a walk's step, for `Walk.check_logs`."""

    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


_RACER: ContextVar[tuple[random.Random, random.Random] | None] = ContextVar("racer", default=None)
"""A racing move's own generators (its choices, its ids): what one draws does not depend on how
the other's awaits interleave with it."""


@dataclass
class Walk:
    client: httpx.AsyncClient
    services: Services
    sandboxes: Sandboxes
    clock: MovingClock
    seed: int
    own_rng: random.Random = field(init=False)
    heard: Heard = field(init=False)
    step: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    shortfalls: Counter[str] = field(default_factory=Counter)  # what `lose` lost, moved and rejected
    orders: list[str] = field(default_factory=list)
    sent: list[tuple[dict[str, Any], str]] = field(default_factory=list)  # placeOrder inputs, their orders
    holds: list[str] = field(default_factory=list)
    returned: set[str] = field(default_factory=set)  # order lines sent back already
    received: set[str] = field(default_factory=set)
    ledger: dict[tuple[str, str], int] = field(default_factory=dict)  # (sku, code) -> units there
    locations: dict[str, str] = field(default_factory=dict)  # code -> id
    receipts: dict[tuple[str, str], datetime] = field(default_factory=dict)  # (sku, code) -> when
    kept_back: dict[tuple[str, str], int] = field(default_factory=dict)  # (sku, location id) -> safety set
    closed: set[str] = field(default_factory=set)  # codes of locations an admin took out of routing
    sold_there: dict[str, int] = field(default_factory=dict)  # storefront sales: order id -> theirs
    unlisted: list[Any] = field(default_factory=list)  # storefront products sold, then delisted
    labels: Counter[str] = field(default_factory=Counter)  # return labels, by status, once drained
    return_tracking: Counter[str] = field(default_factory=Counter)  # parcels carried, by return status
    reopened: int = 0  # expired returns awaited again: their parcel posted late, on a label not voided
    voids_down_until: datetime | None = None  # the carriers answer no void until then (`voids_down`)
    waiting: list[Awaited] = field(default_factory=list)  # approved returns whose parcel is not sent yet
    erp_kept: int = 0  # (order, node)s whose closed ERP sales orders keep unwanted units, once drained
    notices_delivered: int = 0  # changes made through Katana's API whose webhooks reached the gateway
    oversized: int = 0  # storefront sales keyed in with a line past the 999 units a line is routed with
    trimmed: int = 0  # of those, released once an agent cancelled the units past it (refused first)
    kept_over: list[str] = field(default_factory=list)  # such sales still held: agents look at them first
    delivered: Counter[str] = field(default_factory=Counter)  # per carrier, as of the last scan
    shipped: Counter[str] = field(default_factory=Counter)  # shipments per carrier, likewise
    racing: bool = False  # two moves run at once: a refusal the other move made right is no fault
    pushes: Counter[str] = field(default_factory=Counter)  # availability pushes by kind, levels sent
    push_clock: float = 0.0  # the storefront pusher's clock (`push_stock`), seconds
    pusher: AvailabilityPusher = field(init=False)
    trace: TextIO | None = (
        None  # a line per step: number, move, orders so far, the generator's state, `digest`
    )
    # With replicas (`bench/long_run.py --replicas`): the other replicas' services (one database,
    # one Redis), and a client of each replica, the first one's included, that the availability
    # check asks in turn; `client` then sends each request to one of them.
    replicas: tuple[Services, ...] = ()
    replica_clients: tuple[httpx.AsyncClient, ...] = ()
    lags: list[float] = field(default_factory=list)  # how long a replica's answers took to agree

    def __post_init__(self) -> None:
        self.own_rng = random.Random(self.seed)
        self.heard = Heard(logging.WARNING)
        self.pusher = AvailabilityPusher(timer=lambda: self.push_clock)

    @property
    def rng(self) -> random.Random:
        """The walk's generator, or a racing move's own (`race`)."""
        racer = _RACER.get()
        return racer[0] if racer else self.own_rng

    @property
    def katana(self) -> KatanaSandbox:
        assert self.sandboxes.katana is not None
        return self.sandboxes.katana

    @property
    def shipengine(self) -> ShipEngineSandbox:
        assert self.sandboxes.shipengine is not None
        return self.sandboxes.shipengine

    @property
    def bigcommerce(self) -> BigCommerceSandbox:
        assert self.sandboxes.bigcommerce is not None
        return self.sandboxes.bigcommerce

    async def digest(self) -> str:
        """What the store holds now, in three checksums: orders (number, statuses, total), their
        work (node, status) and stock (on hand, allocated per SKU and node). Two runs' traces
        then part at the first step whose outcome differed, not only at the first whose choices
        did."""
        async with self.services.store.read() as uow:
            found = [
                (await uow.session.execute(sa.text(query))).all()
                for query in (
                    "SELECT number, status, fulfillment_status, payment_status, total"
                    " FROM orders ORDER BY number",
                    "SELECT o.number, l.code, f.status FROM fulfillment_orders f"
                    " JOIN orders o ON o.id = f.order_id JOIN locations l ON l.id = f.location_id"
                    " ORDER BY 1, 2, 3",
                    "SELECT p.sku, l.code, p.on_hand, p.allocated FROM inventory_positions p"
                    " JOIN locations l ON l.id = p.location_id ORDER BY 1, 2",
                )
            ]
        return " ".join(f"{zlib.crc32(repr(rows).encode()):08x}" for rows in found)

    async def start(self) -> None:
        for services in (self.services, *self.replicas):
            services.policy = replace(services.policy, return_label_ttl=LABEL_TTL)
            if self.replicas:
                # Every replica on the walk's clock. Only an announcement makes a replica's view
                # read again: the walk checks that every change is announced to the others
                # (`agreed`), not the views' maximum age.
                services.clock = self.clock
                services.views.max_age = 3600.0
            # Orders the loop's round leaves once they could not move: for minutes of the walk's days.
            services.stuck_lately.timer = lambda: self.clock().timestamp()
        # Weeks of traffic in seconds of real time: the sandbox's per-minute request limit (real
        # time) would be the walk's bottleneck, not what it is here to test.
        self.katana.limiter = RollingWindow(1_000_000, 60.0, time.time)
        # Katana announces every change to stock, the gateway's own shipments and write-offs
        # included, some time after its answer: the walk holds those webhooks and delivers them
        # as a step of its own (`erp_notices`), so their timing is the seed's and not the loop's.
        self.katana.hold_deliveries = True
        # The carriers scan parcels as a step of the walk (`carriers_scan`), on the walk's clock,
        # not every 30 s of real time from the gateway's lifespan: a run of the seed takes the
        # same steps, and a parcel's scans come at times the gateway's own clock agrees with.
        assert not self.sandboxes.tracking_in_real_time, "Sandboxes(tracking_in_real_time=False)"
        for carrier in (self.shipengine, self.sandboxes.ups):
            if carrier is not None:
                carrier.clock = self.epoch
        # A return's label moves once the walk's customer drops the parcel off (`posted`), not
        # as soon as it is bought: a label never posted is one the gateway must expire and void.
        self.shipengine.returns_wait_for_drop_off = True
        if self.sandboxes.ups is not None:
            self.sandboxes.ups.returns_wait_for_drop_off = True
        async with self.services.store.read() as uow:
            self.locations = {loc.code: loc.id for loc in await uow.catalog.locations()}
        await dispatch_once(self.services, EMAILS)  # email follows the log from here on
        # Besides the demo's wool throw: knives backordered against PO-1001 at Newark, and Dutch
        # ovens pre-ordered for a week (units on hand at Dallas wait for the release with them).
        release = (self.services.clock() + timedelta(days=7)).date().isoformat()
        for sku, policy, more in (
            ("KNIFE-CHEF-8", "BACKORDER", {}),
            ("POT-DUTCH-5", "PRE_ORDER", {"releaseOn": release}),
        ):
            body = await execute(
                self.client,
                POLICY,
                {"input": {"sku": sku, "policy": policy, **more}},
                token=a_token("admin"),
            )
            self.expect_no_errors(body)
            if body["data"]["setSellingPolicy"]["userErrors"]:
                raise self.violation(f"policy refused: {body}")
        await self.refresh()
        self.ledger = {
            (sku, code): int(self.katana.on_hand(sku, code)) for sku in SKUS for code in self.katana.locations
        }
        await self.check("start")

    async def run(self, steps: int) -> None:
        root = logging.getLogger()
        root.addHandler(self.heard)
        try:
            with seeded_ids(self.seed):
                await self._run(steps)
        finally:
            root.removeHandler(self.heard)

    def check_logs(self, after: str) -> None:
        """Nothing went wrong where only a log would say so: no error logged, and every webhook a
        sandbox sent (the carriers' scans, the ERP's stock notices, the storefront's orders) was
        answered 2xx; a delivery refused or failed is one the gateway lost."""
        wrong = [
            record.getMessage()
            for record in self.heard.records
            if record.levelno >= logging.ERROR or record.name.startswith("ordergate.sandbox")
        ]
        self.heard.records.clear()
        if wrong:
            raise self.violation(f"after {after}: logged: {wrong[:3]}")

    async def _run(self, steps: int) -> None:
        await self.start()
        moves = [
            (self.place, 14),
            (self.place_pickup, 3),
            (self.retry, 3),
            (self.hold, 3),
            (self.place_from_hold, 2),
            (self.release_hold, 1),
            (self.work, 24),
            (self.reject, 3),
            (self.short_pick, 3),
            (self.cancel, 3),
            (self.edit, 3),
            (self.appease, 2),
            (self.send_back, 4),
            (self.parcel_arrives, 2),
            (self.voids_down, 1),
            (self.relay, 8),
            (self.relay_some, 4),
            (self.relay_dies, 2),
            (self.refresh, 6),
            (self.erp_notices, 6),
            (self.carriers_scan, 3),
            (self.receive, 1),
            (self.count, 2),
            (self.lose, 2),
            (self.next_day, 3),
            (self.keep_back, 2),
            (self.close_or_reopen, 3),
            (self.squeeze, 2),
            (self.hold_or_release_order, 2),
            (self.reroute, 2),
            (self.storefront_sale, 3),
            (self.storefront_refund, 2),
            (self.storefront_refund_returned, 2),
            (self.storefront_address, 1),
            (self.storefront_sale_unlisted, 1),
            (self.relist, 1),
            (self.race, 4),
            (self.push_stock, 4),
        ]
        actions, weights = zip(*moves, strict=True)
        for self.step in range(1, steps + 1):
            action = self.rng.choices(actions, weights)[0]
            self.kinds[action.__name__] += 1
            await action()
            await self.check(action.__name__)
            self.check_logs(action.__name__)
            if self.trace is not None:
                chosen = zlib.crc32(repr(self.rng.getstate()).encode())
                line = f"{self.step} {action.__name__} {len(self.orders)} {chosen:08x} {await self.digest()}"
                self.trace.write(line + "\n")
        await self.relay()
        await self.erp_notices()
        await self.refresh()
        await self.check("drained")
        await self.check_settled()

    # -- steps -------------------------------------------------------------------------------------

    async def place(self, *, pickup: str | None = None, reservation: str | None = None) -> None:
        skus = self.rng.sample(SKUS, self.rng.choice((1, 1, 2)))
        big = self.rng.random() < 0.1
        lines = [a_line(sku, self.rng.randint(20, 90) if big else self.rng.randint(1, 4)) for sku in skus]
        more: dict[str, Any] = {"lines": lines, "idempotencyKey": f"sim-{self.seed}-{self.step}-{new_id()}"}
        if self.rng.random() < 0.7:
            more["payment"] = {"provider": "sandbox", "token": "tok_visa"}
        if pickup is not None:
            more |= {
                "deliveryMethod": "PICKUP",
                "pickupLocationId": self.locations[pickup],
                "shippingAddress": None,
            }
        order_input = an_order_input(**more)
        body = await execute(self.client, operation("PlaceOrder"), {"input": order_input}, token=agent())
        self.expect_no_errors(body)
        placed = body["data"]["placeOrder"]
        if placed["order"] is not None:
            self.orders.append(placed["order"]["id"])
            self.sent.append((order_input, placed["order"]["id"]))
        else:
            self.expect_codes(placed, {"INSUFFICIENT_STOCK", "SPLIT_LIMIT_EXCEEDED"})
            if not self.racing:
                await self.refused_alike(order_input, placed)

    async def refused_alike(self, order_input: dict[str, Any], placed: dict[str, Any]) -> None:
        """A placement refused for stock, sent again under another key as a shopper tries again
        (its SKUs now known short: refused before the order's path, `usecases/orders._sold_out`),
        then once more with them not known short (the order's own path): both refused alike."""
        for attempt in ("again", "own-path"):
            if attempt == "own-path":
                for services in (self.services, *self.replicas):
                    services.short_lately.forget(line["sku"] for line in order_input["lines"])
            retry = {**order_input, "idempotencyKey": f"{order_input['idempotencyKey']}-{attempt}"}
            body = await execute(self.client, operation("PlaceOrder"), {"input": retry}, token=agent())
            self.expect_no_errors(body)
            if body["data"]["placeOrder"] != placed:
                raise self.violation(
                    f"refused {placed['userErrors']}, then ({attempt}) {body['data']['placeOrder']}"
                )

    async def push_stock(self) -> None:
        """The storefront is told what we can sell at each of its locations, as the push loop
        tells it (`AvailabilityPusher`, on a clock of its own): most often the SKUs that changed
        since the last push (2 s on), one time in four every level (30 s on), and one in ten
        every level sent again whatever was sent before (10 minutes on). After a push of every level,
        each SKU not stale shows at every storefront location what we can sell there: weeks of
        changed-only pushes left no figure there behind ours (the storefront's sandbox changes
        its levels only as we push them). A SKU the push found stale was not pushed, and is left out:
        with replicas, one can be stale at the push and read afresh by the check (a read another
        replica shared through Redis is taken for the real seconds left of its TTL, while the
        walk's clock runs days: seed 508, step 576)."""
        roll = self.rng.random()
        self.push_clock += 600.0 if roll < 0.1 else 30.0 if roll < 0.35 else 2.0
        sent = await self.pusher.push(self.services)
        last = self.pusher.last
        assert last is not None
        full = last.full_at == self.push_clock
        kind = "resent" if last.resent_at == self.push_clock else "full" if full else "changed"
        self.pushes[kind] += 1
        self.pushes["levels sent"] += sent
        if not full:
            return
        storefront_ = self.services.storefront
        assert storefront_ is not None
        async with self.services.store.read() as uow:
            skus = await uow.catalog.active_skus()
        theirs = self.pusher.theirs
        for stock in await availability(self.services, storefront.importer(storefront_), skus):
            if stock.stale or stock.sku in last.unsettled:  # stale then: not pushed, never a guess
                continue
            for row in stock.locations:
                location_id = theirs.get(row.location.code)
                if location_id is None:
                    continue
                shown = self.bigcommerce.available.get((stock.sku, location_id))
                if shown != row.available:
                    raise self.violation(
                        f"after a {kind} push: the storefront shows {shown} of {stock.sku} at "
                        f"{row.location.code}, we can sell {row.available}"
                    )

    async def race(self) -> None:
        """Two moves at once, as a busy day has them: each may find the other's writes, or wait
        on its locks. A refusal the other move made right (work cancelled under its shipment) is
        fine; an error, or units or money that no longer add up, are not."""
        first, second = self.rng.sample(RACERS, 2)

        async def racer(move: str, seed: int) -> None:
            _RACER.set((random.Random(seed), random.Random(~seed)))  # this task's own, not the walk's
            await getattr(self, move)()

        self.racing = True
        before = (len(self.orders), len(self.sent), len(self.holds), len(self.waiting))
        try:
            await asyncio.gather(
                racer(first, self.rng.getrandbits(64)), racer(second, self.rng.getrandbits(64))
            )
        finally:
            self.racing = False
        # what the two added, in an order that does not depend on which finished first: later
        # steps choose among these lists by position
        orders, sent, holds, waiting = before
        self.orders[orders:] = sorted(self.orders[orders:])
        self.sent[sent:] = sorted(self.sent[sent:], key=lambda placed: placed[1])
        self.holds[holds:] = sorted(self.holds[holds:])
        self.waiting[waiting:] = sorted(self.waiting[waiting:], key=lambda parcel: parcel.return_id)

    async def storefront_sale(self) -> None:
        """A shopper checks out on the storefront, paid there: imported now (as the webhook's
        delivery would be), and again when the relay works that delivery (nothing new)."""
        lines: list[tuple[str, int] | tuple[str, int, Decimal]] = [
            (sku, self.rng.randint(1, 3)) for sku in self.rng.sample(SKUS, self.rng.choice((1, 1, 2)))
        ]
        if self.rng.random() < 0.2:  # the first SKU again, engraved: a line of its own, dearer
            engraved = self.bigcommerce.product_for(lines[0][0]).price + Decimal("2.25")
            lines.append((lines[0][0], self.rng.randint(1, 2), engraved))
        over = self.rng.random() < 0.1  # keyed in for more than a line is routed with: kept, held
        if over:
            lines[0] = (lines[0][0], self.rng.randint(1000, 1500))
            self.oversized += 1
        roll = self.rng.random()
        if roll < 0.25:  # a guest's sale with no street, a wrong zip or country: held
            nowhere = self.rng.choice((NO_STREET, WRONG_ZIP, NO_COUNTRY))
            created = await self.bigcommerce.create_order(GUEST, lines, shipping_address=nowhere)
        elif roll < 0.35:  # a phone order keyed in with no email: kept under a stand-in address
            created = await self.bigcommerce.create_order("", lines, shipping_address=KEYED_IN)
        else:  # one in three with a coupon off the goods (up to all of them)
            coupon = Decimal(self.rng.choice((0, 0, 5, 10, 500)))
            created = await self.bigcommerce.create_order(SHOPPER, lines, coupon=coupon)
        await self.take_in(created)
        if over:
            self.kept_over.append(self.orders[-1])

    async def storefront_sale_unlisted(self) -> None:
        """The merchant lists something new, a shopper buys it with one of ours, and the merchant
        delists it before the notice is worked: no catalogue has it, so the sale is kept held
        (UNKNOWN_PRODUCT) until one does (`relist`). No node stocks it, so once let go it is held
        again, for stock, and an agent's release is refused and cancels it (`release_order`)."""
        sku = f"NEW-{self.seed}-{self.step}"
        product = self.bigcommerce.add_product(sku, f"New thing {self.step}", Decimal("12.00"))
        created = await self.bigcommerce.create_order(SHOPPER, [(self.rng.choice(SKUS), 1), (sku, 1)])
        del self.bigcommerce.products[product.id]
        self.unlisted.append(product)
        await self.take_in(created)

    async def take_in(self, created: dict[str, Any]) -> None:
        """A storefront sale imported now (as its webhook's delivery would be), and kept: never
        refused, never lost."""
        try:
            await storefront.import_order(self.services, str(created["id"]))
        except Permanent as refused:
            raise self.violation(f"storefront order {created['id']} not imported: {refused}") from None
        reference = f"{self.services.storefront.name}:{created['id']}" if self.services.storefront else ""
        async with self.services.store.read() as uow:
            order = await uow.orders.by_source_ref(reference)
        if order is None:
            raise self.violation(f"storefront order {created['id']} was not kept")
        self.orders.append(order.id)
        self.sold_there[order.id] = int(created["id"])

    async def relist(self) -> None:
        """The merchant lists again what was delisted, and the catalogue's sync takes it in:
        `check` holds that no sale is still held for a product the catalogue now sells."""
        if not self.unlisted:
            return
        for product in self.unlisted:
            self.bigcommerce.products[product.id] = product
        self.unlisted.clear()
        await storefront.sync_catalog(self.services)

    async def storefront_address(self) -> None:
        """The merchant gives a sale that came with no street its address at the storefront; the
        notice is taken in now (as its webhook's delivery would be). `check` holds that no
        sale with a whole address there is still held for it here."""
        lacking = [
            external
            for external in sorted(self.sold_there.values())
            if not addressed(self.bigcommerce.orders[external].shipping_addresses[0])
        ]
        if not lacking:
            return
        external = self.rng.choice(lacking)
        address_id = self.bigcommerce.orders[external].shipping_addresses[0]["id"]
        given = {"street_1": "1 Main St", "city": "Austin", "zip": "78701", "country_iso2": "US"}
        await self.bigcommerce.correct_address(external, address_id, given)
        await storefront.import_order(self.services, str(external))

    async def storefront_refund(self) -> None:
        """The merchant refunds at the storefront what it took beyond the order as it stands here
        (units cancelled here), in one refund or two, or else some goodwill of their own; each
        refund's notice is taken in now (as its webhook's delivery would be) and again when the
        relay works that delivery (nothing new). The ledger must then hold what the storefront
        refunded (`check`)."""
        if not self.sold_there:
            return
        order_id = self.rng.choice(sorted(self.sold_there))
        theirs = self.bigcommerce.orders[self.sold_there[order_id]]
        async with self.services.store.read() as uow:
            order = (await uow.orders.by_ids([order_id], EVERYTHING))[order_id]
        owed = theirs.total - theirs.refunded - order.total
        if owed <= 0:
            owed = min(Decimal("5.00"), theirs.total - theirs.refunded)  # goodwill
            if owed <= 0 or self.rng.random() < 0.5:
                return
        half = (owed / 2).quantize(Decimal("0.01"))
        for amount in [owed] if half <= 0 or self.rng.random() < 0.5 else [half, owed - half]:
            await self.bigcommerce.refund(theirs.id, amount)
            await storefront.import_order(self.services, str(theirs.id))

    async def storefront_refund_returned(self) -> None:
        """The merchant refunds at the storefront, by order product, every unit of a storefront
        sale that came back here or was cancelled and is not refunded there yet; its notice is
        taken in now. Each of the sale's returns that was RECEIVED must then be settled: REFUNDED
        and CLOSED, without an agent."""
        async with self.services.store.read() as uow:
            returns = await uow.returns.by_order_ids(sorted(self.sold_there))
        waiting = sorted(
            o for o, rows in returns.items() if any(r.status is ReturnStatus.RECEIVED for r in rows)
        )
        if not waiting:
            return
        order_id = self.rng.choice(waiting)
        theirs = self.bigcommerce.orders[self.sold_there[order_id]]
        async with self.services.store.read() as uow:
            lines = (await uow.orders.lines_by_order_ids([order_id])).get(order_id, [])
            sent = await uow.returns.lines_by_return_ids([r.id for r in returns[order_id]])
        owed = Counter[str]()
        for line in lines:
            owed[line.sku] += line.quantity_cancelled
        for order_return in returns[order_id]:
            if order_return.received_at is not None:
                for back in sent.get(order_return.id, []):
                    owed[back.sku] += back.quantity
        for sold in theirs.lines:
            owed[sold.sku] -= sold.quantity_refunded
        items = [(sku, units) for sku, units in sorted(owed.items()) if units > 0]
        if not items:
            raise self.violation(f"order {order_id}: every unit back is refunded there, yet a return waits")
        price = {sold.sku: sold.price for sold in theirs.lines}
        amount = min(
            sum((price[sku] * units for sku, units in items), Decimal(0)), theirs.total - theirs.refunded
        )
        if amount <= 0:
            return
        await self.bigcommerce.refund(theirs.id, amount, items)
        await storefront.import_order(self.services, str(theirs.id))
        async with self.services.store.read() as uow:
            after = (await uow.returns.by_order_ids([order_id])).get(order_id, [])
        left = [r.id for r in after if r.status is ReturnStatus.RECEIVED]
        if left:
            raise self.violation(f"order {order_id}: refunded {items} at the storefront, returns {left} wait")

    async def retry(self) -> None:
        """A client's retry of an order it placed, any time later: as sent (the first order
        back, nothing new), or with a changed body (refused, the first order untouched)."""
        if not self.sent:
            return
        sent, order_id = self.rng.choice(self.sent)
        again = dict(sent)
        changed = self.rng.random() < 0.5
        if changed:
            first = dict(sent["lines"][0], quantity=sent["lines"][0]["quantity"] + 1)
            again["lines"] = [first, *sent["lines"][1:]]
        body = await execute(self.client, operation("PlaceOrder"), {"input": again}, token=agent())
        self.expect_no_errors(body)
        payload = body["data"]["placeOrder"]
        if changed:
            self.expect_codes(payload, {"IDEMPOTENCY_KEY_REUSED"})
            assert payload["order"] is None, (
                f"seed {self.seed} step {self.step}: a changed retry placed an order"
            )
        else:
            back = payload["order"]
            assert back is not None, f"seed {self.seed} step {self.step}: a retry as sent was refused"
            assert back["id"] == order_id, (
                f"seed {self.seed} step {self.step}: a retry as sent made a new order"
            )

    async def place_pickup(self) -> None:
        stores = [code for code in PICKUP_STORES if code not in self.closed]
        if stores:
            await self.place(pickup=self.rng.choice(stores))

    async def hold(self) -> None:
        sku = self.rng.choice(SKUS)
        body = await execute(
            self.client,
            operation("HoldStock"),
            {
                "input": {
                    "idempotencyKey": new_id(),
                    "lines": [a_line(sku, self.rng.randint(1, 3))],
                    "channel": "web",
                }
            },
            token=agent(),
        )
        self.expect_no_errors(body)
        payload = body["data"]["reserveInventory"]
        if payload["reservation"] is not None:
            self.holds.append(payload["reservation"]["id"])
        else:
            self.expect_codes(payload, {"INSUFFICIENT_STOCK", "SPLIT_LIMIT_EXCEEDED"})

    async def place_from_hold(self) -> None:
        if not self.holds:
            return
        hold = self.holds.pop(self.rng.randrange(len(self.holds)))
        async with self.services.store.read() as uow:
            lines = (await uow.inventory.reservation_lines([hold])).get(hold, [])
        wanted = Counter[str]()
        for line in lines:
            wanted[line.sku] += line.quantity
        body = await execute(
            self.client,
            operation("PlaceOrder"),
            {
                "input": an_order_input(
                    lines=[a_line(sku, units) for sku, units in wanted.items()],
                    reservationId=hold,
                    idempotencyKey=new_id(),
                )
            },
            token=agent(),
        )
        self.expect_no_errors(body)
        placed = body["data"]["placeOrder"]
        if placed["order"] is not None:
            self.orders.append(placed["order"]["id"])

    async def release_hold(self) -> None:
        if self.holds:
            hold = self.holds.pop(self.rng.randrange(len(self.holds)))
            self.expect_no_errors(await execute(self.client, RELEASE_HOLD, {"id": hold}, token=agent()))

    async def work(self) -> None:
        """One step forward on a fulfilment order: accept, pick, pack, then ship (or ready it and
        hand it over); an order held (by the fraud screen, after an edit) is released first."""
        found = await self.open_work(started_first=True)
        if found is None:
            return
        order, fo = found
        if order["status"] == "ON_HOLD":  # held by an agent, or by the fraud screen after an edit
            await self.release_order(order["id"])
            return
        code, status = fo["location"]["code"], fo["status"]
        token = a_token("associate", locations=(code,))
        if status in ("OPEN", "ACCEPTED", "PICKING"):
            name = {"OPEN": "Accept", "ACCEPTED": "StartPicking", "PICKING": "Pack"}[status]
            self.expect_no_errors(await execute(self.client, operation(name), {"id": fo["id"]}, token=token))
            return
        if order["deliveryMethod"] == "PICKUP":
            name = "ReadyForPickup" if status == "PACKED" else "HandOver"
            body = await execute(self.client, operation(name), {"id": fo["id"]}, token=token)
        else:  # by ShipEngine mostly, by UPS a third of the time: its return labels too
            carrier = self.rng.choice(("shipengine", "shipengine", "ups"))
            body = await execute(
                self.client,
                operation("Ship"),
                {"input": {"fulfillmentOrderId": fo["id"], "carrier": carrier}},
                token=token,
            )
        self.expect_no_errors(body)
        payload = next(iter(body["data"].values()))
        if payload.get("userErrors") and self.racing:
            self.expect_codes(payload, set())  # the other move cancelled, held or moved this work
            return
        if payload.get("userErrors"):
            raise self.violation(
                f"{name if order['deliveryMethod'] == 'PICKUP' else 'Ship'} refused: {payload}"
            )
        if order["deliveryMethod"] == "SHIP" or status == "READY_FOR_PICKUP":
            self.leave(code, fo["lines"])

    async def reject(self) -> None:
        found = await self.open_work(("OPEN", "ACCEPTED", "PICKING", "PACKED"))
        if found is None:
            return
        _, fo = found
        damaged = self.rng.random() < 0.5
        code = fo["location"]["code"]
        body = await execute(
            self.client,
            REJECT,
            {"id": fo["id"], "damaged": damaged},
            token=a_token("associate", locations=(code,)),
        )
        self.expect_no_errors(body)
        if body["data"]["rejectFulfillmentOrder"]["userErrors"]:
            self.expect_codes(body["data"]["rejectFulfillmentOrder"], {"INVALID_TRANSITION"})
        elif damaged:  # what the node had left when it rejected: a short pick racing it may have taken some
            self.leave(code, body["data"]["rejectFulfillmentOrder"]["fulfillmentOrder"]["lines"])

    async def short_pick(self) -> None:
        found = await self.open_work(("ACCEPTED", "PICKING"))
        if found is None:
            return
        _, fo = found
        lines = [line for line in fo["lines"] if line["quantity"] > 0]
        if sum(line["quantity"] for line in lines) < 2:
            return
        line = self.rng.choice(lines)
        missing = self.rng.randint(1, line["quantity"] - (1 if len(lines) == 1 else 0))
        write_off = self.rng.random() < 0.6
        code = fo["location"]["code"]
        body = await execute(
            self.client,
            SHORT,
            {
                "input": {
                    "fulfillmentOrderId": fo["id"],
                    "lines": [{"sku": line["sku"], "missing": missing}],
                    "writeOff": write_off,
                }
            },
            token=a_token("associate", locations=(code,)),
        )
        self.expect_no_errors(body)
        if body["data"]["reportShortPick"]["userErrors"] and self.racing:
            self.expect_codes(body["data"]["reportShortPick"], set())  # the other move got there first
            return
        if body["data"]["reportShortPick"]["userErrors"]:
            raise self.violation(f"short pick refused: {body}")
        if write_off:
            self.leave(code, [{"sku": line["sku"], "quantity": missing}])

    async def cancel(self) -> None:
        """The whole order, or one unit of one of its lines."""
        if not self.orders:
            return
        order_id = self.rng.choice(self.orders)
        command: dict[str, Any] = {"orderId": order_id, "reason": "CUSTOMER"}
        if self.rng.random() < 0.5:
            order = await self.read(order_id)
            left = [line for line in order["lines"] if line["quantity"] > line["quantityCancelled"]]
            if left:
                command["lines"] = [{"lineId": self.rng.choice(left)["id"], "quantity": 1}]
        body = await execute(self.client, CANCEL, {"input": command}, token=agent())
        self.expect_no_errors(body)
        payload = body["data"]["cancelOrder"]
        if payload["userErrors"]:
            allowed = {"NOTHING_TO_CANCEL", "ORDER_NOT_CANCELLABLE", "INVALID_TRANSITION", "NOT_CANCELLABLE"}
            self.expect_codes(payload, allowed)

    async def edit(self) -> None:
        """One more or one fewer of a line, as an agent."""
        if not self.orders:
            return
        order = await self.read(self.rng.choice(self.orders))
        line = self.rng.choice(order["lines"])
        change = 1 if self.rng.random() < 0.5 or line["quantity"] < 2 else -1
        command = {
            "orderId": order["id"],
            "expectedVersion": order["version"],
            "lines": [{"lineId": line["id"], "quantity": line["quantity"] + change}],
        }
        body = await execute(self.client, EDIT, {"input": command}, token=agent())
        self.expect_no_errors(body)
        store = (order["pickupLocation"] or {}).get("code")
        closed = {"INVALID_PICKUP_LOCATION"} if store in self.closed else set()  # nowhere to collect it
        # a sale kept past a line's 999 units: an edit asks within them, as any order's does
        over = {"INVALID_QUANTITY"} if line["quantity"] + change > 999 else set()
        self.expect_codes(body["data"]["editOrder"], EDIT_REFUSALS | closed | over)

    async def appease(self) -> None:
        """A little goodwill back on a paid order."""
        if not self.orders:
            return
        order_id = self.rng.choice(self.orders)
        command = {
            "orderId": order_id,
            "amount": self.rng.choice(("1.00", "5.00", "12.50")),
            "reason": "SERVICE_ISSUE",
            "idempotencyKey": f"sim-{self.seed}-{self.step}",
        }
        body = await execute(self.client, APPEASE, {"input": command}, token=agent())
        self.expect_no_errors(body)
        allowed = {"REFUND_EXCEEDS_CAPTURED", "APPEASEMENT_LIMIT_EXCEEDED", "NOT_SHIPPED", "NOTHING_LEFT"}
        self.expect_codes(body["data"]["issueAppeasement"], allowed)

    async def send_back(self) -> None:
        candidates: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = []
        for order_id in self.rng.sample(self.orders, min(8, len(self.orders))):
            order = await self.read(order_id)
            for line in order["lines"]:
                if line["id"] in self.returned or line["quantityFulfilled"] == 0:
                    continue
                shipped = [
                    fo
                    for fo in order["fulfillmentOrders"]
                    if fo["status"] in ("SHIPPED", "PICKED_UP")
                    and any(x["sku"] == line["sku"] for x in fo["lines"])
                ]
                if shipped:
                    candidates.append((order, line, shipped[0]))
        if not candidates:
            return
        order, line, fo = self.rng.choice(candidates)
        self.returned.add(line["id"])
        disposition = self.rng.choice(("RESTOCK", "RESTOCK", "DAMAGED"))
        at_counter = self.rng.random() < 0.15  # handed in at the node before anyone decided
        return_id, return_lines = await ask_back(self.client, order["id"], line["id"], approve=not at_counter)
        parcel = Awaited(
            return_id, return_lines, line["id"], line["sku"], fo["location"]["code"], disposition
        )
        # Approved, the relay buys the label before the parcel is back half the time ...
        if not at_counter and self.rng.random() < 0.5:
            await self.relay()
            roll = self.rng.random()
            if roll < 0.3:  # ... and the customer posts it: the carrier scans the label ...
                await self.posted(return_id)
                if roll < 0.2:  # ... and the parcel takes days to arrive: no expiry for it
                    self.waiting.append(replace(parcel, posted=True))
                    return
            elif roll < 0.55:  # ... and the customer sends it days later, or never (it expires)
                self.waiting.append(parcel)
                return
        await self.take_back(parcel)

    async def posted(self, return_id: str) -> None:
        """The customer drops the return's parcel off: the carrier scans its label (the later
        scans come with `carriers_scan`)."""
        for label in self.shipengine.labels_for(return_id):
            await self.shipengine.hand_over(label.label_id)
        for parcel in self.ups_parcels_for(return_id):
            assert self.sandboxes.ups is not None
            await self.sandboxes.ups.hand_over(parcel.tracking_number)

    def ups_parcels_for(self, return_id: str) -> list[SandboxParcel]:
        """UPS's parcels of a return's label (UPS keeps the return's id without its hyphens)."""
        if self.sandboxes.ups is None:
            return []
        ours = {return_id, return_id.replace("-", "")}
        return [p for p in self.sandboxes.ups.parcels.values() if ours & set(p.references)]

    def return_parcels(self, return_id: str) -> dict[str, tuple[bool, bool]]:
        """Each label bought for a return's parcel, at either carrier, by tracking number:
        (the carrier has had the parcel, it delivered it)."""
        found = {
            label.tracking_number: (label.step > 0, label.delivered)
            for label in self.shipengine.labels_for(return_id)
        }
        found.update({p.tracking_number: (p.received, p.delivered) for p in self.ups_parcels_for(return_id)})
        return found

    def return_labels(self, return_id: str) -> list[tuple[bool, bool]]:
        """Each label bought for a return's parcel, at either carrier: (scanned, voided)."""
        return [
            (label.step > 0, label.voided_at is not None) for label in self.shipengine.labels_for(return_id)
        ] + [(parcel.received, parcel.voided) for parcel in self.ups_parcels_for(return_id)]

    async def hand_in(self, parcel: Awaited) -> dict[str, Any]:
        """A return's parcel handed in at the node that sent its units: `receiveReturn`'s answer."""
        return await receive_back(
            self.client,
            parcel.return_id,
            parcel.lines,
            self.locations[parcel.code],
            disposition=parcel.disposition,
        )

    async def take_back(self, parcel: Awaited) -> None:
        """A return's parcel received, its restocked unit counted where it came back."""
        received = await self.hand_in(parcel)
        if received["userErrors"]:
            raise self.violation(f"return refused: {received}")
        if parcel.disposition == "RESTOCK":
            key = (parcel.sku, parcel.code)
            self.ledger[key] = self.ledger.get(key, 0) + 1

    async def parcel_arrives(self) -> None:
        """A return's parcel reaches the node days after its label was bought: one the customer
        dropped off then (the carrier scanned it) is still awaited, whatever the label's time; one
        posted only now is taken unless the return expired first. Then the carrier takes it if
        its label was not voided yet, and the return is awaited again (its tracking webhook); if
        it was, the counter refuses the parcel, and its units may be asked for again."""
        if not self.waiting:
            return
        parcel = self.waiting.pop(self.rng.randrange(len(self.waiting)))
        async with self.services.store.read() as uow:
            status = (await uow.returns.by_ids([parcel.return_id]))[parcel.return_id].status
        if status is ReturnStatus.APPROVED:
            if not parcel.posted and self.rng.random() < 0.5:  # not sent yet: it waits on, and may expire
                self.waiting.append(parcel)
                return
            await self.posted(parcel.return_id)
            await self.take_back(parcel)
            return
        if status is not ReturnStatus.EXPIRED:
            raise self.violation(f"return {parcel.return_id} waiting for its parcel is {status}")
        if parcel.posted:
            raise self.violation(f"return {parcel.return_id} expired though the carrier had its parcel")
        await self.posted(parcel.return_id)  # late: the carrier takes it if its label still stands
        async with self.services.store.read() as uow:
            late = (await uow.returns.by_ids([parcel.return_id]))[parcel.return_id]
        carried = any(moved for moved, _ in self.return_parcels(parcel.return_id).values())
        if carried != (late.status is ReturnStatus.APPROVED):
            raise self.violation(
                f"expired return {parcel.return_id} is {late.status} once posted late, the carrier "
                f"{'took' if carried else 'refused'} its parcel"
            )
        if carried:
            self.reopened += 1
            await self.take_back(parcel)
            return
        refused = await self.hand_in(parcel)
        if [error["code"] for error in refused["userErrors"]] != ["INVALID_TRANSITION"]:
            raise self.violation(f"an expired return's parcel was not refused: {refused}")
        self.returned.discard(parcel.line_id)

    async def relay(self) -> None:
        """The relay's whole round, after the email dispatcher has read the log to its head."""
        while await dispatch_once(self.services, EMAILS):
            pass
        while await relay_once(self.services, self.handlers()):
            pass

    async def relay_some(self) -> None:
        for _ in range(self.rng.randint(1, 3)):
            await relay_once(self.services, self.handlers())

    def handlers(self) -> dict[str, Any]:
        """The relay's handlers, the carriers' label voids failing while they are down
        (`voids_down`): the relay retries them later, as it would a carrier that does not answer."""
        handlers = dict(outbox_handlers(self.services))
        if self.voids_down_until is not None and self.services.clock() < self.voids_down_until:

            async def down(services: Services, task: Any) -> Any:
                raise UpstreamUnavailable("carrier", "the carrier's voids are down (the walk)")

            handlers[RETURN_LABEL_VOID] = down
        return handlers

    async def voids_down(self) -> None:
        """The carriers stop answering voids for a day or three: returns that expire meanwhile
        keep their labels, and a parcel posted late on one is taken (`parcel_arrives`)."""
        self.voids_down_until = self.services.clock() + timedelta(days=self.rng.uniform(1, 3))

    async def relay_dies(self) -> None:
        """A relay process dies holding ERP work: it takes a due task, does it (what it sends
        reaches Katana) and is gone before settling it. The gateway that follows remembers no
        push; the task waits out its lease and another relay takes it."""
        handlers = outbox_handlers(self.services)

        def dying(handler: Any) -> Any:
            async def run(services: Services, task: Any) -> Any:
                await handler(services, task)
                raise RelayDied

            return run

        erp_work = {kind: dying(handler) for kind, handler in handlers.items() if kind in ERP_KINDS}
        with contextlib.suppress(RelayDied):
            await relay_once(self.services, erp_work, limit=1)
        assert isinstance(self.services.erp, KatanaErp)
        self.services.erp._pushed.clear()

    async def refresh(self) -> None:
        """A stock refresh from the ERP, past the TTL and the allowed clock skew."""
        self.clock.advance(30)
        self.services.freshness.stock_read_at.clear()
        if await refresh_stock(self.services, list(SKUS)):
            raise self.violation("the sandbox ERP could not be read")

    async def erp_notices(self) -> None:
        """The webhooks Katana owes for changes made through its API (the gateway's shipments,
        write-offs and receipts) arrive, each read by the gateway as any stock notice is."""
        self.notices_delivered += await self.katana.deliver_held()

    async def receive(self) -> None:
        left = [number for number in PURCHASE_ORDERS if number not in self.received]
        if not left:
            return
        number = self.rng.choice(left)
        self.received.add(number)
        order = self.katana.purchase_order(number)
        code = next(c for c, i in self.katana.locations.items() if i == order.location_id)
        for row in order.rows:
            sku = self.katana.variants[row.variant_id].sku
            if row.received_at is None and sku in SKUS:
                self.ledger[(sku, code)] = self.ledger.get((sku, code), 0) + int(row.quantity)
                self.receipts[(sku, code)] = self.services.clock()
        await self.katana.receive_purchase_order(number)  # its stock webhook reaches the gateway

    async def count(self) -> None:
        """A cycle count at the ERP: units found at a node, or free units lost (shrink), which
        the ERP announces to the gateway. Shrink is at most what no open work holds there: units
        promised to work and then not found are a short pick, which the walk makes itself (its
        invariant allocated <= on hand would otherwise not be one the product keeps)."""
        sku, code = self.rng.choice(sorted(self.ledger))
        async with self.services.store.read() as uow:
            held = {p.location_id: p.allocated for p in await uow.inventory.positions([sku])}
        free = self.ledger[(sku, code)] - held.get(self.locations[code], 0)
        delta = self.rng.randint(-min(free, 4), 4) if free > 0 else self.rng.randint(1, 4)
        if delta == 0:
            return
        self.ledger[(sku, code)] += delta
        self.receipts[(sku, code)] = self.services.clock()  # its webhook read may wait for the TTL
        await self.katana.adjust(sku, code, delta)

    async def lose(self) -> None:
        """A count at the ERP finds units gone that open work holds (damaged, stolen, sold by
        another channel), and the ERP announces it. The gateway routes the newest not-started work
        there again (`rerouting.route_shortfalls`: on the notice, or in the backorder loop's round
        after the read past the TTL, which this step makes, the notice's read not being trusted
        when a movement of ours was that close); work it cannot move, the node's associates reject
        when they come to it (the units are gone already: no write-off). Not where a held order, or
        packed or ready work, holds the SKU at the node: units in a box are not lost to a count."""
        async with self.services.store.read() as uow:
            held = (
                await uow.session.execute(
                    sa.text(
                        "SELECT p.sku, l.code, p.allocated FROM inventory_positions p"
                        " JOIN locations l ON l.id = p.location_id WHERE p.allocated > 0"
                    )
                )
            ).all()
            boxed = set(
                (
                    await uow.session.execute(
                        sa.text(
                            "SELECT fl.sku, l.code FROM fulfillment_orders f"
                            " JOIN fulfillment_order_lines fl ON fl.fulfillment_order_id = f.id"
                            " JOIN locations l ON l.id = f.location_id JOIN orders o ON o.id = f.order_id"
                            " WHERE f.status IN ('PACKED', 'READY_FOR_PICKUP', 'ON_HOLD')"
                            " OR o.status = 'ON_HOLD'"
                        )
                    )
                ).all()
            )
        found = sorted(
            (str(sku), str(code), int(allocated))
            for sku, code, allocated in held
            if self.ledger.get((sku, code), 0) > 0 and (sku, code) not in boxed
        )
        if not found:
            return
        sku, code, allocated = self.rng.choice(found)
        there = self.ledger[(sku, code)]
        lost = self.rng.randint(max(0, there - allocated) + 1, there)
        self.ledger[(sku, code)] -= lost
        self.shortfalls["units lost"] += lost
        moved_before = await self.moved_off_short()
        await self.katana.adjust(sku, code, -lost)  # its notice reaches the gateway
        # The notice's read is not trusted when a movement of ours to the position was that close
        # (`models.movements`): the next read past the allowed skew is, by any replica (no read
        # of before taken for it), and the backorder loop's round follows (a sweep: from stored
        # figures, leaving orders that could not move lately), or a notice's pass.
        self.clock.advance(30)
        await forget_stock(self.services, [sku])
        if await refresh_stock(self.services, [sku]):
            raise self.violation("the sandbox ERP could not be read")
        await route_shortfalls(self.services, sweep=self.rng.random() < 0.5)
        await note_spells(self.services)  # as the loop's round does after its pass
        self.shortfalls["orders moved"] += await self.moved_off_short() - moved_before
        await self.check_short_view()
        await self.reject_short(sku, code)
        await note_spells(self.services)
        await self.check_spells()

    async def check_short_view(self) -> None:
        """Operations' `shortPositions` lists every position with more units allocated than on
        hand, with its figures, and the work it lists there holds every allocated unit; paged the
        longest short first, it lists the same positions, by `shortSince` (those not noted last)."""
        listed = await self.short_view("SKU")
        longest = await self.short_view("LONGEST_SHORT")
        starts = [
            (n["shortSince"] is None, datetime.fromisoformat(n["shortSince"] or "1970-01-01T00:00:00+00:00"))
            for n in longest.values()
        ]
        if longest.keys() != listed.keys() or starts != sorted(starts):
            raise self.violation(f"shortPositions the longest short first: {starts} of {sorted(listed)}")
        async with self.services.store.read() as uow:
            rows = await uow.session.execute(
                sa.text(
                    "SELECT p.sku, l.code, p.on_hand, p.allocated FROM inventory_positions p"
                    " JOIN locations l ON l.id = p.location_id WHERE p.allocated > p.on_hand"
                )
            )
            short = {
                (str(sku), str(code)): (int(on_hand), int(allocated))
                for sku, code, on_hand, allocated in rows
            }
        shown = {key: (n["onHand"], n["allocated"]) for key, n in listed.items()}
        if shown != short:
            raise self.violation(f"shortPositions lists {shown}, the store has {short} over-committed")
        if unnoted := sorted(key for key, n in listed.items() if n["shortSince"] is None):
            raise self.violation(f"short positions {unnoted} have no spell open after the pass noted them")
        for key, n in listed.items():
            if (
                n["holderCount"] == len(n["holders"])
                and sum(h["quantity"] for h in n["holders"]) != n["allocated"]
            ):
                raise self.violation(
                    f"shortPositions' work at {key} holds other than its {n['allocated']} units"
                )

    async def short_view(self, order: str) -> dict[tuple[str, str], dict[str, Any]]:
        """Every page of `shortPositions` in this order, 40 at a time, in the order listed."""
        listed: dict[tuple[str, str], dict[str, Any]] = {}
        after: str | None = None
        while True:
            body = await execute(self.client, SHORT_VIEW, {"after": after, "orderBy": order}, token=agent())
            self.expect_no_errors(body)
            found = body["data"]["shortPositions"]
            listed |= {(n["sku"], n["location"]["code"]): n for n in (e["node"] for e in found["edges"])}
            if not found["pageInfo"]["hasNextPage"]:
                return listed
            after = found["pageInfo"]["endCursor"]

    async def check_spells(self) -> None:
        """After a pass has noted them, exactly the over-committed positions have a spell of short
        stock open, one each; every spell ended did so after it started, and no two of a position's
        spells overlap; the work at a position told it was short (FULFILLMENT_STOCK_SHORT) was told
        once per spell at most."""
        async with self.services.store.read() as uow:
            short = set(await uow.inventory.over_committed())
            spells = (
                await uow.session.execute(
                    sa.text(
                        "SELECT sku, location_id, started_at, ended_at FROM short_spells"
                        " ORDER BY started_at, id"
                    )
                )
            ).all()
            told = (
                await uow.session.execute(
                    sa.select(OrderEvent).where(
                        tables.order_events.c.type.in_(
                            ["FULFILLMENT_STOCK_SHORT", "FULFILLMENT_STOCK_COVERED"]
                        )
                    )
                )
            ).scalars()
            kinds = Counter(event.type.removeprefix("FULFILLMENT_STOCK_").lower() for event in told)
            per_work = Counter(
                (str(event.location_id), str(event.fulfillment_order_id), str(event.data["sku"]))
                for event in told
                if event.type == "FULFILLMENT_STOCK_SHORT"
            )
        open_ = [(str(sku), str(at)) for sku, at, _, ended in spells if ended is None]
        if sorted(open_) != sorted(short) or len(set(open_)) != len(open_):
            raise self.violation(f"spells open at {sorted(open_)}, positions short: {sorted(short)}")
        last_end: dict[tuple[str, str], Any] = {}
        for sku, at, started, ended in spells:
            if (ended is not None and ended < started) or (last_end.get((sku, at)) or started) > started:
                raise self.violation(f"the spells of {sku} at {at} overlap or end before they start")
            if ended is not None:
                last_end[(sku, at)] = ended
        per_position = Counter((str(at), str(sku)) for sku, at, _, _ in spells)
        if over := {key: n for key, n in per_work.items() if n > per_position[(key[0], key[2])]}:
            raise self.violation(
                f"work told its stock was short more often than its position went short: {over}"
            )
        self.shortfalls["spells"] = len(spells)
        for kind, n in kinds.items():
            self.shortfalls[f"told {kind}"] = n

    async def moved_off_short(self) -> int:
        """Work the gateway has cancelled at short positions, to open it elsewhere."""
        async with self.services.store.read() as uow:
            query = sa.text("SELECT count(*) FROM order_events WHERE actor = :actor AND type = :type")
            found = await uow.session.execute(query, {"actor": SHORTFALL, "type": "FULFILLMENT_CANCELLED"})
            return int(found.scalar_one())

    async def reject_short(self, sku: str, code: str) -> None:
        """The node's newest work holding `sku` rejected, until what is allocated there fits."""
        at = self.locations[code]
        while True:
            async with self.services.store.read() as uow:
                [position] = [p for p in await uow.inventory.positions([sku]) if p.location_id == at]
                newest = (
                    await uow.session.execute(
                        sa.text(
                            "SELECT f.id FROM fulfillment_orders f"
                            " JOIN fulfillment_order_lines fl ON fl.fulfillment_order_id = f.id"
                            " WHERE f.location_id = :at AND fl.sku = :sku"
                            " AND f.status IN ('OPEN', 'ACCEPTED', 'PICKING')"
                            " ORDER BY f.created_at DESC, f.id DESC LIMIT 1"
                        ),
                        {"at": at, "sku": sku},
                    )
                ).scalar_one_or_none()
            if position.allocated <= position.on_hand:
                return
            if newest is None:
                raise self.violation(f"{sku} at {code}: {position.allocated} allocated of {position.on_hand}")
            body = await execute(
                self.client,
                REJECT,
                {"id": newest, "damaged": False},
                token=a_token("associate", locations=(code,)),
            )
            self.expect_no_errors(body)
            if body["data"]["rejectFulfillmentOrder"]["userErrors"]:
                raise self.violation(f"rejecting work short of {sku} at {code} refused: {body}")
            self.shortfalls["work rejected"] += 1

    def epoch(self) -> float:
        """The walk's clock as the sandboxes read theirs."""
        return self.services.clock().timestamp()

    async def carriers_scan(self) -> None:
        """The carriers take every parcel through each scan whose time has come since they last
        looked (accepted, in transit, out for delivery, delivered) and tell the gateway by webhook,
        as the real ones do."""
        await self.shipengine.advance()
        delivered = {
            label.tracking_number
            for label in self.shipengine.labels.values()
            if label.delivered and not label.is_return
        }
        if self.sandboxes.ups is not None:
            await self.sandboxes.ups.advance()
            delivered |= {p.tracking_number for p in self.sandboxes.ups.parcels.values() if p.delivered}
        async with self.services.store.read() as uow:
            rows = (
                await uow.session.execute(sa.text("SELECT carrier, tracking_number, status FROM shipments"))
            ).all()
        said: dict[str, str] = {number: status for _, number, status in rows}
        unheard = sorted(n for n in delivered if n in said and said[n] != TrackingStatus.DELIVERED.value)
        if unheard:
            raise self.violation(f"parcels the carrier delivered, not delivered here: {unheard}")
        self.shipped = Counter(carrier for carrier, _, _ in rows)
        self.delivered = Counter(
            carrier for carrier, _, status in rows if status == TrackingStatus.DELIVERED.value
        )

    async def next_day(self) -> None:
        self.clock.advance(24 * 3600)
        await backorders.allocate_waiting(self.services)

    # -- what the walk knows -----------------------------------------------------------------------

    async def keep_back(self) -> None:
        """An admin sets a SKU's safety stock at a node, or gives the node's own figure back."""
        sku, code = self.rng.choice(SKUS), self.rng.choice(sorted(self.locations))
        quantity = None if self.rng.random() < 0.3 else self.rng.randint(0, 12)
        body = await execute(
            self.client,
            SAFETY,
            {"input": {"sku": sku, "locationId": code, "quantity": quantity}},
            token=a_token("admin"),
        )
        self.expect_no_errors(body)
        if body["data"]["setSafetyStock"]["userErrors"]:
            raise self.violation(f"safety stock refused: {body}")
        key = (sku, self.locations[code])
        if quantity is None:
            self.kept_back.pop(key, None)
        else:
            self.kept_back[key] = quantity

    async def squeeze(self) -> None:
        """An admin sets a node's capacity per day: often a few orders, so nodes fill up and take
        orders only when no node with room can (a later promise), sometimes 0 (it takes none),
        sometimes plenty again."""
        code = self.rng.choice(sorted(self.locations))
        capacity = self.rng.choice((0, 1, 2, 3, 5, 1000))
        body = await execute(
            self.client, CAPACITY, {"input": {"id": code, "capacityPerDay": capacity}}, token=a_token("admin")
        )
        self.expect_no_errors(body)
        if body["data"]["updateLocation"]["userErrors"]:
            raise self.violation(f"capacity refused: {body}")

    async def close_or_reopen(self) -> None:
        """An admin takes a node out of routing (refused while it has open fulfilment orders,
        lines waiting there for supply or pickup orders with units no node holds; carts may hold
        units there) or brings a closed one back."""
        code = self.rng.choice(sorted(self.locations))
        reopen = code in self.closed
        body = await execute(self.client, ACTIVE, {"id": code, "on": reopen}, token=a_token("admin"))
        self.expect_no_errors(body)
        payload = body["data"]["reactivateLocation" if reopen else "deactivateLocation"]
        if payload["userErrors"]:
            self.expect_codes(payload, set() if reopen else {"LOCATION_HAS_OPEN_WORK"})
        elif reopen:
            self.closed.discard(code)
        else:
            self.closed.add(code)

    async def hold_or_release_order(self) -> None:
        """An agent stops an order where its work is (refused once it is done or cancelled), or
        releases one held (its work goes on; a backorder waits while it is held)."""
        if not self.orders:
            return
        pool = self.kept_over if self.kept_over and self.rng.random() < 0.5 else self.orders
        order = await self.read(self.rng.choice(pool))
        if order["status"] == "ON_HOLD":
            await self.release_order(order["id"])
            return
        if order["id"] in self.kept_over:  # released (routed, or cancelled for want of stock)
            self.kept_over.remove(order["id"])
        reason = self.rng.choice(("INCORRECT_ADDRESS", "OTHER", "AWAITING_PAYMENT"))
        body = await execute(
            self.client, HOLD_ORDER, {"input": {"orderId": order["id"], "reason": reason}}, token=agent()
        )
        self.expect_no_errors(body)
        payload = body["data"]["holdOrder"]
        if payload["userErrors"]:
            self.expect_codes(payload, {"INVALID_TRANSITION"})
        elif payload["order"]["status"] != "ON_HOLD":
            raise self.violation(f"holdOrder answered {payload['order']['status']}")

    async def trim(self, order_id: str) -> None:
        """A sale kept with a line past the 999 units a line is routed with (release refused,
        INVALID_QUANTITY): the merchant agrees to ship a few, and the agent cancels the rest."""
        order = await self.read(order_id)
        over = [
            {"lineId": line["id"], "quantity": left - self.rng.randint(1, 3)}
            for line in order["lines"]
            if (left := line["quantity"] - line["quantityCancelled"] - line["quantityFulfilled"]) > 999
        ]
        if not over:
            raise self.violation(f"release refused INVALID_QUANTITY, but no line is past 999: {order}")
        cancel = {"orderId": order_id, "reason": "STAFF", "lines": over}
        body = await execute(self.client, CANCEL, {"input": cancel}, token=agent())
        self.expect_no_errors(body)
        if body["data"]["cancelOrder"]["userErrors"]:
            raise self.violation(f"cancelling units past the limit refused: {body['data']['cancelOrder']}")
        self.trimmed += 1

    async def release_order(self, order_id: str) -> None:
        """An agent's review ends: the order goes on. One held before it was routed is routed
        now, which the stock there is now may refuse: the agent then cancels it."""
        body = await execute(self.client, RELEASE_ORDER, {"input": {"orderId": order_id}}, token=agent())
        self.expect_no_errors(body)
        payload = body["data"]["releaseOrderHold"]
        if (
            payload["userErrors"]
            and self.racing
            and {e["code"] for e in payload["userErrors"]} <= RACE_REFUSALS
        ):
            return  # the other move cancelled it, or released it first
        if {e["code"] for e in payload["userErrors"]} == {"ADDRESS_INCOMPLETE"}:
            return  # a storefront sale with no street: the merchant gives it one first
        if {e["code"] for e in payload["userErrors"]} == {"UNKNOWN_SKU"}:
            return  # a sale of a product no catalogue has yet: let go once one does
        if {e["code"] for e in payload["userErrors"]} == {"INVALID_QUANTITY"}:
            await self.trim(order_id)  # a sale kept past a line's limit: released next time
            return
        if payload["userErrors"]:
            self.expect_codes(payload, {"INSUFFICIENT_STOCK", "SPLIT_LIMIT_EXCEEDED"})
            cancelled = await execute(
                self.client, CANCEL, {"input": {"orderId": order_id, "reason": "INVENTORY"}}, token=agent()
            )
            self.expect_no_errors(cancelled)
            if cancelled["data"]["cancelOrder"]["userErrors"]:
                raise self.violation(f"cancelling a held order refused: {cancelled['data']['cancelOrder']}")

    async def reroute(self) -> None:
        """An agent routes an order's units not yet started again (nothing to route, or an order
        on hold or done, is refused). Never INVALID_PICKUP_LOCATION: a store is not closed while
        a pickup order there has units no node holds (seed 419 at 7ada501, step 694, closed one)."""
        if not self.orders:
            return
        body = await execute(self.client, ROUTE, {"id": self.rng.choice(self.orders)}, token=agent())
        self.expect_no_errors(body)
        payload = body["data"]["routeOrder"]
        if payload["userErrors"]:
            self.expect_codes(
                payload,
                {
                    "INVALID_TRANSITION",
                    "NOTHING_TO_ROUTE",
                    "NO_ROUTE",
                    "INSUFFICIENT_STOCK",
                    "SPLIT_LIMIT_EXCEEDED",
                },
            )

    async def read(self, order_id: str) -> dict[str, Any]:
        body = await execute(self.client, ORDER, {"id": order_id}, token=agent())
        self.expect_no_errors(body)
        order: dict[str, Any] = body["data"]["order"]
        return order

    async def open_work(
        self, statuses: tuple[str, ...] = OPEN_WORK, *, started_first: bool = False
    ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """An order and one of its fulfilment orders in one of `statuses`, among up to six of
        the walk's orders that have such work. `started_first`: the work furthest along of
        those, as a node finishes what it started before it takes new work (so that parcels
        leave, reach customers and come back, instead of every order waiting half done)."""
        async with self.services.store.read() as uow:
            rows = await uow.session.execute(sa.text("SELECT order_id, status FROM fulfillment_orders"))
            furthest: dict[str, int] = {}
            for order_id, status in rows:
                if status in statuses:
                    furthest[order_id] = max(furthest.get(order_id, -1), OPEN_WORK.index(status))
        having = [order_id for order_id in self.orders if order_id in furthest]
        if not having:
            return None
        chosen = self.rng.sample(having, min(6, len(having)))
        if started_first:
            chosen.sort(key=lambda order_id: -furthest[order_id])  # stable: ties keep the draw's order
        order = await self.read(chosen[0])
        work = [fo for fo in order["fulfillmentOrders"] if fo["status"] in statuses]
        if not work:  # moved since the count (a race step's other move)
            return None
        if started_first:
            ahead = max(OPEN_WORK.index(fo["status"]) for fo in work)
            work = [fo for fo in work if OPEN_WORK.index(fo["status"]) == ahead]
        return order, self.rng.choice(work)

    def leave(self, code: str, lines: list[dict[str, Any]]) -> None:
        for line in lines:
            if line["sku"] in SKUS:
                self.ledger[(line["sku"], code)] -= line["quantity"]

    def expect_no_errors(self, body: dict[str, Any]) -> None:
        if "errors" in body:
            raise self.violation(f"the API answered with errors: {body['errors']}")

    def expect_codes(self, payload: dict[str, Any], allowed: set[str]) -> None:
        codes = {error["code"] for error in payload["userErrors"]}
        if not codes <= (allowed | RACE_REFUSALS if self.racing else allowed):
            raise self.violation(f"unexpected refusal {sorted(codes)}: {payload['userErrors']}")

    def violation(self, what: str) -> Violation:
        return Violation(f"seed {self.seed}, step {self.step} ({self.kinds.most_common(3)}): {what}")

    # -- invariants --------------------------------------------------------------------------------

    async def check_emails(self, after: str) -> None:
        """Every event the email dispatcher has read that tells a customer something has one email
        task, keyed by its event, and no task is for anything else; a delay names a later day."""
        async with self.services.store.read() as uow:
            position, _ = await uow.positions.with_head(EMAIL_POSITION)
            events = await uow.events.by_order_ids(self.orders)
            tasks = {
                order_id: await uow.outbox.with_key_prefixes([key_prefix(order_id)], kind=EMAIL_MESSAGE)
                for order_id in self.orders
            }
        for order_id in self.orders:
            read = [e for e in events.get(order_id, []) if position is not None and e.cursor <= position]
            wanted = sorted(task_key(order_id, e.id) for e in read if email_kind(e.type) is not None)
            found = sorted(task.key for task in tasks[order_id])
            if found != wanted:
                raise self.violation(
                    f"after {after}: order {order_id}'s emails {found}, its events want {wanted}"
                )
            for event in read:
                if event.type == "ORDER_DELAYED" and not event.data["from"] < event.data["to"]:
                    raise self.violation(
                        f"after {after}: a delay from {event.data['from']} to {event.data['to']}"
                    )

    async def check_learned(self, after: str, lines: dict[str, list[Any]]) -> None:
        """No sale is held for a product the catalogue lacks once it sells every product of the
        sale (`holds.release_learned` let it go as the catalogue learned the last one)."""
        async with self.services.store.read() as uow:
            holds = await uow.orders.active_holds_by_order_ids(sorted(self.sold_there))
            waiting = [
                order_id
                for order_id, active in holds.items()
                if any(hold.reason is HoldReason.UNKNOWN_PRODUCT for hold in active)
            ]
            skus = {line.sku for order_id in waiting for line in lines.get(order_id, [])}
            products = await uow.catalog.products_by_skus(sorted(skus))
        for order_id in waiting:
            open_skus = [
                line.sku for line in lines.get(order_id, []) if line.quantity > line.quantity_cancelled
            ]
            if all(sku in products and products[sku].active for sku in open_skus):
                raise self.violation(
                    f"after {after}: {order_id} is held for a product the catalogue lacks, but it has all"
                )

    async def address_holds(self) -> set[str]:
        """Storefront sales the import holds for their address (an agent's INCORRECT_ADDRESS
        hold is the agent's own)."""
        async with self.services.store.read() as uow:
            holds = await uow.orders.active_holds_by_order_ids(sorted(self.sold_there))
        return {
            order_id
            for order_id, active in holds.items()
            for hold in active
            if hold.reason is HoldReason.INCORRECT_ADDRESS and hold.placed_by.endswith("-import")
        }

    async def check_settled(self) -> None:
        """Once every retry has come due, the ERP and the storefront have heard of everything: no
        task of their lanes waits or gave up, and no movement is still in flight to the ERP."""
        self.voids_down_until = None
        for _ in range(3):
            self.clock.advance(2 * 3600)  # past the relay's longest backoff
            await self.relay()
        async with self.services.store.read() as uow:
            kinds = (*ERP_KINDS, ERP_STOCK_REREAD, *PUSHES, RETURN_LABEL_VOID, LABEL_VOID)
            tasks = [task for kind in kinds for task in await uow.outbox.by_kind(kind)]
            returns = await uow.returns.by_order_ids(self.orders)
            shipments = await uow.orders.shipments_by_order_ids(self.orders)
            keys = [(sku, self.locations[code]) for sku, code in self.ledger]
            movements = await uow.inventory.uncounted_movements(keys)
        for task in tasks:
            if task.done_at is None or (task.result or "").startswith("gave up"):
                raise self.violation(
                    f"after draining: {task.kind} {task.key} not done after {task.attempts} attempts: "
                    f"{task.result or task.last_error}"
                )
        in_flight = [m for found in movements.values() for m in found if m.acked_at is None]
        if in_flight:
            raise self.violation(f"after draining: {len(in_flight)} movements never reached the ERP")
        self.check_labels(
            [r for found in returns.values() for r in found],
            {shipment.tracking_number for found in shipments.values() for shipment in found},
        )
        await self.check_erp_units()  # the units first: a discount on units missing says less
        await self.check_erp_discounts()

    async def check_erp_units(self) -> None:
        """Every node's sales orders at the ERP hold the units its live work holds, per SKU; more
        only where a closed sales order keeps units no work wants any more, and then staff were
        told exactly those (ERP_UNITS_KEPT, its latest figure for the node)."""
        async with self.services.store.read() as uow:
            orders = await uow.orders.by_ids(self.orders, EVERYTHING)
            shares = await uow.orders.fulfillment_orders_by_order_ids(self.orders)
            live = [
                fo
                for found in shares.values()
                for fo in found
                if fo.status.value not in ("CANCELLED", "REJECTED")
            ]
            work = await uow.orders.fulfillment_lines_by_fo_ids([fo.id for fo in live])
            history = await uow.events.by_order_ids(self.orders)
        codes = {location_id: code for code, location_id in self.locations.items()}
        sku_of = {variant.id: variant.sku for variant in self.katana.variants.values()}
        for order_id, order in orders.items():
            ours: dict[str, Counter[str]] = {}
            for fo in (fo for fo in live if fo.order_id == order_id):
                for line in work.get(fo.id, []):
                    ours.setdefault(fo.location_id, Counter())[line.sku] += line.quantity
            at_erp: dict[str, Counter[str]] = {}
            for location_id, code in codes.items():
                key = f"{order.number}-{code}"
                for sales_order in self.katana.sales_orders:
                    name, rest = sales_order["ecommerce_order_id"], ""
                    if name.startswith(f"{key}-"):
                        rest = name[len(key) + 1 :]
                    if sales_order["deleted_at"] is None and (name == key or rest.isdigit()):
                        for row in sales_order["sales_order_rows"]:
                            units = int(Decimal(str(row["quantity"])))
                            at_erp.setdefault(location_id, Counter())[sku_of[row["variant_id"]]] += units
            for location_id in set(ours) | set(at_erp):
                here, there = ours.get(location_id, Counter()), at_erp.get(location_id, Counter())
                missing = +(here - there)
                if missing:
                    raise self.violation(
                        f"after draining: {order.number}'s ERP sales orders lack {dict(missing)}"
                    )
                kept = dict(+(there - here))
                told = [
                    event.data.get("units")
                    for event in history.get(order_id, [])
                    if event.type == "ERP_UNITS_KEPT" and event.data.get("location_id") == location_id
                ]
                self.erp_kept += bool(kept)
                if kept and (not told or told[-1] != kept):
                    where = f"{order.number}'s ERP keeps {kept} at {codes[location_id]}"
                    raise self.violation(f"after draining: {where}, staff told {told}")

    def check_labels(self, returns: list[Any], shipped: set[str]) -> None:
        """No label is left bought and unused: a shipping label is a shipment's, or voided (work
        cancelled while it was bought, a concurrent repeat); a return's label the carrier never
        scanned is voided once its parcel is back or the return expired; one we call voided is
        voided at the carrier; and no return waits past its label's time for a parcel the carrier
        never picked up."""
        now = self.services.clock()
        overdue = [
            r.id
            for r in returns
            if (due := label_due(r, LABEL_TTL)) is not None
            and due < now - timedelta(hours=1)
            and not any(scanned for scanned, _ in self.return_labels(r.id))
        ]
        if overdue:
            raise self.violation(f"after draining: returns awaited past their label's time: {overdue}")
        stray = [
            label.tracking_number
            for label in self.shipengine.labels.values()
            if not label.is_return and label.tracking_number not in shipped and label.voided_at is None
        ]
        if self.sandboxes.ups is not None:  # a shipment keeps its first parcel's number
            stray += [
                parcel.tracking_number
                for parcel in self.sandboxes.ups.parcels.values()
                if parcel.return_service is None and parcel.shipment_id not in shipped and not parcel.voided
            ]
        if stray:
            raise self.violation(f"after draining: shipping labels no shipment took, not voided: {stray}")
        self.labels = Counter(
            f"{r.label_status.value if r.label_status else 'NONE'} {r.status.value}" for r in returns
        )
        self.return_tracking = Counter()
        for order_return in returns:  # the carriers' tracking of return labels reached their returns
            number = order_return.label_tracking_number
            moved, arrived = self.return_parcels(order_return.id).get(number or "", (False, False))
            kept = (order_return.label_picked_up_at is not None, order_return.label_tracking)
            if (moved and not kept[0]) or (arrived and kept[1] is not TrackingStatus.DELIVERED):
                found = (
                    f"return {order_return.id}'s parcel {number} is {'delivered' if arrived else 'moving'}"
                )
                raise self.violation(f"after draining: {found}, its return keeps {kept}")
            self.return_tracking[order_return.status.value] += moved
        for order_return in returns:
            labels = self.return_labels(order_return.id)
            status = order_return.label_status
            unused = [label for label in labels if label == (False, False)]
            if status is ReturnLabelStatus.PURCHASED and order_return.status not in OPEN_RETURNS and unused:
                raise self.violation(
                    f"after draining: return {order_return.id} is {order_return.status} with its label "
                    "bought, never used and never voided"
                )
            if status is ReturnLabelStatus.VOIDED and not all(voided for _, voided in labels):
                raise self.violation(f"after draining: return {order_return.id}'s label is not voided")

    async def check_erp_discounts(self) -> None:
        """A storefront sale's coupon is on its ERP sales orders' rows: what they have off adds up
        to the order's discount on the units given to nodes (units still waiting keep theirs)."""
        async with self.services.store.read() as uow:
            orders = await uow.orders.by_ids(list(self.sold_there), EVERYTHING)
            lines = await uow.orders.lines_by_order_ids(list(self.sold_there))
            shares = await uow.orders.fulfillment_orders_by_order_ids(list(self.sold_there))
            live = [
                fo.id
                for found in shares.values()
                for fo in found
                if fo.status.value not in ("CANCELLED", "REJECTED")
            ]
            work = await uow.orders.fulfillment_lines_by_fo_ids(live)
        given = [line for found in work.values() for line in found if line.quantity > 0]
        sku_of = {variant.id: variant.sku for variant in self.katana.variants.values()}
        for order_id, order in orders.items():
            sold = {line.id for line in lines.get(order_id, [])}
            ours = [line for line in given if line.order_line_id in sold]
            parts = discount_shares(lines.get(order_id, []), ours)  # by work line
            by_sku: dict[str, Decimal] = {}
            units_ours: Counter[str] = Counter()
            for given_line in ours:
                share = parts.get(given_line.id, Decimal(0))
                by_sku[given_line.sku] = by_sku.get(given_line.sku, Decimal(0)) + share
                units_ours[given_line.sku] += given_line.quantity
            at_erp: dict[str, Decimal] = {}
            units_there: Counter[str] = Counter()
            closed: set[str] = set()
            for sales_order in self.katana.sales_orders:
                if not sales_order["ecommerce_order_id"].startswith(f"{order.number}-"):
                    continue
                if sales_order["deleted_at"] is not None:
                    continue
                for row in sales_order["sales_order_rows"]:
                    sku = sku_of[row["variant_id"]]
                    at_erp[sku] = at_erp.get(sku, Decimal(0)) + Decimal(row["total_discount"] or 0)
                    units_there[sku] += int(Decimal(str(row["quantity"])))
                    if sales_order["status"] not in ("NOT_SHIPPED", "PENDING"):
                        closed.add(sku)
            for sku in sorted(set(by_sku) | set(at_erp)):
                there, here = at_erp.get(sku, Decimal(0)), by_sku.get(sku, Decimal(0))
                if units_there[sku] > units_ours[sku] and sku in closed:
                    # A unit cancelled after its node's sales order was partly delivered stays in
                    # it (`models.erp.plan_sales_orders`: a closed sales order cannot be changed,
                    # and staff are told, `check_erp_units`): the coupon is then right per unit of
                    # the SKU, not in sum.
                    per_unit = (there / units_there[sku], here / units_ours[sku] if units_ours[sku] else None)
                    if per_unit[1] is not None and abs(per_unit[0] - per_unit[1]) > Decimal("0.01"):
                        found = f"{order.number} has {per_unit[1]} off a {sku}, the ERP's rows {per_unit[0]}"
                        raise self.violation(f"after draining: {found}")
                elif there != here:
                    found = f"{order.number} has {here} off its nodes' {sku}, the ERP's rows {there}"
                    raise self.violation(f"after draining: {found}")

    async def check(self, after: str) -> None:
        code_of = {location_id: code for code, location_id in self.locations.items()}
        async with self.services.store.read() as uow:
            positions = {
                (p.sku, code_of[p.location_id]): p for p in await uow.inventory.positions(list(SKUS))
            }
            waiting = await uow.inventory.waiting(list(SKUS))
            keys = [(sku, self.locations[code]) for sku, code in self.ledger]
            movements = await uow.inventory.uncounted_movements(keys)
            shares = await uow.orders.fulfillment_orders_by_order_ids(self.orders)
            fo_lines = await uow.orders.fulfillment_lines_by_fo_ids(
                [fo.id for fos in shares.values() for fo in fos]
            )
            lines = await uow.orders.lines_by_order_ids(self.orders)
            waits = await uow.inventory.backorders_by_order_ids(self.orders)
            orders = await uow.orders.by_ids(self.orders, EVERYTHING)
            ledgers = await uow.payments.by_order_ids(self.orders)
            tasks = {
                order_id: await uow.outbox.with_key_prefixes([f"{order_id}:payment."])
                for order_id in self.orders
            }
            nodes = {loc.id: loc for loc in await uow.catalog.locations()}
            safety = {location_id: loc.safety_stock for location_id, loc in nodes.items()}
            per_sku = await uow.inventory.safety_stock(list(SKUS))
        live = Counter(o["ecommerce_order_id"] for o in self.katana.sales_orders if o["deleted_at"] is None)
        doubled = sorted(key for key, count in live.items() if count > 1)
        if doubled:
            raise self.violation(f"after {after}: Katana holds more than one sales order for {doubled}")
        if per_sku != self.kept_back:
            raise self.violation(f"after {after}: safety stock kept {per_sku}, set {self.kept_back}")
        open_units = Counter[tuple[str, str]]()
        open_by_line = Counter[str]()
        for fos in shares.values():
            for fo in fos:
                opened_on = local_today(nodes[fo.location_id], fo.created_at)
                if fo.starts_on is None or fo.starts_on < opened_on:  # a node starts no work in the past
                    raise self.violation(
                        f"after {after}: {fo.id} at {code_of[fo.location_id]}, opened on {opened_on}, "
                        f"is to start on {fo.starts_on}"
                    )
                if fo.status in OPEN:
                    for row in fo_lines.get(fo.id, []):
                        open_units[(row.sku, code_of[fo.location_id])] += row.quantity
                        open_by_line[row.order_line_id] += row.quantity
        for code in self.closed:  # a closed node takes no new work, and had none left when closed
            work = {sku: units for (sku, at), units in open_units.items() if at == code and units}
            work |= {
                f"{sku} waiting": units for (sku, at), units in waiting.items() if at == self.locations[code]
            }
            if work:
                raise self.violation(f"after {after}: {code} is closed but has work: {work}")
        for (sku, code), expected in self.ledger.items():
            in_flight = sum(
                m.quantity for m in movements.get((sku, self.locations[code]), []) if m.acked_at is None
            )
            erp = int(self.katana.on_hand(sku, code))
            if erp + in_flight != expected:
                raise self.violation(
                    f"after {after}: {sku} at {code}: the ERP holds {erp} with {in_flight} in flight, "
                    f"but {expected} should be there"
                )
            position = positions.get((sku, code))
            local = position.on_hand if position else 0
            # Units the ERP received reach the gateway with its next trusted read of the SKU: the
            # receipt's webhook read is not trusted when a movement of ours was that close to it
            # (the clock-skew rule, models/movements.py), and the read after the TTL settles it.
            unsettled = position is not None and position.as_of < self.receipts.get(
                (sku, code), position.as_of
            )
            if local != expected and not unsettled:
                raise self.violation(
                    f"after {after}: {sku} at {code}: ordergate counts {local}, {expected} are there"
                )
            allocated = position.allocated if position else 0
            if not 0 <= allocated <= local:
                raise self.violation(
                    f"after {after}: {sku} at {code}: {allocated} allocated of {local} on hand"
                )
            if allocated != open_units[(sku, code)]:
                raise self.violation(
                    f"after {after}: {sku} at {code}: {allocated} allocated, "
                    f"open work holds {open_units[(sku, code)]}"
                )
        for order_id, order_lines in lines.items():
            waiting_by_line = Counter[str]()
            for wait in waits.get(order_id, []):
                waiting_by_line[wait.order_line_id] += wait.quantity if wait.status.value == "WAITING" else 0
            for line in order_lines:
                accounted = (
                    line.quantity_fulfilled
                    + line.quantity_cancelled
                    + open_by_line[line.id]
                    + waiting_by_line[line.id]
                )
                if accounted > line.quantity or line.quantity_returned > line.quantity_fulfilled:
                    raise self.violation(
                        f"after {after}: line {line.id} of {line.quantity} {line.sku}: "
                        f"{line.quantity_fulfilled} fulfilled, {line.quantity_cancelled} cancelled, "
                        f"{open_by_line[line.id]} open, "
                        f"{waiting_by_line[line.id]} waiting, {line.quantity_returned} returned"
                    )
        waiting_units = {
            order_id: sum(w.quantity - w.quantity_allocated for w in rows if w.status.value == "WAITING")
            for order_id, rows in waits.items()
        }
        money = book_problems(orders, lines, ledgers, tasks, waiting_units, self.sandboxes.payments)
        if money:
            raise self.violation(f"after {after}: " + "; ".join(money[:5]))
        for_address = await self.address_holds()
        for order_id, external in self.sold_there.items():  # held for its address while it has none
            whole = addressed(self.bigcommerce.orders[external].shipping_addresses[0])
            done = orders[order_id].status.value in ("CANCELLED", "COMPLETED")
            if whole and order_id in for_address:
                raise self.violation(f"after {after}: storefront sale {external} has an address, yet is held")
            if not whole and order_id not in for_address and not done:
                raise self.violation(
                    f"after {after}: storefront sale {external} has no usable address, yet is not held"
                )
        await self.check_learned(after, lines)
        await self.check_emails(after)
        for order_id, external in self.sold_there.items():  # what the shopper paid there, here
            theirs = self.bigcommerce.orders[external]
            untouched = not any(line.quantity_cancelled for line in lines.get(order_id, []))
            if untouched and orders[order_id].total != theirs.total:
                raise self.violation(
                    f"after {after}: storefront order {external} charged {theirs.total} "
                    f"(a coupon of {theirs.coupon}), here it costs {orders[order_id].total}"
                )
        for order_id, external in self.sold_there.items():  # what the merchant refunded there, here
            refunded = totals(e for e in ledgers.get(order_id, []) if taken_elsewhere(e)).refunded
            if refunded != self.bigcommerce.orders[external].refunded:
                raise self.violation(
                    f"after {after}: storefront order {external} refunded "
                    f"{self.bigcommerce.orders[external].refunded} there, the ledger holds {refunded}"
                )
        for replica, client in enumerate(self.replica_clients or (self.client,)):
            await self.agreed(
                after, replica, functools.partial(self.availability_problem, client, code_of, per_sku, safety)
            )
            if self.replicas:  # one replica's commits drop what they change from its own view
                await self.agreed(after, replica, functools.partial(self.catalogue_problem, after, client))

    async def agreed(self, after: str, replica: int, problem: Callable[[], Awaitable[str | None]]) -> None:
        """What one replica answers agrees with the store (`problem` is None). With one replica,
        at once: a commit drops what it changed from the view before its request is answered.
        With several, a change committed on another replica reaches this one's view when Redis
        carries that replica's announcement: the answer must agree within `ANNOUNCED_WITHIN`
        (the replicas' views are kept for an hour, so nothing else makes them read again), and
        how long it took is kept (`lags`)."""
        began = time.monotonic()
        for attempt in itertools.count():
            found = await problem()
            waited = time.monotonic() - began
            if found is None:
                if attempt:
                    self.lags.append(waited)
                return
            if not self.replicas:
                raise self.violation(f"after {after}: {found}")
            if waited > ANNOUNCED_WITHIN:
                raise self.violation(f"after {after}, replica {replica}, {waited:.2f} s on: {found}")
            await asyncio.sleep(0.01)

    async def catalogue_problem(self, after: str, client: httpx.AsyncClient) -> str | None:
        """The catalogue a storefront pages through (the contract's `Catalog`), as one replica
        answers it from its view, against the store's active products, names and prices."""
        body = await execute(client, operation("Catalog"), {"first": 250}, token=a_token("storefront"))
        self.expect_no_errors(body)
        if body["data"]["products"]["pageInfo"]["hasNextPage"]:
            raise self.violation(f"after {after}: more than 250 products; the check reads one page")
        listed = {
            edge["node"]["sku"]: (edge["node"]["name"], Decimal(edge["node"]["price"]["amount"]))
            for edge in body["data"]["products"]["edges"]
        }
        async with self.services.store.read() as uow:
            products = await uow.catalog.products_by_skus(await uow.catalog.active_skus())
        stored = {sku: (p.name, p.price) for sku, p in products.items()}
        differ = sorted(sku for sku in listed.keys() | stored.keys() if listed.get(sku) != stored.get(sku))
        if not differ:
            return None
        return (
            f"the catalogue lists {[listed.get(sku) for sku in differ]} for {differ}, "
            f"the store holds {[stored.get(sku) for sku in differ]}"
        )

    async def availability_problem(
        self,
        client: httpx.AsyncClient,
        code_of: dict[str, str],
        per_sku: dict[tuple[str, str], int],
        safety: dict[str, int],
    ) -> str | None:
        body = await execute(client, AVAILABILITY, {"skus": list(SKUS)}, token=agent())
        self.expect_no_errors(body)
        # The answer reads the ERP again when its snapshot is older than the TTL on the walk's
        # clock (a receipt then comes in): compare it with the store as the answer left it.
        async with self.services.store.read() as uow:
            positions = {
                (p.sku, code_of[p.location_id]): p for p in await uow.inventory.positions(list(SKUS))
            }
            held = await uow.inventory.held(list(SKUS), self.services.clock())
            waiting = await uow.inventory.waiting(list(SKUS))
        for answer in body["data"]["availability"]:
            for row in answer["locations"]:
                sku, location_id, code = answer["sku"], row["location"]["id"], row["location"]["code"]
                position = positions.get((sku, code))
                if position is None or code.startswith("VN-"):  # a vendor's feed has its own freshness
                    continue
                raw = (
                    position.on_hand
                    - position.allocated
                    - held.get((sku, location_id), 0)
                    - per_sku.get((sku, location_id), safety[location_id])
                )
                expected = max(0, max(0, raw) - waiting.get((sku, location_id), 0))
                if row["availableToSell"] != expected:
                    return (
                        f"{sku} at {code}: availableToSell {row['availableToSell']}, by its "
                        f"definition {expected} (on hand {position.on_hand}, allocated {position.allocated}, "
                        f"held {held.get((sku, location_id), 0)}, safety "
                        f"{per_sku.get((sku, location_id), safety[location_id])}, waiting "
                        f"{waiting.get((sku, location_id), 0)})"
                    )
        return None
