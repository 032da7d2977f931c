"""The relay to X: once per post, within the quota, deferred and never dropped.

The relay runs with the in-memory store and budget (their DynamoDB twins are checked in
test_relay_store.py and test_quota.py), the real tweet texts and X's real error types,
and a fake X that records every request and answers what a test tells it to.
"""

from __future__ import annotations

import heapq
import io
import json
import logging
import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from entraide.activation.activation_store import ActivationStore
from entraide.activation.events import ActivationEvent, activation_message
from entraide.adapters.table import Table
from entraide.intake.post_store import PostStore
from entraide.kernel.model import Activation, Category, Contact, Kind, Post, PostStatus
from entraide.moderation.announce import approved_message
from entraide.publishing.channel_errors import (
    DuplicateText,
    RateLimited,
    Rejected,
    Unavailable,
)
from entraide.publishing.quota import MemoryBudget, QuotaLimits, Reservation
from entraide.publishing.quota_store import DynamoDBBudget
from entraide.publishing.relay import Relay
from entraide.publishing.relay_memory import MemoryRelayStore
from entraide.publishing.relay_outcomes import (
    Deferred,
    Done,
    PermanentFailure,
    RelayOutcome,
    Skipped,
    TemporaryFailure,
    defer_delay_seconds,
)
from entraide.publishing.relay_store import (
    ClaimStatus,
    DynamoDBRelayStore,
    TweetRecord,
    post_publication,
)
from entraide.publishing.x_answers import (
    SCOPE_24H_USER,
    PostedTweet,
)
from entraide.publishing.xapi import DryRunPoster
from tests.factories import make_activation, make_post

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
BASE_URL = "https://shareentraide.example"
#: A claim lasts the invocation (30 s when the caller gives no deadline) and a margin.
LEASE = timedelta(seconds=35)
VISIBILITY_TIMEOUT = timedelta(seconds=180)
FIFTEEN_MINUTES = timedelta(minutes=15)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


Answer = Callable[[], None] | None


class FakeX:
    """Records each request. Answers, in turn, what it was told (then success); with
    ``limits`` it also enforces X's caps on its own (rolling 15 min and 24 h, UTC month)
    and answers 429 beyond them, as X would."""

    def __init__(self, clock: Clock, limits: QuotaLimits | None = None) -> None:
        self.clock = clock
        self.limits = limits
        self.requests: list[tuple[datetime, str]] = []
        self.accepted: list[tuple[datetime, PostedTweet]] = []
        self.refused_by_limits = 0
        self._answers: list[Answer] = []

    def then(self, *answers: Answer) -> None:
        self._answers.extend(answers)

    def _over_limits(self, now: datetime) -> bool:
        if self.limits is None:
            return False
        times = [at for at, _ in self.accepted]
        checks = [
            (self.limits.per_15min, [t for t in times if t > now - timedelta(minutes=15)]),
            (self.limits.per_24h, [t for t in times if t > now - timedelta(hours=24)]),
            (self.limits.per_month, [t for t in times if t.month == now.month]),
        ]
        return any(cap is not None and len(inside) >= cap for cap, inside in checks)

    def post(self, text: str) -> PostedTweet:
        now = self.clock()
        self.requests.append((now, text))
        if self._answers:
            answer = self._answers.pop(0)
            if answer is not None:
                answer()
        if self._over_limits(now):
            self.refused_by_limits += 1
            raise RateLimited(now + timedelta(hours=1), SCOPE_24H_USER)
        if any(tweet.text == text for _, tweet in self.accepted):
            duplicate()  # X refuses a text the account already has
        tweet = PostedTweet(id=str(1_000_000 + len(self.accepted)), text=text)
        self.accepted.append((now, tweet))
        return tweet

    @property
    def texts(self) -> list[str]:
        return [text for _, text in self.requests]


def rate_limited(reset_at: datetime) -> Answer:
    def answer() -> None:
        raise RateLimited(reset_at, SCOPE_24H_USER)

    return answer


def duplicate() -> None:
    raise DuplicateText("You are not allowed to create a Tweet with duplicate content.")


