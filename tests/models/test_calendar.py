from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from ordergate.models.calendar import add_business_days, business_days_between, local_now, zone_of

FRIDAY = date(2026, 12, 4)


def test_business_days_skip_the_weekend_and_a_weekend_ready_date_leaves_on_monday() -> None:
    assert add_business_days(FRIDAY, 1) == date(2026, 12, 7)
    assert add_business_days(FRIDAY, 3) == date(2026, 12, 9)
    assert add_business_days(FRIDAY, 0) == FRIDAY
    assert add_business_days(date(2026, 12, 5), 0) == date(2026, 12, 7)  # Saturday: Monday
    assert add_business_days(date(2026, 12, 6), 1) == date(2026, 12, 8)  # Sunday: Tuesday


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 1, 1)), st.integers(0, 40))
def test_counting_the_days_back_gives_the_days_added(start: date, days: int) -> None:
    end = add_business_days(start, days)

    assert end.weekday() < 5
    # from a weekend the Monday a parcel leaves on is a business day away itself
    assert business_days_between(start, end) == days + (0 if start.weekday() < 5 else 1)
    assert (end - start) <= timedelta(days=days * 7 // 5 + 3)


def test_today_is_the_destination_s_date() -> None:
    late_friday_in_california = datetime(2026, 12, 5, 4, 30, tzinfo=UTC)  # Saturday in UTC

    assert local_now(late_friday_in_california, zone_of("US", "CA")).date() == FRIDAY
    assert local_now(late_friday_in_california, zone_of("DE")).date() == date(2026, 12, 5)


def test_the_zone_comes_from_the_zip_then_region_then_country_then_longitude() -> None:
    assert zone_of("US", "TX", known="America/Denver") == ZoneInfo("America/Denver")  # El Paso
    assert zone_of("US", "WA") == ZoneInfo("America/Los_Angeles")
    assert zone_of("CA", "ON") == ZoneInfo("America/Toronto")
    assert zone_of("NL") == ZoneInfo("Europe/Amsterdam")
    assert zone_of("ZW", longitude=31.0) == timezone(timedelta(hours=2))
    assert zone_of("ZW") == UTC
