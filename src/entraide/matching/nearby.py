"""Near me: approved posts within a radius of a point, nearest first, reading what the answer needs.

**The index.** An approved post is in the sparse index ``by_cell`` (keys:
:func:`entraide.intake.post_store.near_keys`) under one partition per activation, kind
and category, sorted by its place (its geohash of 12 characters, :mod:`.zorder`), then
by creation time and id. A search for offers of two categories reads two partitions and
never an item of another kind or category; a search for everything reads every
partition of its activations (14 each).

**The search** is a best-first walk over *spans* of places (ranges of the geohash's
z-order curve, :mod:`.zorder`), one partition at a time, nearest span first:

1. It starts from the cells a little larger than the radius that meet the circle
   (:func:`~.zorder.depth_for_radius`: 4 to 9 of them), in every partition searched.
2. It takes the span nearest the point (the one whose rectangle comes closest). A span
   expected to hold more than a batch of posts is split in two halves (along the curve)
   and put back; otherwise it is read: one Query of at most a batch of items. A read
   that stops at its limit puts back the rest of its span, resumed after the last item.
   How many posts a span holds is estimated from the reads so far (posts per length of
   curve, per partition): a span is read whole where posts are few, in small pieces
   where they crowd.
3. It stops as soon as one more post than the page holds is *certain*: nearer (in the
   order of results: distance, then creation time, then id) than anything still unread,
   because no unread span can hold a post nearer than its rectangle. A span resumed
   inside one place (every post there at the same distance, read oldest first) holds
   nothing before the last post read there: ties at one place, a commune's centroid
   with hundreds of posts, are told apart without reading them all.

Spans farther than the radius are never read. Reads beyond the page's last post are at
most a batch per partition, plus what straddles the last distance: the cost follows the
answer (how many posts, how far they spread), not the number of posts in the area.

**Pages.** The cursor carries the last post's sort key (distance, creation time, id), its
place and how many posts shown before it share that place. The next page skips every
span wholly nearer than the last distance (all shown), drops the posts read that sort
before the cursor, and, when many shown posts share the last place, resumes that place
after the last one shown instead of reading them again. Posts that appear or disappear
between two pages cause neither duplicates nor gaps among the others. The cursor is
checked, not trusted: a damaged one, one of another search, or one whose place does not
lie at its distance is refused (ValueError); a well-formed one only says where results
resume.

**Posts approved before the place keys** sit under the former keys (``CELL#<activation>
#<geohash4>``, kind first in the sort key) until ``PostStore.move_legacy_cells`` has
moved them: until it has recorded that none is left, each search also reads the former
partitions of its circle, whole, as searches did before.

Why one module: the walk, its stopping rule and its cursor are one argument (the rule
says which posts are certain, the cursor resumes after the last of them, the walk drops
what the cursor says was shown); apart, each would lean on the others' insides.

Importing this module reads nothing and creates no client.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import heapq
import itertools
import json
import math
import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from entraide.intake.post_store import near_position, near_sort_key
from entraide.kernel.geo import haversine_km
from entraide.kernel.model import Category, Kind, Post, PostStatus
from entraide.matching.zorder import (
    POSITION_BITS,
    SLACK_KM,
    Cell,
    cells_meeting_circle,
    check_point,
    covering_cells,
    depth_for_radius,
    distance_to_box_km,
    enclosing_cell,
    farthest_in_box_km,
    geohash_of,
    nearest_in_span_km,
    position_of,
)

# re-exported: the tests and tools that place posts around a point import it from here
from entraide.matching.zorder import destination_point as destination_point

if TYPE_CHECKING:
    from entraide.intake.post_store import PostStore

# Beyond this a search would start from cells of hundreds of km: not a "near me" query.
MAX_RADIUS_KM = 100.0
MAX_LIMIT = 200
DEFAULT_LIMIT = 20
#: Items a Query reads at most (its ``Limit``): a third of a partition's share of the
#: page (a span is read whole when it should hold no more, split in two otherwise), and
#: never below MIN_BATCH: a Query costs half a read unit (4 KB, about 6 posts) even for
#: nothing. Both tuned with bench/geomatch_scaling.py.
MIN_BATCH = 8
BATCH_SHARE = 3
#: Items the first read of a search reads, before it knows how many posts a place holds.
FIRST_READ = 8
#: Shown posts at the cursor's place from which the next page skips them by key rather
#: than reading them again (it costs one more Query per partition).
TIES_SKIPPED_FROM = 8
_CURSOR_VERSION = 2
_CURSOR_VERSIONS = (1, 2)
_POST_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
_EARLIEST = datetime.min.replace(tzinfo=UTC)
# A cursor's place (a cell of about 3 cm) must lie at its distance, give or take this.
_PLACE_TOLERANCE_KM = 1e-3


# --- results --------------------------------------------------------------------------


@dataclass(frozen=True)
class NearbyPost:
    post: Post
    distance_km: float


@dataclass(frozen=True)
class Page:
    """One page of a search, nearest first.

    ``next_cursor`` is None on the last page. ``cells_read`` is the number of Query
    requests made on the index, ``items_read`` the number of index items DynamoDB read
    for them: the cost of the search.
    """

    items: tuple[NearbyPost, ...]
    next_cursor: str | None
    cells_read: int
    items_read: int


# (distance, creation time, id): the order of the results, and what a cursor holds.
type SortKey = tuple[float, datetime, str]


def _sort_key(found: NearbyPost) -> SortKey:
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


# --- the cursor -------------------------------------------------------------------------


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


@dataclass(frozen=True, slots=True)
class _Cursor:
    """Where the previous page stopped: its last post's sort key and place, and how many
    posts shown so far share that place (``place`` is None in a cursor of version 1)."""

    last: SortKey
    place: str | None
    ties: int

    def encode(self, fingerprint: str) -> str:
        distance, created_at, post_id = self.last
        payload = {
            "v": _CURSOR_VERSION,
            "q": fingerprint,
            "d": repr(distance),
            "t": created_at.isoformat(),
            "i": post_id,
            "g": self.place,
            "n": self.ties,
        }
        raw = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


_INVALID = "Curseur de pagination invalide."


def _decode_cursor(
    cursor: str, fingerprint: str, lat: float, lon: float, radius_km: float
) -> _Cursor:
    """The place a cursor continues after; ValueError for a foreign or damaged cursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        if payload["v"] not in _CURSOR_VERSIONS:
            raise ValueError("version")
        matches = payload["q"] == fingerprint
        last = (float(payload["d"]), datetime.fromisoformat(payload["t"]), str(payload["i"]))
        place = payload.get("g")
        ties = int(payload.get("n", 0))
        if place is not None:
            position_of(str(place))  # a geohash of 12 characters
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ValueError(_INVALID) from None
    if not matches:
        raise ValueError("Ce curseur de pagination appartient à une autre recherche.")
    distance, created_at, post_id = last
    if (
        created_at.tzinfo is None
        or not math.isfinite(distance)
        or not 0.0 <= distance <= radius_km
        or not _POST_ID.fullmatch(post_id)
        or not 0 <= ties <= 1_000_000
    ):
        raise ValueError(_INVALID)
    if place is not None:
        box = Cell(POSITION_BITS, position_of(place)).box
        if not (
            distance_to_box_km(lat, lon, box) - _PLACE_TOLERANCE_KM
            <= distance
            <= farthest_in_box_km(lat, lon, box) + _PLACE_TOLERANCE_KM
        ):
            raise ValueError(_INVALID)  # a place that does not lie at its distance
    return _Cursor(last, place, ties)


