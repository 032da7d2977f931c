"""What the relay remembers: claims, announcements, backlog, tweets.

The shared semantics are checked on both stores (in memory; DynamoDB on moto with the table
of template.yaml); the item layout only on DynamoDB.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from entraide.adapters.table import Table
from entraide.kernel.model import Category, Kind
from entraide.publishing.relay_memory import MemoryRelayStore
from entraide.publishing.relay_store import (
    BacklogEntry,
    ClaimState,
    ClaimStatus,
    DynamoDBRelayStore,
    RelayStore,
    TweetRecord,
    digest_publication,
    post_publication,
    publication_states,
)

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@dataclass
class Stores:
    store: RelayStore
    table: Table | None = None


@pytest.fixture(params=["memory", "dynamodb"])
def stores(request: pytest.FixtureRequest) -> Stores:
    if request.param == "memory":
        return Stores(MemoryRelayStore())
    table: Table = request.getfixturevalue("table")
    return Stores(DynamoDBRelayStore(table), table)


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


# -------------------------------------------------------------------------- publications
KEY = post_publication("P1")
LEASE = NOW + timedelta(seconds=35)


def claim(store: RelayStore, holder: str, at: datetime = NOW, **options: Any) -> ClaimState:
    return store.claim(KEY, at, holder=holder, lease_until=LEASE, **options)


def test_a_first_claim_is_the_callers_and_a_second_one_waits_for_its_lease(
    stores: Stores,
) -> None:
    store = stores.store
    first = claim(stores.store, "relay-1", send={"text": "Bonjour"})
    assert (first.status, first.text, first.holder) == (ClaimStatus.NEW, "Bonjour", "relay-1")
    again = claim(store, "relay-2", NOW + timedelta(seconds=5), send={"text": "Autre"})
    assert (again.status, again.retry_at) == (ClaimStatus.BUSY, LEASE)


def test_a_claim_never_completed_is_taken_over_with_the_text_it_stored(stores: Stores) -> None:
    # Given a claim whose relay stopped between the call to X and the record
    store = stores.store
    claim(store, "relay-1", send={"text": "Le texte envoyé"})
    # When another relay claims it after the lease, with a text of its own
    later = claim(store, "relay-2", LEASE, send={"text": "Un autre texte"})
    # Then it holds it, and sends the first text again (X refuses it if it has it)
    assert (later.status, later.text, later.taken_over) == (
        ClaimStatus.NEW,
        "Le texte envoyé",
        True,
    )
    assert store.complete(KEY, "relay-2", "1890")
    assert not store.complete(KEY, "relay-1", "1891")  # the first holder lost it


def test_a_completed_publication_is_done_with_its_tweet(stores: Stores) -> None:
    store = stores.store
    claim(store, "relay-1", send={"text": "t"})
    store.complete(KEY, "relay-1", "1890")
    state = claim(store, "relay-2", NOW + timedelta(days=5))
    assert (state.status, state.tweet_id) == (ClaimStatus.DONE, "1890")
    assert store.is_announced("P1")
    # releasing a done publication changes nothing
    store.release(KEY, "relay-1", NOW, "late")
    assert store.publication(KEY, NOW).status is ClaimStatus.DONE


def test_a_released_claim_is_free_again_at_its_time_with_or_without_its_text(
    stores: Stores,
) -> None:
    store = stores.store
    claim(store, "relay-1", send={"text": "t1"})
    store.release(KEY, "relay-1", NOW + timedelta(minutes=10), "X 429", forget=True)
    assert store.publication(KEY, NOW).status is ClaimStatus.BUSY
    free = store.publication(KEY, NOW + timedelta(minutes=10))
    assert (free.status, free.text) == (ClaimStatus.FREE, None)
    retaken = claim(store, "relay-2", NOW + timedelta(minutes=10), send={"text": "t2"})
    assert (retaken.status, retaken.text) == (ClaimStatus.NEW, "t2")
    # a release that keeps the text (X may have posted): the next claim sends it again
    store.release(KEY, "relay-2", NOW + timedelta(minutes=10), "X timeout")
    assert claim(store, "relay-3", NOW + timedelta(minutes=11), send={"text": "t3"}).text == "t2"


def test_an_operator_reads_where_a_dead_letters_publications_stand(stores: Stores) -> None:
    # Given P1's publication on X released after X failed, and none yet on Bluesky
    store = stores.store
    claim(store, "relay-1", send={"text": "t1"})
    store.release(KEY, "relay-1", NOW + timedelta(minutes=10), "X unavailable: 503")
    message = {"event": "post-approved", "post_id": "P1"}
    # When the operator lists the dead letter
    lines = publication_states(store.ledger, message, ["x", "bluesky"])
    # Then each channel's line says its state, its attempts, when it is due and why
    assert lines == [
        "publish:post:P1: x=due attempts=1 due=10:10:00 error=X unavailable: 503",
        "publish:bluesky:post:P1: absente du registre (jamais réservée)",
    ]
    # and a message for one channel speaks of that one alone
    assert len(publication_states(store.ledger, {**message, "channels": ["x"]}, ["x"])) == 1


def test_a_post_a_digest_covers_is_that_digests_alone(stores: Stores) -> None:
    # Given P1 covered by digest D (held by the digest's own name), whose run stopped
    store = stores.store
    digest = digest_publication("A1:11:X")
    store.claim(KEY, NOW, holder=digest, lease_until=LEASE, send={"digest": digest})
    # When a relay would tweet P1 alone after the lease
    alone = claim(store, "relay-2", LEASE + timedelta(seconds=1), send={"text": "seul"})
    # Then it is told the digest to finish, and holds nothing
    assert (alone.status, alone.digest) == (ClaimStatus.FREE, digest)
    assert claim(store, digest, LEASE + timedelta(seconds=1)).status is ClaimStatus.NEW
    # and a digest never gathers a post that holds a text
    other = post_publication("P2")
    store.claim(other, NOW, holder="r", lease_until=NOW, send={"text": "x"})
    gathered = store.claim(
        other, LEASE, holder=digest, lease_until=LEASE, send={"digest": digest}, unheld_only=True
    )
    assert gathered.status is ClaimStatus.BUSY


def test_a_publication_item_carries_the_text_and_no_address(table: Table) -> None:
    store = DynamoDBRelayStore(table)
    store.claim(
        KEY, NOW, holder="r", lease_until=LEASE, send={"text": "Texte"}, about={"post_id": "P1"}
    )
    raw = table.client.get_item(
        TableName=table.table_name, Key={"pk": {"S": "EFFECT#" + KEY}, "sk": {"S": "EFFECT"}}
    )["Item"]
    assert raw["owner"] == {"S": "relay"}
    assert raw["effects"]["M"]["x"]["M"]["data"]["M"]["text"] == {"S": "Texte"}
    assert "gsi5pk" not in raw  # the relay finds its publications by itself: not indexed
    assert "@" not in str(raw)


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


def test_a_post_added_again_and_missed_by_a_lagging_read_keeps_when_it_first_joined(
    table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a post that joined the backlog at 10:01, and reads of the backlog told, the
    # eventually consistent ones not seeing it yet (a replica behind the write)
    store = DynamoDBRelayStore(table)
    first = store.add_backlog(entry("P1", minute=1))
    get = table.get
    reads: list[bool] = []

    def lagging(key: dict[str, Any], **options: Any) -> Any:
        reads.append(options.get("consistent", True))
        return get(key, **options) if options.get("consistent", True) else None

    monkeypatch.setattr(table, "get", lagging)
    # When its message comes back at 10:30
    again = store.add_backlog(entry("P1", minute=1, queued_at=NOW + timedelta(minutes=30)))
    # Then the entry was read eventually consistent (half a unit), and is still one entry,
    # queued since 10:01
    assert reads == [False]
    assert again == first
    assert store.backlog_size("A1") == 1
