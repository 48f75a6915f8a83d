"""BigCommerce as the storefront, over its REST API (`https://api.bigcommerce.com/stores/{hash}`).

Orders are v2: bare JSON arrays paged by `page`/`limit` (an empty page may be `204 No Content`),
money and quantities as decimal strings, dates in RFC 2822; an order's lines and shipping
addresses are sub-resources, fetched a few at a time. Customers, variants, inventory, locations
and webhooks are v3: `{data, meta: {pagination}}`. Every request carries `X-Auth-Token`, `Accept`
and `Content-Type: application/json` (BigCommerce wants the latter even on GETs).

Webhooks are thin (`data: {type, id}`) and unsigned; we register them with a custom header that
carries our secret, compared in constant time. A shipment push looks for one with the same
tracking number before it creates one, serialised per order.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from ordergate.connectors.errors import UpstreamProtocolError, UpstreamRejected, WebhookRejected
from ordergate.connectors.http import CircuitBreaker, RateLimitHeaders, UpstreamClient, UpstreamPolicy
from ordergate.connectors.locks import KeyedLock
from ordergate.connectors.payloads import load_json
from ordergate.connectors.storefront.base import (
    AvailabilityPush,
    OrderAction,
    OrdersPage,
    PushedStatus,
    ShipmentPush,
    StorefrontCustomer,
    StorefrontLocation,
    StorefrontNotice,
    StorefrontOrder,
    StorefrontOrderLine,
    StorefrontPayment,
    StorefrontVariant,
)
from ordergate.models.address import Address

UPSTREAM = "bigcommerce"

STATUS_ACTIONS: Mapping[int, tuple[str, OrderAction]] = {
    0: ("Incomplete", OrderAction.IGNORE),
    1: ("Pending", OrderAction.IMPORT),
    2: ("Shipped", OrderAction.DONE),
    3: ("Partially Shipped", OrderAction.IMPORT),
    4: ("Refunded", OrderAction.CANCEL),
    5: ("Cancelled", OrderAction.CANCEL),
    6: ("Declined", OrderAction.IGNORE),
    7: ("Awaiting Payment", OrderAction.IGNORE),
    8: ("Awaiting Pickup", OrderAction.IMPORT),
    9: ("Awaiting Shipment", OrderAction.IMPORT),
    10: ("Completed", OrderAction.DONE),
    11: ("Awaiting Fulfillment", OrderAction.IMPORT),
    12: ("Manual Verification Required", OrderAction.HOLD),
    13: ("Disputed", OrderAction.HOLD),
    14: ("Partially Refunded", OrderAction.IMPORT),
}
"""BigCommerce order status id -> (its system label, what ordergate does with it)."""

SUSPECTED_FRAUD = frozenset({12, 13})  # Manual Verification Required, Disputed

STATUS_IDS: Mapping[PushedStatus, int] = {
    PushedStatus.SHIPPED: 2,
    PushedStatus.PARTIALLY_SHIPPED: 3,
    PushedStatus.CANCELLED: 5,
    PushedStatus.AWAITING_PICKUP: 8,
    PushedStatus.COMPLETED: 10,
}
"""The status ids ordergate sets, by the domain's name for them."""

# BigCommerce's payment_status words: the card is held for the total, or the money is taken
PAYMENT_TAKEN = frozenset({"authorized", "captured", "capture pending", "paid", "partially refunded"})
PAYMENT_CAPTURED = frozenset({"captured", "paid", "partially refunded"})
CHANNELS: Mapping[int, str] = {1: "web"}  # channel ids: 1 is the store's own storefront
ORDER_SCOPE_PREFIX = "store/order/"


def status_of(status_id: int) -> OrderAction:
    """What to do with an order in this status; an id not in the table is held for a person,
    never silently imported or dropped."""
    found = STATUS_ACTIONS.get(status_id)
    return found[1] if found is not None else OrderAction.HOLD


def payment_of(word: str) -> StorefrontPayment:
    lowered = word.strip().lower()
    if lowered in PAYMENT_CAPTURED:
        return StorefrontPayment.CAPTURED
    if lowered in PAYMENT_TAKEN:
        return StorefrontPayment.AUTHORISED
    return StorefrontPayment.NONE


