"""Every effect of the pipeline counted under faults: ``python bench/faults.py --posts 1000
--fault-rate 0.2``.

Pushes N posts through the whole pipeline in one process against moto (intake, moderation,
approval, announcements, the relay to X, matching, notices, contact: see
``entraide_local.faultrun``) while AWS calls fail before they reach AWS or after (their
answer lost), and X fails too (503, 429, timeouts after posting). It prints, per effect,
how many were expected, delivered, lost and duplicated, and how many duplicates followed a
lost answer about that very subject; then what one post costs in DynamoDB write and read
units, event by event (the functions a post goes through) and for the schedules' sweeps.
"""

from __future__ import annotations

import argparse
import sys
import time

from entraide_local.faultrun.census import EMAIL_KINDS, Census, table
from entraide_local.faultrun.pipeline import Pipeline
from entraide_local.faultrun.world import Scenario


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--no-iam", action="store_true", help="skip the IAM policy checks")
    parser.add_argument(
        "--max-hours",
        type=float,
        default=12.0,
        help="stop the run after this long (what is left then is counted lost)",
    )
    args = parser.parse_args(argv)

    scenario = Scenario(
        posts=args.posts, fault_rate=args.fault_rate, seed=args.seed, iam=not args.no_iam
    )
    pipeline = Pipeline(scenario)
    started = time.perf_counter()
    observed = pipeline.run(
        max_seconds=args.max_hours * 3600,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    census = Census(pipeline, observed)
    rows = census.rows()
    print(
        f"{scenario.posts} posts, fault rate {scenario.fault_rate:.0%} "
        f"({pipeline.faults.calls} AWS calls, {len(pipeline.faults.injected)} faults: "
        f"{pipeline.faults.count(when='before')} before, {pipeline.faults.count(when='after')} "
        f"after; X: {dict(pipeline.x.faults)}), {time.perf_counter() - started:.0f} s"
    )
    print(table(rows))
    tally = pipeline.tally
    print(f"the run ended: {tally.ended}")
    if tally.out_of_time:
        print(f"stopped after {args.max_hours} h with work left: what was left is counted lost")
    print(
        f"stream batches given up: {tally.stream_batches_given_up}; failure queues: "
        f"{observed.failure_queues}; relay dead letters: {observed.dead_letters}; "
        f"IAM denials: {len(tally.iam_denials)}"
    )
    receipts = [r for rs in pipeline.relay_receipts.values() for r in rs]
    burned = sum(1 for r in receipts if r.startswith("FAILED"))
    print(
        f"relay: {len(pipeline.relay_receipts)} messages, {len(receipts)} receives, "
        f"{burned} failed (a receive burned)"
    )
    for line in census.diagnosis():
        print(line)
    writes, reads = pipeline.meter.writes, pipeline.meter.reads
    per_post = scenario.posts
    events_w = sum(v for k, v in writes.items() if not k.endswith("(schedule)"))
    events_r = sum(v for k, v in reads.items() if not k.endswith("(schedule)"))
    total_w, total_r = sum(writes.values()), sum(reads.values())
    print(
        f"DynamoDB per post: {events_w / per_post:.1f} write units, {events_r / per_post:.1f}"
        f" read units on the way of a post (requests, stream, queue); with the schedules'"
        f" {tally.schedule_runs} runs (time compressed: far more runs per post than in AWS):"
        f" {total_w / per_post:.1f} W, {total_r / per_post:.1f} R"
    )
    for name in sorted(set(writes) | set(reads)):
        print(
            f"  {name:<30} {writes.get(name, 0) / per_post:6.1f} W  "
            f"{reads.get(name, 0) / per_post:6.1f} R"
        )
    failed = [
        row
        for row in rows
        if row.lost
        or (row.effect not in EMAIL_KINDS and row.effect != "announcements" and row.duplicated)
        or row.unexplained
    ]
    if failed or tally.iam_denials:
        print("FAILED: " + ", ".join(row.effect for row in failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
