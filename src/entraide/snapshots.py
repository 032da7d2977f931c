"""Daily snapshots of the X account: its followers and the public metrics of recent tweets.

X keeps no history: a follower count or the likes of a tweet are only ever "now". The
monthly report needs the count at the start and at the end of the month and the metrics
of the month's tweets, so a daily step records them (:func:`take_snapshot`).

Reads through tweepy with the relay's OAuth 1.0a *user* tokens (:class:`XCredentials`):
``GET /2/users/me`` needs a user context anyway, the relay's secret already holds those
four keys, and user-context reads count against the account's own per-user windows,
not against an app bearer token shared with nothing else. No second secret to rotate.

Read quota (X API v2, per user, 15-minute windows; monthly read caps on Basic):

- ``GET /2/users/me?user.fields=public_metrics``: one call a day, gives the count.
- ``GET /2/users/:id/followers``: up to ``max_follower_pages`` pages of 1,000 followers
  with their ``public_metrics``, to keep the 10 most followed. Reading every follower of
  a large account would cost hundreds of calls: the top 10 is that of the followers read
  (``top_complete`` says whether all of them were). X removed this endpoint from the
  Basic and Pro tiers: its 403 leaves the top empty (a note, not an error), the count is
  still recorded. Set ``max_follower_pages=0`` there to save the call.
- ``GET /2/tweets?ids=…&tweet.fields=public_metrics``: 100 ids a call, the
  ``max_tweets`` most recent tweets of the last 30 days (default 100: one call a day,
  about 3,100 tweet reads a month, well under Basic's monthly read cap).

Paging stops when a response says the window has no call left
(``x-rate-limit-remaining: 0``); a 429 or any other X error ends that part of the
snapshot and is reported, what was read before is kept. Nothing sleeps.

Items (single table, see docs/data-model.md), one per day and kind, replaced when the
same day is taken again:

- ``pk = SNAPSHOT#followers``, ``sk = <YYYY-MM-DD>``: ``entity = follower-snapshot``,
  ``day``, ``taken_at``, ``followers_count``, ``followers_read``, ``top_complete``,
  ``top_followers`` (list of ``{id, username, followers_count}``).
- ``pk = SNAPSHOT#tweets``, ``sk = <YYYY-MM-DD>``: ``entity = tweet-metrics-snapshot``,
  ``day``, ``taken_at``, ``tweet_count``, ``metrics`` (map tweet id ->
  ``{likes, retweets, replies, quotes[, impressions]}``).
- both: ``gsi2pk = SNAPSHOT#YYYY-MM``, ``gsi2sk = <YYYY-MM-DD>#followers|tweets`` (index
  ``by_month``).

One item per day for all the tweets, rather than one per tweet and day: one write a day
instead of up to 100, 31 items to read for a month instead of thousands, and the report
only needs the latest metrics of each tweet. The item stays far below DynamoDB's 400 KB
(``MAX_TWEETS`` ids, about 80 bytes each).

tweepy, requests and boto3 are imported on first use only.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

from entraide.xapi import (
    RateLimits,
    UserContextClient,
    XCredentials,
    XError,
    XRejected,
    read_rate_limits,
)

if TYPE_CHECKING:
    from entraide.store import EntraideTable

__all__ = [
    "FOLLOWER_PAGE_SIZE",
    "LOOKUP_BATCH",
    "MAX_TWEETS",
    "TOP_FOLLOWERS",
    "TWEET_WINDOW",
    "Account",
    "FollowerSnapshot",
    "FollowersPage",
    "MetricsBatch",
    "SnapshotLimits",
    "SnapshotResult",
    "SnapshotStore",
    "SnapshotWriter",
    "SnapshotsRead",
    "TopFollower",
    "TweepyReader",
    "TweetMetrics",
    "XReader",
    "daily_snapshot",
    "follower_snapshot_from_item",
    "parse_followers",
    "parse_me",
    "parse_tweet_metrics",
    "recent_tweet_ids",
    "take_snapshot",
    "tweet_metrics_from_item",
]

TOP_FOLLOWERS: Final = 10
FOLLOWER_PAGE_SIZE: Final = 1000  # the most X gives per page
LOOKUP_BATCH: Final = 100  # ids per GET /2/tweets
MAX_TWEETS: Final = 2000  # tweets per snapshot item (DynamoDB's 400 KB)
TWEET_WINDOW: Final = timedelta(days=30)
SKIPPED_NO_CREDENTIALS: Final = "skipped: no credentials"

FOLLOWERS_PK: Final = "SNAPSHOT#followers"
TWEETS_PK: Final = "SNAPSHOT#tweets"


# --- values ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TopFollower:
    """A follower of the account, public profile: its id, @username and own audience."""

    user_id: str
    username: str
    followers_count: int


@dataclass(frozen=True, slots=True)
class FollowerSnapshot:
    """The account's audience on ``day`` (UTC).

    ``top_followers``: the most followed of the ``followers_read`` followers read,
    most followed first; exact when ``top_complete`` (every follower was read).
    """

    day: date
    followers_count: int
    top_followers: tuple[TopFollower, ...] = ()
    followers_read: int = 0
    top_complete: bool = False


@dataclass(frozen=True, slots=True)
class TweetMetrics:
    """Public metrics of one tweet as read on ``day``; ``impressions`` when X gives them."""

    tweet_id: str
    day: date
    likes: int
    retweets: int
    replies: int
    quotes: int
    impressions: int | None = None

    @property
    def interactions(self) -> int:
        return self.likes + self.retweets + self.replies + self.quotes


@dataclass(frozen=True, slots=True)
class Account:
    user_id: str
    username: str
    followers_count: int


@dataclass(frozen=True, slots=True)
class FollowersPage:
    users: tuple[TopFollower, ...]
    next_token: str | None
    limits: RateLimits | None = None


@dataclass(frozen=True, slots=True)
class MetricsBatch:
    """What one ``GET /2/tweets`` gave: the metrics found, the ids X no longer has."""

    metrics: tuple[TweetMetrics, ...]
    missing: tuple[str, ...] = ()
    limits: RateLimits | None = None


@dataclass(frozen=True, slots=True)
class SnapshotLimits:
    """How much of the read quota one snapshot may spend."""

    max_follower_pages: int = 1
    follower_page_size: int = FOLLOWER_PAGE_SIZE
    max_tweets: int = LOOKUP_BATCH

    def __post_init__(self) -> None:
        if self.max_follower_pages < 0:
            raise ValueError("max_follower_pages must be 0 or more.")
        if not 1 <= self.follower_page_size <= FOLLOWER_PAGE_SIZE:
            raise ValueError(f"follower_page_size must be within 1..{FOLLOWER_PAGE_SIZE}.")
        if not 0 <= self.max_tweets <= MAX_TWEETS:
            raise ValueError(f"max_tweets must be within 0..{MAX_TWEETS}.")


SnapshotStatus = Literal["recorded", "partial", "failed", "skipped"]


@dataclass(frozen=True, slots=True)
class SnapshotResult:
    """What :func:`take_snapshot` did; ``message`` is one line for the log."""

    status: SnapshotStatus
    message: str
    day: date | None = None
    followers: FollowerSnapshot | None = None
    tweet_metrics: tuple[TweetMetrics, ...] = ()
    tweets_requested: int = 0
    tweets_missing: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # limits met that are not failures (an API tier's)

    @property
    def recorded(self) -> bool:
        return self.status in ("recorded", "partial")

    def as_log(self) -> dict[str, Any]:
        """Counts only (no username): what a log line or a metric may carry."""
        return {
            "status": self.status,
            "summary": self.message,  # not "message": logging refuses that key in `extra`
            "day": self.day.isoformat() if self.day else None,
            "followers_count": self.followers.followers_count if self.followers else None,
            "followers_read": self.followers.followers_read if self.followers else 0,
            "tweets_requested": self.tweets_requested,
            "tweets_measured": len(self.tweet_metrics),
            "tweets_missing": len(self.tweets_missing),
            "errors": list(self.errors),
            "notes": list(self.notes),
        }


# --- reading X ---------------------------------------------------------------------------


class XReader(Protocol):
    """The three reads of a snapshot. Failures are :class:`~entraide.xapi.XError`."""

    def me(self) -> Account: ...

    def followers(
        self, user_id: str, *, max_results: int, pagination_token: str | None = None
    ) -> FollowersPage: ...

    def tweet_metrics(self, tweet_ids: Sequence[str], day: date) -> MetricsBatch: ...


def _count(metrics: Mapping[str, Any], name: str) -> int:
    """A non-negative count of X's JSON; anything else (absent, null, garbage) is 0."""
    value = metrics.get(name)
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return 0


