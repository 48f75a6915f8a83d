from __future__ import annotations

import pytest

from ordergate.connectors.geocoding import OfflineGeocoder
from ordergate.models.geo import Point, haversine_km, transit_days

NEWARK = Point(40.7066, -74.1795)
DALLAS = Point(32.8998, -97.0403)


def test_haversine_matches_the_great_circle_distance() -> None:
    assert haversine_km(NEWARK, DALLAS) == pytest.approx(2205, rel=0.01)
    assert haversine_km(NEWARK, NEWARK) == 0


@pytest.mark.parametrize(("km", "days"), [(None, 5), (20, 1), (500, 2), (1500, 3), (3000, 4), (9000, 5)])
def test_transit_days_grow_with_distance(km: float | None, days: int) -> None:
    assert transit_days(km) == days


def test_a_us_zip_code_locates_its_centroid() -> None:
    point = OfflineGeocoder().locate("US", "78701")

    assert point is not None
    assert haversine_km(point, Point(30.27, -97.74)) < 5


@pytest.mark.parametrize(
    ("country", "postal", "lat", "lon", "expected"),
    [
        ("US", "00000", None, None, "US-centroid"),
        ("FR", "75001", None, None, "FR-centroid"),
        ("ZZ", None, None, None, None),
        ("US", None, 91.0, 0.0, None),
        ("US", "78701", 10.0, 20.0, "given"),
    ],
)
def test_fallbacks(
    country: str, postal: str | None, lat: float | None, lon: float | None, expected: str | None
) -> None:
    point = OfflineGeocoder().locate(country, postal, lat, lon)

    if expected is None:
        assert point is None
    elif expected == "given":
        assert point == Point(10.0, 20.0)
    else:
        assert point is not None
        assert point.latitude != 0