# --- the walk ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Partition:
    """One partition of the place indexes: every category when ``category`` is None."""

    activation_id: str
    kind: Kind
    category: Category | None


@dataclass(frozen=True, slots=True)
class _Span:
    """Places ``low`` to ``high`` of one partition, unread.

    A span of one place (``low == high``) may resume ``after`` the sort key of the last
    post read there; ``after_key`` is then that post's sort key in the results, when
    known: every post left there sorts after it (same place, same distance, later in the
    index). ``rate``: posts per place seen where the span comes from, if known.
    """

    partition: _Partition
    low: int
    high: int
    after: str | None = None
    after_key: SortKey | None = None
    rate: float | None = None

    @property
    def size(self) -> int:
        return self.high - self.low + 1

    def halves(self) -> tuple[_Span, _Span]:
        """Split at the middle of the smallest cell that holds it."""
        middle = enclosing_cell(self.low, self.high).halves()[1].low
        return (
            _Span(self.partition, self.low, middle - 1, rate=self.rate),
            _Span(self.partition, middle, self.high, rate=self.rate),
        )


@dataclass(slots=True)
class _Density:
    """Posts read, and length of curve read, in one partition."""

    posts: int = 0
    length: int = 0


@dataclass(slots=True)
class _Walk:
    """One page's search: the spans left, the posts found, the cost so far."""

    store: PostStore
    lat: float
    lon: float
    radius_km: float
    kind: Kind | None
    categories: frozenset[Category] | None
    exclude: str | None
    after: _Cursor | None
    need: int
    batch: int
    spans: list[tuple[SortKey, int, _Span]] = field(default_factory=list)
    keys: list[SortKey] = field(default_factory=list)
    found: dict[SortKey, NearbyPost] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    density: dict[_Partition, _Density] = field(default_factory=dict)
    requests: int = 0
    items_read: int = 0
    _order: Iterator[int] = field(default_factory=itertools.count)

    # -- the spans -------------------------------------------------------------------
    def push(self, span: _Span) -> None:
        """Queue a span by the least sort key a post in it could have; drop it when it
        lies beyond the radius, or wholly before the cursor (every post in it shown)."""
        nearest = nearest_in_span_km(self.lat, self.lon, span.low, span.high)
        if nearest > self.radius_km + SLACK_KM:
            return
        shown = self.after.last[0] if self.after is not None else -math.inf
        box = enclosing_cell(span.low, span.high).box
        if farthest_in_box_km(self.lat, self.lon, box) + SLACK_KM < shown:
            return
        if span.after_key is not None:
            floor = span.after_key  # one place, resumed after a post read there
        else:
            floor = (max(nearest - SLACK_KM, 0.0), _EARLIEST, "")
        heapq.heappush(self.spans, (floor, next(self._order), span))

    def seed(self, partitions: Sequence[_Partition]) -> None:
        """The cells a little larger than the radius that meet the circle, in each
        partition; with many shown posts at the cursor's place, that place resumes after
        the last one shown."""
        depth = depth_for_radius(self.lat, self.radius_km)
        cells = cells_meeting_circle(self.lat, self.lon, self.radius_km, depth)
        skip = self.after if self.after and self.after.ties >= TIES_SKIPPED_FROM else None
        place = position_of(skip.place) if skip is not None and skip.place else None
        for partition in partitions:
            for cell in cells:
                if skip is None or place is None or not cell.low <= place <= cell.high:
                    self.push(_Span(partition, cell.low, cell.high))
                    continue
                _, created_at, post_id = skip.last
                after = near_sort_key(geohash_of(place), created_at, post_id)
                self.push(_Span(partition, place, place, after=after))
                if place > cell.low:
                    self.push(_Span(partition, cell.low, place - 1))
                if place < cell.high:
                    self.push(_Span(partition, place + 1, cell.high))

    def expected(self, span: _Span) -> float | None:
        """Posts a span should hold: at the rate seen where it comes from, else at the
        rate of this partition's reads so far, else of the others'; None before any read."""
        if span.rate is not None:
            return span.rate * span.size
        own = self.density.get(span.partition)
        if own is None or own.length == 0:
            known = [d for d in self.density.values() if d.length]
            if not known:
                return None
            rate = sum(d.posts / d.length for d in known) / len(known)
        else:
            rate = own.posts / own.length
        return rate * span.size

    # -- the posts -------------------------------------------------------------------
    def certain(self, floor: SortKey) -> int:
        """How many posts found sort before ``floor``: nothing unread can come before them."""
        return bisect.bisect_left(self.keys, floor)

    def consider(self, post: Post, activation_id: str) -> None:
        if post.status is not PostStatus.APPROVED:
            return  # defensive: only approved posts are ever in the index
        if post.activation_id != activation_id or post.id == self.exclude:
            return
        if self.kind is not None and post.kind is not self.kind:
            return
        if self.categories is not None and post.category not in self.categories:
            return
        if post.id in self.seen:
            return
        distance = haversine_km(self.lat, self.lon, post.lat, post.lon)
        if distance > self.radius_km:
            return
        hit = NearbyPost(post=post, distance_km=distance)
        key = _sort_key(hit)
        if self.after is not None and key <= self.after.last:
            return  # shown on an earlier page
        self.seen.add(post.id)
        self.found[key] = hit
        bisect.insort(self.keys, key)

    # -- reading -----------------------------------------------------------------------
    def read(self, span: _Span, limit: int) -> None:
        partition = span.partition
        result = self.store.approved_near(
            partition.activation_id,
            partition.kind,
            partition.category,
            first=geohash_of(span.low),
            last=geohash_of(span.high),
            after=span.after,
            limit=limit,
        )
        self.requests += 1
        self.items_read += result.read
        for post in result.posts:
            self.consider(post, partition.activation_id)
        if result.stopped_after is None or result.stopped_place is None:
            if span.low < span.high:
                self.learn(partition, result.read, span.size)
            return
        # stopped at its limit: the rest of the last place read, then the places after it
        place = position_of(result.stopped_place)
        last = result.posts[-1] if result.posts else None
        after_key = None
        if last is not None and result.stopped_after == near_sort_key(
            near_position(last), last.created_at, last.id
        ):
            distance = haversine_km(self.lat, self.lon, last.lat, last.lon)
            after_key = (distance, last.created_at, last.id)
        self.push(_Span(partition, place, place, result.stopped_after, after_key))
        if place < span.high:
            # how many posts a place holds, on average over the length of curve read; a
            # read that stopped in its first place (posts piled at a commune's centroid)
            # says nothing of the places after it: the rest keeps the rate it had
            rate = span.rate
            if place > span.low:
                length = place - span.low + 1
                self.learn(partition, result.read, length)
                rate = result.read / length
            self.push(_Span(partition, place + 1, span.high, rate=rate))

    def learn(self, partition: _Partition, posts: int, length: int) -> None:
        density = self.density.setdefault(partition, _Density())
        density.posts += posts
        density.length += length

    def run(self) -> None:
        while self.spans:
            floor, _, span = self.spans[0]
            if self.certain(floor) >= self.need:
                return
            heapq.heappop(self.spans)
            expected = self.expected(span)
            if span.low < span.high and expected is not None and expected > self.batch:
                for half in span.halves():
                    self.push(half)
            else:
                self.read(span, self.batch if expected is not None else FIRST_READ)

    def read_legacy(self, activation_ids: Sequence[str]) -> None:
        """Every post still under the former keys in the circle: read whole, as before."""
        for activation_id in activation_ids:
            for cell in covering_cells(self.lat, self.lon, self.radius_km):
                posts, read, requests = self.store.approved_in_legacy_cell(
                    activation_id, cell, self.kind
                )
                self.requests += requests
                self.items_read += read
                for post in posts:
                    self.consider(post, activation_id)


