"""Near-me search where posts crowd: what it reads, and that it answers as reading all would.

The answer of every search here is compared with the brute-force one (every post, sorted
by distance, creation time and id); what the search read is compared with what reading
the whole area would cost.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import random
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from entraide.adapters.table import Table
from entraide.intake.post_store import PostStore, near_keys, post_to_item
from entraide.kernel.geo import geohash, haversine_km
from entraide.kernel.model import Category, Kind, Post, PostStatus
from entraide.matching.nearby import NearbySearch, Page
from entraide.matching.zorder import cells_meeting_circle, depth_for_radius, destination_point
from tests.factories import NOW, make_post

CARCASSONNE = (43.20938, 2.34399)
TREBES = (43.20546, 2.45954)


def approved(post_id: str, lat: float, lon: float, **changes: Any) -> Post:
    return make_post(
        id=post_id,
        lat=lat,
        lon=lon,
        geohash=geohash(lat, lon),
        status=PostStatus.APPROVED,
        **changes,
    )


def load(table: Table, posts: Iterable[Post]) -> None:
    """Approved posts as PostStore.transition leaves them, written in batches (the
    shape is checked against a real approval by test_a_loaded_post_is_an_approved_one)."""
    requests = [
        {"PutRequest": {"Item": Table.serialise({**post_to_item(post), **near_keys(post)})}}
        for post in posts
    ]
    for start in range(0, len(requests), 25):
        table.client.batch_write_item(RequestItems={table.table_name: requests[start : start + 25]})


def expected(
    posts: Sequence[Post],
    point: tuple[float, float],
    radius_km: float,
    kind: Kind | None = None,
    categories: frozenset[Category] | None = None,
) -> list[str]:
    hits = sorted(
        (haversine_km(*point, post.lat, post.lon), post.created_at, post.id)
        for post in posts
        if (kind is None or post.kind is kind)
        and (categories is None or post.category in categories)
        and haversine_km(*point, post.lat, post.lon) <= radius_km
    )
    return [post_id for _, _, post_id in hits]


def pages(search: NearbySearch, limit: int, **query: Any) -> list[Page]:
    found: list[Page] = []
    cursor = None
    while True:
        page = search.search(**query, limit=limit, cursor=cursor)
        found.append(page)
        cursor = page.next_cursor
        if cursor is None:
            return found


def crowd(count: int, within_km: float, *, seed: int = 7) -> list[Post]:
    """``count`` approved posts spread evenly within ``within_km`` of Carcassonne."""
    rng = random.Random(seed)
    made = []
    for number in range(count):
        lat, lon = destination_point(
            *CARCASSONNE, rng.uniform(0, 360), within_km * math.sqrt(rng.random())
        )
        made.append(
            approved(
                f"C{number:05d}",
                round(lat, 5),
                round(lon, 5),
                kind=rng.choice(list(Kind)),
                category=rng.choice(list(Category)),
                created_at=NOW - timedelta(minutes=rng.randrange(10_000)),
            )
        )
    return made


OFFERS_FOR_A_ROOF = frozenset({Category.HEBERGEMENT, Category.AUTRE})


def match_a_need_for_a_roof(search: NearbySearch) -> Page:
    """What matching asks for a need of a roof at Carcassonne: 50 offers at most."""
    return search.search(
        lat=CARCASSONNE[0], lon=CARCASSONNE[1], radius_km=20.0, activation_ids=["A1"],
        kind=Kind.OFFER, category=OFFERS_FOR_A_ROOF, limit=50,
    )  # fmt: skip


@pytest.fixture
def search(posts: PostStore) -> NearbySearch:
    posts.move_legacy_cells(now=NOW, out_of_time=lambda: False)  # no former keys left
    return NearbySearch(posts)


def test_a_loaded_post_is_an_approved_one(posts: PostStore, table: Table) -> None:
    post = make_post(id="REAL", lat=CARCASSONNE[0], lon=CARCASSONNE[1])
    from entraide.kernel.model import Contact

    posts.create_post(post, Contact("real@example.org"))
    real = posts.transition(post, PostStatus.APPROVED, at=NOW, by="mod@example.org")
    stored = table.get({"pk": "POST#REAL", "sk": "POST"})
    load(table, [real])
    assert table.get({"pk": "POST#REAL", "sk": "POST"}) == stored


def test_a_crowd_is_answered_by_reading_near_the_point_only(
    table: Table, search: NearbySearch
) -> None:
    # Given 4,000 approved posts within 5 km of Carcassonne
    everyone = crowd(4000, 5.0)
    load(table, everyone)

    # When a need for a roof is matched (50 offers at most) and a near-me page is asked
    match = match_a_need_for_a_roof(search)
    page = search.search(
        lat=CARCASSONNE[0], lon=CARCASSONNE[1], radius_km=20.0, activation_ids=["A1"], limit=20
    )

    # Then both answer what reading every post would...
    roofs = expected(everyone, CARCASSONNE, 20.0, Kind.OFFER, OFFERS_FOR_A_ROOF)
    assert [hit.post.id for hit in match.items] == roofs[:50]
    assert [hit.post.id for hit in page.items] == expected(everyone, CARCASSONNE, 20.0)[:20]
    # ...reading a few times what they show, not the crowd (571 offers, 4,000 posts)
    assert len(roofs) > 500
    assert match.items_read <= 200
    assert page.items_read <= 200


def test_pages_in_a_crowd_cost_alike_and_follow_each_other(
    table: Table, search: NearbySearch
) -> None:
    # Given 3,000 approved posts within 4 km of Carcassonne
    everyone = crowd(3000, 4.0, seed=11)
    load(table, everyone)

    # When someone reads ten pages of 20, each from the previous one's cursor
    shown: list[str] = []
    cursor = None
    costs = []
    for _ in range(10):
        page = search.search(
            lat=CARCASSONNE[0], lon=CARCASSONNE[1], radius_km=20.0, activation_ids=["A1"],
            limit=20, cursor=cursor,
        )  # fmt: skip
        shown += [hit.post.id for hit in page.items]
        costs.append(page.items_read)
        cursor = page.next_cursor

    # Then the pages follow each other as the whole sorted answer does
    assert shown == expected(everyone, CARCASSONNE, 20.0)[:200]
    # and a page does not read again what the pages before it showed: the ten pages
    # together read less than the crowd, and a later page about what the first did
    # (what straddles the last distance shown grows as the circle does)
    assert sum(costs) < len(everyone)
    assert costs[-1] <= 3 * costs[0]


def test_hundreds_of_posts_at_one_place_are_paged_without_reading_them_again(
    table: Table, search: NearbySearch
) -> None:
    # Given 300 posts at Carcassonne's centroid (its postal code's place) and 60 at Trèbes
    at_carcassonne = [
        approved(
            f"K{number:04d}",
            *CARCASSONNE,
            kind=list(Kind)[number % 2],
            created_at=NOW - timedelta(minutes=number % 97),
        )
        for number in range(300)
    ]
    at_trebes = [
        approved(f"T{number:04d}", *TREBES, created_at=NOW - timedelta(minutes=number))
        for number in range(60)
    ]
    load(table, at_carcassonne + at_trebes)

    # When a search from Carcassonne pages through all of them, 20 at a time
    found = pages(
        search, 20, lat=CARCASSONNE[0], lon=CARCASSONNE[1], radius_km=20.0, activation_ids=["A1"]
    )

    # Then they come oldest first at one place, Carcassonne's then Trèbes'
    everything = expected(at_carcassonne + at_trebes, CARCASSONNE, 20.0)
    assert [hit.post.id for page in found for hit in page.items] == everything
    assert len(found) == 18
    # and no page reads the posts of that place the pages before it showed
    assert max(page.items_read for page in found) <= 60


def test_a_match_at_a_crowded_place_reads_about_what_it_returns(
    table: Table, search: NearbySearch
) -> None:
    # Given 400 offers at Carcassonne's centroid, of every category
    offers = [
        approved(
            f"O{number:04d}",
            *CARCASSONNE,
            kind=Kind.OFFER,
            category=list(Category)[number % len(Category)],
            created_at=NOW - timedelta(seconds=number),
        )
        for number in range(400)
    ]
    load(table, offers)

    # When a need for a roof there is matched with 50 offers at most
    match = match_a_need_for_a_roof(search)

    # Then it gets the 50 oldest offers of those categories, reading few more
    assert [hit.post.id for hit in match.items] == expected(
        offers, CARCASSONNE, 20.0, Kind.OFFER, OFFERS_FOR_A_ROOF
    )[:50]
    assert match.items_read <= 80


# --- against brute force, whatever the posts --------------------------------------------

_activation = itertools.count()
PLACES = (CARCASSONNE, TREBES, (43.18396, 3.00141), (43.21, 2.35), (43.3, 2.2))


@st.composite
def scattered_posts(draw: st.DrawFn) -> list[Post]:
    """Up to 40 posts, many of them sharing a place or a creation time (ties)."""
    count = draw(st.integers(0, 40))
    posts = []
    for number in range(count):
        if draw(st.booleans()):
            lat, lon = draw(st.sampled_from(PLACES))
        else:
            base = draw(st.sampled_from(PLACES))
            lat, lon = destination_point(*base, draw(st.floats(0, 360)), draw(st.floats(0, 25)))
            lat, lon = round(lat, 5), round(lon, 5)
        posts.append(
            approved(
                f"H{number:03d}",
                lat,
                lon,
                kind=draw(st.sampled_from(list(Kind))),
                category=draw(st.sampled_from(list(Category))),
                created_at=NOW - timedelta(minutes=draw(st.integers(0, 5))),
            )
        )
    return posts


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    scattered=scattered_posts(),
    point=st.sampled_from(PLACES),
    radius_km=st.floats(0.5, 40.0),
    kind=st.sampled_from([None, *Kind]),
    categories=st.sampled_from(
        [
            None,
            frozenset({Category.REPAS}),
            frozenset({Category.HEBERGEMENT, Category.AUTRE}),
            frozenset(Category),
        ]
    ),
    limit=st.integers(1, 7),
)
def test_pages_are_the_brute_force_answer_cut_in_pages(
    table: Table,
    search: NearbySearch,
    scattered: list[Post],
    point: tuple[float, float],
    radius_km: float,
    kind: Kind | None,
    categories: frozenset[Category] | None,
    limit: int,
) -> None:
    # Given posts of an activation of their own (the table is shared by the examples)
    activation = f"PROP{next(_activation)}"
    posts = [
        approved(
            p.id + activation,
            p.lat,
            p.lon,
            kind=p.kind,
            category=p.category,
            created_at=p.created_at,
            activation_id=activation,
        )
        for p in scattered
    ]
    load(table, posts)

    # When every page is read
    found = pages(
        search, limit, lat=point[0], lon=point[1], radius_km=radius_km,
        activation_ids=[activation], kind=kind, category=categories,
    )  # fmt: skip

    # Then the pages, one after the other, are the whole answer in its order
    answer = expected(posts, point, radius_km, kind, categories)
    assert [hit.post.id for page in found for hit in page.items] == answer
    assert all(len(page.items) == limit for page in found[:-1])
    assert len(found) == max(1, math.ceil(len(answer) / limit))


# --- cursors: checked, not trusted --------------------------------------------------------


def _forge(cursor: str, **changes: Any) -> str:
    payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    payload.update(changes)
    raw = json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "changes",
    [
        {"g": "s00000000000"},  # a place far from the distance the cursor says
        {"d": "-1.0"},
        {"d": "25.0"},  # beyond the radius
        {"d": "nan"},
        {"i": "P1#gsi"},  # not a post id
        {"g": "not-a-place!"},
        {"n": -3},
        {"n": "many"},
        {"t": "2026-11-26T10:00:00"},  # no time zone
        {"v": 3},
    ],
)
def test_a_forged_cursor_is_refused(table: Table, search: NearbySearch, changes: Any) -> None:
    load(table, crowd(30, 3.0))
    query: dict[str, Any] = {
        "lat": CARCASSONNE[0], "lon": CARCASSONNE[1], "radius_km": 20.0,
        "activation_ids": ["A1"], "limit": 5,
    }  # fmt: skip
    cursor = search.search(**query).next_cursor
    assert cursor is not None
    assert search.search(**query, cursor=_forge(cursor)).items  # untouched, it goes on
    with pytest.raises(ValueError, match="Curseur"):
        search.search(**query, cursor=_forge(cursor, **changes))


def test_a_cursor_of_the_former_format_still_goes_on(table: Table, search: NearbySearch) -> None:
    everyone = crowd(30, 3.0)
    load(table, everyone)
    query: dict[str, Any] = {
        "lat": CARCASSONNE[0], "lon": CARCASSONNE[1], "radius_km": 20.0,
        "activation_ids": ["A1"], "limit": 5,
    }  # fmt: skip
    first = search.search(**query)
    assert first.next_cursor is not None
    payload = json.loads(
        base64.urlsafe_b64decode(first.next_cursor + "=" * (-len(first.next_cursor) % 4))
    )
    former = {key: payload[key] for key in ("q", "d", "t", "i")} | {"v": 1}
    cursor = base64.urlsafe_b64encode(json.dumps(former).encode()).decode().rstrip("=")

    second = search.search(**query, cursor=cursor)

    assert [hit.post.id for hit in first.items + second.items] == expected(
        everyone, CARCASSONNE, 20.0
    )[:10]


def test_a_crowd_at_the_first_place_of_a_cell_says_nothing_of_the_places_after_it(
    table: Table, search: NearbySearch
) -> None:
    # Given 200 posts at the very first place of a cell a search starts from (its
    # south-west corner), and 30 posts spread around Carcassonne
    depth = depth_for_radius(CARCASSONNE[0], 20.0)
    corner = next(
        cell.box
        for cell in cells_meeting_circle(*CARCASSONNE, 20.0, depth)
        if haversine_km(*CARCASSONNE, cell.box.min_lat, cell.box.min_lon) < 20.0
    )
    piled = [
        approved(f"S{number:04d}", corner.min_lat, corner.min_lon, kind=Kind.OFFER)
        for number in range(200)
    ]
    around = crowd(30, 10.0, seed=3)
    load(table, piled + around)

    # When a near-me page of 20 is asked
    page = search.search(
        lat=CARCASSONNE[0], lon=CARCASSONNE[1], radius_km=20.0, activation_ids=["A1"], limit=20
    )

    # Then it answers as reading everything would, without cutting the rest of that cell
    # into crumbs as if every place held 8 posts (a Query each)
    assert [hit.post.id for hit in page.items] == expected(piled + around, CARCASSONNE, 20.0)[:20]
    assert page.cells_read <= 40