def channel_of(channel_id: int) -> str:
    return CHANNELS.get(channel_id, f"{UPSTREAM}-{channel_id}")


CHARGES = ("handling_cost_ex_tax", "wrapping_cost_ex_tax")  # besides shipping, to get it there
DISCOUNTS = ("discount_amount", "coupon_discount")  # off the goods, before tax
PAGE_LIMIT = 250
MAX_QUERY = 4000
MAX_PAGES = 400
ADJUSTMENT_LIMIT = 2000
CONCURRENCY = 4
SECRET_HEADER = "X-Ordergate-Webhook-Secret"  # noqa: S105 (the name of a header)
ADJUSTMENT_REASON = "ordergate availability"
ORDER_SCOPES = (
    "store/order/created",
    "store/order/updated",
    "store/order/statusUpdated",
    "store/order/refund/created",
)
# `shipping_provider` values BigCommerce links natively; any other carrier goes as `tracking_carrier`.
SHIPPING_PROVIDERS = frozenset(
    {"auspost", "canadapost", "endicia", "usps", "fedex", "ups", "upsready", "upsonline", "royalmail"}
)

BIGCOMMERCE_RATE_LIMIT = RateLimitHeaders("X-Rate-Limit-Requests-Left", "X-Rate-Limit-Time-Reset-Ms", 0.001)

T = TypeVar("T")


def bigcommerce_policy(base_url: str) -> UpstreamPolicy:
    """A 30 s request window: the deadline is long enough to sit out a spent budget once."""
    return UpstreamPolicy(
        name=UPSTREAM,
        base_url=base_url,
        connect_timeout=3.0,
        read_timeout=10.0,
        attempts=3,
        backoff_initial=0.5,
        backoff_max=8.0,
        deadline=40.0,
        breaker_threshold=5,
        breaker_cooldown=30.0,
        min_remaining=1,
    )