def _batch(need: int, partitions: int) -> int:
    """Items per Query: a part of a partition's share of the page, at least
    :data:`MIN_BATCH`."""
    return max(MIN_BATCH, -(-need // (BATCH_SHARE * max(partitions, 1))))


# --- the search -----------------------------------------------------------------------


class NearbySearch:
    """Approved posts near a point, through the ``by_cell`` index, nearest first."""

    def __init__(self, posts: PostStore) -> None:
        self.posts = posts
        self._legacy_gone = False  # once the former keys are gone, they never come back

    def _legacy_remains(self) -> bool:
        if not self._legacy_gone:
            self._legacy_gone = not self.posts.legacy_cells_remain()
        return not self._legacy_gone

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
        check_point(lat, lon)
        if not math.isfinite(radius_km) or not 0 < radius_km <= MAX_RADIUS_KM:
            raise ValueError(f"radius_km must be within 0..{MAX_RADIUS_KM:g}, not {radius_km!r}")
        if isinstance(activation_ids, str):
            raise TypeError("activation_ids is a sequence of ids, not one id")
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be within 1..{MAX_LIMIT}, not {limit!r}")
        activations = tuple(dict.fromkeys(activation_ids))
        categories = _wanted_categories(category)
        fingerprint = _fingerprint(lat, lon, radius_km, activations, kind, categories, exclude)
        after = (
            _decode_cursor(cursor, fingerprint, lat, lon, radius_km) if cursor is not None else None
        )
        every_category = categories is None or categories == frozenset(Category)
        partitions = [
            _Partition(activation_id, each_kind, each_category)
            for activation_id in activations
            for each_kind in ((kind,) if kind is not None else tuple(Kind))
            for each_category in ([None] if every_category else sorted(categories or ()))
        ]
        walk = _Walk(
            store=self.posts,
            lat=lat,
            lon=lon,
            radius_km=radius_km,
            kind=kind,
            categories=categories,
            exclude=exclude,
            after=after,
            need=limit + 1,  # one more than the page: is there a next one?
            batch=_batch(limit + 1, len(partitions)),
        )
        if activations:
            if self._legacy_remains():
                walk.read_legacy(activations)
            walk.seed(partitions)
            walk.run()
        ordered = [walk.found[key] for key in walk.keys]
        page = tuple(ordered[:limit])
        next_cursor = None
        if len(ordered) > limit:
            next_cursor = _next_cursor(page, after).encode(fingerprint)
        return Page(page, next_cursor, cells_read=walk.requests, items_read=walk.items_read)


def _next_cursor(page: Sequence[NearbyPost], before: _Cursor | None) -> _Cursor:
    """The cursor after ``page``: its last post, and the shown posts at that place."""
    last = page[-1]
    place = near_position(last.post)
    ties = sum(1 for hit in page if near_position(hit.post) == place)
    if before is not None and before.place == place and before.last[0] == last.distance_km:
        ties += before.ties
    return _Cursor(_sort_key(last), place, ties)
