"""Places on the Earth as positions on the geohash's z-order curve, and their distances.

A geohash interleaves the bits of a point's longitude and latitude (longitude first) and
writes them five by five in base 32; its base-32 alphabet sorts like the values it
stands for, so geohash strings sort along the z-order curve. Every prefix of ``d`` bits
(a *cell* of depth ``d``) is a rectangle of latitudes and longitudes, and the points of a
cell are one contiguous range of the curve: in a sort key that starts with a point's
geohash, a cell of any depth (not only whole characters) is one ``BETWEEN`` range.

Positions here are integers of :data:`POSITION_BITS` bits: the geohash of precision
:data:`POSITION_PRECISION` (12 characters, a cell of about 3.7 x 1.9 cm). Post positions
are commune centroids given to 5 decimals (about a metre apart at least), so one cell of
full depth never holds two different positions: posts that share a full-depth cell share
their place, and their distance to anywhere.

The search (:mod:`entraide.matching.nearby`) reads *spans*: ranges ``[low, high]`` of
positions. This module says where a span lies (the rectangle of the smallest cell that
holds it), how near and how far it can be from a point, which cells of a depth meet a
circle, and how a span splits in two.

Importing this module reads nothing and creates no client.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pygeohash

from entraide.intake.post_store import CELL_PRECISION
from entraide.kernel.geo import EARTH_RADIUS_KM, POSITION_PRECISION, haversine_km

POSITION_BITS = 5 * POSITION_PRECISION
BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"
_VALUE = {char: value for value, char in enumerate(BASE32)}
# Rounding slack (km) when deciding whether a box comes within a distance: a post that
# passes the haversine test must never sit in a box that was left out.
SLACK_KM = 1e-6
_SLACK_DEGREES = 1e-9
_KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180.0


# --- points and boxes -----------------------------------------------------------------


def check_point(lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise ValueError(f"latitude must be within -90..90, not {lat!r}")
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise ValueError(f"longitude must be within -180..180, not {lon!r}")


def destination_point(
    lat: float, lon: float, bearing_degrees: float, distance_km: float
) -> tuple[float, float]:
    """The point ``distance_km`` away from (lat, lon) along ``bearing_degrees`` (great circle)."""
    angular = distance_km / EARTH_RADIUS_KM
    phi1, lambda1 = math.radians(lat), math.radians(lon)
    theta = math.radians(bearing_degrees)
    sin_phi2 = math.sin(phi1) * math.cos(angular) + math.cos(phi1) * math.sin(angular) * math.cos(
        theta
    )
    phi2 = math.asin(max(-1.0, min(1.0, sin_phi2)))
    lambda2 = lambda1 + math.atan2(
        math.sin(theta) * math.sin(angular) * math.cos(phi1),
        math.cos(angular) - math.sin(phi1) * sin_phi2,
    )
    lon2 = (math.degrees(lambda2) + 540.0) % 360.0 - 180.0
    return math.degrees(phi2), lon2


def distance_to_box_km(lat: float, lon: float, box: pygeohash.BoundingBox) -> float:
    """Great-circle distance from a point to the nearest point of a lat/lon rectangle.

    Inside the rectangle's longitudes, the nearest point is on the point's own meridian.
    Outside them, it is on the nearer edge meridian (distance grows with the difference
    of longitude at any latitude): the foot of the perpendicular on that meridian,
    clamped to the edge, or one of the edge's ends.
    """
    width = box.max_lon - box.min_lon
    offset = (lon - box.min_lon) % 360.0  # degrees east of the west edge
    if offset <= width:
        gap = max(box.min_lat - lat, lat - box.max_lat, 0.0)
        return EARTH_RADIUS_KM * math.radians(gap)
    east_gap, west_gap = offset - width, 360.0 - offset
    edge_lon, delta = (box.max_lon, east_gap) if east_gap <= west_gap else (box.min_lon, west_gap)
    phi = math.radians(lat)
    foot = math.degrees(math.atan2(math.sin(phi), math.cos(phi) * math.cos(math.radians(delta))))
    candidates = (min(max(foot, box.min_lat), box.max_lat), box.min_lat, box.max_lat)
    return min(haversine_km(lat, lon, candidate, edge_lon) for candidate in candidates)


def farthest_in_box_km(lat: float, lon: float, box: pygeohash.BoundingBox) -> float:
    """Great-circle distance from a point to the farthest point of a lat/lon rectangle.

    Along a parallel, the distance grows with the difference of longitude; along a
    meridian it falls to the foot of the perpendicular and grows again: on a rectangle
    it is greatest at a corner. That holds for rectangles less than a quarter of the
    Earth wide and high; a larger one may hold anything: infinity.
    """
    if box.max_lon - box.min_lon > 90.0 or box.max_lat - box.min_lat > 90.0:
        return math.inf
    return max(
        haversine_km(lat, lon, corner_lat, corner_lon)
        for corner_lat in (box.min_lat, box.max_lat)
        for corner_lon in (box.min_lon, box.max_lon)
    )


# --- positions ------------------------------------------------------------------------


def position_of(text: str) -> int:
    """The position a geohash of :data:`POSITION_PRECISION` characters stands for."""
    if len(text) != POSITION_PRECISION:
        raise ValueError(f"a position has {POSITION_PRECISION} geohash characters: {text!r}")
    value = 0
    for char in text:
        try:
            value = value << 5 | _VALUE[char]
        except KeyError:
            raise ValueError(f"not a geohash: {text!r}") from None
    return value


def geohash_of(position: int) -> str:
    """The geohash of :data:`POSITION_PRECISION` characters of a position."""
    chars = [BASE32[(position >> shift) & 31] for shift in range(POSITION_BITS - 5, -1, -5)]
    return "".join(chars)


@dataclass(frozen=True, slots=True, order=True)
class Cell:
    """The ``depth`` first bits ``prefix`` of a position: a rectangle, and a range."""

    depth: int
    prefix: int

    @property
    def low(self) -> int:
        return self.prefix << (POSITION_BITS - self.depth)

    @property
    def high(self) -> int:
        return self.low | ((1 << (POSITION_BITS - self.depth)) - 1)

    @property
    def box(self) -> pygeohash.BoundingBox:
        lon_bits = (self.depth + 1) // 2
        lat_bits = self.depth // 2
        lon = lat = 0
        for index in range(self.depth):
            bit = (self.prefix >> (self.depth - 1 - index)) & 1
            if index % 2 == 0:
                lon = lon << 1 | bit
            else:
                lat = lat << 1 | bit
        lon_size = 360.0 / (1 << lon_bits)
        lat_size = 180.0 / (1 << lat_bits)
        west, south = -180.0 + lon * lon_size, -90.0 + lat * lat_size
        return pygeohash.BoundingBox(south, west, south + lat_size, west + lon_size)

    def halves(self) -> tuple[Cell, Cell]:
        return Cell(self.depth + 1, self.prefix << 1), Cell(self.depth + 1, self.prefix << 1 | 1)


WORLD = Cell(0, 0)


def enclosing_cell(low: int, high: int) -> Cell:
    """The smallest cell that holds every position from ``low`` to ``high``."""
    depth = POSITION_BITS - (low ^ high).bit_length()
    return Cell(depth, low >> (POSITION_BITS - depth))


def _halves(
    box: pygeohash.BoundingBox, depth: int
) -> tuple[pygeohash.BoundingBox, pygeohash.BoundingBox]:
    """The rectangles of a cell's two halves: its next bit splits the longitudes at an
    even depth (west, east), the latitudes at an odd one (south, north)."""
    south, west, north, east = box.min_lat, box.min_lon, box.max_lat, box.max_lon
    if depth % 2 == 0:
        middle = (west + east) / 2
        return (
            pygeohash.BoundingBox(south, west, north, middle),
            pygeohash.BoundingBox(south, middle, north, east),
        )
    middle = (south + north) / 2
    return (
        pygeohash.BoundingBox(south, west, middle, east),
        pygeohash.BoundingBox(middle, west, north, east),
    )


def nearest_in_span_km(lat: float, lon: float, low: int, high: int) -> float:
    """Distance from (lat, lon) to the nearest place from ``low`` to ``high``: to the
    nearest of the cells the range is made of (the whole cells along the two paths from
    its enclosing cell down to ``low`` and to ``high``), cells farther than the best so
    far left unexplored."""
    cell = enclosing_cell(low, high)

    def nearest(depth: int, first: int, box: pygeohash.BoundingBox, best: float) -> float:
        distance = distance_to_box_km(lat, lon, box)
        last = first + (1 << (POSITION_BITS - depth)) - 1
        if distance >= best or (low <= first and last <= high):
            return min(distance, best)
        middle = first + (1 << (POSITION_BITS - depth - 1))
        west_or_south, east_or_north = _halves(box, depth)
        if low < middle:
            best = nearest(depth + 1, first, west_or_south, best)
        if high >= middle:
            best = nearest(depth + 1, middle, east_or_north, best)
        return best

    return nearest(cell.depth, cell.low, cell.box, math.inf)


def depth_for_radius(lat: float, radius_km: float) -> int:
    """The deepest cells still at least ``radius_km`` high and wide at latitude ``lat``.

    A circle meets a handful of them (4 to 9): few enough that a search starts there,
    small enough that a first read of one stays near the circle.
    """
    cos_lat = max(math.cos(math.radians(lat)), 1e-6)
    depth = 0
    while depth < POSITION_BITS:
        nxt = depth + 1
        height = 180.0 / (1 << (nxt // 2)) * _KM_PER_DEGREE
        width = 360.0 / (1 << ((nxt + 1) // 2)) * _KM_PER_DEGREE * cos_lat
        if min(height, width) < radius_km:
            break
        depth = nxt
    return depth


def cells_meeting_circle(lat: float, lon: float, radius_km: float, depth: int) -> list[Cell]:
    """Every cell of ``depth`` that comes within ``radius_km`` of (lat, lon), sorted."""
    check_point(lat, lon)
    cells = [WORLD]
    for _ in range(depth):
        cells = [
            half
            for cell in cells
            for half in cell.halves()
            if distance_to_box_km(lat, lon, half.box) <= radius_km + SLACK_KM
        ]
    return sorted(cells)


# --- geohash cells of whole characters (the former index, read until it is moved) ------


def _bounding_boxes(lat: float, lon: float, radius_km: float) -> list[pygeohash.BoundingBox]:
    """Boxes (one, or two across the antimeridian) that contain the whole circle."""
    angular = radius_km / EARTH_RADIUS_KM
    delta_lat = math.degrees(angular)
    south = max(-90.0, lat - delta_lat - _SLACK_DEGREES)
    north = min(90.0, lat + delta_lat + _SLACK_DEGREES)
    ratio = math.sin(angular) / max(math.cos(math.radians(lat)), 1e-12)
    if north >= 90.0 or south <= -90.0 or angular >= math.pi / 2 or ratio >= 1.0:
        return [pygeohash.BoundingBox(south, -180.0, north, 180.0)]  # a pole is inside
    delta_lon = math.degrees(math.asin(ratio)) + _SLACK_DEGREES
    west, east = lon - delta_lon, lon + delta_lon
    if west < -180.0:
        return [
            pygeohash.BoundingBox(south, west + 360.0, north, 180.0),
            pygeohash.BoundingBox(south, -180.0, north, east),
        ]
    if east > 180.0:
        return [
            pygeohash.BoundingBox(south, west, north, 180.0),
            pygeohash.BoundingBox(south, -180.0, north, east - 360.0),
        ]
    return [pygeohash.BoundingBox(south, west, north, east)]


def covering_cells(
    lat: float, lon: float, radius_km: float, precision: int = CELL_PRECISION
) -> list[str]:
    """Every geohash cell of ``precision`` characters that intersects the circle, sorted.

    The cells of the circle's bounding box (``pygeohash.geohashes_in_box``), kept when
    the distance from the centre to the cell's rectangle is within the radius.
    """
    check_point(lat, lon)
    if not math.isfinite(radius_km) or radius_km < 0:
        raise ValueError(f"radius_km must be a finite number >= 0, not {radius_km!r}")
    if not 1 <= precision <= 12:
        raise ValueError(f"precision must be within 1..12, not {precision!r}")
    cells: set[str] = set()
    for box in _bounding_boxes(lat, lon, radius_km):
        for cell in pygeohash.geohashes_in_box(box, precision=precision):
            if cell in cells:
                continue
            bounds = pygeohash.get_bounding_box(cell)
            if distance_to_box_km(lat, lon, bounds) <= radius_km + SLACK_KM:
                cells.add(cell)
    return sorted(cells)
