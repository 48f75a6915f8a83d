"""Days as a customer counts them: the date where the goods go, and carriers' business days.

A promise is a date on the customer's calendar, so "today" is the destination's local date (a
Californian ordering at 9 pm on Friday is still on Friday, though it is Saturday in UTC), and
handling and transit days are business days: parcels neither leave nor travel on Saturdays and
Sundays. Public holidays are not counted (no offline calendar of them ships with us).

The zone comes from the ZIP code's own zone where the geocoder knows it, else the region's or the
country's main zone from the tables below, else the longitude (15 degrees an hour), else UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

SATURDAY = 5

_EASTERN = "America/New_York"
_CENTRAL = "America/Chicago"
_MOUNTAIN = "America/Denver"
_PACIFIC = "America/Los_Angeles"

# Each state's and province's main zone (a few states span two; the ZIP code's own zone wins).
REGION_ZONES: dict[tuple[str, str], str] = {
    **{
        ("US", state): _EASTERN
        for state in (
            "CT", "DC", "DE", "FL", "GA", "IN", "KY", "MA", "MD", "ME", "MI", "NC", "NH", "NJ",
            "NY", "OH", "PA", "RI", "SC", "VA", "VT", "WV",
        )
    },
    **{
        ("US", state): _CENTRAL
        for state in (
            "AL", "AR", "IA", "IL", "KS", "LA", "MN", "MO", "MS", "ND", "NE", "OK", "SD", "TN",
            "TX", "WI",
        )
    },
    **{("US", state): _MOUNTAIN for state in ("CO", "ID", "MT", "NM", "UT", "WY")},
    **{("US", state): _PACIFIC for state in ("CA", "NV", "OR", "WA")},
    ("US", "AZ"): "America/Phoenix",
    ("US", "AK"): "America/Anchorage",
    ("US", "HI"): "Pacific/Honolulu",
    ("US", "PR"): "America/Puerto_Rico",
    ("CA", "BC"): "America/Vancouver",
    ("CA", "AB"): "America/Edmonton",
    ("CA", "SK"): "America/Regina",
    ("CA", "MB"): "America/Winnipeg",
    ("CA", "ON"): "America/Toronto",
    ("CA", "QC"): "America/Toronto",
    ("CA", "NB"): "America/Moncton",
    ("CA", "NS"): "America/Halifax",
    ("CA", "PE"): "America/Halifax",
    ("CA", "NL"): "America/St_Johns",
    ("CA", "YT"): "America/Whitehorse",
    ("CA", "NT"): "America/Yellowknife",
    ("CA", "NU"): "America/Iqaluit",
}  # fmt: skip

COUNTRY_ZONES: dict[str, str] = {
    "US": _CENTRAL,
    "CA": "America/Toronto",
    "MX": "America/Mexico_City",
    "GB": "Europe/London",
    "IE": "Europe/Dublin",
    "FR": "Europe/Paris",
    "DE": "Europe/Berlin",
    "NL": "Europe/Amsterdam",
    "BE": "Europe/Brussels",
    "ES": "Europe/Madrid",
    "IT": "Europe/Rome",
    "AT": "Europe/Vienna",
    "CH": "Europe/Zurich",
    "AU": "Australia/Sydney",
    "JP": "Asia/Tokyo",
}


def zone_of(
    country_code: str | None,
    region: str | None = None,
    *,
    known: str | None = None,
    longitude: float | None = None,
) -> tzinfo:
    """The destination's time zone: `known` (the ZIP code's own), the region's, the country's,
    one from the longitude, or UTC."""
    country = (country_code or "").upper()
    name = known or REGION_ZONES.get((country, (region or "").upper())) or COUNTRY_ZONES.get(country)
    if name is not None:
        return ZoneInfo(name)
    if longitude is not None and -180 <= longitude <= 180:
        return timezone(timedelta(hours=round(longitude / 15)))
    return UTC


def local_now(now: datetime, zone: tzinfo) -> datetime:
    """The same instant on the destination's clock (its `.date()` is the customer's today)."""
    return now.astimezone(zone)


def is_business_day(day: date) -> bool:
    return day.weekday() < SATURDAY


def add_business_days(start: date, days: int) -> date:
    """The date `days` business days after `start`; a parcel ready on a weekend leaves on Monday,
    so zero days from a Saturday is the Monday after."""
    day = start
    while not is_business_day(day):
        day += timedelta(days=1)
    left = days
    while left > 0:
        day += timedelta(days=1)
        if is_business_day(day):
            left -= 1
    return day


def business_days_between(start: date, end: date) -> int:
    """Business days after `start` up to and including `end` (0 when `end` is not later)."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += is_business_day(day)
    return count