def _optional_count(metrics: Mapping[str, Any], name: str) -> int | None:
    return _count(metrics, name) if name in metrics else None


def parse_me(body: Mapping[str, Any]) -> Account:
    data = body.get("data")
    if not isinstance(data, Mapping) or not data.get("id"):
        raise XRejected(200, "GET /2/users/me answered without the account.")
    metrics = data.get("public_metrics") or {}
    return Account(
        user_id=str(data["id"]),
        username=str(data.get("username", "")),
        followers_count=_count(metrics, "followers_count"),
    )


def parse_followers(body: Mapping[str, Any]) -> tuple[tuple[TopFollower, ...], str | None]:
    users = []
    for user in body.get("data") or ():
        if not isinstance(user, Mapping) or not user.get("id"):
            continue
        metrics = user.get("public_metrics") or {}
        users.append(
            TopFollower(
                user_id=str(user["id"]),
                username=str(user.get("username", "")),
                followers_count=_count(metrics, "followers_count"),
            )
        )
    meta = body.get("meta") or {}
    token = meta.get("next_token")
    return tuple(users), (str(token) if token else None)


def parse_tweet_metrics(
    body: Mapping[str, Any], day: date
) -> tuple[tuple[TweetMetrics, ...], tuple[str, ...]]:
    """Metrics of the tweets found, and the ids X reports as not found (deleted...)."""
    found = []
    for tweet in body.get("data") or ():
        if not isinstance(tweet, Mapping) or not tweet.get("id"):
            continue
        metrics = tweet.get("public_metrics") or {}
        found.append(
            TweetMetrics(
                tweet_id=str(tweet["id"]),
                day=day,
                likes=_count(metrics, "like_count"),
                retweets=_count(metrics, "retweet_count"),
                replies=_count(metrics, "reply_count"),
                quotes=_count(metrics, "quote_count"),
                impressions=_optional_count(metrics, "impression_count"),
            )
        )
    missing = tuple(
        str(error.get("resource_id") or error.get("value"))
        for error in body.get("errors") or ()
        if isinstance(error, Mapping) and (error.get("resource_id") or error.get("value"))
    )
    return tuple(found), missing


