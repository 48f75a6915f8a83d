"""What callers ask for, as plain data, and the rules that check it before anything is written."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from email_validator import EmailNotValidError, validate_email

from ordergate.models.address import Address
from ordergate.models.appeasements import AppeasementReason, check_amount
from ordergate.models.countries import is_country, postal_code_fits
from ordergate.models.emails import valid_locale
from ordergate.models.errors import Problem
from ordergate.models.order import CancelReason, DeliveryMethod, HoldReason
from ordergate.models.returns import Disposition
from ordergate.models.text import check_text

SKU_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SOLD_SKU = re.compile(r"^[^\x00-\x20\x7f](?:[^\x00-\x1f\x7f]{0,62}[^\x00-\x20\x7f])?$")
"""A SKU a storefront sold under that is no SKU of ours (a space, a slash): the sale is kept with
it, unrouted and held for an agent (`models.capture.check_capture`), not lost. At most 64
characters, no control characters, none at either end."""


def routable_sku(sku: str) -> bool:
    return SKU_PATTERN.fullmatch(sku) is not None


def sale_sku(sku: str, line_id: object) -> str:
    """The SKU a storefront sale's line (`line_id`, the storefront's) is kept under: its own, or
    a stand-in no SKU of ours can be, so the sale is kept held for an agent
    (`models.capture.check_capture`) instead of given up: for a line sold without one (a custom
    product the merchant typed in), and for one whose SKU no column of ours holds (longer than 64
    characters, or with control characters), naming its start. The line keeps the storefront's
    name either way."""
    if not sku:
        return f"(no SKU) {line_id}"
    if SOLD_SKU.fullmatch(sku):
        return sku
    start = re.sub(r"[\x00-\x1f\x7f]", "?", sku)[:40].strip()
    return f"(SKU {start}...) {line_id}"[:64]


COUNTRY_PATTERN = re.compile(r"^[A-Z]{2}$")
MAX_KEY_LENGTH = 255
MAX_TEXT = 255
# The longest value each field may carry (by the command's own field names): what its column holds.
MAX_LENGTH: dict[str, int] = {
    "channel": 64,
    "external_reference": 128,
    "name": 255,
    "line1": 255,
    "line2": 255,
    "city": 128,
    "region": 64,
    "postal_code": 16,
    "phone": 32,
    "first_name": 128,
    "last_name": 128,
}
MAX_NOTE = 1000


@dataclass(frozen=True)
class LineRequest:
    sku: str
    quantity: int


@dataclass(frozen=True)
class CustomerDetails:
    email: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class ExternalSale:
    """An order a storefront already sold: the prices the shopper saw (per command line), its
    shipping and tax, and what it took from the shopper. Imports keep these, not ours."""

    provider: str
    reference: str
    unit_prices: tuple[Decimal, ...]
    shipping: Decimal
    tax: Decimal
    authorised: Decimal
    captured: Decimal
    names: tuple[str, ...] = ()  # the storefront's name of each line, for one our catalogue lacks
    discount: Decimal = Decimal(0)  # its coupons and discounts off the goods, before tax


@dataclass(frozen=True)
class PlaceOrder:
    idempotency_key: str
    channel: str
    customer: CustomerDetails
    lines: tuple[LineRequest, ...]
    delivery_method: DeliveryMethod
    shipping_address: Address | None = None
    pickup_location_id: str | None = None
    reservation_id: str | None = None
    external_reference: str | None = None
    payment_provider: str | None = None
    payment_token: str | None = None
    payment_amount: Decimal | None = None
    source_ref: str | None = None  # set by imports only: where the order came from ("bigcommerce:123")
    billing_address: Address | None = None  # screened for fraud, not kept
    sale: ExternalSale | None = None  # set by imports only
    hold_when_short: bool = False  # imports: a sale already made is kept ON_HOLD, not refused for stock
    delivery_option_id: str | None = None  # a fulfillmentOptions option (`models.delivery`)
    locale: str | None = None  # the language of the order's emails (`fr-CA`); None: English


@dataclass(frozen=True)
class LineChange:
    line_id: str
    quantity: int  # the line's new quantity; 0 takes it off the order


@dataclass(frozen=True)
class EditOrder:
    order_id: str
    expected_version: int
    lines: tuple[LineChange, ...] = ()
    add_lines: tuple[LineRequest, ...] = ()
    shipping_address: Address | None = None
    dry_run: bool = False
    idempotency_key: str | None = None


def check_edit(command: EditOrder, limits: Limits) -> list[Problem]:
    root: tuple[str, ...] = ()
    problems = check_key(command.idempotency_key, (*root, "idempotency_key"))
    if not (command.lines or command.add_lines or command.shipping_address):
        problems.append(Problem("NOTHING_TO_EDIT", "change a line, add one, or change the address", root))
    seen: set[str] = set()
    for index, change in enumerate(command.lines):
        path = (*root, "lines", str(index))
        if change.line_id in seen:
            problems.append(Problem("DUPLICATE_LINE", "each line may be changed once", (*path, "line_id")))
        seen.add(change.line_id)
        if not 0 <= change.quantity <= limits.max_line_quantity:
            problems.append(
                Problem(
                    "INVALID_QUANTITY",
                    f"quantity must be between 0 and {limits.max_line_quantity}",
                    (*path, "quantity"),
                )
            )
    if command.add_lines:
        problems.extend(
            Problem(p.code, p.message, (*root, "add_lines", *p.field[1:]) if p.field else root)
            for p in check_lines(command.add_lines, limits, root)
        )
    if command.shipping_address is not None:
        problems.extend(check_address(command.shipping_address, (*root, "shipping_address")))
    return problems


@dataclass(frozen=True)
class HoldOrder:
    order_id: str
    reason: HoldReason
    note: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class ReleaseOrderHold:
    order_id: str
    reason: HoldReason | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class LineQuantity:
    line_id: str
    quantity: int


@dataclass(frozen=True)
class CancelOrder:
    order_id: str
    reason: CancelReason
    lines: tuple[LineQuantity, ...] | None = None  # None: every unit that can still be cancelled
    idempotency_key: str | None = None


@dataclass(frozen=True)
class ReturnLineRequest:
    line_id: str
    quantity: int
    reason: str


@dataclass(frozen=True)
class RequestReturn:
    order_id: str
    lines: tuple[ReturnLineRequest, ...]
    idempotency_key: str | None = None


@dataclass(frozen=True)
class ReceivedLine:
    return_line_id: str
    disposition: Disposition


@dataclass(frozen=True)
class ReceiveReturn:
    return_id: str
    location_id: str
    lines: tuple[ReceivedLine, ...]


@dataclass(frozen=True)
class CloseReturn:
    return_id: str
    idempotency_key: str | None = None


@dataclass(frozen=True)
class RetryReturnLabel:
    return_id: str
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Limits:
    max_line_quantity: int
    max_lines: int


SALE_LIMITS = Limits(max_line_quantity=1_000_000, max_lines=1_000)
"""How large a sale a storefront already made is taken in: the shopper has paid, so a sale past
the gateway's own `Limits` is kept, unrouted and held for an agent (`over_limits`), not given up.
Past these it is refused as any command is (the work of storing it stays bounded)."""


class Units(Protocol):
    @property
    def sku(self) -> str: ...

    @property
    def quantity(self) -> int: ...


def over_limits(lines: Sequence[Units], limits: Limits, shown: int = 5) -> list[Problem]:
    """What of an order's lines is past what the gateway routes in one order: more lines than
    `max_lines`, or lines of more than `max_line_quantity` units (the first `shown` of them)."""
    problems: list[Problem] = []
    if len(lines) > limits.max_lines:
        message = f"{len(lines)} lines, more than the {limits.max_lines} one order is routed with"
        problems.append(Problem("TOO_MANY_LINES", message, ("lines",)))
    large = [(index, line) for index, line in enumerate(lines) if line.quantity > limits.max_line_quantity]
    for index, line in large[:shown]:
        most = limits.max_line_quantity
        message = f"{line.sku}: {line.quantity} units, more than the {most} a line is routed with"
        problems.append(Problem("INVALID_QUANTITY", message, ("lines", str(index), "quantity")))
    return problems


def _text(problems: list[Problem], value: str | None, path: tuple[str, ...], *, required: bool) -> None:
    if value is None or not value.strip():
        if required:
            problems.append(Problem("REQUIRED", f"{path[-1]} is required", path))
        return
    problems.extend(check_text(value, path, MAX_LENGTH.get(path[-1], MAX_TEXT)))


def check_email(email: str) -> str | None:
    """The normalised address, or None when it is not a valid email."""
    try:
        return validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


NO_EMAIL_DOMAIN = "no-email.invalid"  # RFC 2606's .invalid: never anyone's address


def sale_email(given: str, reference: str) -> str:
    """The address a storefront sale is kept under: the shopper's when it is one; else (a sale
    the merchant keyed in with none, or one mistyped) a stand-in made from the sale's reference
    at a domain that is never anyone's, so the sale, paid for already, is kept and not lost.
    Nobody is written to there: a storefront's sales are the storefront's to email about, and
    an ERP is told of no address (`is_stand_in`)."""
    if check_email(given) is not None:
        return given
    return f"{re.sub(r'[^a-z0-9]+', '-', reference.lower()).strip('-')[:64]}@{NO_EMAIL_DOMAIN}"


def is_stand_in(email: str) -> bool:
    """Whether an order's address is a sale's stand-in (`sale_email`), not a shopper's."""
    return email.strip().lower().endswith(f"@{NO_EMAIL_DOMAIN}")


