"""UPS as a carrier, over its REST APIs (`https://onlinetools.ups.com`).

An OAuth client-credentials token (`POST /security/v1/oauth/token`, HTTP Basic) is cached until
`expires_in` less a margin on the injected clock, and fetched again once when an API answers 401.
Every API call carries the bearer token, a fresh `transId` and our `transactionSrc`. Rates come
from one `Shop` request, labels from `shipments/{version}/ship` (never retried: UPS takes no
idempotency key), voids from `shipments/{version}/void/cancel/{shipment}`, tracking from
`track/v1/details/{number}`, and webhooks from Track Alert, whose deliveries carry back the
`credential` configured for the subscription.

UPS writes dates as `YYYYMMDD` and times as `HHMMSS`: a scan's GMT date and time are used when
given, else its local time with `gmtOffset`, else its local time read as UTC.

A return label is the same `ship` request with `ReturnService` 9 (Print Return Label): we stay the
Shipper (the account, where the parcel goes back to), ShipFrom is the customer, and every package
and the shipment carry a description of what comes back.

Phones, where the spec requires them and the address has none, are the request's `phone` (the
node's, else the merchant's): the Shipper's (we are the Shipper), and the ShipTo's across a border
or for Next Day Air Early.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import logging
import math
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

import httpx

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
from ordergate.connectors.payloads import load_json
from ordergate.models.address import Address
from ordergate.models.shipment import TrackingStatus
from ordergate.models.tracking import tracking_page

log = logging.getLogger(__name__)

UPS_URL = "https://onlinetools.ups.com"
UPSTREAM = "ups"
API_VERSION = "v2409"
TOKEN_PATH = "/security/v1/oauth/token"  # noqa: S105 (a path, not a secret)
RATING_PATH = f"/api/rating/{API_VERSION}/Shop"
SHIPPING_PATH = f"/api/shipments/{API_VERSION}/ship"
VOID_PATH = f"/api/shipments/{API_VERSION}/void/cancel/{{shipment}}"
TRACKING_PATH = "/api/track/v1/details/{number}"
TRANSACTION_SOURCE = "ordergate"
TOKEN_MARGIN = 60.0
TRACK_CONCURRENCY = 8
CREDENTIAL_HEADER = "credential"
GRAMS_PER_POUND = Decimal("453.59237")
CM_PER_INCH = Decimal("2.54")
DOMESTIC_PAIRS = frozenset({("US", "US"), ("PR", "PR")})
NANP = frozenset({"US", "CA", "PR", "VI"})
NEXT_DAY_AIR_EARLY = "14"
RETURN_SERVICE = {"Code": "9", "Description": "UPS Print Return Label"}
"""A return label is a PRL shipment: a label we hand the customer to print (GIF, link as usual)."""
LABEL_MEDIA_TYPES = {"GIF": "image/gif", "PNG": "image/png", "ZPL": "application/zpl", "EPL": "text/plain"}

TYPE_STATUS: Mapping[str, TrackingStatus] = {
    "M": TrackingStatus.LABEL_CREATED,
    "MV": TrackingStatus.UNKNOWN,  # the label was voided: no parcel to follow
    "P": TrackingStatus.ACCEPTED,
    "I": TrackingStatus.IN_TRANSIT,
    "U": TrackingStatus.IN_TRANSIT,  # a new delivery date, still on the way
    "O": TrackingStatus.OUT_FOR_DELIVERY,
    "D": TrackingStatus.DELIVERED,
    "X": TrackingStatus.EXCEPTION,
    "RS": TrackingStatus.RETURNED_TO_SENDER,
}
"""UPS activity status `type` -> our status, unless a (type, code) pair below refines it."""

CODE_STATUS: Mapping[tuple[str, str], TrackingStatus] = {
    ("I", "PU"): TrackingStatus.ACCEPTED,  # Track Alert has no P type: a pickup scan comes as I/PU
    ("I", "OT"): TrackingStatus.OUT_FOR_DELIVERY,
    ("I", "OF"): TrackingStatus.OUT_FOR_DELIVERY,
    # Track Alert's D also means "loaded on delivery vehicle, out for delivery".
    ("D", "OT"): TrackingStatus.OUT_FOR_DELIVERY,
    ("D", "OF"): TrackingStatus.OUT_FOR_DELIVERY,
    ("X", "48"): TrackingStatus.DELIVERY_ATTEMPT,  # the receiver was not available
    ("X", "5R"): TrackingStatus.DELIVERY_ATTEMPT,  # not available, sent to an Access Point
    ("X", "G3"): TrackingStatus.DELIVERY_ATTEMPT,  # the business was closed
    ("X", "RS"): TrackingStatus.RETURNED_TO_SENDER,
    ("I", "RS"): TrackingStatus.RETURNED_TO_SENDER,
}


def tracking_status(status_type: str, code: str = "") -> TrackingStatus:
    kind, detail = status_type.strip().upper(), code.strip().upper()
    return CODE_STATUS.get((kind, detail)) or TYPE_STATUS.get(kind, TrackingStatus.UNKNOWN)


def ups_policy(base_url: str = UPS_URL) -> UpstreamPolicy:
    return UpstreamPolicy(
        name=UPSTREAM,
        base_url=base_url,
        connect_timeout=3.0,
        read_timeout=15.0,
        attempts=3,
        backoff_initial=0.3,
        backoff_max=5.0,
        deadline=25.0,
        breaker_threshold=5,
        breaker_cooldown=30.0,
    )


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float


class _Unreadable(ValueError):
    """A UPS payload that does not say what its spec says; translated at each border."""


class UpsCarrier:
    name = UPSTREAM

    def __init__(
        self,
        client: UpstreamClient,
        *,
        client_id: str,
        client_secret: str,
        account_number: str,
        webhook_credentials: Sequence[str] = (),
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        transaction_source: str = TRANSACTION_SOURCE,
    ) -> None:
        self._client = client
        self._basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self._account = account_number
        self._credentials = [credential.encode() for credential in webhook_credentials if credential]
        self._clock = clock
        self._wall_clock = wall_clock
        self._source = transaction_source
        self._token: _Token | None = None
        self._token_lock = asyncio.Lock()

    @classmethod
    def create(
        cls,
        base_url: str,
        client_id: str,
        client_secret: str,
        account_number: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        webhook_credential: str | Sequence[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        policy: UpstreamPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
    ) -> UpsCarrier:
        """A connector with its own client; `webhook_credential` may list two during a rotation."""
        client = UpstreamClient(
            policy or ups_policy(base_url),
            headers={"Accept": "application/json"},
            transport=transport,
            clock=clock,
            wall_clock=wall_clock,
            sleep=sleep,
            breaker=breaker,
            event_hooks=event_hooks,
        )
        credentials = (
            [webhook_credential] if isinstance(webhook_credential, str) else list(webhook_credential or ())
        )
        return cls(
            client,
            client_id=client_id,
            client_secret=client_secret,
            account_number=account_number,
            webhook_credentials=credentials,
            clock=clock,
            wall_clock=wall_clock,
        )

    async def rates(self, ship_from: Address, ship_to: Address, parcels: Sequence[Parcel]) -> list[RateQuote]:
        body = _rate_request(self._account, ship_from, ship_to, parcels)
        answer = await self._api("POST", RATING_PATH, body=body, idempotent=True)
        try:
            return sorted(_quotes(answer), key=lambda quote: (quote.amount, quote.service))
        except _Unreadable as error:
            raise UpstreamProtocolError(UPSTREAM, f"POST {RATING_PATH}: {error}") from error

    async def buy_label(self, request: LabelRequest) -> Label:
        """One purchase, never resent after a lost answer: UPS takes no idempotency key, so a second
        POST would buy a second label. Our `reference` rides on the label and in tracking."""
        body = _ship_request(self._account, request)
        answer = await self._api("POST", SHIPPING_PATH, body=body, idempotent=False)
        try:
            return _label(answer, request.service)
        except _Unreadable as error:
            log.error("ups: label for %s bought, but its answer is unreadable: %s", request.reference, error)
            raise UpstreamProtocolError(UPSTREAM, f"POST {SHIPPING_PATH}: {error}") from error

    async def void_label(self, carrier_label_id: str) -> VoidResult:
        """`DELETE` of the whole shipment (UPS voids no single package of a return). Summary
        status 1 is voided (UPS says so of one voided before too); a 400 or 404 is UPS's
        refusal (picked up already, past the void period, not known), in its words."""
        path = VOID_PATH.format(shipment=quote(carrier_label_id.strip().upper(), safe=""))
        try:
            answer = await self._api("DELETE", path, idempotent=True)
        except UpstreamRejected as error:
            if error.status in (400, 404):
                return VoidResult(voided=False, reason=(_reasons(error.body) or error.message)[:300])
            raise
        try:
            status = _field(_field(_field(answer, "VoidShipmentResponse"), "SummaryResult"), "Status")
        except _Unreadable as error:
            raise UpstreamProtocolError(UPSTREAM, f"DELETE {path}: {error}") from error
        if _text(status, "Code") == "1":
            return VoidResult(voided=True)
        return VoidResult(voided=False, reason=(_text(status, "Description") or "not voided")[:300])

    async def track(self, tracking_numbers: Sequence[str]) -> list[TrackingUpdate]:
        """Numbers UPS does not know (404) are left out of the answer."""
        numbers = list(dict.fromkeys(number.strip().upper() for number in tracking_numbers if number.strip()))
        gate = asyncio.Semaphore(TRACK_CONCURRENCY)

        async def one(number: str) -> list[TrackingUpdate]:
            async with gate:
                return await self._track_one(number)

        answers = await asyncio.gather(*map(one, numbers), return_exceptions=True)
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answer
        return [update for answer in answers if not isinstance(answer, BaseException) for update in answer]

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[TrackingUpdate]:
        """A Track Alert delivery: one event for one package, behind the subscription's credential."""
        presented = next((v for k, v in headers.items() if k.lower() == CREDENTIAL_HEADER), None)
        if presented is None:
            raise WebhookRejected("INVALID_SIGNATURE", "the credential header is missing")
        if not self._credential_matches(presented.encode()):
            raise WebhookRejected("INVALID_SIGNATURE", "the credential header does not match")
        try:
            event = load_json(body)
            return [_alert_update(event, received_at=self._wall_clock())]
        except ValueError as error:
            raise WebhookRejected("INVALID_PAYLOAD", f"not a Track Alert event: {error}") from error

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- the wire ------------------------------------------------------------------------------------

    async def _track_one(self, number: str) -> list[TrackingUpdate]:
        path = TRACKING_PATH.format(number=quote(number, safe=""))
        try:
            answer = await self._api("GET", path, params={"locale": "en_US"}, idempotent=True)
        except UpstreamRejected as error:
            if error.status == 404:
                return []
            raise
        try:
            return [update for update in _tracking_updates(answer) if update.tracking_number == number]
        except _Unreadable as error:
            raise UpstreamProtocolError(UPSTREAM, f"GET {path}: {error}") from error

    async def _api(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool,
    ) -> dict[str, Any]:
        token = await self._bearer()
        try:
            try:
                response = await self._send(method, path, token, body, params, idempotent)
            except UpstreamRejected as error:
                if error.status != 401:
                    raise
                # UPS refused the token before doing anything, so one resend with a new token is
                # safe, a purchase included: the first request bought nothing.
                self._forget(token)
                response = await self._send(method, path, await self._bearer(), body, params, idempotent)
        except UpstreamRejected as error:
            raise _explained(error) from error
        return _object(response)

    async def _send(
        self, method: str, path: str, token: str, body: Any, params: Any, idempotent: bool
    ) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {token}",
            "transId": uuid.uuid4().hex,
            "transactionSrc": self._source,
        }
        return await self._client.request(
            method, path, json=body, params=params, headers=headers, idempotent=idempotent
        )

    async def _bearer(self) -> str:
        async with self._token_lock:
            token = self._token
            if token is None or self._clock() >= token.expires_at:
                token = self._token = await self._fetch_token()
            return token.value

    def _forget(self, value: str) -> None:
        if self._token is not None and self._token.value == value:
            self._token = None

    async def _fetch_token(self) -> _Token:
        headers = {
            "Authorization": f"Basic {self._basic}",
            "Content-Type": "application/x-www-form-urlencoded",
            "x-merchant-id": self._account,
        }
        asked_at = self._clock()
        try:
            response = await self._client.post(
                TOKEN_PATH, content=b"grant_type=client_credentials", headers=headers, idempotent=True
            )
        except UpstreamRejected as error:
            raise _explained(error) from error
        answer = _object(response)
        value, lifetime = answer.get("access_token"), _number(answer.get("expires_in"))
        if not isinstance(value, str) or not value or lifetime is None or lifetime <= 0:
            raise UpstreamProtocolError(UPSTREAM, f"POST {TOKEN_PATH}: no access_token with an expires_in")
        return _Token(value, asked_at + lifetime - min(TOKEN_MARGIN, lifetime / 2))

    def _credential_matches(self, presented: bytes) -> bool:
        matched = False
        for credential in self._credentials:
            matched |= hmac.compare_digest(presented, credential)
        return matched


