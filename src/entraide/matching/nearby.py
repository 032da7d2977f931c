"""Near me: approved posts within a radius of a point, nearest first, without a Scan.

Approved posts are in the sparse index ``by_cell`` (see :mod:`entraide.intake.post_store`),
one partition per activation and geohash cell of precision
:data:`~entraide.intake.post_store.CELL_PRECISION` (about 20 x 20 km in France). A search

1. lists the cells that intersect the circle (:func:`covering_cells`: the cells of the
   circle's bounding box, kept when their rectangle comes within the radius),
2. runs one ``Query`` per (activation, cell), every page of it, optionally narrowed to one
   kind by the sort key (``begins_with(gsi3sk, "need#")``),
3. keeps the approved posts whose true distance (haversine) is within the radius, of the
   wanted categories, and sorts them nearest first (ties: oldest first, then id),
4. returns one page of them with an opaque cursor for the next one.

The cost of a search is the number of posts in the covering cells, whatever the size of
the table. Every page of a search reads the cells again (a page is cut from the sorted
result); the cursor carries the sort key of the last post shown, so posts that appear or
disappear between two pages cause neither duplicates nor gaps among the others.

Importing this module reads nothing and creates no client.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import pygeohash

from entraide.intake.post_store import CELL_PRECISION
from entraide.kernel.geo import EARTH_RADIUS_KM, haversine_km
from entraide.kernel.model import Category, Kind, Post, PostStatus

if TYPE_CHECKING:
    from entraide.intake.post_store import PostStore

# Beyond this a search would read hundreds of cells per activation: not a "near me" query.
MAX_RADIUS_KM = 100.0
MAX_LIMIT = 200
DEFAULT_LIMIT = 20
CELL_SORT_KEY = "gsi3sk"
_CURSOR_VERSION = 1
# Rounding slack (km) when deciding whether a cell comes within the radius: a post that
# passes the haversine test must never sit in a cell that was left out.
_SLACK_KM = 1e-6
_SLACK_DEGREES = 1e-9


# --- geometry -------------------------------------------------------------------------


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


def covering_cells(
    lat: float, lon: float, radius_km: float, precision: int = CELL_PRECISION
) -> list[str]:
    """Every geohash cell of ``precision`` that intersects the circle, sorted.

    The cells of the circle's bounding box (``pygeohash.geohashes_in_box``), kept when
    the distance from the centre to the cell's rectangle is within the radius.
    """
    _check_point(lat, lon)
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
            if distance_to_box_km(lat, lon, bounds) <= radius_km + _SLACK_KM:
                cells.add(cell)
    return sorted(cells)


def _check_point(lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise ValueError(f"latitude must be within -90..90, not {lat!r}")
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise ValueError(f"longitude must be within -180..180, not {lon!r}")


# --- results --------------------------------------------------------------------------


@dataclass(frozen=True)
class NearbyPost:
    post: Post
    distance_km: float


@dataclass(frozen=True)
class Page:
    """One page of a search, nearest first.

    ``next_cursor`` is None on the last page. ``cells_read`` is the number of index
    partitions queried (activations x covering cells), ``items_read`` the number of
    index items DynamoDB read for them (``ScannedCount``): the cost of the search.
    """

    items: tuple[NearbyPost, ...]
    next_cursor: str | None
    cells_read: int
    items_read: int


# (distance, creation time, id): the order of the results, and what a cursor holds.
type _SortKey = tuple[float, datetime, str]


def _sort_key(found: NearbyPost) -> _SortKey:
    return (found.distance_km, found.post.created_at, found.post.id)


def _wanted_categories(
    category: Category | Collection[Category] | None,
) -> frozenset[Category] | None:
    if category is None:
        return None
    if isinstance(category, Category):
        return frozenset({category})
    wanted = frozenset(Category(value) for value in category)
    if not wanted:
        raise ValueError("category: give at least one category, or None for all")
    return wanted


def _fingerprint(
    lat: float,
    lon: float,
    radius_km: float,
    activations: Sequence[str],
    kind: Kind | None,
    categories: frozenset[Category] | None,
    exclude: str | None,
) -> str:
    """A digest of the query parameters: a cursor only continues the query it came from."""
    parameters = [
        repr(float(lat)),
        repr(float(lon)),
        repr(float(radius_km)),
        sorted(activations),
        kind.value if kind else None,
        sorted(c.value for c in categories) if categories is not None else None,
        exclude,
    ]
    text = json.dumps(parameters, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _encode_cursor(fingerprint: str, last: _SortKey) -> str:
    distance, created_at, post_id = last
    payload = {
        "v": _CURSOR_VERSION,
        "q": fingerprint,
        "d": repr(distance),
        "t": created_at.isoformat(),
        "i": post_id,
    }
    raw = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode_cursor(cursor: str, fingerprint: str) -> _SortKey:
    """The sort key a cursor continues after; ValueError for a foreign or damaged cursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        if payload["v"] != _CURSOR_VERSION:
            raise ValueError("version")
        matches = payload["q"] == fingerprint
        last = (float(payload["d"]), datetime.fromisoformat(payload["t"]), str(payload["i"]))
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ValueError("Curseur de pagination invalide.") from None
    if not matches:
        raise ValueError("Ce curseur de pagination appartient à une autre recherche.")
    if last[1].tzinfo is None or not math.isfinite(last[0]):
        raise ValueError("Curseur de pagination invalide.")
    return last