def check_address(address: Address, path: tuple[str, ...]) -> list[Problem]:
    problems: list[Problem] = []
    for name, value, required in (
        ("name", address.name, True),
        ("line1", address.line1, True),
        ("line2", address.line2, False),
        ("city", address.city, True),
        ("region", address.region, False),
        ("postal_code", address.postal_code, True),
        ("phone", address.phone, False),
    ):
        _text(problems, value, (*path, name), required=required)
    country = address.country_code or ""
    if not COUNTRY_PATTERN.match(country) or not is_country(country):
        problems.append(
            Problem(
                "INVALID_COUNTRY",
                "countryCode must be an ISO 3166-1 alpha-2 code such as US",
                (*path, "country_code"),
            )
        )
    elif (
        address.postal_code
        and not any(p.field == (*path, "postal_code") for p in problems)  # missing or too long: said
        and not postal_code_fits(country, address.postal_code)
    ):
        problems.append(
            Problem(
                "INVALID_POSTAL_CODE",
                f"{address.postal_code[:16]!r} is not a postal code of {country}",
                (*path, "postal_code"),
            )
        )
    return problems


def check_place_order(command: PlaceOrder, limits: Limits) -> list[Problem]:
    """Everything that can be said about the input without reading the store."""
    root: tuple[str, ...] = ()
    problems: list[Problem] = []
    problems.extend(check_key(command.idempotency_key, (*root, "idempotency_key")))
    _text(problems, command.channel, (*root, "channel"), required=True)
    _text(problems, command.external_reference, (*root, "external_reference"), required=False)
    email = command.customer.email
    if check_email(email) is None and not (command.sale is not None and is_stand_in(email)):
        problems.append(
            Problem("INVALID_EMAIL", "customer email is not a valid address", (*root, "customer", "email"))
        )
    for name, value in (
        ("first_name", command.customer.first_name),
        ("last_name", command.customer.last_name),
        ("phone", command.customer.phone),
    ):
        _text(problems, value, (*root, "customer", name), required=False)
    problems.extend(check_lines(command.lines, limits, root, sold=command.sale is not None))
    if command.delivery_method is DeliveryMethod.SHIP:
        if command.shipping_address is None:
            problems.append(
                Problem("REQUIRED", "a SHIP order needs a shippingAddress", (*root, "shipping_address"))
            )
        else:
            problems.extend(check_address(command.shipping_address, (*root, "shipping_address")))
    elif not command.pickup_location_id:
        problems.append(
            Problem("REQUIRED", "a PICKUP order needs a pickupLocationId", (*root, "pickup_location_id"))
        )
    if command.billing_address is not None:
        problems.extend(check_address(command.billing_address, (*root, "billing_address")))
    if command.locale is not None and not valid_locale(command.locale):
        problems.append(
            Problem("INVALID_LOCALE", "a locale is a language tag such as en or fr-CA", (*root, "locale"))
        )
    return problems


