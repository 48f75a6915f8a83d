"""The offline geocoder: US ZIP codes, postal areas from the shipped GeoNames table for the other
countries the built-in tax rules cover, and the country centroid when a code is unknown."""

from __future__ import annotations

import fnmatch
import gzip
import tomllib
from pathlib import Path

import pytest

from ordergate.connectors.geocoding import (
    COUNTRY_CENTROIDS,
    POSTAL_AREAS,
    POSTAL_TABLE,
    OfflineGeocoder,
    postal_centroids,
    postal_keys,
    read_table,
    with_prefixes,
)
from ordergate.models.geo import Point, haversine_km
from ordergate.models.pricing import DEFAULT_TAX_RULES
from scripts.postal_centroids import centroids, table_bytes

ROOT = Path(__file__).resolve().parents[2]


def test_a_us_zip_code_locates_its_centroid() -> None:
    point = OfflineGeocoder().locate("US", "78701")

    assert point is not None
    assert haversine_km(point, Point(30.27, -97.74)) < 5


@pytest.mark.parametrize(
    ("country", "postal", "city", "km"),
    [
        ("CA", "M5V 3L9", Point(43.6532, -79.3832), 30),  # Toronto
        ("CA", "V6B 1A1", Point(49.2827, -123.1207), 30),  # Vancouver
        ("CA", "H2X 1Y4", Point(45.5019, -73.5674), 30),  # Montréal
        ("DE", "10115", Point(52.5200, 13.4050), 20),  # Berlin
        ("DE", "80331", Point(48.1374, 11.5755), 20),  # München
        ("FR", "75001", Point(48.8566, 2.3522), 10),  # Paris
        ("FR", "13001", Point(43.2965, 5.3698), 15),  # Marseille
        ("FR", "20000", Point(41.9192, 8.7386), 15),  # Ajaccio (Corse-du-Sud, 2A)
        ("FR", "97110", Point(16.2411, -61.5331), 15),  # Pointe-à-Pitre, Guadeloupe
        ("FR", "97400", Point(-20.8823, 55.4504), 15),  # Saint-Denis, Réunion
        ("NL", "1012 AB", Point(52.3676, 4.9041), 10),  # Amsterdam
        ("NL", "3011", Point(51.9244, 4.4777), 10),  # Rotterdam
    ],
)
def test_a_postal_code_locates_its_city(country: str, postal: str, city: Point, km: float) -> None:
    point = OfflineGeocoder().locate(country, postal)

    assert point is not None
    assert haversine_km(point, city) < km


@pytest.mark.parametrize(
    ("country", "postal", "city", "km"),
    [
        ("CA", "M5Z 1A1", Point(43.6532, -79.3832), 30),  # no M5Z: central Toronto's M5
        ("DE", "10000", Point(52.5200, 13.4050), 20),  # no 10000: Berlin's 10
        ("FR", "75099", Point(48.8566, 2.3522), 10),  # no 75099: Paris's 750
        ("FR", "97499", Point(-21.1151, 55.5364), 60),  # no 97499: Réunion's 974, not the 97 at sea
    ],
)
def test_a_code_the_table_lacks_lands_at_its_longest_known_prefix(
    country: str, postal: str, city: Point, km: float
) -> None:
    assert postal_keys(country, postal)[0] not in postal_centroids()[country]

    point = OfflineGeocoder().locate(country, postal)

    assert point is not None
    assert point != COUNTRY_CENTROIDS[country]
    assert haversine_km(point, city) < km


@pytest.mark.parametrize(
    ("country", "postal"), [("CA", "Z9Z 9Z9"), ("DE", "00000"), ("FR", "00000"), ("NL", "0000 AA")]
)
def test_a_code_with_no_known_prefix_lands_at_the_country_centroid(country: str, postal: str) -> None:
    assert OfflineGeocoder().locate(country, postal) == COUNTRY_CENTROIDS[country]


@pytest.mark.parametrize(
    ("country", "postal", "keys"),
    [
        ("CA", "m5v 3l9", ["M5V3L9", "M5V3L", "M5V3", "M5V", "M5", "M"]),
        ("DE", "10115", ["10115", "1011", "101", "10"]),
        ("FR", "75001", ["75001", "7500", "750", "75"]),
        ("FR", "97110", ["97110", "9711", "971"]),
        ("NL", "1012 AB", ["1012AB", "1012A", "1012", "101", "10"]),
        ("NL", "1012-ab", ["1012AB", "1012A", "1012", "101", "10"]),
        ("DE", "1" * 40, [("1" * 10)[:n] for n in range(10, 1, -1)]),
        ("GB", "SW1A 1AA", []),
    ],
)
def test_a_code_is_looked_up_as_written_then_by_ever_shorter_prefixes(
    country: str, postal: str, keys: list[str]
) -> None:
    assert postal_keys(country, postal) == keys


