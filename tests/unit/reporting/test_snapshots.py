"""Daily snapshots against HTTP-level fakes of the X API v2 read endpoints.

tweepy runs for real (OAuth 1.0a signing, query parameters, its exception mapping); only
the HTTP exchange is faked with ``responses``. The bodies follow real responses:

- ``GET /2/users/me``: tweepy's cassette ``test_client_get_me.yaml`` (``data.id``,
  ``name``, ``username``), with the ``public_metrics`` object that ``user.fields=
  public_metrics`` adds (its shape from the ``includes.users`` of the GET /2/tweets capture);
- ``GET /2/users/:id/followers``: tweepy's cassette ``test_client_get_users_followers
  .yaml`` (``data`` of users, ``meta.result_count`` / ``meta.next_token``; the first users
  below are the cassette's), plus ``public_metrics``;
- ``GET /2/tweets``: the capture ``x_v2_get_tweets_public_metrics_takke.json`` (2022: no
  ``impression_count``), verbatim below, and the same shape with ``impression_count``;
- errors: the 429 body quoted in the fixtures' notice, X's "client-not-enrolled" 403 of
  endpoints an access tier lacks, "resource-not-found" entries for deleted tweets.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses

from entraide.adapters.table import Table
from entraide.publishing.relay_store import DynamoDBRelayStore, TweetRecord
from entraide.publishing.xapi import XCredentials
from entraide.reporting.daily import daily_snapshot, recent_tweet_ids
from entraide.reporting.snapshot_store import SnapshotStore
from entraide.reporting.snapshots import (
    FollowerSnapshot,
    SnapshotLimits,
    TopFollower,
    TweetMetrics,
    take_snapshot,
)
from entraide.reporting.x_reader import TweepyReader
from tests.factories import X_CREDENTIALS

API = "https://api.twitter.com/2"
ME_ID = "1072250532645998596"
TODAY = date(2026, 10, 15)
NOW = datetime(2026, 10, 15, 4, 30, tzinfo=UTC)
EPOCH = int(NOW.timestamp())
JSON = {"content-type": "application/json; charset=utf-8"}
CREDENTIALS = X_CREDENTIALS
BODY_429 = (
    '{"title":"Too Many Requests","type":"about:blank","status":429,"detail":"Too Many Requests"}'
)
BODY_403_NOT_ENROLLED = json.dumps(
    {
        "client_id": "12345678",
        "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use "
        "keys and tokens from a Twitter developer App that is attached to a Project. You can "
        "create a project via the developer portal.",
        "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
        "title": "Client Forbidden",
        "required_enrollment": "Appropriate Level of API Access",
        "reason": "client-not-enrolled",
        "type": "https://api.twitter.com/2/problems/client-forbidden",
    }
)
# GET /2/tweets?ids=1505488910205345795&tweet.fields=public_metrics,... (takke/twitter4j-v2)
TAKKE = (
    '{"data":[{"geo":{"place_id":"2e624efa0028615e"},"possibly_sensitive":false,"lang":"ja",'
    '"source":"Twitter for Android","created_at":"2022-03-20T10:18:21.000Z","text":"位置情報の'
    'てすと","public_metrics":{"retweet_count":0,"reply_count":0,"like_count":1,'
    '"quote_count":0},"reply_settings":"everyone","author_id":"8379212","conversation_id":'
    '"1505488910205345795","id":"1505488910205345795"}],"includes":{"users":[{"created_at":'
    '"2007-08-23T10:06:53.000Z","public_metrics":{"followers_count":1681,"following_count":'
    '1065,"tweet_count":61212,"listed_count":126},"name":"竹内裕昭🐧","protected":false,'
    '"id":"8379212","verified":false,"username":"takke"}]}}'
)
# The first followers of tweepy's cassette (id, name, username).
CASSETTE_FOLLOWERS = [
    ("1376998163739987969", "Za’mari", "Zamari97491661"),
    ("1381816807250518020", "jonahqiu", "jonahqiu1"),
    ("1375231459607330818", "Yuri Reis De Souza", "YuriReisDeSouz2"),
    ("1381814062108049411", "Alicia Malco", "AliciaMalco"),
    ("1354973240381337604", "EL Theophilus♥️🌏", "el_theophilus"),
    ("1370938632987578372", "Syed Ghulam Mohiuddin Qadri", "SyedGhulamMoh15"),
    ("1196312685266251777", "F_a_n_z_i_n_e", "ActYourDreams"),
    ("1381647094117761025", "zai", "crayzaii"),
    ("1377850669202214913", "Asiya Eunice", "EuniceAsiya"),
    ("1324997848094617600", "PoojithaSirikonda", "PoojithaSiriko1"),
    ("1380883354510237700", "Naveennaik", "Naveenn39180845"),
    ("1334336952573677576", "Toan", "bambooqb"),
]

pytestmark = pytest.mark.usefixtures("no_sleep")


def user(user_id: str, name: str, username: str, followers: int) -> dict[str, Any]:
    return {
        "id": user_id,
        "name": name,
        "username": username,
        "public_metrics": {
            "followers_count": followers,
            "following_count": 120,
            "tweet_count": 800,
            "listed_count": 2,
        },
    }


def me_body(followers: int = 1250) -> str:
    return json.dumps({"data": user(ME_ID, "ShareEntraide", "ShareEntraide", followers)})


def serve_account(mocked: responses.RequestsMock, followers: int = 1250) -> None:
    """The account (``followers`` is its count) whose followers' list reads empty."""
    mocked.add(responses.GET, f"{API}/users/me", body=me_body(followers), headers=JSON)
    mocked.add(
        responses.GET,
        f"{API}/users/{ME_ID}/followers",
        body=json.dumps({"meta": {"result_count": 0}}),
        headers=JSON,
    )