ADDRESS_PARTS = ("name", "line1", "city", "postal_code", "country_code")
ADDRESS_GAPS = frozenset(
    {("shipping_address", part) for part in ADDRESS_PARTS}
    | {("billing_address", part) for part in ADDRESS_PARTS}
)
"""Parts of an address a sale a storefront already made may lack, or have wrong (a postal code,
a country), and still be kept, ON_HOLD until the address is fixed (`address_gaps`): the
merchant has the shopper's money, so the sale must not be lost for a typo. A shipping postal
code or country missing or wrong keeps the sale unrouted too (routing starts from where the
parcel goes), until it is fixed (`unplaceable`)."""

GAP_CODES = frozenset({"REQUIRED", "INVALID_POSTAL_CODE", "INVALID_COUNTRY"})
PLACE_PARTS = {"postal_code": "postal code", "country_code": "country"}  # what routing places a parcel by


def address_gaps(problems: Sequence[Problem]) -> list[Problem]:
    """The problems `check_place_order` found that are only a missing or wrong part of an
    address (`ADDRESS_GAPS`): an imported sale is kept with them, held for its address."""
    return [p for p in problems if p.code in GAP_CODES and p.field in ADDRESS_GAPS]


def unplaceable(address: Address | None) -> list[str]:
    """The parts of this shipping address that routing places a parcel by and that are missing
    or wrong (its postal code, its country): a sale kept with them waits unrouted."""
    return [part for part in shipping_gaps(address) if part in PLACE_PARTS]


def shipping_gaps(address: Address | None) -> list[str]:
    """The parts a parcel needs that this shipping address lacks (`ADDRESS_GAPS`): what holds an
    imported sale for its address, and what keeps that hold from being released."""
    if address is None:
        return []
    path = ("shipping_address",)
    return [p.field[-1] for p in address_gaps(check_address(address, path)) if p.field is not None]