def unavailable() -> None:
    raise Unavailable("503 Service Unavailable")


def unauthorized() -> None:
    raise Rejected(401, "Unauthorized")


@dataclass
class World:
    clock: Clock
    store: MemoryRelayStore
    budget: MemoryBudget
    x: Any
    relay: Relay
    posts: dict[str, Post] = field(default_factory=dict)
    activations: dict[str, Activation] = field(default_factory=dict)
    metrics: list[tuple[str, float]] = field(default_factory=list)

    def approve(
        self,
        post_id: str,
        *,
        activation: str = "A1",
        departement: str = "11",
        kind: Kind = Kind.OFFER,
        category: Category = Category.HEBERGEMENT,
    ) -> dict[str, Any]:
        """An approved post now; returns the message the topic carries."""
        post = make_post(
            id=post_id,
            title=f"Annonce {post_id}",
            activation_id=activation,
            departement=departement,
            kind=kind,
            category=category,
            status=PostStatus.APPROVED,
            version=2,
            decided_by="moderation@example.org",
            decided_at=self.clock(),
        )
        self.posts[post_id] = post
        return approved_message(post)

    def metric_count(self, name: str) -> float:
        return sum(value for metric, value in self.metrics if metric == name)


ACTIVATIONS = {
    "A1": make_activation(),
    "A2": make_activation(id="A2", departements=("30",), hashtag="#InondationsGard", opened_at=T0),
}


def make_world(
    limits: QuotaLimits | None = None,
    *,
    store: MemoryRelayStore | None = None,
    poster: Any = None,
    x_limits: QuotaLimits | None = None,
    **options: Any,
) -> World:
    clock = Clock()
    store = store or MemoryRelayStore()
    budget = MemoryBudget(limits or QuotaLimits(per_24h=100), clock=clock)
    x = poster if poster is not None else FakeX(clock, x_limits)
    posts: dict[str, Post] = {}
    metrics: list[tuple[str, float]] = []
    relay = Relay(
        store,
        budget,
        x,
        clock=clock,
        public_base_url=BASE_URL,
        load_post=posts.get,
        load_activation=ACTIVATIONS.get,
        metric=lambda name, value: metrics.append((name, value)),
        **options,
    )
    return World(clock, store, budget, x, relay, posts, dict(ACTIVATIONS), metrics)


def state(world: World, post_id: str, at: datetime | None = None) -> ClaimStatus:
    """The publication of a post on X, as the relay's ledger holds it."""
    return world.store.publication(post_publication(post_id), at or world.clock()).status


# --------------------------------------------------------------------------- one post
def test_an_approved_post_is_tweeted_once_and_recorded() -> None:
    # Given an approved offer in the Aude and a budget of 100 a day
    world = make_world()
    message = world.approve("P1")
    # When the relay handles its message
    outcome = world.relay.handle_approved(message)
    # Then one tweet relays it, with its link and the activation's hashtag
    assert outcome == Done("1000000", ("P1",), "post")
    [text] = world.x.texts
    assert "« Annonce P1 »" in text
    assert f"{BASE_URL}/posts/P1" in text
    assert "#InondationsAude" in text
    # and the post is announced, out of the backlog, the tweet recorded, one unit spent
    assert world.store.announced["P1"].tweet_id == "1000000"
    assert world.store.backlog("A1") == []
    assert world.store.tweets["1000000"] == TweetRecord("1000000", text, T0, "post", ("P1",), "A1")
    assert state(world, "P1") is ClaimStatus.DONE
    assert world.budget.remaining(T0) == 99


def test_a_redelivered_message_makes_no_second_tweet() -> None:
    world = make_world()
    message = world.approve("P1")
    world.relay.handle_approved(message)
    # When SQS delivers the same message again, later
    world.clock.advance(minutes=3)
    outcome = world.relay.handle_approved(message)
    # Then nothing is posted, nothing spent
    assert outcome == Skipped("already announced")
    assert len(world.x.requests) == 1
    assert world.budget.remaining(world.clock()) == 99


