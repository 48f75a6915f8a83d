"""A stateful stand-in for BigCommerce's REST API (`https://api.bigcommerce.com/stores/{hash}`).

Served below its mount, in BigCommerce's wire format: v2 orders (`GET|POST /v2/orders`,
`GET|PUT /v2/orders/{id}`, `/products`, `/shipping_addresses`, `GET|POST /shipments`) as bare
arrays with money as strings ("19.9900") and RFC 2822 dates, an empty list as `204 No Content`;
v3 `GET /v3/customers`, `GET /v3/catalog/variants`, `GET /v3/catalog/products`,
`PUT /v3/inventory/adjustments/absolute`, `GET /v3/inventory/locations` and `GET|POST /v3/hooks`
as `{data, meta: {pagination}}`. Auth is `X-Auth-Token` (the configured token, or any token when
none is). Each token has a fixed window of requests, 150 per 30 s by default (BigCommerce's
documented quota for Standard and Plus plans), reported in `X-Rate-Limit-*` headers and answered
with 429 once spent. `down = True` answers 503 to everything.

Orders created, updated or shipped are announced to registered hooks as BigCommerce does: a thin
callback (`{scope, store_id, data: {type, id}, hash, created_at, producer}`) carrying the hook's
custom headers. Every delivery is kept in `deliveries`, so a test can `redeliver` one.
"""

from __future__ import annotations

import copy
import dataclasses
import email.utils
import hashlib
import hmac
import json
import logging
import math
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ordergate.sandbox.ids import Ids
from ordergate.sandbox.seed import CATALOGUE, NETWORK

logger = logging.getLogger(__name__)

STORE_HASH = "ogsandbox"
STORE_ID = "1001"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 250
ADJUSTMENT_LIMIT = 2000
PRODUCT_ID_BASE = 110
VARIANT_ID_BASE = 200
FIRST_ORDER_ID = 100
TAX_RATE = Decimal("0.08")
FLAT_SHIPPING = Decimal("7.95")
FREE_SHIPPING_FROM = Decimal("75.00")
STATUS_LABELS = {
    0: "Incomplete",
    1: "Pending",
    2: "Shipped",
    3: "Partially Shipped",
    4: "Refunded",
    5: "Cancelled",
    6: "Declined",
    7: "Awaiting Payment",
    8: "Awaiting Pickup",
    9: "Awaiting Shipment",
    10: "Completed",
    11: "Awaiting Fulfillment",
    12: "Manual Verification Required",
    13: "Disputed",
    14: "Partially Refunded",
}
PROBLEM_TYPE = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"
TIME_ZONES = {
    "NJ": "America/New_York",
    "NY": "America/New_York",
    "GA": "America/New_York",
    "TX": "America/Chicago",
    "IL": "America/Chicago",
    "CO": "America/Denver",
    "AZ": "America/Phoenix",
    "CA": "America/Los_Angeles",
    "WA": "America/Los_Angeles",
}

ADDRESS_FIELDS = (
    "first_name",
    "last_name",
    "company",
    "street_1",
    "street_2",
    "city",
    "state",
    "zip",
    "country",
    "country_iso2",
    "phone",
    "email",
)

BIGCOMMERCE_LOCATION_IDS: dict[str, int] = {row[0]: number for number, row in enumerate(NETWORK, start=1)}
"""Our location code -> the sandbox's BigCommerce inventory location id (1 is the default)."""

# first, last, email, phone, company, group, street, city, state, zip: near the demo network.
DEMO_CUSTOMERS: list[tuple[str, str, str, str, str, int, str, str, str, str]] = [
    ("Ann", "Lee", "ann.lee@example.com", "212-555-0142", "", 0,
     "88 Greenwich St", "New York", "New York", "10006"),
    ("Marcus", "Johnson", "marcus.johnson@example.com", "201-555-0178", "Johnson & Co", 1,
     "301 Washington St", "Hoboken", "New Jersey", "07030"),
    ("Priya", "Patel", "priya.patel@example.com", "312-555-0119", "", 0,
     "2300 N Lincoln Ave", "Chicago", "Illinois", "60614"),
    ("Diego", "Ramirez", "diego.ramirez@example.com", "214-555-0163", "", 0,
     "3200 McKinney Ave", "Dallas", "Texas", "75204"),
    ("Emily", "Chen", "emily.chen@example.com", "206-555-0187", "", 0,
     "500 Westlake Ave N", "Seattle", "Washington", "98109"),
    ("James", "O'Connor", "james.oconnor@example.com", "404-555-0125", "", 0,
     "1050 N Highland Ave NE", "Atlanta", "Georgia", "30306"),
    ("Sofia", "Rossi", "sofia.rossi@example.com", "415-555-0191", "Rossi Design", 1,
     "3000 24th St", "San Francisco", "California", "94110"),
    ("Noah", "Williams", "noah.williams@example.com", "303-555-0136", "", 0,
     "1200 E 13th Ave", "Denver", "Colorado", "80218"),
    ("Grace", "Kim", "grace.kim@example.com", "626-555-0154", "", 0,
     "200 S Lake Ave", "Pasadena", "California", "91101"),
    ("Liam", "Murphy", "liam.murphy@example.com", "847-555-0172", "", 0,
     "1600 Sherman Ave", "Evanston", "Illinois", "60201"),
    ("Olivia", "Brown", "olivia.brown@example.com", "480-555-0108", "", 0,
     "7000 E Camelback Rd", "Scottsdale", "Arizona", "85251"),
    ("Ethan", "Davis", "ethan.davis@example.com", "817-555-0149", "", 0,
     "400 Main St", "Fort Worth", "Texas", "76102"),
]  # fmt: skip

# customer id (0: a guest, billed like customer 9), days ago, status, lines
DEMO_ORDERS: list[tuple[int, int, int, list[tuple[str, int]]]] = [
    (1, 12, 10, [("MUG-BLUE", 2), ("PLATE-DINNER", 4)]),
    (3, 11, 10, [("PAN-CAST-10", 1)]),
    (4, 9, 10, [("THROW-WOOL", 1), ("PILLOW-LINEN", 2)]),
    (5, 8, 10, [("KETTLE-STEEL", 1), ("TOWEL-LINEN-2", 1)]),
    (2, 6, 10, [("CHAIR-OAK", 4)]),
    (1, 4, 11, [("LAMP-DESK", 1)]),
    (7, 2, 11, [("BOWL-SET-4", 1), ("GLASS-TUMBLER-6", 1), ("CANDLE-CEDAR", 2)]),
    (0, 1, 11, [("SHEET-SET-QUEEN", 1)]),
]

Handler = Callable[[Request], Awaitable[Response]]


class BadRequest(Exception):
    """A request the sandbox refuses with `status`, in the error format of the API version asked."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Budget:
    allowed: bool
    quota: int
    left: int
    reset_ms: int


class FixedWindow:
    """At most `quota` requests per token in a window of `window` seconds that starts with the
    token's first request, as BigCommerce counts them."""

    def __init__(self, quota: int, window: float, clock: Callable[[], float]) -> None:
        self.quota = quota
        self.window = window
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}

    def hit(self, key: str) -> Budget:
        now = self._clock()
        started, used = self._windows.get(key, (now, 0))
        if now >= started + self.window:
            started, used = now, 0
        allowed = used < self.quota
        used += 1 if allowed else 0
        self._windows[key] = (started, used)
        reset_ms = max(1, math.ceil((started + self.window - now) * 1000))
        return Budget(allowed=allowed, quota=self.quota, left=self.quota - used, reset_ms=reset_ms)


@dataclass
class Product:
    id: int
    variant_id: int
    sku: str
    name: str
    price: Decimal