def _explained(error: UpstreamRejected) -> UpstreamRejected:
    """The same refusal, its message naming UPS's `response.errors` codes."""
    reasons = _reasons(error.body)
    message = f"{error.message}: {reasons}" if reasons else error.message
    return UpstreamRejected(UPSTREAM, message, status=error.status, body=error.body)


def _reasons(body: str) -> str:
    """UPS's `response.errors`, each as its code and message."""
    return "; ".join(f"{code} {message}".strip() for code, message in _ups_errors(body))


def _ups_errors(body: str) -> list[tuple[str, str]]:
    try:
        errors = load_json(body)["response"]["errors"]
    except (ValueError, KeyError, TypeError):
        return []
    if not isinstance(errors, list):
        return []
    return [(str(e.get("code", "")), str(e.get("message", ""))[:200]) for e in errors if isinstance(e, dict)]


def _object(response: httpx.Response) -> dict[str, Any]:
    label = f"{response.request.method} {response.request.url.path}"
    try:
        body = load_json(response.content)
    except ValueError as error:
        raise UpstreamProtocolError(UPSTREAM, f"{label}: body is not JSON") from error
    if not isinstance(body, dict):
        raise UpstreamProtocolError(UPSTREAM, f"{label}: body is not a JSON object")
    return body


# -- payload mappers -------------------------------------------------------------------------------


