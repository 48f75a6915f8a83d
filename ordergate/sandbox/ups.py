"""A stateful stand-in for UPS's REST APIs (`https://onlinetools.ups.com`), in their wire format.

Served below its mount: `POST /security/v1/oauth/token` (HTTP Basic, client credentials),
`POST /api/rating/{version}/{requestoption}` (Rate or Shop over a fixed table for 01 Next Day Air,
02 2nd Day Air and 03 Ground, by weight and zone), `POST /api/shipments/{version}/ship` (labels
with 1Z numbers), `GET /api/track/v1/details/{inquiryNumber}`, and `GET /labels/{number}`, the
image behind each LabelURL (a sandbox convenience; UPS's LabelURL is a page of its own). The /api
paths want a bearer token issued here and answer 401 in UPS's error format otherwise.

Parcels move on the clock: `advance` takes each one a scan further per `step_seconds` (pickup, in
transit, out for delivery, delivered) and posts every scan as a Track Alert event to the
subscribed URLs with their `credential` header. Every time is UTC (`gmtOffset` +00:00).

A shipment with a `ReturnService` (8 or 9) is a return label: it needs ShipFrom (the customer, where
the parcel is scanned first) and a Description on every package, and its parcels keep the code.
With `returns_wait_for_drop_off`, a return parcel makes no scan until the customer drops it off
(`hand_over`); its scans then run from that moment.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

logger = logging.getLogger(__name__)

PUBLIC_URL = "https://onlinetools.ups.com"
TOKEN_TTL = 14399
STEP_SECONDS = 30.0
ALERT_USER_AGENT = "UPSPubSubTrackingService"
SUCCESS = {"ResponseStatus": {"Code": "1", "Description": "Success"}}
POUNDS = {"Code": "LBS", "Description": "Pounds"}
# A 1x1 GIF: the sandbox's label image.
LABEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class ServiceRate:
    name: str
    base: Decimal
    per_pound: Decimal
    per_zone: Decimal
    days: tuple[int, ...]
    """Business days in transit by zone 2 to 8."""


RATES: dict[str, ServiceRate] = {
    "01": ServiceRate("UPS Next Day Air", Decimal("32.00"), Decimal("2.40"), Decimal("2.50"), (1,) * 7),
    "02": ServiceRate("UPS 2nd Day Air", Decimal("18.00"), Decimal("1.40"), Decimal("1.50"), (2,) * 7),
    "03": ServiceRate("UPS Ground", Decimal("9.00"), Decimal("0.60"), Decimal("0.75"), (1, 2, 3, 3, 4, 5, 5)),
}
"""Per package: base + per_pound x whole pounds + per_zone x (zone - 2)."""

LABEL_SCAN = ("M", "MP", "Shipper created a label, UPS has not received the package yet.")
VOID_SCAN = ("MV", "MV", "Voided Information Received")
VOID_DAYS = 90
"""A shipment UPS has not received is voided within this many days of its label."""
PROGRESSION = [
    ("P", "PU", "Pickup Scan"),
    ("I", "DP", "Departed from Facility"),
    ("I", "OT", "Out For Delivery Today"),
    ("D", "FS", "Delivered"),
]
"""The scans `advance` adds, one per step; the first two happen at the origin, the rest at the destination."""

ALERT_TYPES = {"P": "I"}
"""Track Alert knows no P type (its schema allows D, I, M, MV, U, X): a pickup goes out as I/PU."""

STATUS_CODES = {("I", "OT"): "021", ("D", "FS"): "011"}
RETURN_SERVICES = frozenset({"8", "9"})
"""The return services the sandbox sells: Electronic (8) and Print (9) Return Label."""


class Refused(Exception):
    """An answer in UPS's error format: `{"response": {"errors": [{code, message}]}}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Place:
    city: str
    region: str
    postal_code: str
    country: str


@dataclass(frozen=True)
class Scan:
    status_type: str
    code: str
    description: str
    at: float
    place: Place


