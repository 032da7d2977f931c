"""The monthly report's vocabulary: months, the facts read, the figures computed.

:class:`MonthData` is built from the public facts of each item only (kind, category,
département, status, dates, ids): no email, phone, moderator address (``decided_by``),
title, description or commune ever enters it, so no output can leak them. The ten "most
influential followers" are public X accounts (id, @username, follower count), not
posters. :func:`~entraide.reporting.kpi.compute_month` turns the data into a
:class:`MonthlyReport`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal

from entraide.kernel.model import Activation, Category, Kind, PostStatus
from entraide.kernel.times import MONTHS_FR, month_of
from entraide.reporting.snapshots import FollowerSnapshot, TopFollower, TweetMetrics

_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


# --- months ------------------------------------------------------------------------------


def _parse_month(month: str) -> tuple[int, int]:
    match = _MONTH.fullmatch(month) if isinstance(month, str) else None
    if match is None:
        raise ValueError(f"Mois invalide : {month!r} (attendu AAAA-MM, par exemple 2026-10).")
    return int(match.group(1)), int(match.group(2))


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """``(start, end)`` of ``YYYY-MM`` in UTC, ``end`` excluded (the next month's start)."""
    year, number = _parse_month(month)
    start = datetime(year, number, 1, tzinfo=UTC)
    end = (
        datetime(year + 1, 1, 1, tzinfo=UTC)
        if number == 12
        else datetime(year, number + 1, 1, tzinfo=UTC)
    )
    return start, end


def shift_month(month: str, delta: int) -> str:
    """``shift_month("2026-01", -1) == "2025-12"``."""
    year, number = _parse_month(month)
    index = year * 12 + (number - 1) + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def report_month(now: datetime) -> str:
    """The month a scheduled run reports on: the one before ``now`` (UTC)."""
    return shift_month(month_of(now), -1)


def month_label(month: str) -> str:
    """``"octobre 2026"``."""
    year, number = _parse_month(month)
    return f"{MONTHS_FR[number - 1]} {year}"


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (NumPy's default, ``inclusive``)."""
    if not values:
        raise ValueError("percentile of nothing")
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- facts -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostFacts:
    """What a report may know of a post: no text, place name, contact nor moderator."""

    post_id: str
    kind: Kind
    category: Category
    departement: str
    status: PostStatus
    created_at: datetime
    activation_id: str = ""
    decided_at: datetime | None = None

    @property
    def approved(self) -> bool | None:
        """The moderation decision: ``None`` while undecided.

        Only approved posts can become withdrawn or expired after a decision.
        """
        if self.decided_at is None:
            return None
        return self.status is not PostStatus.REJECTED


@dataclass(frozen=True, slots=True)
class MatchFacts:
    need_id: str
    offer_id: str
    activation_id: str
    created_at: datetime
    distance_km: float | None = None


@dataclass(frozen=True, slots=True)
class TweetFacts:
    tweet_id: str
    posted_at: datetime
    kind: str  # post / digest / activation
    text: str = ""
    post_count: int = 0
    activation_id: str = ""
    cost: int = 0  # millidollars, X's price of the call (0 on a tier, and elsewhere)
    author: str = ""  # a repost: the reposted message's author (a public account)
    author_followers: int | None = None


@dataclass(frozen=True, slots=True)
class ChannelSnapshots:
    """One channel's daily snapshots of the month (and of the 1st of the next)."""

    followers: tuple[FollowerSnapshot, ...] = ()
    metrics: tuple[TweetMetrics, ...] = ()


@dataclass(frozen=True, slots=True)
class EditorialFacts:
    """An editorial item whose moment falls in the month (no author: a report names no one)."""

    item_id: str
    origin: str  # calendrier / blog
    state: str  # planned / sent / cancelled / missed
    at: datetime
    channels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MonthData:
    """Everything :func:`compute_month` counts. Extra items outside the month are ignored."""

    month: str
    generated_at: datetime
    posts: tuple[PostFacts, ...] = ()  # created in the month
    decisions: tuple[PostFacts, ...] = ()  # decided in the month (created then or before)
    matches: tuple[MatchFacts, ...] = ()
    activations: tuple[Activation, ...] = ()  # open at some moment of the month
    tweets: tuple[TweetFacts, ...] = ()
    tweet_metrics: tuple[TweetMetrics, ...] = ()  # daily snapshots, the 1st of next month too
    followers: tuple[FollowerSnapshot, ...] = ()
    notes: tuple[str, ...] = ()  # how the loader read the data (in French)
    # What Bluesky and Mastodon published (X's are ``tweets``), by channel.
    channel_messages: tuple[tuple[str, tuple[TweetFacts, ...]], ...] = ()
    # Their daily snapshots (X's are ``followers`` and ``tweet_metrics``), by channel.
    channel_snapshots: tuple[tuple[str, ChannelSnapshots], ...] = ()
    x_budget_usd: float | None = None  # X's monthly budget, when it is paid per use
    editorial: tuple[EditorialFacts, ...] = ()  # the calendar's items of the month


# --- the report --------------------------------------------------------------------------

EngagementBasis = Literal["impressions", "followers"]


@dataclass(frozen=True, slots=True)
class Figure:
    key: str
    label: str
    count: int


@dataclass(frozen=True, slots=True)
class PostFigures:
    total: int
    by_kind: tuple[Figure, ...]
    by_category: tuple[Figure, ...]
    by_departement: tuple[Figure, ...]
    by_status: tuple[Figure, ...]


@dataclass(frozen=True, slots=True)
class ModerationFigures:
    decided: int
    approved: int
    rejected: int
    approval_rate: float | None  # approved / decided, 0..1
    delay_median_seconds: float | None
    delay_p90_seconds: float | None
    decided_from_earlier_months: int  # decisions of the month on posts created before it


@dataclass(frozen=True, slots=True)
class MatchFigures:
    count: int
    median_distance_km: float | None


@dataclass(frozen=True, slots=True)
class ActivationFigures:
    activation_id: str
    hashtag: str
    hazard: str
    hazard_label: str
    level: str
    departements: tuple[str, ...]
    origin: str
    opened_at: datetime
    closed_at: datetime | None  # None: still open when the report was made
    started_before_month: bool
    open_at_month_end: bool
    days_active: int  # UTC days of the month on which it was open
    posts: int  # posts of the month attached to it
    tweets: int  # tweets of the month about it


@dataclass(frozen=True, slots=True)
class TweetFigures:
    total: int
    individual: int  # one approved post each
    digests: int
    activation_announcements: int
    posts_announced: int
    measured: int  # tweets of the month with metrics
    likes: int
    retweets: int
    replies: int
    quotes: int
    interactions: int
    impressions: int | None  # None unless X gave them for every measured tweet
    engagement_rate: float | None
    engagement_basis: EngagementBasis | None
    metrics_day: date | None  # the last snapshot day used


@dataclass(frozen=True, slots=True)
class FollowerFigures:
    start: int | None
    start_day: date | None
    end: int | None
    end_day: date | None
    growth: int | None
    growth_rate: float | None  # growth / start, 0..1 (negative when followers were lost)
    top: tuple[TopFollower, ...]
    top_day: date | None
    top_complete: bool
    top_read: int


@dataclass(frozen=True, slots=True)
class HashtagCount:
    tag: str  # with its "#"
    count: int  # tweets of the month that use it


@dataclass(frozen=True, slots=True)
class DayCount:
    day: date
    count: int


@dataclass(frozen=True, slots=True)
class WeekFigures:
    week: str  # ISO week, "2026-W40"
    first_day: date  # clipped to the month
    last_day: date
    tweets: int
    interactions: int
    engagement_rate: float | None


@dataclass(frozen=True, slots=True)
class ChannelFigures:
    """What one channel published in the month (``total``: every channel together)."""

    channel: str  # "x", "bluesky", "mastodon", or "total"
    messages: int
    individual: int
    digests: int
    activation_announcements: int
    posts_announced: int
    # Its audience, from its daily snapshots (the total: the sum of the channels' figures)
    followers: FollowerFigures | None = None
    measured: int = 0  # messages of the month with metrics
    interactions: int = 0
    engagement_rate: float | None = None


@dataclass(frozen=True, slots=True)
class SpendFigures:
    """X's spend of the month, in dollars, as priced before each call."""

    total: float
    by_kind: tuple[tuple[str, float], ...]  # post / digest / activation
    per_announced_post: float | None
    budget: float | None
    share_of_budget: float | None  # 0..1


@dataclass(frozen=True, slots=True)
class EngagementFigures:
    """X's measured messages of one kind and their engagement (basis as the month's)."""

    messages: int
    measured: int
    interactions: int
    engagement_rate: float | None


@dataclass(frozen=True, slots=True)
class EditorialFigures:
    """The voice while asleep: the calendar's items of the month and what became of them."""

    items: int  # whose moment fell in the month (cancelled ones aside)
    from_calendar: int
    from_blog: int
    handed: int  # every channel handed to the relay
    missed: int
    planned: int  # still to go
    cancelled: int
    held: int  # whose moment fell while an activation was open
    #: editorial messages each channel published in the month (the relay's records)
    published: tuple[tuple[str, int], ...]
    editorial_engagement: EngagementFigures  # on X
    crisis_engagement: EngagementFigures  # on X: posts, digests, activation announcements


@dataclass(frozen=True, slots=True)
class RelayedItem:
    """A message of another account that the watch found and a channel reposted."""

    channel: str  # x / bluesky / mastodon
    at: datetime  # when the repost was made
    target: str  # what the network reposted: X's post id, Bluesky's URI, Mastodon's URL
    link: str  # its public page ("" when the target names none)
    cost: float  # dollars, X's price of the call (0 elsewhere)
    author: str  # the reposted message's author ("" when the relay was not told)
    author_followers: int | None  # its followers when the watch read it


@dataclass(frozen=True, slots=True)
class WatchFigures:
    """What the account relayed from the watch in the month (the relay's records)."""

    relayed: tuple[RelayedItem, ...]  # in the order they were made
    per_channel: tuple[tuple[str, int], ...]  # every channel, none left out
    x_spend: float  # dollars
    #: the relayed authors' followers, each author counted once (its largest figure)
    authors_reach: int


@dataclass(frozen=True, slots=True)
class MonthlyReport:
    month: str
    label: str  # "octobre 2026"
    period_start: datetime
    period_end: datetime  # excluded
    generated_at: datetime
    empty: bool
    posts: PostFigures
    moderation: ModerationFigures
    matches: MatchFigures
    activations: tuple[ActivationFigures, ...]
    tweets: TweetFigures
    followers: FollowerFigures
    hashtags: tuple[HashtagCount, ...]
    posts_per_day: tuple[DayCount, ...]
    tweets_per_week: tuple[WeekFigures, ...]
    notes: tuple[str, ...] = field(default=())
    channels: tuple[ChannelFigures, ...] = field(default=())
    x_spend: SpendFigures | None = None
    editorial: EditorialFigures | None = None
    watch: WatchFigures | None = None
