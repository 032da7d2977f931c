"""What the relay remembers: claims, announcements, backlog, tweets.

The shared semantics are checked on both stores (in memory; DynamoDB on moto with the table
of template.yaml); the item layout only on DynamoDB.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from entraide.adapters.table import Table
from entraide.intake.post_store import Announcement, PostStore
from entraide.kernel.model import Category, Contact, Kind, PostStatus
from entraide.publishing.relay_memory import MemoryRelayStore
from entraide.publishing.relay_store import (
    BacklogEntry,
    ClaimState,
    ClaimStatus,
    DynamoDBRelayStore,
    RelayStore,
    TweetRecord,
)
from tests.factories import PSEUDONYMS, RETENTION, make_post

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
TIMEOUT = timedelta(seconds=60)


@dataclass
class Stores:
    store: RelayStore
    # creates the post items (DynamoDB announces only posts that exist)
    create_posts: Callable[..., None]
    table: Table | None = None


@pytest.fixture(params=["memory", "dynamodb"])
def stores(request: pytest.FixtureRequest) -> Stores:
    if request.param == "memory":
        return Stores(MemoryRelayStore(claim_timeout=TIMEOUT), lambda *ids: None)
    table: Table = request.getfixturevalue("table")
    posts = PostStore(table, pseudonyms=PSEUDONYMS, retention=RETENTION)

    def create_posts(*ids: str) -> None:
        for post_id in ids:
            post = make_post(id=post_id, status=PostStatus.APPROVED)
            posts.create_post(post, Contact(f"{post_id.lower()}@example.org"))

    return Stores(DynamoDBRelayStore(table, claim_timeout=TIMEOUT), create_posts, table)


def entry(post_id: str, minute: int = 0, activation: str = "A1", **changes: Any) -> BacklogEntry:
    values: dict[str, Any] = {
        "activation_id": activation,
        "post_id": post_id,
        "approved_at": NOW + timedelta(minutes=minute),
        "kind": Kind.OFFER,
        "category": Category.TRANSPORT,
        "departement": "11",
        "queued_at": NOW + timedelta(minutes=minute),
    }
    values.update(changes)
    return BacklogEntry(**values)


# -------------------------------------------------------------------------------- claims
def test_a_first_claim_is_new_and_a_second_one_is_busy(stores: Stores) -> None:
    store = stores.store
    assert store.claim("P1", NOW).status is ClaimStatus.NEW
    again = store.claim("P1", NOW + timedelta(seconds=5))
    assert again.status is ClaimStatus.BUSY
    assert again.retry_at == NOW + TIMEOUT


def test_a_claim_never_completed_past_the_timeout_is_in_doubt(stores: Stores) -> None:
    # Given a claim whose relay crashed between the call to X and the record
    store = stores.store
    store.claim("P1", NOW, holder="digest:A1:11:X")
    # Then after the function's timeout, it is in doubt (never NEW: no second tweet)
    state = store.claim("P1", NOW + TIMEOUT)
    assert state == ClaimState(ClaimStatus.IN_DOUBT, None, "digest:A1:11:X", NOW)
    assert store.claim_state("P1", NOW + timedelta(days=3)).status is ClaimStatus.IN_DOUBT


def test_a_completed_claim_is_done_with_its_tweet_forever(stores: Stores) -> None:
    store = stores.store
    store.claim("P1", NOW)
    store.complete("P1", "1890")
    assert store.claim("P1", NOW + timedelta(days=5)) == ClaimState(
        ClaimStatus.DONE, "1890", None, NOW
    )
    # releasing a done claim changes nothing
    store.release("P1")
    assert store.claim_state("P1", NOW).status is ClaimStatus.DONE


def test_a_released_claim_can_be_taken_again(stores: Stores) -> None:
    store = stores.store
    store.claim("P1", NOW)
    store.release("P1")
    assert store.claim_state("P1", NOW).status is ClaimStatus.NEW
    assert store.claim("P1", NOW + timedelta(seconds=1)).status is ClaimStatus.NEW


def test_claiming_many_takes_the_free_subjects_only(stores: Stores) -> None:
    # Given P1 done, P2 held by another relay, P3 free
    store = stores.store
    store.claim("P1", NOW)
    store.complete("P1", "77")
    store.claim("P2", NOW)
    # When a digest claims P1, P2, P3
    states = store.claim_many(["P1", "P2", "P3"], NOW + timedelta(seconds=2), holder="digest:X")
    # Then only P3 is its own; the others say why not
    assert {subject: state.status for subject, state in states.items()} == {
        "P1": ClaimStatus.DONE,
        "P2": ClaimStatus.BUSY,
        "P3": ClaimStatus.NEW,
    }
    assert store.claim("P3", NOW + timedelta(seconds=3)).holder == "digest:X"


def test_claims_of_a_large_digest_go_beyond_one_transaction(stores: Stores) -> None:
    store = stores.store
    subjects = [f"P{index}" for index in range(120)]
    store.claim("P110", NOW)
    states = store.claim_many(subjects, NOW, holder="digest:big")
    assert [s for s, state in states.items() if state.status is not ClaimStatus.NEW] == ["P110"]
    store.complete_many(subjects, "42")
    assert all(
        store.claim_state(subject, NOW).tweet_id == "42" for subject in ("P0", "P99", "P119")
    )
    # P150 was held by someone else: completing it too is harmless
    assert store.claim_state("P110", NOW).status is ClaimStatus.DONE


def test_completing_in_doubt_makes_the_claim_done_without_a_tweet(stores: Stores) -> None:
    store = stores.store
    store.claim("ACTIVATION#A1#opened", NOW)
    store.complete("ACTIVATION#A1#opened", None, in_doubt=True)
    assert store.claim_state("ACTIVATION#A1#opened", NOW) == ClaimState(
        ClaimStatus.DONE, None, None, NOW
    )


# ------------------------------------------------------------------------ announcements
def test_a_post_is_announced_once(stores: Stores) -> None:
    # Given two approved posts
    stores.create_posts("P1", "P2")
    store = stores.store
    assert not store.is_announced("P1")
    # When a digest announces both, then another tweet tries P2 again
    assert store.mark_announced(["P1", "P2"], Announcement(NOW, "555", digest=True)) == ["P1", "P2"]
    assert (
        store.mark_announced(["P2"], Announcement(NOW + timedelta(hours=1), "556", digest=False))
        == []
    )
    # Then both are announced, by the first tweet
    assert store.is_announced("P1")
    assert store.is_announced("P2")


def test_the_announcement_lives_on_the_post_item_and_leaves_its_version(
    posts: PostStore, table: Table
) -> None:
    # Given an approved post at version 2
    post = make_post(id="P1", status=PostStatus.APPROVED, version=2)
    posts.create_post(post, Contact("p1@example.org"))
    store = DynamoDBRelayStore(table)
    # When it is announced in doubt by a digest
    store.mark_announced(["P1"], Announcement(NOW, None, digest=True, in_doubt=True))
    # Then the post item says so, with no tweet id, and the moderation version is untouched
    raw = table.client.get_item(
        TableName=table.table_name, Key={"pk": {"S": "POST#P1"}, "sk": {"S": "POST"}}
    )["Item"]
    assert raw["announced_at"] == {"S": "2026-11-26T10:00:00Z"}
    assert raw["announced_digest"] == {"BOOL": True}
    assert raw["announced_in_doubt"] == {"BOOL": True}
    assert "announced_tweet_id" not in raw
    assert posts.get_post("P1") == post


def test_announcing_a_missing_post_creates_no_item(table: Table) -> None:
    store = DynamoDBRelayStore(table)
    assert store.mark_announced(["GHOST"], Announcement(NOW, "1", digest=False)) == []
    raw = table.client.get_item(
        TableName=table.table_name, Key={"pk": {"S": "POST#GHOST"}, "sk": {"S": "POST"}}
    )
    assert "Item" not in raw


# ------------------------------------------------------------------------------ backlog
def test_the_backlog_keeps_posts_by_approval_time_per_activation(stores: Stores) -> None:
    store = stores.store
    store.add_backlog(entry("P2", minute=5))
    store.add_backlog(entry("P1", minute=1, category=Category.REPAS, kind=Kind.NEED))
    store.add_backlog(entry("Q1", minute=0, activation="A2"))
    assert [e.post_id for e in store.backlog("A1")] == ["P1", "P2"]
    assert store.backlog("A1")[0] == entry("P1", minute=1, category=Category.REPAS, kind=Kind.NEED)
    assert store.backlog_size("A1") == 2
    assert [e.post_id for e in store.backlog("A2")] == ["Q1"]


def test_the_backlog_can_be_counted_up_to_a_bound(stores: Stores) -> None:
    # Given 7 waiting posts
    store = stores.store
    for index in range(7):
        store.add_backlog(entry(f"P{index}", minute=index))
    # Then counting stops at the bound asked for (the relay needs "more than n?" only)
    assert store.backlog_size("A1", at_most=3) == 3
    assert store.backlog_size("A1", at_most=7) == 7
    assert store.backlog_size("A1", at_most=50) == 7
    assert store.backlog_size("A1") == 7
    assert store.backlog_size("A9", at_most=1) == 0


def test_adding_a_post_again_keeps_when_it_first_joined(stores: Stores) -> None:
    # Given a post that joined the backlog at 10:01
    store = stores.store
    first = store.add_backlog(entry("P1", minute=1))
    # When its message comes back at 10:30 (deferred, redelivered)
    again = store.add_backlog(entry("P1", minute=1, queued_at=NOW + timedelta(minutes=30)))
    # Then it is still one entry, queued since 10:01
    assert again == first
    assert store.backlog_size("A1") == 1


def test_removed_entries_leave_the_backlog(stores: Stores) -> None:
    store = stores.store
    entries = [store.add_backlog(entry(f"P{index}", minute=index)) for index in range(40)]
    store.remove_backlog(entries[:30])
    store.remove_backlog(entries[:1])  # again: harmless
    assert [e.post_id for e in store.backlog("A1")] == [f"P{index}" for index in range(30, 40)]


def test_backlog_items_carry_what_a_digest_counts(table: Table) -> None:
    store = DynamoDBRelayStore(table)
    store.add_backlog(entry("P1", minute=2))
    raw = table.client.get_item(
        TableName=table.table_name,
        Key={"pk": {"S": "BACKLOG#A1"}, "sk": {"S": "2026-11-26T10:02:00Z#P1"}},
    )["Item"]
    assert (raw["kind"], raw["category"], raw["departement"]) == (
        {"S": "offer"},
        {"S": "transport"},
        {"S": "11"},
    )
    assert "expires_at" in raw


# ------------------------------------------------------------------------------- tweets
def test_tweets_are_listed_by_month_for_the_report(stores: Stores) -> None:
    store = stores.store
    october = TweetRecord(
        "100", "a", datetime(2026, 10, 31, 23, 59, tzinfo=UTC), "post", ("P0",), "A1"
    )
    first = TweetRecord("101", "b", NOW, "digest", ("P1", "P2"), "A1")
    second = TweetRecord(
        "unknown:P3", "c", NOW + timedelta(hours=1), "post", ("P3",), "A1", id_known=False
    )
    activation = TweetRecord("103", "d", NOW + timedelta(hours=2), "activation", (), "A1")
    for record in (second, october, activation, first):
        store.put_tweet(record)
    assert store.tweets_of_month("2026-11") == [first, second, activation]
    assert store.tweets_of_month("2026-10") == [october]


def test_a_tweet_item_is_indexed_by_month(table: Table) -> None:
    DynamoDBRelayStore(table).put_tweet(
        TweetRecord("1890", "17 nouvelles offres…", NOW, "digest", ("P1", "P2"), "A1")
    )
    raw = table.client.get_item(
        TableName=table.table_name, Key={"pk": {"S": "TWEET#1890"}, "sk": {"S": "TWEET"}}
    )["Item"]
    assert raw["entity"] == {"S": "tweet"}
    assert raw["gsi2pk"] == {"S": "TWEET#2026-11"}
    assert raw["gsi2sk"] == {"S": "2026-11-26T10:00:00Z#1890"}
    assert raw["post_ids"] == {"L": [{"S": "P1"}, {"S": "P2"}]}
    assert raw["kind"] == {"S": "digest"}