def _rate_request(
    account: str, ship_from: Address, ship_to: Address, parcels: Sequence[Parcel]
) -> dict[str, Any]:
    # `Shop` quotes every service, so no Service code is sent (the spec wants 3 characters there).
    return {
        "RateRequest": {
            "Request": {"RequestOption": "Shop"},
            "Shipment": {
                "Shipper": {
                    "Name": _name(ship_from),
                    "ShipperNumber": account,
                    "Address": _address(ship_from),
                },
                "ShipTo": {"Name": _name(ship_to), "Address": _address(ship_to)},
                "ShipFrom": {"Name": _name(ship_from), "Address": _address(ship_from)},
                "PaymentDetails": {
                    "ShipmentCharge": [{"Type": "01", "BillShipper": {"AccountNumber": account}}]
                },
                "ShipmentRatingOptions": {"NegotiatedRatesIndicator": ""},
                "Package": [
                    {"PackagingType": {"Code": "02", "Description": "Package"}, **_measures(parcel)}
                    for parcel in _some(parcels)
                ],
            },
        }
    }


def _ship_request(account: str, request: LabelRequest) -> dict[str, Any]:
    sender, receiver = request.ship_from, request.ship_to
    reference = [{"Value": _reference_value(request.reference)}]
    domestic = (sender.country_code.upper(), receiver.country_code.upper()) in DOMESTIC_PAIRS
    # A return's shipper is still us (the account, where the parcel goes back to); it leaves from
    # the customer (ShipFrom, which a return requires).
    shipper = receiver if request.is_return else sender
    # "A phone number is required if destination is international" (Shipper); ShipTo's "Required
    # for: UPS Next Day Air Early service, and when Ship To country [...] is different".
    consignee_phone = not domestic or request.service == NEXT_DAY_AIR_EARLY
    shipment: dict[str, Any] = {
        "Shipper": {**_party(shipper, request.phone), "ShipperNumber": account},
        "ShipTo": _party(receiver, request.phone if consignee_phone else None),
        "ShipFrom": _party(sender),
        "PaymentInformation": {"ShipmentCharge": [{"Type": "01", "BillShipper": {"AccountNumber": account}}]},
        "ShipmentRatingOptions": {"NegotiatedRatesIndicator": ""},
        "Service": {"Code": request.service},
        "ShipmentServiceOptions": {"LabelDelivery": {"LabelLinksIndicator": ""}},
        "Package": [
            {
                "Packaging": {"Code": "02", "Description": "Package"},
                **_measures(parcel),
                # UPS takes package references within the US (or PR), shipment ones across borders.
                **({"ReferenceNumber": reference} if domestic else {}),
                # "Required for shipment with return service."
                **({"Description": _contents(request)} if request.is_return else {}),
            }
            for parcel in _some(request.parcels)
        ],
    }
    if not domestic:
        shipment["ReferenceNumber"] = reference
    if request.is_return:
        shipment["ReturnService"] = RETURN_SERVICE
        shipment["Description"] = _contents(request)
    return {
        "ShipmentRequest": {
            "Request": {
                "RequestOption": "nonvalidate",
                "TransactionReference": {"CustomerContext": request.reference},
            },
            "Shipment": shipment,
            "LabelSpecification": {
                "LabelImageFormat": {"Code": "GIF", "Description": "GIF"},
                "LabelStockSize": {"Height": "6", "Width": "4"},
            },
        }
    }