def _json(response: Any) -> Mapping[str, Any]:
    """The body of a ``requests.Response`` (tweepy with ``return_type=requests.Response``)."""
    from entraide.xapi import XUnavailable

    try:
        body = response.json()
    except ValueError:
        raise XUnavailable("X answered with a body that is not JSON.") from None
    if not isinstance(body, Mapping):
        raise XUnavailable("X answered with a JSON body that is not an object.")
    return body


class TweepyReader:
    """:class:`XReader` over ``tweepy.Client`` in user context (OAuth 1.0a).

    ``credentials_loader`` is called on the first read (and again after a 401, in case
    the secret was rotated); ``client_factory`` builds the client (default
    :func:`entraide.xapi.tweepy_client`: no sleeping on 429, timeouts, raw responses
    whose headers tell the remaining quota).
    """

    def __init__(
        self,
        credentials_loader: Callable[[], XCredentials],
        *,
        client_factory: Callable[[XCredentials], Any] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._x = UserContextClient(credentials_loader, client_factory=client_factory, clock=clock)

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._x.call(method, *args, **kwargs)

    def me(self) -> Account:
        response = self._call("get_me", user_fields=["public_metrics"])
        return parse_me(_json(response))

    def followers(
        self, user_id: str, *, max_results: int, pagination_token: str | None = None
    ) -> FollowersPage:
        params: dict[str, Any] = {"max_results": max_results, "user_fields": ["public_metrics"]}
        if pagination_token:
            params["pagination_token"] = pagination_token
        response = self._call("get_users_followers", user_id, **params)
        users, token = parse_followers(_json(response))
        return FollowersPage(users, token, read_rate_limits(response.headers))

    def tweet_metrics(self, tweet_ids: Sequence[str], day: date) -> MetricsBatch:
        if len(tweet_ids) > LOOKUP_BATCH:
            raise ValueError(f"At most {LOOKUP_BATCH} ids per lookup.")
        response = self._call("get_tweets", list(tweet_ids), tweet_fields=["public_metrics"])
        metrics, missing = parse_tweet_metrics(_json(response), day)
        return MetricsBatch(metrics, missing, read_rate_limits(response.headers))


# --- storing -----------------------------------------------------------------------------


class SnapshotWriter(Protocol):
    def put_followers(self, snapshot: FollowerSnapshot, *, taken_at: datetime) -> None: ...

    def put_tweet_metrics(
        self, day: date, metrics: Sequence[TweetMetrics], *, taken_at: datetime
    ) -> None: ...


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _months_between(first: date, last: date) -> list[str]:
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def follower_snapshot_item(snapshot: FollowerSnapshot, taken_at: datetime) -> dict[str, Any]:
    day = snapshot.day.isoformat()
    return {
        "pk": FOLLOWERS_PK,
        "sk": day,
        "entity": "follower-snapshot",
        "day": day,
        "taken_at": _iso(taken_at),
        "followers_count": snapshot.followers_count,
        "followers_read": snapshot.followers_read,
        "top_complete": snapshot.top_complete,
        "top_followers": [
            {"id": user.user_id, "username": user.username, "followers_count": user.followers_count}
            for user in snapshot.top_followers
        ],
        "gsi2pk": f"SNAPSHOT#{_month(snapshot.day)}",
        "gsi2sk": f"{day}#followers",
    }


def follower_snapshot_from_item(item: Mapping[str, Any]) -> FollowerSnapshot:
    return FollowerSnapshot(
        day=date.fromisoformat(str(item["day"])),
        followers_count=int(item["followers_count"]),
        top_followers=tuple(
            TopFollower(
                user_id=str(user["id"]),
                username=str(user.get("username", "")),
                followers_count=int(user.get("followers_count", 0)),
            )
            for user in item.get("top_followers", ())
        ),
        followers_read=int(item.get("followers_read", 0)),
        top_complete=bool(item.get("top_complete", False)),
    )


def tweet_metrics_item(
    day: date, metrics: Sequence[TweetMetrics], taken_at: datetime
) -> dict[str, Any]:
    if len(metrics) > MAX_TWEETS:
        raise ValueError(f"At most {MAX_TWEETS} tweets per snapshot item.")
    by_id: dict[str, dict[str, int]] = {}
    for metric in metrics:
        entry = {
            "likes": metric.likes,
            "retweets": metric.retweets,
            "replies": metric.replies,
            "quotes": metric.quotes,
        }
        if metric.impressions is not None:
            entry["impressions"] = metric.impressions
        by_id[metric.tweet_id] = entry
    text = day.isoformat()
    return {
        "pk": TWEETS_PK,
        "sk": text,
        "entity": "tweet-metrics-snapshot",
        "day": text,
        "taken_at": _iso(taken_at),
        "tweet_count": len(by_id),
        "metrics": by_id,
        "gsi2pk": f"SNAPSHOT#{_month(day)}",
        "gsi2sk": f"{text}#tweets",
    }


def tweet_metrics_from_item(item: Mapping[str, Any]) -> tuple[TweetMetrics, ...]:
    day = date.fromisoformat(str(item["day"]))
    found = []
    for tweet_id, entry in sorted(dict(item.get("metrics", {})).items()):
        impressions = entry.get("impressions")
        found.append(
            TweetMetrics(
                tweet_id=str(tweet_id),
                day=day,
                likes=int(entry.get("likes", 0)),
                retweets=int(entry.get("retweets", 0)),
                replies=int(entry.get("replies", 0)),
                quotes=int(entry.get("quotes", 0)),
                impressions=int(impressions) if impressions is not None else None,
            )
        )
    return tuple(found)


@dataclass(frozen=True, slots=True)
class SnapshotsRead:
    """Snapshots of a range of days, oldest first."""

    followers: tuple[FollowerSnapshot, ...] = ()
    tweet_metrics: tuple[TweetMetrics, ...] = ()


class SnapshotStore:
    """Snapshot items in the single table (see the module doc)."""

    def __init__(self, table: EntraideTable) -> None:
        self.table = table

    def _put(self, item: Mapping[str, Any]) -> None:
        from boto3.dynamodb.types import TypeSerializer

        serializer = TypeSerializer()
        self.table.client.put_item(
            TableName=self.table.table_name,
            Item={key: serializer.serialize(value) for key, value in item.items()},
        )

    def put_followers(self, snapshot: FollowerSnapshot, *, taken_at: datetime) -> None:
        self._put(follower_snapshot_item(snapshot, taken_at))

    def put_tweet_metrics(
        self, day: date, metrics: Sequence[TweetMetrics], *, taken_at: datetime
    ) -> None:
        self._put(tweet_metrics_item(day, metrics, taken_at))

    def _items(self, first: date, last: date) -> Iterator[dict[str, Any]]:
        from boto3.dynamodb.types import TypeDeserializer

        deserializer = TypeDeserializer()
        paginator = self.table.client.get_paginator("query")
        for month in _months_between(first, last):
            pages = paginator.paginate(
                TableName=self.table.table_name,
                IndexName="by_month",
                KeyConditionExpression="gsi2pk = :pk AND gsi2sk BETWEEN :first AND :last",
                ExpressionAttributeValues={
                    ":pk": {"S": f"SNAPSHOT#{month}"},
                    ":first": {"S": first.isoformat()},
                    # "#" sorts before every letter: "<last>#tweets" < "<last>#~"
                    ":last": {"S": f"{last.isoformat()}#~"},
                },
            )
            for page in pages:
                for raw in page["Items"]:
                    yield {key: deserializer.deserialize(value) for key, value in raw.items()}

    def between(self, first: date, last: date) -> SnapshotsRead:
        """Snapshots of the days ``first`` to ``last`` (included), through ``by_month``."""
        followers: list[FollowerSnapshot] = []
        metrics: list[TweetMetrics] = []
        for item in self._items(first, last):
            if item.get("entity") == "follower-snapshot":
                followers.append(follower_snapshot_from_item(item))
            elif item.get("entity") == "tweet-metrics-snapshot":
                metrics.extend(tweet_metrics_from_item(item))
        followers.sort(key=lambda snapshot: snapshot.day)
        metrics.sort(key=lambda metric: (metric.day, metric.tweet_id))
        return SnapshotsRead(tuple(followers), tuple(metrics))


def recent_tweet_ids(
    table: EntraideTable, today: date, *, window: timedelta = TWEET_WINDOW
) -> list[str]:
    """Ids of the tweets posted in the ``window`` before the end of ``today``, newest first.

    Reads ``TWEET#<month>`` partitions of ``by_month`` (one or two). Dry-run tweets
    (``dry-…`` ids) and tweets whose id was never learnt are left out: X has no metrics
    for them.
    """
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    end = datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=1)
    since = end - window
    paginator = table.client.get_paginator("query")
    ids: list[str] = []
    for month in reversed(_months_between(since.date(), today)):
        pages = paginator.paginate(
            TableName=table.table_name,
            IndexName="by_month",
            KeyConditionExpression="gsi2pk = :pk AND gsi2sk BETWEEN :since AND :end",
            ExpressionAttributeValues={
                ":pk": {"S": f"TWEET#{month}"},
                ":since": {"S": _iso(since)},
                ":end": {"S": _iso(end)},
            },
            ScanIndexForward=False,
        )
        for page in pages:
            for raw in page["Items"]:
                item = {key: deserializer.deserialize(value) for key, value in raw.items()}
                if item.get("id_known", True) is False:
                    continue
                ids.append(str(item.get("id", "")))
    return _measurable(ids)