def test_a_post_no_longer_approved_is_not_tweeted() -> None:
    world = make_world()
    message = world.approve("P1")
    world.posts["P1"] = make_post(id="P1", status=PostStatus.WITHDRAWN)
    assert world.relay.handle_approved(message) == Skipped("no longer approved")
    assert world.x.requests == []
    assert world.store.backlog("A1") == []


def test_a_message_without_a_post_id_goes_to_the_dlq() -> None:
    world = make_world()
    with pytest.raises(PermanentFailure):
        world.relay.handle_approved({"event": "post-approved"})


# ------------------------------------------------------------------------- X's answers
def test_a_429_defers_to_the_reset_time_and_the_post_goes_out_then() -> None:
    # Given X that answers 429 until 10:40 (its x-user-limit-24hour-reset)
    world = make_world()
    reset = T0 + timedelta(minutes=40)
    world.x.then(rate_limited(reset))
    message = world.approve("P1")
    # When the relay handles the message
    outcome = world.relay.handle_approved(message)
    # Then it is deferred to the reset time, never dropped; the unit is given back and
    # the budget blocked until then; the claim is released until then
    assert outcome == Deferred(reset, "X rate limit (24h-user)")
    assert world.budget.remaining(T0 + timedelta(minutes=39)) == 0
    assert world.budget.remaining(reset) == 100
    assert state(world, "P1", T0) is ClaimStatus.BUSY
    assert state(world, "P1", reset) is ClaimStatus.FREE
    assert not world.store.is_announced("P1")
    assert world.metric_count("XRateLimited") == 1
    # When the message comes back at the reset time
    world.clock.now = reset
    # Then the post goes out
    assert world.relay.handle_approved(message) == Done("1000000", ("P1",), "post")
    assert len(world.x.requests) == 2


def test_messages_arriving_while_blocked_wait_without_calling_x() -> None:
    world = make_world()
    world.x.then(rate_limited(T0 + timedelta(minutes=40)))
    world.relay.handle_approved(world.approve("P1"))
    world.clock.advance(minutes=1)
    outcome = world.relay.handle_approved(world.approve("P2"))
    assert isinstance(outcome, Deferred)
    assert len(world.x.requests) == 1


def test_a_duplicate_answer_counts_as_posted() -> None:
    # Given X that already has this very text (an earlier attempt timed out after posting)
    world = make_world()
    world.x.then(duplicate)
    message = world.approve("P1")
    # When the relay posts it
    outcome = world.relay.handle_approved(message)
    # Then the post is announced (tweet id unknown), recorded once, never posted again
    assert outcome == Done(None, ("P1",), "post")
    assert world.store.announced["P1"].tweet_id is None
    [record] = world.store.tweets.values()
    assert (record.id_known, record.post_ids) == (False, ("P1",))
    world.clock.advance(minutes=5)
    assert world.relay.handle_approved(message) == Skipped("already announced")
    assert len(world.x.requests) == 1


def test_a_503_gives_everything_back_and_asks_for_a_retry() -> None:
    world = make_world()
    world.x.then(unavailable)
    message = world.approve("P1")
    # When X fails
    with pytest.raises(TemporaryFailure):
        world.relay.handle_approved(message)
    # Then no unit is lost, the claim is free, the post waits in the backlog
    assert world.budget.remaining(T0) == 100
    assert state(world, "P1") is ClaimStatus.FREE
    assert [entry.post_id for entry in world.store.backlog("A1")] == ["P1"]
    # and SQS's redelivery (after the visibility timeout) posts it
    world.clock.advance(seconds=180)
    assert world.relay.handle_approved(message) == Done("1000000", ("P1",), "post")


def test_a_401_goes_to_the_dlq_with_a_log_line_and_a_metric(
    caplog: pytest.LogCaptureFixture,
) -> None:
    world = make_world()
    world.x.then(unauthorized)
    message = world.approve("P1")
    # When X refuses the credentials
    with (
        caplog.at_level(logging.ERROR, logger="entraide.publishing.relay"),
        pytest.raises(PermanentFailure) as failure,
    ):
        world.relay.handle_approved(message)
    # Then the failure is permanent, said once in the log, counted
    assert failure.value.status == 401
    [line] = [record.getMessage() for record in caplog.records]
    assert "P1" in line
    assert "401" in line
    assert "DLQ" in line
    assert world.metric_count("XRejected") == 1
    assert state(world, "P1") is ClaimStatus.FREE
    assert not world.store.is_announced("P1")


