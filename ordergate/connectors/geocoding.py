"""Where a destination is: its own coordinates, a US ZIP code's centroid from an offline data
set, or its country's centroid. No network: every answer comes from data shipped with us."""

from __future__ import annotations

import re
from functools import lru_cache

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
US_ZIP = re.compile(r"^(\d{5})(?:-\d{4})?$")


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


class OfflineGeocoder:
    def warm(self) -> None:
        """Load the ZIP data set now rather than on a customer's first request."""
        _us_zip("10001")

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
        if country == "US" and postal_code:
            match = US_ZIP.match(postal_code.strip())
            point = _us_zip(match.group(1)) if match else None
            if point is not None:
                return point
        return COUNTRY_CENTROIDS.get(country)

    def zone_name(self, country_code: str, postal_code: str | None) -> str | None:
        """The IANA time zone of a US ZIP code (from the same offline data set); None elsewhere."""
        return self._zip_field(country_code, postal_code, "timezone")

    def region_name(self, country_code: str, postal_code: str | None) -> str | None:
        """The state of a US ZIP code (for tax where only the postal code is known); None
        elsewhere."""
        return self._zip_field(country_code, postal_code, "state")

    @staticmethod
    def _zip_field(country_code: str, postal_code: str | None, name: str) -> str | None:
        if country_code.strip().upper() != "US" or not postal_code:
            return None
        match = US_ZIP.match(postal_code.strip())
        return _us_zip_field(match.group(1), name) if match else None