def _measurable(tweet_ids: Iterable[str]) -> list[str]:
    """Real X ids (digits), each once, order kept."""
    return list(dict.fromkeys(t for t in tweet_ids if t.isascii() and t.isdigit()))


# --- the snapshot ------------------------------------------------------------------------


def _window_exhausted(limits: RateLimits | None) -> bool:
    return bool(limits and limits.window and limits.window.remaining == 0)


def _top_followers(
    reader: XReader, user_id: str, limits: SnapshotLimits, errors: list[str], notes: list[str]
) -> tuple[tuple[TopFollower, ...], int, bool]:
    """(top, followers read, every follower read) within ``limits``."""
    # A min-heap of the TOP_FOLLOWERS best so far: (rank key, user). On a tie of
    # followers_count the smaller id (the older account) ranks first, every run the same.
    best: list[tuple[tuple[int, tuple[int, str]], TopFollower]] = []
    seen: set[str] = set()
    token: str | None = None
    complete = False
    for page_number in range(limits.max_follower_pages):
        try:
            page = reader.followers(
                user_id, max_results=limits.follower_page_size, pagination_token=token
            )
        except XRejected as exc:
            if exc.status == 403 and page_number == 0:
                # X removed this endpoint from the Basic and Pro tiers: not a failure
                notes.append(f"top followers not available to this X access ({exc})")
            else:
                errors.append(f"followers page {page_number + 1}: {exc}")
            break
        except XError as exc:
            errors.append(f"followers page {page_number + 1}: {exc}")
            break
        for user in page.users:
            if user.user_id in seen:  # a follower met twice (pages shift as people follow)
                continue
            seen.add(user.user_id)
            entry = ((user.followers_count, _id_rank(user.user_id)), user)
            if len(best) < TOP_FOLLOWERS:
                heapq.heappush(best, entry)
            elif entry[0] > best[0][0]:
                heapq.heapreplace(best, entry)
        token = page.next_token
        if token is None:
            complete = True
            break
        if _window_exhausted(page.limits):
            errors.append("followers: read window exhausted, the top is that of the pages read")
            break
    ranked = sorted(best, key=lambda entry: entry[0], reverse=True)
    return tuple(user for _, user in ranked), len(seen), complete


