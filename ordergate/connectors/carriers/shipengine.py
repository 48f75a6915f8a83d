"""ShipEngine as a carrier, over its public API (`https://api.shipengine.com`, `API-Key` header).

Rates and labels name carrier accounts, read once from `GET /v1/carriers`. `rates` is
`POST /v1/rates` (read-only, so retried). `buy_label` is `POST /v1/labels` carrying our reference
as `external_shipment_id`, or `POST /v1/labels/rates/{rate_id}`, and is never retried: ShipEngine
takes no idempotency key, so the connector looks first (`GET /v1/labels/external_shipment_id/{id}`,
or `GET /v1/labels?rate_id=`) and a purchase repeated after a lost answer returns the first label.
`track` is `GET /v1/tracking?carrier_code=..&tracking_number=..`, the carrier code remembered
from the purchase or read from `GET /v1/labels?tracking_number=..`. `void_label` is
`PUT /v1/labels/{label_id}/void` (idempotent, so retried): `approved`, or a `reason_code` of
`label_already_voided`, is voided; any other answer is ShipEngine's refusal, in its words.

A return label is `POST /v1/labels` with `is_return_label`, our return as `rma_number` and as the
shipment's `external_shipment_id` (so it is looked up the same way), drawn as the parcel travels:
`ship_from` is the customer, `ship_to` the node taking it back.

A label's `ship_from` requires a phone (the spec's `shipping_address_from`; rates do not ask for
one): an address without one gets the request's `phone` (the node's, else the merchant's).

Tracking webhooks (`resource_type` API_TRACK, or TRACK_EVENT_V2 read alike) carry a
`tracking_information` as `data`. The OpenAPI document describes no verification, so:
- ShipEngine's documented signature: RSA-SHA256 (PKCS#1 v1.5) over `{x-shipengine-timestamp}.{body}`,
  base64 in `x-shipengine-rsa-sha256-signature`, by the key `x-shipengine-rsa-sha256-key-id` names
  in its JWKS (`GET /jwks`). With `webhook_keys` (a JWKS, or `load_webhook_keys()`), it is required,
  with a timestamp within five minutes of the wall clock.
- A secret of ours: with `webhook_secret`, the `X-Ordergate-Webhook-Secret` header must equal one
  of the secrets (compared in constant time). ShipEngine sends it because webhooks accept custom
  headers, and `register_tracking_webhook` registers it.
When both are configured both must pass; with neither, every delivery is refused.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ordergate.connectors.carriers.base import (
    Label,
    LabelRequest,
    Parcel,
    RateQuote,
    TrackingScan,
    TrackingUpdate,
    VoidResult,
)
from ordergate.connectors.errors import UpstreamProtocolError, UpstreamRejected, WebhookRejected
from ordergate.connectors.http import CircuitBreaker, UpstreamClient, UpstreamPolicy
from ordergate.connectors.locks import KeyedLock
from ordergate.connectors.payloads import load_json
from ordergate.models.address import Address
from ordergate.models.shipment import TrackingStatus
from ordergate.models.tracking import link_for

SHIPENGINE_URL = "https://api.shipengine.com"
UPSTREAM = "shipengine"
SECRET_HEADER = "X-Ordergate-Webhook-Secret"  # noqa: S105 (the name of a header)
KEY_ID_HEADER = "x-shipengine-rsa-sha256-key-id"
SIGNATURE_HEADER = "x-shipengine-rsa-sha256-signature"
TIMESTAMP_HEADER = "x-shipengine-timestamp"
SIGNATURE_TOLERANCE = 300.0
TRACKING_RESOURCE_TYPES = frozenset({"API_TRACK", "TRACK_EVENT_V2"})
EXTERNAL_ID_LIMIT = 50
LABEL_OPTIONS = {"label_format": "pdf", "label_layout": "4x6", "label_download_type": "url"}
LIVE_LABEL_STATUSES = frozenset({"completed", "processing"})
RETURN_OPTIONS: dict[str, Any] = {"is_return_label": True, "charge_event": "carrier_default"}
"""A return label (`rma_number` is our return): paid as the carrier's default for returns, which
for most carriers is when the parcel is first scanned, so an unused label costs nothing."""
TRACKING_CONCURRENCY = 8
REMEMBERED = 10_000

TRACKING_STATUS_BY_CODE: Mapping[str, TrackingStatus] = {
    "UN": TrackingStatus.UNKNOWN,
    "NY": TrackingStatus.LABEL_CREATED,
    "AC": TrackingStatus.ACCEPTED,
    "IT": TrackingStatus.IN_TRANSIT,
    "AT": TrackingStatus.DELIVERY_ATTEMPT,
    "DE": TrackingStatus.DELIVERED,
    "SP": TrackingStatus.DELIVERED,
    "EX": TrackingStatus.EXCEPTION,
}
"""ShipEngine's `status_code` (SP: delivered to a collection location) as ours."""

