"""The daily snapshot on every channel: Bluesky and Mastodon read free, X's reads paid.

Bluesky runs ``atproto`` for real over an ``httpx.MockTransport``; Mastodon runs
``Mastodon.py`` for real over ``responses``. The answers are recorded ones where they exist
(the SDKs' own test data and cassettes: tests/fixtures/<network>/SOURCES.md says which),
made ones (``HANDMADE_``) beside them where the recording lacks the figures.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import responses

from entraide.adapters.table import Table
from entraide.publishing.bluesky import BlueskyCredentials, BlueskyPoster, atproto_client
from entraide.publishing.mastodon import MastodonCredentials, MastodonPoster
from entraide.publishing.quota import MemoryBudget, QuotaLimits, Reservation
from entraide.publishing.relay_store import DynamoDBRelayStore, TweetRecord
from entraide.reporting.channel_readers import BlueskyReader, MastodonReader
from entraide.reporting.daily import X_PAID_LIMITS, daily_snapshot, daily_snapshots
from entraide.reporting.snapshot_store import SnapshotStore
from entraide.reporting.snapshots import (
    Account,
    FollowersPage,
    MetricsBatch,
    TopFollower,
    TweetMetrics,
)
from tests.network_answers import cassette_answer, handmade_answer
from tests.paths import FIXTURES

NOW = datetime(2026, 12, 1, 4, 30, tzinfo=UTC)
TODAY = NOW.date()
BLUESKY = FIXTURES / "bluesky"
MASTODON = FIXTURES / "mastodon"
RECORDED_POST = "at://did:plc:kvwvcn5iqfooopmyzvb4qzba/app.bsky.feed.post/3kaheyt6vpc22"
GONE_POST = "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3l4qazgone22"


def record(table: Table, channel: str, message_id: str, posted_at: datetime) -> None:
    """A message the relay published on ``channel`` (its record, as the relay writes it)."""
    DynamoDBRelayStore(table, channel).put_tweet(
        TweetRecord(
            tweet_id=message_id,
            text="🏠 Offre d'aide",
            posted_at=posted_at,
            kind="post",
            post_ids=(f"P-{message_id[-6:]}",),
            activation_id="A-11",
        )
    )


# --- Bluesky -------------------------------------------------------------------------------


def made(name: str) -> httpx.Response:
    data = json.loads((BLUESKY / name).read_text(encoding="utf-8"))
    return httpx.Response(data["status"], headers=data["headers"], json=data["body"])


class AppView:
    """The Bluesky endpoints a snapshot calls, answered from the fixtures."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.posts_answer: httpx.Response | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        method = request.url.path.rsplit("/", 1)[-1]
        self.calls.append(method)
        if method == "com.atproto.server.createSession":
            return made("HANDMADE_create_session.json")
        if method == "app.bsky.actor.getProfile":
            return made("HANDMADE_get_profile.json")
        if method == "app.bsky.graph.getFollowers":
            recorded = json.loads((BLUESKY / "atproto_get_follows.json").read_text())
            # getFollows and getFollowers answer the same views, under their own key
            return httpx.Response(
                200, json={"subject": recorded["subject"], "followers": recorded["follows"]}
            )
        if method == "app.bsky.actor.getProfiles":
            return made("HANDMADE_get_profiles.json")
        if method == "app.bsky.feed.getPosts":
            if self.posts_answer is not None:
                return self.posts_answer
            thread = json.loads(
                (BLUESKY / "atproto_thread_view_post_with_embed_media.json").read_text()
            )
            wanted = request.url.params.get_list("uris")
            return httpx.Response(
                200, json={"posts": [p for p in [thread["thread"]["post"]] if p["uri"] in wanted]}
            )
        return httpx.Response(404)

    def reader(self) -> BlueskyReader:
        from atproto_client.request import Request

        credentials = BlueskyCredentials.model_validate(
            {"handle": "shareentraide.bsky.social", "app_password": "abcd-efgh-ijkl-mnop"}
        )

        def client(creds: BlueskyCredentials) -> Any:
            return atproto_client(creds, request=Request(transport=httpx.MockTransport(self)))

        return BlueskyReader(
            BlueskyPoster(lambda: credentials, client_factory=client, clock=lambda: NOW)
        )