def check_key(key: str | None, path: tuple[str, ...]) -> list[Problem]:
    if key is not None and (not key.strip() or len(key) > MAX_KEY_LENGTH):
        return [
            Problem(
                "INVALID_IDEMPOTENCY_KEY", f"idempotencyKey must be 1 to {MAX_KEY_LENGTH} characters", path
            )
        ]
    return []


def check_hold(command: HoldOrder) -> list[Problem]:
    problems = check_key(command.idempotency_key, ("idempotency_key",))
    if command.note is not None:
        problems.extend(check_text(command.note, ("note",), MAX_NOTE))
    return problems


@dataclass(frozen=True)
class ReserveInventory:
    idempotency_key: str
    lines: tuple[LineRequest, ...]
    channel: str | None = None
    pickup_location_id: str | None = None
    destination_country: str | None = None
    destination_postal_code: str | None = None
    destination_latitude: float | None = None
    destination_longitude: float | None = None
    ttl_seconds: int | None = None


@dataclass(frozen=True)
class ChangeHold:
    """What a cart's hold should hold from now on: these lines, no others."""

    reservation_id: str
    idempotency_key: str
    lines: tuple[LineRequest, ...]


def check_change_hold(command: ChangeHold, limits: Limits) -> list[Problem]:
    problems = check_key(command.idempotency_key, ("idempotency_key",))
    problems.extend(check_lines(command.lines, limits, ()))
    skus = [line.sku for line in command.lines]
    if len(set(skus)) != len(skus):
        problems.append(Problem("DUPLICATE_LINE", "name each SKU once", ("lines",)))
    return problems


def check_lines(
    lines: tuple[LineRequest, ...], limits: Limits, root: tuple[str, ...], *, sold: bool = False
) -> list[Problem]:
    """`sold`: the lines of a sale a storefront already made, which may name SKUs that are no
    SKUs of ours (`SOLD_SKU`), and are checked against `SALE_LIMITS` where those are larger."""
    if sold:
        limits = Limits(
            max_line_quantity=max(limits.max_line_quantity, SALE_LIMITS.max_line_quantity),
            max_lines=max(limits.max_lines, SALE_LIMITS.max_lines),
        )
    problems: list[Problem] = []
    if not lines:
        problems.append(Problem("NO_LINES", "at least one line is needed", (*root, "lines")))
    if len(lines) > limits.max_lines:  # said once: the lines past the cap are not read
        return [Problem("TOO_MANY_LINES", f"at most {limits.max_lines} lines", (*root, "lines"))]
    seen: set[str] = set()
    for index, line in enumerate(lines):
        path = (*root, "lines", str(index))
        if not (routable_sku(line.sku) or (sold and SOLD_SKU.fullmatch(line.sku))):
            problems.append(Problem("INVALID_SKU", f"{line.sku[:70]!r} is not a SKU", (*path, "sku")))
        elif line.sku in seen:
            problems.append(
                Problem("DUPLICATE_SKU", f"{line.sku} appears on more than one line", (*path, "sku"))
            )
        seen.add(line.sku)
        if not 1 <= line.quantity <= limits.max_line_quantity:
            problems.append(
                Problem(
                    "INVALID_QUANTITY",
                    f"quantity must be between 1 and {limits.max_line_quantity}",
                    (*path, "quantity"),
                )
            )
    return problems


def check_reserve(command: ReserveInventory, limits: Limits, max_ttl_seconds: int) -> list[Problem]:
    root: tuple[str, ...] = ()
    problems = check_key(command.idempotency_key, (*root, "idempotency_key"))
    problems.extend(check_lines(command.lines, limits, root))
    if command.ttl_seconds is not None and not 1 <= command.ttl_seconds <= max_ttl_seconds:
        problems.append(
            Problem(
                "INVALID_TTL", f"ttlSeconds must be between 1 and {max_ttl_seconds}", (*root, "ttl_seconds")
            )
        )
    if command.channel is not None and not 0 < len(command.channel.strip()) <= MAX_LENGTH["channel"]:
        problems.append(Problem("INVALID_CHANNEL", "channel must be 1 to 64 characters", (*root, "channel")))
    return problems


@dataclass(frozen=True)
class IssueAppeasement:
    order_id: str
    amount: Decimal
    reason: AppeasementReason
    idempotency_key: str
    note: str | None = None


def check_appeasement(command: IssueAppeasement) -> list[Problem]:
    root: tuple[str, ...] = ()
    problems = check_key(command.idempotency_key, (*root, "idempotency_key"))
    problems.extend(check_amount(command.amount, (*root, "amount")))
    if command.note is not None:
        problems.extend(check_text(command.note, (*root, "note"), MAX_NOTE))
    return problems
