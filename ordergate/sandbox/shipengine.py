"""A stateful stand-in for ShipEngine's API (`https://api.shipengine.com`), in its wire format.

Served below its mount: `GET /v1/carriers`, `POST /v1/rates`, `GET|POST /v1/labels` (listed by
`rate_id`, `tracking_number` or `shipment_id`), `POST /v1/labels/rates/{rate_id}`,
`GET /v1/labels/external_shipment_id/{id}`, `GET /v1/tracking`, `GET|POST /v1/environment/webhooks`,
`PUT /v1/environment/webhooks/{id}`, label files under `/v1/downloads/` and the signing keys at
`/jwks`. `API-Key` auth (the configured key, or any key when none is); errors are ShipEngine's
`{request_id, errors: [{error_source, error_type, error_code, message}]}`.

Three carrier accounts (UPS, USPS through Stamps.com, FedEx) price four services from a table by
zone (the distance between the postal codes) and weight. Each purchase creates a label with a new
tracking number and counts in `purchases` (a return label, `is_return_label`, travels from its
`ship_from`, the customer, like any other); nothing in ShipEngine's spec says a second purchase with
the same `external_shipment_id` or rate is refused, so none is here: callers look first. A label's
tracking moves one step (AC, IT, IT/OUT_FOR_DELIVERY, DE) every `step_seconds`: `advance()` takes
it through each step whose time has come, each scan timed when it was due; each step goes to the
registered `track` webhooks as an API_TRACK event, signed as ShipEngine signs them and carrying
the custom headers registered with the webhook. With `returns_wait_for_drop_off`, a return label
makes no scan until the customer drops its parcel off (`hand_over`).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hmac
import json
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ordergate.connectors.geocoding import OfflineGeocoder
from ordergate.models.geo import haversine_km
from ordergate.sandbox.ids import Ids

logger = logging.getLogger(__name__)

PUBLIC_URL = "https://api.shipengine.com"
DEFAULT_STEP_SECONDS = 30.0
VOID_DAYS = 30  # a label is voided within this many days of its purchase, if the carrier has not scanned it
KEY_ID = "ordergate-sandbox-1"
KEY_ID_HEADER = "x-shipengine-rsa-sha256-key-id"
SIGNATURE_HEADER = "x-shipengine-rsa-sha256-signature"
TIMESTAMP_HEADER = "x-shipengine-timestamp"
CURRENCY = "usd"
GRAMS_PER_UNIT = {
    "gram": Decimal(1),
    "kilogram": Decimal(1000),
    "ounce": Decimal("28.349523125"),
    "pound": Decimal("453.59237"),
}
ZONE_LIMITS_KM = (80.0, 240.0, 480.0, 960.0, 1600.0, 2250.0, 2900.0)
"""Upper bounds of zones 1 to 7 (USPS-like); anything farther, or unplaceable, is zone 8."""
WEBHOOK_EVENTS = frozenset(
    {"batch", "carrier_connected", "order_source_refresh_complete", "rate", "report_complete"}
    | {"sales_orders_imported", "track"}
)
ADDRESS_FIELDS = (
    "name",
    "phone",
    "email",
    "company_name",
    "address_line1",
    "address_line2",
    "address_line3",
    "city_locality",
    "state_province",
    "postal_code",
    "country_code",
)
REQUIRED_ADDRESS_FIELDS = ("name", "address_line1", "city_locality", "state_province", "postal_code")
CARRIER_ALIASES = {"stamps_com": ("usps",)}
"""Carrier codes that tracking also answers to: USPS parcels are tracked as `usps` too."""
DOWNLOADS = {"pdf": "application/pdf", "png": "image/png", "zpl": "application/zpl"}
LABEL_FILE = b"%PDF-1.4\n% ordergate sandbox label\n%%EOF\n"
PAGE_SIZE = 25
CHARGE_EVENTS = frozenset({"carrier_default", "on_creation", "on_carrier_acceptance"})

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class CarrierAccount:
    carrier_id: str
    carrier_code: str
    friendly_name: str
    tracking_url: str
    tracking_format: str
    hub: tuple[str, str, str]

    @property
    def number(self) -> int:
        """The integer id that tracking answers give (the spec types that `carrier_id` as int32)."""
        return int(self.carrier_id.rsplit("-", 1)[1])


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    carrier_code: str
    base: Decimal
    per_zone: Decimal
    per_pound: Decimal
    days_by_zone: tuple[int, int, int, int, int, int, int, int]

    def price(self, zone: int, grams: Decimal) -> Decimal:
        """One package: the base, plus a step per zone past 1, plus a step per started pound past 1."""
        pounds = max(1, math.ceil(grams / GRAMS_PER_UNIT["pound"]))
        amount = self.base + self.per_zone * (zone - 1) + self.per_pound * (pounds - 1)
        return amount.quantize(Decimal("0.01"))


CARRIERS: tuple[CarrierAccount, ...] = (
    CarrierAccount(
        "se-100001",
        "ups",
        "UPS",
        "https://www.ups.com/track?tracknum={}",
        "1Z999AA1{:010d}",
        ("Louisville", "KY", "40209"),
    ),
    CarrierAccount(
        "se-100002",
        "stamps_com",
        "Stamps.com",
        "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
        "9400111899{:012d}",
        ("Kansas City", "MO", "64121"),
    ),
    CarrierAccount(
        "se-100003",
        "fedex",
        "FedEx",
        "https://www.fedex.com/fedextrack/?trknbr={}",
        "77{:010d}",
        ("Memphis", "TN", "38118"),
    ),
)

SERVICES: tuple[Service, ...] = (
    Service(
        "ups_ground", "UPS® Ground", "ups", Decimal("9.85"), Decimal("1.15"), Decimal("0.95"),
        (1, 2, 3, 3, 4, 4, 5, 5),
    ),
    Service(
        "ups_next_day_air", "UPS Next Day Air®", "ups", Decimal("31.40"), Decimal("3.90"), Decimal("2.35"),
        (1, 1, 1, 1, 1, 1, 1, 1),
    ),
    Service(
        "usps_priority_mail", "USPS Priority Mail", "stamps_com", Decimal("8.70"), Decimal("0.80"),
        Decimal("0.75"), (1, 2, 2, 2, 3, 3, 3, 3),
    ),
    Service(
        "fedex_2day", "FedEx 2Day®", "fedex", Decimal("19.40"), Decimal("2.25"), Decimal("1.60"),
        (2, 2, 2, 2, 2, 2, 2, 2),
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Step:
    """One tracking state: ShipEngine's codes, the carrier's, and where the scan happens."""

    status_code: str
    status_detail_code: str
    status_description: str
    detail_description: str
    carrier_status_code: str
    carrier_status_description: str
    place: str


LABEL_CREATED = Step(
    "NY",
    "SHIPMENT_CREATED",
    "Not Yet In System",
    "Your tracking number is ready. Your parcel is waiting to be registered in the carrier system.",
    "MP",
    "Shipment information received",
    "origin",
)
TRACKING_STEPS: tuple[Step, ...] = (
    Step(
        "AC", "RECEIVED_BY_CARRIER", "Accepted",
        "Your parcel has been received by the carrier and is beginning its journey.",
        "OR", "Origin scan", "origin",
    ),
    Step(
        "IT", "IN_TRANSIT", "In Transit", "Your shipment is on its way between the carrier hubs.",
        "AR", "Arrived at facility", "hub",
    ),
    Step(
        "IT", "OUT_FOR_DELIVERY", "In Transit", "Your parcel is on its way and will be delivered today.",
        "OT", "Out for delivery", "destination",
    ),
    Step(
        "DE", "DELIVERED", "Delivered", "Your parcel has been successfully delivered.",
        "KB", "Delivered, front door", "destination",
    ),
)  # fmt: skip


class Refused(Exception):
    """A request the sandbox answers with an error in ShipEngine's format."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        error_type: str = "validation",
        error_code: str = "invalid_field_value",
        field_name: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_type = error_type
        self.error_code = error_code
        self.field_name = field_name


