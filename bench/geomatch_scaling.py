"""Geomatch cost as the table grows: the by_cell index query against a naive Scan.

For each size N (1,000 / 10,000 / 100,000 approved posts) a table is filled with posts in
their final approved shape (``store.post_to_item`` plus the by_cell keys that
``Table.transition`` writes), spread over a few départements of one activation:

* the same ``LOCAL_POSTS`` posts (seeded) within 40 km of Carcassonne, whatever N: the
  density around the query point stays constant;
* N - ``LOCAL_POSTS`` posts elsewhere (Perpignan, Montpellier, Nîmes, Albi, Toulouse,
  Foix, Rodez), never in a cell that the query reads: the table grows away from the point.

Then the match query of a need at Carcassonne (offers of a compatible category within
20 km, nearest first, 50 at most: what ``matching.find_counterparts`` asks) runs through
``NearbySearch`` (one Query per covering cell of the by_cell index), and the same answer
is computed by a naive Scan of the whole table filtered in code. Both answers must be
equal. The table prints, per size and backend: posts in the table, items read and time of
the index query (median of ``--repeat`` runs), items read and time of the Scan.

Backends:

* ``moto``: the template's table (``entraide_local.provision``) in moto's in-process
  ``mock_aws``, items written with ``batch_write_item``. Moto answers a Query on a GSI by
  walking every item of the table, so its index-query *time* grows with N even though the
  items read (``ScannedCount``) stay flat; real DynamoDB reads only the partitions asked.
* ``memory``: an in-memory stand-in for the DynamoDB client (``MemoryDynamo``) with the
  same Query and Scan semantics as far as this code uses them: the index is kept per
  partition and sorted by sort key, ``begins_with`` on the sort key, 1 MB pages with
  ``LastEvaluatedKey``/``ExclusiveStartKey``, ``Count``/``ScannedCount``. Its times show
  how the two access patterns scale when a Query costs what it reads.

The default run takes 7 to 8 minutes, nearly all of it moto at 100,000 posts (loading
1.5 to 2 minutes, the Scan about 4); ``--moto-max 10000`` leaves that row to the memory
backend and finishes in about a minute.

Absolute times are those of this machine and of the backend, not of DynamoDB over the
network; the item counts are what DynamoDB would read (and bill).

    .venv/bin/python bench/geomatch_scaling.py [--sizes 1000,10000,100000]
                     [--backends moto,memory] [--moto-max 100000] [--repeat 5] [--seed 2026]
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
from pathlib import Path
from typing import Any

from _moto import moto_environment

from entraide.adapters.table import BY_CELL, Table
from entraide.intake.post_store import CELL_PRECISION, PostStore, cell_key, post_to_item
from entraide.kernel.geo import geohash, haversine_km
from entraide.kernel.model import Category, Kind, Post, PostStatus
from entraide.matching.counterparts import compatible_categories, counterpart_kind
from entraide.matching.nearby import (
    NearbyPost,
    NearbySearch,
    Page,
    covering_cells,
    destination_point,
)

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
ACTIVATION_ID = "A1"
CENTRE = (43.20938, 2.34399)  # Carcassonne (11000)
RADIUS_KM = 20.0
MATCH_LIMIT = 50
LOCAL_POSTS = 600
LOCAL_SPREAD_KM = 40.0
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
    """The post item as it stands after ``Table.transition(..., APPROVED)``."""
    item = post_to_item(post)
    item["gsi3pk"] = cell_key(post.activation_id, post.geohash)
    item["gsi3sk"] = f"{item['kind']}#{item['created_at']}#{item['id']}"
    return item


def generate_posts(size: int, seed: int) -> Iterator[Post]:
    """``LOCAL_POSTS`` posts around the centre (the same for every size), then the rest."""
    local = min(size, LOCAL_POSTS)
    rng = random.Random(seed)
    for number in range(local):
        yield _post(number, rng, "11", *_random_point(rng, CENTRE, LOCAL_SPREAD_KM))
    read_cells = set(covering_cells(*CENTRE, RADIUS_KM))
    rng = random.Random(seed + 1)
    for number in range(local, size):
        while True:
            departement, centre = rng.choice(ELSEWHERE)
            point = _random_point(rng, centre, ELSEWHERE_SPREAD_KM)
            if geohash(*point)[:CELL_PRECISION] not in read_cells:
                break
        yield _post(number, rng, departement, *point)


def _serialise(item: Mapping[str, Any]) -> Raw:
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    return {key: serializer.serialize(value) for key, value in item.items()}


def _deserialise(raw: Mapping[str, Any]) -> Item:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {key: deserializer.deserialize(value) for key, value in raw.items()}


# --- an in-memory DynamoDB client (Query on by_cell, Scan) ----------------------------

PAGE_BYTES = 1024 * 1024
_KEY_CONDITION = re.compile(
    r"^\s*(?P<pk>#?\w+)\s*=\s*(?P<pkv>:\w+)"
    r"(?:\s+AND\s+begins_with\(\s*(?P<sk>#?\w+)\s*,\s*(?P<skv>:\w+)\s*\))?\s*$",
    re.IGNORECASE,
)


def _item_size(raw: Raw) -> int:
    """DynamoDB's item size, near enough: names plus values (numbers about half their digits)."""
    size = 0
    for name, value in raw.items():
        size += len(name.encode("utf-8"))
        [(kind, content)] = value.items()
        if kind == "S":
            size += len(str(content).encode("utf-8"))
        elif kind == "N":
            size += len(str(content)) // 2 + 1
        elif kind == "L":
            size += 3 + sum(_item_size({"": element}) for element in content)
        else:
            size += len(str(content))
    return size


