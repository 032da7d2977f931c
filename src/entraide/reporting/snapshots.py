"""Daily snapshots of each channel's account: its followers and the public metrics of its
recent messages (X's tweets, Bluesky's posts, Mastodon's statuses).

No network keeps history: a follower count or the likes of a message are only ever "now".
The monthly report needs the count at the start and at the end of the month and the
metrics of the month's messages, so a daily step records them (:func:`take_snapshot`): read
through an :class:`AccountReader` (:mod:`.x_reader`, :mod:`.channel_readers`), stored by
:mod:`.snapshot_store`. X bills its reads: with a :class:`ReadPurse`, each read is priced
before it is made (at most what it may return) and skipped when the budget says no.

tweepy, requests and boto3 are imported on first use only.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, Literal, Protocol

from entraide.publishing.channel_errors import (
    ChannelError,
    RateLimits,
    Rejected,
)

__all__ = [
    "FOLLOWER_PAGE_SIZE",
    "LOOKUP_BATCH",
    "MAX_TWEETS",
    "TOP_FOLLOWERS",
    "TWEET_WINDOW",
    "Account",
    "AccountReader",
    "FollowerSnapshot",
    "FollowersPage",
    "MetricsBatch",
    "ReadPurse",
    "SnapshotLimits",
    "SnapshotResult",
    "SnapshotWriter",
    "TopFollower",
    "TweetMetrics",
    "measurable",
    "take_snapshot",
]

TOP_FOLLOWERS: Final = 10
FOLLOWER_PAGE_SIZE: Final = 1000  # the most X gives per page
LOOKUP_BATCH: Final = 100  # ids per GET /2/tweets
MAX_TWEETS: Final = 2000  # tweets per snapshot item (DynamoDB's 400 KB)
TWEET_WINDOW: Final = timedelta(days=30)
SKIPPED_NO_CREDENTIALS: Final = "skipped: no credentials"


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


def measurable(tweet_ids: Iterable[str], *, uri_prefix: str = "") -> list[str]:
    """Real message ids, each once, order kept: digits (X, Mastodon), or with
    ``uri_prefix`` the URIs that start with it (Bluesky's ``at://``); never a dry run's."""
    if uri_prefix:
        return list(dict.fromkeys(t for t in tweet_ids if t.startswith(uri_prefix)))
    return list(dict.fromkeys(t for t in tweet_ids if t.isascii() and t.isdigit()))


# --- what a snapshot needs ----------------------------------------------------------------


class AccountReader(Protocol):
    """The three reads of a snapshot on one network; failures are
    :class:`~entraide.publishing.channel_errors.ChannelError`. ``lookup_batch``: the most
    message ids one :meth:`tweet_metrics` call takes."""

    @property
    def lookup_batch(self) -> int: ...

    def me(self) -> Account: ...

    def followers(
        self, user_id: str, *, max_results: int, pagination_token: str | None = None
    ) -> FollowersPage: ...

    def tweet_metrics(self, tweet_ids: Sequence[str], day: date) -> MetricsBatch: ...


class ReadPurse(Protocol):
    """Pays for reads before they are made (X bills each resource read)."""

    def pay(self, resources: int) -> bool:
        """Spend the price of reading up to ``resources`` resources; False: not now."""
        ...


class SnapshotWriter(Protocol):
    def put_followers(self, snapshot: FollowerSnapshot, *, taken_at: datetime) -> None: ...

    def put_tweet_metrics(
        self, day: date, metrics: Sequence[TweetMetrics], *, taken_at: datetime
    ) -> None: ...


# --- the snapshot ------------------------------------------------------------------------


class _NotPaid(Exception):
    """A read the purse did not pay for: not made today."""


def _window_exhausted(limits: RateLimits | None) -> bool:
    return bool(limits and limits.window and limits.window.remaining == 0)


def _top_followers(
    reader: AccountReader,
    user_id: str,
    limits: SnapshotLimits,
    errors: list[str],
    notes: list[str],
    purse: ReadPurse | None,
) -> tuple[tuple[TopFollower, ...], int, bool]:
    """(top, followers read, every follower read) within ``limits``."""
    # A min-heap of the TOP_FOLLOWERS best so far: (rank key, user). On a tie of
    # followers_count the smaller id (the older account) ranks first, every run the same.
    best: list[tuple[tuple[int, tuple[int, str]], TopFollower]] = []
    seen: set[str] = set()
    token: str | None = None
    complete = False
    for page_number in range(limits.max_follower_pages):
        if purse is not None and not purse.pay(limits.follower_page_size):
            notes.append(f"followers page {page_number + 1}: not within the read budget today")
            break
        try:
            page = reader.followers(
                user_id, max_results=limits.follower_page_size, pagination_token=token
            )
        except Rejected as exc:
            if exc.status == 403 and page_number == 0:
                # X removed this endpoint from the Basic and Pro tiers: not a failure
                notes.append(f"top followers not available to this X access ({exc})")
            else:
                errors.append(f"followers page {page_number + 1}: {exc}")
            break
        except ChannelError as exc:
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
    reader: AccountReader | None,
    store: SnapshotWriter,
    tweet_ids: Sequence[str],
    today: date,
    *,
    limits: SnapshotLimits | None = None,
    now: datetime | None = None,
    purse: ReadPurse | None = None,
    uri_prefix: str = "",
) -> SnapshotResult:
    """Read the account's followers and the metrics of ``tweet_ids`` (newest first), store them.

    ``reader`` is ``None`` without X credentials: nothing is read nor recorded, and the
    result says ``"skipped: no credentials"``. X errors never raise: what was read is
    recorded and the errors are listed (status ``partial``, or ``failed`` when nothing
    could be read). Errors of the store propagate. With a ``purse``, every read is paid
    before it is made; what the budget refuses is not read (a note, not an error).
    """
    if reader is None:
        return SnapshotResult(status="skipped", message=SKIPPED_NO_CREDENTIALS, day=today)
    limits = limits or SnapshotLimits()
    taken_at = now or datetime.now(UTC)
    errors: list[str] = []
    notes: list[str] = []

    followers: FollowerSnapshot | None = None
    try:
        if purse is not None and not purse.pay(1):
            raise _NotPaid("account: not within the read budget today")
        account = reader.me()
    except _NotPaid as unpaid:
        notes.append(str(unpaid))
    except ChannelError as exc:
        errors.append(f"account: {exc}")
    else:
        top, read, complete = _top_followers(reader, account.user_id, limits, errors, notes, purse)
        followers = FollowerSnapshot(
            day=today,
            followers_count=account.followers_count,
            top_followers=top,
            followers_read=read,
            top_complete=complete,
        )
        store.put_followers(followers, taken_at=taken_at)

    wanted = measurable(tweet_ids, uri_prefix=uri_prefix)[: limits.max_tweets]
    batches = list(_batches(wanted, reader.lookup_batch))
    measured: dict[str, TweetMetrics] = {}
    missing: list[str] = []
    for number, batch in enumerate(batches, start=1):
        if purse is not None and not purse.pay(len(batch)):
            notes.append("tweets: the others not within the read budget today")
            break
        try:
            result = reader.tweet_metrics(batch, today)
        except ChannelError as exc:
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