@dataclass
class Shipment:
    shipment_id: str
    ship_from: dict[str, Any]
    ship_to: dict[str, Any]
    packages: list[dict[str, Any]]
    external_shipment_id: str | None
    created_at: float

    @property
    def grams(self) -> list[Decimal]:
        return [
            Decimal(str(p["weight"]["value"])) * GRAMS_PER_UNIT[p["weight"]["unit"]] for p in self.packages
        ]


@dataclass(frozen=True)
class Rate:
    rate_id: str
    shipment_id: str
    service: Service
    carrier: CarrierAccount
    amount: Decimal
    zone: int
    delivery_days: int


@dataclass
class SandboxLabel:
    label_id: str
    sequence: int
    shipment: Shipment
    service: Service
    carrier: CarrierAccount
    rate_id: str | None
    tracking_number: str
    cost: Decimal
    delivery_days: int
    created_at: float
    due_at: float
    step: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    is_return: bool = False
    rma_number: str | None = None
    charge_event: str = "carrier_default"
    voided_at: float | None = None
    awaiting_drop_off: bool = False  # a return label the customer has not posted yet

    @property
    def moving(self) -> bool:
        """The carrier still has scans to make of it."""
        return not self.delivered and self.voided_at is None and not self.awaiting_drop_off

    @property
    def state(self) -> Step:
        return TRACKING_STEPS[self.step - 1] if self.step else LABEL_CREATED

    @property
    def delivered(self) -> bool:
        return self.step >= len(TRACKING_STEPS)


@dataclass
class Webhook:
    webhook_id: str
    url: str
    event: str
    headers: dict[str, str] = field(default_factory=dict)
    name: str | None = None


