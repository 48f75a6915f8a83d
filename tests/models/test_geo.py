from __future__ import annotations

import pytest

from ordergate.models.geo import Point, haversine_km, transit_days

NEWARK = Point(40.7066, -74.1795)
DALLAS = Point(32.8998, -97.0403)


def test_haversine_matches_the_great_circle_distance() -> None:
    assert haversine_km(NEWARK, DALLAS) == pytest.approx(2205, rel=0.01)
    assert haversine_km(NEWARK, NEWARK) == 0


@pytest.mark.parametrize(("km", "days"), [(None, 5), (20, 1), (500, 2), (1500, 3), (3000, 4), (9000, 5)])
def test_transit_days_grow_with_distance(km: float | None, days: int) -> None:
    assert transit_days(km) == days
