"""Nodes of the network: distribution centres, stores and drop-ship vendors, with what admins
set for each (`check_location`): capacity per day, opening hours and time zone, pickup and the
channels it serves."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from ordergate.models.address import Address
from ordergate.models.calendar import zone_of
from ordergate.models.commands import check_address
from ordergate.models.errors import Problem
from ordergate.models.ids import new_id


class LocationType(StrEnum):
    DISTRIBUTION_CENTER = "DISTRIBUTION_CENTER"
    STORE = "STORE"
    DROP_SHIP_VENDOR = "DROP_SHIP_VENDOR"


@dataclass(kw_only=True, eq=False)
class Location:
    id: str = field(default_factory=new_id)
    code: str
    name: str
    type: LocationType
    line1: str
    city: str
    region: str | None = None
    postal_code: str
    country_code: str
    latitude: float
    longitude: float
    ships: bool = True
    pickup_enabled: bool = False
    channels: list[str] = field(default_factory=list)
    capacity_per_day: int = 0
    priority: int = 0
    handling_days: int = 1
    safety_stock: int = 0
    active: bool = True
    erp_id: str | None = None
    # a vendor feed older than this counts as zero stock
    feed_max_age_minutes: int | None = None
    # who a carrier calls about a parcel leaving or coming back here
    phone: str | None = None
    # IANA name; None: the zone of its region or country
    time_zone: str | None = None
    # when it is open, [{"day": "MONDAY", "opens": "09:00", "closes": "18:00"}, ...]; none: every day
    hours: list[dict[str, str]] = field(default_factory=list)

    @property
    def takes_orders(self) -> bool:
        """A capacity of 0 a day: it never has room, so nothing is routed there, not even when
        every node is full."""
        return self.capacity_per_day > 0

    def serves(self, channel: str) -> bool:
        return not self.channels or channel in self.channels

    @property
    def address(self) -> Address:
        return Address(
            name=self.name,
            line1=self.line1,
            line2=None,
            city=self.city,
            region=self.region,
            postal_code=self.postal_code,
            country_code=self.country_code,
            phone=self.phone,
        )


class Weekday(StrEnum):
    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"
    SATURDAY = "SATURDAY"
    SUNDAY = "SUNDAY"


WEEK = list(Weekday)


@dataclass(frozen=True)
class Opening:
    """One period a node is open on a day of the week, on its own clock."""

    day: Weekday
    opens: time
    closes: time

    def stored(self) -> dict[str, str]:
        return {"day": self.day.value, "opens": f"{self.opens:%H:%M}", "closes": f"{self.closes:%H:%M}"}


def opening_hours(location: Location) -> list[Opening]:
    """The node's opening periods in week order (kept ones were checked when set)."""
    found = [
        Opening(Weekday(p["day"]), time.fromisoformat(p["opens"]), time.fromisoformat(p["closes"]))
        for p in location.hours
    ]
    return sorted(found, key=lambda o: (WEEK.index(o.day), o.opens))


def location_zone(location: Location) -> tzinfo:
    """The node's clock: its own time zone, else its region's or country's."""
    if location.time_zone:
        return ZoneInfo(location.time_zone)
    return zone_of(location.country_code, location.region)


def local_today(location: Location, now: datetime) -> date:
    """Today on the node's clock (the day its work taken now is counted against, when it has room)."""
    return now.astimezone(location_zone(location)).date()


def is_open_on(location: Location, day: date) -> bool:
    return not location.hours or any(p["day"] == WEEK[day.weekday()].value for p in location.hours)


def next_open_day(location: Location, day: date) -> date:
    """`day`, or the first day after it the node opens (a node with no hours opens every day)."""
    for ahead in range(7):
        if is_open_on(location, day + timedelta(days=ahead)):
            return day + timedelta(days=ahead)
    return day  # not reached: kept hours name at least one day


CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{1,31}")
CHANNEL = re.compile(r"[a-z0-9][a-z0-9_.-]{0,31}")
MAX_LOCATION_CHANNELS = 20
MAX_OPENINGS = 21
LIMITS = {
    "capacity_per_day": (0, 1_000_000),
    "priority": (0, 1_000),
    "handling_days": (0, 30),
    "safety_stock": (0, 1_000_000),
}


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_time_zone(name: str) -> bool:
    return name in _zones()