def _contents(request: LabelRequest) -> str:
    return (request.contents or "").strip()[:35] or "Returned merchandise"


def _some(parcels: Sequence[Parcel]) -> Sequence[Parcel]:
    if not parcels:
        raise ValueError("a shipment needs at least one parcel")
    return parcels


def _name(address: Address) -> str:
    return (address.company or address.name)[:35]


def _party(address: Address, fallback_phone: str | None = None) -> dict[str, Any]:
    party: dict[str, Any] = {"Name": _name(address), "Address": _address(address, state_length=5)}
    if address.company:
        party["AttentionName"] = address.name[:35]
    digits = re.sub(r"\D", "", address.phone or "") or re.sub(r"\D", "", fallback_phone or "")
    if len(digits) == 11 and digits.startswith("1") and address.country_code.upper() in NANP:
        digits = digits[1:]  # UPS wants area code and number, no country code, in North America
    if digits:
        party["Phone"] = {"Number": digits[:15]}
    return party


def _address(address: Address, *, state_length: int = 2) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "AddressLine": [line[:35] for line in (address.line1, address.line2) if line],
        "City": address.city[:30],
        "PostalCode": re.sub(r"[\s-]", "", address.postal_code)[:9],
        "CountryCode": address.country_code.upper(),
    }
    region = (address.region or "").strip().upper()
    if region and len(region) <= state_length:
        fields["StateProvinceCode"] = region
    return fields


