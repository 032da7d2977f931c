"""A surge of approved posts against X's posting quota, on a simulated clock.

N approved posts arrive over one hour (arrival times random, seeded) in one activation;
the relay (the real :class:`entraide.publishing.relay.Relay`, in-memory store and budget, the real
tweet texts) handles their messages as the SQS handler would: a deferred message comes
back after ``defer_delay_seconds``, a temporary failure after the visibility timeout. The
fake X enforces the tier's limits on its own (rolling 15 minutes and 24 hours, UTC month)
and answers 429 beyond them. For each N, the table says how many tweets went out
(individual / digests), how many posts they covered, the delay from approval to
announcement, and how many requests X refused (must be 0).

    .venv/bin/python bench/relay_surge.py [--tier free|basic|pro] [--limits per_24h=50,...]
                                          [--sizes 100,1000,10000] [--seed 2026]
"""

from __future__ import annotations

import argparse
import heapq
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from entraide.kernel.model import Activation, AlertLevel, Category, Hazard, Kind, Post, PostStatus
from entraide.publishing.quota import MemoryBudget, QuotaLimits
from entraide.publishing.relay import DEFAULT_DIGEST_THRESHOLD, DEFAULT_DIGEST_WAIT, Relay
from entraide.publishing.relay_memory import MemoryRelayStore
from entraide.publishing.relay_outcomes import Deferred, TemporaryFailure, defer_delay_seconds
from entraide.publishing.x_answers import (
    SCOPE_15MIN,
    SCOPE_24H_USER,
    SCOPE_UNKNOWN,
    PostedTweet,
    XRateLimited,
)

START = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
VISIBILITY_TIMEOUT = timedelta(seconds=180)
ACTIVATION = Activation(
    id="A1",
    hazard=Hazard.INONDATION,
    departements=("11",),
    level=AlertLevel.ROUGE,
    hashtag="#InondationsAude",
    opened_at=START,
)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class StrictX:
    """X as far as posting goes: accepts within the tier's caps, answers 429 beyond."""

    def __init__(self, clock: Clock, limits: QuotaLimits) -> None:
        self.clock = clock
        self.limits = limits
        self.accepted: list[datetime] = []
        self.refused = 0

    def _refusal(self, now: datetime) -> XRateLimited | None:
        caps = (
            (self.limits.per_15min, timedelta(minutes=15), SCOPE_15MIN),
            (self.limits.per_24h, timedelta(hours=24), SCOPE_24H_USER),
        )
        for cap, length, scope in caps:
            if cap is None:
                continue
            inside = [at for at in self.accepted if at > now - length]
            if len(inside) >= cap:
                return XRateLimited(inside[-cap] + length, scope)
        if self.limits.per_month is not None:
            month = [at for at in self.accepted if (at.year, at.month) == (now.year, now.month)]
            if len(month) >= self.limits.per_month:
                return XRateLimited(now + timedelta(days=1), SCOPE_UNKNOWN)
        return None

    def post(self, text: str) -> PostedTweet:
        now = self.clock()
        refusal = self._refusal(now)
        if refusal is not None:
            self.refused += 1
            raise refusal
        self.accepted.append(now)
        return PostedTweet(id=str(1_000_000 + len(self.accepted)), text=text)


@dataclass
class Result:
    posts: int
    individual: int
    digests: int
    activations: int
    covered: int
    delays: list[timedelta]
    refused: int
    handled: int
    wall: float
    never_announced: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _post(index: int, rng: random.Random, approved_at: datetime) -> Post:
    return Post(
        id=f"P{index:05d}",
        kind=rng.choice(list(Kind)),
        category=rng.choice(list(Category)),
        title=f"Annonce numéro {index}",
        description="…",
        postcode="11000",
        commune="Carcassonne",
        insee="11069",
        departement="11",
        lat=43.2,
        lon=2.35,
        geohash="spc00bz",
        activation_id=ACTIVATION.id,
        status=PostStatus.APPROVED,
        created_at=approved_at - timedelta(minutes=10),
        version=2,
        decided_by="moderation",
        decided_at=approved_at,
    )


