"""Great-circle distance and nearest-point search on (latitude, longitude) pairs."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")
Point = tuple[float, float]
EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG); the error against the ellipsoid is under 0.5 %


def haversine_km(a: Point, b: Point) -> float:
    """Distance in kilometres between two points given in degrees."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def nearest(origin: Point, items: Iterable[tuple[T, Point]]) -> T | None:
    """The item closest to origin; ties keep the first one seen."""
    best: T | None = None
    best_km = math.inf
    for item, point in items:
        km = haversine_km(origin, point)
        if km < best_km:
            best, best_km = item, km
    return best
