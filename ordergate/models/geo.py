"""Distances on the globe and the days they take to cross."""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class Point:
    latitude: float
    longitude: float


def haversine_km(a: Point, b: Point) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


# Ground transit by distance, upper bound in km -> days (a ground-service rule of thumb).
TRANSIT_DAYS: tuple[tuple[float, int], ...] = ((100, 1), (800, 2), (1800, 3), (3200, 4))
UNKNOWN_DESTINATION_DAYS = 5


def transit_days(distance_km: float | None) -> int:
    if distance_km is None:
        return UNKNOWN_DESTINATION_DAYS
    for limit, days in TRANSIT_DAYS:
        if distance_km <= limit:
            return days
    return UNKNOWN_DESTINATION_DAYS