def tweets_body(ids: list[str], impressions: bool = True, missing: tuple[str, ...] = ()) -> str:
    data = []
    for tweet_id in ids:
        if tweet_id in missing:
            continue
        n = int(tweet_id[-3:])
        metrics = {
            "retweet_count": n % 7,
            "reply_count": n % 3,
            "like_count": n,
            "quote_count": n % 2,
            "bookmark_count": 0,
        }
        if impressions:
            metrics["impression_count"] = n * 100
        data.append(
            {
                "edit_history_tweet_ids": [tweet_id],
                "id": tweet_id,
                "text": f"tweet {tweet_id}",
                "public_metrics": metrics,
            }
        )
    body: dict[str, Any] = {"data": data}
    if missing:
        body["errors"] = [
            {
                "value": tweet_id,
                "detail": f"Could not find tweet with ids: [{tweet_id}].",
                "title": "Not Found Error",
                "resource_type": "tweet",
                "parameter": "ids",
                "resource_id": tweet_id,
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
            for tweet_id in missing
        ]
    return json.dumps(body)


def window(remaining: int) -> dict[str, str]:
    return {
        "x-rate-limit-limit": "15",
        "x-rate-limit-remaining": str(remaining),
        "x-rate-limit-reset": str(EPOCH + 900),
    }


def query(request: Any) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlparse(request.url).query).items()}


def reader() -> TweepyReader:
    return TweepyReader(lambda: CREDENTIALS, clock=lambda: NOW)