@dataclass(frozen=True)
class _Stored:
    raw: Raw
    size: int


class MemoryDynamo:
    """The part of a boto3 DynamoDB client that the search and this bench use.

    One table with key (pk, sk) and the GSI ``by_cell`` (gsi3pk, gsi3sk), sparse like
    DynamoDB's: an item is indexed only when it has both attributes. Query reads only the
    partition asked, in sort-key order; Scan reads everything in key order. Both page at
    1 MB (or ``Limit``) and report ``Count`` and ``ScannedCount`` (no FilterExpression).
    """

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name
        self._items: dict[tuple[str, str], _Stored] = {}
        self._index: dict[str, dict[tuple[str, str, str], _Stored]] = defaultdict(dict)
        self._sorted: dict[str, list[tuple[str, str, str]]] = {}

    def batch_write_item(self, RequestItems: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
        for name, requests in RequestItems.items():
            self._check_table(name)
            for request in requests:
                self._put(request["PutRequest"]["Item"])
        return {"UnprocessedItems": {}}

    def _put(self, raw: Raw) -> None:
        key = (raw["pk"]["S"], raw["sk"]["S"])
        stored = _Stored(raw=raw, size=_item_size(raw))
        old = self._items.get(key)
        if old is not None and "gsi3pk" in old.raw and "gsi3sk" in old.raw:
            self._index[old.raw["gsi3pk"]["S"]].pop((old.raw["gsi3sk"]["S"], *key), None)
            self._sorted.pop(old.raw["gsi3pk"]["S"], None)
        self._items[key] = stored
        if "gsi3pk" in raw and "gsi3sk" in raw:
            partition = raw["gsi3pk"]["S"]
            self._index[partition][(raw["gsi3sk"]["S"], *key)] = stored
            self._sorted.pop(partition, None)

    def _check_table(self, name: str) -> None:
        if name != self.table_name:
            raise ValueError(f"no table {name!r}")

    def query(self, **request: Any) -> dict[str, Any]:
        self._check_table(request["TableName"])
        if request.get("IndexName") != BY_CELL or "FilterExpression" in request:
            raise NotImplementedError("MemoryDynamo: Query on by_cell, without filter, only")
        match = _KEY_CONDITION.match(request["KeyConditionExpression"])
        if match is None:
            raise NotImplementedError(request["KeyConditionExpression"])
        names = request.get("ExpressionAttributeNames", {})
        values = request["ExpressionAttributeValues"]
        if names.get(match["pk"], match["pk"]) != "gsi3pk":
            raise NotImplementedError("the partition key of by_cell is gsi3pk")
        partition = values[match["pkv"]]["S"]
        prefix = ""
        if match["sk"]:
            if names.get(match["sk"], match["sk"]) != "gsi3sk":
                raise NotImplementedError("the sort key of by_cell is gsi3sk")
            prefix = values[match["skv"]]["S"]
        entries = self._index.get(partition, {})
        order = self._sorted.get(partition)
        if order is None:
            order = self._sorted[partition] = sorted(entries)
        start = request.get("ExclusiveStartKey")
        if start is not None:
            after = (start["gsi3sk"]["S"], start["pk"]["S"], start["sk"]["S"])
            begin = bisect.bisect_right(order, after)
        else:
            begin = bisect.bisect_left(order, (prefix,))
        keys = _take_while_prefix(order, begin, prefix)
        return self._page(
            ((key, entries[key]) for key in keys),
            limit=request.get("Limit"),
            last_key=lambda key: {
                "gsi3pk": {"S": partition},
                "gsi3sk": {"S": key[0]},
                "pk": {"S": key[1]},
                "sk": {"S": key[2]},
            },
        )

    def scan(self, **request: Any) -> dict[str, Any]:
        self._check_table(request["TableName"])
        if "FilterExpression" in request or "IndexName" in request:
            raise NotImplementedError("MemoryDynamo: Scan of the table, without filter, only")
        order = sorted(self._items)
        start = request.get("ExclusiveStartKey")
        begin = 0
        if start is not None:
            begin = bisect.bisect_right(order, (start["pk"]["S"], start["sk"]["S"]))
        return self._page(
            ((key, self._items[key]) for key in order[begin:]),
            limit=request.get("Limit"),
            last_key=lambda key: {"pk": {"S": key[0]}, "sk": {"S": key[1]}},
        )

    @staticmethod
    def _page(
        entries: Iterator[tuple[Any, _Stored]],
        *,
        limit: int | None,
        last_key: Callable[[Any], Raw],
    ) -> dict[str, Any]:
        items: list[Raw] = []
        size = 0
        last: Any = None
        more = False
        for key, stored in entries:
            if (limit is not None and len(items) >= limit) or size >= PAGE_BYTES:
                more = True
                break
            items.append(stored.raw)
            size += stored.size
            last = key
        response: dict[str, Any] = {"Items": items, "Count": len(items), "ScannedCount": len(items)}
        if more and last is not None:
            response["LastEvaluatedKey"] = last_key(last)
        return response


def _take_while_prefix(
    order: Sequence[tuple[str, str, str]], begin: int, prefix: str
) -> Iterator[tuple[str, str, str]]:
    """Sort keys from ``begin`` on that start with ``prefix`` (they are contiguous)."""
    position = begin
    while position < len(order) and order[position][0] < prefix:
        position += 1
    while position < len(order) and order[position][0].startswith(prefix):
        yield order[position]
        position += 1


# --- the two ways of answering --------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    items_read: int
    seconds: float
    answer: tuple[str, ...]
    cells: int = 0


def index_query(table: Table, repeat: int) -> Measure:
    """The match query through NearbySearch: one warm-up run, then the median of ``repeat``."""
    search = NearbySearch(PostStore(table))

    def run() -> Page:
        return search.search(
            lat=SEARCHER.lat,
            lon=SEARCHER.lon,
            radius_km=RADIUS_KM,
            activation_ids=(SEARCHER.activation_id,),
            kind=counterpart_kind(SEARCHER.kind),
            category=compatible_categories(SEARCHER.category),
            limit=MATCH_LIMIT,
            exclude=SEARCHER.id,
        )

    page = run()  # warm-up, not timed: imports, first client call
    times: list[float] = []
    for _ in range(repeat):
        started = time.perf_counter()
        page = run()
        times.append(time.perf_counter() - started)
    return Measure(
        items_read=page.items_read,
        seconds=statistics.median(times),
        answer=tuple(found.post.id for found in page.items),
        cells=page.cells_read,
    )


def naive_scan(table: Table) -> Measure:
    """The same answer from a Scan of the whole table, filtered and sorted in code."""
    from entraide.intake.post_store import post_from_item

    started = time.perf_counter()
    wanted_kind = counterpart_kind(SEARCHER.kind).value
    wanted_categories = compatible_categories(SEARCHER.category)
    request: dict[str, Any] = {"TableName": table.table_name}
    read = 0
    hits: list[NearbyPost] = []
    while True:
        response = table.client.scan(**request)
        read += int(response.get("ScannedCount", len(response["Items"])))
        for raw in response["Items"]:
            item = _deserialise(raw)
            if (
                item.get("entity") != "post"
                or item.get("status") != PostStatus.APPROVED.value
                or item.get("activation_id") != SEARCHER.activation_id
                or item.get("kind") != wanted_kind
                or item.get("category") not in wanted_categories
                or item.get("id") == SEARCHER.id
            ):
                continue
            distance = haversine_km(
                SEARCHER.lat, SEARCHER.lon, float(item["lat"]), float(item["lon"])
            )
            if distance <= RADIUS_KM:
                hits.append(NearbyPost(post_from_item(item), distance))
        last = response.get("LastEvaluatedKey")
        if not last:
            break
        request["ExclusiveStartKey"] = last
    hits.sort(key=lambda hit: (hit.distance_km, hit.post.created_at, hit.post.id))
    seconds = time.perf_counter() - started
    return Measure(
        items_read=read,
        seconds=seconds,
        answer=tuple(hit.post.id for hit in hits[:MATCH_LIMIT]),
    )


# --- backends ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    size: int
    backend: str
    load_seconds: float
    index: Measure
    scan: Measure


def _fill(client: Any, table_name: str, posts: Iterator[Post]) -> None:
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


def _measure(table: Table, size: int, backend: str, seed: int, repeat: int) -> Row:
    started = time.perf_counter()
    _fill(table.client, table.table_name, generate_posts(size, seed))
    load = time.perf_counter() - started
    index = index_query(table, repeat)
    scan = naive_scan(table)
    if index.answer != scan.answer:
        raise AssertionError(f"{backend}, {size} posts: the index and the Scan disagree")
    return Row(size, backend, load, index, scan)


def run_memory(size: int, seed: int, repeat: int) -> Row:
    table = Table("entraide-bench", client=MemoryDynamo("entraide-bench"))
    return _measure(table, size, "memory", seed, repeat)


def run_moto(size: int, seed: int, repeat: int) -> Row:
    import boto3
    from moto import mock_aws

    from entraide_local.provision import provision

    moto_environment()
    with mock_aws():
        deployment = provision(ROOT / "template.yaml", boto3.Session())
        table = Table(deployment.outputs["TableName"], client=boto3.client("dynamodb"))
        check_item_shape(table)
        return _measure(table, size, "moto", seed, repeat)


def check_item_shape(table: Table) -> None:
    """The items written directly are those the real approval path writes (then removed)."""
    from entraide.kernel.model import Contact

    post = _post(9_999_999, random.Random(0), "11", *CENTRE)
    pending = replace(post, status=PostStatus.PENDING, version=1, decided_by=None, decided_at=None)
    posts = PostStore(table)
    posts.create_post(pending, Contact("banc@example.org"))
    approved = posts.transition(
        pending, PostStatus.APPROVED, at=post.decided_at or NOW, by=post.decided_by or ""
    )
    key = {"pk": {"S": f"POST#{post.id}"}, "sk": {"S": "POST"}}
    stored = _deserialise(table.client.get_item(TableName=table.table_name, Key=key)["Item"])
    expected = approved_item(approved)
    if stored != expected:
        raise AssertionError(f"bench item shape differs: {stored} != {expected}")
    table.client.delete_item(TableName=table.table_name, Key=key)
    table.client.delete_item(
        TableName=table.table_name, Key={"pk": key["pk"], "sk": {"S": "CONTACT"}}
    )
    # the poster-history item of the check stays out of the measures: remove it too
    from entraide.intake.post_store import poster_history_item

    history = poster_history_item(pending, Contact("banc@example.org"))
    table.client.delete_item(
        TableName=table.table_name,
        Key={"pk": {"S": history["pk"]}, "sk": {"S": history["sk"]}},
    )


# --- output -----------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def print_table(rows: Sequence[Row]) -> None:
    header = (
        "posts in table",
        "backend",
        "load",
        "cells",
        "index: items read",
        "index: time",
        "scan: items read",
        "scan: time",
        "matches",
    )
    lines = [
        (
            f"{row.size:,}",
            row.backend,
            _ms(row.load_seconds),
            str(row.index.cells),
            f"{row.index.items_read:,}",
            _ms(row.index.seconds),
            f"{row.scan.items_read:,}",
            _ms(row.scan.seconds),
            str(len(row.index.answer)),
        )
        for row in rows
    ]
    widths = [max(len(cell) for cell in column) for column in zip(header, *lines, strict=True)]
    print(" | ".join(title.ljust(width) for title, width in zip(header, widths, strict=True)))
    print("-+-".join("-" * width for width in widths))
    for line in lines:
        print(" | ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--backends", default="moto,memory")
    parser.add_argument(
        "--moto-max", type=int, default=100_000, help="largest size run on moto (it is slow)"
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    sizes = [int(size.replace("_", "")) for size in args.sizes.split(",") if size]
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    unknown = set(backends) - {"moto", "memory"}
    if unknown:
        parser.error(f"unknown backends: {', '.join(sorted(unknown))}")

    print(
        f"Match query: offers compatible with a need at Carcassonne, {RADIUS_KM:g} km, "
        f"{MATCH_LIMIT} at most; {LOCAL_POSTS} posts within {LOCAL_SPREAD_KM:g} km of it "
        "at every size, the rest elsewhere.",
        flush=True,
    )
    rows: list[Row] = []
    for size in sizes:
        for backend in backends:
            if backend == "moto" and size > args.moto_max:
                print(f"  {size:,} posts on moto: skipped (--moto-max {args.moto_max:,})")
                continue
            print(f"  {size:,} posts on {backend}...", file=sys.stderr, flush=True)
            run = run_moto if backend == "moto" else run_memory
            rows.append(run(size, args.seed, args.repeat))
    print()
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
