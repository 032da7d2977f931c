"""Matching and near-me cost as posts pile up: what a match query and a page of results read.

For each size N (1,000 / 10,000 / 100,000 approved posts of one activation) and each case:

* ``spread``: the same ``LOCAL_POSTS`` posts (seeded) within 40 km of Carcassonne whatever
  N, and N - ``LOCAL_POSTS`` posts elsewhere (Perpignan, Montpellier, Nîmes, Albi,
  Toulouse, Foix, Rodez), never in a 20 km cell around Carcassonne: the table grows away
  from the point (the case this bench measured first);
* ``disaster``: every post within ``DISASTER_KM`` of Carcassonne: posts pile up where the
  disaster is;
* ``communes``: the same, each post at the centroid of a commune within ``DISASTER_KM``
  (La Poste's table, drawn evenly): what posts really carry, so that hundreds of posts
  share each place, and ties at one distance are the rule.

the table is filled with posts in their approved shape (``post_to_item`` plus the index
keys ``PostStore.transition`` writes, checked against a real approval on moto), and:

* ``match``: the match query of a need for a roof at Carcassonne (offers of hébergement
  or "autre" within 20 km, nearest first, 50 at most: ``matching.find_counterparts``);
* ``page 1``, ``pages 2-10``: the near-me search from Carcassonne (20 km, every kind and
  category, 20 per page: what ``/pres-de-chez-moi`` and ``GET /posts`` ask), page after
  page through the cursors; for pages 2 to 10, the worst page and the mean.

Every answer is compared with a brute-force answer over the generated posts (same posts,
same order, pages included). Per query or page, the table prints the Query requests made,
the index items read, the read units and the time (median of ``--repeat`` runs for the
match query, one run per page).

**Read units as DynamoDB bills them** (docs.aws.amazon.com/amazondynamodb/latest/
developerguide/read-write-operations.html, "Capacity unit consumption for read
operations"): a Query's items "are treated as a single read operation, where DynamoDB
computes the total size of all items and then rounds up to the next 4 KB boundary"; a
strongly consistent read of up to 4 KB takes one read unit, an eventually consistent one
half a unit. Index queries are eventually consistent (a global secondary index supports
nothing else: GSI.html#GSI.Reading). A Query that finds nothing is counted here as half a
unit, the smallest read (an upper bound if AWS bills it less). Item sizes follow
CapacityUnitCalculations.html (attribute names plus values; a number about one byte per
two digits plus one). On-demand
tables bill read request units by the same rule.

Backends:

* ``moto``: the template's table (``entraide_local.provision``) in moto's in-process
  ``mock_aws``, items written with ``batch_write_item``. moto answers a Query on an index
  by walking every item of the table, so its *times* grow with N even where the items
  read stay flat; real DynamoDB reads only what the Query asks.
* ``memory``: an in-memory stand-in for the DynamoDB client (``MemoryDynamo``): indexes
  kept per partition in sort-key order, ``=``/``begins_with``/``BETWEEN`` key conditions,
  ``Limit``, 1 MB pages, ``LastEvaluatedKey``. Its times show how the search scales when a
  Query costs what it reads. Where both backends run, their requests and items read
  must be equal (checked).

The default run takes a few minutes, nearly all of it moto at 100,000 posts (loading
about 2 minutes per case); ``--moto-max 10000`` (what ``make bench`` runs) leaves that size
to the memory backend.

    .venv/bin/python bench/geomatch_scaling.py [--sizes 1000,10000,100000]
                     [--cases spread,disaster,communes] [--backends moto,memory]
                     [--moto-max 100000] [--repeat 5] [--seed 2026]
"""

from __future__ import annotations

import argparse
import bisect
import math
import random
import re
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from _moto import moto_environment