def simulate(
    count: int,
    limits: QuotaLimits,
    *,
    seed: int,
    spread: timedelta,
    digest_wait: timedelta,
    reserve: int | None,
    threshold: int,
) -> Result:
    from entraide.moderation.announce import approved_message

    rng = random.Random(seed)
    clock = Clock(START)
    store = MemoryRelayStore()
    budget = MemoryBudget(limits)
    x = StrictX(clock, limits)
    posts: dict[str, Post] = {}
    ids = iter(range(10**9))
    relay = Relay(
        store,
        budget,
        x,
        clock=clock,
        public_base_url="https://shareentraide.example",
        load_post=posts.get,
        load_activation={ACTIVATION.id: ACTIVATION}.get,
        digest_threshold=threshold,
        digest_reserve=reserve,
        digest_wait=digest_wait,
        new_id=lambda: f"{next(ids):08d}",
    )
    queue: list[tuple[datetime, int, dict[str, Any]]] = []
    approved: dict[str, datetime] = {}
    for index in range(count):
        at = START + timedelta(seconds=rng.uniform(0, spread.total_seconds()))
        post = _post(index, rng, at)
        posts[post.id] = post
        approved[post.id] = at
        heapq.heappush(queue, (at, index, approved_message(post)))
    sequence = count
    handled = 0
    started = time.perf_counter()
    while queue:
        moment, _, message = heapq.heappop(queue)
        clock.now = max(clock.now, moment)
        handled += 1
        try:
            outcome = relay.handle_approved(message)
        except TemporaryFailure:
            comeback = clock.now + VISIBILITY_TIMEOUT
        else:
            if not isinstance(outcome, Deferred):
                continue
            comeback = clock.now + timedelta(seconds=defer_delay_seconds(outcome.until, clock.now))
        sequence += 1
        heapq.heappush(queue, (comeback, sequence, message))
    wall = time.perf_counter() - started

    tweets = list(store.tweets.values())
    delays = [
        store.announced[post_id].at - at
        for post_id, at in approved.items()
        if post_id in store.announced
    ]
    return Result(
        posts=count,
        individual=sum(1 for tweet in tweets if tweet.kind == "post"),
        digests=sum(1 for tweet in tweets if tweet.kind == "digest"),
        activations=sum(1 for tweet in tweets if tweet.kind == "activation"),
        covered=sum(len(tweet.post_ids) for tweet in tweets),
        delays=delays,
        refused=x.refused,
        handled=handled,
        wall=wall,
        never_announced=count - len(delays),
    )


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{seconds:02d}s" if hours else f"{minutes}m{seconds:02d}s"


def _table(results: Sequence[Result]) -> str:
    header = (
        "posts",
        "tweets",
        "individual",
        "digests",
        "covered",
        "max delay",
        "median delay",
        "refused by X",
        "messages handled",
        "wall",
    )
    rows = [header]
    for result in results:
        rows.append(
            (
                f"{result.posts:,}",
                f"{result.individual + result.digests}",
                f"{result.individual}",
                f"{result.digests}",
                f"{result.covered:,}",
                _duration(max(result.delays)) if result.delays else "-",
                _duration(
                    timedelta(seconds=statistics.median(d.total_seconds() for d in result.delays))
                )
                if result.delays
                else "-",
                f"{result.refused}",
                f"{result.handled:,}",
                f"{result.wall:.2f}s",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = [
        " | ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tier", default="basic", help="X tier preset: free, basic, pro")
    parser.add_argument(
        "--limits", default=None, help='custom limits, e.g. "per_24h=50,per_15min=10"'
    )
    parser.add_argument("--sizes", default="100,1000,10000", help="numbers of posts")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--spread-minutes", type=float, default=60.0)
    parser.add_argument(
        "--digest-wait-minutes",
        type=float,
        default=None,
        help="default: 15, or the quota's sustainable interval when longer",
    )
    parser.add_argument("--reserve", type=int, default=None, help="units kept for digests")
    parser.add_argument("--threshold", type=int, default=DEFAULT_DIGEST_THRESHOLD)
    args = parser.parse_args(argv)

    limits = QuotaLimits.parse(args.limits) if args.limits else QuotaLimits.preset(args.tier)
    reserve = limits.default_reserve() if args.reserve is None else args.reserve
    wait = (
        max(DEFAULT_DIGEST_WAIT, limits.sustainable_interval())
        if args.digest_wait_minutes is None
        else timedelta(minutes=args.digest_wait_minutes)
    )
    sizes = [int(size) for size in str(args.sizes).split(",") if size.strip()]
    label = args.limits or args.tier
    print(
        f"X limits: {label} ({limits.describe()}); digest reserve {reserve}, "
        f"threshold {args.threshold}, digest wait {_duration(wait)}; "
        f"posts approved over {args.spread_minutes:g} min, seed {args.seed}"
    )
    results = [
        simulate(
            size,
            limits,
            seed=args.seed,
            spread=timedelta(minutes=args.spread_minutes),
            digest_wait=wait,
            reserve=reserve,
            threshold=args.threshold,
        )
        for size in sizes
    ]
    print(_table(results))
    failed = [r for r in results if r.refused or r.never_announced or r.covered != r.posts]
    if failed:
        print("FAILED: a request was refused by X, or a post was not announced exactly once.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
