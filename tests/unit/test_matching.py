"""Matching needs and offers nearby, and recording each pair once (moto, template's table)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from entraide.kernel.geo import geohash, resolve
from entraide.kernel.model import Category, Contact, Kind, Post, PostStatus
from entraide.matching import (
    Match,
    MatchStore,
    compatible,
    compatible_categories,
    counterpart_kind,
    find_counterparts,
    match_new_post,
)
from entraide.nearby import NearbySearch, destination_point
from entraide.store import EntraideTable
from tests.factories import NOW, make_post

CARCASSONNE = (43.20938, 2.34399)


def located(post_id: str, lat: float, lon: float, **changes: Any) -> Post:
    return make_post(id=post_id, lat=lat, lon=lon, geohash=geohash(lat, lon), **changes)


def publish(table: EntraideTable, post: Post) -> Post:
    table.create_post(post, Contact(f"{post.id.lower()}@example.org", "06 12 34 56 78"))
    return table.transition(post, PostStatus.APPROVED, at=NOW, by="mod@example.org")


def near(distance_km: float, bearing: float = 60.0) -> tuple[float, float]:
    return destination_point(*CARCASSONNE, bearing, distance_km)


def pairs(matches: list[Match]) -> list[tuple[str, str, bool]]:
    return [(match.need.id, match.offer.id, match.new) for match in matches]


# --- rules ----------------------------------------------------------------------------


def test_needs_pair_with_offers() -> None:
    assert counterpart_kind(Kind.NEED) is Kind.OFFER
    assert counterpart_kind(Kind.OFFER) is Kind.NEED


@pytest.mark.parametrize("category", list(Category))
def test_autre_is_compatible_with_every_category(category: Category) -> None:
    assert compatible(category, category)
    assert compatible(category, Category.AUTRE)
    assert compatible(Category.AUTRE, category)
    assert Category.AUTRE in compatible_categories(category)


def test_two_different_categories_do_not_match() -> None:
    assert not compatible(Category.HEBERGEMENT, Category.TRANSPORT)
    assert compatible_categories(Category.REPAS) == {Category.REPAS, Category.AUTRE}
    assert compatible_categories(Category.AUTRE) == set(Category)


# --- counterparts ---------------------------------------------------------------------


def test_counterparts_are_offers_of_a_compatible_category_nearby(table: EntraideTable) -> None:
    need = publish(table, located("NEED", *CARCASSONNE, category=Category.HEBERGEMENT))
    publish(table, located("SAME", *near(5.0), category=Category.HEBERGEMENT, kind=Kind.OFFER))
    publish(table, located("AUTRE", *near(2.0), category=Category.AUTRE, kind=Kind.OFFER))
    publish(table, located("OTHER-CAT", *near(1.0), category=Category.TRANSPORT, kind=Kind.OFFER))
    publish(table, located("OTHER-NEED", *near(1.0), category=Category.HEBERGEMENT))
    publish(
        table,
        located(
            "OTHER-ACT",
            *near(1.0),
            category=Category.HEBERGEMENT,
            activation_id="A2",
            kind=Kind.OFFER,
        ),
    )
    publish(table, located("FAR", *near(20.5), category=Category.HEBERGEMENT, kind=Kind.OFFER))
    pending = located("PENDING", *near(1.0), category=Category.HEBERGEMENT, kind=Kind.OFFER)
    table.create_post(pending, Contact("pending@example.org"))

    found = find_counterparts(NearbySearch(table), need)

    assert [hit.post.id for hit in found] == ["AUTRE", "SAME"]
    assert [round(hit.distance_km, 3) for hit in found] == [2.0, 5.0]
    assert [hit.post.id for hit in find_counterparts(NearbySearch(table), need, limit=1)] == [
        "AUTRE"
    ]
    assert [
        hit.post.id for hit in find_counterparts(NearbySearch(table), need, radius_km=21.0)
    ] == ["AUTRE", "SAME", "FAR"]


def test_an_autre_need_finds_offers_of_every_category(table: EntraideTable) -> None:
    need = publish(table, located("NEED", *CARCASSONNE, category=Category.AUTRE))
    for number, category in enumerate(Category):
        publish(
            table,
            located(f"O-{category.value}", *near(1.0 + number), kind=Kind.OFFER, category=category),
        )

    found = find_counterparts(NearbySearch(table), need)

    assert [hit.post.category for hit in found] == list(Category)


def test_an_offer_finds_needs_and_never_itself(table: EntraideTable) -> None:
    offer = publish(table, located("OFFER", *CARCASSONNE, kind=Kind.OFFER))
    publish(table, located("TWIN", *CARCASSONNE, kind=Kind.OFFER))
    publish(table, located("NEED", *near(3.0)))

    found = find_counterparts(NearbySearch(table), offer)

    assert [hit.post.id for hit in found] == ["NEED"]


def test_counterparts_across_departements_of_one_activation(table: EntraideTable) -> None:
    olonzac = resolve("34210", "Olonzac")
    need = publish(table, located("AUDE", *CARCASSONNE, departement="11"))
    publish(
        table,
        located(
            "HERAULT",
            olonzac.lat,
            olonzac.lon,
            kind=Kind.OFFER,
            departement="34",
            postcode="34210",
            commune="Olonzac",
            insee=olonzac.insee,
        ),
    )
    search = NearbySearch(table)

    assert find_counterparts(search, need) == []  # 33 km away
    [found] = find_counterparts(search, need, radius_km=35.0)
    assert (found.post.id, found.post.departement) == ("HERAULT", "34")


# --- match records --------------------------------------------------------------------


def test_a_new_post_is_matched_and_each_pair_recorded_once(table: EntraideTable) -> None:
    search, store = NearbySearch(table), MatchStore(table)
    offer_near = publish(table, located("OFFER1", *near(1.0), kind=Kind.OFFER))
    publish(table, located("OFFER2", *near(4.0), kind=Kind.OFFER, category=Category.AUTRE))
    need = publish(table, located("NEED", *CARCASSONNE))

    first = match_new_post(need, search=search, matches=store, radius_km=20.0, now=NOW)
    replay = match_new_post(
        need, search=search, matches=store, radius_km=20.0, now=NOW + timedelta(minutes=5)
    )
    # the offer's own matching (approved later, or its stream record) finds the same pair
    other_side = match_new_post(offer_near, search=search, matches=store, now=NOW)

    assert pairs(first) == [("NEED", "OFFER1", True), ("NEED", "OFFER2", True)]
    assert pairs(replay) == [("NEED", "OFFER1", False), ("NEED", "OFFER2", False)]
    assert pairs(other_side) == [("NEED", "OFFER1", False)]
    assert first[0].distance_km == pytest.approx(1.0)
    assert first[0].need == need
    assert first[0].offer == offer_near

    records = store.matches_of_month("2026-11")
    assert [(r["need_id"], r["offer_id"]) for r in records] == [
        ("NEED", "OFFER1"),
        ("NEED", "OFFER2"),
    ]
    assert records[0] == {
        "need_id": "NEED",
        "offer_id": "OFFER1",
        "activation_id": "A1",
        "need_category": "hebergement",
        "offer_category": "hebergement",
        "need_departement": "11",
        "offer_departement": "11",
        "distance_km": pytest.approx(1.0, abs=0.001),
        "created_at": "2026-11-26T10:00:00Z",
    }
    assert store.matches_of_month("2026-12") == []


def test_a_match_item_carries_no_contact_detail(table: EntraideTable) -> None:
    offer = publish(table, located("OFFER", *near(1.0), kind=Kind.OFFER))
    need = publish(table, located("NEED", *CARCASSONNE))
    assert MatchStore(table).record_match(need, offer, 1.0, NOW)
    item = table.client.get_item(
        TableName=table.table_name,
        Key={"pk": {"S": "MATCH#NEED#OFFER"}, "sk": {"S": "MATCH"}},
    )["Item"]
    assert item["entity"] == {"S": "match"}
    assert item["gsi2pk"] == {"S": "MATCH#2026-11"}
    assert item["gsi2sk"] == {"S": "2026-11-26T10:00:00Z#NEED#OFFER"}
    assert float(item["distance_km"]["N"]) == 1.0
    assert "@" not in str(item)
    assert "06 12" not in str(item)


def test_a_replayed_record_writes_nothing(table: EntraideTable) -> None:
    offer = publish(table, located("OFFER", *near(1.0), kind=Kind.OFFER))
    need = publish(table, located("NEED", *CARCASSONNE))
    store = MatchStore(table)
    assert store.record_match(need, offer, 1.0, NOW) is True
    assert store.record_match(need, offer, 9.0, NOW + timedelta(days=40)) is False
    [record] = store.matches_of_month("2026-11")
    assert record["distance_km"] == 1.0
    assert store.matches_of_month("2027-01") == []


def test_a_post_that_is_not_approved_matches_nothing(table: EntraideTable) -> None:
    publish(table, located("OFFER", *near(1.0), kind=Kind.OFFER))
    pending = located("NEED", *CARCASSONNE)
    table.create_post(pending, Contact("need@example.org"))

    found = match_new_post(
        pending, search=NearbySearch(table), matches=MatchStore(table), radius_km=20.0, now=NOW
    )

    assert found == []
    assert MatchStore(table).matches_of_month("2026-11") == []


def test_record_match_wants_a_need_and_an_offer_of_one_activation(table: EntraideTable) -> None:
    store = MatchStore(table)
    need = located("NEED", *CARCASSONNE, status=PostStatus.APPROVED)
    offer = located("OFFER", *CARCASSONNE, kind=Kind.OFFER, status=PostStatus.APPROVED)
    with pytest.raises(ValueError, match="a need first"):
        store.record_match(offer, need, 0.0, NOW)
    elsewhere = located("O2", *CARCASSONNE, kind=Kind.OFFER, activation_id="A2")
    with pytest.raises(ValueError, match="different activations"):
        store.record_match(need, elsewhere, 0.0, NOW)
    with pytest.raises(ValueError, match="timezone"):
        store.record_match(need, offer, 0.0, datetime(2026, 11, 26, 10, 0))
    with pytest.raises(ValueError, match="YYYY-MM"):
        store.matches_of_month("2026-13")
