"""Closing an activation with 20,000 open posts: how long their expiry takes, and how many
invocations it spreads over.

The posts (two thirds pending, a third approved) are written into the template's table
(moto, in process), the activation is closed (its expiry job is put with the closing),
then the expiry runs as the functions run it: the closing's ``activation_events``
invocation first, with the 60 s of its timeout less its margin, then ``activate`` runs
with what their 180 s leave, until the job is gone. Each expiry is a conditional update,
sent 16 at a time; pages of 200 posts of the status index.

It prints the posts expired, the wall time, the invocations used, and checks that every
post ended expired. Moto's in-process updates cost about what DynamoDB's do over the
network (a few milliseconds), but its index queries walk the whole table: the times are
this machine's, the counts are not.

    .venv/bin/python bench/expiry.py [--posts 20000]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from _moto import moto_table

from entraide.activation.activation_store import ActivationStore
from entraide.activation.events import expire_posts, finish_expiries
from entraide.adapters.table import BATCH_SIZE
from entraide.intake.post_store import PostStore, post_to_item
from entraide.kernel.model import Activation, AlertLevel, Category, Hazard, Kind, Post, PostStatus

NOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
# What each invocation may spend on expiries (the functions' timeouts less their margins).
CLOSING_SECONDS = 60 - 10
RUN_SECONDS = 180 - 30 - 10


def post(n: int) -> Post:
    return Post(
        id=f"P{n:06d}",
        kind=Kind.NEED if n % 2 else Kind.OFFER,
        category=Category.HEBERGEMENT,
        title="Besoin d'un toit",
        description="Maison inondée.",
        postcode="11000",
        commune="Carcassonne",
        insee="11069",
        departement="11",
        lat=43.2,
        lon=2.35,
        geohash="spcd0g2",
        activation_id="A1",
        status=PostStatus.APPROVED if n % 3 == 0 else PostStatus.PENDING,
        created_at=NOW - timedelta(minutes=n),
    )


def deadline(seconds: float) -> Callable[[], float]:
    end = time.monotonic() + seconds
    return lambda: end - time.monotonic()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=20_000)
    args = parser.parse_args()

    with moto_table() as table:
        activations, posts = ActivationStore(table), PostStore(table)
        activations.create_activation(
            Activation(
                id="A1",
                hazard=Hazard.INONDATION,
                departements=("11",),
                level=AlertLevel.ORANGE,
                hashtag="#InondationsAude",
                opened_at=NOW - timedelta(days=3),
            )
        )
        started = time.monotonic()
        requests = [
            {"PutRequest": {"Item": table.serialise(post_to_item(post(n)))}}
            for n in range(args.posts)
        ]
        for start in range(0, len(requests), BATCH_SIZE):
            table.client.batch_write_item(
                RequestItems={table.table_name: requests[start : start + BATCH_SIZE]}
            )
        print(f"{args.posts:,} open posts written in {time.monotonic() - started:.1f} s")

        activations.close_activation("A1", NOW)
        started = time.monotonic()
        [job] = activations.pending_expiries()
        job = expire_posts(
            posts, activations, job, now=lambda: NOW, time_left=deadline(CLOSING_SECONDS)
        )
        invocations = 1
        while activations.pending_expiries():
            finish_expiries(posts, activations, now=lambda: NOW, time_left=deadline(RUN_SECONDS))
            invocations += 1
        elapsed = time.monotonic() - started

        statuses: Counter[str] = Counter()
        for status in PostStatus:
            page, cursor = posts.open_posts_page("A1", status, limit=100_000)
            while True:
                statuses[status.value] += len(page)
                if cursor is None:
                    break
                page, cursor = posts.open_posts_page("A1", status, limit=100_000, start=cursor)
    expired = statuses["expired"]
    print(
        f"expired {expired:,} of {args.posts:,} posts in {elapsed:.1f} s over {invocations} "
        f"invocation(s) (the closing's {CLOSING_SECONDS} s, then runs of {RUN_SECONDS} s); "
        f"left open: {statuses['pending'] + statuses['approved']}"
    )
    if expired != args.posts:
        raise SystemExit("not every post expired")


if __name__ == "__main__":
    main()
