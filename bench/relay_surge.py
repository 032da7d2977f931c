"""A surge of approved posts on every channel (X with its money budget, Bluesky, Mastodon),
on a simulated clock.

N approved posts arrive over one hour (arrival times random, seeded) in one activation,
over one département or several; each channel is the real
:class:`entraide.publishing.relay.Relay` (in-memory store and budget, the real texts under
the network's rule), and the messages are handled as the SQS handler does
(:class:`entraide.publishing.channels.Channels`): a channel that defers gets the message back
for itself alone after ``defer_delay_seconds``, a temporary failure after the visibility
timeout. Each fake network enforces its own published limits (X: the tier's or 100 per
15 minutes; Bluesky: 1,666 an hour and 11,666 a day; Mastodon: 300 per 3 hours) and
answers 429 beyond them. For each N and channel, the table says how many messages went out
(individual / digests), how many posts they covered, the delays from approval to
announcement, the requests refused (must be 0), X's spend, and the queue messages handled.

    .venv/bin/python bench/relay_surge.py [--tier payg|free|basic|pro] [--usd 30]
        [--links digest,activation] [--channels x,bluesky,mastodon] [--departements 1,5]
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
from functools import partial
from typing import Any

from entraide.effects.memory import MemoryLedgerStore
from entraide.kernel.model import Activation, AlertLevel, Category, Hazard, Kind, Post, PostStatus
from entraide.publishing.channel_errors import (
    RateLimited,
)
from entraide.publishing.channels import BLUESKY, MASTODON, Channels, X, parse_channels
from entraide.publishing.quota import MemoryBudget, QuotaLimits
from entraide.publishing.relay import DEFAULT_DIGEST_THRESHOLD, DEFAULT_DIGEST_WAIT, Relay
from entraide.publishing.relay_memory import MemoryRelayStore
from entraide.publishing.relay_outcomes import Deferred, defer_delay_seconds
from entraide.publishing.text_rules import BLUESKY_RULE, X_RULE, mastodon_rule
from entraide.publishing.tweets import ChannelTexts
from entraide.publishing.x_answers import (
    SCOPE_UNKNOWN,
    PostedTweet,
)
from entraide.publishing.x_prices import create_price, dollars

START = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
VISIBILITY_TIMEOUT = timedelta(seconds=540)
#: Five neighbouring départements of a flood in the south (Aude first).
DEPARTEMENTS = ("11", "30", "34", "66", "81")


def activation(departements: int) -> Activation:
    return Activation(
        id="A1",
        hazard=Hazard.INONDATION,
        departements=DEPARTEMENTS[:departements],
        level=AlertLevel.ROUGE,
        hashtag="#InondationsAude",
        opened_at=START,
    )


#: What each network enforces on its own (cap, window), as published: X's POST /2/tweets
#: 100 per 15 min per user and 10,000 per 24 h per app (docs.x.com); Bluesky 5,000 points an
#: hour, 35,000 a day, a post costing 3 (docs.bsky.app "Rate Limits"); Mastodon 300
#: statuses per 3 hours (docs.joinmastodon.org "Rate limits").
NETWORK_LIMITS: dict[str, tuple[tuple[int, timedelta], ...]] = {
    BLUESKY: ((1_666, timedelta(hours=1)), (11_666, timedelta(hours=24))),
    MASTODON: ((300, timedelta(hours=3)),),
}
#: What each relay budgets for Bluesky and Mastodon (the settings' defaults).
CHANNEL_BUDGETS = {
    BLUESKY: QuotaLimits(per_15min=416, per_24h=11_666),
    MASTODON: QuotaLimits(per_15min=25, per_24h=2_400),
}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class StrictNetwork:
    """A network as far as posting goes: accepts within its caps, answers 429 beyond."""

    def __init__(
        self, clock: Clock, caps: tuple[tuple[int, timedelta], ...], per_month: int | None = None
    ) -> None:
        self.clock = clock
        self.caps = caps
        self.per_month = per_month
        self.accepted: list[datetime] = []
        self.refused = 0

    def _refusal(self, now: datetime) -> RateLimited | None:
        for cap, length in self.caps:
            inside = [at for at in self.accepted[-cap:] if at > now - length]
            if len(inside) >= cap:
                return RateLimited(inside[-cap] + length, SCOPE_UNKNOWN)
        if self.per_month is not None:
            month = [at for at in self.accepted if (at.year, at.month) == (now.year, now.month)]
            if len(month) >= self.per_month:
                return RateLimited(now + timedelta(days=1), SCOPE_UNKNOWN)
        return None

    def post(self, text: str) -> PostedTweet:
        now = self.clock()
        refusal = self._refusal(now)
        if refusal is not None:
            self.refused += 1
            raise refusal
        self.accepted.append(now)
        return PostedTweet(id=str(1_000_000 + len(self.accepted)), text=text)


def x_network(clock: Clock, limits: QuotaLimits) -> StrictNetwork:
    caps = tuple(
        (cap, length)
        for cap, length in (
            (limits.per_15min, timedelta(minutes=15)),
            (limits.per_24h, timedelta(hours=24)),
        )
        if cap is not None
    )
    return StrictNetwork(clock, caps, limits.per_month)


@dataclass
class Result:
    channel: str
    posts: int
    departements: int
    individual: int
    digests: int
    covered: int
    delays: list[timedelta]
    refused: int
    handled: int
    wall: float
    spend: int = 0
    budget: float | None = None
    never_announced: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _post(index: int, rng: random.Random, approved_at: datetime, departement: str) -> Post:
    return Post(
        id=f"P{index:05d}",
        kind=rng.choice(list(Kind)),
        category=rng.choice(list(Category)),
        title=f"Annonce numéro {index}",
        description="…",
        postcode=f"{departement}000",
        commune="Carcassonne",
        insee=f"{departement}069",
        departement=departement,
        lat=43.2,
        lon=2.35,
        geohash="spc00bz",
        activation_id="A1",
        status=PostStatus.APPROVED,
        created_at=approved_at - timedelta(minutes=10),
        version=2,
        decided_by="moderation",
        decided_at=approved_at,
    )


@dataclass(frozen=True)
class Setup:
    channels: tuple[str, ...]
    x_limits: QuotaLimits
    links: frozenset[str]
    digest_wait: timedelta | None
    reserve: int | None
    threshold: int


def same(texts: ChannelTexts) -> ChannelTexts:
    return texts


def priced(links: frozenset[str] | None, kind: str) -> int:
    """X's price of a call of ``kind`` under the link policy; Bluesky and Mastodon: free."""
    return 0 if links is None else create_price(with_url=kind in links)