@dataclass
class Customer:
    id: int
    email: str
    first_name: str
    last_name: str
    phone: str
    company: str
    customer_group_id: int
    addresses: list[dict[str, Any]]
    created_at: float


@dataclass
class OrderLine:
    id: int
    product_id: int
    variant_id: int
    sku: str
    name: str
    quantity: int
    price: Decimal
    address_id: int
    quantity_shipped: int = 0
    quantity_refunded: int = 0


@dataclass
class Order:
    id: int
    customer_id: int
    status_id: int
    billing: dict[str, Any]
    shipping_addresses: list[dict[str, Any]]
    lines: list[OrderLine]
    created_at: float
    modified_at: float
    channel_id: int = 1
    external_source: str | None = None
    external_order_id: str = ""
    customer_message: str = ""
    staff_notes: str = ""
    shipped_at: float | None = None
    shipments: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[Decimal] = field(default_factory=list)  # each refund the merchant made, in turn
    coupon: Decimal = Decimal(0)  # a coupon's discount off the goods, before tax
    discount: Decimal = Decimal(0)  # the merchant's own discount off the goods (a manual order's)

    @property
    def subtotal(self) -> Decimal:
        return sum((line.price * line.quantity for line in self.lines), Decimal(0))

    @property
    def shipping(self) -> Decimal:
        return Decimal(0) if self.subtotal >= FREE_SHIPPING_FROM else FLAT_SHIPPING

    @property
    def tax(self) -> Decimal:
        """On the goods less their discounts, as BigCommerce taxes a discounted order."""
        return ((self.subtotal - self.coupon - self.discount) * TAX_RATE).quantize(Decimal("0.01"))

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.coupon - self.discount + self.shipping + self.tax

    @property
    def refunded(self) -> Decimal:
        return sum(self.refunds, Decimal(0))


@dataclass
class Hook:
    id: int
    scope: str
    destination: str
    headers: dict[str, str]
    is_active: bool
    created_at: int
    updated_at: int


@dataclass
class Delivery:
    """One webhook callback as it was sent (or tried); `status` is None when it never arrived."""

    hook_id: int
    url: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None