TRACKING_STATUS_BY_DETAIL: Mapping[str, TrackingStatus] = {
    "SHIPMENT_CREATED": TrackingStatus.LABEL_CREATED,
    "AWAITING_PICKUP_DROP_OFF": TrackingStatus.LABEL_CREATED,
    "OUT_FOR_DELIVERY": TrackingStatus.OUT_FOR_DELIVERY,
    "ATTEMPTED_DELIVERY": TrackingStatus.DELIVERY_ATTEMPT,
    "ATTEMPTED_DELIVERY_FINAL": TrackingStatus.DELIVERY_ATTEMPT,
    "CUSTOMER_CARDED": TrackingStatus.DELIVERY_ATTEMPT,
    "RETURN_TO_SENDER": TrackingStatus.RETURNED_TO_SENDER,
    "UNDELIVERABLE_RETURNED_TO_SENDER": TrackingStatus.RETURNED_TO_SENDER,
    "NOT_DELIVERED": TrackingStatus.RETURNED_TO_SENDER,
    "REFUSED_BY_CUSTOMER": TrackingStatus.RETURNED_TO_SENDER,
    "CUSTOMER_MOVED": TrackingStatus.RETURNED_TO_SENDER,
    "NOT_COLLECTED_FROM_PICKUP_POINT": TrackingStatus.RETURNED_TO_SENDER,
}
"""The `status_detail_code`s that say more than their `status_code` (each one's description in the
spec says the parcel is out for delivery, awaiting its first scan, attempted, or going back)."""


def tracking_status(code: str, detail: str | None = None) -> TrackingStatus:
    """Ours for a ShipEngine status and detail code; a code we do not know is UNKNOWN."""
    refined = TRACKING_STATUS_BY_DETAIL.get(detail or "")
    return refined or TRACKING_STATUS_BY_CODE.get(code, TrackingStatus.UNKNOWN)


def shipengine_policy(base_url: str = SHIPENGINE_URL) -> UpstreamPolicy:
    """A label purchase waits on the carrier behind ShipEngine: a longer read than a lookup needs."""
    return UpstreamPolicy(
        name=UPSTREAM,
        base_url=base_url,
        connect_timeout=3.0,
        read_timeout=20.0,
        attempts=3,
        backoff_initial=0.5,
        backoff_max=5.0,
        deadline=30.0,
        breaker_threshold=5,
        breaker_cooldown=30.0,
    )


@dataclass(frozen=True)
class _Account:
    carrier_id: str
    carrier_code: str


