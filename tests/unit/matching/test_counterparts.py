"""Matching needs and offers nearby, and recording each pair once (moto, template's table)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from entraide.adapters.table import BY_DUE, Item, Put, Table, TransactionCancelled
from entraide.effects.ledger import Ledger
from entraide.effects.ledger_store import DynamoDBLedgerStore
from entraide.effects.model import State
from entraide.intake.post_store import PostStore
from entraide.kernel.geo import geohash
from entraide.kernel.model import Category, Contact, Kind, Post, PostStatus
from entraide.kernel.postcodes import resolve
from entraide.matching.contact_links import ContactLinks
from entraide.matching.counterparts import (
    GEOMATCH,
    Match,
    MatchDue,
    compatible,
    compatible_categories,
    counterpart_kind,
    find_counterparts,
    match_due_writes,
    match_new_post,
)
from entraide.matching.match_store import MatchStore
from entraide.matching.nearby import NearbySearch, Page
from entraide.matching.zorder import destination_point
from tests.factories import NOW, Clock, make_post, pseudonym_of
from tests.unit.matching.test_notices import RecordingMailer, book_for

CARCASSONNE = (43.20938, 2.34399)


def located(post_id: str, lat: float, lon: float, **changes: Any) -> Post:
    return make_post(id=post_id, lat=lat, lon=lon, geohash=geohash(lat, lon), **changes)


def publish(posts: PostStore, post: Post) -> Post:
    posts.create_post(post, Contact(f"{post.id.lower()}@example.org", "06 12 34 56 78"))
    return posts.transition(post, PostStatus.APPROVED, at=NOW, by="mod@example.org")


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


def test_counterparts_are_offers_of_a_compatible_category_nearby(posts: PostStore) -> None:
    need = publish(posts, located("NEED", *CARCASSONNE, category=Category.HEBERGEMENT))
    publish(posts, located("SAME", *near(5.0), category=Category.HEBERGEMENT, kind=Kind.OFFER))
    publish(posts, located("AUTRE", *near(2.0), category=Category.AUTRE, kind=Kind.OFFER))
    publish(posts, located("OTHER-CAT", *near(1.0), category=Category.TRANSPORT, kind=Kind.OFFER))
    publish(posts, located("OTHER-NEED", *near(1.0), category=Category.HEBERGEMENT))
    publish(
        posts,
        located(
            "OTHER-ACT",
            *near(1.0),
            category=Category.HEBERGEMENT,
            activation_id="A2",
            kind=Kind.OFFER,
        ),
    )
    publish(posts, located("FAR", *near(20.5), category=Category.HEBERGEMENT, kind=Kind.OFFER))
    pending = located("PENDING", *near(1.0), category=Category.HEBERGEMENT, kind=Kind.OFFER)
    posts.create_post(pending, Contact("pending@example.org"))

    found = find_counterparts(NearbySearch(posts), need)

    assert [hit.post.id for hit in found] == ["AUTRE", "SAME"]
    assert [round(hit.distance_km, 3) for hit in found] == [2.0, 5.0]
    assert [hit.post.id for hit in find_counterparts(NearbySearch(posts), need, limit=1)] == [
        "AUTRE"
    ]
    assert [
        hit.post.id for hit in find_counterparts(NearbySearch(posts), need, radius_km=21.0)
    ] == ["AUTRE", "SAME", "FAR"]


def test_an_autre_need_finds_offers_of_every_category(posts: PostStore) -> None:
    need = publish(posts, located("NEED", *CARCASSONNE, category=Category.AUTRE))
    for number, category in enumerate(Category):
        publish(
            posts,
            located(f"O-{category.value}", *near(1.0 + number), kind=Kind.OFFER, category=category),
        )

    found = find_counterparts(NearbySearch(posts), need)

    assert [hit.post.category for hit in found] == list(Category)


def test_an_offer_finds_needs_and_never_itself(posts: PostStore) -> None:
    offer = publish(posts, located("OFFER", *CARCASSONNE, kind=Kind.OFFER))
    publish(posts, located("TWIN", *CARCASSONNE, kind=Kind.OFFER))
    publish(posts, located("NEED", *near(3.0)))

    found = find_counterparts(NearbySearch(posts), offer)

    assert [hit.post.id for hit in found] == ["NEED"]


def test_counterparts_across_departements_of_one_activation(posts: PostStore) -> None:
    olonzac = resolve("34210", "Olonzac")
    need = publish(posts, located("AUDE", *CARCASSONNE, departement="11"))
    publish(
        posts,
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
    search = NearbySearch(posts)

    assert find_counterparts(search, need) == []  # 33 km away
    [found] = find_counterparts(search, need, radius_km=35.0)
    assert (found.post.id, found.post.departement) == ("HERAULT", "34")


# --- match records --------------------------------------------------------------------


def test_a_new_post_is_matched_and_each_pair_recorded_once(posts: PostStore, table: Table) -> None:
    search, store = NearbySearch(posts), MatchStore(table)
    offer_near = publish(posts, located("OFFER1", *near(1.0), kind=Kind.OFFER))
    publish(posts, located("OFFER2", *near(4.0), kind=Kind.OFFER, category=Category.AUTRE))
    need = publish(posts, located("NEED", *CARCASSONNE))

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


def test_a_match_item_carries_no_contact_detail(posts: PostStore, table: Table) -> None:
    offer = publish(posts, located("OFFER", *near(1.0), kind=Kind.OFFER))
    need = publish(posts, located("NEED", *CARCASSONNE))
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


def test_a_replayed_record_writes_nothing(posts: PostStore, table: Table) -> None:
    offer = publish(posts, located("OFFER", *near(1.0), kind=Kind.OFFER))
    need = publish(posts, located("NEED", *CARCASSONNE))
    store = MatchStore(table)
    assert store.record_match(need, offer, 1.0, NOW) is True
    assert store.record_match(need, offer, 9.0, NOW + timedelta(days=40)) is False
    [record] = store.matches_of_month("2026-11")
    assert record["distance_km"] == 1.0
    assert store.matches_of_month("2027-01") == []


def test_a_post_that_is_not_approved_matches_nothing(posts: PostStore, table: Table) -> None:
    publish(posts, located("OFFER", *near(1.0), kind=Kind.OFFER))
    pending = located("NEED", *CARCASSONNE)
    posts.create_post(pending, Contact("need@example.org"))

    found = match_new_post(
        pending, search=NearbySearch(posts), matches=MatchStore(table), radius_km=20.0, now=NOW
    )

    assert found == []
    assert MatchStore(table).matches_of_month("2026-11") == []


def test_record_match_wants_a_need_and_an_offer_of_one_activation(table: Table) -> None:
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


# --- the approval's subject, swept -----------------------------------------------------

#: When geomatch's sweep first looks at an approved post (the index has caught up).
DELAY = timedelta(minutes=1)
#: geomatch's schedule.
SCHEDULE = timedelta(minutes=15)


class CountingTable(Table):
    """The table, counting its writes (a write that fails its condition costs as much)."""

    def __init__(self, table: Table) -> None:
        super().__init__(table.table_name, client=table.client)
        self.writes = 0

    def write(self, write: Any, **options: Any) -> Any:
        self.writes += 1
        return super().write(write, **options)

    def transact(self, writes: Any) -> None:
        self.writes += len(writes)
        super().transact(writes)


class FlakyDueIndex(Table):
    """The table, whose ``by_due`` queries fail while ``down`` (throttled)."""

    def __init__(self, table: Table) -> None:
        super().__init__(table.table_name, client=table.client)
        self.down = False

    def query_pages(
        self, condition: str, values: Any, **options: Any
    ) -> Iterator[tuple[list[Item], int]]:
        if self.down and options.get("index") == BY_DUE:
            raise throttled("Query")
        return super().query_pages(condition, values, **options)


class FlakySearch(NearbySearch):
    """The search of counterparts, failing while ``down``."""

    down = False

    def search(self, **query: Any) -> Page:
        if self.down:
            raise throttled("Query")
        return super().search(**query)


def throttled(operation: str) -> ClientError:
    error = {"Code": "ProvisionedThroughputExceededException", "Message": "Rate exceeded"}
    return ClientError({"Error": error}, operation)


def approve_due(posts: PostStore, post: Post) -> Post:
    """Store ``post`` and approve it as the decision does: with its subject to match."""
    posts.create_post(post, Contact(f"{post.id.lower()}@example.org", "06 12 34 56 78"))
    also = match_due_writes(DELAY)(post.id, post.version + 1, NOW)
    return posts.transition(post, PostStatus.APPROVED, at=NOW, by="mod@example.org", also=also)


def sweep(ledger: Ledger, due: MatchDue) -> Any:
    """One run of geomatch's schedule over the subjects due."""
    return ledger.sweep(
        GEOMATCH, due.performer_for, deadline=ledger.clock() + timedelta(seconds=30)
    )