def simulate(
    count: int, setup: Setup, *, departements: int, seed: int, spread: timedelta
) -> list[Result]:
    """One surge of ``count`` approvals; a result per channel."""
    from entraide.moderation.announce import approved_message

    rng = random.Random(seed)
    clock = Clock(START)
    the_activation = activation(departements)
    posts: dict[str, Post] = {}
    ids = iter(range(10**9))
    ledger = MemoryLedgerStore()
    networks: dict[str, StrictNetwork] = {}
    relays: dict[str, Relay] = {}
    for name in setup.channels:
        if name == X:
            limits = setup.x_limits
            networks[name] = x_network(clock, limits)
            texts = ChannelTexts(X_RULE, setup.links)
        else:
            limits = CHANNEL_BUDGETS[name]
            networks[name] = StrictNetwork(clock, NETWORK_LIMITS[name])
            texts = ChannelTexts(BLUESKY_RULE if name == BLUESKY else mastodon_rule(500))
        relays[name] = Relay(
            MemoryRelayStore(ledger=ledger, channel=name),
            MemoryBudget(limits, clock=clock),
            networks[name],
            clock=clock,
            public_base_url="https://shareentraide.example",
            load_post=posts.get,
            load_activation={the_activation.id: the_activation}.get,
            digest_threshold=setup.threshold,
            digest_reserve=setup.reserve if name == X else None,
            digest_wait=setup.digest_wait if name == X else None,
            texts=partial(same, texts),
            new_id=lambda: f"{next(ids):08d}",
            price=partial(priced, setup.links if name == X else None),
        )
    channels = Channels(relays)
    queue: list[tuple[datetime, int, dict[str, Any]]] = []
    approved: dict[str, datetime] = {}
    for index in range(count):
        at = START + timedelta(seconds=rng.uniform(0, spread.total_seconds()))
        post = _post(index, rng, at, DEPARTEMENTS[index % departements])
        posts[post.id] = post
        approved[post.id] = at
        heapq.heappush(queue, (at, index, approved_message(post)))
    sequence = count
    handled = dict.fromkeys(setup.channels, 0)
    started = time.perf_counter()
    while queue:
        moment, _, message = heapq.heappop(queue)
        clock.now = max(clock.now, moment)
        for name in channels.wanted(message):
            handled[name] += 1
        for result in channels.handle(message, deadline=clock.now + timedelta(seconds=30)):
            if result.error is not None:
                comeback = clock.now + VISIBILITY_TIMEOUT
            elif isinstance(result.outcome, Deferred):
                delay = defer_delay_seconds(result.outcome.until, clock.now)
                comeback = clock.now + timedelta(seconds=delay)
            else:
                continue
            sequence += 1
            heapq.heappush(queue, (comeback, sequence, {**message, "channels": [result.channel]}))
    wall = time.perf_counter() - started

    results = []
    for name, relay in relays.items():
        store = relay.store
        assert isinstance(store, MemoryRelayStore)
        tweets = list(store.tweets.values())
        delays = [
            store.announced[post_id].at - at
            for post_id, at in approved.items()
            if post_id in store.announced
        ]
        results.append(
            Result(
                channel=name,
                posts=count,
                departements=departements,
                individual=sum(1 for tweet in tweets if tweet.kind == "post"),
                digests=sum(1 for tweet in tweets if tweet.kind == "digest"),
                covered=sum(len(tweet.post_ids) for tweet in tweets),
                delays=delays,
                refused=networks[name].refused,
                handled=handled[name],
                wall=wall,
                spend=sum(tweet.cost for tweet in tweets),
                budget=setup.x_limits.usd_per_month if name == X else None,
                never_announced=count - len(delays),
            )
        )
    return results


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{seconds:02d}s" if hours else f"{minutes}m{seconds:02d}s"


