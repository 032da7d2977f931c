"""A post that ends leaves X: its tweet deleted once, whatever the redeliveries and faults.

X's answers to ``DELETE /2/tweets/:id`` come from tweepy's recorded cassette (the real API:
``200 {"data":{"deleted":true}}``, ``x-rate-limit-limit: 50``); the relay's claims are both
stores (dicts, and the table of template.yaml in moto).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses
import yaml

from entraide.adapters.table import Table
from entraide.kernel.model import Post, PostStatus
from entraide.publishing.channel_errors import (
    RateLimited,
    Rejected,
    Unavailable,
)
from entraide.publishing.quota import Denied, MemoryBudget, QuotaLimits
from entraide.publishing.relay_memory import MemoryRelayStore
from entraide.publishing.relay_outcomes import Deferred, PermanentFailure, Skipped, TemporaryFailure
from entraide.publishing.relay_store import (
    ClaimStatus,
    DynamoDBRelayStore,
    RelayStore,
    post_publication,
)
from entraide.publishing.retraction import (
    RETRACTED_EVENT,
    Retractor,
    XChannel,
    retraction_message,
)
from entraide.publishing.x_answers import (
    SCOPE_15MIN,
)
from entraide.publishing.xapi import DryRunPoster, TweepyPoster
from tests.factories import X_CREDENTIALS, make_post
from tests.paths import FIXTURES

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
CASSETTE = FIXTURES / "twitter" / "tweepy_test_client_create_and_delete_tweet.yaml"
RECORDED_ID = "1456012973835788293"  # the tweet the cassette creates, then deletes
TIMEOUT = timedelta(seconds=60)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class FakeX:
    """Deletes what it is asked to; answers, in turn, what a test tells it to."""

    def __init__(self) -> None:
        self.deleted: list[str] = []
        self.answers: list[Exception | None] = []

    def delete(self, tweet_id: str) -> None:
        answer = self.answers.pop(0) if self.answers else None
        if answer is not None:
            raise answer
        self.deleted.append(tweet_id)


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> RelayStore:
    if request.param == "memory":
        return MemoryRelayStore()
    table: Table = request.getfixturevalue("table")
    return DynamoDBRelayStore(table)


def relay_claims(store: RelayStore, key: str, now: datetime, holder: str = "relay") -> Any:
    """A relay's claim on ``key``, held for ``TIMEOUT`` (its run and margin)."""
    send = {"digest": holder} if holder.startswith("publish:digest:") else {"text": "…"}
    return store.claim(key, now, holder=holder, lease_until=now + TIMEOUT, send=send)


class World:
    def __init__(self, store: RelayStore) -> None:
        self.store = store
        self.clock = Clock()
        self.x = FakeX()
        self.posts: dict[str, Post] = {}
        self.metrics: list[tuple[str, float]] = []
        # X paid per use: $30 a month, 100 posts per 15 minutes, 50 deletions per 15 minutes
        self.budget = MemoryBudget(QuotaLimits.preset("payg"), clock=self.clock)
        self.retractor = Retractor(
            store,
            [XChannel(store, self.x, self.budget)],
            clock=self.clock,
            load_post=self.posts.get,
            metric=lambda name, value: self.metrics.append((name, value)),
        )

    def tweeted(self, post_id: str, tweet_id: str | None, *, holder: str = "relay") -> None:
        """The relay announced the post (its claim, completed with the tweet; None: X
        said "duplicate")."""
        key = post_publication(post_id)
        relay_claims(self.store, key, self.clock(), holder)
        self.store.complete(key, holder, tweet_id)

    def ended(self, post_id: str, status: PostStatus = PostStatus.WITHDRAWN) -> None:
        self.posts[post_id] = make_post(id=post_id, status=status)

    def handle(self, post_id: str) -> Any:
        return self.retractor.handle(retraction_message(post_id))


def test_an_ended_posts_tweet_is_deleted_once_whatever_the_redeliveries(store: RelayStore) -> None:
    # Given a post tweeted, then withdrawn
    world = World(store)
    world.tweeted("P1", "1861")
    world.ended("P1")
    # When its retraction is delivered three times (SQS redelivers; the stream too)
    outcomes = [world.handle("P1") for _ in range(3)]
    # Then X deleted the tweet once, and the call was priced
    assert world.x.deleted == ["1861"]
    assert all(isinstance(outcome, Skipped) for outcome in outcomes)
    assert ("XDeleteSpendUsd", 0.01) in world.metrics
    assert [m for m in world.metrics if m[0] == "PostMessageDeleted"] == [("PostMessageDeleted", 1)]


def test_a_post_withdrawn_before_its_tweet_is_never_tweeted_afterwards(store: RelayStore) -> None:
    # Given a post withdrawn while its announcement still waited in the relay's queue
    world = World(store)
    world.ended("P1")
    # When its retraction comes first
    assert isinstance(world.handle("P1"), Skipped)
    # Then nothing is deleted, and the relay, which claims a post before tweeting it,
    # finds the post done: it will never tweet it
    assert world.x.deleted == []
    assert relay_claims(store, post_publication("P1"), world.clock()).status is ClaimStatus.DONE