def _measures(parcel: Parcel) -> dict[str, Any]:
    # UPS wants the longest side as the length.
    sides = (parcel.length_cm, parcel.width_cm, parcel.height_cm)
    length, width, height = sorted((_inches(side) for side in sides), reverse=True)
    return {
        "Dimensions": {
            "UnitOfMeasurement": {"Code": "IN", "Description": "Inches"},
            "Length": str(length),
            "Width": str(width),
            "Height": str(height),
        },
        "PackageWeight": {
            "UnitOfMeasurement": {"Code": "LBS", "Description": "Pounds"},
            "Weight": str(_pounds(parcel.weight_grams)),
        },
    }


def _pounds(grams: int) -> Decimal:
    """Grams as UPS weighs them: pounds, rounded up to a tenth, at least 0.1."""
    return max(Decimal("0.1"), (Decimal(grams) / GRAMS_PER_POUND).quantize(Decimal("0.1"), ROUND_CEILING))


def _inches(centimetres: float) -> int:
    return max(1, math.ceil(Decimal(str(centimetres)) / CM_PER_INCH))


def _reference_value(reference: str) -> str:
    """UPS keeps 35 characters of a reference: a 36-character UUID loses its hyphens instead."""
    return reference if len(reference) <= 35 else reference.replace("-", "")[:35]


