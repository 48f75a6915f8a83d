"""Where a destination is: its own coordinates, its postal code's centroid, or its country's
centroid. No network: every answer comes from data shipped with us.

US ZIP codes come from the zipcodes package. Canada, Germany, France and the Netherlands (every
other country the built-in tax rules cover) come from data/postal_centroids.tsv.gz, derived by
scripts/postal_centroids.py from GeoNames' postal code data (www.geonames.org, CC BY 4.0; see
data/README.md): each code at the mean of the places GeoNames lists under it. A code the table
lacks is placed at the longest prefix it has (the mean of the codes under that prefix), and a
code with no known prefix at its country's centroid.

Precision: Canada to the forward sortation area (M5V; GeoNames has no full codes), then its
first two characters, then its first letter (a province or part of one); Germany to the 5-digit
PLZ, then down to 2 digits (the Leitregion); France to the 5-digit code, then down to 2 digits
(the département: Corsica's 2A and 2B both write 20; overseas ones, 971 to 976 and 98x, stop at
three); the Netherlands to the 4-digit code, then down to 2 digits.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import zipcodes

from ordergate.models.geo import Point

# Population-weighted or geographic centroids, enough to rank nodes for far destinations.
COUNTRY_CENTROIDS: dict[str, Point] = {
    "US": Point(39.8283, -98.5795),
    "CA": Point(56.1304, -106.3468),
    "MX": Point(23.6345, -102.5528),
    "GB": Point(54.7024, -3.2766),
    "IE": Point(53.4129, -8.2439),
    "FR": Point(46.2276, 2.2137),
    "DE": Point(51.1657, 10.4515),
    "NL": Point(52.1326, 5.2913),
    "ES": Point(40.4637, -3.7492),
    "IT": Point(41.8719, 12.5674),
    "AU": Point(-25.2744, 133.7751),
    "JP": Point(36.2048, 138.2529),
}
# Canada Post's first letters: the province (or territory) a postal code is in. X is shared by
# the Northwest Territories and Nunavut; both tax alike (GST only), so NT stands for both.
CANADIAN_PROVINCES: dict[str, str] = {
    "A": "NL", "B": "NS", "C": "PE", "E": "NB", "G": "QC", "H": "QC", "J": "QC", "K": "ON",
    "L": "ON", "M": "ON", "N": "ON", "P": "ON", "R": "MB", "S": "SK", "T": "AB", "V": "BC",
    "X": "NT", "Y": "YT",
}  # fmt: skip
US_ZIP = re.compile(r"^(\d{5})(?:-\d{4})?$")
POSTAL_TABLE = Path(__file__).parent / "data" / "postal_centroids.tsv.gz"
LONGEST_CODE = 10  # longer than any postal code: a longer input is cut, not walked


@dataclass(frozen=True)
class PostalAreas:
    """How a country's codes sit in the table: the form of a key, the shortest prefix that
    still names one area, and prefixes too spread out for their mean to be anywhere useful."""

    key: re.Pattern[str]
    shortest: int
    scattered: frozenset[str] = frozenset()


POSTAL_AREAS: dict[str, PostalAreas] = {
    "CA": PostalAreas(re.compile(r"[A-Z]\d[A-Z]"), 1),
    "DE": PostalAreas(re.compile(r"\d{5}"), 2),
    # 97 runs from Guadeloupe to Réunion, 98 from Wallis to Nouméa: their mean is open sea.
    "FR": PostalAreas(re.compile(r"\d{5}"), 2, frozenset({"97", "98"})),
    "NL": PostalAreas(re.compile(r"\d{4}"), 2),
}


def postal_keys(country: str, postal_code: str) -> list[str]:
    """The keys to look up for a code, most precise first: the code as written without spaces
    or hyphens, then ever shorter prefixes down to the shortest that names one area."""
    areas = POSTAL_AREAS.get(country)
    if areas is None:
        return []
    code = re.sub(r"[\s-]", "", postal_code).upper()[:LONGEST_CODE]
    prefixes = (code[:length] for length in range(len(code), areas.shortest - 1, -1))
    return [prefix for prefix in prefixes if prefix not in areas.scattered]


def read_table(lines: Iterable[str]) -> dict[str, dict[str, Point]]:
    """The shipped table's rows (country, code, latitude, longitude; tab-separated), per country."""
    table: dict[str, dict[str, Point]] = {}
    for line in lines:
        country, code, latitude, longitude = line.rstrip("\n").split("\t")
        table.setdefault(country, {})[code] = Point(float(latitude), float(longitude))
    return table