class BigCommerceSandbox:
    """A BigCommerce store's state and `.app`, the Starlette app that serves it."""

    def __init__(
        self,
        *,
        token: str | None = None,
        store_hash: str = STORE_HASH,
        store_id: str = STORE_ID,
        clock: Callable[[], float] = time.time,
        rate_limit: int = 150,
        rate_window: float = 30.0,
        max_page_size: int = MAX_PAGE_SIZE,
        webhook_client: httpx.AsyncClient | None = None,
        seed: bool = True,
    ) -> None:
        self.token = token
        self.store_hash = store_hash
        self.store_id = store_id
        self.clock = clock
        self.max_page_size = max_page_size
        self.webhook_client = webhook_client
        self._closes_client = webhook_client is None
        self.limiter = FixedWindow(rate_limit, rate_window, clock)
        self.down = False
        self._ids = Ids()
        self._seeded_at = clock()
        self.products: dict[int, Product] = {}
        self.customers: dict[int, Customer] = {}
        self.orders: dict[int, Order] = {}
        self.hooks: list[Hook] = []
        self.deliveries: list[Delivery] = []
        self.available: dict[tuple[str, int], int] = {}
        """(SKU, location id) -> the units last set through an absolute inventory adjustment."""
        for number, (sku, name, price, _returnable) in enumerate(CATALOGUE, start=1):
            product = Product(PRODUCT_ID_BASE + number, VARIANT_ID_BASE + number, sku, name, Decimal(price))
            self.products[product.id] = product
        if seed:
            self._seed()
        orders = "/v2/orders/{order_id:int}"
        self.app = Starlette(
            routes=[
                Route("/v2/orders", self._guard(self._list_orders), methods=["GET"]),
                Route("/v2/orders", self._guard(self._create_order), methods=["POST"]),
                Route(orders, self._guard(self._get_order), methods=["GET"]),
                Route(orders, self._guard(self._update_order), methods=["PUT"]),
                Route(f"{orders}/products", self._guard(self._list_order_products), methods=["GET"]),
                Route(
                    f"{orders}/shipping_addresses", self._guard(self._list_order_addresses), methods=["GET"]
                ),
                Route(
                    f"{orders}/shipping_addresses/{{address_id:int}}",
                    self._guard(self._update_order_address),
                    methods=["PUT"],
                ),
                Route(f"{orders}/shipments", self._guard(self._list_shipments), methods=["GET"]),
                Route(f"{orders}/shipments", self._guard(self._create_shipment), methods=["POST"]),
                Route("/v3/customers", self._guard(self._list_customers), methods=["GET"]),
                Route("/v3/catalog/variants", self._guard(self._list_variants), methods=["GET"]),
                Route("/v3/catalog/products", self._guard(self._list_products), methods=["GET"]),
                Route(
                    "/v3/inventory/adjustments/absolute", self._guard(self._set_inventory), methods=["PUT"]
                ),
                Route("/v3/inventory/locations", self._guard(self._list_locations), methods=["GET"]),
                Route("/v3/hooks", self._guard(self._list_hooks), methods=["GET"]),
                Route("/v3/hooks", self._guard(self._create_hook), methods=["POST"]),
                Route(
                    "/v3/orders/{order_id:int}/payment_actions/refunds",
                    self._guard(self._create_refund),
                    methods=["POST"],
                ),
            ]
        )

    # -- operator's side: what tests and demos change directly --------------------------------

    def add_product(self, sku: str, name: str, price: Decimal) -> Product:
        """A product the merchant lists (one variant), after the catalogue was seeded."""
        number = max(self.products) - PRODUCT_ID_BASE + 1
        product = Product(PRODUCT_ID_BASE + number, VARIANT_ID_BASE + number, sku, name, price)
        self.products[product.id] = product
        return product

    def product_for(self, sku: str) -> Product:
        for product in self.products.values():
            if product.sku == sku:
                return product
        raise KeyError(f"unknown SKU {sku!r}")

    def customer_by_email(self, address: str) -> Customer | None:
        wanted = address.strip().lower()
        return next((c for c in self.customers.values() if c.email.lower() == wanted), None)

    def order_record(self, order_id: int) -> dict[str, Any]:
        return self._order_record(self.orders[order_id])

    async def create_order(
        self,
        customer: int | str,
        lines: Sequence[tuple[str, int] | tuple[str, int, Decimal]],
        *,
        shipping_address: Mapping[str, Any] | None = None,
        status_id: int = 11,
        channel_id: int = 1,
        external_source: str | None = None,
        external_order_id: str = "",
        coupon: Decimal = Decimal(0),
    ) -> dict[str, Any]:
        """An order as a shopper's checkout makes it (status 11, Awaiting Fulfillment, unless told),
        announced as `store/order/created`. `customer` is a customer id or email; an unknown email
        places a guest order billed to `shipping_address`. A line is (SKU, quantity), or with a unit
        price of its own (a product option's surcharge, say); `coupon` is a discount off the
        goods the shopper's coupon gave."""
        known = (
            self.customers.get(customer) if isinstance(customer, int) else self.customer_by_email(customer)
        )
        if known is not None:
            billing = _billing_from(known)
        elif shipping_address is not None:
            billing = {
                **_address_fields(shipping_address),
                "email": str(customer) if isinstance(customer, str) else "",
            }
        else:
            raise KeyError(f"no customer {customer!r}, and no address to bill a guest")
        shipping = [_address_fields(shipping_address)] if shipping_address is not None else [dict(billing)]
        items = [
            (self.product_for(line[0]), line[1], line[2] if len(line) > 2 else None, None) for line in lines
        ]
        order = self._new_order(
            customer_id=known.id if known is not None else 0,
            billing=billing,
            shipping=shipping,
            items=items,
            status_id=status_id,
            channel_id=channel_id,
            external_source=external_source,
            external_order_id=external_order_id,
        )
        order.coupon = min(coupon, order.subtotal)
        await self._announce("store/order/created", order)
        return self._order_record(order)

    async def set_status(self, order_id: int, status_id: int) -> None:
        """Change an order's status as a merchant would in the control panel."""
        order = self.orders[order_id]
        previous = order.status_id
        order.status_id, order.modified_at = status_id, self.clock()
        await self._announce("store/order/updated", order)
        if previous != status_id:
            await self._announce("store/order/statusUpdated", order, previous=previous)

    async def refund(self, order_id: int, amount: Decimal, items: Sequence[tuple[str, int]] = ()) -> int:
        """Refund part or all of an order's payment as a merchant would in the control panel: the
        order's `refunded_amount` grows, its status becomes Refunded (4) once all of it is given
        back, else Partially Refunded (14), and `store/order/refund/created` is announced (then
        the status change). `items` are the (SKU, units) the refund is for, each counted on the
        order's products of that SKU (their `quantity_refunded`); without them the refund is of
        an amount alone. The refund's id."""
        order = self.orders[order_id]
        if amount <= 0 or order.refunded + amount > order.total:
            raise ValueError(
                f"cannot refund {amount} of order {order_id}: {order.total - order.refunded} left"
            )
        wanted = Counter[str]()
        for sku, units in items:
            wanted[sku] += units
        for sku, units in wanted.items():
            left = sum(line.quantity - line.quantity_refunded for line in order.lines if line.sku == sku)
            if units <= 0 or units > left:
                raise ValueError(f"cannot refund {units} of {sku} on order {order_id}: {left} left")
        for sku, units in wanted.items():
            for line in (line for line in order.lines if line.sku == sku):
                taken = min(units, line.quantity - line.quantity_refunded)
                line.quantity_refunded += taken
                units -= taken
        order.refunds.append(amount)
        previous = order.status_id
        order.status_id = 4 if order.refunded == order.total else 14
        order.modified_at = self.clock()
        refund_id = sum(len(o.refunds) for o in self.orders.values())
        await self._deliver(
            "store/order/refund/created",
            {"type": "order", "id": order.id, "refund": {"refund_id": refund_id}},
        )
        if previous != order.status_id:
            await self._announce("store/order/statusUpdated", order, previous=previous)
        return refund_id

    async def correct_address(
        self, order_id: int, address_id: int, fields: Mapping[str, str]
    ) -> dict[str, Any]:
        """Change a shipping address of an order as a merchant would (the fields given replace the
        address's), announced as `store/order/updated`; the address as the API answers it."""
        order = self.orders[order_id]
        address = next(a for a in order.shipping_addresses if a.get("id") == address_id)
        address.update({name: value for name, value in fields.items() if name in ADDRESS_FIELDS})
        order.modified_at = self.clock()
        await self._announce("store/order/updated", order)
        return self._address_record(order, address)

    def register_hook(
        self,
        scope: str,
        destination: str,
        headers: Mapping[str, str] | None = None,
        *,
        is_active: bool = True,
    ) -> Hook:
        now = int(self.clock())
        hook = Hook(
            id=self._ids.take("hook", 1),
            scope=scope,
            destination=destination,
            headers=dict(headers or {}),
            is_active=is_active,
            created_at=now,
            updated_at=now,
        )
        self.hooks.append(hook)
        return hook

    async def redeliver(self, delivery: Delivery | None = None) -> Delivery:
        """Send a delivery again, byte for byte (the last one unless told), as BigCommerce retries."""
        sent = delivery or self.deliveries[-1]
        again = Delivery(sent.hook_id, sent.url, dict(sent.headers), sent.body)
        await self._send(again)
        return again

    def to_state(self) -> dict[str, Any]:
        """Everything a restart must keep, as JSON-able data: the id counters (so no order or
        shipment id is handed out twice), customers, orders with their lines and shipments, and
        the inventory levels set. The catalogue is fixed; hooks are not kept (whoever registered
        them does again), nor `deliveries`, the operator's record of this run."""
        return {
            "ids": dict(self._ids.next),
            "seeded_at": self._seeded_at,
            "customers": [_customer_state(customer) for customer in self.customers.values()],
            "orders": [_order_state(order) for order in self.orders.values()],
            "available": [[sku, location, units] for (sku, location), units in self.available.items()],
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """The state `to_state` gave; raises (changing nothing) on state of another shape."""
        ids = {str(kind): int(value) for kind, value in state["ids"].items()}
        seeded_at = float(state["seeded_at"])
        customers = [_customer_from(wire) for wire in state["customers"]]
        orders = [_order_from(wire) for wire in state["orders"]]
        available = {(str(sku), int(location)): int(units) for sku, location, units in state["available"]}
        self._ids, self._seeded_at = Ids(ids), seeded_at
        self.customers = {customer.id: customer for customer in customers}
        self.orders = {order.id: order for order in orders}
        self.available = available

    async def aclose(self) -> None:
        """Closes `webhook_client`, unless it was passed to the constructor (then its owner does)."""
        if self._closes_client and self.webhook_client is not None:
            await self.webhook_client.aclose()
            self.webhook_client = None

    def _seed(self) -> None:
        for first, last, mail, phone, company, group, street, city, state, postal in DEMO_CUSTOMERS:
            customer_id = self._ids.take("customer", 1)
            address = {
                "id": self._ids.take("customer_address", 1),
                "customer_id": customer_id,
                "first_name": first,
                "last_name": last,
                "company": company,
                "address1": street,
                "address2": "",
                "city": city,
                "state_or_province": state,
                "postal_code": postal,
                "country_code": "US",
                "country": "United States",
                "phone": phone,
                "address_type": "commercial" if company else "residential",
            }
            self.customers[customer_id] = Customer(
                customer_id, mail, first, last, phone, company, group, [address], self._seeded_at - 90 * 86400
            )
        for customer_id, days_ago, status_id, lines in DEMO_ORDERS:
            billing = _billing_from(self.customers[customer_id or 9])
            if not customer_id:
                billing["email"] = "guest.shopper@example.com"
            created = self._seeded_at - days_ago * 86400
            order = self._new_order(
                customer_id=customer_id,
                billing=billing,
                shipping=[dict(billing)],
                items=[(self.product_for(sku), quantity, None, None) for sku, quantity in lines],
                status_id=status_id,
                created_at=created,
            )
            if status_id == 10:
                order.modified_at = order.shipped_at = created + 86400
                for line in order.lines:
                    line.quantity_shipped = line.quantity

    def _new_order(
        self,
        *,
        customer_id: int,
        billing: dict[str, Any],
        shipping: list[dict[str, Any]],
        items: Sequence[tuple[Product | None, int, Decimal | None, tuple[str, str] | None]],
        status_id: int,
        channel_id: int = 1,
        external_source: str | None = None,
        external_order_id: str = "",
        created_at: float | None = None,
        customer_message: str = "",
    ) -> Order:
        """`items` are (catalogue product, quantity, price override, (name, sku) of a custom product)."""
        order_id = self._ids.take("order", FIRST_ORDER_ID)
        addresses = [{**address, "id": self._ids.take("order_address", 1)} for address in shipping]
        lines = [
            OrderLine(
                id=self._ids.take("order_product", 1),
                product_id=product.id if product else 0,
                variant_id=product.variant_id if product else 0,
                sku=product.sku if product else (custom or ("", ""))[1],
                name=product.name if product else (custom or ("", ""))[0],
                quantity=quantity,
                price=price if price is not None else (product.price if product else Decimal(0)),
                address_id=addresses[0]["id"] if addresses else 0,
            )
            for product, quantity, price, custom in items
        ]
        now = self.clock() if created_at is None else created_at
        order = Order(
            id=order_id,
            customer_id=customer_id,
            status_id=status_id,
            billing=billing,
            shipping_addresses=addresses,
            lines=lines,
            created_at=now,
            modified_at=now,
            channel_id=channel_id,
            external_source=external_source,
            external_order_id=external_order_id,
            customer_message=customer_message,
        )
        self.orders[order_id] = order
        return order

    # -- the wire: auth, rate limit, paging -----------------------------------------------------

    def _guard(self, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            v2 = "/v2/" in request.url.path
            if self.down:
                return _error(v2, 503, "Service Unavailable")
            presented = request.headers.get("x-auth-token", "")
            wrong = self.token is not None and not hmac.compare_digest(
                presented.encode(), self.token.encode()
            )
            if not presented or wrong:
                return _error(v2, 401, "You were not authorised to access this resource")
            budget = self.limiter.hit(presented)
            headers = {
                "X-Rate-Limit-Requests-Left": str(budget.left),
                "X-Rate-Limit-Requests-Quota": str(budget.quota),
                "X-Rate-Limit-Time-Window-Ms": str(int(self.limiter.window * 1000)),
                "X-Rate-Limit-Time-Reset-Ms": str(budget.reset_ms),
            }
            if not budget.allowed:
                response = _error(v2, 429, "Too many requests")
            else:
                try:
                    response = await handler(request)
                except BadRequest as error:
                    response = _error(v2, error.status, str(error))
            response.headers.update(headers)
            return response

        return endpoint

    def _limit(self, request: Request) -> tuple[int, int]:
        limit = min(max(_int_param(request, "limit") or DEFAULT_PAGE_SIZE, 1), self.max_page_size)
        return max(_int_param(request, "page") or 1, 1), limit

    def _v2_page(self, request: Request, records: Sequence[dict[str, Any]]) -> Response:
        page, limit = self._limit(request)
        chosen = list(records[(page - 1) * limit : page * limit])
        # BigCommerce answers an empty v2 list with no content at all.
        return JSONResponse(chosen) if chosen else Response(status_code=204)

    def _v3_page(self, request: Request, records: Sequence[dict[str, Any]]) -> Response:
        page, limit = self._limit(request)
        chosen = list(records[(page - 1) * limit : page * limit])
        total_pages = max(1, math.ceil(len(records) / limit))
        links = {"current": f"?page={page}&limit={limit}"}
        if page > 1:
            links["previous"] = f"?page={page - 1}&limit={limit}"
        if page < total_pages:
            links["next"] = f"?page={page + 1}&limit={limit}"
        pagination = {
            "total": len(records),
            "count": len(chosen),
            "per_page": limit,
            "current_page": page,
            "total_pages": total_pages,
            "links": links,
        }
        return JSONResponse({"data": chosen, "meta": {"pagination": pagination}})

    def _order_of(self, request: Request) -> Order:
        order = self.orders.get(request.path_params["order_id"])
        if order is None:
            raise BadRequest("The requested resource was not found.", 404)
        return order

    # -- v2 orders --------------------------------------------------------------------------------

    async def _list_orders(self, request: Request) -> Response:
        query = request.query_params
        bounds = {name: _date_param(request, name) for name in ("min_date_modified", "max_date_modified")}
        created = {name: _date_param(request, name) for name in ("min_date_created", "max_date_created")}
        customer_id, status_id = _int_param(request, "customer_id"), _int_param(request, "status_id")
        min_id, max_id = _int_param(request, "min_id"), _int_param(request, "max_id")
        email_filter = query.get("email", "").lower()
        orders = [
            order
            for order in self.orders.values()
            if _within(order.modified_at, bounds["min_date_modified"], bounds["max_date_modified"])
            and _within(order.created_at, created["min_date_created"], created["max_date_created"])
            and customer_id in (None, order.customer_id)
            and status_id in (None, order.status_id)
            and (min_id is None or order.id >= min_id)
            and (max_id is None or order.id <= max_id)
            and email_filter in ("", str(order.billing.get("email", "")).lower())
        ]
        key, _, direction = query.get("sort", "id").partition(":")
        sorters: dict[str, Callable[[Order], Any]] = {
            "id": lambda order: order.id,
            "date_modified": lambda order: (order.modified_at, order.id),
            "date_created": lambda order: (order.created_at, order.id),
            "status_id": lambda order: (order.status_id, order.id),
            "customer_id": lambda order: (order.customer_id, order.id),
        }
        if key not in sorters or direction not in ("", "asc", "desc"):
            raise BadRequest(f"cannot sort by {query.get('sort')!r}")
        orders.sort(key=sorters[key], reverse=direction == "desc")
        return self._v2_page(request, [self._order_record(order) for order in orders])

    async def _get_order(self, request: Request) -> Response:
        return JSONResponse(self._order_record(self._order_of(request)))

    async def _list_order_products(self, request: Request) -> Response:
        order = self._order_of(request)
        return self._v2_page(request, [self._line_record(order, line) for line in order.lines])

    async def _list_order_addresses(self, request: Request) -> Response:
        order = self._order_of(request)
        return self._v2_page(request, [self._address_record(order, a) for a in order.shipping_addresses])

    async def _update_order_address(self, request: Request) -> Response:
        """`PUT /v2/orders/{id}/shipping_addresses/{id}`: the merchant corrects where an order
        goes; the fields given replace the address's, and `store/order/updated` is announced."""
        order = self._order_of(request)
        address_id = request.path_params["address_id"]
        if not any(a.get("id") == address_id for a in order.shipping_addresses):
            raise BadRequest("The requested resource was not found.", 404)
        body = await _json_object(request)
        fields = {name: body[name] for name in ADDRESS_FIELDS if name in body}
        if not all(isinstance(value, str) for value in fields.values()):
            raise BadRequest("address fields are text", 422)
        return JSONResponse(await self.correct_address(order.id, address_id, fields))

    async def _list_shipments(self, request: Request) -> Response:
        return self._v2_page(request, self._order_of(request).shipments)

    async def _create_order(self, request: Request) -> Response:
        body = await _json_object(request)
        billing = body.get("billing_address")
        if not isinstance(billing, dict) or not billing.get("zip"):
            raise BadRequest("billing_address with a zip is required")
        products = body.get("products")
        if not isinstance(products, list) or not products:
            raise BadRequest("products must list at least one product")
        customer_id = body.get("customer_id") or 0
        if customer_id and customer_id not in self.customers:
            raise BadRequest("customer_id does not name a customer")
        shipping = body.get("shipping_addresses") or [billing]
        if not isinstance(shipping, list) or not all(isinstance(a, dict) for a in shipping):
            raise BadRequest("shipping_addresses must be a list of addresses")
        discount = _amount(body.get("discount_amount", 0))
        if discount is None or discount < 0:
            raise BadRequest("discount_amount must be a number of cents, 0 or more")
        order = self._new_order(
            customer_id=int(customer_id),
            billing=_address_fields(billing),
            shipping=[_address_fields(address) for address in shipping],
            items=[self._item(product) for product in products],
            status_id=_status(body.get("status_id", 1)),
            channel_id=int(body.get("channel_id") or 1),
            external_source=body.get("external_source"),
            external_order_id=str(body.get("external_order_id") or ""),
            customer_message=str(body.get("customer_message") or ""),
        )
        order.discount = min(discount, order.subtotal)
        await self._announce("store/order/created", order)
        return JSONResponse(self._order_record(order))

    def _item(self, line: Any) -> tuple[Product | None, int, Decimal | None, tuple[str, str] | None]:
        if not isinstance(line, dict) or not isinstance(line.get("quantity"), int) or line["quantity"] < 1:
            raise BadRequest("each product needs a positive integer quantity")
        price = line.get("price_ex_tax")
        override = Decimal(str(price)) if isinstance(price, int | float) else None
        product_id = line.get("product_id")
        if product_id is not None:
            product = self.products.get(product_id)
            if product is None or line.get("variant_id") not in (None, product.variant_id):
                raise BadRequest(
                    f"product {product_id} (variant {line.get('variant_id')}) is not in the catalogue"
                )
            return product, line["quantity"], override, None
        if not isinstance(line.get("name"), str) or override is None:
            raise BadRequest("a custom product needs a name, price_ex_tax and price_inc_tax")
        return None, line["quantity"], override, (line["name"], str(line.get("sku") or ""))

    async def _update_order(self, request: Request) -> Response:
        order = self._order_of(request)
        body = await _json_object(request)
        previous = order.status_id
        if "status_id" in body:
            order.status_id = _status(body["status_id"])
        for name in ("customer_message", "staff_notes"):
            if isinstance(body.get(name), str):
                setattr(order, name, body[name])
        order.modified_at = self.clock()
        await self._announce("store/order/updated", order)
        if order.status_id != previous:
            await self._announce("store/order/statusUpdated", order, previous=previous)
        return JSONResponse(self._order_record(order))

    async def _create_shipment(self, request: Request) -> Response:
        order = self._order_of(request)
        body = await _json_object(request)
        address = next((a for a in order.shipping_addresses if a["id"] == body.get("order_address_id")), None)
        if address is None:
            raise BadRequest("order_address_id does not name a shipping address of the order")
        items = body.get("items")
        if not isinstance(items, list) or not items:
            raise BadRequest("items must list at least one order product")
        lines = {line.id: line for line in order.lines}
        shipped: list[tuple[OrderLine, int]] = []
        for item in items:
            line = lines.get(item.get("order_product_id", 0)) if isinstance(item, dict) else None
            quantity = item.get("quantity") if isinstance(item, dict) else None
            if line is None or not isinstance(quantity, int) or quantity < 1:
                raise BadRequest("each item needs an order_product_id of the order and a positive quantity")
            if quantity > line.quantity - line.quantity_shipped:
                raise BadRequest(f"order product {line.id} has fewer than {quantity} units left to ship")
            shipped.append((line, quantity))
        for line, quantity in shipped:
            line.quantity_shipped += quantity
        provider = str(body.get("shipping_provider") or "")
        carrier = str(body.get("tracking_carrier") or "")
        tracking = str(body.get("tracking_number") or "")
        now = self.clock()
        shipment = {
            "id": self._ids.take("shipment", 1),
            "order_id": order.id,
            "customer_id": order.customer_id,
            "order_address_id": address["id"],
            "date_created": _rfc2822(now),
            "tracking_number": tracking,
            "merchant_shipping_cost": "0.0000",
            "shipping_method": str(body.get("shipping_method") or address.get("shipping_method") or ""),
            "shipping_provider": provider,
            "tracking_carrier": carrier,
            "tracking_link": str(body.get("tracking_link") or ""),
            "comments": str(body.get("comments") or ""),
            "billing_address": _address_fields(order.billing),
            "shipping_address": _address_fields(address),
            "items": [
                {"order_product_id": line.id, "product_id": line.product_id, "quantity": quantity}
                for line, quantity in shipped
            ],
            "shipping_provider_display_name": provider.upper() if provider else "",
            "generated_tracking_link": _tracking_link(provider or carrier, tracking),
        }
        order.shipments.append(shipment)
        previous = order.status_id
        everything = all(line.quantity_shipped >= line.quantity for line in order.lines)
        order.status_id = 2 if everything else 3
        order.modified_at = now
        if everything:
            order.shipped_at = now
        await self._announce_shipment(shipment)
        if order.status_id != previous:
            await self._announce("store/order/statusUpdated", order, previous=previous)
        return JSONResponse(shipment, status_code=201)

    # -- v3 ------------------------------------------------------------------------------------------

    async def _list_customers(self, request: Request) -> Response:
        ids = {int(part) for part in _list_param(request, "id:in") if part.isdigit()}
        emails = {part.lower() for part in _list_param(request, "email:in")}
        names = [part.lower() for part in _list_param(request, "name:like")]
        with_addresses = "addresses" in _list_param(request, "include")
        records = [
            self._customer_record(customer, with_addresses)
            for customer in sorted(self.customers.values(), key=lambda customer: customer.id)
            if (not ids or customer.id in ids)
            and (not emails or customer.email.lower() in emails)
            and (not names or any(n in f"{customer.first_name} {customer.last_name}".lower() for n in names))
        ]
        return self._v3_page(request, records)

    async def _list_variants(self, request: Request) -> Response:
        sku = request.query_params.get("sku")
        variant_id = _int_param(request, "id")
        product_ids = {int(part) for part in _list_param(request, "product_id:in") if part.isdigit()}
        records = [
            self._variant_record(product)
            for product in self.products.values()
            if sku in (None, product.sku)
            and variant_id in (None, product.variant_id)
            and (not product_ids or product.id in product_ids)
        ]
        return self._v3_page(request, records)

    async def _list_products(self, request: Request) -> Response:
        ids = {int(part) for part in _list_param(request, "id:in") if part.isdigit()}
        skus = set(_list_param(request, "sku:in"))
        fields = set(_list_param(request, "include_fields"))
        records = []
        for product in self.products.values():
            if (ids and product.id not in ids) or (skus and product.sku not in skus):
                continue
            record = self._product_record(product)
            if fields:
                record = {name: value for name, value in record.items() if name == "id" or name in fields}
            records.append(record)
        return self._v3_page(request, records)

    async def _set_inventory(self, request: Request) -> Response:
        body = await _json_object(request)
        items = body.get("items")
        if not isinstance(items, list) or not items:
            raise BadRequest("items must list at least one adjustment", 422)
        if len(items) > ADJUSTMENT_LIMIT:
            raise BadRequest(f"at most {ADJUSTMENT_LIMIT} items per request", 422)
        levels: dict[tuple[str, int], int] = {}
        for item in items:
            if not isinstance(item, dict):
                raise BadRequest("each item must be an object", 422)
            product = self._adjusted(item)
            location_id, quantity = item.get("location_id"), item.get("quantity")
            if not isinstance(location_id, int) or location_id not in BIGCOMMERCE_LOCATION_IDS.values():
                raise BadRequest(f"location {location_id} does not exist", 422)
            if not isinstance(quantity, int) or quantity < 0:
                raise BadRequest("quantity must be a whole number of units, not below 0", 422)
            levels[(product.sku, location_id)] = quantity
        self.available.update(levels)
        return JSONResponse({"transaction_id": str(uuid.UUID(int=self._ids.take("transaction", 1)))})

    def _adjusted(self, item: dict[str, Any]) -> Product:
        keys = [name for name in ("sku", "variant_id", "product_id") if name in item]
        if len(keys) != 1:
            raise BadRequest("each item names exactly one of sku, variant_id or product_id", 422)
        key = keys[0]
        for product in self.products.values():
            if (key, item[key]) in (
                ("sku", product.sku),
                ("variant_id", product.variant_id),
                ("product_id", product.id),
            ):
                return product
        raise BadRequest(f"no inventory item with {key} {item[key]!r}", 422)

    async def _list_locations(self, request: Request) -> Response:
        wanted = _int_param(request, "location_id:in")
        records = [
            self._location_record(number, row)
            for number, row in enumerate(NETWORK, start=1)
            if wanted in (None, number)
        ]
        return self._v3_page(request, records)

    async def _list_hooks(self, request: Request) -> Response:
        query = request.query_params
        records = [
            self._hook_record(hook)
            for hook in self.hooks
            if query.get("scope") in (None, hook.scope)
            and query.get("destination") in (None, hook.destination)
            and query.get("is_active") in (None, _flag(hook.is_active))
        ]
        return self._v3_page(request, records)

    async def _create_hook(self, request: Request) -> Response:
        body = await _json_object(request)
        scope, destination, headers = body.get("scope"), body.get("destination"), body.get("headers")
        if not isinstance(scope, str) or not scope.startswith("store/"):
            raise BadRequest("scope must be a store/... scope", 422)
        if not isinstance(destination, str) or not destination.startswith("https://"):
            raise BadRequest("destination must be an https:// URL on port 443", 422)
        if headers is not None and (
            not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values())
        ):
            raise BadRequest("headers must map names to strings", 422)
        hook = self.register_hook(scope, destination, headers, is_active=body.get("is_active") is not False)
        return JSONResponse({"data": self._hook_record(hook), "meta": {}})

    async def _create_refund(self, request: Request) -> Response:
        """`POST /v3/orders/{id}/payment_actions/refunds`: the merchant refunds the sum of the
        `payments`' amounts, as `refund` does, for the units of its PRODUCT items (each an order
        product and a quantity); its other items (shipping, the order's own amount) are money."""
        order = self._order_of(request)
        body = await _json_object(request)
        items, payments = body.get("items"), body.get("payments")
        if not isinstance(items, list) or not isinstance(payments, list) or not payments:
            raise BadRequest("items and payments are required", 422)
        amounts = [payment.get("amount") if isinstance(payment, dict) else None for payment in payments]
        if not all(isinstance(a, int | float) and not isinstance(a, bool) for a in amounts):
            raise BadRequest("each payment needs an amount", 422)
        parts = [Decimal(str(amount)) for amount in amounts]
        if any(part != part.quantize(Decimal("0.01")) or part <= 0 for part in parts):
            raise BadRequest("each payment's amount is a positive number of cents", 422)
        total = sum(parts, Decimal(0))
        products = {line.id: line.sku for line in order.lines}
        units: list[tuple[str, int]] = []
        for item in items:
            if not isinstance(item, dict) or item.get("item_type") != "PRODUCT":
                continue  # shipping, handling, the order's own amount: money, not units
            item_id, quantity = item.get("item_id"), item.get("quantity")
            if not isinstance(item_id, int) or item_id not in products:
                raise BadRequest(f"order {order.id} has no product {item_id!r}", 422)
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
                raise BadRequest("each product item needs a positive whole quantity", 422)
            units.append((products[item_id], quantity))
        try:
            refund_id = await self.refund(order.id, total, units)
        except ValueError as refused:
            raise BadRequest(str(refused), 422) from None
        created = datetime.fromtimestamp(self.clock(), UTC).isoformat().replace("+00:00", "Z")
        record = {
            "id": refund_id,
            "order_id": order.id,
            "user_id": 0,
            "created": created,
            "reason": str(body.get("reason", "")),
            "total_amount": float(total),
            "total_tax": 0.0,
            "uses_merchant_override_values": False,
            "items": [],
            "payments": [
                {
                    "id": refund_id * 10 + number,
                    "provider_id": str(payment.get("provider_id", "")),
                    "amount": float(part),
                    "offline": bool(payment.get("offline", False)),
                    "is_declined": False,
                    "declined_message": "",
                }
                for number, (payment, part) in enumerate(zip(payments, parts, strict=True))
            ],
        }
        return JSONResponse({"data": record, "meta": {}}, status_code=201)

    # -- webhooks out ----------------------------------------------------------------------------

    async def _announce(self, scope: str, order: Order, *, previous: int | None = None) -> None:
        data: dict[str, Any] = {"type": "order", "id": order.id}
        if previous is not None:
            data["status"] = {"previous_status_id": previous, "new_status_id": order.status_id}
        await self._deliver(scope, data)

    async def _announce_shipment(self, shipment: dict[str, Any]) -> None:
        await self._deliver(
            "store/shipment/created",
            {"type": "shipment", "id": shipment["id"], "orderId": shipment["order_id"]},
        )

    async def _deliver(self, scope: str, data: dict[str, Any]) -> None:
        for hook in [hook for hook in self.hooks if hook.is_active and _covers(hook.scope, scope)]:
            payload = {
                "scope": scope,
                "store_id": self.store_id,
                "data": data,
                "hash": hashlib.sha1(json.dumps(data, separators=(",", ":")).encode()).hexdigest(),  # noqa: S324
                "created_at": int(self.clock()),
                "producer": f"stores/{self.store_hash}",
            }
            body = json.dumps(payload, separators=(",", ":")).encode()
            headers = {**hook.headers, "Content-Type": "application/json"}
            delivery = Delivery(hook.id, hook.destination, headers, body)
            await self._send(delivery)

    async def _send(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        if self.webhook_client is None:
            self.webhook_client = httpx.AsyncClient(timeout=5.0)
        try:
            response = await self.webhook_client.post(
                delivery.url, content=delivery.body, headers=delivery.headers
            )
            delivery.status = response.status_code
            if response.status_code >= 300:
                logger.warning(
                    "bigcommerce sandbox: webhook to %s answered %s", delivery.url, response.status_code
                )
        except Exception:
            logger.warning("bigcommerce sandbox: webhook to %s failed", delivery.url, exc_info=True)

    # -- records in BigCommerce's wire format ------------------------------------------------------

    def _order_record(self, order: Order) -> dict[str, Any]:
        subtotal, shipping, tax = order.subtotal, order.shipping, order.tax
        base = f"/v2/orders/{order.id}"
        return {
            "id": order.id,
            "customer_id": order.customer_id,
            "date_created": _rfc2822(order.created_at),
            "date_modified": _rfc2822(order.modified_at),
            "date_shipped": _rfc2822(order.shipped_at) if order.shipped_at is not None else "",
            "status_id": order.status_id,
            "status": STATUS_LABELS.get(order.status_id, "Unknown"),
            "subtotal_ex_tax": _money(subtotal),
            "subtotal_inc_tax": _money(subtotal + tax),
            "subtotal_tax": _money(tax),
            "base_shipping_cost": _money(shipping),
            "shipping_cost_ex_tax": _money(shipping),
            "shipping_cost_inc_tax": _money(shipping),
            "shipping_cost_tax": _money(0),
            "shipping_cost_tax_class_id": 2,
            "base_handling_cost": _money(0),
            "handling_cost_ex_tax": _money(0),
            "handling_cost_inc_tax": _money(0),
            "handling_cost_tax": _money(0),
            "handling_cost_tax_class_id": 2,
            "base_wrapping_cost": _money(0),
            "wrapping_cost_ex_tax": _money(0),
            "wrapping_cost_inc_tax": _money(0),
            "wrapping_cost_tax": _money(0),
            "wrapping_cost_tax_class_id": 3,
            "total_ex_tax": _money(subtotal - order.coupon - order.discount + shipping),
            "total_inc_tax": _money(order.total),
            "total_tax": _money(tax),
            "items_total": sum(line.quantity for line in order.lines),
            "items_shipped": sum(line.quantity_shipped for line in order.lines),
            "payment_method": "Credit Card",
            "payment_provider_id": "",
            "payment_status": (
                "captured"
                if not order.refunds
                else "refunded"
                if order.refunded == order.total
                else "partially refunded"
            ),
            "refunded_amount": _money(order.refunded),
            "order_is_digital": False,
            "store_credit_amount": _money(0),
            "gift_certificate_amount": _money(0),
            "ip_address": "",
            "ip_address_v6": "",
            "geoip_country": "United States",
            "geoip_country_iso2": "US",
            "currency_id": 1,
            "currency_code": "USD",
            "currency_exchange_rate": "1.0000000000",
            "default_currency_id": 1,
            "default_currency_code": "USD",
            "store_default_currency_code": "USD",
            "store_default_to_transactional_exchange_rate": "1.0000000000",
            "staff_notes": order.staff_notes,
            "customer_message": order.customer_message,
            "discount_amount": _money(order.discount),
            "coupon_discount": _money(order.coupon),
            "shipping_address_count": len(order.shipping_addresses),
            "is_deleted": False,
            "ebay_order_id": "0",
            "cart_id": "",
            "billing_address": {**order.billing, "form_fields": []},
            "is_email_opt_in": False,
            "order_source": "external" if order.external_source else "www",
            "channel_id": order.channel_id,
            "external_source": order.external_source,
            "external_id": None,
            "external_merchant_id": None,
            "external_order_id": order.external_order_id,
            "tax_provider_id": "BasicTaxProvider",
            "customer_locale": "en",
            "is_tax_inclusive_pricing": False,
            "products": {"url": f"{base}/products", "resource": f"{base}/products"},
            "shipping_addresses": {
                "url": f"{base}/shipping_addresses",
                "resource": f"{base}/shipping_addresses",
            },
            "coupons": {"url": f"{base}/coupons", "resource": f"{base}/coupons"},
        }

    def _line_record(self, order: Order, line: OrderLine) -> dict[str, Any]:
        tax = (line.price * TAX_RATE).quantize(Decimal("0.0001"))
        total = line.price * line.quantity
        return {
            "id": line.id,
            "order_id": order.id,
            "product_id": line.product_id,
            "variant_id": line.variant_id,
            "order_address_id": line.address_id,
            "name": line.name,
            "name_customer": line.name,
            "name_merchant": line.name,
            "sku": line.sku,
            "upc": "",
            "type": "physical",
            "base_price": _money(line.price),
            "price_ex_tax": _money(line.price),
            "price_inc_tax": _money(line.price + tax),
            "price_tax": _money(tax),
            "base_total": _money(total),
            "total_ex_tax": _money(total),
            "total_inc_tax": _money(total + tax * line.quantity),
            "total_tax": _money(tax * line.quantity),
            "discounted_total_inc_tax": _money(total + tax * line.quantity),
            "weight": "1.0000",
            "width": "0.0000",
            "height": "0.0000",
            "depth": "0.0000",
            "quantity": line.quantity,
            "base_cost_price": _money(0),
            "cost_price_inc_tax": _money(0),
            "cost_price_ex_tax": _money(0),
            "cost_price_tax": _money(0),
            "is_refunded": line.quantity_refunded >= line.quantity,
            "quantity_refunded": line.quantity_refunded,
            "refund_amount": _money(0),
            "return_id": 0,
            "wrapping_id": 0,
            "wrapping_name": None,
            "base_wrapping_cost": _money(0),
            "wrapping_cost_ex_tax": _money(0),
            "wrapping_cost_inc_tax": _money(0),
            "wrapping_cost_tax": _money(0),
            "wrapping_message": "",
            "quantity_shipped": line.quantity_shipped,
            "event_name": None,
            "event_date": None,
            "fixed_shipping_cost": _money(0),
            "ebay_item_id": "",
            "ebay_transaction_id": "",
            "option_set_id": None,
            "parent_order_product_id": None,
            "is_bundled_product": False,
            "bin_picking_number": "",
            "external_id": None,
            "brand": "",
            "applied_discounts": [],
            "product_options": [],
            "configurable_fields": [],
            "gift_certificate_id": None,
        }

    def _address_record(self, order: Order, address: dict[str, Any]) -> dict[str, Any]:
        shipping = order.shipping if address is order.shipping_addresses[0] else Decimal(0)
        lines = [line for line in order.lines if line.address_id == address["id"]]
        base = f"/v2/orders/{order.id}/shipping_addresses/{address['id']}"
        return {
            **_address_fields(address),
            "id": address["id"],
            "order_id": order.id,
            "items_total": sum(line.quantity for line in lines),
            "items_shipped": sum(line.quantity_shipped for line in lines),
            "shipping_method": "Flat Rate" if shipping else "Free Shipping",
            "base_cost": _money(shipping),
            "cost_ex_tax": _money(shipping),
            "cost_inc_tax": _money(shipping),
            "cost_tax": _money(0),
            "cost_tax_class_id": 2,
            "base_handling_cost": _money(0),
            "handling_cost_ex_tax": _money(0),
            "handling_cost_inc_tax": _money(0),
            "handling_cost_tax": _money(0),
            "handling_cost_tax_class_id": 2,
            "shipping_zone_id": 1,
            "shipping_zone_name": "United States",
            "form_fields": [],
            "shipping_quotes": {"url": f"{base}/shipping_quotes", "resource": f"{base}/shipping_quotes"},
        }

    def _customer_record(self, customer: Customer, with_addresses: bool) -> dict[str, Any]:
        created = _iso(customer.created_at)
        record: dict[str, Any] = {
            "id": customer.id,
            "email": customer.email,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "company": customer.company,
            "phone": customer.phone,
            "registration_ip_address": "",
            "notes": "",
            "tax_exempt_category": "",
            "customer_group_id": customer.customer_group_id,
            "date_created": created,
            "date_modified": created,
            "address_count": len(customer.addresses),
            "attribute_count": 0,
            "authentication": {"force_password_reset": False},
            "accepts_product_review_abandoned_cart_emails": False,
            "origin_channel_id": 1,
        }
        if with_addresses:
            record["addresses"] = [dict(address) for address in customer.addresses]
        return record

    def _variant_record(self, product: Product) -> dict[str, Any]:
        price = float(product.price)
        return {
            "id": product.variant_id,
            "product_id": product.id,
            "sku": product.sku,
            "sku_id": product.variant_id,
            "price": price,
            "calculated_price": price,
            "sale_price": 0,
            "retail_price": 0,
            "cost_price": 0,
            "weight": 1.0,
            "width": 0,
            "height": 0,
            "depth": 0,
            "is_free_shipping": False,
            "fixed_cost_shipping_price": 0,
            "purchasing_disabled": False,
            "purchasing_disabled_message": "",
            "upc": "",
            "inventory_level": sum(units for (sku, _), units in self.available.items() if sku == product.sku),
            "inventory_warning_level": 0,
            "bin_picking_number": "",
            "option_values": [],
        }

    def _product_record(self, product: Product) -> dict[str, Any]:
        return {
            "id": product.id,
            "name": product.name,
            "type": "physical",
            "sku": product.sku,
            "price": float(product.price),
            "calculated_price": float(product.price),
            "weight": 1.0,
            "is_visible": True,
            "base_variant_id": product.variant_id,
        }

    def _location_record(self, number: int, row: tuple[Any, ...]) -> dict[str, Any]:
        code, name, kind, line1, city, region, postal, lat, lon = row[:9]
        created = _iso(self._seeded_at - 365 * 86400)
        hours = {"open": True, "opening": "09:00", "closing": "18:00"}
        return {
            "id": number,
            "code": code,
            "label": name,
            "description": str(kind.value if hasattr(kind, "value") else kind),
            "managed_by_external_source": False,
            "type_id": "PHYSICAL",
            "enabled": True,
            "operating_hours": {
                day: dict(hours)
                for day in ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
            },
            "time_zone": TIME_ZONES.get(region, "America/New_York"),
            "created_at": created,
            "updated_at": created,
            "address": {
                "address1": line1,
                "address2": "",
                "city": city,
                "state": region,
                "zip": postal,
                "email": f"{code.lower()}@ordergate.example",
                "phone": "",
                "geo_coordinates": {"latitude": lat, "longitude": lon},
                "country_code": "US",
            },
            "storefront_visibility": True,
            "special_hours": [],
        }

    def _hook_record(self, hook: Hook) -> dict[str, Any]:
        return {
            "id": hook.id,
            "client_id": "ordergate-sandbox",
            "store_hash": self.store_hash,
            "scope": hook.scope,
            "destination": hook.destination,
            "headers": dict(hook.headers) or None,
            "is_active": hook.is_active,
            "created_at": hook.created_at,
            "updated_at": hook.updated_at,
        }


def _error(v2: bool, status: int, message: str) -> Response:
    """v2 errors are a bare array; v3 errors are an RFC 7807 problem, as BigCommerce sends them."""
    if v2:
        return JSONResponse([{"status": status, "message": message}], status_code=status)
    problem = {"status": status, "title": message, "type": PROBLEM_TYPE, "errors": {}}
    return JSONResponse(problem, status_code=status, media_type="application/problem+json")


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError as error:
        raise BadRequest("the body is not JSON") from error
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def _list_param(request: Request, name: str) -> list[str]:
    """`name=a,b` (BigCommerce's unexploded form) or `name=a&name=b`."""
    return [p.strip() for value in request.query_params.getlist(name) for p in value.split(",") if p.strip()]


def _int_param(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    try:
        return None if value is None else int(float(value))
    except ValueError as error:
        raise BadRequest(f"{name} must be a number") from error


def _date_param(request: Request, name: str) -> float | None:
    """A v2 date filter in RFC 2822 or ISO 8601 (a date alone is its midnight UTC)."""
    value = request.query_params.get(name)
    if value is None:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as error:
            raise BadRequest(f"{name} must be an RFC 2822 or ISO 8601 date") from error
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _within(moment: float, low: float | None, high: float | None) -> bool:
    # BigCommerce's dates have whole seconds; the bounds are inclusive.
    second = math.floor(moment)
    return (low is None or second >= low) and (high is None or second <= high)


def _status(value: Any) -> int:
    if not isinstance(value, int) or value not in STATUS_LABELS:
        raise BadRequest(f"status_id {value!r} is not an order status")
    return value


def _covers(subscribed: str, scope: str) -> bool:
    return subscribed == scope or (subscribed.endswith("/*") and scope.startswith(subscribed[:-1]))


def _billing_from(customer: Customer) -> dict[str, Any]:
    address = customer.addresses[0]
    return {
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "company": customer.company,
        "street_1": address["address1"],
        "street_2": address["address2"],
        "city": address["city"],
        "state": address["state_or_province"],
        "zip": address["postal_code"],
        "country": address["country"],
        "country_iso2": address["country_code"],
        "phone": customer.phone,
        "email": customer.email,
    }


def _address_fields(address: Mapping[str, Any]) -> dict[str, Any]:
    """A v2 address (billing or shipping) with every field BigCommerce returns, as strings."""
    record = {name: str(address.get(name) or "") for name in ADDRESS_FIELDS}
    record["country_iso2"] = record["country_iso2"] or "US"
    record["country"] = record["country"] or ("United States" if record["country_iso2"] == "US" else "")
    return record


def _tracking_link(carrier: str, tracking: str) -> str:
    return f"https://track.aftership.com/{carrier}/{tracking}" if carrier and tracking else ""


def _amount(value: Any) -> Decimal | None:
    """An amount a client sent (a JSON number, or a decimal string as v2 writes them), in cents."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = Decimal(str(value))
        cents = amount.is_finite() and amount == amount.quantize(Decimal("0.01"))
    except InvalidOperation:  # not a number, or too large to have cents
        return None
    return amount if cents else None


def _money(amount: Decimal | int) -> str:
    """BigCommerce's v2 amounts: four decimals, as a string."""
    return f"{Decimal(amount):.4f}"


def _rfc2822(epoch: float) -> str:
    return email.utils.format_datetime(datetime.fromtimestamp(math.floor(epoch), UTC))


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(math.floor(epoch), UTC).isoformat().replace("+00:00", "Z")


def _flag(value: bool) -> str:
    return "true" if value else "false"


# -- state kept across restarts -----------------------------------------------------------------


def _customer_state(customer: Customer) -> dict[str, Any]:
    return dataclasses.asdict(customer)


def _customer_from(wire: Mapping[str, Any]) -> Customer:
    return Customer(
        id=int(wire["id"]),
        email=str(wire["email"]),
        first_name=str(wire["first_name"]),
        last_name=str(wire["last_name"]),
        phone=str(wire["phone"]),
        company=str(wire["company"]),
        customer_group_id=int(wire["customer_group_id"]),
        addresses=copy.deepcopy([dict(address) for address in wire["addresses"]]),
        created_at=float(wire["created_at"]),
    )


def _order_state(order: Order) -> dict[str, Any]:
    lines = [dataclasses.asdict(line) | {"price": str(line.price)} for line in order.lines]
    refunds = [str(amount) for amount in order.refunds]
    money = {"coupon": str(order.coupon), "discount": str(order.discount)}
    return dataclasses.asdict(order) | {"lines": lines, "refunds": refunds} | money


def _order_from(wire: Mapping[str, Any]) -> Order:
    lines = [
        OrderLine(
            id=int(line["id"]),
            product_id=int(line["product_id"]),
            variant_id=int(line["variant_id"]),
            sku=str(line["sku"]),
            name=str(line["name"]),
            quantity=int(line["quantity"]),
            price=Decimal(line["price"]),
            address_id=int(line["address_id"]),
            quantity_shipped=int(line["quantity_shipped"]),
        )
        for line in wire["lines"]
    ]
    shipped_at = wire["shipped_at"]
    return Order(
        id=int(wire["id"]),
        customer_id=int(wire["customer_id"]),
        status_id=int(wire["status_id"]),
        billing=copy.deepcopy(dict(wire["billing"])),
        shipping_addresses=copy.deepcopy([dict(address) for address in wire["shipping_addresses"]]),
        lines=lines,
        created_at=float(wire["created_at"]),
        modified_at=float(wire["modified_at"]),
        channel_id=int(wire["channel_id"]),
        external_source=wire["external_source"],
        external_order_id=str(wire["external_order_id"]),
        customer_message=str(wire["customer_message"]),
        staff_notes=str(wire["staff_notes"]),
        shipped_at=None if shipped_at is None else float(shipped_at),
        shipments=copy.deepcopy([dict(shipment) for shipment in wire["shipments"]]),
        refunds=[Decimal(str(amount)) for amount in wire.get("refunds", [])],  # none in older files
        coupon=Decimal(str(wire.get("coupon", "0"))),
        discount=Decimal(str(wire.get("discount", "0"))),
    )


__all__ = [
    "BIGCOMMERCE_LOCATION_IDS",
    "DEMO_CUSTOMERS",
    "DEMO_ORDERS",
    "BigCommerceSandbox",
    "Delivery",
    "FixedWindow",
    "Hook",
]