@dataclass
class SandboxParcel:
    tracking_number: str
    shipment_id: str
    service: str
    origin: Place
    destination: Place
    pounds: Decimal
    charge: Decimal
    created_at: float
    scheduled_on: str
    references: list[str]
    scans: list[Scan] = field(default_factory=list)
    return_service: str | None = None
    """The ReturnService code of a return label (9: Print Return Label), None going out."""
    awaiting_drop_off: bool = False
    """A return label the customer has not posted yet (`UpsSandbox.hand_over`): no scan comes."""
    dropped_off_at: float | None = None
    """When the customer posted a return that waited for it: its scans run from then."""

    @property
    def steps_taken(self) -> int:
        return len(self.scans) - 1

    @property
    def delivered(self) -> bool:
        return self.steps_taken >= len(PROGRESSION)

    @property
    def voided(self) -> bool:
        return self.scans[-1].status_type == VOID_SCAN[0]

    @property
    def received(self) -> bool:
        """UPS has had the package in its hands (a scan past the label's)."""
        return any(scan.status_type not in (LABEL_SCAN[0], VOID_SCAN[0]) for scan in self.scans)


@dataclass(frozen=True)
class Subscription:
    url: str
    credential: str


class UpsSandbox:
    """UPS's state and `.app`, the Starlette app that serves it."""

    def __init__(
        self,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        account_number: str | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        step_seconds: float = STEP_SECONDS,
        token_ttl: int = TOKEN_TTL,
        webhook_client: httpx.AsyncClient | None = None,
        public_url: str = PUBLIC_URL,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.account_number = account_number
        self.clock = clock
        self.step_seconds = step_seconds
        self.token_ttl = token_ttl
        self.webhook_client = webhook_client
        self.public_url = public_url.rstrip("/")
        self.parcels: dict[str, SandboxParcel] = {}
        self.subscriptions: list[Subscription] = []
        # Off: a return parcel moves on its own, as if the customer posted it at once (a served
        # sandbox has no customer). On: it waits for `hand_over` (the walk posts parcels itself).
        self.returns_wait_for_drop_off = False
        self.tokens_issued = 0
        self.labels_purchased = 0
        self._sleep = sleep
        self._closes_client = webhook_client is None
        self._tokens: dict[str, float] = {}
        self._serial = 0
        self.app = Starlette(
            routes=[
                Route("/security/v1/oauth/token", self._answering(self._issue_token), methods=["POST"]),
                Route("/api/rating/{version}/{requestoption}", self._guard(self._rate), methods=["POST"]),
                Route("/api/shipments/{version}/ship", self._guard(self._ship), methods=["POST"]),
                Route(
                    "/api/shipments/{version}/void/cancel/{shipment}",
                    self._guard(self._void),
                    methods=["DELETE"],
                ),
                Route("/api/track/v1/details/{inquiry_number}", self._guard(self._track), methods=["GET"]),
                Route("/labels/{tracking_number}", self._label_image, methods=["GET"]),
            ]
        )

    # -- operator's side: what tests and demos change directly --------------------------------

    def subscribe(self, url: str, credential: str) -> Subscription:
        """Track Alert for every parcel, posted to `url` with `credential` in the header of that name."""
        subscription = Subscription(url, credential)
        self.subscriptions.append(subscription)
        return subscription

    def revoke_tokens(self) -> None:
        """Forget every issued token, as UPS does now and then before `expires_in`."""
        self._tokens.clear()

    def to_state(self) -> dict[str, Any]:
        """Everything a restart must keep, as JSON-able data: the serial tracking numbers are
        made from (so none is handed out twice), the counters, and every parcel with its scans
        (the next scan is due a step after the last). Tokens and subscriptions are not kept:
        clients ask again, and whoever subscribed does again."""
        return {
            "serial": self._serial,
            "tokens_issued": self.tokens_issued,
            "labels_purchased": self.labels_purchased,
            "parcels": [_parcel_state(parcel) for parcel in self.parcels.values()],
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """The state `to_state` gave; raises (changing nothing) on state of another shape."""
        parcels = [_parcel_from(wire) for wire in state["parcels"]]
        serial, tokens, labels = (int(state[key]) for key in ("serial", "tokens_issued", "labels_purchased"))
        self.parcels = {parcel.tracking_number: parcel for parcel in parcels}
        self._serial, self.tokens_issued, self.labels_purchased = serial, tokens, labels

    async def advance(self, now: float | None = None) -> int:
        """Take every parcel whose next scan is due through it, announcing each; the number of
        scans. A return waiting for its drop-off (`returns_wait_for_drop_off`) makes none."""
        now = self.clock() if now is None else now
        taken = 0
        for parcel in list(self.parcels.values()):
            taken += await self._catch_up(parcel, now)
        return taken

    async def hand_over(self, tracking_number: str) -> None:
        """The customer drops a return's parcel off: UPS's pickup scan, now; the rest follow
        every `step_seconds`. A parcel already moving is left as it is."""
        parcel = self.parcels[tracking_number]
        if parcel.awaiting_drop_off and not parcel.voided:
            now = self.clock()
            parcel.awaiting_drop_off, parcel.dropped_off_at = False, now
            await self._catch_up(parcel, now)

    async def _catch_up(self, parcel: SandboxParcel, now: float) -> int:
        taken = 0
        start = (
            parcel.created_at + self.step_seconds if parcel.dropped_off_at is None else parcel.dropped_off_at
        )
        while not parcel.delivered and not parcel.voided and not parcel.awaiting_drop_off:
            due = start + parcel.steps_taken * self.step_seconds
            if due > now:
                break
            status_type, code, description = PROGRESSION[parcel.steps_taken]
            place = parcel.origin if parcel.steps_taken < 2 else parcel.destination
            scan = Scan(status_type, code, description, due, place)
            parcel.scans.append(scan)
            taken += 1
            await self._announce(parcel, scan)
        return taken

    async def run(self, stop: asyncio.Event) -> None:
        """Advance every `step_seconds` until `stop` is set."""
        while not stop.is_set():
            await self.advance()
            pause = asyncio.ensure_future(self._sleep(self.step_seconds))
            stopped = asyncio.ensure_future(stop.wait())
            await asyncio.wait({pause, stopped}, return_when=asyncio.FIRST_COMPLETED)
            for waiter in (pause, stopped):
                waiter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiter

    async def aclose(self) -> None:
        """Closes `webhook_client`, unless it was passed to the constructor (then its owner does)."""
        if self._closes_client and self.webhook_client is not None:
            await self.webhook_client.aclose()
            self.webhook_client = None

    # -- the wire: OAuth and the bearer guard ---------------------------------------------------

    def _answering(self, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except Refused as refused:
                return _error(refused.status, refused.code, refused.message)

        return endpoint

    def _guard(self, handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            expires_at = self._tokens.get(token) if scheme.lower() == "bearer" else None
            if expires_at is None:
                raise Refused(401, "250002", "Invalid Authentication Information.")
            if expires_at <= self.clock():
                raise Refused(401, "251004", "Bearer Token expired.")
            return await handler(request)

        return self._answering(guarded)

    async def _issue_token(self, request: Request) -> Response:
        client_id, secret = _basic_credentials(request.headers.get("authorization", ""))
        if client_id is None or not self._known_client(client_id, secret or ""):
            raise Refused(401, "10401", "ClientId is Invalid")
        form = parse_qs((await request.body()).decode("latin-1"))
        if form.get("grant_type") != ["client_credentials"]:
            raise Refused(400, "10400", "Invalid/Missing grant_type")
        token = secrets.token_urlsafe(32)
        issued_at = self.clock()
        self._tokens[token] = issued_at + self.token_ttl
        self.tokens_issued += 1
        return JSONResponse(
            {
                "token_type": "Bearer",
                "issued_at": str(int(issued_at * 1000)),
                "client_id": client_id,
                "access_token": token,
                "scope": "",
                "expires_in": str(self.token_ttl),
                "refresh_count": "0",
                "status": "approved",
            }
        )

    def _known_client(self, client_id: str, secret: str) -> bool:
        if self.client_id is None:
            return True
        same_id = hmac.compare_digest(client_id.encode(), self.client_id.encode())
        same_secret = hmac.compare_digest(secret.encode(), (self.client_secret or "").encode())
        return same_id and same_secret

    # -- rating, shipping, tracking ------------------------------------------------------------

    async def _rate(self, request: Request) -> Response:
        option = request.path_params["requestoption"].lower()
        if option not in ("rate", "shop", "ratetimeintransit", "shoptimeintransit"):
            raise Refused(400, "111100", f"Invalid request option {option!r}")
        rate_request = _member(await _json_object(request), "RateRequest")
        shipment = _member(rate_request, "Shipment")
        origin = _place(
            _member(_member(shipment, "ShipFrom" if "ShipFrom" in shipment else "Shipper"), "Address")
        )
        destination = _place(_member(_member(shipment, "ShipTo"), "Address"))
        weights = _package_pounds(shipment)
        if option.startswith("rate"):
            code = str(_member(shipment, "Service").get("Code", "")).zfill(2)[-2:]
            if code not in RATES:
                raise Refused(
                    400, "111210", "The requested service is unavailable between the selected locations."
                )
            services = [code]
        else:
            services = list(RATES)
        zone = _zone(origin, destination)
        rated = [_rated_shipment(code, weights, zone) for code in services]
        return JSONResponse({"RateResponse": {"Response": _response(rate_request), "RatedShipment": rated}})

    async def _ship(self, request: Request) -> Response:
        ship_request = _member(await _json_object(request), "ShipmentRequest")
        shipment = _member(ship_request, "Shipment")
        shipper = _member(shipment, "Shipper")
        account = str(shipper.get("ShipperNumber", "")).upper()
        if not re.fullmatch(r"[0-9A-Z]{6}", account) or account != (self.account_number or account).upper():
            raise Refused(400, "120100", "Missing or invalid shipper number")
        code = str(_member(shipment, "Service").get("Code", ""))
        if code not in RATES:
            raise Refused(400, "120202", "Invalid or missing service code")
        return_service = _return_service(shipment)
        origin = _place(
            _member(_member(shipment, "ShipFrom" if "ShipFrom" in shipment else "Shipper"), "Address")
        )
        destination = _place(_member(_member(shipment, "ShipTo"), "Address"))
        weights = _package_pounds(shipment)
        zone, rate, now = _zone(origin, destination), RATES[code], self.clock()
        references = _references(ship_request)
        scheduled = datetime.fromtimestamp(now, UTC).date() + timedelta(days=rate.days[zone - 2])
        parcels: list[SandboxParcel] = []
        for pounds in weights:
            number = self._tracking_number(account, code)
            parcel = SandboxParcel(
                tracking_number=number,
                shipment_id=parcels[0].tracking_number if parcels else number,
                service=code,
                origin=origin,
                destination=destination,
                pounds=pounds,
                charge=_charge(rate, pounds, zone),
                created_at=now,
                scheduled_on=scheduled.strftime("%Y%m%d"),
                references=references,
                scans=[Scan(*LABEL_SCAN, now, origin)],
                return_service=return_service,
                awaiting_drop_off=return_service is not None and self.returns_wait_for_drop_off,
            )
            parcels.append(parcel)
            self.parcels[number] = parcel
        self.labels_purchased += 1
        total = sum((parcel.charge for parcel in parcels), Decimal(0))
        billed = sum((_whole_pounds(parcel.pounds) for parcel in parcels), Decimal(0))
        options = shipment.get("ShipmentServiceOptions")
        links = isinstance(options, dict) and "LabelLinksIndicator" in (options.get("LabelDelivery") or {})
        results: dict[str, Any] = {
            "ShipmentCharges": {
                "TransportationCharges": _money(total),
                "ServiceOptionsCharges": _money(Decimal(0)),
                "TotalCharges": _money(total),
            },
            # The spec wants exactly 8 characters here.
            "BillingWeight": {"UnitOfMeasurement": POUNDS, "Weight": f"{billed:.1f}".rjust(8, "0")},
            "ShipmentIdentificationNumber": parcels[0].tracking_number,
            "PackageResults": [
                {
                    "TrackingNumber": parcel.tracking_number,
                    "ServiceOptionsCharges": _money(Decimal(0)),
                    "ShippingLabel": {
                        "ImageFormat": {"Code": "GIF", "Description": "GIF"},
                        "GraphicImage": base64.b64encode(LABEL_GIF).decode(),
                    },
                }
                for parcel in parcels
            ],
        }
        if links:
            results["LabelURL"] = f"{self.public_url}/labels/{parcels[0].tracking_number}"
        return JSONResponse(
            {"ShipmentResponse": {"Response": _response(ship_request), "ShipmentResults": results}}
        )

    async def _void(self, request: Request) -> Response:
        """Every package of the shipment voided, unless UPS has received one of them or the void
        period is over; voided before is voided (UPS's package status 1)."""
        for header, code in (("transId", "VSS002"), ("transactionSrc", "VSS004")):
            if not request.headers.get(header):
                raise Refused(400, code, f"Missing {header}")
        shipment = request.path_params["shipment"].strip().upper()
        parcels = [parcel for parcel in self.parcels.values() if parcel.shipment_id == shipment]
        if not parcels:
            raise Refused(400, "190101", "No shipment found for this shipment identification number")
        now = self.clock()
        if any(parcel.received for parcel in parcels):
            raise Refused(400, "190117", "The package was received by UPS and cannot be voided")
        if now - parcels[0].created_at > VOID_DAYS * 86_400:
            raise Refused(400, "190102", f"No shipment found within the {VOID_DAYS}-day void period")
        for parcel in parcels:
            if not parcel.voided:
                parcel.scans.append(Scan(*VOID_SCAN, now, parcel.origin))
        voided = {"Code": "1", "Description": "Voided"}
        return JSONResponse(
            {
                "VoidShipmentResponse": {
                    "Response": dict(SUCCESS),
                    "SummaryResult": {"Status": voided},
                    "PackageLevelResults": [
                        {"TrackingNumber": parcel.tracking_number, "Status": voided} for parcel in parcels
                    ],
                }
            }
        )

    async def _track(self, request: Request) -> Response:
        for header, code in (("transId", "VSS002"), ("transactionSrc", "VSS004")):
            if not request.headers.get(header):
                raise Refused(400, code, f"Missing {header}")
        number = request.path_params["inquiry_number"].strip().upper()
        parcel = self.parcels.get(number)
        if parcel is None:
            raise Refused(404, "151044", "Tracking Information Not Found")
        return JSONResponse(
            {"trackResponse": {"shipment": [{"inquiryNumber": number, "package": [_package(parcel)]}]}}
        )

    async def _label_image(self, request: Request) -> Response:
        if request.path_params["tracking_number"] not in self.parcels:
            return _error(404, "151044", "No label for this tracking number")
        return Response(LABEL_GIF, media_type="image/gif")

    def _tracking_number(self, account: str, service: str) -> str:
        self._serial += 1
        body = f"{account}{service}{self._serial:07d}"
        return f"1Z{body}{_check_digit(body)}"

    # -- Track Alert out -------------------------------------------------------------------------

    async def _announce(self, parcel: SandboxParcel, scan: Scan) -> None:
        if not self.subscriptions:
            return
        body = json.dumps(_alert(parcel, scan), separators=(",", ":")).encode()
        if self.webhook_client is None:
            self.webhook_client = httpx.AsyncClient(timeout=5.0)
        for subscription in self.subscriptions:
            headers = {
                "Content-Type": "application/json",
                "User-Agent": ALERT_USER_AGENT,
                "credential": subscription.credential,
            }
            try:
                response = await self.webhook_client.post(subscription.url, content=body, headers=headers)
                if response.status_code >= 300:
                    logger.warning(
                        "ups sandbox: alert %s for %s to %s answered %s",
                        scan.code,
                        parcel.tracking_number,
                        subscription.url,
                        response.status_code,
                    )
            except Exception:
                logger.warning(
                    "ups sandbox: alert for %s to %s failed",
                    parcel.tracking_number,
                    subscription.url,
                    exc_info=True,
                )


# -- state kept across restarts -----------------------------------------------------------------


def _place_state(place: Place) -> list[str]:
    return [place.city, place.region, place.postal_code, place.country]


def _place_from(wire: Sequence[Any]) -> Place:
    city, region, postal_code, country = (str(part) for part in wire)
    return Place(city, region, postal_code, country)


def _parcel_state(parcel: SandboxParcel) -> dict[str, Any]:
    return {
        "tracking_number": parcel.tracking_number,
        "shipment_id": parcel.shipment_id,
        "service": parcel.service,
        "origin": _place_state(parcel.origin),
        "destination": _place_state(parcel.destination),
        "pounds": str(parcel.pounds),
        "charge": str(parcel.charge),
        "created_at": parcel.created_at,
        "scheduled_on": parcel.scheduled_on,
        "references": parcel.references,
        "scans": [
            [scan.status_type, scan.code, scan.description, scan.at, _place_state(scan.place)]
            for scan in parcel.scans
        ],
        "return_service": parcel.return_service,
        "awaiting_drop_off": parcel.awaiting_drop_off,
        "dropped_off_at": parcel.dropped_off_at,
    }


def _parcel_from(wire: Mapping[str, Any]) -> SandboxParcel:
    scans = [
        Scan(str(status_type), str(code), str(description), float(at), _place_from(place))
        for status_type, code, description, at, place in wire["scans"]
    ]
    if not 1 <= len(scans) <= len(PROGRESSION) + 1:
        raise ValueError(f"parcel {wire['tracking_number']!r} has {len(scans)} scans")
    return SandboxParcel(
        tracking_number=str(wire["tracking_number"]),
        shipment_id=str(wire["shipment_id"]),
        service=str(wire["service"]),
        origin=_place_from(wire["origin"]),
        destination=_place_from(wire["destination"]),
        pounds=Decimal(wire["pounds"]),
        charge=Decimal(wire["charge"]),
        created_at=float(wire["created_at"]),
        scheduled_on=str(wire["scheduled_on"]),
        references=[str(reference) for reference in wire["references"]],
        scans=scans,
        return_service=wire["return_service"],
        awaiting_drop_off=bool(wire.get("awaiting_drop_off", False)),
        dropped_off_at=None if wire.get("dropped_off_at") is None else float(wire["dropped_off_at"]),
    )


# -- records in UPS's wire format ----------------------------------------------------------------


def _error(status: int, code: str, message: str) -> Response:
    return JSONResponse({"response": {"errors": [{"code": code, "message": message}]}}, status_code=status)


def _response(request_body: dict[str, Any]) -> dict[str, Any]:
    context = _member(request_body, "Request", required=False).get("TransactionReference")
    echoed = context.get("CustomerContext") if isinstance(context, dict) else None
    if isinstance(echoed, str) and echoed:
        return {**SUCCESS, "TransactionReference": {"CustomerContext": echoed}}
    return dict(SUCCESS)


def _rated_shipment(code: str, weights: list[Decimal], zone: int) -> dict[str, Any]:
    rate = RATES[code]
    charges = [_charge(rate, pounds, zone) for pounds in weights]
    total = sum(charges, Decimal(0))
    billed = sum((_whole_pounds(pounds) for pounds in weights), Decimal(0))
    return {
        "Service": {"Code": code, "Description": rate.name},
        "Zone": str(zone),
        "BillingWeight": {"UnitOfMeasurement": POUNDS, "Weight": f"{billed:.1f}"},
        "TransportationCharges": _money(total),
        "ServiceOptionsCharges": _money(Decimal(0)),
        "TotalCharges": _money(total),
        "GuaranteedDelivery": {"BusinessDaysInTransit": str(rate.days[zone - 2])},
        "RatedPackage": [
            {
                "TransportationCharges": _money(charge),
                "ServiceOptionsCharges": _money(Decimal(0)),
                "TotalCharges": _money(charge),
                "Weight": f"{pounds:.1f}",
                "BillingWeight": {"UnitOfMeasurement": POUNDS, "Weight": f"{_whole_pounds(pounds):.1f}"},
            }
            for pounds, charge in zip(weights, charges, strict=True)
        ],
    }


def _charge(rate: ServiceRate, pounds: Decimal, zone: int) -> Decimal:
    amount = rate.base + rate.per_pound * _whole_pounds(pounds) + rate.per_zone * (zone - 2)
    return amount.quantize(Decimal("0.01"))


def _whole_pounds(pounds: Decimal) -> Decimal:
    return max(Decimal(1), pounds.to_integral_value(ROUND_CEILING))


def _zone(origin: Place, destination: Place) -> int:
    """UPS zones 2 to 8, from how far apart the two ZIP code prefixes are; 8 off the US."""
    if origin.country != "US" or destination.country != "US":
        return 8
    prefixes = [place.postal_code[:3] for place in (origin, destination)]
    if not all(prefix.isdigit() and len(prefix) == 3 for prefix in prefixes):
        return 8
    return 2 + min(6, abs(int(prefixes[0]) - int(prefixes[1])) // 100)


def _money(amount: Decimal) -> dict[str, str]:
    return {"CurrencyCode": "USD", "MonetaryValue": f"{amount:.2f}"}


def _package(parcel: SandboxParcel) -> dict[str, Any]:
    latest = parcel.scans[-1]
    if parcel.delivered:
        dates = [{"type": "DEL", "date": _day(latest.at)}]
    else:
        dates = [{"type": "SDD", "date": parcel.scheduled_on}]
    return {
        "trackingNumber": parcel.tracking_number,
        "activity": [_activity(scan) for scan in reversed(parcel.scans)],
        "currentStatus": _status(latest),
        "deliveryDate": dates,
        "packageAddress": [
            {"type": "ORIGIN", "address": _tracking_address(parcel.origin)},
            {"type": "DESTINATION", "address": _tracking_address(parcel.destination)},
        ],
        "packageCount": 1,
        "referenceNumber": [{"type": "PACKAGE", "number": reference} for reference in parcel.references],
        "service": {"code": parcel.service, "description": RATES[parcel.service].name},
        "statusCode": STATUS_CODES.get((latest.status_type, latest.code), ""),
        "statusDescription": latest.description,
        "weight": {"unitOfMeasurement": "LBS", "weight": f"{parcel.pounds:.1f}"},
    }


def _activity(scan: Scan) -> dict[str, Any]:
    return {
        "date": _day(scan.at),
        "time": _time(scan.at),
        "gmtDate": _day(scan.at),
        "gmtTime": _time(scan.at),
        "gmtOffset": "+00:00",
        "location": {"address": _tracking_address(scan.place)},
        "status": _status(scan),
    }


def _status(scan: Scan) -> dict[str, str]:
    status = {"type": scan.status_type, "code": scan.code, "description": scan.description}
    if (scan.status_type, scan.code) in STATUS_CODES:
        status["statusCode"] = STATUS_CODES[(scan.status_type, scan.code)]
    return status


def _tracking_address(place: Place) -> dict[str, str]:
    return {
        "city": place.city,
        "stateProvince": place.region,
        "postalCode": place.postal_code,
        "country": place.country,
        "countryCode": place.country,
    }


def _alert(parcel: SandboxParcel, scan: Scan) -> dict[str, Any]:
    """One Track Alert `TrackingEvent`, as ups-UPSTrackAlert.yaml draws it."""
    location: dict[str, str] = {"city": scan.place.city, "country": scan.place.country}
    if re.fullmatch(r"[A-Z]{2}", scan.place.region):
        location["stateProvince"] = scan.place.region
    delivered = scan.status_type == "D"
    # "blank until the delivery event occurs"
    if delivered and re.fullmatch(r"\d{5}(?:[-\s]\d{4})?", scan.place.postal_code):
        location["postalCode"] = scan.place.postal_code
    event: dict[str, Any] = {
        "trackingNumber": parcel.tracking_number,
        "localActivityDate": _day(scan.at),
        "localActivityTime": _time(scan.at),
        "activityLocation": location,
        "activityStatus": {
            "type": ALERT_TYPES.get(scan.status_type, scan.status_type),
            "code": scan.code,
            "description": scan.description,
        },
        "scheduledDeliveryDate": parcel.scheduled_on,
        "gmtActivityDate": _day(scan.at),
        "gmtActivityTime": _time(scan.at),
        "gmtOffset": "+00.00",
    }
    if delivered:
        event["actualDeliveryDate"] = _day(scan.at)
        event["actualDeliveryTime"] = _time(scan.at)
    return event


def _day(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%d")


def _time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%H%M%S")


def _check_digit(body: str) -> str:
    """UPS's 1Z check digit: letters count as (ordinal - 63) mod 10, odd places once, even places twice."""
    total = 0
    for position, character in enumerate(body, start=1):
        value = int(character) if character.isdigit() else (ord(character) - 63) % 10
        total += value * (2 if position % 2 == 0 else 1)
    return str((10 - total % 10) % 10)


# -- reading requests ---------------------------------------------------------------------------


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError as error:
        raise Refused(400, "10001", "The request is not valid JSON") from error
    if not isinstance(body, dict):
        raise Refused(400, "10001", "The request must be a JSON object")
    return body


def _member(record: dict[str, Any], name: str, *, required: bool = True) -> dict[str, Any]:
    value = record.get(name)
    if isinstance(value, dict):
        return value
    if required:
        raise Refused(400, "10002", f"Missing or invalid {name}")
    return {}


def _items(value: Any) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value] if value is not None else []
    return [item for item in items if isinstance(item, dict)]


def _place(address: dict[str, Any]) -> Place:
    country = str(address.get("CountryCode", "")).upper()
    postal = re.sub(r"\s", "", str(address.get("PostalCode", "")))
    if len(country) != 2 or (country == "US" and not re.fullmatch(r"\d{5}(\d{4})?", postal)):
        raise Refused(400, "10003", "Missing or invalid CountryCode or PostalCode")
    postal = f"{postal[:5]}-{postal[5:]}" if len(postal) == 9 and country == "US" else postal
    return Place(
        city=str(address.get("City", "")),
        region=str(address.get("StateProvinceCode", "")).upper(),
        postal_code=postal,
        country=country,
    )


def _package_pounds(shipment: dict[str, Any]) -> list[Decimal]:
    """Each package's weight in pounds (kilograms converted)."""
    weights = []
    for package in _items(shipment.get("Package")):
        weight = _member(package, "PackageWeight")
        unit = str(_member(weight, "UnitOfMeasurement").get("Code", "LBS")).upper()
        try:
            value = Decimal(str(weight.get("Weight")))
        except InvalidOperation as error:
            raise Refused(400, "10004", "Invalid package weight") from error
        if not value.is_finite() or value <= 0 or unit not in ("LBS", "KGS", "OZS"):
            raise Refused(400, "10004", "Invalid package weight")
        factor = {"LBS": Decimal(1), "KGS": Decimal("2.20462"), "OZS": Decimal("0.0625")}[unit]
        weights.append(value * factor)
    if not weights:
        raise Refused(400, "10005", "At least one package is required")
    return weights


def _return_service(shipment: dict[str, Any]) -> str | None:
    """A return shipment's ReturnService code, checked as UPS checks it: it leaves from ShipFrom
    (required for a return) and every package says what is inside."""
    if "ReturnService" not in shipment:
        return None
    code = str(_member(shipment, "ReturnService").get("Code", ""))
    if code not in RETURN_SERVICES:
        raise Refused(400, "120540", f"Invalid or unsupported ReturnService code {code!r}")
    if not isinstance(shipment.get("ShipFrom"), dict):
        raise Refused(400, "120541", "ShipFrom is required for a return shipment")
    if not all(str(package.get("Description") or "").strip() for package in _items(shipment.get("Package"))):
        raise Refused(400, "120542", "Package Description is required for a return shipment")
    return code


def _references(ship_request: dict[str, Any]) -> list[str]:
    """Our references, where UPS keeps them: the packages', the shipment's, the customer context."""
    shipment = _member(ship_request, "Shipment")
    found = [
        str(reference.get("Value"))
        for holder in [shipment, *_items(shipment.get("Package"))]
        for reference in _items(holder.get("ReferenceNumber"))
        if reference.get("Value")
    ]
    context = _member(ship_request, "Request", required=False).get("TransactionReference")
    if isinstance(context, dict) and context.get("CustomerContext"):
        found.append(str(context["CustomerContext"]))
    return list(dict.fromkeys(found))


def _basic_credentials(header: str) -> tuple[str | None, str | None]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        decoded = base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, separator, secret = decoded.partition(":")
    return (client_id, secret) if separator else (None, None)


__all__ = ["PROGRESSION", "RATES", "SandboxParcel", "Subscription", "UpsSandbox"]
