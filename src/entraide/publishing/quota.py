"""The X posting quota: limits as settings, and a shared budget spent before each call to X.

Limits
    :class:`QuotaLimits` holds up to three caps (per 15 minutes, per 24 hours, per month).
    The setting is a preset name, ``key=value`` pairs, or both (``"free,per_15min=5"``).
    Presets follow X's published limits for ``POST /2/tweets`` with a user token
    (developer portal and docs.x.com "rate limits" table, 2024-2026):

    - ``basic`` (the default): 100 requests / 24 h per user. Basic documents no 15-minute
      cap for this endpoint (the 1,667 / 24 h per app never binds a single account). Monthly
      cap of the tier: 3,000 posts per user.
    - ``free``: 17 requests / 24 h per user (and per app); 500 posts per month.
    - ``pro``: 100 requests / 15 min per user, 10,000 / 24 h per app; 300,000 posts per month.

    X changes its tiers; the setting overrides any value (``"basic,per_month=none"``).

    Deleting a tweet (``DELETE /2/tweets/:id``) has its own limit, the same on every tier:
    "The DELETE method has a rate limit of 50 requests per 15 minutes" (developer.x.com,
    "Manage Posts" introduction). ``deletes_per_15min`` keeps it, in a window of its own:
    a deletion spends no posting unit, a post no deletion unit, and X's 429 on posting
    blocks no deletion. Reads spend no window (each read endpoint has its own limit, which
    the snapshot follows from the headers).

Windows (why sliding, and why in buckets)
    X counts its 24-hour limit per user over a window that is not a UTC day (rolling, or
    starting at the first request: ``x-user-limit-24hour-reset`` says when it ends). A fixed
    UTC-day bucket would let 100 posts at 23:50 and 100 more at 00:10 through, and X would
    answer 429. So the 15-minute and 24-hour windows are *sliding*, counted in clock-aligned
    buckets: 1-minute buckets for the 15-minute window, 15-minute buckets for the 24-hour
    window. A unit spent in bucket ``[s, s + b)`` counts until ``s + b + length``: the
    buckets summed at ``now`` cover every moment of ``[now - length, now]``, so the count is
    never below what X sees under either of its window models (at most 1/96 longer than
    X's window: a 24-hour budget frees its units after 24 h to 24 h 15 min). The monthly
    cap is a fixed UTC calendar month (what X's tier pages describe), one bucket.

    Atomic spending without summing inside DynamoDB: every window's buckets live in one item
    with a version; the budget reads it, judges every window (``evaluate``), and adds the
    unit to the current bucket of each under the condition that the version is still the
    one read: a unit is spent in every window or in none, and a concurrent spender (even
    one whose clock is in the previous bucket) makes the condition fail.

Blocked until
    When X answers 429, :meth:`Budget.block_until` records X's reset time; nothing is spent
    before it, whatever the counters say.

The budget shared by every relay instance lives in the table, as one item
(:class:`~entraide.publishing.quota_store.DynamoDBBudget`, which says why);
:class:`MemoryBudget` keeps the same rules in a dict for tests, the bench and a single
process. Each reads its own clock inside the spend.

Why one module: a unit and its price are judged and spent together (:func:`evaluate`, for
the windows and X's money alike, in one conditional write), so the limits, the money and
the budget in a dict stay one rule read in one place.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, ConfigDict, Field

from entraide.kernel.times import iso, utcnow

if TYPE_CHECKING:
    from entraide.publishing.x_prices import Spender

DEFAULT_PRESET = "basic"
# What remaining() answers when no window limits anything.
UNLIMITED = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TTL_MARGIN = timedelta(days=1)
_FIELDS = (
    "per_15min",
    "per_24h",
    "per_month",
    "usd_per_month",
    "activation_reserve",
    "deletes_per_15min",
)
#: The money bucket of a month in a budget's counts (millidollars spent).
MONEY = "usd"


class QuotaLimits(BaseModel):
    """Caps on posts; ``None`` means "no cap on this window"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    per_15min: int | None = Field(default=None, gt=0)
    per_24h: int | None = Field(default=None, gt=0)
    per_month: int | None = Field(default=None, gt=0)
    # X's pay-per-usage: dollars a month, paced, with a share kept for activations
    # (entraide.publishing.x_prices).
    usd_per_month: float | None = Field(default=None, gt=0)
    activation_reserve: float = Field(default=0.25, ge=0, lt=1)
    # DELETE /2/tweets/:id: 50 requests per 15 minutes per user (developer.x.com, "Manage
    # Posts"), on every tier.
    deletes_per_15min: int | None = Field(default=50, gt=0)

    @classmethod
    def preset(cls, name: str) -> QuotaLimits:
        try:
            return PRESETS[name.strip().lower()]
        except KeyError:
            known = ", ".join(sorted(PRESETS))
            raise ValueError(f"Unknown X tier preset {name!r} (known: {known}).") from None

    @classmethod
    def parse(cls, setting: str) -> QuotaLimits:
        """Read a setting: ``""`` (the default preset), ``"free"``, ``"per_24h=50,per_15min=10"``,
        or a preset followed by overrides (``"free,per_15min=5"``; ``none`` lifts a cap).

        Pairs without a preset give exactly those caps: ``"per_24h=50"`` has no monthly cap.
        """
        parts = [part.strip() for part in setting.split(",") if part.strip()]
        if not parts:
            return cls.preset(DEFAULT_PRESET)
        values: dict[str, float | None] = {}
        for index, part in enumerate(parts):
            if "=" not in part:
                if index != 0:
                    raise ValueError(f"A preset name comes first in the quota setting: {part!r}.")
                values = dict(cls.preset(part).model_dump())
                continue
            key, _, raw = part.partition("=")
            key = key.strip().lower()
            if key not in _FIELDS:
                raise ValueError(f"Unknown quota window {key!r} (known: {', '.join(_FIELDS)}).")
            raw = raw.strip().lower()
            number = float if key in ("usd_per_month", "activation_reserve") else int
            try:
                values[key] = None if raw in ("", "none") else number(raw)
            except ValueError:
                raise ValueError(f"Quota {key} must be a number or none: {raw!r}.") from None
        return cls.model_validate(values)

    @property
    def money(self) -> int | None:
        """The monthly budget in millidollars, when X is paid per use."""
        return None if self.usd_per_month is None else round(self.usd_per_month * 1000)

    def windows(self) -> tuple[Window, ...]:
        windows: list[Window] = []
        if self.per_15min is not None:
            windows.append(
                Window("15m", self.per_15min, timedelta(minutes=15), timedelta(minutes=1))
            )
        if self.per_24h is not None:
            windows.append(Window("24h", self.per_24h, timedelta(hours=24), timedelta(minutes=15)))
        if self.per_month is not None:
            windows.append(Window("month", self.per_month))
        return tuple(windows)

    def deletion_windows(self) -> tuple[Window, ...]:
        if self.deletes_per_15min is None:
            return ()
        return (
            Window(
                "delete-15m", self.deletes_per_15min, timedelta(minutes=15), timedelta(minutes=1)
            ),
        )

    def windows_of(self, spender: Spender) -> tuple[Window, ...]:
        """The windows a call of ``spender`` counts in: posts, digests and activation
        announcements the posting windows, deletions their own, reads none."""
        if spender == "deletion":
            return self.deletion_windows()
        if spender == "read":
            return ()
        return self.windows()

    def all_windows(self) -> tuple[Window, ...]:
        return self.windows() + self.deletion_windows()

    def describe(self) -> str:
        labels = (("per_15min", "15 min"), ("per_24h", "24 h"), ("per_month", "month"))
        caps = [f"{getattr(self, key)}/{label}" for key, label in labels if getattr(self, key)]
        if self.usd_per_month:
            caps.append(f"${self.usd_per_month:g}/month")
        return ", ".join(caps) or "unlimited"

    def sustainable_interval(self) -> timedelta:
        """The time between two posts that no cap ever stops: the longest of each window's
        length divided by its cap (a month counts 31 days; free tier: 31 days / 500, about
        89 minutes)."""
        from entraide.publishing.x_prices import CREATE

        # what the paced money sustains, each post at the lowest price (no link)
        by_money = (
            None if self.money is None else int(self.money * (1 - self.activation_reserve) / CREATE)
        )
        spans = (
            (timedelta(minutes=15), self.per_15min),
            (timedelta(hours=24), self.per_24h),
            (timedelta(days=31), self.per_month),
            (timedelta(days=31), by_money or None),
        )
        return max((length / cap for length, cap in spans if cap), default=timedelta(0))

    def default_reserve(self) -> int:
        """Units a relay keeps for digests when a backlog builds up: a quarter of the
        smallest cap (at least one), none when nothing is capped."""
        caps = [cap for cap in (self.per_15min, self.per_24h, self.per_month) if cap]
        return max(1, min(caps) // 4) if caps else 0


PRESETS: dict[str, QuotaLimits] = {
    "free": QuotaLimits(per_24h=17, per_month=500),
    "basic": QuotaLimits(per_24h=100, per_month=3_000),
    "pro": QuotaLimits(per_15min=100, per_24h=10_000, per_month=300_000),
    # Pay-per-usage (2026): no tier; POST /2/tweets 100 per 15 minutes per user, 10,000 per
    # 24 h per app; the money budget is the operators' (``payg,usd_per_month=30``).
    "payg": QuotaLimits(per_15min=100, per_24h=10_000, usd_per_month=30),
}


def _floor(moment: datetime, step: timedelta) -> datetime:
    return _EPOCH + ((moment.astimezone(UTC) - _EPOCH) // step) * step


def _month_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(start: datetime) -> datetime:
    return (start + timedelta(days=32)).replace(day=1)


@dataclass(frozen=True, slots=True)
class Window:
    """One cap: sliding over ``length`` in buckets of ``bucket``, or (both None) the UTC month."""

    name: str
    limit: int
    length: timedelta | None = None
    bucket: timedelta | None = None

    def bucket_of(self, now: datetime) -> datetime:
        if self.bucket is None:
            return _month_start(now)
        return _floor(now, self.bucket)

    def span(self, now: datetime) -> tuple[datetime, datetime]:
        """Starts of the oldest and of the current bucket that count at ``now``."""
        current = self.bucket_of(now)
        if self.bucket is None or self.length is None:
            return current, current
        return _floor(now - self.length, self.bucket), current

    def frees_at(self, start: datetime) -> datetime:
        """When a unit spent in the bucket starting at ``start`` stops counting."""
        if self.bucket is None or self.length is None:
            return _next_month(start)
        return start + self.bucket + self.length

    def expires_at(self, start: datetime) -> int:
        return int((self.frees_at(start) + TTL_MARGIN).timestamp())

    def key(self, start: datetime) -> str:
        return f"{self.name}#{iso(start)}"

    def counted(
        self, counts: Mapping[tuple[str, datetime], int], now: datetime
    ) -> list[tuple[datetime, int]]:
        """The buckets of ``counts`` that count at ``now``, oldest first."""
        first, current = self.span(now)
        return sorted(
            (start, count)
            for (name, start), count in counts.items()
            if name == self.name and first <= start <= current and count
        )

    def used(self, counts: Mapping[tuple[str, datetime], int], now: datetime) -> int:
        return sum(count for _, count in self.counted(counts, now))

    def retry_at(self, counts: Mapping[tuple[str, datetime], int], now: datetime) -> datetime:
        """The first moment at which this window has a unit again (given no new spending)."""
        buckets = self.counted(counts, now)
        used = sum(count for _, count in buckets)
        for start, count in buckets:
            used -= count
            if used < self.limit:
                return self.frees_at(start)
        return self.frees_at(self.bucket_of(now))


@dataclass(frozen=True, slots=True)
class Reservation:
    """One unit spent at ``at``: the bucket it went into, per window."""

    at: datetime
    buckets: tuple[tuple[str, datetime], ...]
    #: Millidollars added to the month's money bucket (0 for a budget without money).
    cost: int = 0


@dataclass(frozen=True, slots=True)
class Denied:
    """No unit now; ``retry_at`` is the earliest time one may be free. ``window`` says why."""

    retry_at: datetime
    window: str


class Budget(Protocol):
    @property
    def limits(self) -> QuotaLimits: ...

    def reserve(
        self, now: datetime | None = None, *, cost: int = 0, spender: Spender = "post"
    ) -> Reservation | Denied:
        """Spend one unit in every window, or in none, at the budget's own clock (read
        inside the spend); ``now`` only where a test sets the moment. With a money budget,
        ``cost`` millidollars too, within what the pace allows ``spender``."""
        ...

    def release(self, reservation: Reservation) -> None:
        """Give a unit back: X did not post (429, 5xx before posting)."""
        ...

    def block_until(self, at: datetime, now: datetime | None = None) -> None:
        """Spend nothing before ``at`` (X's reset time after a 429); never shortens a block."""
        ...

    def remaining(self, now: datetime | None = None, *, cost: int = 0) -> int:
        """Units that can be spent now: the smallest over the windows (and, with a money
        budget, how many calls of ``cost`` the pace affords), 0 while blocked."""
        ...


Counts = dict[tuple[str, datetime], int]


@dataclass(frozen=True, slots=True)
class Money:
    """A monthly budget (millidollars) and the share kept for activations."""

    budget: int
    reserve: float

    @classmethod
    def of(cls, limits: QuotaLimits) -> Money | None:
        return None if limits.money is None else cls(limits.money, limits.activation_reserve)

    def spent(self, counts: Mapping[tuple[str, datetime], int], now: datetime) -> int:
        return counts.get((MONEY, _month_start(now)), 0)

    def judge(
        self, counts: Counts, now: datetime, cost: int, spender: Spender
    ) -> Denied | tuple[datetime, int]:
        from entraide.publishing.x_prices import affordable_at, allowance

        spent = self.spent(counts, now)
        if spender == "deletion":
            # A post that ended must leave X whatever the month's pace: the deletion is
            # counted, never refused (each follows a post that cost at least as much).
            return _month_start(now), cost
        if spent + cost > allowance(self.budget, self.reserve, now, spender):
            retry = affordable_at(self.budget, self.reserve, spent, cost, now, spender)
            return Denied(max(retry, now + timedelta(seconds=1)), "money")
        return _month_start(now), cost

    def affords(self, counts: Counts, now: datetime, cost: int) -> int:
        from entraide.publishing.x_prices import allowance

        if cost <= 0:
            return UNLIMITED
        room = allowance(self.budget, self.reserve, now, "post") - self.spent(counts, now)
        return max(0, room // cost)


def blocks(spender: Spender) -> bool:
    """Whether X's 429 on posting (:meth:`Budget.block_until`) stops ``spender``: deletions
    and reads have limits of their own."""
    return spender not in ("deletion", "read")


def evaluate(
    windows: Iterable[Window],
    counts: Counts,
    blocked: datetime | None,
    now: datetime,
    *,
    money: Money | None = None,
    cost: int = 0,
    spender: Spender = "post",
) -> Denied | dict[str, tuple[datetime, int]]:
    """Either why no unit can be spent, or per window its current bucket and how many units
    that bucket may hold (the cap minus the past buckets still counted); with ``money``, its
    month's bucket and the ``cost`` it takes."""
    if blocked is not None and blocked > now and blocks(spender):
        return Denied(blocked, "blocked")
    allowed: dict[str, tuple[datetime, int]] = {}
    denials: list[Denied] = []
    if money is not None:
        judged = money.judge(counts, now, cost, spender)
        if isinstance(judged, Denied):
            denials.append(judged)
        else:
            allowed[MONEY] = judged
    for window in windows:
        used = window.used(counts, now)
        current = window.bucket_of(now)
        if used >= window.limit:
            denials.append(Denied(window.retry_at(counts, now), window.name))
            continue
        allowed[window.name] = (
            current,
            window.limit - (used - counts.get((window.name, current), 0)),
        )
    if denials:
        return max(denials, key=lambda denial: denial.retry_at)
    return allowed


def units_left(
    windows: Iterable[Window],
    counts: Counts,
    blocked: datetime | None,
    now: datetime,
    *,
    money: Money | None = None,
    cost: int = 0,
) -> int:
    if blocked is not None and blocked > now:
        return 0
    free = [max(0, window.limit - window.used(counts, now)) for window in windows]
    if money is not None:
        free.append(money.affords(counts, now, cost))
    return min(free) if free else UNLIMITED


def increments(reservation: Reservation) -> dict[tuple[str, datetime], int]:
    """What a reservation added to each bucket: one unit, or its cost to the money."""
    return {
        bucket: (reservation.cost if bucket[0] == MONEY else 1) for bucket in reservation.buckets
    }


def is_stale(name: str, start: datetime, windows: Mapping[str, Window], now: datetime) -> bool:
    """Whether a bucket counts no more (a money bucket: once its month is over)."""
    if name == MONEY:
        return _next_month(start) <= now
    return name not in windows or windows[name].frees_at(start) <= now


class MemoryBudget:
    """The same budget in a dict: for tests, the bench and a single process."""

    def __init__(self, limits: QuotaLimits, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.clock = clock
        self._limits = limits
        self._windows = limits.windows()
        self._money = Money.of(limits)
        self._counts: Counts = {}
        self._blocked: datetime | None = None
        self._lock = threading.Lock()

    @property
    def limits(self) -> QuotaLimits:
        return self._limits

    def reserve(
        self, now: datetime | None = None, *, cost: int = 0, spender: Spender = "post"
    ) -> Reservation | Denied:
        with self._lock:
            now = now or self.clock()
            verdict = evaluate(
                self._limits.windows_of(spender),
                self._counts,
                self._blocked,
                now,
                money=self._money,
                cost=cost,
                spender=spender,
            )
            if isinstance(verdict, Denied):
                return verdict
            buckets = tuple((name, start) for name, (start, _) in verdict.items())
            reservation = Reservation(now, buckets, cost if self._money else 0)
            for bucket, amount in increments(reservation).items():
                self._counts[bucket] = self._counts.get(bucket, 0) + amount
            self._forget_before(now)
            return reservation

    def _forget_before(self, now: datetime) -> None:
        """Drop buckets that count no more (what the TTL does to DynamoDB items)."""
        by_name = {window.name: window for window in self._limits.all_windows()}
        for name, start in list(self._counts):
            if is_stale(name, start, by_name, now):
                del self._counts[(name, start)]

    def spent(self, now: datetime | None = None) -> int:
        """Millidollars spent this month (0 without a money budget)."""
        with self._lock:
            return self._counts.get((MONEY, _month_start(now or self.clock())), 0)

    def release(self, reservation: Reservation) -> None:
        with self._lock:
            for bucket, amount in increments(reservation).items():
                if self._counts.get(bucket, 0) > 0:
                    self._counts[bucket] = max(0, self._counts[bucket] - amount)

    def block_until(self, at: datetime, now: datetime | None = None) -> None:
        with self._lock:
            if self._blocked is None or self._blocked < at:
                self._blocked = at

    def remaining(self, now: datetime | None = None, *, cost: int = 0) -> int:
        with self._lock:
            return units_left(
                self._windows,
                self._counts,
                self._blocked,
                now or self.clock(),
                money=self._money,
                cost=cost,
            )