from entraide.adapters.table import INDEX_KEYS, Table
from entraide.intake.post_store import (
    CELL_PRECISION,
    PostStore,
    near_keys,
    post_to_item,
)
from entraide.kernel.geo import geohash, haversine_km
from entraide.kernel.model import Category, Contact, Kind, Post, PostStatus
from entraide.matching.counterparts import compatible_categories, counterpart_kind
from entraide.matching.nearby import NearbySearch, Page
from entraide.matching.public import PAGE_SIZE
from entraide.matching.zorder import covering_cells, destination_point

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
ACTIVATION_ID = "A1"
CENTRE = (43.20938, 2.34399)  # Carcassonne (11000)
RADIUS_KM = 20.0
MATCH_LIMIT = 50
PAGES = 10
LOCAL_POSTS = 600
LOCAL_SPREAD_KM = 40.0
DISASTER_KM = 40.0
ELSEWHERE_SPREAD_KM = 30.0
# (département, centre) of the posts that grow the table away from the query point.
ELSEWHERE: tuple[tuple[str, tuple[float, float]], ...] = (
    ("66", (42.6986, 2.8956)),  # Perpignan
    ("34", (43.6108, 3.8767)),  # Montpellier
    ("30", (43.8367, 4.3601)),  # Nîmes
    ("81", (43.9289, 2.1464)),  # Albi
    ("31", (43.6047, 1.4442)),  # Toulouse
    ("09", (42.9653, 1.6079)),  # Foix
    ("12", (44.3506, 2.5750)),  # Rodez
)
SEARCHER = Post(
    id="SEARCHER",
    kind=Kind.NEED,
    category=Category.HEBERGEMENT,
    title="Besoin d'un toit",
    description="Maison inondée.",
    postcode="11000",
    commune="Carcassonne",
    insee="11069",
    departement="11",
    lat=CENTRE[0],
    lon=CENTRE[1],
    geohash=geohash(*CENTRE),
    activation_id=ACTIVATION_ID,
    status=PostStatus.APPROVED,
    created_at=NOW,
)

Item = dict[str, Any]
Raw = dict[str, dict[str, Any]]  # an item in DynamoDB's wire format


# --- the posts ------------------------------------------------------------------------


def _random_point(
    rng: random.Random, centre: tuple[float, float], spread_km: float
) -> tuple[float, float]:
    """A point uniformly spread over the disc of ``spread_km`` around ``centre``."""
    lat, lon = destination_point(
        *centre, rng.uniform(0.0, 360.0), spread_km * math.sqrt(rng.random())
    )
    return round(lat, 5), round(lon, 5)  # the 5 decimals of the postal-code table


def _post(number: int, rng: random.Random, departement: str, lat: float, lon: float) -> Post:
    created = NOW - timedelta(minutes=rng.randrange(0, 14 * 24 * 60))
    return Post(
        id=f"P{number:07d}",
        kind=rng.choice((Kind.NEED, Kind.OFFER)),
        category=rng.choice(list(Category)),
        title=f"Annonce {number}",
        description="Annonce générée pour le banc d'essai.",
        postcode=f"{departement}000",
        commune=f"Commune {number}",
        insee=f"{departement}001",
        departement=departement,
        lat=lat,
        lon=lon,
        geohash=geohash(lat, lon),
        activation_id=ACTIVATION_ID,
        status=PostStatus.APPROVED,
        created_at=created,
        version=2,
        decided_by="moderateur@example.org",
        decided_at=created + timedelta(minutes=30),
    )


def approved_item(post: Post) -> Item:
    """The post item as it stands after ``PostStore.transition(..., APPROVED)``."""
    return {**post_to_item(post), **near_keys(post)}


def spread_posts(size: int, seed: int) -> Iterator[Post]:
    """``LOCAL_POSTS`` posts around the centre (the same for every size), then the rest
    away from it, never in a 20 km cell around it."""
    local = min(size, LOCAL_POSTS)
    rng = random.Random(seed)
    for number in range(local):
        yield _post(number, rng, "11", *_random_point(rng, CENTRE, LOCAL_SPREAD_KM))
    near_cells = set(covering_cells(*CENTRE, RADIUS_KM))
    rng = random.Random(seed + 1)
    for number in range(local, size):
        while True:
            departement, centre = rng.choice(ELSEWHERE)
            point = _random_point(rng, centre, ELSEWHERE_SPREAD_KM)
            if geohash(*point)[:CELL_PRECISION] not in near_cells:
                break
        yield _post(number, rng, departement, *point)


def disaster_posts(size: int, seed: int) -> Iterator[Post]:
    """Every post within ``DISASTER_KM`` of the centre."""
    rng = random.Random(seed)
    for number in range(size):
        yield _post(number, rng, "11", *_random_point(rng, CENTRE, DISASTER_KM))


