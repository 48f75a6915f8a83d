"""Katana MRP as the ERP, over its public API (`https://api.katanamrp.com/v1`).

SKUs become variant ids through `GET /variants?sku=..&sku=..` (cached in memory, unknown SKUs for
a few minutes), so a warm `stock_levels` is one `GET /inventory?variant_id=..` per 250 rows.
Incoming supply is the unreceived rows of open purchase orders. A sales order carries our order
id as `ecommerce_order_id`; Katana does not enforce it unique, so a push looks before it creates.
An amendment reads the sales order back and sets each row's quantity (`PATCH /sales_order_rows/{id}`),
adds (`POST /sales_order_rows`) or deletes rows, or deletes the order when nothing is left: Katana has
no cancelled status for sales orders. Rows change only while the order is NOT_SHIPPED or PENDING;
once packed or delivered, in part or whole, it is closed (amending it is a 409 here, sent nowhere).
A fulfilment may take rows of several sales orders (a node's first and its continuations): one
`POST /sales_order_fulfillments` each, all with the parcel's tracking number, so a retry finds what
was already taken.
Webhooks are HMAC-SHA256 of the raw body keyed with the webhook token, in hex (`X-Sha2-Signature`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

import httpx

from ordergate.connectors.erp.base import (
    ErpLocation,
    IncomingSupply,
    InventoryNotice,
    SalesOrderFulfilment,
    SalesOrderHeld,
    SalesOrderPush,
    StockAdjustmentPush,
    StockLevel,
)
from ordergate.connectors.errors import UpstreamProtocolError, UpstreamRejected, WebhookRejected
from ordergate.connectors.http import CircuitBreaker, RateLimitHeaders, UpstreamClient, UpstreamPolicy
from ordergate.connectors.locks import KeyedLock
from ordergate.connectors.payloads import load_json

KATANA_URL = "https://api.katanamrp.com/v1"
UPSTREAM = "katana"
RETRY_HEADER = "x-katana-retry-num"
PAGE_LIMIT = 250
MAX_QUERY = 6000
MAX_PAGES = 400
OPEN_PURCHASE_STATUSES = ("NOT_RECEIVED", "PARTIALLY_RECEIVED")
EDITABLE_STATUSES = ("NOT_SHIPPED", "PENDING")  # a sales order's rows change only in these
ORDER_TYPE = "ordergate"
UNKNOWN_SKU_TTL = 300.0
PUSHED_ORDERS_KEPT = 10_000
SIGNATURE_HEADER = "x-sha2-signature"
VARIANT_RESOURCES = frozenset({"current_inventory", "variant"})

KATANA_RATE_LIMIT = RateLimitHeaders(
    "X-Ratelimit-Remaining", "X-Ratelimit-Reset", 0.001, reset_is_timestamp=True
)


def katana_policy(base_url: str = KATANA_URL) -> UpstreamPolicy:
    """60 requests a minute: a deadline long enough to sit out a short `Retry-After`."""
    return UpstreamPolicy(
        name=UPSTREAM,
        base_url=base_url,
        connect_timeout=3.0,
        read_timeout=10.0,
        attempts=3,
        backoff_initial=0.5,
        backoff_max=8.0,
        deadline=30.0,
        breaker_threshold=5,
        breaker_cooldown=30.0,
        min_remaining=1,
    )


class KatanaErp:
    name = UPSTREAM

    def __init__(
        self,
        client: UpstreamClient,
        *,
        webhook_secrets: Sequence[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._secrets = [secret.encode() for secret in webhook_secrets if secret]
        self._clock = clock
        self._variant_by_sku: dict[str, int] = {}
        self._sku_by_variant: dict[int, str] = {}
        self._unknown_until: dict[str, float] = {}
        self._customer_by_email: dict[str, int] = {}
        self._pushed: OrderedDict[str, str] = OrderedDict()
        self._pushing = KeyedLock()

    @classmethod
    def create(
        cls,
        base_url: str,
        token: str,
        webhook_secret: str | Sequence[str] | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        policy: UpstreamPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        breaker: CircuitBreaker | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
    ) -> KatanaErp:
        """A connector with its own client; `webhook_secret` may list two tokens during rotation."""
        client = UpstreamClient(
            policy or katana_policy(base_url),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            transport=transport,
            clock=clock,
            wall_clock=wall_clock,
            sleep=sleep,
            rate_limit=KATANA_RATE_LIMIT,
            breaker=breaker,
            event_hooks=event_hooks,
        )
        secrets = [webhook_secret] if isinstance(webhook_secret, str) else list(webhook_secret or ())
        return cls(client, webhook_secrets=secrets, clock=clock)

    async def locations(self) -> list[ErpLocation]:
        return [_location(record) for record in await self._collect("/locations", []) if _live(record)]

    async def learn(self, skus: Sequence[str]) -> None:
        await self._variant_ids(skus)

    async def stock_levels(self, skus: Sequence[str]) -> list[StockLevel]:
        sku_of = _invert(await self._variant_ids(skus))
        levels: list[StockLevel] = []
        for batch in _batches("variant_id", map(str, sorted(sku_of))):
            for record in await self._collect("/inventory", batch):
                variant_id, location_id, on_hand = _stock_row(record)
                if variant_id in sku_of and record.get("archived_at") is None:
                    levels.append(StockLevel(sku_of[variant_id], str(location_id), on_hand))
        return levels

    async def incoming_supply(self, skus: Sequence[str]) -> list[IncomingSupply]:
        sku_of = _invert(await self._variant_ids(skus))
        if not sku_of:
            return []
        totals: dict[tuple[str, str, date, str], int] = {}
        for status in OPEN_PURCHASE_STATUSES:
            for order in await self._collect("/purchase_orders", [("status", status)]):
                for variant_id, location_id, expected_on, quantity in _open_rows(order):
                    if variant_id in sku_of and quantity > 0:
                        key = (sku_of[variant_id], str(location_id), expected_on, _text(order, "order_no"))
                        totals[key] = totals.get(key, 0) + quantity
        return [
            IncomingSupply(sku=sku, erp_location_id=at, quantity=quantity, expected_on=on, reference=ref)
            for (sku, at, on, ref), quantity in sorted(totals.items(), key=lambda item: (item[0][2], item[0]))
        ]

    async def push_sales_order(self, order: SalesOrderPush, *, first: bool = False) -> str:
        async with self._pushing.hold(order.order_id):
            if order.order_id in self._pushed:
                return self._pushed[order.order_id]
            # Katana allows 60 requests a minute: a first push does not look for itself first
            found = None if first else await self._find_sales_order(order.order_id)
            sales_order_id = found or await self._create_sales_order(order)
            self._pushed[order.order_id] = sales_order_id
            if len(self._pushed) > PUSHED_ORDERS_KEPT:
                self._pushed.popitem(last=False)
            return sales_order_id

    async def find_sales_order(self, order_id: str) -> str | None:
        return await self._find_sales_order(order_id)

    async def amend_sales_order(self, erp_id: str, order: SalesOrderPush) -> str | None:
        sales_order_id = _katana_id(erp_id)
        async with self._pushing.hold(order.order_id):
            current = await self._sales_order(sales_order_id)
            if current is None:
                self._pushed.pop(order.order_id, None)
                if not order.lines:
                    return None
                created = await self._find_sales_order(order.order_id) or await self._create_sales_order(
                    order
                )
                self._pushed[order.order_id] = created
                return created
            if current.get("status") not in EDITABLE_STATUSES:
                message = f"sales order {sales_order_id} is {current.get('status')}: it cannot change"
                raise UpstreamRejected(UPSTREAM, message, status=409)
            if not order.lines:
                await self._delete(f"/sales_orders/{sales_order_id}")
                self._pushed.pop(order.order_id, None)
                return None
            await self._match_rows(current, order)
            return str(sales_order_id)

    async def sales_order(self, erp_id: str) -> SalesOrderHeld | None:
        current = await self._sales_order(_katana_id(erp_id))
        if current is None:
            return None
        rows = _rows(current)
        await self.resolve_skus([str(_integer(row, "variant_id")) for row in rows])
        units: dict[str, int] = {}
        discounts: dict[str, Decimal] = {}
        for row in rows:
            sku = self._sku_by_variant.get(_integer(row, "variant_id"))
            if sku is not None:
                units[sku] = units.get(sku, 0) + _whole(_units(row.get("quantity"), "quantity"))
                if off := _row_discount(row):
                    discounts[sku] = discounts.get(sku, Decimal(0)) + off
        closed = current.get("status") not in EDITABLE_STATUSES
        return SalesOrderHeld(erp_id=str(_id(current)), units=units, closed=closed, discounts=discounts)

    async def fulfil_sales_orders(self, erp_ids: Sequence[str], fulfilment: SalesOrderFulfilment) -> str:
        sales_order_ids = [_katana_id(erp_id) for erp_id in erp_ids]
        if not sales_order_ids:
            raise ValueError("name at least one sales order to fulfil")
        async with self._pushing.hold(f"fulfil-{sales_order_ids[0]}"):
            variants = await self._variant_ids(line.sku for line in fulfilment.lines)
            unknown = sorted({line.sku for line in fulfilment.lines} - variants.keys())
            if unknown:
                message = (
                    f"fulfilment {fulfilment.reference}: Katana knows no variant for {', '.join(unknown)}"
                )
                raise UpstreamRejected(UPSTREAM, message, status=422)
            wanted: dict[int, Decimal] = {}
            for line in fulfilment.lines:
                wanted[variants[line.sku]] = wanted.get(variants[line.sku], Decimal(0)) + line.quantity
            orders: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
            recorded: list[int] = []
            for sales_order_id in sales_order_ids:
                current = await self._sales_order(sales_order_id)
                if current is None:
                    continue
                done = await self._collect(
                    "/sales_order_fulfillments", [("sales_order_id", str(sales_order_id))]
                )
                done = [record for record in done if _live(record)]
                for record in done:  # this parcel's units taken from this sales order before
                    if record.get("tracking_number") == fulfilment.reference:
                        recorded.append(_id(record))
                        for variant_id, units in _fulfilled_units(current, [record]).items():
                            wanted[variant_id] = wanted.get(variant_id, Decimal(0)) - units
                orders.append((current, done))
            if recorded and all(units <= 0 for units in wanted.values()):
                return str(recorded[0])
            if not orders:
                message = f"sales order {', '.join(erp_ids)} is gone"
                raise UpstreamRejected(UPSTREAM, message, status=404)
            plan = _fulfilment_rows(orders, wanted, _invert(variants))
            created = [await self._fulfil(sales_order_id, rows, fulfilment) for sales_order_id, rows in plan]
            return str((recorded + created)[0])

    async def _fulfil(
        self, sales_order_id: int, rows: list[dict[str, Any]], fulfilment: SalesOrderFulfilment
    ) -> int:
        body: dict[str, Any] = {
            "sales_order_id": sales_order_id,
            "status": "DELIVERED",
            "picked_date": _wire_time(fulfilment.happened_at),
            "tracking_number": fulfilment.reference,
            "sales_order_fulfillment_rows": rows,
        }
        if fulfilment.carrier:
            body["tracking_carrier"] = fulfilment.carrier
        if fulfilment.tracking_url:
            body["tracking_url"] = fulfilment.tracking_url
        response = await self._client.post("/sales_order_fulfillments", json=body)
        return _id(self._json(response))

    async def adjust_stock(self, adjustment: StockAdjustmentPush) -> str:
        async with self._pushing.hold(f"adjust-{adjustment.reference}"):
            params = [("stock_adjustment_number", adjustment.reference)]
            found = [r for r in await self._collect("/stock_adjustments", params) if _live(r)]
            for record in found:
                if record.get("stock_adjustment_number") == adjustment.reference:
                    return str(_id(record))
            variants = await self._variant_ids(line.sku for line in adjustment.lines)
            unknown = sorted({line.sku for line in adjustment.lines} - variants.keys())
            if unknown:
                message = (
                    f"adjustment {adjustment.reference}: Katana knows no variant for {', '.join(unknown)}"
                )
                raise UpstreamRejected(UPSTREAM, message, status=422)
            body = {
                "stock_adjustment_number": adjustment.reference,
                "stock_adjustment_date": _wire_time(adjustment.happened_at),
                "location_id": _katana_id(adjustment.erp_location_id),
                "reason": adjustment.reason,
                "stock_adjustment_rows": [
                    {"variant_id": variants[line.sku], "quantity": line.quantity}
                    for line in adjustment.lines
                    if line.quantity != 0
                ],
            }
            response = await self._client.post("/stock_adjustments", json=body)
            return str(_id(self._json(response)))

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> InventoryNotice:
        signature = next((value for name, value in headers.items() if name.lower() == SIGNATURE_HEADER), None)
        if signature is None:
            raise WebhookRejected("INVALID_SIGNATURE", "the X-Sha2-Signature header is missing")
        if not self._signed(body, signature):
            raise WebhookRejected("INVALID_SIGNATURE", "the X-Sha2-Signature does not match the body")
        event, resource_type, resource_id = _webhook_event(body)
        variant_ids: tuple[str, ...] = ()
        if resource_type in VARIANT_RESOURCES and _numeric(resource_id):
            variant_ids = (resource_id,)
            if event.startswith("variant."):
                self._forget_variant(int(resource_id))
        skus = tuple(self._sku_by_variant[int(v)] for v in variant_ids if int(v) in self._sku_by_variant)
        # Katana's payload has no delivery id or timestamp: a redelivery is the same bytes.
        delivery_id = hashlib.sha256(body).hexdigest()
        return InventoryNotice(
            delivery_id=delivery_id,
            event=event,
            skus=skus,
            variant_ids=variant_ids,
            retry=_retry_number(headers),
        )

    async def resolve_skus(self, variant_ids: Sequence[str]) -> dict[str, str]:
        wanted = list(dict.fromkeys(int(v) for v in variant_ids if _numeric(v)))
        missing = [v for v in wanted if v not in self._sku_by_variant]
        for batch in _batches("ids", map(str, missing)):
            self._remember(await self._collect("/variants", batch))
        return {str(v): self._sku_by_variant[v] for v in wanted if v in self._sku_by_variant}

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- variants ----------------------------------------------------------------------------------

    async def _variant_ids(self, skus: Iterable[str]) -> dict[str, int]:
        """SKU -> variant id for the SKUs Katana knows, from the cache or one lookup per 250."""
        wanted = list(dict.fromkeys(skus))
        now = self._clock()
        missing = [
            sku
            for sku in wanted
            if sku not in self._variant_by_sku and self._unknown_until.get(sku, -math.inf) <= now
        ]
        for batch in _batches("sku", missing):
            asked = {sku for _, sku in batch}
            self._remember([r for r in await self._collect("/variants", batch) if r.get("sku") in asked])
            for sku in asked - self._variant_by_sku.keys():
                self._unknown_until[sku] = now + UNKNOWN_SKU_TTL
        return {sku: self._variant_by_sku[sku] for sku in wanted if sku in self._variant_by_sku}

    def _remember(self, records: Iterable[dict[str, Any]]) -> None:
        for record in records:
            variant_id, sku = _variant(record)
            if sku is not None and _live(record):
                self._variant_by_sku[sku] = variant_id
                self._sku_by_variant[variant_id] = sku
                self._unknown_until.pop(sku, None)

    def _forget_variant(self, variant_id: int) -> None:
        sku = self._sku_by_variant.pop(variant_id, None)
        if sku is not None:
            self._variant_by_sku.pop(sku, None)

    # -- sales orders ------------------------------------------------------------------------------

    async def _find_sales_order(self, order_id: str) -> str | None:
        params = [("ecommerce_order_id", order_id), ("ecommerce_order_type", ORDER_TYPE), ("limit", "50")]
        found = _records(self._json(await self._client.get("/sales_orders", params=params)))
        ids = sorted(_id(record) for record in found if record.get("ecommerce_order_id") == order_id)
        return str(ids[0]) if ids else None

    async def _create_sales_order(self, order: SalesOrderPush) -> str:
        _katana_id(order.erp_location_id)
        variants = await self._variant_ids(line.sku for line in order.lines)
        unknown = sorted({line.sku for line in order.lines} - variants.keys())
        if unknown:
            message = f"sales order {order.order_number}: Katana knows no variant for {', '.join(unknown)}"
            raise UpstreamRejected(UPSTREAM, message, status=422)
        customer_id = await self._customer_id(order)
        # A create is not retried: after a lost answer, the next push finds the order instead.
        response = await self._client.post("/sales_orders", json=_sales_order(order, variants, customer_id))
        return str(_id(self._json(response)))

    async def _sales_order(self, sales_order_id: int) -> dict[str, Any] | None:
        """The live sales order, or None when Katana has none (never had, or deleted it)."""
        try:
            response = await self._client.get(f"/sales_orders/{sales_order_id}")
        except UpstreamRejected as refused:
            if refused.status == 404:
                return None
            raise
        record = self._json(response)
        if not isinstance(record, dict) or _id(record) != sales_order_id:
            raise UpstreamProtocolError(UPSTREAM, f"GET /sales_orders/{sales_order_id}: not that sales order")
        return record if _live(record) else None

    async def _match_rows(self, current: dict[str, Any], order: SalesOrderPush) -> None:
        """Rows changed or added first and removed last, so the order never goes without rows;
        each step sets an absolute state, so a retry after a lost answer repeats nothing."""
        variants = await self._variant_ids(line.sku for line in order.lines)
        unknown = sorted({line.sku for line in order.lines} - variants.keys())
        if unknown:
            message = f"sales order {order.order_number}: Katana knows no variant for {', '.join(unknown)}"
            raise UpstreamRejected(UPSTREAM, message, status=422)
        wanted: dict[int, int] = {}
        prices: dict[int, Decimal] = {}
        discounts: dict[int, Decimal] = {}
        for line in order.lines:
            variant_id = variants[line.sku]
            wanted[variant_id] = wanted.get(variant_id, 0) + line.quantity
            prices.setdefault(variant_id, line.unit_price)
            discounts[variant_id] = discounts.get(variant_id, Decimal(0)) + line.discount
        rows = _rows(current)
        kept: set[int] = set()
        extra: list[int] = []
        for row in rows:
            variant_id = _integer(row, "variant_id")
            if variant_id not in wanted or variant_id in kept:
                extra.append(_id(row))
                continue
            kept.add(variant_id)
            change: dict[str, Any] = {}
            if _units(row.get("quantity"), "quantity") != wanted[variant_id]:
                change["quantity"] = wanted[variant_id]
            if _row_discount(row) != discounts[variant_id]:
                change["total_discount"] = _wire_number(discounts[variant_id])
            if change:
                await self._client.request(
                    "PATCH", f"/sales_order_rows/{_id(row)}", json=change, idempotent=True
                )
        location_id = _katana_id(order.erp_location_id)
        for variant_id in [v for v in wanted if v not in kept]:
            body = {
                "sales_order_id": _id(current),
                "variant_id": variant_id,
                "quantity": wanted[variant_id],
                "price_per_unit": _wire_number(prices[variant_id]),
                "location_id": location_id,
            } | _discounted(discounts[variant_id])
            # Not retried here: after a lost answer, the next amendment reads the row back instead.
            self._json(await self._client.post("/sales_order_rows", json=body))
        for row_id in extra:
            await self._delete(f"/sales_order_rows/{row_id}")

    async def _delete(self, path: str) -> None:
        """A DELETE that finds the thing already gone has done its work."""
        try:
            await self._client.request("DELETE", path)
        except UpstreamRejected as refused:
            if refused.status != 404:
                raise

    async def _customer_id(self, order: SalesOrderPush) -> int:
        if order.customer_email is None:  # no address to find one by: a customer of its own
            name = order.customer_name.strip() or "Storefront shopper"
            body = {"name": name, "email": None, "currency": order.currency}
            return _id(self._json(await self._client.post("/customers", json=body)))
        email = order.customer_email.strip().lower()
        if email not in self._customer_by_email:
            response = await self._client.get("/customers", params=[("email", email), ("limit", "1")])
            found = _records(self._json(response))
            if found:
                self._customer_by_email[email] = _id(found[0])
            else:
                body = {
                    "name": order.customer_name.strip() or email,
                    "email": email,
                    "currency": order.currency,
                }
                self._customer_by_email[email] = _id(
                    self._json(await self._client.post("/customers", json=body))
                )
        return self._customer_by_email[email]

    # -- wire --------------------------------------------------------------------------------------

    async def _collect(self, path: str, params: list[tuple[str, str]]) -> list[dict[str, Any]]:
        """Every page of a list, following `X-Pagination` to its last page."""
        records: list[dict[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            query = [*params, ("limit", str(PAGE_LIMIT)), ("page", str(page))]
            response = await self._client.get(path, params=query)
            batch = _records(self._json(response))
            records.extend(batch)
            if not batch or _last_page(response, page, len(batch)):
                return records
        raise UpstreamProtocolError(UPSTREAM, f"GET {path}: more than {MAX_PAGES} pages")

    def _json(self, response: httpx.Response) -> Any:
        try:
            return load_json(response.content, parse_float=Decimal)
        except ValueError as error:
            raise UpstreamProtocolError(UPSTREAM, f"{response.request.url.path}: body is not JSON") from error

    def _signed(self, body: bytes, signature: str) -> bool:
        presented = signature.strip().removeprefix("sha256=")
        try:
            digest = bytes.fromhex(presented)
        except ValueError:
            return False
        matched = False
        for secret in self._secrets:
            matched |= hmac.compare_digest(digest, hmac.new(secret, body, hashlib.sha256).digest())
        return matched


# -- payload mappers -------------------------------------------------------------------------------


def _records(body: Any) -> list[dict[str, Any]]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or not all(isinstance(record, dict) for record in data):
        raise UpstreamProtocolError(UPSTREAM, "a list response without a `data` array of objects")
    return data


def _last_page(response: httpx.Response, page: int, received: int) -> bool:
    header = response.headers.get("X-Pagination")
    if header is None:
        return received < PAGE_LIMIT
    try:
        pagination = load_json(header)
        return bool(pagination["last_page"] == "true" or page >= int(pagination["total_pages"]))
    except (ValueError, KeyError, TypeError) as error:
        raise UpstreamProtocolError(UPSTREAM, f"unreadable X-Pagination header {header[:100]!r}") from error


def _id(record: Any) -> int:
    value = record.get("id") if isinstance(record, dict) else None
    if not isinstance(value, int) or isinstance(value, bool):
        raise UpstreamProtocolError(UPSTREAM, f"a record without an integer id: {str(record)[:200]}")
    return value


def _integer(record: dict[str, Any], name: str) -> int:
    value = record.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise UpstreamProtocolError(UPSTREAM, f"`{name}` is not an integer: {value!r}")
    return value


def _text(record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    return value if isinstance(value, str) else ""


def _live(record: dict[str, Any]) -> bool:
    return record.get("deleted_at") is None


def _units(value: Any, name: str) -> Decimal:
    """A Katana quantity (a decimal string like "150.0", or a JSON number) as an exact Decimal."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise UpstreamProtocolError(UPSTREAM, f"`{name}` is not a quantity: {value!r}")
    try:
        units = Decimal(value)
    except InvalidOperation as error:
        raise UpstreamProtocolError(UPSTREAM, f"`{name}` is not a quantity: {value!r}") from error
    if not units.is_finite():
        raise UpstreamProtocolError(UPSTREAM, f"`{name}` is not a quantity: {value!r}")
    return units


