"""Which département a point lies in, offline: the nearest commune centroid.

The project's own geographic data has no département boundaries, but it has the centroid
of every commune (the postal-code table, :mod:`entraide.kernel.postcodes`, from La Poste's
open data). A point belongs to the commune whose centroid is nearest (the Voronoi cells of
about 35,000 centroids, a few kilometres wide), hence to that commune's département. Near a
boundary the answer may be the neighbouring département: callers that map a line (a river
section) count the points of each département and keep those seen more than once.

A point farther than ``MAX_KM`` from every centroid (at sea, abroad) lies nowhere.
Nothing is read before the first look-up; the grid is built once per process.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import ClassVar

from entraide.kernel.departements import DEPARTEMENTS

CELL_DEGREES = 0.1  # about 11 km of latitude, 7.5 km of longitude in France
MAX_KM = 20.0  # beyond this from any commune centroid, a point is not in France
_KM_PER_DEGREE = 111.195

Point = tuple[float, float]  # (lat, lon)
_Centroid = tuple[float, float, str]


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return math.floor(lat / CELL_DEGREES), math.floor(lon / CELL_DEGREES)


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Equirectangular distance: exact enough over a few tens of kilometres."""
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return math.hypot(x, y) * 6371.0088


class DepartementLocator:
    """Nearest-centroid look-ups over ``centroids`` ((lat, lon, département) triples)."""

    _default: ClassVar[DepartementLocator | None] = None
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, centroids: Iterable[_Centroid]) -> None:
        self._grid: dict[tuple[int, int], list[_Centroid]] = {}
        for lat, lon, departement in centroids:
            self._grid.setdefault(_cell(lat, lon), []).append((lat, lon, departement))

    @classmethod
    def default(cls) -> DepartementLocator:
        """The locator over the packaged postal-code table (one centroid per commune)."""
        if cls._default is None:
            with cls._lock:
                if cls._default is None:
                    cls._default = cls(_commune_centroids())
        return cls._default

    def departement_at(self, lat: float, lon: float) -> str | None:
        """The département of the commune whose centroid is nearest, within ``MAX_KM``."""
        row, column = _cell(lat, lon)
        best: tuple[float, str] | None = None
        # Ring by ring: a ring r cells away is at least (r - 1) cells of longitude away.
        cell_km = CELL_DEGREES * _KM_PER_DEGREE * math.cos(math.radians(min(abs(lat), 80.0)))
        rings = math.ceil(MAX_KM / cell_km) + 1
        for ring in range(rings + 1):
            if best is not None and best[0] < (ring - 1) * cell_km:
                break
            for r in range(row - ring, row + ring + 1):
                for c in range(column - ring, column + ring + 1):
                    if max(abs(r - row), abs(c - column)) != ring:
                        continue
                    for clat, clon, departement in self._grid.get((r, c), ()):
                        distance = _km(lat, lon, clat, clon)
                        if best is None or distance < best[0]:
                            best = (distance, departement)
        if best is None or best[0] > MAX_KM:
            return None
        return best[1]

    def along(self, line: Sequence[Point], *, step_km: float = 1.0) -> Counter[str]:
        """How many points of ``line``, taken every ``step_km`` or so, fall in each
        département (points nowhere are not counted)."""
        found: Counter[str] = Counter()
        for point in _sampled(line, step_km):
            departement = self.departement_at(*point)
            if departement is not None:
                found[departement] += 1
        return found


def _sampled(line: Sequence[Point], step_km: float) -> Iterable[Point]:
    """The vertices of ``line`` and points between them no more than ``step_km`` apart."""
    for n, (lat, lon) in enumerate(line):
        if n:
            plat, plon = line[n - 1]
            steps = int(_km(plat, plon, lat, lon) // step_km)
            for k in range(1, steps + 1):
                t = k / (steps + 1)
                yield plat + (lat - plat) * t, plon + (lon - plon) * t
        yield lat, lon


def _commune_centroids() -> list[_Centroid]:
    from entraide.kernel.postcodes import PostcodeDirectory

    return [
        (commune.lat, commune.lon, commune.departement)
        for commune in PostcodeDirectory.default().located_communes()
        if commune.departement in DEPARTEMENTS
    ]
