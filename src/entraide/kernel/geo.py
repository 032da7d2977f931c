"""Distances on the Earth, and geohash cells: what "near" means for the platform."""

from __future__ import annotations

import math

import pygeohash

GEOHASH_PRECISION = 7
# A post's position in the place index: 12 characters, a cell of about 3.7 x 1.9 cm, finer
# than the metre between two positions given to 5 decimals (entraide.matching.zorder).
POSITION_PRECISION = 12
EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two WGS84 points given in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def geohash(lat: float, lon: float, precision: int = GEOHASH_PRECISION) -> str:
    """Geohash of a point (``pygeohash``); precision 7 is a cell of about 150 m."""
    result: str = pygeohash.encode(lat, lon, precision=precision)
    return result