def _quotes(answer: dict[str, Any]) -> Iterable[RateQuote]:
    for rated in _many(_field(answer, "RateResponse").get("RatedShipment")):
        negotiated = _mapping(rated.get("NegotiatedRateCharges")).get("TotalCharge")
        amount, currency = _money(negotiated if negotiated else rated.get("TotalCharges"))
        days = _number(_mapping(rated.get("GuaranteedDelivery")).get("BusinessDaysInTransit"))
        yield RateQuote(
            carrier=UPSTREAM,
            service=_text(_field(rated, "Service"), "Code"),
            amount=amount,
            currency=currency,
            delivery_days=None if days is None else int(days),
        )


def _label(answer: dict[str, Any], service: str) -> Label:
    results = _field(_field(answer, "ShipmentResponse"), "ShipmentResults")
    packages = _many(results.get("PackageResults"))
    if not packages or not _text(packages[0], "TrackingNumber"):
        raise _Unreadable("no PackageResults with a TrackingNumber")
    tracking_number = _text(packages[0], "TrackingNumber")
    charges = _mapping(_mapping(results.get("NegotiatedRateCharges")).get("TotalCharge")) or _mapping(
        _mapping(results.get("ShipmentCharges")).get("TotalCharges")
    )
    if charges:
        cost, currency = _money(charges)
    else:
        # UPS guarantees charges only for US and PR origins; the label is bought either way.
        log.warning("ups: shipment %s came without charges", tracking_number)
        cost, currency = Decimal(0), "USD"
    return Label(
        carrier=UPSTREAM,
        service=service,
        tracking_number=tracking_number,
        label_url=_text(results, "LabelURL") or _label_data_url(packages[0]),
        cost=cost,
        currency=currency,
        carrier_shipment_id=_text(results, "ShipmentIdentificationNumber") or tracking_number,
        tracking_url=tracking_page("ups", tracking_number),
        carrier_label_id=_text(results, "ShipmentIdentificationNumber") or tracking_number,
    )


def _label_data_url(package: dict[str, Any]) -> str:
    label = _mapping(package.get("ShippingLabel"))
    image = _text(label, "GraphicImage")
    if not image:
        raise _Unreadable("neither a LabelURL nor a ShippingLabel image")
    kind = _text(_mapping(label.get("ImageFormat")), "Code").upper()
    return f"data:{LABEL_MEDIA_TYPES.get(kind, 'application/octet-stream')};base64,{image}"


def _tracking_updates(answer: dict[str, Any]) -> Iterable[TrackingUpdate]:
    for shipment in _many(_field(answer, "trackResponse").get("shipment")):
        for package in _many(shipment.get("package")):
            scans = sorted(
                (_scan(activity) for activity in _many(package.get("activity")) if activity.get("date")),
                key=lambda scan: scan.occurred_at,
            )
            current = _mapping(package.get("currentStatus"))
            status_type, code = _text(current, "type"), _text(current, "code")
            if not status_type and scans:
                status_type, _, code = scans[-1].raw_code.partition(":")
            yield TrackingUpdate(
                tracking_number=_text(package, "trackingNumber"),
                status=tracking_status(status_type, code),
                raw_status=_raw(status_type, code),
                estimated_delivery=_expected_on(_many(package.get("deliveryDate"))),
                events=tuple(scans),
            )


def _scan(activity: dict[str, Any]) -> TrackingScan:
    status = _mapping(activity.get("status"))
    status_type, code = _text(status, "type"), _text(status, "code")
    return TrackingScan(
        occurred_at=_moment(
            _text(activity, "date"),
            _text(activity, "time"),
            gmt=(_text(activity, "gmtDate"), _text(activity, "gmtTime")),
            offset=_text(activity, "gmtOffset"),
        ),
        status=tracking_status(status_type, code),
        raw_code=_raw(status_type, code),
        description=_text(status, "description").strip(),
        location=_place(_mapping(_mapping(activity.get("location")).get("address"))),
    )


def _expected_on(dates: list[dict[str, Any]]) -> date | None:
    by_type = {_text(entry, "type"): _text(entry, "date") for entry in dates}
    day = by_type.get("RDD") or by_type.get("SDD")
    return _day(day) if day else None