def commune_posts(size: int, seed: int) -> Iterator[Post]:
    """Every post at the centroid of a commune within ``DISASTER_KM`` of the centre."""
    from entraide.kernel.postcodes import NoCoordinates, PostcodeDirectory

    directory = PostcodeDirectory.default()
    found: set[tuple[str, float, float]] = set()
    for postcode in directory.postcodes():
        try:
            communes = directory.communes(postcode)
        except NoCoordinates:
            continue
        found |= {
            (place.departement, place.lat, place.lon)
            for place in communes
            if haversine_km(*CENTRE, place.lat, place.lon) <= DISASTER_KM
        }
    places = sorted(found)
    rng = random.Random(seed)
    for number in range(size):
        departement, lat, lon = rng.choice(places)
        yield _post(number, rng, departement, lat, lon)


CASES: dict[str, Callable[[int, int], Iterator[Post]]] = {
    "spread": spread_posts,
    "disaster": disaster_posts,
    "communes": commune_posts,
}


def _serialise(item: Mapping[str, Any]) -> Raw:
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    return {key: serializer.serialize(value) for key, value in item.items()}


# --- read units -----------------------------------------------------------------------

READ_UNIT_BYTES = 4096


def item_size(raw: Raw) -> int:
    """DynamoDB's item size (CapacityUnitCalculations.html): names plus values; a number
    one byte per two significant digits plus one; a list or map 3 bytes plus one per
    element."""
    return sum(len(name.encode("utf-8")) + _value_size(value) for name, value in raw.items())


def _value_size(value: Mapping[str, Any]) -> int:
    [(kind, content)] = value.items()
    if kind == "S":
        return len(str(content).encode("utf-8"))
    if kind == "N":
        digits = str(content).lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + _value_size(element) for element in content)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + _value_size(v) for k, v in content.items())
    return len(str(content))


def read_units(size: int, *, consistent: bool) -> float:
    """Read units of one read of ``size`` bytes: rounded up to 4 KB, half a unit per 4 KB
    when eventually consistent; half a unit at least, even for nothing."""
    blocks = max(1, math.ceil(size / READ_UNIT_BYTES))
    return blocks * (1.0 if consistent else 0.5)


def _cached_size(sizes: dict[tuple[str, str], int], raw: Raw) -> int:
    key = (raw["pk"]["S"], raw["sk"]["S"])
    size = sizes.get(key)
    if size is None:
        size = sizes[key] = item_size(raw)
    return size