def test_a_prefix_sits_at_the_mean_of_its_codes_and_scattered_prefixes_have_none() -> None:
    table = {
        "DE": {"10115": Point(52.0, 13.0), "10117": Point(54.0, 15.0), "20095": Point(53.5, 10.0)},
        "FR": {"97110": Point(16.2, -61.5), "97400": Point(-20.9, 55.5)},
    }

    areas = with_prefixes(table)

    assert areas["DE"]["10115"] == Point(52.0, 13.0)
    assert areas["DE"]["1011"] == areas["DE"]["101"] == areas["DE"]["10"] == Point(53.0, 14.0)
    assert areas["DE"]["20"] == Point(53.5, 10.0)
    assert "1" not in areas["DE"]
    assert areas["FR"]["971"] == Point(16.2, -61.5)
    assert "97" not in areas["FR"]


def test_every_country_the_built_in_tax_rules_cover_is_geocoded_by_postal_code() -> None:
    countries = {rule.country for rule in DEFAULT_TAX_RULES} - {"US"}

    assert countries <= set(POSTAL_AREAS)
    assert all(len(postal_centroids()[country]) > 1000 for country in countries)


@pytest.mark.parametrize(
    ("country", "postal", "lat", "lon", "expected"),
    [
        ("US", "00000", None, None, "US-centroid"),
        ("GB", "SW1A 1AA", None, None, "GB-centroid"),
        ("ZZ", None, None, None, None),
        ("ZZ", "12345", None, None, None),
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
        assert point == COUNTRY_CENTROIDS[expected.split("-")[0]]


def test_warming_loads_the_postal_table() -> None:
    postal_centroids.cache_clear()

    OfflineGeocoder().warm()

    assert postal_centroids.cache_info().currsize == 1


def test_the_table_and_its_attribution_are_package_data() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]

    for path in (POSTAL_TABLE, POSTAL_TABLE.parent / "README.md"):
        inside = path.relative_to(ROOT / "ordergate").as_posix()
        assert path.is_file()
        assert any(fnmatch.fnmatch(inside, pattern) for pattern in patterns["ordergate"])


def a_row(country: str, code: str, latitude: str, longitude: str) -> list[str]:
    """A row of GeoNames' postal code dump: country, code, place, admin names and codes, lat, lon."""
    return [country, code, "Place", "", "", "", "", "", "", latitude, longitude, "4"]


def test_the_build_averages_a_code_s_places_and_keeps_only_keyed_codes() -> None:
    rows = [
        a_row("FR", "75001", "48.8534", "2.3488"),
        a_row("FR", "75001", "48.8592", "2.3417"),
        a_row("GP", "97110", "16.2411", "-61.5331"),  # overseas, filed by GeoNames under GP
        a_row("GP", "97001 CEDEX", "16.271", "-61.5045"),
        a_row("FR", "98799", "10.2922", "-109.2072"),  # Clipperton
        a_row("CA", "M5V", "43.6404", "-79.3995"),
        a_row("NL", "1012", "", ""),
        a_row("GB", "SW1A 1AA", "51.501", "-0.1416"),
    ]

    points = centroids(rows)

    assert set(points) == {("FR", "75001"), ("FR", "97110"), ("CA", "M5V")}
    assert points["FR", "75001"] == pytest.approx((48.8563, 2.34525))


def test_the_built_table_reads_back_and_is_the_same_bytes_each_time() -> None:
    points = {("DE", "10115"): (52.53234, 13.38461), ("CA", "M5V"): (43.6404, -79.3995)}

    built = table_bytes(points)

    assert built == table_bytes(dict(reversed(points.items())))
    assert read_table(gzip.decompress(built).decode().splitlines(keepends=True)) == {
        "CA": {"M5V": Point(43.64, -79.4)},
        "DE": {"10115": Point(52.532, 13.385)},
    }


def test_a_canadian_postal_code_names_its_province_for_tax() -> None:
    geocoder = OfflineGeocoder()

    assert geocoder.region_name("CA", "M5V 3L9") == "ON"
    assert geocoder.region_name("CA", "h2x 1y4") == "QC"
    assert geocoder.region_name("CA", "V6B") == "BC"
    assert geocoder.region_name("CA", "D1A 1A1") is None  # no province starts with D
    assert geocoder.region_name("US", "78701") == "TX"
    assert geocoder.region_name("DE", "10115") is None