def _table(results: Sequence[Result]) -> str:
    header = (
        "channel",
        "posts",
        "dépts",
        "sent",
        "individual",
        "digests",
        "covered",
        "max delay",
        "median delay",
        "refused",
        "X spend",
        "queue msgs",
        "wall",
    )
    rows = [header]
    for result in results:
        rows.append(
            (
                result.channel,
                f"{result.posts:,}",
                f"{result.departements}",
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
                f"${dollars(result.spend):.2f}" if result.channel == X else "-",
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
    parser.add_argument("--tier", default="payg", help="X preset: payg, free, basic, pro")
    parser.add_argument(
        "--limits", default=None, help='custom X limits, e.g. "per_24h=50,per_15min=10"'
    )
    parser.add_argument("--usd", type=float, default=30.0, help="X's monthly budget (0: none)")
    parser.add_argument(
        "--links", default="digest,activation", help="the kinds whose tweet carries its link"
    )
    parser.add_argument("--channels", default="x,bluesky,mastodon")
    parser.add_argument("--departements", default="1,5", help="départements of the surge")
    parser.add_argument("--sizes", default="100,1000,10000", help="numbers of posts")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--spread-minutes", type=float, default=60.0)
    parser.add_argument(
        "--digest-wait-minutes",
        type=float,
        default=None,
        help="X's; default: 15, or the budget's sustainable interval when longer",
    )
    parser.add_argument("--reserve", type=int, default=None, help="X units kept for digests")
    parser.add_argument("--threshold", type=int, default=DEFAULT_DIGEST_THRESHOLD)
    args = parser.parse_args(argv)

    limits = QuotaLimits.parse(args.limits) if args.limits else QuotaLimits.preset(args.tier)
    if args.usd:
        limits = limits.model_copy(update={"usd_per_month": args.usd})
    else:
        limits = limits.model_copy(update={"usd_per_month": None})
    wait = (
        max(DEFAULT_DIGEST_WAIT, limits.sustainable_interval())
        if args.digest_wait_minutes is None
        else timedelta(minutes=args.digest_wait_minutes)
    )
    setup = Setup(
        channels=parse_channels(args.channels),
        x_limits=limits,
        links=frozenset(part.strip() for part in args.links.split(",") if part.strip()),
        digest_wait=wait,
        reserve=args.reserve,
        threshold=args.threshold,
    )
    sizes = [int(size) for size in str(args.sizes).split(",") if size.strip()]
    spreads = [int(part) for part in str(args.departements).split(",") if part.strip()]
    print(
        f"X: {args.limits or args.tier} ({limits.describe()}), links in {args.links or 'none'}, "
        f"digest wait {_duration(wait)}; channels {', '.join(setup.channels)}; posts approved "
        f"over {args.spread_minutes:g} min from {START:%Y-%m-%d %H:%M} UTC, seed {args.seed}"
    )
    results = [
        result
        for size in sizes
        for departements in spreads
        for result in simulate(
            size,
            setup,
            departements=departements,
            seed=args.seed,
            spread=timedelta(minutes=args.spread_minutes),
        )
    ]
    print(_table(results))
    failed = [r for r in results if r.refused or r.never_announced or r.covered != r.posts]
    over = [r for r in results if r.budget is not None and dollars(r.spend) > r.budget]
    if failed or over:
        print(
            "FAILED: a request was refused, a post was not announced exactly once, or X's "
            "spend went over its budget."
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