def test_bluesky_followers_their_most_followed_and_the_posts_metrics_are_recorded(
    table: Table,
) -> None:
    # Given two posts the relay published on Bluesky, one since deleted there
    record(table, "bluesky", RECORDED_POST, datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    record(table, "bluesky", GONE_POST, datetime(2026, 11, 21, 9, 0, tzinfo=UTC))
    appview = AppView()
    # When the day's snapshot of Bluesky is taken
    result = daily_snapshot(table, appview.reader(), now=NOW, channel="bluesky")
    # Then the account's count, the most followed of its followers (ranked by the counts of
    # getProfiles: profile views carry none) and the post's metrics are recorded
    assert result.status == "recorded"
    assert result.followers is not None
    assert result.followers.followers_count == 1840
    assert [u.username for u in result.followers.top_followers[:3]] == [
        "bsky.app",
        "jay.bsky.team",
        "why.bsky.team",
    ]
    assert result.followers.followers_read == 6
    assert result.followers.top_complete  # no cursor: every follower was read
    assert [m.tweet_id for m in result.tweet_metrics] == [RECORDED_POST]
    assert result.tweets_missing == (GONE_POST,)
    # And they are Bluesky's: X's snapshot of the same days is untouched
    read = SnapshotStore(table, "bluesky").between(TODAY, TODAY)
    assert read.followers[0].followers_count == 1840
    assert read.tweet_metrics[0].tweet_id == RECORDED_POST
    assert SnapshotStore(table).between(TODAY, TODAY).followers == ()
    assert appview.calls.count("com.atproto.server.createSession") == 1


def test_a_bluesky_rate_limit_keeps_the_followers_read_before_it(table: Table) -> None:
    # Given a post, and the AppView answering its lookup with a real 429
    record(table, "bluesky", RECORDED_POST, datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    appview = AppView()
    appview.posts_answer = made_429()
    # When the snapshot is taken
    result = daily_snapshot(table, appview.reader(), now=NOW, channel="bluesky")
    # Then the followers are recorded, the metrics wait for tomorrow, the error says why
    assert result.status == "partial"
    assert result.followers is not None
    assert result.tweet_metrics == ()
    assert any("Bluesky rate limit" in error for error in result.errors)


def made_429() -> httpx.Response:
    data = json.loads((BLUESKY / "crossposter_issue55_rate_limited.json").read_text())
    return httpx.Response(data["status"], headers=data["headers"], json=data["body"])


# --- Mastodon ------------------------------------------------------------------------------

INSTANCE = "https://mastodon.example"
ME = "109440137734600341"


def cassette(name: str, index: int) -> dict[str, Any]:
    return cassette_answer(MASTODON / name, index)


def handmade(name: str) -> dict[str, Any]:
    return handmade_answer(MASTODON / name)


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def mastodon_reader() -> MastodonReader:
    credentials = MastodonCredentials.model_validate(
        {"api_base_url": INSTANCE, "access_token": "TOKEN"}
    )
    return MastodonReader(MastodonPoster(lambda: credentials, clock=lambda: NOW))


def test_mastodon_recorded_account_without_followers_gives_its_count_and_an_empty_top(
    table: Table, http: responses.RequestsMock
) -> None:
    # Given the instance answers as Mastodon.py's cassette recorded it
    recorded = "mastodonpy_test_account_followers.yaml"
    http.add(
        responses.GET, f"{INSTANCE}/api/v1/accounts/verify_credentials", **cassette(recorded, 0)
    )
    http.add(responses.GET, f"{INSTANCE}/api/v1/accounts/{ME}/followers", **cassette(recorded, 1))
    # When the snapshot is taken (no status published yet)
    result = daily_snapshot(table, mastodon_reader(), now=NOW, channel="mastodon")
    # Then the count is recorded, the top is empty and complete
    assert result.status == "recorded"
    assert result.followers is not None
    assert result.followers.followers_count == 0
    assert result.followers.top_followers == ()
    assert result.followers.top_complete


def test_mastodon_followers_are_ranked_and_statuses_measured_a_gone_one_missing(
    table: Table, http: responses.RequestsMock
) -> None:
    # Given two statuses published, one deleted since on the instance
    record(table, "mastodon", "109440146774012815", datetime(2026, 11, 28, 9, 0, tzinfo=UTC))
    record(table, "mastodon", "109440146774099999", datetime(2026, 11, 29, 9, 0, tzinfo=UTC))
    recorded = "mastodonpy_test_account_followers.yaml"
    http.add(
        responses.GET, f"{INSTANCE}/api/v1/accounts/verify_credentials", **cassette(recorded, 0)
    )
    http.add(
        responses.GET,
        f"{INSTANCE}/api/v1/accounts/{ME}/followers",
        **handmade("HANDMADE_followers_page.json"),
    )
    http.add(
        responses.GET,
        f"{INSTANCE}/api/v1/statuses/109440146774012815",
        **handmade("HANDMADE_status_with_counts.json"),
    )
    http.add(
        responses.GET,
        f"{INSTANCE}/api/v1/statuses/109440146774099999",
        **handmade("HANDMADE_not_found.json"),
    )
    # When the snapshot is taken, one page of followers allowed
    result = daily_snapshot(table, mastodon_reader(), now=NOW, channel="mastodon")
    # Then the followers are ranked by their own audience, the page says there are more
    assert result.followers is not None
    assert [u.username for u in result.followers.top_followers] == [
        "ledepeche@mastodon.example",
        "prefet11@social.example",
        "voisin",
    ]
    assert not result.followers.top_complete
    # And the status's favourites, boosts and replies are its likes, reposts and replies
    assert result.tweet_metrics == (
        TweetMetrics("109440146774012815", TODAY, likes=14, retweets=6, replies=2, quotes=0),
    )
    assert result.tweets_missing == ("109440146774099999",)
    assert SnapshotStore(table, "mastodon").between(TODAY, TODAY).tweet_metrics[0].likes == 14


def test_a_revoked_mastodon_token_records_nothing(
    table: Table, http: responses.RequestsMock
) -> None:
    # Given the instance refuses the token (the recorded 401)
    http.add(
        responses.GET,
        f"{INSTANCE}/api/v1/accounts/verify_credentials",
        **cassette("mastodonpy_test_home_tl_anonymous_throws.yaml", 0),
    )
    # When the snapshot is taken
    result = daily_snapshot(table, mastodon_reader(), now=NOW, channel="mastodon")
    # Then it failed, says so, and nothing was stored
    assert result.status == "failed"
    assert result.errors[0].startswith("account: 401")
    assert SnapshotStore(table, "mastodon").between(TODAY, TODAY).followers == ()


# --- X: every read paid from the X budget ----------------------------------------------------


class CountingX:
    """An X account as the snapshot reads it: 5,000 followers, pages of what is asked."""

    lookup_batch = 100

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def me(self) -> Account:
        self.calls.append(("me", 1))
        return Account("1072250532645998596", "ShareEntraide", 5000)

    def followers(
        self, user_id: str, *, max_results: int, pagination_token: str | None = None
    ) -> FollowersPage:
        self.calls.append(("followers", max_results))
        users = tuple(TopFollower(str(n), f"u{n}", n) for n in range(1, max_results + 1))
        return FollowersPage(users, "next")

    def tweet_metrics(self, tweet_ids: Sequence[str], day: date) -> MetricsBatch:
        self.calls.append(("tweets", len(tweet_ids)))
        return MetricsBatch(tuple(TweetMetrics(t, day, 1, 0, 0, 0) for t in tweet_ids))


def tweeted(table: Table, count: int) -> None:
    for number in range(count):
        record(
            table,
            "x",
            str(1_900_000_000_000_000_000 + number),
            datetime(2026, 11, 25, 8, 0, tzinfo=UTC),
        )


def test_xs_reads_are_priced_before_they_are_made_and_spent_in_the_x_budget(
    table: Table,
) -> None:
    # Given X paid per use ($30 a month) and 150 tweets of the last 30 days
    tweeted(table, 150)
    budget = MemoryBudget(QuotaLimits.preset("payg"), clock=lambda: NOW)
    x = CountingX()
    # When the day's snapshots are taken (Bluesky and Mastodon without credentials)
    results = daily_snapshots(
        table, {"x": x, "bluesky": None, "mastodon": None}, now=NOW, x_budget=budget
    )
    # Then X was read within the paid limits: itself, one page of 100 followers, the last
    # 100 tweets; each resource at $0.001, spent before the call: $0.201
    assert x.calls == [("me", 1), ("followers", 100), ("tweets", 100)]
    assert budget.spent(NOW) == 201
    assert X_PAID_LIMITS.follower_page_size == 100
    assert results["x"].recorded
    assert results["bluesky"].status == results["mastodon"].status == "skipped"


def test_reads_the_x_budget_cannot_pay_are_not_made(table: Table) -> None:
    # Given X's money for the month spent by posts (1 December: a day's pace, $0.75)
    tweeted(table, 10)
    budget = MemoryBudget(QuotaLimits(usd_per_month=30, activation_reserve=0.25), clock=lambda: NOW)
    for cost in (15, 1):  # posts, then the last millidollars
        while isinstance(budget.reserve(NOW, cost=cost), Reservation):
            pass
    spent = budget.spent(NOW)
    x = CountingX()
    # When the snapshot is taken
    results = daily_snapshots(table, {"x": x}, now=NOW, x_budget=budget)
    # Then nothing was read nor spent, and the result says why (a note, not an error)
    assert x.calls == []
    assert budget.spent(NOW) == spent
    assert results["x"].errors == ()
    assert any("read budget" in note for note in results["x"].notes)


def test_without_a_money_budget_xs_reads_are_not_priced(table: Table) -> None:
    # Given X on the basic tier (no money budget)
    budget = MemoryBudget(QuotaLimits.preset("basic"), clock=lambda: NOW)
    x = CountingX()
    # When the snapshot is taken
    daily_snapshots(table, {"x": x}, now=NOW, x_budget=budget)
    # Then the tier's own limits apply (a page of 1,000 followers), nothing is spent
    assert ("followers", 1000) in x.calls
    assert budget.spent(NOW) == 0
