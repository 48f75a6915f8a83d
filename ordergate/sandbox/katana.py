"""A stateful stand-in for Katana's public API (`https://api.katanamrp.com/v1`), in its wire format.

Served below its mount: `GET /locations`, `GET /variants`, `GET /inventory`, `GET /purchase_orders`,
`GET|POST /customers`, `GET|POST /sales_orders`, `GET|DELETE /sales_orders/{id}`,
`POST /sales_order_rows`, `PATCH|DELETE /sales_order_rows/{id}`, `GET|POST /webhooks`. Bearer auth
(the configured token, or any token when none is), a rolling per-token rate limit answering 429
with `Retry-After`, page totals in an `X-Pagination` JSON header, quantities as decimal strings.
A deleted sales order stays, marked `deleted_at`, left out of lists unless `include_deleted=true`.
Every change to stock is announced to registered webhooks (`current_inventory.product_updated`,
and `..._out_of_stock` when a variant has none left anywhere), signed like Katana signs them:
those made through the API (a stock adjustment, a DELIVERED fulfilment, a purchase order row
received) after the answer, as Katana delivers its webhooks (`delivered` waits for them); those
an operator makes (`set_on_hand`, `adjust`, `receive_purchase_order`) before the call returns.
A delivery the receiver does not answer with a 2xx is sent again, the same bytes, up to three
times with `X-Katana-Retry-Num` 1 to 3 (`retry_delays` apart), as Katana retries its webhooks.
Like Katana, `POST /sales_orders` does not enforce a unique `ecommerce_order_id`: callers look first.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import logging
import math
import secrets
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as day_time
from decimal import Decimal
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ordergate.sandbox.ids import Ids
from ordergate.sandbox.seed import CATALOGUE, NETWORK
from ordergate.sandbox.stock import demo_on_hand, demo_purchase_orders

logger = logging.getLogger(__name__)

PUBLIC_URL = "https://api.katanamrp.com/v1"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 250
PRODUCT_ID_BASE = 100
VARIANT_ID_BASE = 2000
INVENTORY_UPDATED = "current_inventory.product_updated"
OUT_OF_STOCK = "current_inventory.product_out_of_stock"
RETRY_NUM = "X-Katana-Retry-Num"  # 1, 2 or 3 on a webhook's retries (the spec's header)
RETRY_DELAYS = (10.0, 60.0, 300.0)  # seconds before each retry of a failed webhook delivery
PURCHASE_RECEIVED = "purchase_order.received"
PURCHASE_PARTIALLY_RECEIVED = "purchase_order.partially_received"

EDITABLE_STATUSES = frozenset({"NOT_SHIPPED", "PENDING"})
ROW_CREATE_FIELDS = frozenset(
    {
        "sales_order_id",
        "variant_id",
        "quantity",
        "price_per_unit",
        "total_discount",
        "tax_rate_id",
        "location_id",
        "attributes",
    }
)
ROW_UPDATE_FIELDS = frozenset({"quantity", "price_per_unit", "total_discount"})
FULFILLMENT_FIELDS = frozenset(
    {
        "sales_order_id",
        "picked_date",
        "status",
        "conversion_rate",
        "conversion_date",
        "tracking_number",
        "tracking_url",
        "tracking_carrier",
        "tracking_method",
        "sales_order_fulfillment_rows",
    }
)
ADJUSTMENT_FIELDS = frozenset(
    {
        "stock_adjustment_number",
        "stock_adjustment_date",
        "location_id",
        "reason",
        "additional_info",
        "stock_adjustment_rows",
    }
)

KATANA_LOCATION_IDS: dict[str, str] = {row[0]: str(number) for number, row in enumerate(NETWORK, start=1)}
"""Our location code -> the sandbox's Katana location id."""

Handler = Callable[[Request], Awaitable[Response]]


class BadRequest(Exception):
    """A request the sandbox refuses with 422, in Katana's error format."""


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: float
    retry_after: int


