"""The monthly KPIs: what the community managers used to count by hand.

:func:`~entraide.reporting.month_loader.load_month` reads a month through the indexes
(never a Scan) into :class:`~entraide.reporting.figures.MonthData`; :func:`compute_month`
turns it into a :class:`~entraide.reporting.figures.MonthlyReport` and is pure: same
data, same report. :mod:`.formats` and :mod:`entraide.web.report_page` write it out.

Conventions (the report states them in its notes):

- **Months are UTC**, as the ``by_month`` index is (``POST#2026-10`` holds the posts
  created from 2026-10-01T00:00Z to 2026-11-01T00:00Z excluded).
- **Posts** count in the month of their creation, with their status at report time.
- **Decisions** count in the month they were taken: a post created on 31 October and
  approved on 1 November is one of October's posts and one of November's decisions
  (approval rate, moderation delay). The loader looks for them among the posts created
  in the month and the month before (``decision_lookback_months``).
- **Activations** of the month: those open at any moment of it. ``days_active`` counts
  the UTC calendar days of the month on which the activation was open, up to the end of
  the month (or the report's time for the current month).
- **Tweet metrics** are those of the last daily snapshot up to the 1st of the next month
  (the snapshot that closes the month); **followers** at start and end are the first and
  last snapshots from the 1st of the month to the 1st of the next month.
- **Engagement rate** = interactions (likes + retweets + replies + quotes) / impressions
  when X gave the impressions of every measured tweet; otherwise interactions / (measured
  tweets x followers at the end of the month), the usual "per tweet, per follower" rate.
  ``engagement_basis`` says which.

Privacy: see :mod:`.figures`: nothing personal enters the data this module counts.

Why one module: :func:`compute_month` is one pure pass over a month, each KPI under the
conventions above; the figures' types (:mod:`.figures`) and notes (:mod:`.notes`) live apart.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Final

from entraide.kernel.model import CATEGORY_LABELS, Activation, Category, Kind, PostStatus
from entraide.reporting.channel_figures import channel_figures
from entraide.reporting.editorial_figures import editorial_figures
from entraide.reporting.figures import (
    ActivationFigures,
    ChannelSnapshots,
    DayCount,
    EngagementBasis,
    Figure,
    FollowerFigures,
    HashtagCount,
    MatchFigures,
    ModerationFigures,
    MonthData,
    MonthlyReport,
    PostFacts,
    PostFigures,
    TweetFacts,
    TweetFigures,
    WeekFigures,
    month_bounds,
    month_label,
    percentile,
)
from entraide.reporting.notes import with_notes
from entraide.reporting.snapshots import TOP_FOLLOWERS, FollowerSnapshot, TweetMetrics
from entraide.reporting.watch_figures import watch_figures

TOP_HASHTAGS: Final = 10

# A hashtag: "#" not preceded by a word character or "&" (HTML entities), then letters,
# digits or "_", at least one letter (X does not link "#123" either).
_HASHTAG = re.compile(r"(?<![\w&])#(\w*[^\W\d_]\w*)")


def hashtags_of(text: str) -> list[str]:
    """The hashtags of a tweet, each once, as written (with their "#")."""
    return list(dict.fromkeys(f"#{tag}" for tag in _HASHTAG.findall(text)))


def _departement_label(code: str) -> str:
    from entraide.kernel.departements import departement_name

    try:
        return f"{departement_name(code)} ({code})"
    except ValueError:
        return code or "inconnu"


def unique[T](items: Iterable[T], key: Callable[[T], Hashable]) -> list[T]:
    seen: dict[Hashable, T] = {}
    for item in items:
        seen.setdefault(key(item), item)
    return list(seen.values())


def _days_between(start: datetime, end: datetime) -> int:
    """UTC calendar days touched by ``[start, end)``."""
    if end <= start:
        return 0
    last = (end - timedelta(microseconds=1)).astimezone(UTC).date()
    return (last - start.astimezone(UTC).date()).days + 1


def _rate(numerator: int, denominator: int, digits: int = 6) -> float | None:
    return round(numerator / denominator, digits) if denominator > 0 else None


def _post_figures(posts: Sequence[PostFacts]) -> PostFigures:
    kinds = Counter(post.kind for post in posts)
    categories = Counter(post.category for post in posts)
    statuses = Counter(post.status for post in posts)
    departements = Counter(post.departement for post in posts)
    return PostFigures(
        total=len(posts),
        by_kind=tuple(Figure(kind.value, kind.label, kinds[kind]) for kind in Kind),
        by_category=tuple(
            Figure(category.value, CATEGORY_LABELS[category], categories[category])
            for category in Category
        ),
        by_departement=tuple(
            Figure(code, _departement_label(code), count)
            for code, count in sorted(departements.items(), key=lambda item: (-item[1], item[0]))
        ),
        by_status=tuple(
            Figure(status.value, status.label, statuses[status]) for status in PostStatus
        ),
    )


def _moderation_figures(decisions: Sequence[PostFacts], start: datetime) -> ModerationFigures:
    approved = sum(1 for post in decisions if post.approved)
    delays = [
        max((post.decided_at - post.created_at).total_seconds(), 0.0)
        for post in decisions
        if post.decided_at is not None
    ]
    return ModerationFigures(
        decided=len(decisions),
        approved=approved,
        rejected=len(decisions) - approved,
        approval_rate=_rate(approved, len(decisions), 4),
        delay_median_seconds=round(statistics.median(delays), 1) if delays else None,
        delay_p90_seconds=round(percentile(delays, 0.9), 1) if delays else None,
        decided_from_earlier_months=sum(1 for post in decisions if post.created_at < start),
    )


def _activation_figures(
    activations: Sequence[Activation],
    posts: Sequence[PostFacts],
    tweets: Sequence[TweetFacts],
    start: datetime,
    end: datetime,
    as_of: datetime,
) -> tuple[ActivationFigures, ...]:
    posts_of = Counter(post.activation_id for post in posts)
    tweets_of = Counter(tweet.activation_id for tweet in tweets)
    figures = []
    for activation in sorted(activations, key=lambda a: (a.opened_at, a.id)):
        closed = activation.closed_at
        until = min(closed if closed is not None else as_of, end)
        figures.append(
            ActivationFigures(
                activation_id=activation.id,
                hashtag=activation.hashtag,
                hazard=activation.hazard.value,
                hazard_label=activation.hazard.label,
                level=activation.level.value,
                departements=tuple(activation.departements),
                origin=activation.origin,
                opened_at=activation.opened_at,
                closed_at=closed,
                started_before_month=activation.opened_at < start,
                open_at_month_end=closed is None or closed >= end,
                days_active=_days_between(max(activation.opened_at, start), until),
                posts=posts_of[activation.id],
                tweets=tweets_of[activation.id],
            )
        )
    return tuple(figures)


def _latest_metrics(
    tweets: Sequence[TweetFacts], metrics: Iterable[TweetMetrics], last_day: date
) -> dict[str, TweetMetrics]:
    """For each tweet, its metrics of the latest snapshot day <= ``last_day``."""
    posted = {tweet.tweet_id: tweet.posted_at.astimezone(UTC).date() for tweet in tweets}
    latest: dict[str, TweetMetrics] = {}
    for metric in metrics:
        day_posted = posted.get(metric.tweet_id)
        if day_posted is None or not day_posted <= metric.day <= last_day:
            continue
        known = latest.get(metric.tweet_id)
        if known is None or metric.day > known.day:
            latest[metric.tweet_id] = metric
    return latest


def _engagement(
    measured: Sequence[TweetMetrics], followers: int | None, basis: EngagementBasis | None
) -> float | None:
    interactions = sum(metric.interactions for metric in measured)
    if basis == "impressions":
        return _rate(interactions, sum(metric.impressions or 0 for metric in measured))
    if basis == "followers" and followers:
        return _rate(interactions, len(measured) * followers)
    return None


def _basis(measured: Sequence[TweetMetrics], followers: int | None) -> EngagementBasis | None:
    if not measured:
        return None
    if all(metric.impressions is not None for metric in measured) and any(
        metric.impressions for metric in measured
    ):
        return "impressions"
    return "followers" if followers else None


def _follower_figures(snapshots: Sequence[FollowerSnapshot]) -> FollowerFigures:
    ordered = sorted(unique(snapshots, key=lambda s: s.day), key=lambda s: s.day)
    if not ordered:
        return FollowerFigures(None, None, None, None, None, None, (), None, False, 0)
    first, last = ordered[0], ordered[-1]
    growth = last.followers_count - first.followers_count if len(ordered) > 1 else None
    growth_rate = (
        round(growth / first.followers_count, 4)
        if growth is not None and first.followers_count > 0
        else None
    )
    with_top = [snapshot for snapshot in ordered if snapshot.top_followers]
    top = with_top[-1] if with_top else None
    return FollowerFigures(
        start=first.followers_count,
        start_day=first.day,
        end=last.followers_count,
        end_day=last.day,
        growth=growth,
        growth_rate=growth_rate,
        top=top.top_followers[:TOP_FOLLOWERS] if top else (),
        top_day=top.day if top else None,
        top_complete=top.top_complete if top else False,
        top_read=top.followers_read if top else 0,
    )


def _hashtag_counts(tweets: Sequence[TweetFacts]) -> tuple[HashtagCount, ...]:
    """Tweets using each hashtag, case ignored; shown as most often written."""
    counts: Counter[str] = Counter()
    spellings: dict[str, Counter[str]] = {}
    for tweet in tweets:
        seen: set[str] = set()
        for tag in hashtags_of(tweet.text):
            folded = tag.casefold()
            spellings.setdefault(folded, Counter())[tag] += 1
            if folded not in seen:
                seen.add(folded)
                counts[folded] += 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_HASHTAGS]
    return tuple(
        HashtagCount(tag=min(spellings[folded].items(), key=lambda s: (-s[1], s[0]))[0], count=n)
        for folded, n in ranked
    )


def _weeks(start: datetime, end: datetime) -> Iterator[tuple[date, date]]:
    first = start.date()
    last = (end - timedelta(days=1)).date()
    monday = first - timedelta(days=first.weekday())
    while monday <= last:
        yield max(monday, first), min(monday + timedelta(days=6), last)
        monday += timedelta(days=7)


def compute_month(month: str, data: MonthData) -> MonthlyReport:
    """The figures of ``month`` from ``data`` (pure; ``data.generated_at`` is "now")."""
    start, end = month_bounds(month)
    as_of = min(max(data.generated_at, start), end)

    def in_month(moment: datetime | None) -> bool:
        return moment is not None and start <= moment < end

    posts = unique((p for p in data.posts if in_month(p.created_at)), key=lambda p: p.post_id)
    decisions = unique(
        (p for p in data.decisions if in_month(p.decided_at)), key=lambda p: p.post_id
    )
    matches = unique(
        (m for m in data.matches if in_month(m.created_at)),
        key=lambda m: (m.need_id, m.offer_id),
    )
    tweets = sorted(
        unique((t for t in data.tweets if in_month(t.posted_at)), key=lambda t: t.tweet_id),
        key=lambda t: (t.posted_at, t.tweet_id),
    )
    activations = unique(
        (
            a
            for a in data.activations
            if a.opened_at < end and (a.closed_at is None or a.closed_at > start)
        ),
        key=lambda a: a.id,
    )

    # Followers and metrics: snapshots of the 1st of the month to the 1st of the next.
    first_day, closing_day = start.date(), end.date()
    follower_figures = _follower_figures(
        [s for s in data.followers if first_day <= s.day <= closing_day]
    )
    latest = _latest_metrics(tweets, data.tweet_metrics, closing_day)
    measured = [latest[t.tweet_id] for t in tweets if t.tweet_id in latest]
    followers_ref = follower_figures.end
    basis = _basis(measured, followers_ref)
    impressions = (
        sum(m.impressions or 0 for m in measured)
        if measured and all(m.impressions is not None for m in measured)
        else None
    )
    kinds = Counter(t.kind for t in tweets)
    tweet_figures = TweetFigures(
        total=len(tweets),
        individual=kinds["post"],
        digests=kinds["digest"],
        activation_announcements=kinds["activation"],
        posts_announced=sum(t.post_count for t in tweets if t.kind in ("post", "digest")),
        measured=len(measured),
        likes=sum(m.likes for m in measured),
        retweets=sum(m.retweets for m in measured),
        replies=sum(m.replies for m in measured),
        quotes=sum(m.quotes for m in measured),
        interactions=sum(m.interactions for m in measured),
        impressions=impressions,
        engagement_rate=_engagement(measured, followers_ref, basis),
        engagement_basis=basis,
        metrics_day=max((m.day for m in measured), default=None),
    )

    per_day = Counter(p.created_at.astimezone(UTC).date() for p in posts)
    days = [first_day + timedelta(days=n) for n in range((closing_day - first_day).days)]
    weeks = []
    for week_first, week_last in _weeks(start, end):
        in_week = [
            t for t in tweets if week_first <= t.posted_at.astimezone(UTC).date() <= week_last
        ]
        week_measured = [latest[t.tweet_id] for t in in_week if t.tweet_id in latest]
        iso_year, iso_week, _ = week_first.isocalendar()
        weeks.append(
            WeekFigures(
                week=f"{iso_year}-W{iso_week:02d}",
                first_day=week_first,
                last_day=week_last,
                tweets=len(in_week),
                interactions=sum(m.interactions for m in week_measured),
                engagement_rate=_engagement(week_measured, followers_ref, basis),
            )
        )

    distances = [m.distance_km for m in matches if m.distance_km is not None]
    moderation = _moderation_figures(decisions, start)
    empty = not (posts or decisions or matches or activations or tweets)
    report = MonthlyReport(
        month=month,
        label=month_label(month),
        period_start=start,
        period_end=end,
        generated_at=data.generated_at,
        empty=empty,
        posts=_post_figures(posts),
        moderation=moderation,
        matches=MatchFigures(
            count=len(matches),
            median_distance_km=round(statistics.median(distances), 1) if distances else None,
        ),
        activations=_activation_figures(activations, posts, tweets, start, end, as_of),
        tweets=tweet_figures,
        followers=follower_figures,
        hashtags=_hashtag_counts(tweets),
        posts_per_day=tuple(DayCount(day, per_day[day]) for day in days),
        tweets_per_week=tuple(weeks),
    )

    def audience(
        messages: Sequence[TweetFacts], snapshots: ChannelSnapshots
    ) -> tuple[FollowerFigures, int, int, float | None]:
        """A channel's followers and metrics of the month, as X's above."""
        followers = _follower_figures(
            [s for s in snapshots.followers if first_day <= s.day <= closing_day]
        )
        latest = _latest_metrics(messages, snapshots.metrics, closing_day)
        measured = [latest[m.tweet_id] for m in messages if m.tweet_id in latest]
        rate = _engagement(measured, followers.end, _basis(measured, followers.end))
        return followers, len(measured), sum(m.interactions for m in measured), rate

    channels, spend = channel_figures(tweets, data, in_month, audience)
    x_rate = partial(_engagement, followers=followers_ref, basis=basis)
    editorial = editorial_figures(data, tweets, activations, in_month, latest, x_rate)
    watch = watch_figures(tweets, data, in_month)
    report = replace(report, channels=channels, x_spend=spend, editorial=editorial, watch=watch)
    return with_notes(report, data.notes)
