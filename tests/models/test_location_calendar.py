"""A node's own clock and calendar (`models.location`): its time zone, its opening hours, the start
of its day, and what an admin may set."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from ordergate.models.location import (
    Location,
    LocationType,
    check_hours,
    check_location,
    is_open_on,
    local_today,
    location_zone,
    next_open_day,
    opening_hours,
)

DENVER = Location(
    code="ST-DEN",
    name="Denver store",
    type=LocationType.STORE,
    line1="1 Main St",
    city="Denver",
    region="CO",
    postal_code="80218",
    country_code="US",
    latitude=39.7,
    longitude=-104.9,
)
WEEKDAYS = [{"day": d, "opens": "09:00", "closes": "17:00"} for d in ("MONDAY", "TUESDAY", "FRIDAY")]


def test_a_node_without_a_time_zone_keeps_its_regions_and_one_with_it_its_own() -> None:
    assert str(location_zone(DENVER)) == "America/Denver"
    assert str(location_zone(replace(DENVER, time_zone="America/Phoenix"))) == "America/Phoenix"


def test_its_today_is_the_date_on_its_clock() -> None:
    now = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)  # still the 3rd in Denver (UTC-7)
    assert local_today(DENVER, now) == date(2026, 12, 3)
    assert local_today(replace(DENVER, time_zone="Asia/Tokyo"), now) == date(2026, 12, 4)
    assert local_today(DENVER, datetime(2026, 12, 4, 7, 0, tzinfo=UTC)) == date(2026, 12, 4)


def test_a_node_with_hours_is_open_on_those_days_only_and_one_without_every_day() -> None:
    kept = replace(DENVER, hours=WEEKDAYS)
    friday, saturday = date(2026, 12, 4), date(2026, 12, 5)
    assert is_open_on(kept, friday)
    assert not is_open_on(kept, saturday)
    assert next_open_day(kept, saturday) == date(2026, 12, 7)  # Monday
    assert next_open_day(kept, friday) == friday
    assert next_open_day(DENVER, saturday) == saturday
    assert [o.day.value for o in opening_hours(replace(DENVER, hours=list(reversed(WEEKDAYS))))] == [
        "MONDAY",
        "TUESDAY",
        "FRIDAY",
    ]


def test_hours_that_close_before_they_open_or_overlap_are_refused() -> None:
    problems = check_hours(
        [
            {"day": "MONDAY", "opens": "09:00", "closes": "12:00"},
            {"day": "MONDAY", "opens": "12:00", "closes": "13:00"},  # touches: fine
            {"day": "MONDAY", "opens": "11:00", "closes": "15:00"},  # overlaps both
            {"day": "FUNDAY", "opens": "09:00", "closes": "10:00"},
            {"day": "TUESDAY", "opens": "9:00", "closes": "10:00"},
            {"day": "TUESDAY", "opens": "10:00", "closes": "10:00"},
            {"day": "TUESDAY", "opens": "23:00", "closes": "24:00"},
        ]
    )
    assert [(p.code, p.field) for p in problems] == [
        ("INVALID_HOURS", ("hours", str(index))) for index in (2, 3, 4, 5, 6)
    ]
    assert check_hours([{"day": "SUNDAY", "opens": "00:00", "closes": "23:59"}]) == []


def test_a_node_as_an_admin_sets_it_is_checked_as_a_whole() -> None:
    assert check_location(DENVER) == []
    wrong = replace(
        DENVER,
        code="st den",
        name=" ",
        latitude=91.0,
        priority=-1,
        handling_days=31,
        channels=["web", "Web!"],
        time_zone="Nowhere/Town",
        feed_max_age_minutes=0,
    )
    assert sorted({(p.code, p.field) for p in check_location(wrong)}) == sorted(
        {
            ("REQUIRED", ("name",)),
            ("INVALID_CODE", ("code",)),
            ("INVALID_COORDINATES", ("latitude",)),
            ("OUT_OF_RANGE", ("priority",)),
            ("OUT_OF_RANGE", ("handling_days",)),
            ("OUT_OF_RANGE", ("feed_max_age_minutes",)),
            ("INVALID_CHANNEL", ("channels", "1")),
            ("INVALID_TIME_ZONE", ("time_zone",)),
        }
    )