# ---------------------------------------------------------------------- exactly once
class CrashingStore(MemoryRelayStore):
    """The process dies after X posted, before the publication is recorded done."""

    crash_on_complete = True

    def complete(self, key: str, holder: str, tweet_id: str | None) -> bool:
        if self.crash_on_complete:
            self.crash_on_complete = False
            raise RuntimeError("Lambda timed out")
        return super().complete(key, holder, tweet_id)


def test_a_crash_between_the_tweet_and_its_record_never_tweets_twice(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a relay that dies right after X posted the tweet
    world = make_world(store=CrashingStore())
    message = world.approve("P1")
    with pytest.raises(RuntimeError):
        world.relay.handle_approved(message)
    assert len(world.x.accepted) == 1
    # When SQS redelivers the message while the claim's lease could still run
    world.clock.advance(seconds=20)
    early = world.relay.handle_approved(message)
    # Then it waits (the first call might still be running)
    assert early == Deferred(T0 + LEASE, "claimed by another relay")
    # When it comes back after the lease (the function's deadline and a margin)
    world.clock.now = T0 + VISIBILITY_TIMEOUT
    with caplog.at_level(logging.WARNING, logger="entraide.publishing.relay"):
        late = world.relay.handle_approved(message)
    # Then the same text is sent again, X refuses it as a duplicate: announced, one tweet
    assert late == Done(None, ("P1",), "post")
    assert world.x.texts[0] == world.x.texts[1]
    assert len(world.x.accepted) == 1
    assert world.store.is_announced("P1")
    assert world.store.backlog("A1") == []
    assert "never completed" in caplog.text
    assert world.metric_count("RelayTakenOver") == 1
    # and any later redelivery is a plain skip
    assert world.relay.handle_approved(message) == Skipped("already announced")


def test_a_crash_before_x_was_called_posts_the_tweet_once_after_the_lease() -> None:
    # Given a relay killed between its claim and its call to X (nothing was posted)
    class DiesBeforeX:
        def __init__(self, x: FakeX) -> None:
            self.x, self.dead = x, True

        def post(self, text: str) -> PostedTweet:
            if self.dead:
                self.dead = False
                raise KeyboardInterrupt  # killed: no exception handler runs
            return self.x.post(text)

    world = make_world()
    x = world.x
    world.relay.poster = DiesBeforeX(x)
    message = world.approve("P1")
    with pytest.raises(KeyboardInterrupt):
        world.relay.handle_approved(message)
    # When the message comes back after the lease
    world.clock.now = T0 + VISIBILITY_TIMEOUT
    outcome = world.relay.handle_approved(message)
    # Then the post is tweeted: at least once, never lost to a claim "in doubt"
    assert outcome == Done("1000000", ("P1",), "post")
    assert len(x.accepted) == 1


def test_a_crash_after_the_record_is_repaired_on_redelivery() -> None:
    # Given a relay that recorded the tweet, then died before clearing the backlog
    class DiesBeforeClearing(MemoryRelayStore):
        dead = True

        def remove_backlog(self, entries: Any) -> None:
            if self.dead:
                self.dead = False
                raise RuntimeError("killed")
            super().remove_backlog(entries)

    world = make_world(store=DiesBeforeClearing())
    message = world.approve("P1")
    with pytest.raises(RuntimeError):
        world.relay.handle_approved(message)
    # When the message is redelivered
    world.clock.advance(seconds=180)
    outcome = world.relay.handle_approved(message)
    # Then nothing is posted again, and the bookkeeping is finished
    assert outcome == Skipped("already announced")
    assert world.store.backlog("A1") == []
    assert len(world.x.requests) == 1


# --------------------------------------------------------------------------- digests
def test_a_backlog_beyond_the_budget_goes_out_as_one_digest() -> None:
    # Given 4 posts a day, no reserve, digests gathered for 15 minutes, and X answering 429
    # until 10:10 to the first post
    world = make_world(QuotaLimits(per_24h=4), digest_reserve=0, digest_wait=FIFTEEN_MINUTES)
    world.x.then(rate_limited(T0 + timedelta(minutes=10)))
    # When six offers arrive a minute apart (more than the 4 units the budget has)
    categories = [Category.HEBERGEMENT, Category.HEBERGEMENT, Category.TRANSPORT]
    categories += [Category.TRANSPORT, Category.REPAS, Category.HEBERGEMENT]
    outcomes = run_queue(
        world,
        [
            (
                T0 + timedelta(minutes=index),
                lambda p=f"P{index + 1}", c=category: world.approve(p, category=c),
            )
            for index, category in enumerate(categories)
        ],
    )
    # Then one digest covers the six, and every other message ends skipped
    [digest] = [outcome for outcome in outcomes if isinstance(outcome, Done)]
    assert digest.kind == "digest"
    assert sorted(digest.covered) == [f"P{index}" for index in range(1, 7)]
    text = world.x.texts[-1]
    assert text.startswith(
        "6 nouvelles offres d'aide dans l'Aude : hébergement 3, transport 2, repas 1"
    )
    assert "activation=A1" in text
    assert len(world.x.requests) == 2  # the 429, then the digest
    assert world.x.requests[-1][0] == T0 + timedelta(minutes=15)
    assert all(world.store.announced[f"P{i}"].digest for i in range(1, 7))
    assert world.store.backlog("A1") == []
    assert world.budget.remaining(world.clock()) == 3


def test_a_backlog_above_the_threshold_goes_out_as_a_digest_even_with_budget_left() -> None:
    # Given a threshold of 3 and plenty of budget, and X down for the first 3 posts
    world = make_world(digest_threshold=3)
    world.x.then(unavailable, unavailable, unavailable)
    messages = [world.approve(f"P{index}") for index in range(1, 5)]
    for message in messages[:3]:
        with pytest.raises(TemporaryFailure):
            world.relay.handle_approved(message)
    # When the fourth makes the backlog larger than the threshold
    outcome = world.relay.handle_approved(messages[3])
    # Then it waits to gather a digest rather than posting four tweets
    assert outcome == Deferred(T0 + timedelta(minutes=15), "gathering a digest")
    world.clock.advance(minutes=15)
    done = world.relay.handle_approved(messages[0])
    assert isinstance(done, Done)
    assert (done.kind, sorted(done.covered)) == ("digest", ["P1", "P2", "P3", "P4"])


def test_a_digest_of_a_single_post_is_that_posts_tweet() -> None:
    world = make_world(QuotaLimits(per_24h=4), digest_reserve=4, digest_wait=FIFTEEN_MINUTES)
    message = world.approve("P1")
    assert world.relay.handle_approved(message) == Deferred(
        T0 + timedelta(minutes=15), "gathering a digest"
    )
    world.clock.advance(minutes=15)
    assert world.relay.handle_approved(message) == Done("1000000", ("P1",), "post")
    assert "« Annonce P1 »" in world.x.texts[0]


def test_digests_are_paced_at_what_the_quota_sustains() -> None:
    # Given the free tier (17 a day, 500 a month): 13 units for single posts, 4 kept
    world = make_world(QuotaLimits.preset("free"))
    for index in range(13):
        assert isinstance(world.relay.handle_approved(world.approve(f"P{index:02d}")), Done)
    # When the next post arrives
    outcome = world.relay.handle_approved(world.approve("P13"))
    # Then it waits to be gathered for as long as the quota needs between two posts
    # (31 days / 500: the reserve lasts hours into a surge, not one hour), not 15 minutes
    assert outcome == Deferred(T0 + timedelta(days=31) / 500, "gathering a digest")
    assert len(world.x.requests) == 13


def test_posts_of_two_activations_never_share_a_digest() -> None:
    # Given a tight budget and posts of two activations (Aude, Gard) arriving together
    world = make_world(QuotaLimits(per_24h=6))
    rng = random.Random(3)
    arrivals = []
    for index in range(60):
        activation, departement = rng.choice([("A1", "11"), ("A2", "30")])
        at = T0 + timedelta(seconds=rng.uniform(0, 1800))
        arrivals.append((at, activation, departement, f"P{index:02d}"))
    queue = SimQueue(world)
    for at, activation, departement, post_id in sorted(arrivals):
        queue.at(
            at,
            lambda a=activation, d=departement, p=post_id: world.approve(
                p, activation=a, departement=d
            ),
        )
    queue.run()
    # Then every tweet is about one activation only, and names its département
    owner = {post_id: activation for _, activation, _, post_id in arrivals}
    digests = [t for t in world.store.tweets.values() if t.kind == "digest"]
    assert digests
    for tweet in world.store.tweets.values():
        assert {owner[post_id] for post_id in tweet.post_ids} == {tweet.activation_id}
    for tweet in digests:
        place = "dans l'Aude" if tweet.activation_id == "A1" else "dans le Gard"
        assert place in tweet.text
    assert all(world.store.is_announced(post_id) for post_id in owner)


# ------------------------------------------------------------- a burst against the quota
class SimQueue:
    """SQS as the handler uses it: deferred messages come back at their delay, failed
    ones after the visibility timeout; the clock jumps to the next visible message."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._heap: list[tuple[datetime, int, Any]] = []
        self._seq = 0
        self.outcomes: list[RelayOutcome] = []
        self.arrived: dict[str, datetime] = {}

    def at(self, moment: datetime, item: Any) -> None:
        heapq.heappush(self._heap, (moment, self._seq, item))
        self._seq += 1

    def run(self, limit: int = 100_000) -> None:
        for _ in range(limit):
            if not self._heap:
                return
            moment, _, item = heapq.heappop(self._heap)
            clock = self.world.clock
            clock.now = max(clock.now, moment)
            message: Mapping[str, Any] = item() if callable(item) else item
            self.arrived.setdefault(message["post_id"], clock.now)
            try:
                outcome = self.world.relay.handle_approved(message)
            except TemporaryFailure:
                self.at(clock.now + VISIBILITY_TIMEOUT, message)
                continue
            self.outcomes.append(outcome)
            if isinstance(outcome, Deferred):
                delay = defer_delay_seconds(outcome.until, clock.now)
                self.at(clock.now + timedelta(seconds=delay), message)
        raise AssertionError("the queue never drained")


def run_queue(world: World, items: Iterable[tuple[datetime, Any]]) -> list[RelayOutcome]:
    queue = SimQueue(world)
    for moment, item in items:
        queue.at(moment, item)
    queue.run()
    return queue.outcomes


def test_a_burst_of_300_posts_against_50_a_day_announces_every_post_within_quota() -> None:
    # Given a budget of 50 posts per 24 h, and an X that enforces the same cap itself
    limits = QuotaLimits(per_24h=50)
    world = make_world(limits, x_limits=limits)
    # When 300 posts are approved over one hour (random but seeded arrival times)
    rng = random.Random(2026)
    queue = SimQueue(world)
    categories = list(Category)
    for index in range(300):
        at = T0 + timedelta(seconds=rng.uniform(0, 3600))
        kind, category = rng.choice(list(Kind)), rng.choice(categories)
        queue.at(
            at, lambda p=f"P{index:03d}", k=kind, c=category: world.approve(p, kind=k, category=c)
        )
    queue.run()
    # Then every post is announced, by exactly one tweet
    post_ids = {f"P{index:03d}" for index in range(300)}
    assert all(world.store.is_announced(post_id) for post_id in post_ids)
    covered = Counter(p for tweet in world.store.tweets.values() for p in tweet.post_ids)
    assert set(covered) == post_ids
    assert max(covered.values()) == 1
    # and no request went over the budget, none was refused by X
    assert len(world.x.requests) <= 50
    assert world.x.refused_by_limits == 0
    assert not any(isinstance(o, Done) and o.tweet_id is None for o in queue.outcomes)
    # and the budget kept for digests announced the burst within the hour after it
    kinds = Counter(tweet.kind for tweet in world.store.tweets.values())
    assert kinds["digest"] >= 2
    latest = max(a.at for a in world.store.announced.values())
    assert latest <= T0 + timedelta(hours=2)


def test_a_day_long_stream_beyond_the_budget_is_announced_and_never_refused() -> None:
    # Given 17 a day (the free tier), an X enforcing it, and 200 posts over 30 hours
    limits = QuotaLimits.preset("free")
    world = make_world(limits, x_limits=limits)
    rng = random.Random(17)
    queue = SimQueue(world)
    for index in range(200):
        at = T0 + timedelta(seconds=rng.uniform(0, 30 * 3600))
        queue.at(at, lambda p=f"P{index:03d}": world.approve(p))
    queue.run()
    assert all(world.store.is_announced(f"P{index:03d}") for index in range(200))
    assert world.x.refused_by_limits == 0
    times = sorted(at for at, _ in world.x.requests)
    for at in times:
        assert sum(1 for t in times if at - timedelta(hours=24) < t <= at) <= 17


# ----------------------------------------------------------------------- activations
def test_an_activation_opening_is_tweeted_once() -> None:
    world = make_world()
    message = activation_message(ACTIVATIONS["A1"], ActivationEvent.OPENED)
    outcome = world.relay.handle_activation_event(message)
    assert outcome == Done("1000000", (), "activation")
    assert world.x.texts[0].startswith("ShareEntraide est activé pour l'Aude")
    assert world.store.tweets["1000000"].kind == "activation"
    world.clock.advance(minutes=2)
    assert world.relay.handle_activation_event(message) == Skipped("already posted")
    assert len(world.x.requests) == 1


def test_an_activation_closing_is_its_own_announcement() -> None:
    world = make_world()
    closed = make_activation(closed_at=T0 + timedelta(days=3))
    world.relay.handle_activation_event(activation_message(closed, ActivationEvent.OPENED))
    outcome = world.relay.handle_activation_event(
        activation_message(closed, ActivationEvent.CLOSED)
    )
    assert isinstance(outcome, Done)
    assert world.x.texts[1].startswith("Fin de l'activation")


def test_an_activation_announcement_waits_for_the_budget() -> None:
    # Given a budget of 1 a day, spent on a post
    world = make_world(QuotaLimits(per_24h=1), digest_reserve=0)
    assert isinstance(world.relay.handle_approved(world.approve("P1")), Done)
    # Then the opening of another activation waits for the next unit
    message = activation_message(ACTIVATIONS["A2"], ActivationEvent.OPENED)
    outcome = world.relay.handle_activation_event(message)
    assert outcome == Deferred(T0 + timedelta(hours=24, minutes=15), "budget spent (24h)")
    assert len(world.x.requests) == 1


# --------------------------------------------------------------------------- dry run
def test_the_dry_run_writes_tweets_to_the_outbox_through_the_same_quota(tmp_path: Path) -> None:
    # Given no X credentials: the dry-run poster, and a budget of 1 a day
    world = make_world(QuotaLimits(per_24h=1), digest_reserve=0)
    world.relay.poster = DryRunPoster(tmp_path / "outbox", console=io.StringIO(), clock=world.clock)
    # When two posts are approved
    first = world.relay.handle_approved(world.approve("P1"))
    second = world.relay.handle_approved(world.approve("P2"))
    # Then the first is written to tweets.jsonl, the second waits for the budget
    assert isinstance(first, Done)
    assert isinstance(second, Deferred)
    lines = (tmp_path / "outbox" / "tweets.jsonl").read_text(encoding="utf-8").splitlines()
    [record] = [json.loads(line) for line in lines]
    assert "« Annonce P1 »" in record["text"]
    assert world.store.announced["P1"].tweet_id == record["id"]
    assert world.store.tweets[record["id"]].text == record["text"]


# --------------------------------------------------------------------------- deferral
@pytest.mark.parametrize(
    ("wait", "seconds"),
    [
        (timedelta(seconds=0.2), 1),
        (timedelta(seconds=-5), 1),
        (timedelta(seconds=61.5), 62),
        (timedelta(minutes=15), 900),
        (timedelta(hours=20), 900),
    ],
)
def test_a_deferral_is_a_delay_of_one_second_to_fifteen_minutes(
    wait: timedelta, seconds: int
) -> None:
    assert defer_delay_seconds(T0 + wait, T0) == seconds


def test_budget_units_are_given_back_when_nothing_is_posted() -> None:
    # a publication held by another relay: the unit reserved for it is given back
    world = make_world(QuotaLimits(per_24h=2))
    message = world.approve("P1")
    world.store.claim(post_publication("P1"), T0, holder="other", lease_until=T0 + LEASE)
    assert world.relay.handle_approved(message) == Deferred(T0 + LEASE, "claimed by another relay")
    assert world.budget.remaining(T0) == 2
    assert isinstance(world.budget.reserve(T0), Reservation)


def test_an_activation_opened_again_is_a_new_text() -> None:
    # Given two activations of the same hazard for the same département (one after the other)
    world = make_world()
    first = make_activation(id="A1")
    second = make_activation(id="A9", opened_at=T0 + timedelta(days=30))
    world.activations["A9"] = second
    world.relay.load_activation = {"A1": first, "A9": second}.get
    # When both openings are announced
    for activation in (first, second):
        outcome = world.relay.handle_activation_event(
            activation_message(activation, ActivationEvent.OPENED)
        )
        assert isinstance(outcome, Done)
        assert outcome.tweet_id is not None  # X took each: never a silent "duplicate"
    # Then each text names its activation
    assert world.x.texts[0] != world.x.texts[1]
    assert "activation=A9" in world.x.texts[1]


def test_two_digests_of_equal_counts_are_two_texts() -> None:
    # Given the same backlog twice (two hours apart), gathered into a digest each time
    world = make_world(QuotaLimits(per_24h=4), digest_reserve=4, digest_wait=FIFTEEN_MINUTES)
    texts = []
    for round_ in range(2):
        messages = [world.approve(f"R{round_}P{i}") for i in range(3)]
        for message in messages:
            world.relay.handle_approved(message)
        world.clock.advance(minutes=15)
        outcome = world.relay.handle_approved(messages[0])
        assert isinstance(outcome, Done)
        assert (outcome.kind, outcome.tweet_id is not None) == ("digest", True)
        texts.append(world.x.texts[-1])
        world.clock.advance(hours=2)
    # Then X got two texts, each naming its digest, never a "duplicate" for the second
    assert texts[0].split("➜")[0] == texts[1].split("➜")[0]
    assert texts[0] != texts[1]
    assert all("lot=" in text for text in texts)


# ----------------------------------------------------------------- the same on DynamoDB
def test_the_relay_runs_the_same_on_the_table(
    activations: ActivationStore, posts: PostStore, table: Table
) -> None:
    # Given an approved post and its activation in the table, the DynamoDB store and budget
    clock = Clock()
    activations.create_activation(ACTIVATIONS["A1"])
    pending = make_post(id="P1", title="Annonce P1")
    posts.create_post(pending, Contact("p1@example.org"))
    post = posts.transition(pending, PostStatus.APPROVED, at=T0, by="moderation@example.org")
    store = DynamoDBRelayStore(table)
    budget = DynamoDBBudget(table, QuotaLimits(per_24h=100), clock=clock)
    x = FakeX(clock)
    relay = Relay(
        store,
        budget,
        x,
        clock=clock,
        public_base_url=BASE_URL,
        load_post=posts.get_post,
        load_activation=activations.get_activation,
    )
    # When its message is handled, then delivered again
    first = relay.handle_approved(approved_message(post))
    clock.advance(minutes=3)
    again = relay.handle_approved(approved_message(post))
    # Then one tweet, recorded for the month's report, the publication done (the post item
    # untouched), one unit spent
    assert first == Done("1000000", ("P1",), "post")
    assert again == Skipped("already announced")
    assert len(x.requests) == 1
    [record] = store.tweets_of_month("2026-11")
    assert (record.tweet_id, record.post_ids, record.kind) == ("1000000", ("P1",), "post")
    assert store.is_announced("P1")
    assert store.backlog("A1") == []
    assert budget.remaining(clock()) == 99
    assert posts.get_post("P1") == post