# --- the search -----------------------------------------------------------------------


class NearbySearch:
    """Approved posts near a point, through the ``by_cell`` index (one Query per cell)."""

    def __init__(self, posts: PostStore) -> None:
        self.posts = posts

    def search(
        self,
        *,
        lat: float,
        lon: float,
        radius_km: float,
        activation_ids: Sequence[str],
        kind: Kind | None = None,
        category: Category | Collection[Category] | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
        exclude: str | None = None,
    ) -> Page:
        """One page of the approved posts within ``radius_km`` of (lat, lon), nearest first.

        ``activation_ids``: the activations searched (a post belongs to one). ``kind``:
        needs or offers only. ``category``: one category, or a collection of accepted
        ones. ``exclude``: a post id never returned (the post one searches from).
        ``cursor``: ``next_cursor`` of the previous page of the same search; a cursor of
        another search, or a damaged one, raises ValueError.
        """
        _check_point(lat, lon)
        if not math.isfinite(radius_km) or not 0 < radius_km <= MAX_RADIUS_KM:
            raise ValueError(f"radius_km must be within 0..{MAX_RADIUS_KM:g}, not {radius_km!r}")
        if isinstance(activation_ids, str):
            raise TypeError("activation_ids is a sequence of ids, not one id")
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be within 1..{MAX_LIMIT}, not {limit!r}")
        activations = tuple(dict.fromkeys(activation_ids))
        categories = _wanted_categories(category)
        fingerprint = _fingerprint(lat, lon, radius_km, activations, kind, categories, exclude)
        after = _decode_cursor(cursor, fingerprint) if cursor is not None else None

        cells = covering_cells(lat, lon, radius_km) if activations else []
        found: dict[str, NearbyPost] = {}
        cells_read = items_read = 0
        for activation_id in activations:
            for cell in cells:
                posts, read = self.posts.approved_in_cell(activation_id, cell, kind)
                cells_read += 1
                items_read += read
                for post in posts:
                    hit = _keep(post, lat, lon, radius_km, activation_id, categories, exclude)
                    if hit is not None:
                        found[hit.post.id] = hit

        ordered = sorted(found.values(), key=_sort_key)
        if after is not None:
            ordered = [hit for hit in ordered if _sort_key(hit) > after]
        page = tuple(ordered[:limit])
        next_cursor = (
            _encode_cursor(fingerprint, _sort_key(page[-1])) if len(ordered) > limit else None
        )
        return Page(
            items=page, next_cursor=next_cursor, cells_read=cells_read, items_read=items_read
        )


def _keep(
    post: Post,
    lat: float,
    lon: float,
    radius_km: float,
    activation_id: str,
    categories: frozenset[Category] | None,
    exclude: str | None,
) -> NearbyPost | None:
    """The post as a result, or None when it is not one."""
    if post.status is not PostStatus.APPROVED:
        return None  # defensive: only approved posts are ever in the index
    if post.activation_id != activation_id or post.id == exclude:
        return None
    if categories is not None and post.category not in categories:
        return None
    distance = haversine_km(lat, lon, post.lat, post.lon)
    if distance > radius_km:
        return None
    return NearbyPost(post=post, distance_km=distance)