def matched(store: MatchStore) -> list[tuple[str, str]]:
    return [(r["need_id"], r["offer_id"]) for r in store.matches_of_month("2026-11")]


def test_two_counterparts_neither_saw_are_recorded_by_the_sweep_once(
    posts: PostStore, table: Table
) -> None:
    # Given a need and an offer approved together: each looked while the other was pending
    need = approve_due(posts, located("NEED", *CARCASSONNE))
    offer = approve_due(posts, located("OFFER", *near(2.0), kind=Kind.OFFER))
    clock = Clock()
    counting = CountingTable(table)
    store = MatchStore(counting)
    ledger = Ledger(DynamoDBLedgerStore(table), clock=clock, pause=lambda seconds: None)
    due = MatchDue(posts=posts, search=NearbySearch(posts), matches=store, now=clock)
    # When the sweep runs before the index has caught up, then after it, twice
    early = sweep(ledger, due)
    clock.advance(minutes=1)
    first = sweep(ledger, due)
    writes = counting.writes
    second = sweep(ledger, due)
    # Then nothing is looked at before the delay; then both subjects are done and the pair
    # is recorded once (the second subject only read it); nothing is left to sweep
    assert early.subjects == 0
    assert (first.subjects, first.done) == (2, 2)
    assert writes == 1
    assert second.subjects == 0
    assert counting.writes == writes
    assert matched(store) == [("NEED", "OFFER")]
    results = {}
    for post in (need, offer):
        record = ledger.store.get(f"match:{post.id}:{post.version}")
        assert record is not None
        assert record.index_at is None  # out of the sweep's index
        results[post.id] = (record.entry("match").state, record.entry("match").result)
    assert results == {"NEED": (State.DONE, "1 new"), "OFFER": (State.DONE, "0 new")}