class RollingWindow:
    """At most `limit` requests per key in any `window` seconds."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str) -> RateDecision:
        now = self._clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        allowed = len(hits) < self.limit
        if allowed:
            hits.append(now)
        reset_at = hits[0] + self.window if hits else now
        return RateDecision(
            allowed=allowed,
            limit=self.limit,
            remaining=self.limit - len(hits),
            reset_at=reset_at,
            retry_after=0 if allowed else max(1, math.ceil(reset_at - now)),
        )


@dataclass
class Variant:
    id: int
    product_id: int
    sku: str
    name: str
    price: Decimal


@dataclass
class PurchaseRow:
    id: int
    variant_id: int
    quantity: Decimal
    price: Decimal
    received_at: float | None = None


@dataclass
class PurchaseOrder:
    id: int
    order_no: str
    location_id: int
    status: str
    expected_arrival: float
    rows: list[PurchaseRow]


@dataclass
class Webhook:
    id: int
    url: str
    token: str
    subscribed_events: list[str]
    enabled: bool = True
    description: str | None = None
    created_at: float = 0.0


class KatanaSandbox:
    """Katana's state and `.app`, the Starlette app that serves it."""

    def __init__(
        self,
        *,
        token: str | None = None,
        webhook_token: str | None = None,
        today: date | None = None,
        clock: Callable[[], float] = time.time,
        rate_limit: int = 60,
        rate_window: float = 60.0,
        max_page_size: int = MAX_PAGE_SIZE,
        webhook_client: httpx.AsyncClient | None = None,
        public_url: str = PUBLIC_URL,
        seed: bool = True,
    ) -> None:
        self.token = token
        self.webhook_token = webhook_token
        self.clock = clock
        self.max_page_size = max_page_size
        self.public_url = public_url.rstrip("/")
        self.webhook_client = webhook_client
        self._closes_client = webhook_client is None
        self.limiter = RollingWindow(rate_limit, rate_window, clock)
        self._answering = asyncio.Event()
        self._answering.set()
        self.waiting = 0  # requests held by `stall`, not yet answered
        self._refusing_until = 0.0
        self._retry_after = 5
        self.refused = 0  # requests answered 429 by `throttle`
        self.answered: Counter[str] = Counter()  # requests past auth and the rate limit, by "GET /path"
        self._ids = Ids()
        self.locations: dict[str, int] = {
            code: int(katana_id) for code, katana_id in KATANA_LOCATION_IDS.items()
        }
        self.variants: dict[int, Variant] = {}
        self.inventory: dict[tuple[int, int], Decimal] = {}
        self.committed: dict[tuple[int, int], Decimal] = {}
        self.purchase_orders: list[PurchaseOrder] = []
        self.customers: list[dict[str, Any]] = []
        self.sales_orders: list[dict[str, Any]] = []
        self.fulfillments: list[dict[str, Any]] = []
        self.adjustments: list[dict[str, Any]] = []
        self.webhooks: list[Webhook] = []
        self._deliveries: set[asyncio.Task[None]] = set()  # webhooks the API's changes queued
        # Held, those webhooks wait for `deliver_held` (a walk chooses when they arrive).
        self.hold_deliveries = False
        self._held: list[Coroutine[Any, Any, None]] = []
        self.retry_delays: tuple[float, ...] = RETRY_DELAYS
        self._retrying: set[asyncio.Task[None]] = set()  # failed deliveries waiting to be sent again
        self.retries = 0  # deliveries sent again after a failure
        self._seeded_at = clock()
        for sku, name, price, _returnable in CATALOGUE:
            self.add_variant(sku, name, Decimal(price))
        if seed:
            self._seed(today or datetime.fromtimestamp(clock(), UTC).date())
        self.app = Starlette(
            routes=[
                Route("/locations", self._guard(self._list_locations), methods=["GET"]),
                Route("/variants", self._guard(self._list_variants), methods=["GET"]),
                Route("/inventory", self._guard(self._list_inventory), methods=["GET"]),
                Route("/purchase_orders", self._guard(self._list_purchase_orders), methods=["GET"]),
                Route("/customers", self._guard(self._list_customers), methods=["GET"]),
                Route("/customers", self._guard(self._create_customer), methods=["POST"]),
                Route("/sales_orders", self._guard(self._list_sales_orders), methods=["GET"]),
                Route("/sales_orders", self._guard(self._create_sales_order), methods=["POST"]),
                Route("/sales_orders/{id:int}", self._guard(self._get_sales_order), methods=["GET"]),
                Route("/sales_orders/{id:int}", self._guard(self._delete_sales_order), methods=["DELETE"]),
                Route("/sales_order_rows", self._guard(self._create_sales_order_row), methods=["POST"]),
                Route(
                    "/sales_order_rows/{id:int}", self._guard(self._update_sales_order_row), methods=["PATCH"]
                ),
                Route(
                    "/sales_order_rows/{id:int}",
                    self._guard(self._delete_sales_order_row),
                    methods=["DELETE"],
                ),
                Route(
                    "/sales_order_fulfillments",
                    self._guard(self._list_fulfillments),
                    methods=["GET"],
                ),
                Route(
                    "/sales_order_fulfillments",
                    self._guard(self._create_fulfillment),
                    methods=["POST"],
                ),
                Route("/stock_adjustments", self._guard(self._list_adjustments), methods=["GET"]),
                Route("/stock_adjustments", self._guard(self._create_adjustment), methods=["POST"]),
                Route("/purchase_order_receive", self._guard(self._receive_rows), methods=["POST"]),
                Route("/webhooks", self._guard(self._list_webhooks), methods=["GET"]),
                Route("/webhooks", self._guard(self._create_webhook), methods=["POST"]),
            ]
        )

    # -- operator's side: what tests and demos change directly --------------------------------

    def stall(self) -> None:
        """An ERP that does not answer: every request waits (its client times out) until `resume`."""
        self._answering.clear()

    def resume(self) -> None:
        self._answering.set()

    def throttle(self, seconds: float = 60.0, retry_after: int = 5) -> None:
        """An ERP over its rate limit: for the next `seconds` (on the sandbox's clock) every
        request, whoever asks, is answered 429 with `Retry-After: retry_after`, short enough
        that a client sleeps through it and asks again."""
        self._refusing_until = self.clock() + seconds
        self._retry_after = retry_after

    def add_variant(self, sku: str, name: str, price: Decimal) -> Variant:
        """A product the ERP makes, none on hand yet (the demo catalogue's are made this way)."""
        number = len(self.variants) + 1
        variant = Variant(VARIANT_ID_BASE + number, PRODUCT_ID_BASE + number, sku, name, price)
        self.variants[variant.id] = variant
        return variant

    def variant_for(self, sku: str) -> Variant:
        for variant in self.variants.values():
            if variant.sku == sku:
                return variant
        raise KeyError(f"unknown SKU {sku!r}")

    def on_hand(self, sku: str, location_code: str) -> Decimal:
        return self.inventory.get((self.variant_for(sku).id, self.locations[location_code]), Decimal(0))

    async def set_on_hand(self, sku: str, location_code: str, quantity: Decimal | int | str) -> None:
        """Set a count and announce it to the webhooks (delivery failures are logged, not raised)."""
        variant = self.variant_for(sku)
        self.inventory[(variant.id, self.locations[location_code])] = Decimal(quantity)
        await self._announce_stock(variant)

    async def adjust(self, sku: str, location_code: str, delta: Decimal | int | str) -> None:
        await self.set_on_hand(sku, location_code, self.on_hand(sku, location_code) + Decimal(delta))

    async def receive_purchase_order(self, order_no: str) -> list[str]:
        """The warehouse receives every row still open on a purchase order: the units go on hand
        at its location, the order is RECEIVED, and the webhooks hear of the stock. Returns the
        SKUs received."""
        order = next((o for o in self.purchase_orders if o.order_no == order_no), None)
        if order is None:
            raise KeyError(f"no purchase order {order_no!r}")
        variants = self._received(
            order, [(row, row.quantity) for row in order.rows if row.received_at is None]
        )
        await self._announce_receipt(order, variants)
        return [self.variants[v].sku for v in variants]

    def purchase_order(self, order_no: str) -> PurchaseOrder:
        return next(o for o in self.purchase_orders if o.order_no == order_no)

    def _received(self, order: PurchaseOrder, takes: Sequence[tuple[PurchaseRow, Decimal]]) -> list[int]:
        """As Katana does: a row received in part keeps what is left, and a new row holds what
        was received, with its date. Returns the variants received."""
        now = self.clock()
        for row, quantity in takes:
            if quantity < row.quantity:
                row.quantity -= quantity
                order.rows.append(
                    PurchaseRow(
                        id=self._ids.take("purchase_row", 1),
                        variant_id=row.variant_id,
                        quantity=quantity,
                        price=row.price,
                        received_at=now,
                    )
                )
            else:
                row.received_at = now
            key = (row.variant_id, order.location_id)
            self.inventory[key] = self.inventory.get(key, Decimal(0)) + quantity
        received = all(row.received_at is not None for row in order.rows)
        order.status = "RECEIVED" if received else "PARTIALLY_RECEIVED"
        return sorted({row.variant_id for row, _ in takes})

    async def _announce_receipt(self, order: PurchaseOrder, variants: Sequence[int]) -> None:
        await self._announce_variants(variants)
        event = PURCHASE_RECEIVED if order.status == "RECEIVED" else PURCHASE_PARTIALLY_RECEIVED
        await self._deliver(
            event,
            "purchase_order",
            {
                "id": str(order.id),
                "status": order.status,
                "href": f"{self.public_url}/purchase_orders/{order.id}",
            },
        )

    def register_webhook(
        self, url: str, events: Sequence[str], *, token: str | None = None, description: str | None = None
    ) -> Webhook:
        webhook = Webhook(
            id=self._ids.take("webhook", 1),
            url=url,
            token=token or self.webhook_token or secrets.token_hex(8),
            subscribed_events=list(events),
            description=description,
            created_at=self.clock(),
        )
        self.webhooks.append(webhook)
        return webhook

    def sales_orders_for(
        self, ecommerce_order_id: str, *, include_deleted: bool = False
    ) -> list[dict[str, Any]]:
        return [
            order
            for order in self.sales_orders
            if order["ecommerce_order_id"] == ecommerce_order_id
            and (include_deleted or order["deleted_at"] is None)
        ]

    def to_state(self) -> dict[str, Any]:
        """Everything a restart must keep, as JSON-able data: the id counters (so no id is
        handed out twice), stock on hand and committed, purchase orders, customers, sales
        orders, fulfillments and adjustments. The catalogue and locations are fixed; webhooks
        are not kept (whoever registered them does again), nor the rate limiter's window."""
        return {
            "ids": dict(self._ids.next),
            "seeded_at": self._seeded_at,
            "inventory": _stock_state(self.inventory),
            "committed": _stock_state(self.committed),
            "purchase_orders": [_purchase_order_state(order) for order in self.purchase_orders],
            "customers": self.customers,
            "sales_orders": self.sales_orders,
            "fulfillments": self.fulfillments,
            "adjustments": self.adjustments,
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """The state `to_state` gave; raises (changing nothing) on state of another shape."""
        ids = {str(kind): int(value) for kind, value in state["ids"].items()}
        seeded_at = float(state["seeded_at"])
        inventory, committed = _stock_from(state["inventory"]), _stock_from(state["committed"])
        orders = [_purchase_order_from(wire) for wire in state["purchase_orders"]]
        records = {
            kind: _records(state[kind])
            for kind in ("customers", "sales_orders", "fulfillments", "adjustments")
        }
        unknown = {variant for variant, _ in inventory.keys() | committed.keys()} - self.variants.keys()
        if unknown:
            raise ValueError(f"stock of variants this catalogue does not have: {sorted(unknown)}")
        self._ids, self._seeded_at = Ids(ids), seeded_at
        self.inventory, self.committed, self.purchase_orders = inventory, committed, orders
        self.customers, self.sales_orders = records["customers"], records["sales_orders"]
        self.fulfillments, self.adjustments = records["fulfillments"], records["adjustments"]

    async def aclose(self) -> None:
        """Delivers what is queued, then closes `webhook_client`, unless it was passed to the
        constructor (then its owner does)."""
        await self.delivered()
        for announcing in self._held:  # never delivered: Katana stopped first
            announcing.close()
        self._held.clear()
        for waiting in self._retrying:  # nor sent again
            waiting.cancel()
        await asyncio.gather(*self._retrying, return_exceptions=True)
        if self._closes_client and self.webhook_client is not None:
            await self.webhook_client.aclose()
            self.webhook_client = None

    def _seed(self, today: date) -> None:
        for (sku, code), units in demo_on_hand().items():
            self.inventory[(self.variant_for(sku).id, self.locations[code])] = units
        for demo in demo_purchase_orders(today):
            expected = datetime.combine(demo.expected_on, day_time(9), UTC).timestamp()
            rows = [
                PurchaseRow(
                    id=self._ids.take("purchase_row", 1),
                    variant_id=self.variant_for(line.sku).id,
                    quantity=Decimal(line.quantity),
                    price=_cost(self.variant_for(line.sku)),
                    received_at=expected if line.received else None,
                )
                for line in demo.lines
            ]
            self.purchase_orders.append(
                PurchaseOrder(
                    id=self._ids.take("purchase_order", 1),
                    order_no=demo.order_no,
                    location_id=self.locations[demo.location_code],
                    status=demo.status,
                    expected_arrival=expected,
                    rows=rows,
                )
            )

    # -- the wire: auth, rate limit, paging -----------------------------------------------------

    def _guard(self, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            if not self._answering.is_set():
                self.waiting += 1
                try:
                    await self._answering.wait()
                finally:
                    self.waiting -= 1
            if self.clock() < self._refusing_until:
                self.refused += 1
                retry_after = {"Retry-After": str(self._retry_after)}
                return _error(429, "TooManyRequests", "Too Many Requests", retry_after)
            scheme, _, presented = request.headers.get("authorization", "").partition(" ")
            wrong = self.token is not None and not hmac.compare_digest(
                presented.encode(), self.token.encode()
            )
            if scheme.lower() != "bearer" or not presented or wrong:
                return _error(401, "UnauthorizedError", "Unauthorized")
            decision = self.limiter.hit(presented)
            headers = {
                "X-Ratelimit-Limit": str(decision.limit),
                "X-Ratelimit-Remaining": str(decision.remaining),
                "X-Ratelimit-Reset": str(int(decision.reset_at * 1000)),
            }
            if not decision.allowed:
                headers["Retry-After"] = str(decision.retry_after)
                return _error(429, "TooManyRequests", "Too Many Requests", headers)
            route = request.scope.get("route")
            self.answered[f"{request.method} {getattr(route, 'path', request.url.path)}"] += 1
            try:
                response = await handler(request)
            except BadRequest as error:
                response = _error(422, "UnprocessableEntityError", str(error), code="VALIDATION_FAILED")
            response.headers.update(headers)
            return response

        return endpoint

    def _page(self, request: Request, records: Sequence[dict[str, Any]]) -> Response:
        limit = min(max(_int_param(request, "limit") or DEFAULT_PAGE_SIZE, 1), self.max_page_size)
        page = max(_int_param(request, "page") or 1, 1)
        total_pages = max(1, math.ceil(len(records) / limit))
        offset = (page - 1) * limit
        pagination = {
            "total_records": str(len(records)),
            "total_pages": str(total_pages),
            "offset": str(offset),
            "page": str(page),
            "first_page": _flag(page == 1),
            "last_page": _flag(page >= total_pages),
        }
        return JSONResponse(
            {"data": list(records[offset : offset + limit])},
            headers={"X-Pagination": json.dumps(pagination, separators=(",", ":"))},
        )

    # -- reads -----------------------------------------------------------------------------------

    async def _list_locations(self, request: Request) -> Response:
        ids = _int_list(request, "ids")
        records = [self._location_record(number, row) for number, row in enumerate(NETWORK, start=1)]
        records = [record for record in records if not ids or record["id"] in ids]
        # Katana lists locations newest first.
        return self._page(request, sorted(records, key=lambda record: -record["id"]))

    async def _list_variants(self, request: Request) -> Response:
        skus = set(_str_list(request, "sku"))
        ids = _int_list(request, "ids")
        records = [
            self._variant_record(variant)
            for variant in sorted(self.variants.values(), key=lambda variant: -variant.id)
            if (not skus or variant.sku in skus) and (not ids or variant.id in ids)
        ]
        return self._page(request, records)

    async def _list_inventory(self, request: Request) -> Response:
        variant_ids = _int_list(request, "variant_id")
        location_id = _int_param(request, "location_id")
        expected = self._expected()
        records = [
            self._inventory_record(variant_id, at, units, expected)
            for (variant_id, at), units in sorted(self.inventory.items(), key=lambda item: item[0][::-1])
            if (not variant_ids or variant_id in variant_ids) and location_id in (None, at)
        ]
        return self._page(request, records)

    async def _list_purchase_orders(self, request: Request) -> Response:
        status = request.query_params.get("status")
        location_id = _int_param(request, "location_id")
        records = [
            self._purchase_order_record(order)
            for order in sorted(self.purchase_orders, key=lambda order: -order.id)
            if status in (None, order.status) and location_id in (None, order.location_id)
        ]
        return self._page(request, records)

    async def _list_customers(self, request: Request) -> Response:
        email = request.query_params.get("email")
        ids = _int_list(request, "ids")
        records = [
            customer
            for customer in reversed(self.customers)
            if email in (None, customer["email"]) and (not ids or customer["id"] in ids)
        ]
        return self._page(request, records)

    async def _list_sales_orders(self, request: Request) -> Response:
        wanted = {
            name: request.query_params[name]
            for name in ("ecommerce_order_id", "ecommerce_order_type", "order_no")
            if name in request.query_params
        }
        ids = _int_list(request, "ids")
        deleted_too = request.query_params.get("include_deleted") == "true"
        records = [
            order
            for order in self.sales_orders
            if all(order.get(name) == value for name, value in wanted.items())
            and (not ids or order["id"] in ids)
            and (deleted_too or order["deleted_at"] is None)
        ]
        return self._page(request, records)

    async def _get_sales_order(self, request: Request) -> Response:
        order = self._live_sales_order(request.path_params["id"])
        return JSONResponse(order) if order is not None else _not_found()

    async def _list_webhooks(self, request: Request) -> Response:
        records = [self._webhook_record(webhook) for webhook in reversed(self.webhooks)]
        return self._page(request, records)

    # -- writes ----------------------------------------------------------------------------------

    async def _create_customer(self, request: Request) -> Response:
        body = await _json_object(request)
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise BadRequest("name is required")
        now = _timestamp(self.clock())
        customer: dict[str, Any] = {
            "id": self._ids.take("customer", 1501),
            "name": name,
            "first_name": body.get("first_name"),
            "last_name": body.get("last_name"),
            "company": body.get("company"),
            "email": body.get("email"),
            "phone": body.get("phone"),
            "comment": body.get("comment"),
            "currency": body.get("currency") or "USD",
            "reference_id": body.get("reference_id"),
            "category": body.get("category"),
            "discount_rate": body.get("discount_rate"),
            "default_billing_id": None,
            "default_shipping_id": None,
            "addresses": [],
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
        }
        self.customers.append(customer)
        return JSONResponse(customer)

    async def _create_sales_order(self, request: Request) -> Response:
        body = await _json_object(request)
        customer_id = body.get("customer_id")
        if not any(customer["id"] == customer_id for customer in self.customers):
            raise BadRequest("customer_id does not name a customer")
        lines = body.get("sales_order_rows")
        if not isinstance(lines, list) or not lines:
            raise BadRequest("sales_order_rows must have at least one row")
        location_id = body.get("location_id") or 1
        if location_id not in self.locations.values():
            raise BadRequest("location_id does not name a location")
        order_id = self._ids.take("sales_order", 2001)
        rows = [self._sales_row(order_id, line, location_id) for line in lines]
        now = _timestamp(self.clock())
        total = sum((Decimal(str(row["total"])) for row in rows), Decimal(0))
        order: dict[str, Any] = {
            "id": order_id,
            "customer_id": customer_id,
            "order_no": body.get("order_no") or f"SO-{order_id - 2000}",
            "source": "API",
            "order_created_date": body.get("order_created_date") or now,
            "delivery_date": body.get("delivery_date"),
            "picked_date": None,
            "location_id": location_id,
            "status": body.get("status") or "PENDING",
            "currency": body.get("currency") or "USD",
            "conversion_rate": None,
            "conversion_date": None,
            "invoicing_status": None,
            "total": float(total),
            "total_in_base_currency": float(total),
            "additional_info": body.get("additional_info"),
            "customer_ref": body.get("customer_ref"),
            "sales_order_rows": rows,
            "ecommerce_order_type": body.get("ecommerce_order_type"),
            "ecommerce_store_name": body.get("ecommerce_store_name"),
            "ecommerce_order_id": body.get("ecommerce_order_id"),
            "product_availability": None,
            "product_expected_date": None,
            "ingredient_availability": None,
            "ingredient_expected_date": None,
            "production_status": None,
            "tracking_number": body.get("tracking_number"),
            "tracking_number_url": body.get("tracking_number_url"),
            "billing_address_id": None,
            "shipping_address_id": None,
            "linked_manufacturing_order_id": None,
            "shipping_fee": None,
            "addresses": [],
            "custom_fields": None,
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
        }
        for row in rows:
            key = (row["variant_id"], row["location_id"])
            self.committed[key] = self.committed.get(key, Decimal(0)) + Decimal(str(row["quantity"]))
        self.sales_orders.append(order)
        return JSONResponse(order)

    def _sales_row(self, order_id: int, line: Any, default_location: int) -> dict[str, Any]:
        if not isinstance(line, dict):
            raise BadRequest("each sales order row must be an object")
        variant_id = line.get("variant_id")
        variant = self.variants.get(variant_id) if isinstance(variant_id, int) else None
        quantity = line.get("quantity")
        if variant is None or not isinstance(quantity, int | float) or quantity <= 0:
            raise BadRequest("each row needs a known variant_id and a positive quantity")
        price = (
            Decimal(str(line["price_per_unit"])) if line.get("price_per_unit") is not None else variant.price
        )
        discount = _discount(line.get("total_discount"))
        total = price * Decimal(str(quantity)) - (discount or 0)
        now = _timestamp(self.clock())
        return {
            "id": self._ids.take("sales_row", 2501),
            "sales_order_id": order_id,
            "quantity": quantity,
            "variant_id": variant.id,
            "tax_rate_id": line.get("tax_rate_id"),
            "location_id": line.get("location_id") or default_location,
            "product_availability": None,
            "product_expected_date": None,
            "price_per_unit": f"{price:.10f}",
            "price_per_unit_in_base_currency": float(price),
            "total": float(total),
            "total_in_base_currency": float(total),
            "total_discount": None if discount is None else f"{discount:.10f}",
            "cogs_value": None,
            "attributes": line.get("attributes") or [],
            "created_at": now,
            "updated_at": now,
        }

    async def _delete_sales_order(self, request: Request) -> Response:
        """Katana has no cancelled status: a sales order is deleted (kept, marked deleted)."""
        order = self._live_sales_order(request.path_params["id"])
        if order is None:
            return _not_found()
        for row in order["sales_order_rows"]:
            self._commit(row, -Decimal(str(row["quantity"])))
        order["deleted_at"] = order["updated_at"] = _timestamp(self.clock())
        return Response(status_code=204)

    async def _create_sales_order_row(self, request: Request) -> Response:
        body = await _json_object(request)
        unknown = sorted(set(body) - ROW_CREATE_FIELDS)
        if unknown:
            raise BadRequest(f"unknown properties: {', '.join(unknown)}")
        sales_order_id = body.get("sales_order_id")
        order = self._live_sales_order(sales_order_id) if isinstance(sales_order_id, int) else None
        if order is None:
            raise BadRequest("sales_order_id does not name a sales order")
        self._editable(order)
        row = self._sales_row(order["id"], body, order["location_id"])
        order["sales_order_rows"].append(row)
        self._commit(row, Decimal(str(row["quantity"])))
        self._total(order)
        return JSONResponse(row)

    async def _update_sales_order_row(self, request: Request) -> Response:
        found = self._live_row(request.path_params["id"])
        if found is None:
            return _not_found()
        order, row = found
        body = await _json_object(request)
        unknown = sorted(set(body) - ROW_UPDATE_FIELDS)
        if unknown:
            raise BadRequest(
                f"this sandbox updates quantity, price_per_unit and total_discount, not {', '.join(unknown)}"
            )
        quantity, price = body.get("quantity", row["quantity"]), body.get("price_per_unit")
        if isinstance(quantity, bool) or not isinstance(quantity, int | float) or quantity <= 0:
            raise BadRequest("quantity must be a positive number")
        if price is not None and (isinstance(price, bool) or not isinstance(price, int | float) or price < 0):
            raise BadRequest("price_per_unit must be a number, not negative")
        kept = row["total_discount"]
        discount = _discount(body["total_discount"]) if "total_discount" in body else kept and Decimal(kept)
        self._editable(order)
        self._commit(row, Decimal(str(quantity)) - Decimal(str(row["quantity"])))
        row["quantity"] = quantity
        if price is not None:
            row["price_per_unit"] = f"{Decimal(str(price)):.10f}"
            row["price_per_unit_in_base_currency"] = float(price)
        row["total_discount"] = None if discount is None else f"{discount:.10f}"
        total = Decimal(row["price_per_unit"]) * Decimal(str(quantity)) - (discount or 0)
        row["total"] = row["total_in_base_currency"] = float(total)
        row["updated_at"] = _timestamp(self.clock())
        self._total(order)
        return JSONResponse(row)

    async def _delete_sales_order_row(self, request: Request) -> Response:
        found = self._live_row(request.path_params["id"])
        if found is None:
            return _not_found()
        order, row = found
        self._editable(order)
        order["sales_order_rows"].remove(row)
        self._commit(row, -Decimal(str(row["quantity"])))
        self._total(order)
        return Response(status_code=204)

    # -- stock leaving and coming back: fulfilments and adjustments ------------------------------

    async def _list_fulfillments(self, request: Request) -> Response:
        sales_order_id = _int_param(request, "sales_order_id")
        tracking = request.query_params.get("tracking_number")
        records = [
            record
            for record in reversed(self.fulfillments)
            if sales_order_id in (None, record["sales_order_id"])
            and tracking in (None, record["tracking_number"])
        ]
        return self._page(request, records)

    async def _create_fulfillment(self, request: Request) -> Response:
        """A DELIVERED fulfilment takes its units out of stock at each row's location and out of
        what the sales order commits; the order becomes (PARTIALLY_)DELIVERED. PACKED records."""
        body = await _json_object(request)
        unknown = sorted(set(body) - FULFILLMENT_FIELDS)
        if unknown:
            raise BadRequest(f"unknown properties: {', '.join(unknown)}")
        order = self._live_sales_order(body.get("sales_order_id"))  # type: ignore[arg-type]
        if order is None:
            raise BadRequest("sales_order_id does not name a sales order")
        status, wanted = body.get("status"), body.get("sales_order_fulfillment_rows")
        if status not in ("PACKED", "DELIVERED"):
            raise BadRequest("status must be PACKED or DELIVERED")
        if not isinstance(wanted, list) or not wanted:
            raise BadRequest("sales_order_fulfillment_rows must have at least one row")
        left = self._unfulfilled(order)
        rows = [self._fulfilment_row(order, left, row) for row in wanted]
        now = _timestamp(self.clock())
        record: dict[str, Any] = {
            "id": self._ids.take("fulfillment", 7001),
            "sales_order_id": order["id"],
            "picked_date": body.get("picked_date"),
            "status": status,
            "invoice_status": "NOT_INVOICED",
            "conversion_rate": None,
            "conversion_date": None,
            "tracking_number": body.get("tracking_number"),
            "tracking_url": body.get("tracking_url"),
            "tracking_carrier": body.get("tracking_carrier"),
            "tracking_method": body.get("tracking_method"),
            "packer_id": None,
            "sales_order_fulfillment_rows": rows,
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
        }
        self.fulfillments.append(record)
        if status == "DELIVERED":
            by_id = {row["id"]: row for row in order["sales_order_rows"]}
            for row in rows:
                sales_row, units = by_id[row["sales_order_row_id"]], Decimal(str(row["quantity"]))
                key = (sales_row["variant_id"], sales_row["location_id"])
                self.inventory[key] = self.inventory.get(key, Decimal(0)) - units
                self._commit(sales_row, -units)
            done = all(units <= 0 for units in self._unfulfilled(order).values())
            order["status"] = "DELIVERED" if done else "PARTIALLY_DELIVERED"
            order["updated_at"] = now
            self._after_answer(
                self._announce_variants(by_id[row["sales_order_row_id"]]["variant_id"] for row in rows)
            )
        return JSONResponse(record)

    def _unfulfilled(self, order: dict[str, Any]) -> dict[int, Decimal]:
        """Units of each row not yet in a DELIVERED fulfilment."""
        left = {row["id"]: Decimal(str(row["quantity"])) for row in order["sales_order_rows"]}
        for record in self.fulfillments:
            if record["sales_order_id"] == order["id"] and record["status"] == "DELIVERED":
                for row in record["sales_order_fulfillment_rows"]:
                    left[row["sales_order_row_id"]] -= Decimal(str(row["quantity"]))
        return left

    def _fulfilment_row(self, order: dict[str, Any], left: dict[int, Decimal], row: Any) -> dict[str, Any]:
        if not isinstance(row, dict) or set(row) - {"sales_order_row_id", "quantity"}:
            raise BadRequest("each fulfilment row has a sales_order_row_id and a quantity")
        row_id, quantity = row.get("sales_order_row_id"), row.get("quantity")
        if row_id not in left:
            raise BadRequest(f"row {row_id} is not a row of sales order {order['id']}")
        if isinstance(quantity, bool) or not isinstance(quantity, int | float) or quantity <= 0:
            raise BadRequest("quantity must be a positive number")
        if Decimal(str(quantity)) > left[row_id]:
            raise BadRequest(f"row {row_id} has only {left[row_id]} units left to fulfil")
        left[row_id] -= Decimal(str(quantity))
        return {
            "id": self._ids.take("fulfillment_row", 7501),
            "sales_order_row_id": row_id,
            "quantity": quantity,
        }

    async def _list_adjustments(self, request: Request) -> Response:
        number = request.query_params.get("stock_adjustment_number")
        location_id = _int_param(request, "location_id")
        records = [
            record
            for record in reversed(self.adjustments)
            if number in (None, record["stock_adjustment_number"])
            and location_id in (None, record["location_id"])
        ]
        return self._page(request, records)

    async def _create_adjustment(self, request: Request) -> Response:
        """Each row's quantity (positive or negative) is added to the stock at the location."""
        body = await _json_object(request)
        unknown = sorted(set(body) - ADJUSTMENT_FIELDS)
        if unknown:
            raise BadRequest(f"unknown properties: {', '.join(unknown)}")
        number, location_id, wanted = (
            body.get("stock_adjustment_number"),
            body.get("location_id"),
            body.get("stock_adjustment_rows"),
        )
        if not isinstance(number, str) or not number:
            raise BadRequest("stock_adjustment_number is required")
        if not isinstance(location_id, int) or location_id not in self.locations.values():
            raise BadRequest("location_id does not name a location")
        if not isinstance(wanted, list) or not wanted:
            raise BadRequest("stock_adjustment_rows must have at least one row")
        rows = [self._adjustment_row(row) for row in wanted]
        now = _timestamp(self.clock())
        record = {
            "id": self._ids.take("adjustment", 8001),
            "stock_adjustment_number": number,
            "stock_adjustment_date": body.get("stock_adjustment_date") or now,
            "location_id": location_id,
            "reason": body.get("reason"),
            "additional_info": body.get("additional_info"),
            "stock_adjustment_rows": rows,
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
        }
        self.adjustments.append(record)
        for row in rows:
            key = (row["variant_id"], location_id)
            self.inventory[key] = self.inventory.get(key, Decimal(0)) + Decimal(str(row["quantity"]))
        self._after_answer(self._announce_variants(row["variant_id"] for row in rows))
        return JSONResponse(record)

    async def _receive_rows(self, request: Request) -> Response:
        """`POST /purchase_order_receive`: one PurchaseOrderReceiveRow or a list of them, each
        receiving up to the row's open quantity; 204."""
        try:
            body = json.loads(await request.body())
        except ValueError as error:
            raise BadRequest("the body is not JSON") from error
        wanted = body if isinstance(body, list) else [body]
        if not wanted:
            raise BadRequest("name at least one row")
        by_order: dict[int, list[tuple[PurchaseRow, Decimal]]] = {}
        for item in wanted:
            if not isinstance(item, dict) or set(item) - {
                "purchase_order_row_id",
                "quantity",
                "received_date",
                "batch_transactions",
            }:
                raise BadRequest("each row has a purchase_order_row_id, a quantity and a received_date")
            row_id, quantity = item.get("purchase_order_row_id"), item.get("quantity")
            found = next(
                (
                    (o, r)
                    for o in self.purchase_orders
                    for r in o.rows
                    if r.id == row_id and r.received_at is None
                ),
                None,
            )
            if found is None:
                raise BadRequest(f"purchase order row {row_id} is not open")
            if isinstance(quantity, bool) or not isinstance(quantity, int | float) or not quantity > 0:
                raise BadRequest("quantity must be a positive number")
            order, row = found
            units = Decimal(str(quantity))
            if units > row.quantity:
                raise BadRequest(f"row {row_id} has only {_quantity(row.quantity)} left to receive")
            by_order.setdefault(order.id, []).append((row, units))
        for order_id, takes in by_order.items():
            order = next(o for o in self.purchase_orders if o.id == order_id)
            self._after_answer(self._announce_receipt(order, self._received(order, takes)))
        return Response(status_code=204)

    def _adjustment_row(self, row: Any) -> dict[str, Any]:
        if not isinstance(row, dict) or set(row) - {"variant_id", "quantity", "cost_per_unit"}:
            raise BadRequest("each adjustment row has a variant_id and a quantity")
        variant_id, quantity = row.get("variant_id"), row.get("quantity")
        if variant_id not in self.variants:
            raise BadRequest(f"variant {variant_id} is not known")
        if isinstance(quantity, bool) or not isinstance(quantity, int | float) or quantity == 0:
            raise BadRequest("quantity must be a number other than zero")
        if quantity < 0 and "cost_per_unit" in row:
            raise BadRequest("cost_per_unit is only allowed when quantity is positive")
        return {"id": self._ids.take("adjustment_row", 8501), **row}

    def _live_sales_order(self, sales_order_id: int) -> dict[str, Any] | None:
        return next(
            (o for o in self.sales_orders if o["id"] == sales_order_id and o["deleted_at"] is None), None
        )

    def _live_row(self, row_id: int) -> tuple[dict[str, Any], dict[str, Any]] | None:
        for order in self.sales_orders:
            if order["deleted_at"] is None:
                for row in order["sales_order_rows"]:
                    if row["id"] == row_id:
                        return order, row
        return None

    def _editable(self, order: dict[str, Any]) -> None:
        if order["status"] not in EDITABLE_STATUSES:
            raise BadRequest(f"the rows of a {order['status']} sales order cannot change")

    def _commit(self, row: dict[str, Any], delta: Decimal) -> None:
        key = (row["variant_id"], row["location_id"])
        self.committed[key] = self.committed.get(key, Decimal(0)) + delta

    def _total(self, order: dict[str, Any]) -> None:  # rows' totals are net of their discounts
        total = sum((Decimal(str(row["total"])) for row in order["sales_order_rows"]), Decimal(0))
        order["total"] = order["total_in_base_currency"] = float(total)
        order["updated_at"] = _timestamp(self.clock())

    async def _create_webhook(self, request: Request) -> Response:
        body = await _json_object(request)
        url, events = body.get("url"), body.get("subscribed_events")
        if not isinstance(url, str) or not url.startswith("https://"):
            raise BadRequest("url must be an https:// URL")
        if not isinstance(events, list) or not events or not all(isinstance(event, str) for event in events):
            raise BadRequest("subscribed_events must list at least one event")
        webhook = self.register_webhook(url, events, description=body.get("description"))
        webhook.enabled = bool(body.get("enabled", True))
        return JSONResponse(self._webhook_record(webhook))

    # -- webhooks out ----------------------------------------------------------------------------

    def _after_answer(self, announcing: Coroutine[Any, Any, None]) -> None:
        """Katana answers an API call first and delivers the webhooks its change caused after."""
        if self.hold_deliveries:
            self._held.append(announcing)
            return
        task = asyncio.create_task(announcing, name="katana-sandbox-webhooks")
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def delivered(self) -> None:
        """Once the webhooks queued by changes made through the API have been delivered (a
        delivery that fails is logged and sent again later, not waited for here); held ones stay
        held."""
        while self._deliveries:
            await asyncio.gather(*self._deliveries, return_exceptions=True)

    @property
    def pending_retries(self) -> int:
        """Failed deliveries waiting for their delay to be sent again."""
        return len(self._retrying)

    async def deliver_held(self) -> int:
        """Deliver the held webhooks, oldest first; returns how many: changes announced, and retries
        of deliveries not taken."""
        held, self._held = self._held, []
        for announcing in held:
            await announcing
        return len(held)

    async def _announce_variants(self, variant_ids: Iterable[int]) -> None:
        for variant_id in sorted(set(variant_ids)):
            await self._announce_stock(self.variants[variant_id])

    async def _announce_stock(self, variant: Variant) -> None:
        events = [INVENTORY_UPDATED]
        if sum(units for (held, _), units in self.inventory.items() if held == variant.id) <= 0:
            events.append(OUT_OF_STOCK)
        for event in events:
            status = "OUT_OF_STOCK" if event == OUT_OF_STOCK else "UPDATED"
            thing = {
                "id": str(variant.id),
                "status": status,
                "href": f"{self.public_url}/variants/{variant.id}",
            }
            await self._deliver(event, "current_inventory", thing)

    async def _deliver(self, event: str, resource_type: str, thing: dict[str, str]) -> None:
        for webhook in [hook for hook in self.webhooks if hook.enabled and event in hook.subscribed_events]:
            payload = {
                "resource_type": resource_type,
                "action": event,
                "webhook_id": webhook.id,
                "object": thing,
            }
            await self._send(webhook, event, json.dumps(payload, separators=(",", ":")).encode())

    async def _send(self, webhook: Webhook, event: str, body: bytes, retry: int = 0) -> None:
        """One delivery of `body` to a webhook; one that fails is sent again later (`_retry_later`)."""
        headers = {"Content-Type": "application/json", "X-Sha2-Signature": sign(body, webhook.token)}
        if retry:
            headers[RETRY_NUM] = str(retry)
            self.retries += 1
        if self.webhook_client is None:
            self.webhook_client = httpx.AsyncClient(timeout=5.0)
        try:
            response = await self.webhook_client.post(webhook.url, content=body, headers=headers)
            if response.status_code < 300:
                return
            logger.warning(
                "katana sandbox: webhook %s to %s answered %s", event, webhook.url, response.status_code
            )
        except Exception:
            logger.warning("katana sandbox: webhook %s to %s failed", event, webhook.url, exc_info=True)
        if retry < len(self.retry_delays):
            self._retry_later(webhook, event, body, retry + 1)

    def _retry_later(self, webhook: Webhook, event: str, body: bytes, retry: int) -> None:
        """Send a failed delivery again once its delay has passed; while deliveries are held, the
        retry is held with them instead (delivered by `deliver_held`, with no wait)."""
        if self.hold_deliveries:
            self._held.append(self._send(webhook, event, body, retry))
            return

        async def later() -> None:
            await asyncio.sleep(self.retry_delays[retry - 1])
            await self._send(webhook, event, body, retry)

        task = asyncio.create_task(later(), name="katana-sandbox-webhook-retry")
        self._retrying.add(task)
        task.add_done_callback(self._retrying.discard)

    # -- records in Katana's wire format -----------------------------------------------------------

    def _location_record(self, number: int, row: tuple[Any, ...]) -> dict[str, Any]:
        _code, name, _kind, line1, city, region, postal = row[:7]
        created = _timestamp(self._seeded_at)
        return {
            "id": number,
            "name": name,
            "legal_name": name,
            "address_id": number,
            "address": {
                "id": number,
                "city": city,
                "country": "US",
                "line_1": line1,
                "line_2": "",
                "state": region,
                "zip": postal,
            },
            "is_primary": number == 1,
            "sales_allowed": True,
            "purchase_allowed": True,
            "manufacturing_allowed": False,
            "created_at": created,
            "updated_at": created,
            "deleted_at": None,
        }

    def _variant_record(self, variant: Variant) -> dict[str, Any]:
        created = _timestamp(self._seeded_at)
        return {
            "id": variant.id,
            "sku": variant.sku,
            "sales_price": float(variant.price),
            "purchase_price": float(_cost(variant)),
            "product_id": variant.product_id,
            "material_id": None,
            "type": "product",
            "internal_barcode": None,
            "registered_barcode": None,
            "supplier_item_codes": [],
            "lead_time": None,
            "minimum_order_quantity": None,
            "config_attributes": [],
            "custom_fields": [],
            "created_at": created,
            "updated_at": created,
            "deleted_at": None,
        }

    def _expected(self) -> dict[tuple[int, int], Decimal]:
        """Units on open purchase orders not yet received, per (variant, location): summed once
        per listing, not once per inventory row."""
        expected: dict[tuple[int, int], Decimal] = {}
        for order in self.purchase_orders:
            if order.status not in ("NOT_RECEIVED", "PARTIALLY_RECEIVED"):
                continue
            for row in order.rows:
                if row.received_at is None:
                    key = (row.variant_id, order.location_id)
                    expected[key] = expected.get(key, Decimal(0)) + row.quantity
        return expected

    def _inventory_record(
        self, variant_id: int, location_id: int, units: Decimal, expected_at: dict[tuple[int, int], Decimal]
    ) -> dict[str, Any]:
        variant = self.variants[variant_id]
        expected = expected_at.get((variant_id, location_id), Decimal(0))
        committed = self.committed.get((variant_id, location_id), Decimal(0))
        cost = _cost(variant)
        return {
            "variant_id": variant_id,
            "location_id": location_id,
            "safety_stock_level": "0.0",
            "reorder_point": "0.0",
            "average_cost": f"{cost:.2f}",
            "value_in_stock": f"{cost * units:.2f}",
            "quantity_in_stock": _quantity(units),
            "quantity_committed": _quantity(committed),
            "quantity_expected": _quantity(expected),
            "quantity_missing_or_excess": _quantity(units + expected - committed),
            "quantity_potential": _quantity(units + expected),
            "archived_at": None,
            "default_storage_bin": None,
        }

    def _purchase_order_record(self, order: PurchaseOrder) -> dict[str, Any]:
        created = _timestamp(self._seeded_at)
        rows: list[dict[str, Any]] = [
            {
                "id": row.id,
                "quantity": float(row.quantity),
                "variant_id": row.variant_id,
                "tax_rate_id": 1,
                "price_per_unit": float(row.price),
                "price_per_unit_in_base_currency": float(row.price),
                "purchase_uom_conversion_rate": 1.0,
                "purchase_uom": "pcs",
                "currency": "USD",
                "conversion_rate": None,
                "total": float(row.price * row.quantity),
                "total_in_base_currency": float(row.price * row.quantity),
                "conversion_date": None,
                "received_date": None if row.received_at is None else _timestamp(row.received_at),
                "arrival_date": _timestamp(order.expected_arrival),
                "batch_transactions": [],
                "purchase_order_id": order.id,
                "location_id": None,
                "landed_cost": float(row.price * row.quantity),
                "group_id": 1,
                "created_at": created,
                "updated_at": created,
                "deleted_at": None,
            }
            for row in order.rows
        ]
        total = sum((row.price * row.quantity for row in order.rows), Decimal(0))
        return {
            "id": order.id,
            "status": order.status,
            "order_no": order.order_no,
            "entity_type": "regular",
            "default_group_id": 1,
            "supplier_id": 1,
            "currency": "USD",
            "expected_arrival_date": _timestamp(order.expected_arrival),
            "order_created_date": created,
            "additional_info": "",
            "location_id": order.location_id,
            "tracking_location_id": None,
            "total": float(total),
            "total_in_base_currency": float(total),
            "billing_status": "NOT_BILLED",
            "last_document_status": "NOT_SENT",
            "purchase_order_rows": rows,
            "created_at": created,
            "updated_at": created,
            "deleted_at": None,
        }

    def _webhook_record(self, webhook: Webhook) -> dict[str, Any]:
        created = _timestamp(webhook.created_at)
        return {
            "id": webhook.id,
            "url": webhook.url,
            "token": webhook.token,
            "enabled": webhook.enabled,
            "description": webhook.description,
            "subscribed_events": webhook.subscribed_events,
            "created_at": created,
            "updated_at": created,
        }


def sign(body: bytes, token: str) -> str:
    """Katana's `X-Sha2-Signature`: HMAC-SHA256 of the raw body keyed with the webhook token, hex."""
    return hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def _error(
    status: int, name: str, message: str, headers: dict[str, str] | None = None, *, code: str | None = None
) -> Response:
    body: dict[str, Any] = {"statusCode": status, "name": name, "message": message}
    if code is not None:
        body["code"] = code
    return JSONResponse(body, status_code=status, headers=headers)


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError as error:
        raise BadRequest("the body is not JSON") from error
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def _not_found() -> Response:
    return _error(404, "NotFoundError", "Not found")


def _str_list(request: Request, name: str) -> list[str]:
    """`name=a&name=b` (OpenAPI's exploded form) or `name=a,b`."""
    return [part for value in request.query_params.getlist(name) for part in value.split(",") if part]


def _int_list(request: Request, name: str) -> set[int]:
    try:
        return {int(part) for part in _str_list(request, name)}
    except ValueError as error:
        raise BadRequest(f"{name} must be integers") from error


def _int_param(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    try:
        return None if value is None else int(value)
    except ValueError as error:
        raise BadRequest(f"{name} must be an integer") from error


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _quantity(units: Decimal) -> str:
    """Katana's decimal strings: "150.0", "7.25"."""
    return f"{units:.1f}" if units == units.to_integral_value() else str(units.normalize())


def _cost(variant: Variant) -> Decimal:
    return (variant.price * Decimal("0.4")).quantize(Decimal("0.01"))


def _timestamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- state kept across restarts -----------------------------------------------------------------


def _stock_state(stock: Mapping[tuple[int, int], Decimal]) -> list[list[Any]]:
    return [[variant, location, str(units)] for (variant, location), units in stock.items()]


def _stock_from(wire: Sequence[Sequence[Any]]) -> dict[tuple[int, int], Decimal]:
    return {(int(variant), int(location)): Decimal(units) for variant, location, units in wire}


def _purchase_order_state(order: PurchaseOrder) -> dict[str, Any]:
    return {
        "id": order.id,
        "order_no": order.order_no,
        "location_id": order.location_id,
        "status": order.status,
        "expected_arrival": order.expected_arrival,
        "rows": [
            [row.id, row.variant_id, str(row.quantity), str(row.price), row.received_at] for row in order.rows
        ],
    }


def _purchase_order_from(wire: Mapping[str, Any]) -> PurchaseOrder:
    rows = [
        PurchaseRow(
            int(row), int(variant), Decimal(quantity), Decimal(price), None if at is None else float(at)
        )
        for row, variant, quantity, price, at in wire["rows"]
    ]
    return PurchaseOrder(
        id=int(wire["id"]),
        order_no=str(wire["order_no"]),
        location_id=int(wire["location_id"]),
        status=str(wire["status"]),
        expected_arrival=float(wire["expected_arrival"]),
        rows=rows,
    )


def _records(wire: Any) -> list[dict[str, Any]]:
    """Plain JSON records (sales orders and the like), copied so no two sandboxes share one."""
    if not isinstance(wire, list) or not all(isinstance(record, dict) for record in wire):
        raise TypeError("records must be a list of objects")
    return copy.deepcopy(wire)


__all__ = ["KATANA_LOCATION_IDS", "KatanaSandbox", "RollingWindow", "sign"]


def _discount(value: Any) -> Decimal | None:
    """A row's `total_discount`: none, or an amount off the row in all, not negative."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise BadRequest("total_discount must be a number, not negative")
    return Decimal(str(value))