def _id_rank(user_id: str) -> tuple[int, str]:
    """A key under which a smaller numeric id is the larger (ranks first on a tie)."""
    return (-int(user_id), "") if user_id.isascii() and user_id.isdigit() else (0, user_id)


def _batches(values: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def take_snapshot(
    reader: XReader | None,
    store: SnapshotWriter,
    tweet_ids: Sequence[str],
    today: date,
    *,
    limits: SnapshotLimits | None = None,
    now: datetime | None = None,
) -> SnapshotResult:
    """Read the account's followers and the metrics of ``tweet_ids`` (newest first), store them.

    ``reader`` is ``None`` without X credentials: nothing is read nor recorded, and the
    result says ``"skipped: no credentials"``. X errors never raise: what was read is
    recorded and the errors are listed (status ``partial``, or ``failed`` when nothing
    could be read). Errors of the store propagate.
    """
    if reader is None:
        return SnapshotResult(status="skipped", message=SKIPPED_NO_CREDENTIALS, day=today)
    limits = limits or SnapshotLimits()
    taken_at = now or datetime.now(UTC)
    errors: list[str] = []
    notes: list[str] = []

    followers: FollowerSnapshot | None = None
    try:
        account = reader.me()
    except XError as exc:
        errors.append(f"account: {exc}")
    else:
        top, read, complete = _top_followers(reader, account.user_id, limits, errors, notes)
        followers = FollowerSnapshot(
            day=today,
            followers_count=account.followers_count,
            top_followers=top,
            followers_read=read,
            top_complete=complete,
        )
        store.put_followers(followers, taken_at=taken_at)

    wanted = _measurable(tweet_ids)[: limits.max_tweets]
    batches = list(_batches(wanted, LOOKUP_BATCH))
    measured: dict[str, TweetMetrics] = {}
    missing: list[str] = []
    for number, batch in enumerate(batches, start=1):
        try:
            result = reader.tweet_metrics(batch, today)
        except XError as exc:
            errors.append(f"tweets: {exc}")
            break
        measured.update((metric.tweet_id, metric) for metric in result.metrics)
        missing.extend(result.missing)
        if number < len(batches) and _window_exhausted(result.limits):
            errors.append("tweets: read window exhausted, the other tweets wait for tomorrow")
            break
    metrics = tuple(measured.values())
    if metrics:
        store.put_tweet_metrics(today, metrics, taken_at=taken_at)

    anything = followers is not None or bool(metrics)
    status: SnapshotStatus = "recorded" if not errors else ("partial" if anything else "failed")
    parts = []
    if followers is not None:
        parts.append(f"{followers.followers_count} followers ({followers.followers_read} read)")
    parts.append(f"{len(metrics)}/{len(wanted)} tweets measured")
    if missing:
        parts.append(f"{len(missing)} not found")
    message = f"{status}: " + ", ".join(parts)
    return SnapshotResult(
        status=status,
        message=message,
        day=today,
        followers=followers,
        tweet_metrics=metrics,
        tweets_requested=len(wanted),
        tweets_missing=tuple(missing),
        errors=tuple(errors),
        notes=tuple(notes),
    )


def daily_snapshot(
    table: EntraideTable,
    reader: XReader | None,
    *,
    now: datetime | None = None,
    limits: SnapshotLimits | None = None,
) -> SnapshotResult:
    """Today's snapshot (UTC day of ``now``): the tweets of the last 30 days, newest first.

    ``reader`` is ``None`` without X credentials: the result is ``skipped`` and nothing
    is read, not even the table.
    """
    moment = now or datetime.now(UTC)
    today = moment.astimezone(UTC).date()
    if reader is None:
        return SnapshotResult(status="skipped", message=SKIPPED_NO_CREDENTIALS, day=today)
    tweet_ids = recent_tweet_ids(table, today)
    return take_snapshot(reader, SnapshotStore(table), tweet_ids, today, limits=limits, now=moment)