def test_a_match_the_stream_never_brought_is_made_after_hours_of_failed_runs_once(
    posts: PostStore, table: Table
) -> None:
    # Given an approved offer, and a need approved after it whose stream record never
    # reached geomatch (the router gave its batch up)
    approve_due(posts, located("OFFER", *near(2.0), kind=Kind.OFFER))
    need = approve_due(posts, located("NEED", *CARCASSONNE))
    clock = Clock()
    flaky_index, flaky_search = FlakyDueIndex(table), FlakySearch(posts)
    store = MatchStore(table)
    ledger = Ledger(DynamoDBLedgerStore(flaky_index), clock=clock, pause=lambda seconds: None)
    due = MatchDue(posts=posts, search=flaky_search, matches=store, now=clock)
    # When geomatch's schedule fails for two hours, twice the old one-hour window: four
    # runs whose query of what is due fails, then four whose search fails
    flaky_index.down = True
    for _ in range(4):
        clock.advance(seconds=SCHEDULE.total_seconds())
        with pytest.raises(ClientError):
            sweep(ledger, due)
    flaky_index.down, flaky_search.down = False, True
    failed = []
    for _ in range(4):
        clock.advance(seconds=SCHEDULE.total_seconds())
        failed.append(sweep(ledger, due))
    assert matched(store) == []
    # and a run finally succeeds, and another after it
    flaky_search.down = False
    clock.advance(seconds=SCHEDULE.total_seconds())
    succeeded = sweep(ledger, due)
    clock.advance(seconds=SCHEDULE.total_seconds())
    after = sweep(ledger, due)
    # Then the pair is recorded, once; the subject took one attempt per run that reached it
    assert clock() - NOW == timedelta(hours=2, minutes=30)
    assert [(report.retried, report.done) for report in failed] == [(2, 0)] * 4
    assert (succeeded.done, after.subjects) == (2, 0)
    assert matched(store) == [("NEED", "OFFER")]
    record = ledger.store.get(f"match:NEED:{need.version}")
    assert record is not None
    assert (record.entry("match").state, record.entry("match").attempts) == (State.DONE, 5)