def with_prefixes(table: Mapping[str, Mapping[str, Point]]) -> dict[str, dict[str, Point]]:
    """Every code, and every prefix of one down to its country's shortest, at the mean of the
    codes under it (each code counted once, however many places it covers)."""
    areas: dict[str, dict[str, Point]] = {}
    for country, codes in table.items():
        rule = POSTAL_AREAS[country]
        sums: dict[str, tuple[float, float, int]] = {}
        for code, point in codes.items():
            for prefix in (code[:length] for length in range(rule.shortest, len(code))):
                if prefix not in rule.scattered:
                    latitude, longitude, count = sums.get(prefix, (0.0, 0.0, 0))
                    sums[prefix] = (latitude + point.latitude, longitude + point.longitude, count + 1)
        means = {prefix: Point(lat / count, lon / count) for prefix, (lat, lon, count) in sums.items()}
        areas[country] = means | dict(codes)
    return areas


@lru_cache(maxsize=1)
def postal_centroids() -> dict[str, dict[str, Point]]:
    with gzip.open(POSTAL_TABLE, "rt", encoding="utf-8") as lines:
        return with_prefixes(read_table(lines))


@lru_cache(maxsize=65536)
def _us_zip_field(zip5: str, name: str) -> str | None:
    matches = zipcodes.matching(zip5)  # type: ignore[no-untyped-call]
    value = matches[0].get(name) if matches else None
    return value if isinstance(value, str) and value else None


@lru_cache(maxsize=65536)
def _us_zip(zip5: str) -> Point | None:
    matches = zipcodes.matching(zip5)  # type: ignore[no-untyped-call]
    if not matches:
        return None
    return Point(float(matches[0]["lat"]), float(matches[0]["long"]))


def _postal_point(country: str, postal_code: str) -> Point | None:
    if country == "US":
        match = US_ZIP.match(postal_code.strip())
        return _us_zip(match.group(1)) if match else None
    if country not in POSTAL_AREAS:
        return None
    areas = postal_centroids()[country]
    return next((areas[key] for key in postal_keys(country, postal_code) if key in areas), None)


class OfflineGeocoder:
    def warm(self) -> None:
        """Load the postal data now rather than on a customer's first request."""
        _us_zip("10001")
        postal_centroids()

    def locate(
        self,
        country_code: str,
        postal_code: str | None = None,
        latitude: float | None = None,
        longitude: float | None = None,
    ) -> Point | None:
        if latitude is not None and longitude is not None:
            if -90 <= latitude <= 90 and -180 <= longitude <= 180:
                return Point(latitude, longitude)
            return None
        country = country_code.strip().upper()
        point = _postal_point(country, postal_code) if postal_code else None
        return point if point is not None else COUNTRY_CENTROIDS.get(country)

    def postal_point(self, country_code: str, postal_code: str) -> Point | None:
        """Where a postal code is, or None: never the country's middle (a node is placed exactly
        or not at all)."""
        return _postal_point(country_code.strip().upper(), postal_code)

    def zone_name(self, country_code: str, postal_code: str | None) -> str | None:
        """The IANA time zone of a US ZIP code (from the same offline data set); None elsewhere."""
        return self._zip_field(country_code, postal_code, "timezone")

    def region_name(self, country_code: str, postal_code: str | None) -> str | None:
        """The state of a US ZIP code, or the province of a Canadian postal code (its first
        letter says it), for tax where only the postal code is known; None elsewhere."""
        if country_code.strip().upper() == "CA" and postal_code:
            return CANADIAN_PROVINCES.get(postal_code.strip()[:1].upper())
        return self._zip_field(country_code, postal_code, "state")

    @staticmethod
    def _zip_field(country_code: str, postal_code: str | None, name: str) -> str | None:
        if country_code.strip().upper() != "US" or not postal_code:
            return None
        match = US_ZIP.match(postal_code.strip())
        return _us_zip_field(match.group(1), name) if match else None