class MeteredClient:
    """A DynamoDB client that counts what each read would be billed (item sizes are
    computed once per item: the metering must not slow down the search it measures)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._sizes: dict[tuple[str, str], int] = {}
        self.read_units = 0.0
        self.requests = 0

    def reset(self) -> None:
        self.read_units = 0.0
        self.requests = 0

    def query(self, **request: Any) -> dict[str, Any]:
        response: dict[str, Any] = self._client.query(**request)
        consistent = bool(request.get("ConsistentRead")) and "IndexName" not in request
        size = sum(_cached_size(self._sizes, raw) for raw in response.get("Items", []))
        self.read_units += read_units(size, consistent=consistent)
        self.requests += 1
        return response

    def get_item(self, **request: Any) -> dict[str, Any]:
        response: dict[str, Any] = self._client.get_item(**request)
        raw = response.get("Item")
        size = item_size(raw) if raw else 0
        self.read_units += read_units(size, consistent=bool(request.get("ConsistentRead")))
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


# --- an in-memory DynamoDB client ---------------------------------------------------------

PAGE_BYTES = 1024 * 1024
_KEY_CONDITION = re.compile(
    r"^\s*(?P<pk>#?\w+)\s*=\s*(?P<pkv>:\w+)"
    r"(?:\s+AND\s+(?:begins_with\(\s*(?P<bsk>#?\w+)\s*,\s*(?P<bv>:\w+)\s*\)"
    r"|(?P<rsk>#?\w+)\s+BETWEEN\s+(?P<lo>:\w+)\s+AND\s+(?P<hi>:\w+)))?\s*$",
    re.IGNORECASE,
)
_FILTER = re.compile(r"^\s*begins_with\(\s*(?P<name>#?\w+)\s*,\s*(?P<value>:\w+)\s*\)\s*$")
_TABLE_KEYS = ("pk", "sk")

# (sort key, pk, sk): an entry of an index partition, in DynamoDB's order.
type _Entry = tuple[str, str, str]


class MemoryDynamo:
    """The part of a boto3 DynamoDB client that the search and this bench use.

    One table with key (pk, sk) and the indexes of ``INDEX_KEYS``, sparse like
    DynamoDB's: an item is in an index when it has both of its key attributes. A Query
    reads only the partition asked, in sort-key order, from ``ExclusiveStartKey`` on, up
    to ``Limit`` items or 1 MB, and reports ``Count``/``ScannedCount``.
    """

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name
        self._items: dict[tuple[str, str], Raw] = {}
        self._sizes: dict[tuple[str, str], int] = {}
        self._indexes: dict[str, dict[str, list[_Entry]]] = {
            name: defaultdict(list) for name in (*INDEX_KEYS, "")
        }

    def _keys(self, index: str) -> tuple[str, str]:
        return INDEX_KEYS[index] if index else _TABLE_KEYS

    def _index(self, raw: Raw, add: bool) -> None:
        key = (raw["pk"]["S"], raw["sk"]["S"])
        for index, partitions in self._indexes.items():
            partition, sort = self._keys(index)
            if partition in raw and sort in raw:
                entries = partitions[raw[partition]["S"]]
                entry = (raw[sort]["S"], *key)
                if add:
                    bisect.insort(entries, entry)
                else:
                    del entries[bisect.bisect_left(entries, entry)]

    def _put(self, raw: Raw) -> None:
        old = self._items.get((raw["pk"]["S"], raw["sk"]["S"]))
        if old is not None:
            self._index(old, add=False)
        self._items[(raw["pk"]["S"], raw["sk"]["S"])] = raw
        self._sizes[(raw["pk"]["S"], raw["sk"]["S"])] = item_size(raw)
        self._index(raw, add=True)

    def _check_table(self, name: str) -> None:
        if name != self.table_name:
            raise ValueError(f"no table {name!r}")

    def batch_write_item(self, RequestItems: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
        for name, requests in RequestItems.items():
            self._check_table(name)
            for request in requests:
                self._put(request["PutRequest"]["Item"])
        return {"UnprocessedItems": {}}

    def put_item(self, **request: Any) -> dict[str, Any]:
        self._check_table(request["TableName"])
        if "ConditionExpression" in request:
            raise NotImplementedError("MemoryDynamo: unconditional puts only")
        self._put(request["Item"])
        return {}

    def get_item(self, **request: Any) -> dict[str, Any]:
        self._check_table(request["TableName"])
        raw = self._items.get((request["Key"]["pk"]["S"], request["Key"]["sk"]["S"]))
        return {"Item": raw} if raw is not None else {}

    def query(self, **request: Any) -> dict[str, Any]:
        self._check_table(request["TableName"])
        index = request.get("IndexName", "")
        partition_name, sort_name = self._keys(index)
        match = _KEY_CONDITION.match(request["KeyConditionExpression"])
        if match is None:
            raise NotImplementedError(request["KeyConditionExpression"])
        names = request.get("ExpressionAttributeNames", {})
        values = request["ExpressionAttributeValues"]
        if names.get(match["pk"], match["pk"]) != partition_name:
            raise NotImplementedError(f"the partition key of {index or 'the table'}")
        low, high, prefix = "", None, ""
        if match["bsk"]:
            prefix = low = values[match["bv"]]["S"]
        elif match["rsk"]:
            low, high = values[match["lo"]]["S"], values[match["hi"]]["S"]
        for name in (match["bsk"], match["rsk"]):
            if name and names.get(name, name) != sort_name:
                raise NotImplementedError(f"the sort key of {index or 'the table'}")
        keep: Callable[[Raw], bool] = lambda raw: True  # noqa: E731
        if "FilterExpression" in request:
            found = _FILTER.match(request["FilterExpression"])
            if found is None:
                raise NotImplementedError(request["FilterExpression"])
            attribute = names.get(found["name"], found["name"])
            wanted = values[found["value"]]["S"]

            def keep(raw: Raw) -> bool:
                return attribute in raw and str(raw[attribute].get("S", "")).startswith(wanted)

        entries = self._indexes[index].get(values[match["pkv"]]["S"], [])
        start = request.get("ExclusiveStartKey")
        if start is not None:
            after = (start[sort_name]["S"], start["pk"]["S"], start["sk"]["S"])
            begin = bisect.bisect_right(entries, after)
        else:
            begin = bisect.bisect_left(entries, (low,))
        return self._page(
            entries,
            begin,
            lambda entry: entry[0].startswith(prefix) and (high is None or entry[0] <= high),
            keep,
            request.get("Limit"),
            lambda entry: {
                partition_name: {"S": values[match["pkv"]]["S"]},
                sort_name: {"S": entry[0]},
                "pk": {"S": entry[1]},
                "sk": {"S": entry[2]},
            },
        )

    def _page(
        self,
        entries: Sequence[_Entry],
        begin: int,
        within: Callable[[_Entry], bool],
        keep: Callable[[Raw], bool],
        limit: int | None,
        last_key: Callable[[_Entry], Raw],
    ) -> dict[str, Any]:
        items: list[Raw] = []
        scanned = size = 0
        last: _Entry | None = None
        more = False
        for position in range(begin, len(entries)):
            entry = entries[position]
            if not within(entry):
                break
            if (limit is not None and scanned >= limit) or size >= PAGE_BYTES:
                more = True
                break
            raw = self._items[(entry[1], entry[2])]
            scanned += 1
            size += self._sizes[(entry[1], entry[2])]
            last = entry
            if keep(raw):
                items.append(raw)
        response: dict[str, Any] = {"Items": items, "Count": len(items), "ScannedCount": scanned}
        if last is not None and (more or (limit is not None and scanned >= limit)):
            response["LastEvaluatedKey"] = last_key(last)
        return response

    def get_paginator(self, operation: str) -> Any:
        if operation != "query":
            raise NotImplementedError(operation)
        client = self

        class _Paginator:
            def paginate(self, **request: Any) -> Iterator[dict[str, Any]]:
                while True:
                    response = client.query(**request)
                    yield response
                    if "LastEvaluatedKey" not in response:
                        return
                    request = {**request, "ExclusiveStartKey": response["LastEvaluatedKey"]}

        return _Paginator()


# --- the queries ------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """A search as the platform runs it, and the same answer by brute force."""

    name: str
    kind: Kind | None
    categories: frozenset[Category] | None
    limit: int
    exclude: str | None

    def run(self, search: NearbySearch, cursor: str | None = None) -> Page:
        return search.search(
            lat=CENTRE[0],
            lon=CENTRE[1],
            radius_km=RADIUS_KM,
            activation_ids=(ACTIVATION_ID,),
            kind=self.kind,
            category=self.categories,
            limit=self.limit,
            cursor=cursor,
            exclude=self.exclude,
        )

    def expected(self, posts: Sequence[Post]) -> list[str]:
        """Every result, in order, from the generated posts."""
        hits = []
        for post in posts:
            if self.kind is not None and post.kind is not self.kind:
                continue
            if self.categories is not None and post.category not in self.categories:
                continue
            if post.id == self.exclude:
                continue
            distance = haversine_km(*CENTRE, post.lat, post.lon)
            if distance <= RADIUS_KM:
                hits.append((distance, post.created_at, post.id))
        return [post_id for _, _, post_id in sorted(hits)]


MATCH = Query(
    "match",
    counterpart_kind(SEARCHER.kind),
    compatible_categories(SEARCHER.category),
    MATCH_LIMIT,
    SEARCHER.id,
)
NEAR_ME = Query("near me", None, None, PAGE_SIZE, None)


@dataclass(frozen=True)
class Measure:
    requests: int
    items_read: int
    read_units: float
    seconds: float
    results: int


@dataclass(frozen=True)
class Row:
    case: str
    size: int
    backend: str
    load_seconds: float
    match: Measure
    first_page: Measure
    later_pages: list[Measure]


def _measure(client: MeteredClient, run: Callable[[], Page]) -> tuple[Page, Measure]:
    client.reset()
    started = time.perf_counter()
    page = run()
    seconds = time.perf_counter() - started
    return page, Measure(
        page.cells_read, page.items_read, client.read_units, seconds, len(page.items)
    )


def measure_match(
    search: NearbySearch, client: MeteredClient, posts: Sequence[Post], repeat: int
) -> Measure:
    """The match query: one warm-up run, then the median time of ``repeat``."""
    MATCH.run(search)  # warm-up, not timed: imports, first client calls
    runs = [_measure(client, lambda: MATCH.run(search)) for _ in range(repeat)]
    page, measure = runs[-1]
    if [hit.post.id for hit in page.items] != MATCH.expected(posts)[:MATCH_LIMIT]:
        raise AssertionError("match query: the answer differs from the brute-force one")
    return replace(measure, seconds=statistics.median(m.seconds for _, m in runs))


def measure_pages(
    search: NearbySearch, client: MeteredClient, posts: Sequence[Post]
) -> list[Measure]:
    """Pages 1 to ``PAGES`` of the near-me search, each following the previous cursor."""
    expected = NEAR_ME.expected(posts)
    measures: list[Measure] = []
    shown: list[str] = []
    cursor: str | None = None
    for _ in range(PAGES):
        page, measure = _measure(client, partial(NEAR_ME.run, search, cursor))
        measures.append(measure)
        shown += [hit.post.id for hit in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    if shown != expected[: len(shown)] or (cursor is None and len(shown) != len(expected)):
        raise AssertionError("near-me pages: the answer differs from the brute-force one")
    return measures


# --- backends ---------------------------------------------------------------------------


def _fill(client: Any, table_name: str, posts: Sequence[Post]) -> None:
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        pending: Mapping[str, Sequence[Any]] = {table_name: batch}
        while pending:
            response = client.batch_write_item(RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}

    for post in posts:
        batch.append({"PutRequest": {"Item": _serialise(approved_item(post))}})
        if len(batch) == 25:
            flush()
            batch = []
    if batch:
        flush()


def _run(table: Table, case: str, size: int, backend: str, seed: int, repeat: int) -> Row:
    client = table.client
    posts = list(CASES[case](size, seed))
    started = time.perf_counter()
    _fill(client, table.table_name, posts)
    load = time.perf_counter() - started
    store = PostStore(table)
    # every post carries the place keys: record it, as the first scheduled run would
    store.move_legacy_cells(now=NOW, out_of_time=lambda: False)
    metered = MeteredClient(client)
    search = NearbySearch(PostStore(Table(table.table_name, client=metered)))
    match = measure_match(search, metered, posts, repeat)
    pages = measure_pages(search, metered, posts)
    return Row(case, size, backend, load, match, pages[0], pages[1:])


def run_memory(case: str, size: int, seed: int, repeat: int) -> Row:
    table = Table("entraide-bench", client=MemoryDynamo("entraide-bench"))
    return _run(table, case, size, "memory", seed, repeat)


def run_moto(case: str, size: int, seed: int, repeat: int) -> Row:
    import boto3
    from moto import mock_aws

    from entraide_local.provision import provision

    moto_environment()
    with mock_aws():
        deployment = provision(ROOT / "template.yaml", boto3.Session())
        table = Table(deployment.outputs["TableName"], client=boto3.client("dynamodb"))
        check_item_shape(table)
        return _run(table, case, size, "moto", seed, repeat)


def check_item_shape(table: Table) -> None:
    """The items written directly are those the real approval path writes (then removed)."""
    post = _post(9_999_999, random.Random(0), "11", *CENTRE)
    pending = replace(post, status=PostStatus.PENDING, version=1, decided_by=None, decided_at=None)
    from entraide.privacy.pseudonyms import Pseudonyms
    from entraide.privacy.retention import Retention

    pseudonyms = Pseudonyms(lambda: [b"bench-pseudonym-key-of-32-bytes!"])
    posts = PostStore(table, pseudonyms=pseudonyms, retention=Retention())
    posts.create_post(pending, Contact("banc@example.org"))
    approved = posts.transition(
        pending, PostStatus.APPROVED, at=post.decided_at or NOW, by=post.decided_by or ""
    )
    key = {"pk": f"POST#{post.id}", "sk": "POST"}
    stored = table.get(key)
    expected = approved_item(approved)
    if stored != expected:
        raise AssertionError(f"bench item shape differs: {stored} != {expected}")
    # the table was empty: every item there is the check's (post, contact, history)
    for raw in table.client.scan(TableName=table.table_name)["Items"]:
        key_of = {name: raw[name] for name in ("pk", "sk")}
        table.client.delete_item(TableName=table.table_name, Key=key_of)


# --- output -----------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def _cells(measure: Measure) -> tuple[str, ...]:
    return (
        str(measure.results),
        f"{measure.requests:,}",
        f"{measure.items_read:,}",
        f"{measure.read_units:,.1f}",
        _ms(measure.seconds),
    )


def _worst(measures: Sequence[Measure]) -> Measure:
    return Measure(
        max(m.requests for m in measures),
        max(m.items_read for m in measures),
        max(m.read_units for m in measures),
        max(m.seconds for m in measures),
        min(m.results for m in measures),
    )


def _mean(measures: Sequence[Measure]) -> tuple[str, ...]:
    return (
        "",
        f"{statistics.mean(m.requests for m in measures):,.1f}",
        f"{statistics.mean(m.items_read for m in measures):,.1f}",
        f"{statistics.mean(m.read_units for m in measures):,.1f}",
        _ms(statistics.mean(m.seconds for m in measures)),
    )


def print_table(rows: Sequence[Row]) -> None:
    header = ("case", "posts", "backend", "query", "results", "requests", "items read",
              "read units", "time")  # fmt: skip
    lines: list[tuple[str, ...]] = []
    for row in rows:
        head = (row.case, f"{row.size:,}", row.backend)
        lines.append((*head, "match (50)", *_cells(row.match)))
        lines.append((*head, "page 1", *_cells(row.first_page)))
        if row.later_pages:
            count = len(row.later_pages) + 1
            lines.append((*head, f"pages 2-{count} worst", *_cells(_worst(row.later_pages))))
            lines.append((*head, f"pages 2-{count} mean", *_mean(row.later_pages)))
    widths = [max(len(cell) for cell in column) for column in zip(header, *lines, strict=True)]
    print(" | ".join(title.ljust(width) for title, width in zip(header, widths, strict=True)))
    print("-+-".join("-" * width for width in widths))
    for line in lines:
        print(" | ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))


def check_backends_agree(rows: Sequence[Row]) -> None:
    """Where moto and the memory stand-in both ran, they must have read the same."""
    by_run: dict[tuple[str, int], dict[str, Row]] = defaultdict(dict)
    for row in rows:
        by_run[(row.case, row.size)][row.backend] = row
    for (case, size), backends in by_run.items():
        if {"moto", "memory"} <= set(backends):
            moto, memory = backends["moto"], backends["memory"]
            for name in ("match", "first_page"):
                a, b = getattr(moto, name), getattr(memory, name)
                if (a.requests, a.items_read, a.read_units) != (
                    b.requests,
                    b.items_read,
                    b.read_units,
                ):
                    raise AssertionError(f"{case} {size}: moto and memory read differently")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--cases", default="spread,disaster,communes")
    parser.add_argument("--backends", default="moto,memory")
    parser.add_argument(
        "--moto-max", type=int, default=100_000, help="largest size run on moto (it is slow)"
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    sizes = [int(size.replace("_", "")) for size in args.sizes.split(",") if size]
    cases = [name.strip() for name in args.cases.split(",") if name.strip()]
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    if set(backends) - {"moto", "memory"} or set(cases) - set(CASES):
        parser.error("unknown backend or case")

    print(
        f"Match query: offers compatible with a need at Carcassonne, {RADIUS_KM:g} km, "
        f"{MATCH_LIMIT} at most. Near-me pages: everything within {RADIUS_KM:g} km, "
        f"{PAGE_SIZE} per page. spread: {LOCAL_POSTS} posts within {LOCAL_SPREAD_KM:g} km, "
        f"the rest elsewhere; disaster: every post within {DISASTER_KM:g} km; communes: "
        "the same at commune centroids.",
        flush=True,
    )
    rows: list[Row] = []
    for case in cases:
        for size in sizes:
            for backend in backends:
                if backend == "moto" and size > args.moto_max:
                    print(f"  {case}, {size:,} posts on moto: skipped (--moto-max)")
                    continue
                print(f"  {case}, {size:,} posts on {backend}...", file=sys.stderr, flush=True)
                run = run_moto if backend == "moto" else run_memory
                rows.append(run(case, size, args.seed, args.repeat))
    print()
    print_table(rows)
    check_backends_agree(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