def _whole(units: Decimal) -> int:
    return math.floor(units)


def _day(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise UpstreamProtocolError(UPSTREAM, f"not an ISO 8601 timestamp: {value!r}") from error
    return moment.astimezone(UTC).date() if moment.tzinfo else moment.date()


def _location(record: dict[str, Any]) -> ErpLocation:
    address = record.get("address")
    if not isinstance(address, dict):
        address = {}
    country = _text(address, "country")
    return ErpLocation(
        erp_id=str(_id(record)),
        name=_text(record, "name"),
        line1=_text(address, "line_1") or None,
        city=_text(address, "city") or None,
        region=_text(address, "state") or None,
        postal_code=_text(address, "zip") or None,
        country_code=country.upper() if len(country) == 2 else None,
    )


def _variant(record: dict[str, Any]) -> tuple[int, str | None]:
    sku = record.get("sku")
    return _id(record), sku if isinstance(sku, str) and sku else None


def _stock_row(record: dict[str, Any]) -> tuple[int, int, int]:
    units = _units(record.get("quantity_in_stock"), "quantity_in_stock")
    return _integer(record, "variant_id"), _integer(record, "location_id"), _whole(units)


def _open_rows(order: dict[str, Any]) -> Iterable[tuple[int, int, date, int]]:
    """(variant id, location id, expected date, stock units) of each row not yet received."""
    if not _live(order) or order.get("status") not in OPEN_PURCHASE_STATUSES:
        return
    rows = order.get("purchase_order_rows") or []
    if not isinstance(rows, list):
        raise UpstreamProtocolError(UPSTREAM, "`purchase_order_rows` is not a list")
    for row in rows:
        if not isinstance(row, dict) or row.get("received_date") is not None or not _live(row):
            continue
        expected_on = _day(row.get("arrival_date")) or _day(order.get("expected_arrival_date"))
        if expected_on is None:
            continue
        rate = row.get("purchase_uom_conversion_rate")
        units = _units(row.get("quantity"), "quantity") * (_units(rate, "rate") if rate is not None else 1)
        location_id = row.get("location_id") or order.get("location_id")
        if not isinstance(location_id, int):
            raise UpstreamProtocolError(UPSTREAM, f"purchase order {_id(order)} has no location")
        yield _integer(row, "variant_id"), location_id, expected_on, _whole(units)


def _webhook_event(body: bytes) -> tuple[str, str, str]:
    """(action, resource type, object id) of a WebhookEventPayload."""
    try:
        payload = load_json(body)
    except ValueError as error:
        raise WebhookRejected("MALFORMED_PAYLOAD", "the body is not JSON") from error
    thing = payload.get("object") if isinstance(payload, dict) else None
    action = payload.get("action") if isinstance(payload, dict) else None
    if (
        not isinstance(action, str)
        or not isinstance(thing, dict)
        or not isinstance(thing.get("id"), str | int)
    ):
        raise WebhookRejected("MALFORMED_PAYLOAD", "the body is not a Katana webhook event")
    resource_type = payload.get("resource_type")
    return action, resource_type if isinstance(resource_type, str) else "", str(thing["id"])


def _sales_order(order: SalesOrderPush, variants: Mapping[str, int], customer_id: int) -> dict[str, Any]:
    location_id = _katana_id(order.erp_location_id)
    body: dict[str, Any] = {
        "order_no": order.order_number,
        "customer_id": customer_id,
        "location_id": location_id,
        "currency": order.currency,
        "ecommerce_order_type": ORDER_TYPE,
        "ecommerce_order_id": order.order_id,
        "sales_order_rows": [
            {
                "variant_id": variants[line.sku],
                "quantity": line.quantity,
                "price_per_unit": _wire_number(line.unit_price),
                "location_id": location_id,
            }
            | _discounted(line.discount)
            for line in order.lines
        ],
    }
    if order.delivery_date is not None:
        body["delivery_date"] = f"{order.delivery_date.isoformat()}T00:00:00.000Z"
    return body


def _discounted(discount: Decimal) -> dict[str, Any]:
    """A row's `total_discount`, sent only when there is one (most orders have none)."""
    return {"total_discount": _wire_number(discount)} if discount else {}


def _row_discount(row: dict[str, Any]) -> Decimal:
    """What a row Katana holds has off, in all (none: 0)."""
    value = row.get("total_discount")
    if value is None:
        return Decimal(0)
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise UpstreamProtocolError(UPSTREAM, f"`total_discount` is not an amount: {value!r}")
    try:
        amount = Decimal(str(value))
    except InvalidOperation as error:
        raise UpstreamProtocolError(UPSTREAM, f"`total_discount` is not an amount: {value!r}") from error
    if not amount.is_finite():
        raise UpstreamProtocolError(UPSTREAM, f"`total_discount` is not an amount: {value!r}")
    return amount


def _numeric(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _rows(order: dict[str, Any]) -> list[dict[str, Any]]:
    rows = order.get("sales_order_rows") or []
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise UpstreamProtocolError(UPSTREAM, "`sales_order_rows` is not a list of rows")
    return rows


def _fulfilled_units(order: dict[str, Any], records: Sequence[dict[str, Any]]) -> dict[int, Decimal]:
    """Units per variant that these fulfilment records took from the sales order's rows."""
    variant_of = {_id(row): _integer(row, "variant_id") for row in _rows(order)}
    units: dict[int, Decimal] = {}
    for row_id, quantity in _fulfilled_rows(records).items():
        if row_id in variant_of:
            units[variant_of[row_id]] = units.get(variant_of[row_id], Decimal(0)) + quantity
    return units


def _fulfilled_rows(records: Sequence[dict[str, Any]]) -> dict[int, Decimal]:
    fulfilled: dict[int, Decimal] = {}
    for record in records:
        for row in record.get("sales_order_fulfillment_rows") or []:
            if isinstance(row, dict) and isinstance(row.get("sales_order_row_id"), int):
                key = row["sales_order_row_id"]
                fulfilled[key] = fulfilled.get(key, Decimal(0)) + _units(row.get("quantity", 0), "quantity")
    return fulfilled


def _fulfilment_rows(
    orders: Sequence[tuple[dict[str, Any], Sequence[dict[str, Any]]]],
    wanted: Mapping[int, Decimal],
    sku_of: Mapping[int, str],
) -> list[tuple[int, list[dict[str, Any]]]]:
    """Per sales order, the rows that take the `wanted` units (per variant), the first sales
    order's first, each row no further than what earlier fulfilments left of it; 422 when the
    sales orders together do not hold them."""
    open_rows: dict[int, list[tuple[int, int, Decimal]]] = {}
    for current, done in orders:
        fulfilled = _fulfilled_rows(done)
        for row in _rows(current):
            left = _units(row.get("quantity", 0), "quantity") - fulfilled.get(_id(row), Decimal(0))
            if left > 0:
                open_rows.setdefault(_integer(row, "variant_id"), []).append((_id(current), _id(row), left))
    taken: dict[int, list[dict[str, Any]]] = {}
    for variant_id, units in wanted.items():
        for sales_order_id, row_id, left in open_rows.get(variant_id, []):
            take = min(units, left)
            if take > 0:
                taken.setdefault(sales_order_id, []).append(
                    {"sales_order_row_id": row_id, "quantity": _wire_number(take)}
                )
                units -= take
        if units > 0:
            ids = ", ".join(str(_id(current)) for current, _ in orders)
            message = f"sales order {ids} has no open row for {units} x {sku_of[variant_id]}"
            raise UpstreamRejected(UPSTREAM, message, status=422)
    return [(_id(current), taken[_id(current)]) for current, _ in orders if _id(current) in taken]


def _wire_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _katana_id(erp_location_id: str) -> int:
    if not _numeric(erp_location_id):
        raise ValueError(f"{erp_location_id!r} is not a Katana location id")
    return int(erp_location_id)


def _wire_number(amount: Decimal) -> int | float:
    # JSON has one number type; a price with at most 15 digits prints back exactly.
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def _invert(variants: Mapping[str, int]) -> dict[int, str]:
    return {variant_id: sku for sku, variant_id in variants.items()}


def _batches(name: str, values: Iterable[str]) -> Iterable[list[tuple[str, str]]]:
    """`name=value` query pairs, at most 250 and about 6 kB of query string per request."""
    batch: list[tuple[str, str]] = []
    length = 0
    for value in values:
        size = len(name) + len(quote(value, safe="")) + 2
        if batch and (len(batch) == PAGE_LIMIT or length + size > MAX_QUERY):
            yield batch
            batch, length = [], 0
        batch.append((name, value))
        length += size
    if batch:
        yield batch


__all__ = ["KATANA_RATE_LIMIT", "KATANA_URL", "KatanaErp", "katana_policy"]


def _retry_number(headers: Mapping[str, str]) -> int:
    """Katana numbers its redeliveries in `X-Katana-Retry-Num` (absent or 0 the first time)."""
    raw = next((value for name, value in headers.items() if name.lower() == RETRY_HEADER), None) or "0"
    return int(raw) if raw.strip().isdigit() else 0