class BigCommerceStorefront:
    name = UPSTREAM

    def __init__(self, client: UpstreamClient, *, webhook_secrets: Sequence[str] = ()) -> None:
        self._client = client
        self._secrets = [secret for secret in webhook_secrets if secret][:2]
        self._shipping = KeyedLock()

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
    ) -> BigCommerceStorefront:
        """A connector with its own client for the store root `base_url` (the real one, or the
        sandbox's mount); `webhook_secret` may list two secrets during rotation."""
        client = UpstreamClient(
            policy or bigcommerce_policy(base_url),
            headers={
                "X-Auth-Token": token,
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
            transport=transport,
            clock=clock,
            wall_clock=wall_clock,
            sleep=sleep,
            rate_limit=BIGCOMMERCE_RATE_LIMIT,
            breaker=breaker,
            event_hooks=event_hooks,
        )
        secrets = [webhook_secret] if isinstance(webhook_secret, str) else list(webhook_secret or ())
        return cls(client, webhook_secrets=secrets)

    # -- orders ------------------------------------------------------------------------------------

    async def orders_page(
        self, *, page: int = 1, limit: int = 50, min_date_modified: datetime | None = None
    ) -> OrdersPage:
        limit = min(max(limit, 1), PAGE_LIMIT)
        params = [("page", str(max(page, 1))), ("limit", str(limit))]
        if min_date_modified is not None:
            if min_date_modified.tzinfo is None:
                raise ValueError("min_date_modified must be timezone-aware")
            params.append(
                ("min_date_modified", email.utils.format_datetime(min_date_modified.astimezone(UTC)))
            )
        summaries = _objects(await self._v2_list("/v2/orders", params), "orders")
        orders = await _bounded(self._complete, summaries)
        return OrdersPage(orders=tuple(orders), page=max(page, 1), has_more=len(summaries) >= limit)

    async def order(self, external_id: str) -> StorefrontOrder | None:
        try:
            summary = self._json(await self._client.get(f"/v2/orders/{_order_id(external_id)}"))
        except UpstreamRejected as error:
            if error.status == 404:
                return None
            raise
        if not isinstance(summary, dict):
            raise UpstreamProtocolError(UPSTREAM, f"order {external_id} is not an object")
        return await self._complete(summary)

    async def set_status(self, external_id: str, status: PushedStatus) -> None:
        await self._client.put(
            f"/v2/orders/{_order_id(external_id)}", json={"status_id": STATUS_IDS[PushedStatus(status)]}
        )

    async def push_shipment(self, shipment: ShipmentPush) -> str:
        order_id = _order_id(shipment.order_external_id)
        if not shipment.items or any(quantity < 1 for _, quantity in shipment.items):
            raise ValueError("a shipment needs at least one item, each with a positive quantity")
        async with self._shipping.hold(str(order_id)):
            path = f"/v2/orders/{order_id}/shipments"
            for existing in _objects(await self._v2_all(path), "shipments"):
                if existing.get("tracking_number") == shipment.tracking_number:
                    return str(_id(existing))
            addresses = _objects(await self._v2_all(f"/v2/orders/{order_id}/shipping_addresses"), "addresses")
            if not addresses:
                message = f"order {order_id} has no shipping address to ship from"
                raise UpstreamRejected(UPSTREAM, message, status=422)
            lines = _objects(await self._v2_all(f"/v2/orders/{order_id}/products"), "products")
            items = _onto_lines(order_id, shipment.items, lines)
            # A create is not retried: after a lost answer, the next push finds the shipment instead.
            response = await self._client.post(path, json=_shipment(shipment, items, _id(addresses[0])))
            return str(_id(self._json(response)))

    # -- customers ---------------------------------------------------------------------------------

    async def customers(self, ids: Sequence[int]) -> dict[int, StorefrontCustomer]:
        found: dict[int, StorefrontCustomer] = {}
        for batch in _batches([str(number) for number in dict.fromkeys(ids)]):
            for customer in await self._customers([("id:in", ",".join(batch))], len(batch)):
                found[customer.id] = customer
        return {number: found[number] for number in ids if number in found}

    async def customers_by_email(self, emails: Sequence[str]) -> dict[str, StorefrontCustomer]:
        wanted = list(dict.fromkeys(address.strip().lower() for address in emails if address.strip()))
        found: dict[str, StorefrontCustomer] = {}
        for batch in _batches(wanted):
            for customer in await self._customers([("email:in", ",".join(batch))], len(batch)):
                found[customer.email.lower()] = customer
        return {asked: found[asked.strip().lower()] for asked in emails if asked.strip().lower() in found}

    async def search_customers(
        self, query: str, *, page: int = 1, limit: int = 20
    ) -> tuple[list[StorefrontCustomer], bool]:
        query = query.strip()
        if not query:
            return [], False
        name = "email:in" if _looks_like_email(query) else "name:like"
        # Both filters split their value on commas; a comma in a search means nothing here.
        params = [(name, query.replace(",", " ")), ("include", "addresses")]
        body = await self._v3_page("/v3/customers", params, page=page, limit=min(max(limit, 1), PAGE_LIMIT))
        return [_customer(record) for record in _data(body)], _has_more(body)

    async def _customers(self, params: list[tuple[str, str]], count: int) -> list[StorefrontCustomer]:
        body = await self._v3_page("/v3/customers", [*params, ("include", "addresses")], page=1, limit=count)
        return [_customer(record) for record in _data(body)]

    # -- catalogue ---------------------------------------------------------------------------------

    async def variants(self, *, page: int = 1, limit: int = 250) -> tuple[list[StorefrontVariant], bool]:
        limit = min(max(limit, 1), PAGE_LIMIT)
        body = await self._v3_page("/v3/catalog/variants", [], page=page, limit=limit)
        return await self._named(_data(body)), _has_more(body)

    async def variants_by_sku(self, skus: Sequence[str]) -> dict[str, StorefrontVariant]:
        # /v3/catalog/variants filters by one `sku` only (the spec has no `sku:in` there).
        async def one(sku: str) -> list[dict[str, Any]]:
            body = await self._v3_page("/v3/catalog/variants", [("sku", sku)], page=1, limit=PAGE_LIMIT)
            return [record for record in _data(body) if record.get("sku") == sku]

        wanted = list(dict.fromkeys(sku for sku in skus if sku))
        records = [record for found in await _bounded(one, wanted) for record in found]
        by_sku = {variant.sku: variant for variant in await self._named(records)}
        return {sku: by_sku[sku] for sku in wanted if sku in by_sku}

    async def _named(self, records: list[dict[str, Any]]) -> list[StorefrontVariant]:
        """Variants carry no name: their products' names, one request per 250 products."""
        product_ids = list(dict.fromkeys(str(_integer(record, "product_id")) for record in records))
        names: dict[int, str] = {}
        for batch in _batches(product_ids):
            params = [("id:in", ",".join(batch)), ("include_fields", "name")]
            body = await self._v3_page("/v3/catalog/products", params, page=1, limit=len(batch))
            names.update({_id(product): _text(product, "name") for product in _data(body)})
        return [_variant(record, names) for record in records if _text(record, "sku")]

    # -- inventory ---------------------------------------------------------------------------------

    async def set_availability(self, pushes: Sequence[AvailabilityPush]) -> None:
        items = [
            {"location_id": push.location_id, "sku": push.sku, "quantity": max(push.available, 0)}
            for push in pushes
        ]
        for start in range(0, len(items), ADJUSTMENT_LIMIT):
            body = {"reason": ADJUSTMENT_REASON, "items": items[start : start + ADJUSTMENT_LIMIT]}
            await self._client.put("/v3/inventory/adjustments/absolute", json=body)

    async def locations(self) -> list[StorefrontLocation]:
        locations: list[StorefrontLocation] = []
        for page in range(1, MAX_PAGES + 1):
            body = await self._v3_page("/v3/inventory/locations", [], page=page, limit=PAGE_LIMIT)
            locations.extend(_location(record) for record in _data(body))
            if not _has_more(body):
                return locations
        raise UpstreamProtocolError(UPSTREAM, f"GET /v3/inventory/locations: more than {MAX_PAGES} pages")

    # -- webhooks ----------------------------------------------------------------------------------

    async def register_webhooks(self, destination: str, scopes: Sequence[str] = ORDER_SCOPES) -> list[int]:
        """Hooks for `scopes` at `destination`, carrying our secret header; existing ones are kept.
        The hook ids, in the order of `scopes`."""
        if not self._secrets:
            raise ValueError("no webhook secret is configured to send with the hooks")
        body = self._json(await self._client.get("/v3/hooks", params=[("destination", destination)]))
        existing = {
            _text(hook, "scope"): _id(hook) for hook in _data(body) if hook.get("destination") == destination
        }
        ids: list[int] = []
        for scope in scopes:
            if scope not in existing:
                hook = {
                    "scope": scope,
                    "destination": destination,
                    "is_active": True,
                    "headers": {SECRET_HEADER: self._secrets[0]},
                }
                created = self._json(await self._client.post("/v3/hooks", json=hook))
                existing[scope] = _id(created.get("data") if isinstance(created, dict) else None)
            ids.append(existing[scope])
        return ids

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> StorefrontNotice:
        if not self._secrets:
            raise WebhookRejected("NOT_CONFIGURED", "no BigCommerce webhook secret is configured")
        lowered = SECRET_HEADER.lower()
        presented = next((value for name, value in headers.items() if name.lower() == lowered), None)
        if presented is None:
            raise WebhookRejected("INVALID_SIGNATURE", f"the {SECRET_HEADER} header is missing")
        matched = False
        for secret in self._secrets:
            matched |= hmac.compare_digest(_digest(presented), _digest(secret))
        if not matched:
            raise WebhookRejected("INVALID_SIGNATURE", f"the {SECRET_HEADER} header is not our secret")
        return _notice(body)

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- wire --------------------------------------------------------------------------------------

    async def _complete(self, summary: dict[str, Any]) -> StorefrontOrder:
        """An order summary with its lines and first shipping address, fetched side by side."""
        order_id = _id(summary)
        addresses: list[dict[str, Any]] = []
        if _count(summary.get("shipping_address_count")) > 0:
            lines_body, address_body = await asyncio.gather(
                self._v2_all(f"/v2/orders/{order_id}/products"),
                self._v2_all(f"/v2/orders/{order_id}/shipping_addresses"),
            )
            addresses = _objects(address_body, "shipping addresses")
        else:
            lines_body = await self._v2_all(f"/v2/orders/{order_id}/products")
        return _order(summary, _objects(lines_body, "order products"), addresses)

    async def _v2_list(self, path: str, params: list[tuple[str, str]]) -> list[Any]:
        response = await self._client.get(path, params=params)
        if response.status_code == 204 or not response.content.strip():
            return []
        body = self._json(response)
        if not isinstance(body, list):
            raise UpstreamProtocolError(UPSTREAM, f"GET {path}: not a JSON array")
        return body

    async def _v2_all(self, path: str) -> list[Any]:
        """Every page of a v2 sub-resource list."""
        records: list[Any] = []
        for page in range(1, MAX_PAGES + 1):
            batch = await self._v2_list(path, [("page", str(page)), ("limit", str(PAGE_LIMIT))])
            records.extend(batch)
            if len(batch) < PAGE_LIMIT:
                return records
        raise UpstreamProtocolError(UPSTREAM, f"GET {path}: more than {MAX_PAGES} pages")

    async def _v3_page(self, path: str, params: list[tuple[str, str]], *, page: int, limit: int) -> Any:
        query = [*params, ("page", str(max(page, 1))), ("limit", str(limit))]
        body = self._json(await self._client.get(path, params=query))
        _data(body)
        return body

    def _json(self, response: httpx.Response) -> Any:
        try:
            return load_json(response.content, parse_float=Decimal)
        except ValueError as error:
            raise UpstreamProtocolError(UPSTREAM, f"{response.request.url.path}: body is not JSON") from error


async def _bounded(call: Callable[[T], Awaitable[Any]], items: Sequence[T]) -> list[Any]:
    """`call` on each item, at most CONCURRENCY at once, results in item order."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(item: T) -> Any:
        async with gate:
            return await call(item)

    return list(await asyncio.gather(*(one(item) for item in items)))


# -- payload mappers -------------------------------------------------------------------------------


def _objects(body: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(body, list) or not all(isinstance(record, dict) for record in body):
        raise UpstreamProtocolError(UPSTREAM, f"{what}: not a list of objects")
    return body


def _data(body: Any) -> list[dict[str, Any]]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or not all(isinstance(record, dict) for record in data):
        raise UpstreamProtocolError(UPSTREAM, "a v3 list response without a `data` array of objects")
    return data


def _has_more(body: dict[str, Any]) -> bool:
    meta = body.get("meta")
    pagination = meta.get("pagination") if isinstance(meta, dict) else None
    if not isinstance(pagination, dict):
        raise UpstreamProtocolError(UPSTREAM, "a v3 list response without meta.pagination")
    current, total = pagination.get("current_page"), pagination.get("total_pages")
    if not isinstance(current, int) or not isinstance(total, int):
        raise UpstreamProtocolError(UPSTREAM, f"unreadable meta.pagination {str(pagination)[:200]}")
    return current < total


def _id(record: Any) -> int:
    return _integer(record if isinstance(record, dict) else {}, "id")


def _integer(record: dict[str, Any], name: str) -> int:
    value = record.get(name)
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise UpstreamProtocolError(UPSTREAM, f"`{name}` is not an integer: {str(value)[:100]!r}")
    return value


def _count(value: Any) -> int:
    """A v2 count or quantity: an integer, a whole JSON number or a decimal string."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    amount = _money(value, "quantity") if value is not None else Decimal(0)
    if amount != amount.to_integral_value():
        raise UpstreamProtocolError(UPSTREAM, f"not a whole quantity: {value!r}")
    return int(amount)


def _text(record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    return value if isinstance(value, str) else ""


def _optional_text(record: dict[str, Any], name: str) -> str | None:
    return _text(record, name) or None


def _money(value: Any, name: str) -> Decimal:
    """A v2 amount ("19.9900") or a v3 JSON number, as an exact Decimal."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise UpstreamProtocolError(UPSTREAM, f"`{name}` is not an amount: {value!r}")
    try:
        amount = Decimal(value)
    except InvalidOperation as error:
        raise UpstreamProtocolError(UPSTREAM, f"`{name}` is not an amount: {value!r}") from error
    if not amount.is_finite():
        raise UpstreamProtocolError(UPSTREAM, f"`{name}` is not an amount: {value!r}")
    return amount


def _date(value: Any, name: str) -> datetime:
    """A v2 RFC 2822 date ("Tue, 03 Mar 2026 14:05:00 +0000"), in UTC."""
    if not isinstance(value, str):
        raise UpstreamProtocolError(UPSTREAM, f"`{name}` is not a date: {value!r}")
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError) as error:
        raise UpstreamProtocolError(UPSTREAM, f"`{name}` is not an RFC 2822 date: {value!r}") from error
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _order(
    summary: dict[str, Any], lines: list[dict[str, Any]], addresses: list[dict[str, Any]]
) -> StorefrontOrder:
    billing = summary.get("billing_address")
    if not isinstance(billing, dict):
        billing = {}
    customer_id = _count(summary.get("customer_id"))
    channel = summary.get("channel_id")
    external = _optional_text(summary, "external_order_id") or _optional_text(summary, "external_id")
    status_id = _integer(summary, "status_id")
    return StorefrontOrder(
        external_id=str(_id(summary)),
        status=_text(summary, "status"),
        status_code=str(status_id),
        action=status_of(status_id),
        suspected_fraud=status_id in SUSPECTED_FRAUD,
        customer_id=customer_id or None,
        email=_text(billing, "email"),
        first_name=_text(billing, "first_name"),
        last_name=_text(billing, "last_name"),
        phone=_text(billing, "phone"),
        currency=_text(summary, "currency_code") or _text(summary, "default_currency_code"),
        subtotal=_money(summary.get("subtotal_ex_tax"), "subtotal_ex_tax"),
        shipping=sum(
            (_money(summary.get(name) or "0", name) for name in CHARGES),
            _money(summary.get("shipping_cost_ex_tax"), "shipping_cost_ex_tax"),
        ),
        tax=_money(summary.get("total_tax"), "total_tax"),
        total=_money(summary.get("total_inc_tax"), "total_inc_tax"),
        date_created=_date(summary.get("date_created"), "date_created"),
        date_modified=_date(summary.get("date_modified"), "date_modified"),
        lines=tuple(_line(line) for line in lines if line.get("parent_order_product_id") is None),
        shipping_address=_order_address(addresses[0]) if addresses else None,
        shipping_address_id=_id(addresses[0]) if addresses else None,
        channel=channel_of(channel if isinstance(channel, int) and not isinstance(channel, bool) else 1),
        external_source=_optional_text(summary, "external_source"),
        external_order_id=external,
        payment=payment_of(_text(summary, "payment_status")),
        payment_method=_text(summary, "payment_method"),
        billing_address=_billing_address(billing) if _text(billing, "zip") else None,
        refunded=_money(summary.get("refunded_amount") or "0", "refunded_amount"),
        discount=sum((_money(summary.get(name) or "0", name) for name in DISCOUNTS), Decimal(0)),
    )


def _billing_address(record: dict[str, Any]) -> Address:
    """The v2 order's billing address, shaped as its shipping addresses are."""
    return _order_address(record)


def _line(record: dict[str, Any]) -> StorefrontOrderLine:
    variant_id = record.get("variant_id")
    return StorefrontOrderLine(
        order_product_id=_id(record),
        sku=_text(record, "sku"),
        name=_text(record, "name"),
        quantity=_count(record.get("quantity")),
        unit_price=_money(record.get("price_ex_tax"), "price_ex_tax"),
        variant_id=variant_id if isinstance(variant_id, int) and variant_id > 0 else None,
        refunded=_count(record.get("quantity_refunded")),
    )


def _order_address(record: dict[str, Any]) -> Address:
    country = _text(record, "country_iso2").upper()
    return Address(
        name=_full_name(record),
        line1=_text(record, "street_1"),
        line2=_text(record, "street_2") or None,
        city=_text(record, "city"),
        region=_region(_text(record, "state"), country) or None,
        postal_code=_text(record, "zip"),
        country_code=country,
        phone=_text(record, "phone") or None,
        company=_text(record, "company") or None,
    )


def _customer_address(record: dict[str, Any]) -> Address:
    country = _text(record, "country_code").upper()
    return Address(
        name=_full_name(record),
        line1=_text(record, "address1"),
        line2=_text(record, "address2") or None,
        city=_text(record, "city"),
        region=_region(_text(record, "state_or_province"), country) or None,
        postal_code=_text(record, "postal_code"),
        country_code=country,
        phone=_text(record, "phone") or None,
        company=_text(record, "company") or None,
    )


def _customer(record: dict[str, Any]) -> StorefrontCustomer:
    addresses = record.get("addresses")
    group = record.get("customer_group_id")
    return StorefrontCustomer(
        id=_id(record),
        email=_text(record, "email"),
        first_name=_text(record, "first_name"),
        last_name=_text(record, "last_name"),
        phone=_text(record, "phone"),
        company=_text(record, "company"),
        customer_group_id=group if isinstance(group, int) else 0,
        addresses=tuple(
            _customer_address(address)
            for address in (addresses if isinstance(addresses, list) else [])
            if isinstance(address, dict)
        ),
    )


def _variant(record: dict[str, Any], names: Mapping[int, str]) -> StorefrontVariant:
    # `price` is null when the variant inherits its product's; `calculated_price` is what sells.
    price = record.get("calculated_price")
    if price is None:
        price = record.get("price")
    product_id = _integer(record, "product_id")
    return StorefrontVariant(
        sku=_text(record, "sku"),
        variant_id=_id(record),
        product_id=product_id,
        name=names.get(product_id, ""),
        price=_money(price if price is not None else 0, "calculated_price"),
    )


def _location(record: dict[str, Any]) -> StorefrontLocation:
    return StorefrontLocation(
        id=_id(record),
        code=_text(record, "code"),
        label=_text(record, "label"),
        enabled=record.get("enabled") is not False,
    )


def _onto_lines(
    order_id: int, wanted: Sequence[tuple[str, int]], lines: list[dict[str, Any]]
) -> list[tuple[int, int]]:
    """Each SKU's units as (order product id, units), on the order's lines of that SKU in turn,
    as many as each has left to ship; more than they have left is refused here, as BigCommerce
    would refuse it."""
    items: list[tuple[int, int]] = []
    for sku, units in wanted:
        left = units
        for line in lines:
            if left and _text(line, "sku") == sku and line.get("parent_order_product_id") is None:
                take = min(left, _count(line.get("quantity")) - _count(line.get("quantity_shipped")))
                if take > 0:
                    items.append((_id(line), take))
                    left -= take
        if left:
            raise UpstreamRejected(
                UPSTREAM, f"order {order_id} has not {units} of {sku} left to ship", status=400
            )
    return items


def _shipment(
    shipment: ShipmentPush, items: Sequence[tuple[int, int]], order_address_id: int
) -> dict[str, Any]:
    carrier = shipment.carrier.strip().lower()
    body: dict[str, Any] = {
        "order_address_id": order_address_id,
        "tracking_number": shipment.tracking_number,
        "items": [{"order_product_id": line, "quantity": quantity} for line, quantity in items],
    }
    if carrier in SHIPPING_PROVIDERS:
        body["shipping_provider"] = carrier
    elif carrier:
        body["tracking_carrier"] = carrier
    return body


def _notice(body: bytes) -> StorefrontNotice:
    try:
        payload = load_json(body)
    except ValueError as error:
        raise WebhookRejected("MALFORMED_PAYLOAD", "the body is not JSON") from error
    if not isinstance(payload, dict):
        raise WebhookRejected("MALFORMED_PAYLOAD", "the body is not a JSON object")
    data = payload.get("data")
    fields = {name: payload.get(name) for name in ("scope", "store_id", "hash", "producer")}
    created_at = payload.get("created_at")
    if (
        not all(isinstance(value, str) and value for value in fields.values())
        or not isinstance(created_at, int)
        or isinstance(created_at, bool)
        or not isinstance(data, dict)
        or not isinstance(data.get("type"), str)
        or not isinstance(data.get("id"), int)
        or isinstance(data.get("id"), bool)
    ):
        raise WebhookRejected("MALFORMED_PAYLOAD", "the body is not a BigCommerce webhook callback")
    status = data.get("status")
    status = status if isinstance(status, dict) else {}
    return StorefrontNotice(
        delivery_id=hashlib.sha256(body).hexdigest(),
        scope=str(fields["scope"]),
        resource_type=data["type"],
        resource_id=data["id"],
        hash=str(fields["hash"]),
        created_at=datetime.fromtimestamp(created_at, UTC),
        store_id=str(fields["store_id"]),
        producer=str(fields["producer"]),
        previous_status_id=_optional_int(status.get("previous_status_id")),
        new_status_id=_optional_int(status.get("new_status_id")),
        order_id=str(data["id"]) if str(fields["scope"]).startswith(ORDER_SCOPE_PREFIX) else None,
    )


def _optional_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _full_name(record: dict[str, Any]) -> str:
    return " ".join(part for part in (_text(record, "first_name"), _text(record, "last_name")) if part)


def _region(state: str, country_code: str) -> str:
    """BigCommerce writes US states out ("New York"); ordergate uses their codes ("NY")."""
    if country_code == "US":
        return US_STATES.get(state.strip().lower(), state)
    return state


def _looks_like_email(query: str) -> bool:
    local, at, domain = query.partition("@")
    return bool(at and local and "." in domain and " " not in query)


def _order_id(external_id: str) -> int:
    if not (external_id.isascii() and external_id.isdigit()):
        raise ValueError(f"{external_id!r} is not a BigCommerce order id")
    return int(external_id)


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _batches(values: Iterable[str]) -> Iterable[list[str]]:
    """Values for one comma-joined filter: at most 250 and about 4 kB of query string a request."""
    batch: list[str] = []
    length = 0
    for value in values:
        size = len(quote(value, safe="")) + 3
        if batch and (len(batch) == PAGE_LIMIT or length + size > MAX_QUERY):
            yield batch
            batch, length = [], 0
        batch.append(value)
        length += size
    if batch:
        yield batch


US_STATES: Mapping[str, str] = {
    name.lower(): code
    for code, name in [
        ("AL", "Alabama"), ("AK", "Alaska"), ("AZ", "Arizona"), ("AR", "Arkansas"), ("CA", "California"),
        ("CO", "Colorado"), ("CT", "Connecticut"), ("DE", "Delaware"), ("DC", "District of Columbia"),
        ("FL", "Florida"), ("GA", "Georgia"), ("HI", "Hawaii"), ("ID", "Idaho"), ("IL", "Illinois"),
        ("IN", "Indiana"), ("IA", "Iowa"), ("KS", "Kansas"), ("KY", "Kentucky"), ("LA", "Louisiana"),
        ("ME", "Maine"), ("MD", "Maryland"), ("MA", "Massachusetts"), ("MI", "Michigan"),
        ("MN", "Minnesota"), ("MS", "Mississippi"), ("MO", "Missouri"), ("MT", "Montana"),
        ("NE", "Nebraska"), ("NV", "Nevada"), ("NH", "New Hampshire"), ("NJ", "New Jersey"),
        ("NM", "New Mexico"), ("NY", "New York"), ("NC", "North Carolina"), ("ND", "North Dakota"),
        ("OH", "Ohio"), ("OK", "Oklahoma"), ("OR", "Oregon"), ("PA", "Pennsylvania"),
        ("RI", "Rhode Island"), ("SC", "South Carolina"), ("SD", "South Dakota"), ("TN", "Tennessee"),
        ("TX", "Texas"), ("UT", "Utah"), ("VT", "Vermont"), ("VA", "Virginia"), ("WA", "Washington"),
        ("WV", "West Virginia"), ("WI", "Wisconsin"), ("WY", "Wyoming"), ("PR", "Puerto Rico"),
    ]
}  # fmt: skip
"""US state or territory name, lower case -> its two-letter code."""


__all__ = [
    "BIGCOMMERCE_RATE_LIMIT",
    "ORDER_SCOPES",
    "SECRET_HEADER",
    "US_STATES",
    "BigCommerceStorefront",
    "bigcommerce_policy",
]