class ShipEngineCarrier:
    name = "shipengine"

    def __init__(
        self,
        client: UpstreamClient,
        *,
        webhook_secrets: Sequence[str] = (),
        webhook_keys: Mapping[str, Any] | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._secrets = [secret for secret in webhook_secrets if secret]
        self._keys = _jwks(webhook_keys) if webhook_keys is not None else {}
        self._wall_clock = wall_clock
        self._accounts: dict[str, _Account] = {}
        self._carrier_codes: OrderedDict[str, str] = OrderedDict()
        self._buying = KeyedLock()

    @classmethod
    def create(
        cls,
        base_url: str,
        api_key: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        webhook_secret: str | Sequence[str] | None = None,
        webhook_keys: Mapping[str, Any] | None = None,
        policy: UpstreamPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        breaker: CircuitBreaker | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
    ) -> ShipEngineCarrier:
        """A connector with its own client; `webhook_secret` may list two secrets during rotation,
        `webhook_keys` is a JWKS document (`{"keys": [...]}`) of ShipEngine's signing keys."""
        client = UpstreamClient(
            policy or shipengine_policy(base_url),
            headers={"API-Key": api_key, "Accept": "application/json"},
            transport=transport,
            clock=clock,
            wall_clock=wall_clock,
            sleep=sleep,
            breaker=breaker,
            event_hooks=event_hooks,
        )
        secrets = [webhook_secret] if isinstance(webhook_secret, str) else list(webhook_secret or ())
        return cls(client, webhook_secrets=secrets, webhook_keys=webhook_keys, wall_clock=wall_clock)

    async def rates(self, ship_from: Address, ship_to: Address, parcels: Sequence[Parcel]) -> list[RateQuote]:
        accounts = self._accounts or await self._load_accounts()
        body = {
            "rate_options": {"carrier_ids": sorted({account.carrier_id for account in accounts.values()})},
            "shipment": _shipment(ship_from, ship_to, parcels),
        }
        response = await self._call("POST", "/v1/rates", json=body, idempotent=True)
        return _rate_quotes(self.name, _json(response))

    async def buy_label(self, request: LabelRequest) -> Label:
        async with self._buying.hold(request.reference):
            found = await self._bought(request)
            if found is None:
                # Never retried: after a lost answer, the next purchase of this reference finds it.
                if request.rate_id and not request.is_return:
                    path = f"/v1/labels/rates/{quote(request.rate_id, safe='')}"
                    response = await self._call("POST", path, json=LABEL_OPTIONS, idempotent=False)
                else:
                    body: dict[str, Any] = {**LABEL_OPTIONS, "shipment": await self._label_shipment(request)}
                    if request.is_return:
                        body |= {**RETURN_OPTIONS, "rma_number": request.reference}
                    response = await self._call("POST", "/v1/labels", json=body, idempotent=False)
                found = _json(response)
            return self._label(found)

    async def void_label(self, carrier_label_id: str) -> VoidResult:
        path = f"/v1/labels/{quote(carrier_label_id, safe='')}/void"
        try:
            answer = _json(await self._call("PUT", path, idempotent=True))
        except UpstreamRejected as error:
            if error.status in (400, 404):
                return VoidResult(voided=False, reason=(_error_messages(error.body) or error.message)[:300])
            raise
        return _void_result(answer)

    async def track(self, tracking_numbers: Sequence[str]) -> list[TrackingUpdate]:
        gate = asyncio.Semaphore(TRACKING_CONCURRENCY)

        async def one(number: str) -> TrackingUpdate | None:
            async with gate:
                return await self._track(number)

        found = await asyncio.gather(*(one(number) for number in dict.fromkeys(tracking_numbers)))
        return [update for update in found if update is not None]

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[TrackingUpdate]:
        lowered = {name.lower(): value for name, value in headers.items()}
        if not self._keys and not self._secrets:
            raise WebhookRejected(
                "NOT_CONFIGURED", "no ShipEngine webhook secret or signing key is configured"
            )
        if self._keys:
            self._verify_signature(body, lowered)
        if self._secrets:
            self._verify_secret(lowered)
        resource_type, data = _webhook_event(body)
        if resource_type not in TRACKING_RESOURCE_TYPES:
            return []
        try:
            return [_tracking_update(data)]
        except UpstreamProtocolError as error:
            raise WebhookRejected("MALFORMED_PAYLOAD", error.message) from error

    async def load_webhook_keys(self) -> None:
        """Replace the signing keys with ShipEngine's current JWKS (`GET /jwks`)."""
        self._keys = _jwks(_json(await self._call("GET", "/jwks")))

    async def register_tracking_webhook(self, url: str) -> str:
        """Point the account's `track` webhook at `url`, carrying our secret header; the webhook id."""
        headers = [{"key": SECRET_HEADER, "value": self._secrets[0]}] if self._secrets else []
        listed = _json(await self._call("GET", "/v1/environment/webhooks"))
        for webhook in listed if isinstance(listed, list) else []:
            if isinstance(webhook, dict) and webhook.get("event") == "track" and webhook.get("url") == url:
                webhook_id = _text(webhook, "webhook_id")
                path = f"/v1/environment/webhooks/{quote(webhook_id, safe='')}"
                await self._call("PUT", path, json={"url": url, "headers": headers})
                return webhook_id
        body = {"event": "track", "url": url, "headers": headers, "name": "ordergate tracking"}
        return _text(_json(await self._call("POST", "/v1/environment/webhooks", json=body)), "webhook_id")

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- labels ------------------------------------------------------------------------------------

    async def _bought(self, request: LabelRequest) -> dict[str, Any] | None:
        """The live label an earlier purchase of this request bought, if ShipEngine has one."""
        if request.rate_id and not request.is_return:
            response = await self._call("GET", "/v1/labels", params={"rate_id": request.rate_id})
            candidates = _labels(_json(response))
        else:
            path = f"/v1/labels/external_shipment_id/{quote(_external_id(request.reference), safe='')}"
            try:
                found = _json(await self._call("GET", path))
            except UpstreamRejected as error:
                if error.status != 404:
                    raise
                return None
            candidates = [found] if isinstance(found, dict) else []
        live = [c for c in candidates if c.get("status") in LIVE_LABEL_STATUSES and not c.get("voided")]
        return live[0] if live else None

    async def _label_shipment(self, request: LabelRequest) -> dict[str, Any]:
        account = await self._account_for(request.service)
        return {
            "carrier_id": account.carrier_id,
            "service_code": request.service,
            "external_shipment_id": _external_id(request.reference),
            **_shipment(_with_phone(request.ship_from, request.phone), request.ship_to, request.parcels),
        }

    def _label(self, record: Any) -> Label:
        label = _label(self.name, record)
        self._remember(label.tracking_number, _text(record, "carrier_code"))
        return label

    async def _account_for(self, service: str) -> _Account:
        if service not in self._accounts:
            await self._load_accounts()
        if service not in self._accounts:
            message = f"no carrier connected to the ShipEngine account offers the service {service!r}"
            raise UpstreamRejected(UPSTREAM, message, status=422)
        return self._accounts[service]

    async def _load_accounts(self) -> dict[str, _Account]:
        self._accounts = _accounts(_json(await self._call("GET", "/v1/carriers")))
        if not self._accounts:
            raise UpstreamRejected(
                UPSTREAM, "the ShipEngine account has no carrier with services", status=422
            )
        return self._accounts

    # -- tracking ----------------------------------------------------------------------------------

    async def _track(self, number: str) -> TrackingUpdate | None:
        carrier_code = await self._carrier_code(number)
        if carrier_code is None:
            return None
        params = {"carrier_code": carrier_code, "tracking_number": number}
        try:
            response = await self._call("GET", "/v1/tracking", params=params)
        except UpstreamRejected as error:
            if error.status == 404:
                return None
            raise
        return _tracking_update(_json(response), number)

    async def _carrier_code(self, number: str) -> str | None:
        if number not in self._carrier_codes:
            response = await self._call("GET", "/v1/labels", params={"tracking_number": number})
            codes = [
                code for code in (_text(label, "carrier_code") for label in _labels(_json(response))) if code
            ]
            if not codes:
                return None
            self._remember(number, codes[0])
        return self._carrier_codes[number]

    def _remember(self, tracking_number: str, carrier_code: str) -> None:
        if carrier_code:
            self._carrier_codes[tracking_number] = carrier_code
            self._carrier_codes.move_to_end(tracking_number)
            if len(self._carrier_codes) > REMEMBERED:
                self._carrier_codes.popitem(last=False)

    # -- wire --------------------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """One request; a refusal carries ShipEngine's own messages (`{request_id, errors}`)."""
        try:
            return await self._client.request(method, path, params=params, json=json, idempotent=idempotent)
        except UpstreamRejected as error:
            detail = _error_messages(error.body)
            message = f"{error.message}: {detail}" if detail else error.message
            raise UpstreamRejected(UPSTREAM, message, status=error.status, body=error.body) from error

    # -- webhooks ----------------------------------------------------------------------------------

    def _verify_signature(self, body: bytes, headers: Mapping[str, str]) -> None:
        key_id, signature, stamp = (
            headers.get(h) for h in (KEY_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER)
        )
        if not key_id or not signature or not stamp:
            raise WebhookRejected(
                "INVALID_SIGNATURE", "the x-shipengine-rsa-sha256 signature headers are missing"
            )
        signed_at = _instant(stamp)
        if signed_at is None or abs(self._wall_clock() - signed_at) > SIGNATURE_TOLERANCE:
            raise WebhookRejected(
                "INVALID_SIGNATURE", "the x-shipengine-timestamp is not within five minutes"
            )
        key = self._keys.get(key_id)
        if key is None:
            raise WebhookRejected(
                "INVALID_SIGNATURE", f"no ShipEngine signing key has the id {key_id[:64]!r}"
            )
        try:
            key.verify(
                base64.b64decode(signature, validate=True),
                stamp.encode() + b"." + body,
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (InvalidSignature, binascii.Error, ValueError) as error:
            raise WebhookRejected("INVALID_SIGNATURE", "the RSA signature does not match the body") from error

    def _verify_secret(self, headers: Mapping[str, str]) -> None:
        presented = headers.get(SECRET_HEADER.lower())
        if presented is None:
            raise WebhookRejected("INVALID_SIGNATURE", f"the {SECRET_HEADER} header is missing")
        matched = False
        for secret in self._secrets:
            matched |= hmac.compare_digest(_digest(presented), _digest(secret))
        if not matched:
            raise WebhookRejected("INVALID_SIGNATURE", f"the {SECRET_HEADER} header is not our secret")


# -- payload mappers -------------------------------------------------------------------------------


def _shipment(ship_from: Address, ship_to: Address, parcels: Sequence[Parcel]) -> dict[str, Any]:
    if not parcels:
        raise ValueError("a shipment needs at least one parcel")
    return {
        "ship_from": _address(ship_from),
        "ship_to": _address(ship_to),
        "packages": [_package(parcel) for parcel in parcels],
    }


def _address(address: Address) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "name": address.name,
        "address_line1": address.line1,
        "city_locality": address.city,
        "postal_code": address.postal_code,
        "country_code": address.country_code.upper(),
    }
    optional = {
        "address_line2": address.line2,
        "state_province": address.region,
        "phone": address.phone,
        "company_name": address.company,
    }
    return wire | {name: value for name, value in optional.items() if value}


def _with_phone(address: Address, phone: str | None) -> Address:
    """The address, with `phone` where it has none."""
    if (address.phone or "").strip() or not phone:
        return address
    return replace(address, phone=phone)


def _package(parcel: Parcel) -> dict[str, Any]:
    return {
        "weight": {"value": parcel.weight_grams, "unit": "gram"},
        "dimensions": {
            "unit": "centimeter",
            "length": parcel.length_cm,
            "width": parcel.width_cm,
            "height": parcel.height_cm,
        },
    }


def _external_id(reference: str) -> str:
    """ShipEngine truncates `external_shipment_id` past 50 characters; a longer reference is hashed
    so that the lookup asks for what was stored."""
    if len(reference) <= EXTERNAL_ID_LIMIT:
        return reference
    return "sha256-" + hashlib.sha256(reference.encode()).hexdigest()[: EXTERNAL_ID_LIMIT - 7]


def _accounts(body: Any) -> dict[str, _Account]:
    """Service code -> the carrier account that offers it (the first, when several do)."""
    carriers = body.get("carriers") if isinstance(body, dict) else None
    if not isinstance(carriers, list):
        raise UpstreamProtocolError(UPSTREAM, "GET /v1/carriers: no `carriers` array")
    accounts: dict[str, _Account] = {}
    for carrier in carriers:
        if not isinstance(carrier, dict) or carrier.get("disabled_by_billing_plan"):
            continue
        account = _Account(_text(carrier, "carrier_id"), _text(carrier, "carrier_code"))
        for service in carrier.get("services") or []:
            code = _text(service, "service_code") if isinstance(service, dict) else ""
            if code and account.carrier_id:
                accounts.setdefault(code, account)
    return accounts


def _rate_quotes(carrier: str, body: Any) -> list[RateQuote]:
    response = body.get("rate_response") if isinstance(body, dict) else None
    if not isinstance(response, dict):
        raise UpstreamProtocolError(UPSTREAM, "POST /v1/rates: no `rate_response`")
    rates = [rate for rate in response.get("rates") or [] if isinstance(rate, dict)]
    if not rates and response.get("errors"):
        messages = _messages(response.get("errors"))
        raise UpstreamRejected(UPSTREAM, f"POST /v1/rates: no rates: {messages}", status=422)
    return [_rate_quote(carrier, rate) for rate in rates]


def _rate_quote(carrier: str, rate: dict[str, Any]) -> RateQuote:
    # The spec: shipping, insurance, confirmation and other amounts add up to the purchase price.
    parts = [rate.get(name) for name in ("shipping_amount", "insurance_amount", "confirmation_amount")]
    amount, currency = _total([*parts, rate.get("other_amount")], "rate")
    days = rate.get("delivery_days")
    return RateQuote(
        carrier=carrier,
        service=_text(rate, "service_code"),
        amount=amount,
        currency=currency,
        delivery_days=days if isinstance(days, int) and not isinstance(days, bool) else None,
        estimated_delivery=_day(rate.get("estimated_delivery_date")),
        rate_id=_text(rate, "rate_id") or None,
    )


def _label(carrier: str, record: Any) -> Label:
    if not isinstance(record, dict) or not _text(record, "tracking_number"):
        raise UpstreamProtocolError(UPSTREAM, f"a label without a tracking number: {str(record)[:200]}")
    downloads = record.get("label_download") if isinstance(record.get("label_download"), dict) else {}
    cost, currency = _total([record.get("shipment_cost"), record.get("insurance_cost")], "label")
    return Label(
        carrier=carrier,
        service=_text(record, "service_code"),
        tracking_number=_text(record, "tracking_number"),
        label_url=_text(downloads, "pdf") or _text(downloads, "href"),
        cost=cost,
        currency=currency,
        carrier_shipment_id=_text(record, "shipment_id") or _text(record, "label_id"),
        tracking_url=link_for(
            _text(record, "carrier_code"), _text(record, "tracking_number"), _text(record, "tracking_url")
        ),
        carrier_label_id=_text(record, "label_id"),
    )


def _void_result(answer: Any) -> VoidResult:
    if not isinstance(answer, dict) or not isinstance(answer.get("approved"), bool):
        raise UpstreamProtocolError(UPSTREAM, f"a void answer without `approved`: {str(answer)[:200]}")
    if answer["approved"] or answer.get("reason_code") == "label_already_voided":
        return VoidResult(voided=True)
    reason = " ".join(part for part in (_text(answer, "reason_code"), _text(answer, "message")) if part)
    return VoidResult(voided=False, reason=(reason or "not approved")[:300])


def _labels(body: Any) -> list[dict[str, Any]]:
    labels = body.get("labels") if isinstance(body, dict) else None
    if not isinstance(labels, list):
        raise UpstreamProtocolError(UPSTREAM, "GET /v1/labels: no `labels` array")
    return [label for label in labels if isinstance(label, dict)]


def _tracking_update(info: Any, number: str | None = None) -> TrackingUpdate:
    if not isinstance(info, dict) or not isinstance(info.get("status_code"), str):
        raise UpstreamProtocolError(
            UPSTREAM, f"tracking information without a status_code: {str(info)[:200]}"
        )
    tracking_number = _text(info, "tracking_number") or number
    if not tracking_number:
        raise UpstreamProtocolError(UPSTREAM, "tracking information without a tracking number")
    code, detail = info["status_code"], _text(info, "status_detail_code") or None
    events = info.get("events") or []
    if not isinstance(events, list):
        raise UpstreamProtocolError(UPSTREAM, "tracking `events` is not a list")
    scans = sorted((_scan(event) for event in events), key=lambda scan: scan.occurred_at)
    return TrackingUpdate(
        tracking_number=tracking_number,
        status=tracking_status(code, detail),
        raw_status=_raw(code, detail),
        estimated_delivery=_day(info.get("estimated_delivery_date")),
        events=tuple(scans),
    )


def _scan(event: Any) -> TrackingScan:
    occurred_at = _moment(event.get("occurred_at")) if isinstance(event, dict) else None
    if occurred_at is None:
        raise UpstreamProtocolError(UPSTREAM, f"a tracking event without occurred_at: {str(event)[:200]}")
    code, detail = _text(event, "status_code") or "UN", _text(event, "status_detail_code") or None
    place = [
        _text(event, name) for name in ("city_locality", "state_province", "postal_code", "country_code")
    ]
    description = (
        _text(event, "description")
        or _text(event, "status_description")
        or _text(event, "carrier_status_description")
    )
    return TrackingScan(
        occurred_at=occurred_at,
        status=tracking_status(code, detail),
        raw_code=_raw(code, detail),
        description=description,
        location=", ".join(part for part in place if part) or None,
    )


def _webhook_event(body: bytes) -> tuple[str, Any]:
    try:
        payload = load_json(body, parse_float=Decimal)
    except ValueError as error:
        raise WebhookRejected("MALFORMED_PAYLOAD", "the body is not JSON") from error
    if not isinstance(payload, dict) or not isinstance(payload.get("resource_type"), str):
        raise WebhookRejected("MALFORMED_PAYLOAD", "the body is not a ShipEngine webhook event")
    return payload["resource_type"], payload.get("data")


def _jwks(document: Mapping[str, Any]) -> dict[str, rsa.RSAPublicKey]:
    """Key id -> RSA public key, from a JWKS; other kinds of key are left out."""
    keys = document.get("keys")
    if not isinstance(keys, list):
        raise UpstreamProtocolError(UPSTREAM, "a JWKS without a `keys` array")
    found: dict[str, rsa.RSAPublicKey] = {}
    for key in keys:
        if isinstance(key, dict) and key.get("kty") == "RSA" and isinstance(key.get("kid"), str):
            try:
                numbers = rsa.RSAPublicNumbers(_b64url_int(key["e"]), _b64url_int(key["n"]))
                found[key["kid"]] = numbers.public_key()
            except (KeyError, TypeError, ValueError, binascii.Error) as error:
                raise UpstreamProtocolError(UPSTREAM, f"an unreadable JWK {key['kid']!r}") from error
    return found


def _b64url_int(value: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def _total(amounts: Sequence[Any], what: str) -> tuple[Decimal, str]:
    """The sum of ShipEngine `monetary_value`s (`{currency, amount}`), in their one currency."""
    total, currencies = Decimal(0), set()
    for money in amounts:
        if money is None:
            continue
        if not isinstance(money, dict) or not isinstance(money.get("currency"), str):
            raise UpstreamProtocolError(UPSTREAM, f"a {what} amount that is not money: {money!r}")
        amount = money.get("amount")
        if (
            isinstance(amount, bool)
            or not isinstance(amount, int | Decimal)
            or not Decimal(amount).is_finite()
        ):
            raise UpstreamProtocolError(UPSTREAM, f"a {what} amount that is not a number: {money!r}")
        if amount:
            currencies.add(money["currency"].upper())
        total += Decimal(amount)
    if len(currencies) > 1:
        raise UpstreamProtocolError(UPSTREAM, f"a {what} priced in {sorted(currencies)}")
    first = next((m for m in amounts if isinstance(m, dict)), None)
    currency = currencies.pop() if currencies else str(first["currency"] if first else "").upper()
    if not currency:
        raise UpstreamProtocolError(UPSTREAM, f"a {what} without a currency")
    return total, currency


def _moment(value: Any) -> datetime | None:
    """An ISO 8601 timestamp as an aware UTC datetime; ShipEngine's without an offset are UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise UpstreamProtocolError(UPSTREAM, f"not an ISO 8601 timestamp: {value!r}") from error
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(value: Any) -> date | None:
    moment = _moment(value)
    return moment.date() if moment else None


def _instant(stamp: str) -> float | None:
    """The webhook timestamp as Unix time: ISO 8601, or seconds since the epoch."""
    if stamp.isdigit():
        return float(stamp)
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _raw(code: str, detail: str | None) -> str:
    return f"{code}/{detail}" if detail else code


def _error_messages(body: str) -> str:
    try:
        payload = load_json(body)
    except ValueError:
        return ""
    return _messages(payload.get("errors")) if isinstance(payload, dict) else ""


def _messages(errors: Any) -> str:
    return "; ".join(
        f"{error.get('message')} ({error.get('error_code')})"
        for error in errors or []
        if isinstance(error, dict) and error.get("message")
    )


def _text(record: Any, name: str) -> str:
    value = record.get(name) if isinstance(record, dict) else None
    return value if isinstance(value, str) else ""


def _digest(secret: str) -> bytes:
    # Equal-length inputs to compare_digest, whatever was presented.
    return hashlib.sha256(secret.encode()).digest()


def _json(response: httpx.Response) -> Any:
    try:
        return load_json(response.content, parse_float=Decimal)
    except ValueError as error:
        raise UpstreamProtocolError(UPSTREAM, f"{response.request.url.path}: body is not JSON") from error