def test_a_tweet_under_way_defers_the_retraction_until_it_is_recorded(store: RelayStore) -> None:
    # Given the relay tweeting the post right now (its claim held, fresh)
    world = World(store)
    relay_claims(store, post_publication("P1"), world.clock())
    world.ended("P1")
    # When the retraction comes
    outcome = world.handle("P1")
    # Then it waits for the tweet's record, deleting nothing yet
    assert isinstance(outcome, Deferred)
    assert world.x.deleted == []
    # and once the relay recorded its tweet, the next delivery deletes it
    store.complete(post_publication("P1"), "relay", "1862")
    world.handle("P1")
    assert world.x.deleted == ["1862"]


def test_x_rate_limit_defers_to_its_reset_and_gives_the_claim_back(store: RelayStore) -> None:
    world = World(store)
    world.tweeted("P1", "1863")
    world.ended("P1", PostStatus.EXPIRED)
    reset = T0 + timedelta(minutes=12)
    world.x.answers = [RateLimited(reset, SCOPE_15MIN)]
    outcome = world.handle("P1")
    assert isinstance(outcome, Deferred)
    assert outcome.until == reset
    assert world.x.deleted == []
    world.clock.now = reset
    world.handle("P1")
    assert world.x.deleted == ["1863"]


def test_an_outage_lets_sqs_redeliver_and_a_refusal_goes_to_the_dead_letters(
    store: RelayStore,
) -> None:
    world = World(store)
    world.tweeted("P1", "1864")
    world.ended("P1")
    world.x.answers = [Unavailable("503 Service Unavailable"), Rejected(401, "Unauthorized")]
    with pytest.raises(TemporaryFailure):
        world.handle("P1")
    with pytest.raises(PermanentFailure):
        world.handle("P1")
    world.handle("P1")  # the credentials fixed: the claim was given back each time
    assert world.x.deleted == ["1864"]


def test_a_crash_after_the_delete_deletes_again_rather_than_never(store: RelayStore) -> None:
    # Given a relay that died between X's answer and the record of the deletion
    world = World(store)
    world.tweeted("P1", "1865")
    world.ended("P1")
    relay_claims(store, "P1#retracted#x", world.clock(), "died")  # claimed, never completed
    # When the message comes back after the claim's timeout
    world.clock.now = T0 + TIMEOUT + timedelta(seconds=1)
    world.handle("P1")
    # Then the deletion is made (again: X answers 404 for a tweet already gone, a success)
    assert world.x.deleted == ["1865"]
    world.handle("P1")
    assert world.x.deleted == ["1865"]


def test_a_digest_and_a_tweet_of_unknown_id_stay(store: RelayStore) -> None:
    world = World(store)
    world.tweeted("P1", "1866", holder="publish:digest:A1:11:01K")  # covered by a digest
    world.tweeted("P2", None)  # X said "duplicate": the id was never learnt
    world.ended("P1")
    world.ended("P2")
    world.handle("P1")
    world.handle("P2")
    assert world.x.deleted == []
    assert ("RetractionUnknownTweet", 1) in world.metrics


def test_a_post_still_public_or_unknown_is_left_alone(store: RelayStore) -> None:
    world = World(store)
    world.tweeted("P1", "1867")
    world.posts["P1"] = make_post(id="P1", status=PostStatus.APPROVED)
    assert world.handle("P1") == Skipped("post still approved")
    assert world.handle("P9") == Skipped("post unknown")
    assert world.x.deleted == []
    with pytest.raises(PermanentFailure):
        world.retractor.handle({"event": RETRACTED_EVENT})


# --- X itself: the recorded DELETE ----------------------------------------------------------


def recorded_delete() -> dict[str, Any]:
    document = yaml.safe_load(CASSETTE.read_text("utf-8"))
    [interaction] = [i for i in document["interactions"] if i["request"]["method"] == "DELETE"]
    return dict(interaction)


def test_tweepy_deletes_with_the_recorded_answer_of_the_real_api(
    mocked: responses.RequestsMock,
) -> None:
    # Given X answering the DELETE as it did in tweepy's recording (gzip body, headers)
    interaction = recorded_delete()
    response = interaction["response"]
    headers = [(name, value) for name, values in response["headers"].items() for value in values]
    mocked.add(
        responses.DELETE,
        f"https://api.twitter.com/2/tweets/{RECORDED_ID}",
        body=response["body"]["string"],
        status=response["status"]["code"],
        headers=headers,
    )
    # When the poster deletes that tweet
    TweepyPoster(lambda: X_CREDENTIALS, clock=lambda: T0).delete(RECORDED_ID)
    # Then one signed DELETE went to the tweet's URL
    [call] = mocked.calls
    assert call.request.method == "DELETE"
    assert call.request.headers["Authorization"].startswith("OAuth ")


