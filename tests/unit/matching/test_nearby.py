"""Near-me search: covering cells, the place indexes on moto, distance, filters, cursors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pygeohash
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entraide.activation.activation_store import ActivationStore
from entraide.adapters.table import Table
from entraide.intake.post_store import CELL_PRECISION, PostStore, near_keys
from entraide.kernel.geo import geohash, haversine_km
from entraide.kernel.model import Category, Contact, Kind, Post, PostStatus
from entraide.kernel.postcodes import resolve
from entraide.matching.nearby import MAX_RADIUS_KM, NearbySearch
from entraide.matching.zorder import (
    cells_meeting_circle,
    covering_cells,
    depth_for_radius,
    destination_point,
    distance_to_box_km,
)
from tests.factories import NOW, make_post

CARCASSONNE = (43.20938, 2.34399)
# The northern edge of geohash cell sp9t (precision 4, so also a precision-5 edge).
CELL_EDGE_LAT = 43.2421875


def located(post_id: str, lat: float, lon: float, **changes: Any) -> Post:
    """A pending post at (lat, lon), with the geohash of that point."""
    return make_post(id=post_id, lat=lat, lon=lon, geohash=geohash(lat, lon), **changes)


def publish(posts: PostStore, post: Post) -> Post:
    """Create the post and approve it, as moderation does (writes the by_cell keys)."""
    posts.create_post(post, Contact(f"{post.id.lower()}@example.org"))
    return posts.transition(post, PostStatus.APPROVED, at=NOW, by="mod@example.org")


def ids(items: Any) -> list[str]:
    return [found.post.id for found in items]


# --- covering cells -------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    lat=st.floats(-85.0, 85.0),
    lon=st.floats(-180.0, 180.0),
    radius_km=st.floats(0.05, 100.0),
    bearing=st.floats(0.0, 360.0),
    fraction=st.floats(0.0, 1.0),
    precision=st.sampled_from([3, 4, 5]),
)
def test_every_point_within_the_radius_lies_in_a_covering_cell(
    lat: float, lon: float, radius_km: float, bearing: float, fraction: float, precision: int
) -> None:
    point = destination_point(lat, lon, bearing, radius_km * fraction)
    if haversine_km(lat, lon, *point) > radius_km:
        return  # rounding put it just outside: nothing to check
    assert pygeohash.encode(*point, precision=precision) in covering_cells(
        lat, lon, radius_km, precision
    )


@settings(max_examples=200, deadline=None)
@given(
    lat=st.floats(-85.0, 85.0),
    lon=st.floats(-180.0, 180.0),
    cell_lat=st.floats(-85.0, 85.0),
    cell_lon=st.floats(-180.0, 180.0),
    u=st.floats(0.0, 1.0),
    v=st.floats(0.0, 1.0),
)
def test_the_distance_to_a_cell_is_never_more_than_to_a_point_of_it(
    lat: float, lon: float, cell_lat: float, cell_lon: float, u: float, v: float
) -> None:
    box = pygeohash.get_bounding_box(pygeohash.encode(cell_lat, cell_lon, precision=3))
    inside = (
        box.min_lat + u * (box.max_lat - box.min_lat),
        box.min_lon + v * (box.max_lon - box.min_lon),
    )
    assert distance_to_box_km(lat, lon, box) <= haversine_km(lat, lon, *inside) + 1e-6
    assert distance_to_box_km(*inside, box) == 0.0


def test_a_20_km_search_reads_a_handful_of_cells() -> None:
    cells = covering_cells(*CARCASSONNE, 20.0)
    assert geohash(*CARCASSONNE)[:CELL_PRECISION] in cells
    assert 4 <= len(cells) <= 9
    assert all(len(cell) == CELL_PRECISION for cell in cells)
    assert covering_cells(*CARCASSONNE, 0.0) == [geohash(*CARCASSONNE)[:CELL_PRECISION]]


def test_covering_cells_across_the_antimeridian_and_near_a_pole() -> None:
    cells = covering_cells(0.0, 179.99, 50.0)
    assert {cell[0] for cell in cells} >= {"2", "8", "r", "x"}
    assert len(covering_cells(89.99, 10.0, 50.0, precision=2)) >= 16  # every longitude


def test_destination_point_is_at_the_distance_asked() -> None:
    for bearing in (0.0, 45.0, 137.0, 270.0):
        point = destination_point(*CARCASSONNE, bearing, 19.9)
        assert haversine_km(*CARCASSONNE, *point) == pytest.approx(19.9, abs=1e-6)


# --- the search on the table ----------------------------------------------------------


def test_two_points_300_m_apart_across_a_cell_border_find_each_other(posts: PostStore) -> None:
    south = (CELL_EDGE_LAT - 0.00135, 2.34399)
    north = (CELL_EDGE_LAT + 0.00135, 2.34399)
    for precision in (4, 5):
        assert pygeohash.encode(*south, precision=precision) != pygeohash.encode(
            *north, precision=precision
        )
    assert haversine_km(*south, *north) == pytest.approx(0.3, abs=0.001)
    need = publish(posts, located("NEED", *south, kind=Kind.NEED))
    offer = publish(posts, located("OFFER", *north, kind=Kind.OFFER))

    search = NearbySearch(posts)
    from_need = search.search(lat=need.lat, lon=need.lon, radius_km=1.0, activation_ids=["A1"])
    from_offer = search.search(lat=offer.lat, lon=offer.lon, radius_km=1.0, activation_ids=["A1"])

    assert ids(from_need.items) == ["NEED", "OFFER"]
    assert from_need.items[1].distance_km == pytest.approx(0.3, abs=0.001)
    assert ids(from_offer.items) == ["OFFER", "NEED"]
    assert from_need.items[0].post == need


def test_the_radius_is_a_true_distance(posts: PostStore) -> None:
    inside = destination_point(*CARCASSONNE, 37.0, 19.9)
    outside = destination_point(*CARCASSONNE, 37.0, 20.1)
    also_outside = destination_point(*CARCASSONNE, 200.0, 20.1)
    publish(posts, located("IN", *inside))
    publish(posts, located("OUT", *outside))
    publish(posts, located("OUT2", *also_outside))
    posts.move_legacy_cells(now=NOW, out_of_time=lambda: False)  # no former keys left

    page = NearbySearch(posts).search(
        lat=CARCASSONNE[0], lon=CARCASSONNE[1], radius_km=20.0, activation_ids=["A1"]
    )

    assert ids(page.items) == ["IN"]
    assert page.items[0].distance_km == pytest.approx(19.9, abs=1e-4)
    # the cells were read, and the posts beyond the radius were read and dropped
    assert page.items_read == 3
    # few posts: each starting cell read once, in each kind's partition, nothing more
    starting = cells_meeting_circle(*CARCASSONNE, 20.0, depth_for_radius(CARCASSONNE[0], 20.0))
    assert 4 <= len(starting) <= 9
    assert page.cells_read == 2 * len(starting)


def test_an_activation_over_two_departements_is_searched_across_the_border(
    posts: PostStore,
) -> None:
    olonzac = resolve("34210", "Olonzac")
    publish(posts, located("AUDE", *CARCASSONNE, departement="11"))
    publish(
        posts,
        located(
            "HERAULT",
            olonzac.lat,
            olonzac.lon,
            departement="34",
            postcode="34210",
            commune="Olonzac",
            insee=olonzac.insee,
        ),
    )
    distance = haversine_km(*CARCASSONNE, olonzac.lat, olonzac.lon)
    assert 30 < distance < 35

    search = NearbySearch(posts)
    from_aude = search.search(
        lat=CARCASSONNE[0], lon=CARCASSONNE[1], radius_km=35.0, activation_ids=["A1"]
    )
    from_herault = search.search(
        lat=olonzac.lat, lon=olonzac.lon, radius_km=35.0, activation_ids=["A1"]
    )

    assert ids(from_aude.items) == ["AUDE", "HERAULT"]
    assert ids(from_herault.items) == ["HERAULT", "AUDE"]
    assert from_herault.items[1].distance_km == pytest.approx(distance)


def test_other_activations_are_not_searched(posts: PostStore, activations: ActivationStore) -> None:
    publish(posts, located("MINE", *CARCASSONNE))
    publish(posts, located("OTHER", *CARCASSONNE, activation_id="A2"))
    search = NearbySearch(posts)

    def found(activations: list[str]) -> list[str]:
        page = search.search(
            lat=CARCASSONNE[0], lon=CARCASSONNE[1], radius_km=5.0, activation_ids=activations
        )
        return sorted(ids(page.items))

    assert found(["A1"]) == ["MINE"]
    assert found(["A2"]) == ["OTHER"]
    assert found(["A1", "A2", "A1"]) == ["MINE", "OTHER"]
    assert found([]) == []


def test_only_approved_posts_are_ever_returned(posts: PostStore, table: Table) -> None:
    publish(posts, located("APPROVED", *CARCASSONNE))
    pending = located("PENDING", *CARCASSONNE)
    posts.create_post(pending, Contact("pending@example.org"))
    rejected = located("REJECTED", *CARCASSONNE)
    posts.create_post(rejected, Contact("rejected@example.org"))
    posts.transition(rejected, PostStatus.REJECTED, at=NOW, by="mod@example.org")
    withdrawn = publish(posts, located("WITHDRAWN", *CARCASSONNE))
    posts.transition(withdrawn, PostStatus.WITHDRAWN, at=NOW, by="poster")
    expired = publish(posts, located("EXPIRED", *CARCASSONNE))
    posts.transition(expired, PostStatus.EXPIRED, at=NOW, by="system")
    # an index entry whose status says otherwise (a bug elsewhere) is not trusted
    keys = near_keys(pending)
    table.client.update_item(
        TableName=table.table_name,
        Key={"pk": {"S": "POST#PENDING"}, "sk": {"S": "POST"}},
        UpdateExpression=f"SET {', '.join(f'{name} = :{name}' for name in keys)}",
        ExpressionAttributeValues={f":{name}": {"S": value} for name, value in keys.items()},
    )

    page = NearbySearch(posts).search(
        lat=CARCASSONNE[0], lon=CARCASSONNE[1], radius_km=20.0, activation_ids=["A1"]
    )

    assert ids(page.items) == ["APPROVED"]
    assert page.items_read == 2  # the approved post and the stray pending entry


def test_kind_and_category_filters(posts: PostStore) -> None:
    near = destination_point(*CARCASSONNE, 90.0, 2.0)
    publish(posts, located("NEED-H", *near, kind=Kind.NEED, category=Category.HEBERGEMENT))
    publish(posts, located("OFFER-H", *near, kind=Kind.OFFER, category=Category.HEBERGEMENT))
    publish(posts, located("OFFER-T", *near, kind=Kind.OFFER, category=Category.TRANSPORT))
    publish(posts, located("OFFER-A", *near, kind=Kind.OFFER, category=Category.AUTRE))
    search = NearbySearch(posts)

    def found(**filters: Any) -> list[str]:
        page = search.search(
            lat=CARCASSONNE[0], lon=CARCASSONNE[1], radius_km=10.0, activation_ids=["A1"], **filters
        )
        return sorted(ids(page.items))

    assert found() == ["NEED-H", "OFFER-A", "OFFER-H", "OFFER-T"]
    assert found(kind=Kind.NEED) == ["NEED-H"]
    assert found(kind=Kind.OFFER) == ["OFFER-A", "OFFER-H", "OFFER-T"]
    assert found(category=Category.HEBERGEMENT) == ["NEED-H", "OFFER-H"]
    assert found(kind=Kind.OFFER, category=Category.TRANSPORT) == ["OFFER-T"]
    assert found(kind=Kind.OFFER, category={Category.TRANSPORT, Category.AUTRE}) == [
        "OFFER-A",
        "OFFER-T",
    ]
    assert found(exclude="OFFER-H", category=Category.HEBERGEMENT) == ["NEED-H"]
    # the kind narrows the Query itself: the needs are not even read
    offers = search.search(
        lat=CARCASSONNE[0], lon=CARCASSONNE[1], radius_km=10.0, activation_ids=["A1"],
        kind=Kind.OFFER,
    )  # fmt: skip
    assert offers.items_read == 3
    # and so do the categories: the other categories' posts are not read either
    transport = search.search(
        lat=CARCASSONNE[0], lon=CARCASSONNE[1], radius_km=10.0, activation_ids=["A1"],
        category={Category.TRANSPORT, Category.AUTRE},
    )  # fmt: skip
    assert sorted(ids(transport.items)) == ["OFFER-A", "OFFER-T"]
    assert transport.items_read == 2


def test_nearest_first_then_oldest(posts: PostStore) -> None:
    spots = {"FAR": 9.0, "NEAR": 1.0, "MIDDLE": 5.0}
    for post_id, distance in spots.items():
        publish(posts, located(post_id, *destination_point(*CARCASSONNE, 10.0, distance)))
    same_place = destination_point(*CARCASSONNE, 10.0, 3.0)
    publish(posts, located("NEWER", *same_place, created_at=NOW + timedelta(hours=1)))
    publish(posts, located("OLDER", *same_place, created_at=NOW - timedelta(hours=1)))

    page = NearbySearch(posts).search(
        lat=CARCASSONNE[0], lon=CARCASSONNE[1], radius_km=20.0, activation_ids=["A1"]
    )

    assert ids(page.items) == ["NEAR", "OLDER", "NEWER", "MIDDLE", "FAR"]
    assert page.next_cursor is None


def _publish_many(posts: PostStore, count: int) -> list[str]:
    """``count`` approved posts around Carcassonne; some share a place (ties)."""
    made = []
    for number in range(count):
        distance = 0.5 + (number % 9) * 2.0  # nine distances, three or so posts each
        point = destination_point(*CARCASSONNE, number * 37.0 % 360.0, distance)
        if number % 3 == 0:
            point = destination_point(*CARCASSONNE, 0.0, distance)  # same place: a tie
        post = located(f"P{number:02d}", *point, created_at=NOW + timedelta(minutes=number))
        publish(posts, post)
        made.append(post.id)
    return made


def test_pages_follow_each_other_without_duplicates_or_gaps(posts: PostStore) -> None:
    made = _publish_many(posts, 26)
    search = NearbySearch(posts)
    query: dict[str, Any] = {
        "lat": CARCASSONNE[0],
        "lon": CARCASSONNE[1],
        "radius_km": 20.0,
        "activation_ids": ["A1"],
    }
    everything = search.search(**query, limit=100)
    assert sorted(ids(everything.items)) == sorted(made)
    assert everything.next_cursor is None

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = search.search(**query, limit=7, cursor=cursor)
        pages += 1
        seen += ids(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 4
    assert seen == ids(everything.items)


def test_a_post_approved_between_two_pages_causes_no_duplicate(posts: PostStore) -> None:
    _publish_many(posts, 10)
    search = NearbySearch(posts)
    query: dict[str, Any] = {
        "lat": CARCASSONNE[0],
        "lon": CARCASSONNE[1],
        "radius_km": 20.0,
        "activation_ids": ["A1"],
    }
    first = search.search(**query, limit=4)
    publish(posts, located("NEWCOMER", *CARCASSONNE))  # nearer than anything shown
    second = search.search(**query, limit=100, cursor=first.next_cursor)

    before = ids(first.items)
    after = ids(second.items)
    assert not set(before) & set(after)
    assert len(before) + len(after) == 10
    assert "NEWCOMER" not in after  # it sorts before the cursor: the next search shows it


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "", "eyJ2IjoxfQ", "!!!", "eyJ2IjoxLCJxIjoiYSIsImQiOiJ4IiwidCI6IiIsImkiOiIifQ"],
)
def test_a_damaged_cursor_is_refused(posts: PostStore, cursor: str) -> None:
    with pytest.raises(ValueError, match="Curseur"):
        NearbySearch(posts).search(
            lat=CARCASSONNE[0], lon=CARCASSONNE[1], radius_km=20.0, activation_ids=["A1"],
            cursor=cursor,
        )  # fmt: skip


def test_a_cursor_of_another_search_is_refused(posts: PostStore) -> None:
    _publish_many(posts, 5)
    search = NearbySearch(posts)
    base: dict[str, Any] = {"lat": CARCASSONNE[0], "lon": CARCASSONNE[1], "limit": 2}
    cursor = search.search(**base, radius_km=20.0, activation_ids=["A1"]).next_cursor
    assert cursor is not None
    others: list[dict[str, Any]] = [
        {"radius_km": 15.0, "activation_ids": ["A1"]},
        {"radius_km": 20.0, "activation_ids": ["A1", "A2"]},
        {"radius_km": 20.0, "activation_ids": ["A1"], "kind": Kind.NEED},
        {"radius_km": 20.0, "activation_ids": ["A1"], "category": Category.REPAS},
        {"radius_km": 20.0, "activation_ids": ["A1"], "exclude": "P01"},
    ]
    for other in others:
        with pytest.raises(ValueError, match="autre recherche"):
            search.search(**base, **other, cursor=cursor)
    # the same search with another page size goes on
    assert search.search(**base, radius_km=20.0, activation_ids=["A1"], cursor=cursor).items


@pytest.mark.parametrize(
    "changes",
    [
        {"radius_km": 0.0},
        {"radius_km": -1.0},
        {"radius_km": MAX_RADIUS_KM + 1},
        {"radius_km": float("nan")},
        {"lat": 91.0},
        {"lon": -181.0},
        {"limit": 0},
        {"limit": 10_000},
    ],
)
def test_nonsense_parameters_are_refused(posts: PostStore, changes: dict[str, Any]) -> None:
    query: dict[str, Any] = {
        "lat": CARCASSONNE[0],
        "lon": CARCASSONNE[1],
        "radius_km": 20.0,
        "activation_ids": ["A1"],
    }
    with pytest.raises(ValueError, match="must be within"):
        NearbySearch(posts).search(**{**query, **changes})


def test_a_single_activation_id_is_not_taken_for_a_sequence(posts: PostStore) -> None:
    with pytest.raises(TypeError):
        NearbySearch(posts).search(
            lat=CARCASSONNE[0], lon=CARCASSONNE[1], radius_km=20.0, activation_ids="A1"
        )


def test_a_result_is_the_post_as_stored(posts: PostStore) -> None:
    post = publish(posts, located("P1", *CARCASSONNE, category=Category.REPAS))
    [found] = (
        NearbySearch(posts)
        .search(lat=CARCASSONNE[0], lon=CARCASSONNE[1], radius_km=1.0, activation_ids=["A1"])
        .items
    )
    assert found.post == post
    assert found.post.status is PostStatus.APPROVED
    assert found.distance_km == 0.0
