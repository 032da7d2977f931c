"""How far a point is from the communes of some départements: the pre-screen's "far away".

The located communes of the packaged postal-code table
(:meth:`~entraide.kernel.postcodes.PostcodeDirectory.located_communes`), grouped by
département with their bounding box, are read on first use, once per process; a search
visits the départements by increasing lower bound and stops as soon as no closer commune
can be found.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from entraide.kernel.geo import EARTH_RADIUS_KM
from entraide.kernel.once import Once
from entraide.kernel.postcodes import PostcodeDirectory


@dataclass(frozen=True, slots=True)
class _Area:
    """The located communes of one département, in radians, with their bounding box."""

    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float
    points: tuple[tuple[float, float, float], ...]  # (lat, lon, cos lat)

    def lower_bound_km(self, lat: float, lon: float) -> float:
        """A distance no commune of the area is closer than (point in radians).

        No commune is closer than its difference of latitude with the box, nor than
        the great circle of the box's nearest meridian (as long as the box's span of
        longitude seen from the point stays within a quarter turn).
        """
        lat_gap = max(self.min_lat - lat, lat - self.max_lat, 0.0)
        if self.min_lon <= lon <= self.max_lon:
            lon_gap = 0.0
        else:
            lon_gap = min((self.min_lon - lon) % math.tau, (lon - self.max_lon) % math.tau)
        width = self.max_lon - self.min_lon
        meridian_gap = 0.0
        if lon_gap > 0.0 and lon_gap + width <= math.pi / 2:
            meridian_gap = math.asin(min(1.0, abs(math.cos(lat)) * math.sin(lon_gap)))
        return EARTH_RADIUS_KM * max(lat_gap, meridian_gap)


def _read_areas() -> Mapping[str, _Area]:
    """Per département, the distinct located communes of the packaged postal-code table."""
    points: dict[str, list[tuple[float, float, float]]] = {}
    for commune in PostcodeDirectory.default().located_communes():
        phi, lam = math.radians(commune.lat), math.radians(commune.lon)
        points.setdefault(commune.departement, []).append((phi, lam, math.cos(phi)))
    return MappingProxyType(
        {
            code: _Area(
                min(p[0] for p in found),
                max(p[0] for p in found),
                min(p[1] for p in found),
                max(p[1] for p in found),
                tuple(found),
            )
            for code, found in points.items()
        }
    )


_areas = Once(_read_areas)


def distance_to_departements(
    lat: float, lon: float, departements: Iterable[str], *, stop_within_km: float = 0.0
) -> float | None:
    """Distance in km from a point (degrees) to the nearest commune of ``departements``.

    ``None`` when none of them has a located commune in the postal-code table. With
    ``stop_within_km``, the search stops at the first commune that close: the answer is
    then only known to be at most ``stop_within_km``.

    Départements are visited by increasing lower bound (bounding box) and skipped once
    that bound is past the best distance found.
    """
    areas = _areas.get()
    phi, lam = math.radians(lat), math.radians(lon)
    cos_phi = math.cos(phi)
    candidates = sorted(
        (area.lower_bound_km(phi, lam), code)
        for code in dict.fromkeys(departements)
        if (area := areas.get(code)) is not None
    )
    if not candidates:
        return None

    def to_a(distance: float) -> float:  # haversine's "a" of a distance
        return math.sin(min(distance, math.pi * EARTH_RADIUS_KM) / (2 * EARTH_RADIUS_KM)) ** 2

    best_a = math.inf
    stop_a = to_a(stop_within_km) if stop_within_km > 0 else -1.0
    sin = math.sin
    for bound, code in candidates:
        if best_a <= stop_a or to_a(bound) >= best_a:
            break
        for p_phi, p_lam, p_cos in areas[code].points:
            half_dphi = sin((p_phi - phi) / 2)
            half_dlam = sin((p_lam - lam) / 2)
            a = half_dphi * half_dphi + cos_phi * p_cos * half_dlam * half_dlam
            if a < best_a:
                best_a = a
                if a <= stop_a:
                    break
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(best_a)))