def followers_pages(pages: list[list[dict[str, Any]]], **headers: str) -> Callable[..., Any]:
    """A callback serving ``pages`` in turn, chained by ``next_token``."""

    def serve(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        token = query(request).get("pagination_token")
        index = 0 if token is None else int(token.removeprefix("PAGE"))
        meta: dict[str, Any] = {"result_count": len(pages[index])}
        if index + 1 < len(pages):
            meta["next_token"] = f"PAGE{index + 1}"
        return (
            200,
            JSON | window(14 - index) | headers,
            json.dumps({"data": pages[index], "meta": meta}),
        )

    return serve


def serve_tweets(impressions: bool = True, missing: tuple[str, ...] = ()) -> Callable[..., Any]:
    def serve(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        ids = query(request)["ids"].split(",")
        return 200, JSON | window(14), tweets_body(ids, impressions, missing)

    return serve


def ids(count: int) -> list[str]:
    """Newest first, as :func:`recent_tweet_ids` gives them."""
    return [f"1846{n:015d}" for n in range(count, 0, -1)]


def stored(table: Table, day: date = TODAY) -> tuple[Any, ...]:
    read = SnapshotStore(table).between(day, day)
    return read.followers, read.tweet_metrics


# --- without credentials -------------------------------------------------------------------


def test_without_credentials_nothing_is_read_nor_recorded(table: Table) -> None:
    with responses.RequestsMock() as mock:  # any call to X would fail: none is registered
        result = take_snapshot(None, SnapshotStore(table), ids(3), TODAY)
        assert len(mock.calls) == 0
    assert result.status == "skipped"
    assert result.message == "skipped: no credentials"
    assert result.recorded is False
    assert stored(table) == ((), ())


# --- a full snapshot -----------------------------------------------------------------------


def test_followers_top_ten_and_tweet_metrics_are_recorded(
    table: Table, mocked: responses.RequestsMock
) -> None:
    page_one = [
        user(user_id, name, username, followers)
        for (user_id, name, username), followers in zip(
            CASSETTE_FOLLOWERS,
            [5, 80_000, 12, 3_400, 0, 950, 41_000, 7, 77, 12, 600, 2],
            strict=True,
        )
    ]
    page_two = [user(f"99{n:04d}", f"Abonné {n}", f"abonne{n}", n * 10) for n in range(1, 9)]
    page_two.append(user("1", "Vieux compte", "vieux", 50))  # ties with abonne5
    mocked.add(responses.GET, f"{API}/users/me", body=me_body(1250), headers=JSON | window(74))
    mocked.add_callback(
        responses.GET,
        f"{API}/users/{ME_ID}/followers",
        callback=followers_pages([page_one, page_two]),
    )
    mocked.add_callback(responses.GET, f"{API}/tweets", callback=serve_tweets())

    wanted = ids(150)
    limits = SnapshotLimits(max_follower_pages=5, max_tweets=150)
    result = take_snapshot(reader(), SnapshotStore(table), wanted, TODAY, limits=limits, now=NOW)

    assert result.status == "recorded", result.errors
    assert result.errors == ()
    followers = result.followers
    assert followers is not None
    assert followers.followers_count == 1250
    assert followers.followers_read == 21
    assert followers.top_complete is True
    assert [(u.username, u.followers_count) for u in followers.top_followers] == [
        ("jonahqiu1", 80_000),
        ("ActYourDreams", 41_000),
        ("AliciaMalco", 3_400),
        ("SyedGhulamMoh15", 950),
        ("Naveenn39180845", 600),
        ("abonne8", 80),
        ("EuniceAsiya", 77),
        ("abonne7", 70),
        ("abonne6", 60),
        ("vieux", 50),  # tied with abonne5: the older (smaller) id ranks first
    ]
    assert followers.top_followers[0] == TopFollower("1381816807250518020", "jonahqiu1", 80_000)
    assert result.tweets_requested == 150
    assert len(result.tweet_metrics) == 150
    first = next(m for m in result.tweet_metrics if m.tweet_id == wanted[0])
    assert first == TweetMetrics(wanted[0], TODAY, 150, 150 % 7, 0, 0, 15_000)
    assert result.message == "recorded: 1250 followers (21 read), 150/150 tweets measured"

    # what was asked of X
    me, page1, page2, lookup1, lookup2 = (call.request for call in mocked.calls)
    assert query(me) == {"user.fields": "public_metrics"}
    assert query(page1) == {"max_results": "1000", "user.fields": "public_metrics"}
    assert query(page2)["pagination_token"] == "PAGE1"
    assert query(lookup1)["ids"].split(",") == wanted[:100]
    assert query(lookup1)["tweet.fields"] == "public_metrics"
    assert query(lookup2)["ids"].split(",") == wanted[100:]
    for call in mocked.calls:  # user context: OAuth 1.0a with the relay's tokens
        header = call.request.headers["Authorization"]
        header = header if isinstance(header, str) else header.decode()
        assert header.startswith("OAuth ")
        assert 'oauth_token="1072250532645998596-at"' in header

    # what the table holds: one item per day and kind
    [snapshot], metrics = stored(table)
    assert snapshot == followers
    assert sorted(metrics, key=lambda m: m.tweet_id) == sorted(
        result.tweet_metrics, key=lambda m: m.tweet_id
    )


def test_the_real_2022_response_has_no_impressions(
    table: Table, mocked: responses.RequestsMock
) -> None:
    serve_account(mocked, 3)
    mocked.add(responses.GET, f"{API}/tweets", body=TAKKE, headers=JSON)

    result = take_snapshot(reader(), SnapshotStore(table), ["1505488910205345795"], TODAY, now=NOW)

    assert result.status == "recorded"
    assert result.tweet_metrics == (
        TweetMetrics("1505488910205345795", TODAY, likes=1, retweets=0, replies=0, quotes=0),
    )
    assert result.followers == FollowerSnapshot(TODAY, 3, (), 0, True)
    assert stored(table)[1] == result.tweet_metrics  # impressions stay unknown, not 0


def test_deleted_tweets_are_reported_missing_and_dry_run_ids_never_asked(
    table: Table, mocked: responses.RequestsMock
) -> None:
    serve_account(mocked)
    wanted = ids(3)
    mocked.add_callback(responses.GET, f"{API}/tweets", callback=serve_tweets(missing=(wanted[1],)))

    result = take_snapshot(
        reader(),
        SnapshotStore(table),
        ["dry-6f1c", *wanted, wanted[0], "not-an-id"],
        TODAY,
        now=NOW,
    )

    assert result.status == "recorded"
    assert result.tweets_requested == 3
    assert result.tweets_missing == (wanted[1],)
    assert {m.tweet_id for m in result.tweet_metrics} == {wanted[0], wanted[2]}
    [lookup] = [call.request for call in mocked.calls if "/tweets" in str(call.request.url)]
    assert query(lookup)["ids"].split(",") == wanted
    assert result.message.endswith("2/3 tweets measured, 1 not found")


def test_taking_the_same_day_again_replaces_its_items(
    table: Table, mocked: responses.RequestsMock
) -> None:
    for count in (100, 101):
        serve_account(mocked, count)
    store = SnapshotStore(table)
    take_snapshot(reader(), store, [], TODAY, now=NOW)
    take_snapshot(reader(), store, [], TODAY, now=NOW + timedelta(hours=1))
    [snapshot], metrics = stored(table)
    assert snapshot.followers_count == 101
    assert metrics == ()


# --- within the read quota -----------------------------------------------------------------


def test_follower_pages_stop_at_the_limit_and_the_top_says_it_is_partial(
    table: Table, mocked: responses.RequestsMock
) -> None:
    page = [user(f"5{n:05d}", "x", f"u{n}", n) for n in range(1, 21)]
    mocked.add(responses.GET, f"{API}/users/me", body=me_body(50_000), headers=JSON)
    mocked.add_callback(
        responses.GET, f"{API}/users/{ME_ID}/followers", callback=followers_pages([page, page])
    )

    limits = SnapshotLimits(max_follower_pages=1, follower_page_size=20, max_tweets=0)
    result = take_snapshot(reader(), SnapshotStore(table), ids(5), TODAY, limits=limits, now=NOW)

    assert result.status == "recorded"
    assert result.followers is not None
    assert result.followers.top_complete is False
    assert result.followers.followers_read == 20
    assert [u.followers_count for u in result.followers.top_followers] == list(range(20, 10, -1))
    assert query(mocked.calls[1].request)["max_results"] == "20"
    assert len(mocked.calls) == 2  # no tweet lookup with max_tweets=0
    assert result.tweets_requested == 0


def test_an_exhausted_window_ends_the_paging_without_a_429(
    table: Table, mocked: responses.RequestsMock
) -> None:
    page = [user(f"6{n:05d}", "x", f"u{n}", n) for n in range(1, 4)]
    mocked.add(responses.GET, f"{API}/users/me", body=me_body(), headers=JSON)
    mocked.add_callback(
        responses.GET,
        f"{API}/users/{ME_ID}/followers",
        callback=followers_pages([page, page, page], **window(0)),
    )
    mocked.add_callback(responses.GET, f"{API}/tweets", callback=serve_tweets())

    limits = SnapshotLimits(max_follower_pages=3)
    result = take_snapshot(reader(), SnapshotStore(table), ids(2), TODAY, limits=limits, now=NOW)

    assert len([c for c in mocked.calls if "/followers" in str(c.request.url)]) == 1
    assert result.status == "partial"
    assert result.errors == ("followers: read window exhausted, the top is that of the pages read",)
    assert result.followers is not None
    assert result.followers.followers_read == 3
    assert len(result.tweet_metrics) == 2


def test_a_429_on_the_lookup_keeps_what_was_read_and_never_sleeps(
    table: Table, mocked: responses.RequestsMock
) -> None:
    serve_account(mocked)
    wanted = ids(250)
    mocked.add_callback(responses.GET, f"{API}/tweets", callback=serve_tweets())
    mocked.add(
        responses.GET,
        f"{API}/tweets",
        body=BODY_429,
        status=429,
        headers=JSON
        | window(0)
        | {
            "x-user-limit-24hour-limit": "100",
            "x-user-limit-24hour-remaining": "0",
            "x-user-limit-24hour-reset": str(EPOCH + 40_000),
        },
    )

    limits = SnapshotLimits(max_tweets=250)
    result = take_snapshot(reader(), SnapshotStore(table), wanted, TODAY, limits=limits, now=NOW)

    assert result.status == "partial"
    assert len(result.tweet_metrics) == 100
    [error] = result.errors
    assert error.startswith("tweets: X rate limit (24h-user) until ")
    assert len(stored(table)[1]) == 100


def test_a_tier_without_the_followers_endpoint_still_records_the_count(
    table: Table, mocked: responses.RequestsMock
) -> None:
    mocked.add(responses.GET, f"{API}/users/me", body=me_body(1234), headers=JSON)
    mocked.add(
        responses.GET,
        f"{API}/users/{ME_ID}/followers",
        body=BODY_403_NOT_ENROLLED,
        status=403,
        headers=JSON,
    )
    mocked.add_callback(responses.GET, f"{API}/tweets", callback=serve_tweets())

    result = take_snapshot(reader(), SnapshotStore(table), ids(1), TODAY, now=NOW)

    assert result.status == "recorded"  # the tier's limit, not a failure
    assert result.errors == ()
    assert result.followers == FollowerSnapshot(TODAY, 1234, (), 0, False)
    [note] = result.notes
    assert note.startswith("top followers not available to this X access (403 When auth")
    assert stored(table)[0] == (result.followers,)
    assert len(result.tweet_metrics) == 1


def test_refused_credentials_record_nothing(table: Table, mocked: responses.RequestsMock) -> None:
    unauthorized = json.dumps(
        {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
    )
    mocked.add(responses.GET, f"{API}/users/me", body=unauthorized, status=401, headers=JSON)
    mocked.add(responses.GET, f"{API}/tweets", body=unauthorized, status=401, headers=JSON)
    loads: list[int] = []

    def load() -> XCredentials:
        loads.append(1)
        return CREDENTIALS

    result = take_snapshot(TweepyReader(load), SnapshotStore(table), ids(1), TODAY, now=NOW)

    assert result.status == "failed"
    assert result.errors == ("account: 401 Unauthorized", "tweets: 401 Unauthorized")
    assert result.recorded is False
    assert stored(table) == ((), ())
    assert len(loads) == 2  # a 401 drops the client: the secret is read again next time


def test_as_log_carries_counts_only(table: Table, mocked: responses.RequestsMock) -> None:
    mocked.add(responses.GET, f"{API}/users/me", body=me_body(7), headers=JSON)
    mocked.add_callback(
        responses.GET,
        f"{API}/users/{ME_ID}/followers",
        callback=followers_pages([[user("42", "Camille", "camille_secret", 9)]]),
    )
    result = take_snapshot(reader(), SnapshotStore(table), [], TODAY, now=NOW)
    log = json.dumps(result.as_log())
    assert "camille" not in log.lower()
    assert result.as_log()["followers_count"] == 7


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="follower_page_size"):
        SnapshotLimits(follower_page_size=1001)
    with pytest.raises(ValueError, match="max_tweets"):
        SnapshotLimits(max_tweets=2001)
    with pytest.raises(ValueError, match="max_follower_pages"):
        SnapshotLimits(max_follower_pages=-1)


# --- which tweets ----------------------------------------------------------------------------


def test_recent_tweet_ids_are_the_real_ones_of_the_last_30_days_newest_first(
    table: Table,
) -> None:
    relay = DynamoDBRelayStore(table)

    def tweet(tweet_id: str, posted: datetime, *, id_known: bool = True) -> None:
        relay.put_tweet(
            TweetRecord(tweet_id, "texte", posted, "post", ("P1",), "A1", id_known=id_known)
        )

    tweet("1001", datetime(2026, 9, 15, 4, 0, tzinfo=UTC))  # 30 days and a bit: too old
    tweet("1002", datetime(2026, 9, 16, 0, 0, tzinfo=UTC))  # the first day of the window
    tweet("1003", datetime(2026, 9, 30, 23, 59, tzinfo=UTC))
    tweet("dry-abc", datetime(2026, 10, 2, tzinfo=UTC))  # dry run: X never saw it
    tweet("1004", datetime(2026, 10, 3, tzinfo=UTC), id_known=False)
    tweet("1005", datetime(2026, 10, 14, 12, 0, tzinfo=UTC))
    tweet("1006", datetime(2026, 10, 15, 23, 0, tzinfo=UTC))
    tweet("1007", datetime(2026, 10, 16, 0, 0, tzinfo=UTC))  # tomorrow

    assert recent_tweet_ids(table, TODAY) == ["1006", "1005", "1003", "1002"]


def test_top_followers_and_metrics_survive_the_table(table: Table) -> None:
    store = SnapshotStore(table)
    top = (TopFollower("12", "a", 9), TopFollower("13", "b", 8))
    store.put_followers(FollowerSnapshot(TODAY, 10, top, 2, True), taken_at=NOW)
    store.put_tweet_metrics(
        TODAY,
        [TweetMetrics("9", TODAY, 1, 2, 3, 4, None), TweetMetrics("8", TODAY, 5, 6, 7, 8, 90)],
        taken_at=NOW,
    )
    store.put_followers(FollowerSnapshot(TODAY + timedelta(days=20), 11), taken_at=NOW)
    read = store.between(TODAY, TODAY + timedelta(days=20))
    assert read.followers == (
        FollowerSnapshot(TODAY, 10, top, 2, True),
        FollowerSnapshot(TODAY + timedelta(days=20), 11),
    )
    assert read.tweet_metrics == (
        TweetMetrics("8", TODAY, 5, 6, 7, 8, 90),
        TweetMetrics("9", TODAY, 1, 2, 3, 4, None),
    )
    item = table.client.get_item(
        TableName=table.table_name, Key={"pk": {"S": "SNAPSHOT#tweets"}, "sk": {"S": "2026-10-15"}}
    )["Item"]
    assert item["gsi2pk"] == {"S": "SNAPSHOT#2026-10"}
    assert item["gsi2sk"] == {"S": "2026-10-15#tweets"}
    assert item["entity"] == {"S": "tweet-metrics-snapshot"}


def test_the_daily_snapshot_reads_the_tweets_of_the_last_30_days(
    table: Table, mocked: responses.RequestsMock
) -> None:
    relay = DynamoDBRelayStore(table)
    for tweet_id, posted in (
        ("1846000000000000101", datetime(2026, 10, 14, 9, 0, tzinfo=UTC)),
        ("1846000000000000102", datetime(2026, 9, 20, 9, 0, tzinfo=UTC)),
        ("1846000000000000103", datetime(2026, 9, 1, 9, 0, tzinfo=UTC)),  # too old
    ):
        relay.put_tweet(TweetRecord(tweet_id, "t", posted, "post", ("P1",), "A1"))
    serve_account(mocked, 12)
    mocked.add_callback(responses.GET, f"{API}/tweets", callback=serve_tweets())

    result = daily_snapshot(table, reader(), now=NOW)

    assert result.day == TODAY
    assert result.status == "recorded"
    [lookup] = [call.request for call in mocked.calls if "/tweets" in str(call.request.url)]
    assert query(lookup)["ids"] == "1846000000000000101,1846000000000000102"
    followers, metrics = stored(table)
    assert [snapshot.followers_count for snapshot in followers] == [12]
    assert len(metrics) == 2


def test_the_daily_snapshot_without_credentials(table: Table) -> None:
    result = daily_snapshot(table, None, now=NOW)
    assert (result.status, result.message, result.day) == (
        "skipped",
        "skipped: no credentials",
        TODAY,
    )
    assert stored(table) == ((), ())