def check_location(location: Location) -> list[Problem]:
    """What is wrong with a node as an admin would set it (before the store is asked whether
    its code or ERP id is another's)."""
    problems = [p for p in check_address(location.address, ("address",)) if p.field != ("address", "name")]
    if not location.name.strip():
        problems.append(Problem("REQUIRED", "a location has a name", ("name",)))
    if not CODE.fullmatch(location.code):
        message = "a code is 2 to 32 capital letters, digits, '-' or '_', e.g. ST-AUS"
        problems.append(Problem("INVALID_CODE", message, ("code",)))
    if not (-90 <= location.latitude <= 90 and -180 <= location.longitude <= 180):
        message = "latitude is -90 to 90 and longitude -180 to 180"
        problems.append(Problem("INVALID_COORDINATES", message, ("latitude",)))
    for name, (low, high) in LIMITS.items():
        if not low <= getattr(location, name) <= high:
            problems.append(Problem("OUT_OF_RANGE", f"{name} is {low} to {high}", (name,)))
    if location.feed_max_age_minutes is not None and not 1 <= location.feed_max_age_minutes <= 10_080:
        message = "a feed's maximum age is 1 to 10080 minutes"
        problems.append(Problem("OUT_OF_RANGE", message, ("feed_max_age_minutes",)))
    problems.extend(_channel_problems(location.channels))
    if location.time_zone is not None and not is_time_zone(location.time_zone):
        message = f"{location.time_zone[:64]!r} is not an IANA time zone such as America/Chicago"
        problems.append(Problem("INVALID_TIME_ZONE", message, ("time_zone",)))
    return problems + check_hours(location.hours)


def _channel_problems(channels: list[str]) -> list[Problem]:
    problems = []
    if len(channels) > MAX_LOCATION_CHANNELS:
        message = f"at most {MAX_LOCATION_CHANNELS} channels"
        problems.append(Problem("INVALID_CHANNEL", message, ("channels",)))
    for index, channel in enumerate(channels):
        if not CHANNEL.fullmatch(channel) or channels.index(channel) != index:
            message = f"{channel[:40]!r} is not a channel name (lower case, e.g. web), or is named twice"
            problems.append(Problem("INVALID_CHANNEL", message, ("channels", str(index))))
    return problems


def check_hours(hours: list[dict[str, str]]) -> list[Problem]:
    """INVALID_HOURS for a period that does not open before it closes, or overlaps another on
    the same day; at most MAX_OPENINGS periods."""
    if len(hours) > MAX_OPENINGS:
        return [Problem("INVALID_HOURS", f"at most {MAX_OPENINGS} opening periods", ("hours",))]
    problems: list[Problem] = []
    seen: dict[str, list[tuple[str, str]]] = {}
    for index, period in enumerate(hours):
        day, opens, closes = period.get("day", ""), period.get("opens", ""), period.get("closes", "")
        if day not in Weekday.__members__ or not _is_clock(opens) or not _is_clock(closes) or opens >= closes:
            message = "a period names its day and opens before it closes (HH:MM, 24-hour clock)"
            problems.append(Problem("INVALID_HOURS", message, ("hours", str(index))))
            continue
        if any(
            opens < other_closes and other_opens < closes for other_opens, other_closes in seen.get(day, [])
        ):
            message = f"this period overlaps another on {day.title()}"
            problems.append(Problem("INVALID_HOURS", message, ("hours", str(index))))
        seen.setdefault(day, []).append((opens, closes))
    return problems


def _is_clock(text: str) -> bool:
    return re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", text) is not None


def contact_phone(location: Location | None, merchant_phone: str | None) -> str | None:
    """The phone a carrier gets for a parcel leaving or coming back to a node: the node's own,
    else the merchant's; None when neither is known."""
    for phone in (location.phone if location is not None else None, merchant_phone):
        if phone is not None and phone.strip():
            return phone.strip()
    return None


def node_address(location: Location, merchant_phone: str | None = None) -> Address:
    """Where a node ships from (and where returns go back to), with its phone (else the merchant's)."""
    return replace(location.address, phone=contact_phone(location, merchant_phone))
