"""Posts approved before the place keys: found meanwhile, then moved once, under geomatch's role.

Posts approved by an earlier release carry the former ``by_cell`` keys
(``CELL#<activation>#<geohash4>``, ``<kind>#<created_at>#<id>``) and no ``by_place`` key;
they are written here exactly as that release's ``PostStore.transition`` wrote them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from entraide.adapters.table import Table
from entraide.intake.post_store import PostStore, near_keys, post_to_item
from entraide.kernel.geo import geohash
from entraide.kernel.model import Kind, Post, PostStatus
from entraide.kernel.times import iso
from entraide.matching.nearby import NearbySearch
from entraide.matching.zorder import destination_point
from tests.factories import NOW, make_post
from tests.unit.conftest import UnderPolicy

CARCASSONNE = (43.20938, 2.34399)


def approved_long_ago(number: int, kind: Kind) -> Post:
    lat, lon = destination_point(*CARCASSONNE, number * 37.0 % 360, 0.5 + number)
    lat, lon = round(lat, 5), round(lon, 5)
    return make_post(
        id=f"OLD{number:02d}",
        kind=kind,
        lat=lat,
        lon=lon,
        geohash=geohash(lat, lon),
        status=PostStatus.APPROVED,
        created_at=NOW - timedelta(hours=number),
    )


def former_item(post: Post) -> dict[str, Any]:
    """The post item as the release before the place keys left it on approval."""
    return {
        **post_to_item(post),
        "gsi3pk": f"CELL#{post.activation_id}#{post.geohash[:4]}",
        "gsi3sk": f"{post.kind.value}#{iso(post.created_at)}#{post.id}",
    }


def index_keys(table: Table, post_id: str) -> dict[str, str]:
    item = table.get({"pk": f"POST#{post_id}", "sk": "POST"})
    assert item is not None
    return {key: item[key] for key in ("gsi3pk", "gsi3sk", "gsi4pk", "gsi4sk") if key in item}


@pytest.fixture
def former_posts(table: Table) -> list[Post]:
    made = [approved_long_ago(number, list(Kind)[number % 2]) for number in range(12)]
    for post in made:
        table.client.put_item(TableName=table.table_name, Item=Table.serialise(former_item(post)))
    return made


def ids(search: NearbySearch, **query: Any) -> list[str]:
    page = search.search(
        lat=CARCASSONNE[0], lon=CARCASSONNE[1], radius_km=20.0, activation_ids=["A1"], **query
    )
    return [hit.post.id for hit in page.items]


def test_posts_under_the_former_keys_are_found_until_moved_then_moved_once(
    posts: PostStore, table: Table, former_posts: list[Post], under_policy: UnderPolicy
) -> None:
    # Given posts approved under the former keys, and one approved under the place keys
    new = make_post(
        id="NEW",
        kind=Kind.OFFER,
        status=PostStatus.APPROVED,
        lat=CARCASSONNE[0],
        lon=CARCASSONNE[1],
    )
    table.client.put_item(
        TableName=table.table_name, Item=Table.serialise({**post_to_item(new), **near_keys(new)})
    )
    nearest_first = [new, *former_posts]
    everyone = [post.id for post in nearest_first]
    offers = [post.id for post in nearest_first if post.kind is Kind.OFFER]

    # When someone searches before the move (the public function's role)
    assert posts.legacy_cells_remain()
    with under_policy("public_posts"):
        before = NearbySearch(posts)
        found_before = ids(before, limit=50)
        offers_before = ids(before, kind=Kind.OFFER, limit=50)
        first_five = ids(before, limit=5)
    # Then both kinds of keys are read: the former posts are found, in their order
    assert found_before == everyone
    assert offers_before == offers
    assert first_five == everyone[:5]

    # When geomatch's schedule moves them, under its own role
    with under_policy("GeomatchFunction"):
        moved = posts.move_legacy_cells(now=NOW, out_of_time=lambda: False)
        again = posts.move_legacy_cells(now=NOW, out_of_time=lambda: False)

    # Then each carries the keys an approval writes today, and a second run moves nothing
    assert (moved.moved, moved.done) == (len(former_posts), True)
    assert (again.moved, again.done) == (0, True)
    for post in former_posts:
        assert index_keys(table, post.id) == near_keys(post)
    assert not posts.legacy_cells_remain()
    # and the searches find the same posts, reading the place keys only
    after = NearbySearch(posts)
    assert ids(after, limit=50) == everyone
    assert ids(after, kind=Kind.OFFER, limit=50) == offers
    page = after.search(
        lat=CARCASSONNE[0], lon=CARCASSONNE[1], radius_km=20.0, activation_ids=["A1"], limit=50
    )
    assert page.items_read == len(everyone)


def test_a_move_cut_short_goes_on_next_time_and_searches_keep_reading_the_former_keys(
    posts: PostStore, table: Table, former_posts: list[Post]
) -> None:
    # Given a run that has time for five posts only
    calls = iter(range(100))
    moved = posts.move_legacy_cells(now=NOW, out_of_time=lambda: next(calls) >= 5)

    # Then it stops, says it is not done, and the searches still find every post
    assert (moved.moved, moved.done) == (5, False)
    assert posts.legacy_cells_remain()
    assert ids(NearbySearch(posts), limit=50) == [post.id for post in former_posts]

    # When the next run has time: the rest is moved, and the format recorded
    rest = posts.move_legacy_cells(now=NOW, out_of_time=lambda: False)
    assert (rest.moved, rest.done) == (len(former_posts) - 5, True)
    assert not posts.legacy_cells_remain()


def test_a_post_withdrawn_while_the_move_runs_stays_out_of_every_search(
    posts: PostStore, table: Table, former_posts: list[Post]
) -> None:
    # Given posts withdrawn by their posters after the move read them, before it wrote
    withdrawn: list[str] = []

    def withdraw_the_rest() -> bool:
        if not withdrawn:
            for post in former_posts:
                posts.transition(post, PostStatus.WITHDRAWN, at=NOW, by="poster")
                withdrawn.append(post.id)
        return False

    # When the move runs
    moved = posts.move_legacy_cells(now=NOW, out_of_time=withdraw_the_rest)

    # Then it moved none of them (its update is conditional), and none is found
    assert (moved.moved, moved.done) == (0, True)
    assert all(index_keys(table, post_id) == {} for post_id in withdrawn)
    assert ids(NearbySearch(posts), limit=50) == []