def test_tweepy_counts_a_tweet_already_gone_as_deleted_and_reads_a_rate_limit(
    mocked: responses.RequestsMock,
) -> None:
    url = "https://api.twitter.com/2/tweets/42"
    json_type = {"content-type": "application/json; charset=utf-8"}
    # HANDMADE: X's problem body for a missing resource (no capture at hand), status 404
    mocked.add(
        responses.DELETE,
        url,
        status=404,
        headers=json_type,
        body='{"title":"Not Found Error","type":"about:blank","status":404,"detail":"Not Found"}',
    )
    # the 429 body as the real API sends it (tests/fixtures/twitter/SOURCES.md)
    reset = int((T0 + timedelta(minutes=9)).timestamp())
    mocked.add(
        responses.DELETE,
        url,
        status=429,
        headers=json_type | {"x-rate-limit-limit": "50", "x-rate-limit-reset": str(reset)},
        body='{"title":"Too Many Requests","type":"about:blank","status":429,'
        '"detail":"Too Many Requests"}',
    )
    poster = TweepyPoster(lambda: X_CREDENTIALS, clock=lambda: T0)
    poster.delete("42")  # gone already: done
    with pytest.raises(RateLimited) as limited:
        poster.delete("42")
    assert limited.value.reset_at == datetime.fromtimestamp(reset, UTC)


def test_the_dry_run_writes_each_deletion_to_its_outbox(tmp_path: Any) -> None:
    poster = DryRunPoster(tmp_path, clock=lambda: T0, console=io.StringIO())
    poster.delete("dry-1")
    line = (tmp_path / "tweets-deleted.jsonl").read_text("utf-8")
    assert line == '{"deleted": "dry-1", "at": "2026-11-26T10:00:00+00:00"}\n'


# --- X's deletions in the X budget: priced, paced by their own window ----------------------


def test_each_deletion_made_is_spent_in_the_x_budget_and_one_not_made_is_given_back(
    store: RelayStore,
) -> None:
    # Given two posts tweeted then withdrawn, X paid per use
    world = World(store)
    for post_id, tweet_id in (("P1", "1871"), ("P2", "1872")):
        world.tweeted(post_id, tweet_id)
        world.ended(post_id)
    # When X rate-limits the first deletion, then both are made
    world.x.answers = [RateLimited(T0 + timedelta(minutes=1), SCOPE_15MIN)]
    world.handle("P1")
    assert world.budget.spent() == 0  # X deleted nothing: nothing billed
    world.clock.now = T0 + timedelta(minutes=1)
    world.handle("P1")
    world.handle("P2")
    world.handle("P2")  # a redelivery: no second call, no second price
    # Then the budget counts two deletions at $0.010 each
    assert world.x.deleted == ["1871", "1872"]
    assert world.budget.spent() == 2 * 10


def test_the_51st_deletion_in_15_minutes_waits_for_the_deletions_window_not_for_posting(
    store: RelayStore,
) -> None:
    # Given 51 posts tweeted then withdrawn at once (an erasure of a busy account)
    world = World(store)
    for number in range(51):
        world.tweeted(f"P{number}", str(1900 + number))
        world.ended(f"P{number}")
    posting_units = world.budget.remaining()
    # When their retractions come within the same minute
    outcomes = [world.handle(f"P{number}") for number in range(51)]
    # Then 50 are deleted (X's DELETE limit, 50 per 15 minutes per user) and the 51st waits
    # for the window, its claim given back; the posting units are untouched
    assert len(world.x.deleted) == 50
    last = outcomes[-1]
    assert isinstance(last, Deferred)
    assert "delete-15m" in last.reason
    assert T0 + timedelta(minutes=14) < last.until <= T0 + timedelta(minutes=16)
    assert world.budget.remaining() == posting_units
    world.clock.now = last.until
    world.handle("P50")
    assert world.x.deleted[-1] == "1950"


def test_a_deletion_is_made_even_when_the_months_money_or_posting_is_exhausted(
    store: RelayStore,
) -> None:
    # Given X's money for posts spent for the month, and X blocking posts after a 429
    world = World(store)
    while not isinstance(world.budget.reserve(cost=500, spender="activation"), Denied):
        pass  # activations spent all the pace and the reserve allow on Nov 26
    spent = world.budget.spent()
    world.budget.block_until(T0 + timedelta(hours=3))
    assert isinstance(world.budget.reserve(cost=15, spender="activation"), Denied)
    world.tweeted("P1", "1881")
    world.ended("P1")
    # When the post's retraction comes
    world.handle("P1")
    # Then the tweet is deleted (a post that ended must leave X), and its price counted
    assert world.x.deleted == ["1881"]
    assert world.budget.spent() == spent + 10