def test_a_post_withdrawn_before_the_sweep_is_not_matched(posts: PostStore, table: Table) -> None:
    # Given a need and an offer approved together, and the offer withdrawn at once
    approve_due(posts, located("NEED", *CARCASSONNE))
    offer = approve_due(posts, located("OFFER", *near(2.0), kind=Kind.OFFER))
    posts.transition(offer, PostStatus.WITHDRAWN, at=NOW, by="poster")
    clock = Clock(NOW + DELAY)
    store = MatchStore(table)
    ledger = Ledger(DynamoDBLedgerStore(table), clock=clock, pause=lambda seconds: None)
    due = MatchDue(posts=posts, search=NearbySearch(posts), matches=store, now=clock)
    # When the sweep runs
    report = sweep(ledger, due)
    # Then no pair is recorded; the withdrawn post's subject is done with nothing to do
    assert (report.subjects, report.done) == (2, 2)
    assert matched(store) == []
    record = ledger.store.get(f"match:OFFER:{offer.version}")
    assert record is not None
    assert record.entry("match").result == "moot: the post is withdrawn"


def test_a_pair_is_recorded_with_its_notices_or_not_at_all(posts: PostStore, table: Table) -> None:
    need = publish(posts, located("NEED", *CARCASSONNE))
    offer = publish(posts, located("OFFER", *near(2.0), kind=Kind.OFFER))
    store = MatchStore(table)
    notice = Put(item={"pk": "NOTICE#x", "sk": "PENDING#1"}, condition="attribute_exists(pk)")
    # When the notice part of the transaction cannot be written, the match is not either
    with pytest.raises(TransactionCancelled):
        store.record_match(need, offer, 2.0, NOW, also=[notice])
    assert not store.exists("NEED", "OFFER")
    assert store.record_match(need, offer, 2.0, NOW, also=[Put(item=notice.item)]) is True
    assert store.exists("NEED", "OFFER")


class TransactionCounter(Table):
    """The table, counting the transactions it makes and those cancelled (each billed)."""

    def __init__(self, table: Table) -> None:
        super().__init__(table.table_name, client=table.client)
        self.made = 0
        self.cancelled = 0

    def transact(self, writes: Any) -> None:
        try:
            super().transact(writes)
        except TransactionCancelled:
            self.cancelled += 1
            raise
        self.made += 1


def test_two_counterparts_approved_together_cost_one_transaction_on_the_stream(
    posts: PostStore, table: Table, links: ContactLinks, clock: Clock
) -> None:
    # Given a need and an offer approved together, both in the index when their stream
    # records reach geomatch
    need = publish(posts, located("NEED", *CARCASSONNE))
    offer = publish(posts, located("OFFER", *near(2.0), kind=Kind.OFFER))
    counter, mailer = TransactionCounter(table), RecordingMailer()
    store = MatchStore(counter)
    book = book_for(table, mailer, links, now=clock)
    # When geomatch's stream path handles the need's record, then the offer's (each finds
    # the other), each flushing the people concerned as the handler does
    found = []
    for post in (need, offer):
        matches = match_new_post(
            post, search=NearbySearch(posts), matches=store, now=clock(), notices=book.queue_writes
        )
        book.flush_for(matches)
        found.append(pairs(matches))
    # Then one transaction records the pair with its notices, and none is cancelled (the
    # second side read the pair first); each person is told of it once
    assert (counter.made, counter.cancelled) == (1, 0)
    assert found == [[("NEED", "OFFER", True)], [("NEED", "OFFER", False)]]
    assert matched(store) == [("NEED", "OFFER")]
    assert [message.to for message in mailer.sent] == [
        ("need@example.org",),
        ("offer@example.org",),
    ]
    assert book.pending(pseudonym_of("need@example.org")) == []
    assert book.pending(pseudonym_of("offer@example.org")) == []