def _alert_update(event: Any, *, received_at: float) -> TrackingUpdate:
    if not isinstance(event, dict) or not _text(event, "trackingNumber"):
        raise _Unreadable("no trackingNumber")
    status = _field(event, "activityStatus")
    status_type, code = _text(status, "type"), _text(status, "code")
    local_day = _text(event, "localActivityDate")
    if _text(event, "gmtActivityDate") or local_day:
        occurred_at = _moment(
            local_day,
            _text(event, "localActivityTime"),
            gmt=(_text(event, "gmtActivityDate"), _text(event, "gmtActivityTime")),
            offset=_text(event, "gmtOffset"),
        )
    else:
        occurred_at = datetime.fromtimestamp(received_at, UTC)
    scan = TrackingScan(
        occurred_at=occurred_at,
        status=tracking_status(status_type, code),
        raw_code=_raw(status_type, code),
        description=_text(status, "description").strip(),
        location=_place(_mapping(event.get("activityLocation"))),
    )
    scheduled = _text(event, "scheduledDeliveryDate")
    return TrackingUpdate(
        tracking_number=_text(event, "trackingNumber"),
        status=scan.status,
        raw_status=scan.raw_code,
        estimated_delivery=_day(scheduled) if scheduled else None,
        events=(scan,),
    )


def _raw(status_type: str, code: str) -> str:
    """The raw UPS status as `type:code` (`I:OT`), or the type alone."""
    return f"{status_type}:{code}" if code else status_type


def _moment(day: str, clock_time: str, *, gmt: tuple[str, str], offset: str) -> datetime:
    gmt_day, gmt_time = gmt
    if gmt_day:
        return _at(gmt_day, gmt_time, UTC)
    if not day:
        raise _Unreadable("a scan without a date")
    return _at(day, clock_time, _zone(offset) or UTC)


def _at(day: str, clock_time: str, zone: timezone) -> datetime:
    # UPS drops leading zeros from times now and then (the spec's own example is '74700').
    try:
        moment = datetime.strptime(day + (clock_time or "0").zfill(6), "%Y%m%d%H%M%S")
    except ValueError as error:
        raise _Unreadable(f"not a YYYYMMDD date and HHMMSS time: {day!r} {clock_time!r}") from error
    return moment.replace(tzinfo=zone).astimezone(UTC)


def _zone(offset: str) -> timezone | None:
    """`-05:00` (Tracking) or `-04.00` (Track Alert) as a fixed offset."""
    match = re.fullmatch(r"([+-])(\d{2})[:.]?(\d{2})", offset.strip())
    if match is None:
        return None
    sign = -1 if match[1] == "-" else 1
    return timezone(sign * timedelta(hours=int(match[2]), minutes=int(match[3])))


def _day(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError as error:
        raise _Unreadable(f"not a YYYYMMDD date: {value!r}") from error


def _place(address: dict[str, Any]) -> str | None:
    country = _text(address, "country") or _text(address, "countryCode")
    parts = [_text(address, "city").strip(), _text(address, "stateProvince").strip(), country.strip()]
    return ", ".join(part for part in parts if part) or None


def _money(container: Any) -> tuple[Decimal, str]:
    charges = _mapping(container)
    try:
        amount = Decimal(_text(charges, "MonetaryValue"))
    except InvalidOperation as error:
        raise _Unreadable(f"not an amount: {charges.get('MonetaryValue')!r}") from error
    currency = _text(charges, "CurrencyCode")
    if not amount.is_finite() or len(currency) != 3:
        raise _Unreadable(f"not money: {charges!r}")
    return amount, currency.upper()


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _field(record: dict[str, Any], name: str) -> dict[str, Any]:
    value = record.get(name)
    if not isinstance(value, dict):
        raise _Unreadable(f"no `{name}` object")
    return value


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _many(value: Any) -> list[dict[str, Any]]:
    """UPS answers one item as an object and several as an array (before v2403/v2409)."""
    items = value if isinstance(value, list) else [value] if value is not None else []
    return [item for item in items if isinstance(item, dict)]


def _text(record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    return value if isinstance(value, str) else ""


__all__ = ["CODE_STATUS", "TYPE_STATUS", "UPS_URL", "UpsCarrier", "tracking_status", "ups_policy"]