@functools.cache
def _process_key() -> rsa.RSAPrivateKey:
    """One signing key per process, made on first use, as ShipEngine signs with one key set: a
    2,048-bit key takes tens of milliseconds to make, and every gateway a test suite starts has a
    sandbox. A sandbox that must sign differently (an impostor) is given its own key."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class ShipEngineSandbox:
    """ShipEngine's state and `.app`, the Starlette app that serves it."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        step_seconds: float = DEFAULT_STEP_SECONDS,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        webhook_client: httpx.AsyncClient | None = None,
        public_url: str = PUBLIC_URL,
        signing_key: rsa.RSAPrivateKey | None = None,
        key_id: str = KEY_ID,
    ) -> None:
        if step_seconds <= 0:
            raise ValueError("step_seconds must be positive")
        self.api_key = api_key
        self.step_seconds = step_seconds
        self.clock = clock
        self.public_url = public_url.rstrip("/")
        self.webhook_client = webhook_client
        self.key_id = key_id
        self.purchases = 0
        self.shipments: dict[str, Shipment] = {}
        self.rates: dict[str, Rate] = {}
        self.labels: dict[str, SandboxLabel] = {}
        self.webhooks: list[Webhook] = []
        # Off: a return label moves on its own, as if the customer posted it at once (a served
        # sandbox has no customer). On: it waits for `hand_over` (the walk posts parcels itself).
        self.returns_wait_for_drop_off = False
        self._sleep = sleep
        self._signing_key = signing_key
        self._closes_client = webhook_client is None
        self._ids = Ids()
        self._geocoder = OfflineGeocoder()
        self.app = Starlette(
            routes=[
                Route("/jwks", self._jwks, methods=["GET"]),
                Route("/v1/carriers", self._guard(self._list_carriers), methods=["GET"]),
                Route("/v1/rates", self._guard(self._calculate_rates), methods=["POST"]),
                Route("/v1/labels", self._guard(self._list_labels), methods=["GET"]),
                Route("/v1/labels", self._guard(self._create_label), methods=["POST"]),
                Route(
                    "/v1/labels/external_shipment_id/{external_shipment_id}",
                    self._guard(self._label_by_external_id),
                    methods=["GET"],
                ),
                Route(
                    "/v1/labels/rates/{rate_id}", self._guard(self._create_label_from_rate), methods=["POST"]
                ),
                Route("/v1/labels/{label_id}/void", self._guard(self._void_label), methods=["PUT"]),
                Route("/v1/tracking", self._guard(self._tracking), methods=["GET"]),
                Route("/v1/environment/webhooks", self._guard(self._list_webhooks), methods=["GET"]),
                Route("/v1/environment/webhooks", self._guard(self._create_webhook), methods=["POST"]),
                Route(
                    "/v1/environment/webhooks/{webhook_id}",
                    self._guard(self._update_webhook),
                    methods=["PUT"],
                ),
                Route("/v1/downloads/{dir}/{subdir}/{filename}", self._download, methods=["GET"]),
            ]
        )

    # -- operator's side: what tests and the gateway use directly -------------------------------

    @property
    def signing_key(self) -> rsa.RSAPrivateKey:
        """The key deliveries are signed with: the one given, else this process's (`_process_key`)."""
        if self._signing_key is None:
            self._signing_key = _process_key()
        return self._signing_key

    def jwks(self) -> dict[str, Any]:
        """The public half of `signing_key`, as ShipEngine publishes its keys."""
        numbers = self.signing_key.public_key().public_numbers()
        key = {"kty": "RSA", "kid": self.key_id, "use": "sig", "alg": "RS256"}
        return {"keys": [key | {"n": _b64url(numbers.n), "e": _b64url(numbers.e)}]}

    def register_webhook(
        self,
        url: str,
        *,
        event: str = "track",
        headers: Mapping[str, str] | None = None,
        name: str | None = None,
    ) -> Webhook:
        if event not in WEBHOOK_EVENTS:
            raise ValueError(f"{event!r} is not a ShipEngine webhook event")
        webhook = Webhook(f"se-webhook-{self._ids.take('webhook')}", url, event, dict(headers or {}), name)
        self.webhooks.append(webhook)
        return webhook

    def label_for(self, tracking_number: str) -> SandboxLabel:
        for label in self.labels.values():
            if label.tracking_number == tracking_number:
                return label
        raise KeyError(f"no label has the tracking number {tracking_number!r}")

    def labels_for(self, external_shipment_id: str) -> list[SandboxLabel]:
        return [
            label
            for label in self.labels.values()
            if label.shipment.external_shipment_id == external_shipment_id
        ]

    def to_state(self) -> dict[str, Any]:
        """Everything a restart must keep, as JSON-able data: the id counters (so no tracking
        number is handed out twice), shipments, rates and labels with their tracking steps and
        when the next is due. Webhooks are not kept: whoever registered them does again."""
        return {
            "ids": dict(self._ids.next),
            "purchases": self.purchases,
            "shipments": [_shipment_state(shipment) for shipment in self.shipments.values()],
            "rates": [_rate_state(rate) for rate in self.rates.values()],
            "labels": [_label_state(label) for label in self.labels.values()],
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """The state `to_state` gave; raises (changing nothing) on state of another shape."""
        shipments = {wire["shipment_id"]: _shipment_from(wire) for wire in state["shipments"]}
        rates = [_rate_from(wire) for wire in state["rates"]]
        labels = [_label_from(wire, shipments) for wire in state["labels"]]
        ids = {str(kind): int(value) for kind, value in state["ids"].items()}
        purchases = int(state["purchases"])
        self.shipments = shipments
        self.rates = {rate.rate_id: rate for rate in rates}
        self.labels = {label.label_id: label for label in labels}
        self._ids = Ids(ids)
        self.purchases = purchases

    async def advance(self, now: float | None = None) -> int:
        """Take every label through each scan whose time has come (one every `step_seconds`: a
        carrier scans a parcel when it gets there, not when someone looks), each timed when it
        was due and announced to the webhooks in turn (delivery failures are logged, not
        raised). A return label waiting for its drop-off (`returns_wait_for_drop_off`) does not
        move. The number of scans."""
        now = self.clock() if now is None else now
        taken = 0
        for label in list(self.labels.values()):
            while label.moving and label.due_at <= now:
                await self._scan(label, label.due_at, now)
                taken += 1
        return taken

    async def hand_over(self, label_id: str) -> None:
        """The customer drops a return's parcel off: the carrier's acceptance scan, now; the
        rest follow every `step_seconds`. A label already moving is left as it is."""
        label = self.labels[label_id]
        if label.awaiting_drop_off and label.voided_at is None:
            label.awaiting_drop_off = False
            now = self.clock()
            await self._scan(label, now, now)

    async def _scan(self, label: SandboxLabel, at: float, now: float) -> None:
        label.step += 1
        label.due_at = at + self.step_seconds
        label.events.append(self._event_record(label, at))
        await self._announce(label, now)

    async def run(self, stop: asyncio.Event) -> None:
        """`advance()` every `step_seconds` until `stop` is set (the gateway's lifespan runs this)."""
        while not stop.is_set():
            await self._pause(stop)
            if not stop.is_set():
                await self.advance()

    async def aclose(self) -> None:
        """Closes `webhook_client`, unless it was passed to the constructor (then its owner does)."""
        if self._closes_client and self.webhook_client is not None:
            await self.webhook_client.aclose()
            self.webhook_client = None

    async def _pause(self, stop: asyncio.Event) -> None:
        nap = asyncio.ensure_future(self._sleep(self.step_seconds))
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({nap, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (nap, stopped):
                task.cancel()
            await asyncio.gather(nap, stopped, return_exceptions=True)

    # -- the wire: auth and errors -----------------------------------------------------------------

    def _guard(self, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            presented = request.headers.get("api-key", "")
            wrong = self.api_key is not None and not hmac.compare_digest(
                presented.encode(), self.api_key.encode()
            )
            if not presented or wrong:
                message = "The API key is invalid. Please see https://www.shipengine.com/docs/auth"
                return _error(Refused(message, status=401, error_type="security", error_code="unauthorized"))
            try:
                return await handler(request)
            except Refused as refused:
                return _error(refused)

        return endpoint

    # -- carriers and rates --------------------------------------------------------------------------

    async def _list_carriers(self, request: Request) -> Response:
        carriers = [self._carrier_record(account) for account in CARRIERS]
        return JSONResponse({"carriers": carriers, "request_id": str(uuid.uuid4()), "errors": []})

    async def _calculate_rates(self, request: Request) -> Response:
        body = await _json_object(request)
        options = body.get("rate_options")
        carrier_ids = options.get("carrier_ids") if isinstance(options, dict) else None
        if not isinstance(carrier_ids, list) or not carrier_ids:
            raise Refused(
                "rate_options.carrier_ids must name at least one carrier",
                error_code="field_value_required",
                field_name="rate_options.carrier_ids",
            )
        codes = {_account(carrier_id).carrier_code for carrier_id in carrier_ids}
        wanted = set(options.get("service_codes") or []) if isinstance(options, dict) else set()
        shipment = self._shipment(body.get("shipment"), "shipment", origin_phone=False)
        zone = self._zone(shipment)
        rates = [
            self._rate(shipment, service, zone)
            for service in SERVICES
            if service.carrier_code in codes and (not wanted or service.code in wanted)
        ]
        return JSONResponse(self._rated_shipment_record(shipment, rates))

    def _rate(self, shipment: Shipment, service: Service, zone: int) -> Rate:
        rate = Rate(
            rate_id=f"se-rate-{self._ids.take('rate')}",
            shipment_id=shipment.shipment_id,
            service=service,
            carrier=_carrier_of(service),
            amount=sum((service.price(zone, grams) for grams in shipment.grams), Decimal(0)),
            zone=zone,
            delivery_days=service.days_by_zone[zone - 1],
        )
        self.rates[rate.rate_id] = rate
        return rate

    def _zone(self, shipment: Shipment) -> int:
        origin, destination = (
            self._geocoder.locate(address["country_code"], address["postal_code"])
            for address in (shipment.ship_from, shipment.ship_to)
        )
        if origin is None or destination is None:
            return 8
        distance = haversine_km(origin, destination)
        return next((zone for zone, limit in enumerate(ZONE_LIMITS_KM, 1) if distance <= limit), 8)

    # -- labels ------------------------------------------------------------------------------------

    async def _create_label(self, request: Request) -> Response:
        body = await _json_object(request)
        wire = body.get("shipment")
        if not isinstance(wire, dict):
            raise Refused("shipment is required", error_code="field_value_required", field_name="shipment")
        carrier = _account(wire.get("carrier_id"))
        service = next((s for s in SERVICES if s.code == wire.get("service_code")), None)
        if service is None or service.carrier_code != carrier.carrier_code:
            message = f"{carrier.friendly_name} offers no service {wire.get('service_code')!r}"
            raise Refused(message, field_name="shipment.service_code")
        shipment = self._shipment(wire, "shipment", origin_phone=True)
        is_return, rma_number, charge_event = _return_options(body)
        zone = self._zone(shipment)
        cost = sum((service.price(zone, grams) for grams in shipment.grams), Decimal(0))
        label = self._buy(shipment, service, cost, service.days_by_zone[zone - 1], rate_id=None)
        label.is_return, label.rma_number, label.charge_event = is_return, rma_number, charge_event
        label.awaiting_drop_off = is_return and self.returns_wait_for_drop_off  # until `hand_over`
        return JSONResponse(self._label_record(label))

    async def _create_label_from_rate(self, request: Request) -> Response:
        await _json_object(request)
        rate = self.rates.get(request.path_params["rate_id"])
        if rate is None:
            raise Refused("No rate was found with that id", status=404, error_code="invalid_identifier")
        shipment = self.shipments[rate.shipment_id]
        label = self._buy(shipment, rate.service, rate.amount, rate.delivery_days, rate_id=rate.rate_id)
        return JSONResponse(self._label_record(label))

    def _buy(
        self, shipment: Shipment, service: Service, cost: Decimal, days: int, *, rate_id: str | None
    ) -> SandboxLabel:
        self.purchases += 1
        carrier = _carrier_of(service)
        sequence = self._ids.take("label")
        now = self.clock()
        label = SandboxLabel(
            label_id=f"se-label-{sequence}",
            sequence=sequence,
            shipment=shipment,
            service=service,
            carrier=carrier,
            rate_id=rate_id,
            tracking_number=carrier.tracking_format.format(self._ids.take(carrier.carrier_code)),
            cost=cost,
            delivery_days=days,
            created_at=now,
            due_at=now + self.step_seconds,
        )
        self.labels[label.label_id] = label
        return label

    async def _void_label(self, request: Request) -> Response:
        """A label the carrier has not scanned, within `VOID_DAYS` of its purchase, is voided; any
        other is not, with ShipEngine's reason code."""
        label = self.labels.get(request.path_params["label_id"])
        if label is None:
            raise Refused("No label was found with that id", status=404, error_code="invalid_identifier")
        now = self.clock()
        if label.voided_at is not None:
            return _void_answer(False, "This label has already been voided.", "label_already_voided")
        if label.step:
            message = f"The carrier scanned this label ({label.state.status_description}): it was used."
            return _void_answer(False, message, "label_already_used")
        if now - label.created_at > VOID_DAYS * 86_400:
            message = f"A label can be voided within {VOID_DAYS} days of its purchase."
            return _void_answer(False, message, "label_not_found_within_void_period")
        label.voided_at = now
        return _void_answer(True, "Request for refund submitted. This label has been voided.")

    async def _list_labels(self, request: Request) -> Response:
        filters = {
            "rate_id": lambda label: label.rate_id,
            "tracking_number": lambda label: label.tracking_number,
            "shipment_id": lambda label: label.shipment.shipment_id,
        }
        asked = {name: request.query_params[name] for name in filters if name in request.query_params}
        found = [
            label
            for label in reversed(self.labels.values())
            if all(filters[name](label) == value for name, value in asked.items())
        ]
        page = max(_int_param(request, "page") or 1, 1)
        size = max(_int_param(request, "page_size") or PAGE_SIZE, 1)
        pages = math.ceil(len(found) / size)
        link = f"{self.public_url}/v1/labels?{urlencode({**asked, 'page_size': size})}"
        return JSONResponse(
            {
                "labels": [self._label_record(label) for label in found[(page - 1) * size : page * size]],
                "total": len(found),
                "page": page,
                "pages": pages,
                "links": {
                    "first": {"href": f"{link}&page=1"},
                    "last": {"href": f"{link}&page={max(pages, 1)}"},
                    "prev": {"href": f"{link}&page={page - 1}"} if page > 1 else {},
                    "next": {"href": f"{link}&page={page + 1}"} if page < pages else {},
                },
            }
        )

    async def _label_by_external_id(self, request: Request) -> Response:
        found = self.labels_for(request.path_params["external_shipment_id"])
        if not found:
            message = "No label was found with that external_shipment_id"
            raise Refused(message, status=404, error_code="invalid_identifier")
        return JSONResponse(self._label_record(found[0]))

    async def _download(self, request: Request) -> Response:
        label = self.labels.get(request.path_params["subdir"])
        kind = request.path_params["filename"].rpartition(".")[2]
        if label is None or kind not in DOWNLOADS:
            return _error(Refused("No file was found there", status=404, error_code="file_not_found"))
        return Response(LABEL_FILE, media_type=DOWNLOADS[kind])

    # -- tracking ----------------------------------------------------------------------------------

    async def _tracking(self, request: Request) -> Response:
        number = request.query_params.get("tracking_number")
        if not number:
            message = "tracking_number is required"
            raise Refused(message, error_code="field_value_required", field_name="tracking_number")
        code = request.query_params.get("carrier_code")
        for label in self.labels.values():
            codes = {label.carrier.carrier_code, *CARRIER_ALIASES.get(label.carrier.carrier_code, ())}
            if label.tracking_number == number and (code is None or code in codes):
                return JSONResponse(self._tracking_record(label))
        raise Refused(f"No package is known by {number!r}", status=404, error_code="invalid_identifier")

    # -- webhooks ----------------------------------------------------------------------------------

    async def _list_webhooks(self, request: Request) -> Response:
        return JSONResponse([_webhook_record(webhook) for webhook in self.webhooks])

    async def _create_webhook(self, request: Request) -> Response:
        body = await _json_object(request)
        event, url = body.get("event"), body.get("url")
        if event not in WEBHOOK_EVENTS:
            raise Refused(f"event must be one of {sorted(WEBHOOK_EVENTS)}", field_name="event")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise Refused("url must be an http(s) URL", field_name="url")
        if any(hook.event == event and hook.url == url for hook in self.webhooks):
            message = f"A {event} webhook for that url already exists"
            raise Refused(message, status=409, error_type="business_rules", error_code="identifier_conflict")
        name = body.get("name")
        webhook = self.register_webhook(
            url, event=str(event), headers=_headers(body), name=name if isinstance(name, str) else None
        )
        return JSONResponse(_webhook_record(webhook))

    async def _update_webhook(self, request: Request) -> Response:
        webhook_id = request.path_params["webhook_id"]
        webhook = next((hook for hook in self.webhooks if hook.webhook_id == webhook_id), None)
        if webhook is None:
            raise Refused("No webhook was found with that id", status=404, error_code="invalid_identifier")
        body = await _json_object(request)
        if isinstance(body.get("url"), str):
            webhook.url = body["url"]
        if "headers" in body:
            webhook.headers = _headers(body)
        if isinstance(body.get("name"), str):
            webhook.name = body["name"]
        return Response(status_code=204)

    async def _jwks(self, request: Request) -> Response:
        return JSONResponse(self.jwks())

    async def _announce(self, label: SandboxLabel, now: float) -> None:
        query = urlencode(
            {"carrier_code": label.carrier.carrier_code, "tracking_number": label.tracking_number}
        )
        payload = {
            "resource_url": f"{self.public_url}/v1/tracking?{query}",
            "resource_type": "API_TRACK",
            "data": {"label_url": self._download_url(label, "pdf"), **self._tracking_record(label)},
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        for webhook in [hook for hook in self.webhooks if hook.event == "track"]:
            headers = {"Content-Type": "application/json", **webhook.headers, **self._signature(body, now)}
            if self.webhook_client is None:
                self.webhook_client = httpx.AsyncClient(timeout=5.0)
            try:
                response = await self.webhook_client.post(webhook.url, content=body, headers=headers)
                if response.status_code >= 300:
                    logger.warning(
                        "shipengine sandbox: track webhook for %s to %s answered %s",
                        label.tracking_number,
                        webhook.url,
                        response.status_code,
                    )
            except Exception:
                logger.warning(
                    "shipengine sandbox: track webhook for %s to %s failed",
                    label.tracking_number,
                    webhook.url,
                    exc_info=True,
                )

    def _signature(self, body: bytes, now: float) -> dict[str, str]:
        """ShipEngine's: RSA-SHA256 over `{timestamp}.{body}`, the key named by its JWKS id."""
        stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        signature = self.signing_key.sign(stamp.encode() + b"." + body, padding.PKCS1v15(), hashes.SHA256())
        return {
            KEY_ID_HEADER: self.key_id,
            SIGNATURE_HEADER: base64.b64encode(signature).decode(),
            TIMESTAMP_HEADER: stamp,
        }

    # -- requests in ShipEngine's wire format ------------------------------------------------------

    def _shipment(self, wire: Any, name: str, *, origin_phone: bool) -> Shipment:
        if not isinstance(wire, dict):
            raise Refused(f"{name} is required", error_code="field_value_required", field_name=name)
        external = wire.get("external_shipment_id")
        shipment = Shipment(
            shipment_id=f"se-shipment-{self._ids.take('shipment')}",
            ship_from=_address(wire.get("ship_from"), f"{name}.ship_from", phone=origin_phone),
            ship_to=_address(wire.get("ship_to"), f"{name}.ship_to", phone=False),
            packages=_packages(wire.get("packages"), f"{name}.packages"),
            # ShipEngine truncates past 50 characters, as its spec warns.
            external_shipment_id=external[:50] if isinstance(external, str) and external else None,
            created_at=self.clock(),
        )
        self.shipments[shipment.shipment_id] = shipment
        return shipment

    # -- answers in ShipEngine's wire format -------------------------------------------------------

    def _carrier_record(self, account: CarrierAccount) -> dict[str, Any]:
        return {
            "carrier_id": account.carrier_id,
            "carrier_code": account.carrier_code,
            "account_number": f"sandbox-{account.carrier_code}",
            "requires_funded_amount": account.carrier_code == "stamps_com",
            "balance": 0,
            "nickname": f"ordergate sandbox {account.friendly_name}",
            "friendly_name": account.friendly_name,
            "primary": account is CARRIERS[0],
            "has_multi_package_supporting_services": True,
            "allows_returns": True,
            "supports_label_messages": True,
            # The spec types a service's `carrier_code` as a ShipEngine id, so it is left out.
            "services": [
                {
                    "carrier_id": account.carrier_id,
                    "service_code": service.code,
                    "name": service.name,
                    "domestic": True,
                    "international": False,
                    "is_multi_package_supported": True,
                    "is_return_supported": True,
                }
                for service in SERVICES
                if service.carrier_code == account.carrier_code
            ],
            "packages": [{"package_code": "package", "name": "Package"}],
            "options": [],
        }

    def _rated_shipment_record(self, shipment: Shipment, rates: list[Rate]) -> dict[str, Any]:
        created = _timestamp(shipment.created_at)
        ship_day = self._today()
        return {
            **self._shipment_record(shipment),
            "shipment_status": "pending",
            "ship_date": _day_stamp(ship_day),
            "created_at": created,
            "modified_at": created,
            "rate_response": {
                "rates": [self._rate_record(rate, ship_day) for rate in rates],
                "invalid_rates": [],
                "rate_request_id": f"se-raterequest-{self._ids.take('rate_request')}",
                "shipment_id": shipment.shipment_id,
                "status": "completed",
                "errors": [],
            },
        }

    def _shipment_record(self, shipment: Shipment) -> dict[str, Any]:
        total = sum(shipment.grams, Decimal(0))
        return {
            "shipment_id": shipment.shipment_id,
            "external_shipment_id": shipment.external_shipment_id,
            "ship_to": shipment.ship_to,
            "ship_from": shipment.ship_from,
            "warehouse_id": None,
            "return_to": shipment.ship_from,
            "confirmation": "none",
            "customs": None,
            "advanced_options": {},
            "insurance_provider": "none",
            "tags": [],
            "packages": [_package_record(package) for package in shipment.packages],
            "total_weight": {"value": float(round(total, 3)), "unit": "gram"},
        }

    def _rate_record(self, rate: Rate, ship_day: date) -> dict[str, Any]:
        return {
            "rate_id": rate.rate_id,
            "rate_type": "shipment",
            "carrier_id": rate.carrier.carrier_id,
            "shipping_amount": _money(rate.amount),
            "insurance_amount": _money(Decimal(0)),
            "confirmation_amount": _money(Decimal(0)),
            "other_amount": _money(Decimal(0)),
            "zone": rate.zone,
            "package_type": "package",
            "delivery_days": rate.delivery_days,
            "guaranteed_service": False,
            "estimated_delivery_date": _day_stamp(ship_day + timedelta(days=rate.delivery_days)),
            "carrier_delivery_days": str(rate.delivery_days),
            "ship_date": _day_stamp(ship_day),
            "negotiated_rate": False,
            "service_type": rate.service.name,
            "service_code": rate.service.code,
            "trackable": True,
            "carrier_code": rate.carrier.carrier_code,
            "carrier_nickname": f"ordergate sandbox {rate.carrier.friendly_name}",
            "carrier_friendly_name": rate.carrier.friendly_name,
            "validation_status": "valid",
            "warning_messages": [],
            "error_messages": [],
        }

    def _label_record(self, label: SandboxLabel) -> dict[str, Any]:
        downloads = {kind: self._download_url(label, kind) for kind in DOWNLOADS}
        shipment = label.shipment
        return {
            "label_id": label.label_id,
            "status": "completed" if label.voided_at is None else "voided",
            "shipment_id": shipment.shipment_id,
            "external_shipment_id": shipment.external_shipment_id,
            "external_order_id": None,
            "ship_date": _day_stamp(_day_of(label.created_at)),
            "created_at": _timestamp(label.created_at),
            "shipment_cost": _money(label.cost),
            "insurance_cost": _money(Decimal(0)),
            "tracking_number": label.tracking_number,
            "is_return_label": label.is_return,
            "rma_number": label.rma_number,
            "is_international": shipment.ship_from["country_code"] != shipment.ship_to["country_code"],
            # ShipEngine sends "" outside a batch, which the spec's se_id refuses; a batch id stands in.
            "batch_id": "se-0",
            "carrier_id": label.carrier.carrier_id,
            "charge_event": label.charge_event,
            "service_code": label.service.code,
            "package_code": "package",
            "voided": label.voided_at is not None,
            "voided_at": None if label.voided_at is None else _timestamp(label.voided_at),
            "label_format": "pdf",
            "display_scheme": "label",
            "label_layout": "4x6",
            "trackable": True,
            "label_image_id": None,
            "carrier_code": label.carrier.carrier_code,
            "tracking_status": "delivered" if label.delivered else "in_transit" if label.step else "unknown",
            "confirmation": "none",
            "label_download": {"href": downloads["pdf"], **downloads},
            "form_download": None,
            "qr_code_download": None,
            "paperless_download": None,
            "insurance_claim": None,
            "packages": [
                {
                    **_package_record(package),
                    "package_id": label.sequence * 100 + number,
                    "tracking_number": label.tracking_number,
                    "label_download": {"href": downloads["pdf"], **downloads},
                    "form_download": {},
                    "qr_code_download": {},
                    "sequence": number,
                    "has_label_documents": True,
                    "has_form_documents": False,
                    "has_qr_code_documents": False,
                    "has_paperless_label_documents": False,
                    "alternative_identifiers": None,
                }
                for number, package in enumerate(shipment.packages, start=1)
            ],
            "alternative_identifiers": None,
            "tracking_url": label.carrier.tracking_url.format(label.tracking_number),
            "ship_to": shipment.ship_to,
            "void_type": None if label.voided_at is None else "manual",
            "refund_details": None,
        }

    def _tracking_record(self, label: SandboxLabel) -> dict[str, Any]:
        state = label.state
        ship_day = _day_of(label.created_at)
        record: dict[str, Any] = {
            "tracking_number": label.tracking_number,
            "tracking_url": label.carrier.tracking_url.format(label.tracking_number),
            "status_code": state.status_code,
            "status_detail_code": state.status_detail_code,
            "carrier_code": label.carrier.carrier_code,
            "carrier_id": label.carrier.number,
            "status_description": state.status_description,
            "status_detail_description": state.detail_description,
            "carrier_status_code": state.carrier_status_code,
            "carrier_detail_code": state.carrier_status_code,
            "carrier_status_description": state.carrier_status_description,
            "ship_date": _day_stamp(ship_day),
            "estimated_delivery_date": _day_stamp(ship_day + timedelta(days=label.delivery_days)),
            # Most recent first, as ShipEngine lists them.
            "events": list(reversed(label.events)),
        }
        if label.delivered:
            record["actual_delivery_date"] = label.events[-1]["occurred_at"]
        return record

    def _event_record(self, label: SandboxLabel, now: float) -> dict[str, Any]:
        state = label.state
        if state.place == "hub":
            city, region, postal = label.carrier.hub
            country = "US"
        else:
            address = label.shipment.ship_from if state.place == "origin" else label.shipment.ship_to
            city, region, postal = (
                address[key] for key in ("city_locality", "state_province", "postal_code")
            )
            country = address["country_code"]
        return {
            "occurred_at": _timestamp(now),
            "description": state.carrier_status_description,
            "city_locality": city,
            "state_province": region,
            "postal_code": postal,
            "country_code": country,
            "event_code": state.carrier_status_code,
            "carrier_detail_code": state.carrier_status_code,
            "status_code": state.status_code,
            "status_detail_code": state.status_detail_code,
            "status_description": state.status_description,
            "status_detail_description": state.detail_description,
            "carrier_status_code": state.carrier_status_code,
            "carrier_status_description": state.carrier_status_description,
        }

    def _download_url(self, label: SandboxLabel, kind: str) -> str:
        return f"{self.public_url}/v1/downloads/10/{label.label_id}/label-{label.sequence}.{kind}"

    def _today(self) -> date:
        return _day_of(self.clock())


def _shipment_state(shipment: Shipment) -> dict[str, Any]:
    return {
        "shipment_id": shipment.shipment_id,
        "ship_from": shipment.ship_from,
        "ship_to": shipment.ship_to,
        "packages": shipment.packages,
        "external_shipment_id": shipment.external_shipment_id,
        "created_at": shipment.created_at,
    }


def _shipment_from(wire: Mapping[str, Any]) -> Shipment:
    return Shipment(
        shipment_id=str(wire["shipment_id"]),
        ship_from=dict(wire["ship_from"]),
        ship_to=dict(wire["ship_to"]),
        packages=[dict(package) for package in wire["packages"]],
        external_shipment_id=wire["external_shipment_id"],
        created_at=float(wire["created_at"]),
    )


def _service(code: Any) -> Service:
    return next(service for service in SERVICES if service.code == code)


def _rate_state(rate: Rate) -> dict[str, Any]:
    return {
        "rate_id": rate.rate_id,
        "shipment_id": rate.shipment_id,
        "service_code": rate.service.code,
        "amount": str(rate.amount),
        "zone": rate.zone,
        "delivery_days": rate.delivery_days,
    }


def _rate_from(wire: Mapping[str, Any]) -> Rate:
    service = _service(wire["service_code"])
    return Rate(
        rate_id=str(wire["rate_id"]),
        shipment_id=str(wire["shipment_id"]),
        service=service,
        carrier=_carrier_of(service),
        amount=Decimal(wire["amount"]),
        zone=int(wire["zone"]),
        delivery_days=int(wire["delivery_days"]),
    )


def _label_state(label: SandboxLabel) -> dict[str, Any]:
    return {
        "label_id": label.label_id,
        "sequence": label.sequence,
        "shipment_id": label.shipment.shipment_id,
        "service_code": label.service.code,
        "rate_id": label.rate_id,
        "tracking_number": label.tracking_number,
        "cost": str(label.cost),
        "delivery_days": label.delivery_days,
        "created_at": label.created_at,
        "due_at": label.due_at,
        "step": label.step,
        "events": label.events,
        "is_return": label.is_return,
        "rma_number": label.rma_number,
        "charge_event": label.charge_event,
        "voided_at": label.voided_at,
        "awaiting_drop_off": label.awaiting_drop_off,
    }


def _label_from(wire: Mapping[str, Any], shipments: Mapping[str, Shipment]) -> SandboxLabel:
    service = _service(wire["service_code"])
    step = int(wire["step"])
    if not 0 <= step <= len(TRACKING_STEPS):
        raise ValueError(f"label {wire['label_id']!r} is at step {step}, past the last")
    return SandboxLabel(
        label_id=str(wire["label_id"]),
        sequence=int(wire["sequence"]),
        shipment=shipments[wire["shipment_id"]],
        service=service,
        carrier=_carrier_of(service),
        rate_id=wire["rate_id"],
        tracking_number=str(wire["tracking_number"]),
        cost=Decimal(wire["cost"]),
        delivery_days=int(wire["delivery_days"]),
        created_at=float(wire["created_at"]),
        due_at=float(wire["due_at"]),
        step=step,
        events=[dict(event) for event in wire["events"]],
        is_return=bool(wire["is_return"]),
        rma_number=wire["rma_number"],
        charge_event=str(wire["charge_event"]),
        voided_at=None if wire.get("voided_at") is None else float(wire["voided_at"]),
        awaiting_drop_off=bool(wire.get("awaiting_drop_off", False)),
    )


def _void_answer(approved: bool, message: str, reason_code: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"approved": approved, "message": message}
    if reason_code is not None:
        body["reason_code"] = reason_code
    return JSONResponse(body)


def _return_options(body: dict[str, Any]) -> tuple[bool, str | None, str]:
    """`is_return_label`, `rma_number` and `charge_event` of a label request, as the spec types them."""
    is_return, rma_number = body.get("is_return_label", False), body.get("rma_number")
    charge_event = body.get("charge_event", "carrier_default")
    if not isinstance(is_return, bool):
        raise Refused("is_return_label must be a boolean", field_name="is_return_label")
    if rma_number is not None and not isinstance(rma_number, str):
        raise Refused("rma_number must be a string", field_name="rma_number")
    if charge_event not in CHARGE_EVENTS:
        raise Refused(f"charge_event must be one of {sorted(CHARGE_EVENTS)}", field_name="charge_event")
    return is_return, rma_number, charge_event


def _account(carrier_id: Any) -> CarrierAccount:
    for account in CARRIERS:
        if account.carrier_id == carrier_id:
            return account
    raise Refused(f"No carrier account has the id {carrier_id!r}", error_code="invalid_identifier")


def _carrier_of(service: Service) -> CarrierAccount:
    return next(account for account in CARRIERS if account.carrier_code == service.carrier_code)


def _address(wire: Any, name: str, *, phone: bool) -> dict[str, Any]:
    if not isinstance(wire, dict):
        raise Refused(f"{name} is required", error_code="field_value_required", field_name=name)
    for key in (*REQUIRED_ADDRESS_FIELDS, "country_code", *(("phone",) if phone else ())):
        if not isinstance(wire.get(key), str) or not wire[key].strip():
            raise Refused(
                f"{name}.{key} is required", error_code="field_value_required", field_name=f"{name}.{key}"
            )
    if len(wire["country_code"]) != 2:
        raise Refused(f"{name}.country_code must have two letters", field_name=f"{name}.country_code")
    fields = {key: wire[key] for key in ADDRESS_FIELDS if isinstance(wire.get(key), str) and wire[key]}
    return fields | {"country_code": wire["country_code"].upper(), "address_residential_indicator": "unknown"}


def _packages(wire: Any, name: str) -> list[dict[str, Any]]:
    if not isinstance(wire, list) or not wire:
        raise Refused(
            f"{name} must list at least one package", error_code="field_value_required", field_name=name
        )
    packages = []
    for number, package in enumerate(wire):
        weight = package.get("weight") if isinstance(package, dict) else None
        value = weight.get("value") if isinstance(weight, dict) else None
        unit = weight.get("unit") if isinstance(weight, dict) else None
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or value <= 0
            or unit not in GRAMS_PER_UNIT
        ):
            raise Refused(
                f"{name}[{number}].weight must be a positive weight", field_name=f"{name}[{number}].weight"
            )
        record: dict[str, Any] = {"weight": {"value": value, "unit": unit}}
        dimensions = package.get("dimensions")
        if isinstance(dimensions, dict):
            sides = {side: dimensions.get(side) for side in ("length", "width", "height")}
            if dimensions.get("unit") not in ("inch", "centimeter") or not all(
                isinstance(size, int | float) and not isinstance(size, bool) and size >= 0
                for size in sides.values()
            ):
                message = f"{name}[{number}].dimensions must be sizes in inch or centimeter"
                raise Refused(message, field_name=f"{name}[{number}].dimensions")
            record["dimensions"] = {"unit": dimensions["unit"], **sides}
        packages.append(record)
    return packages


def _package_record(package: dict[str, Any]) -> dict[str, Any]:
    return {
        "package_code": "package",
        **package,
        "insured_value": _money(Decimal(0)),
    }


def _headers(body: dict[str, Any]) -> dict[str, str]:
    """A webhook's custom headers, from the spec's `[{key, value}]`."""
    headers = body.get("headers") or []
    if not isinstance(headers, list) or not all(
        isinstance(h, dict) and isinstance(h.get("key"), str) and h["key"] and isinstance(h.get("value"), str)
        for h in headers
    ):
        raise Refused("headers must be a list of {key, value} strings", field_name="headers")
    return {header["key"]: header["value"] for header in headers}


def _webhook_record(webhook: Webhook) -> dict[str, Any]:
    record: dict[str, Any] = {
        "webhook_id": webhook.webhook_id,
        "url": webhook.url,
        "event": webhook.event,
        "headers": [{"key": key, "value": value} for key, value in webhook.headers.items()],
    }
    if webhook.name is not None:
        record["name"] = webhook.name
    return record


def _error(refused: Refused) -> Response:
    error: dict[str, Any] = {
        "error_source": "shipengine",
        "error_type": refused.error_type,
        "error_code": refused.error_code,
        "message": refused.message,
    }
    if refused.field_name is not None:
        error["field_name"] = refused.field_name
    return JSONResponse({"request_id": str(uuid.uuid4()), "errors": [error]}, status_code=refused.status)


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError as error:
        raise Refused("The request body is not valid JSON", error_code="request_body_required") from error
    if not isinstance(body, dict):
        raise Refused("The request body must be a JSON object", error_code="request_body_required")
    return body


def _int_param(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    try:
        return None if value is None else int(value)
    except ValueError as error:
        raise Refused(f"{name} must be an integer", field_name=name) from error


def _money(amount: Decimal) -> dict[str, Any]:
    # JSON has one number type; two decimal places print back exactly.
    return {"currency": CURRENCY, "amount": float(amount)}


def _day_of(epoch: float) -> date:
    return datetime.fromtimestamp(epoch, UTC).date()


def _day_stamp(day: date) -> str:
    """ShipEngine's `date`: a date-time at midnight UTC."""
    return f"{day.isoformat()}T00:00:00Z"


def _timestamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _b64url(number: int) -> str:
    raw = number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


__all__ = ["CARRIERS", "SERVICES", "TRACKING_STEPS", "SandboxLabel", "ShipEngineSandbox", "Webhook"]
