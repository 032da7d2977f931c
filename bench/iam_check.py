"""What the local IAM costs: at start-up (SAM transform) and per AWS call (the check).

Prints, for template.yaml:
- the start-up cost of resolving every function's policy: importing aws-sam-translator and
  running its transform (once per process and template), then resolving against the
  deployment;
- the cost of one policy evaluation (geomatch's policy, a conditioned BatchWriteItem);
- the one-time cost of hooking botocore (the first `install` or `acting_as` of a process);
- the cost the hook adds to one in-process moto call (DynamoDB GetItem), with and without
  `acting_as`, and the cost of entering `acting_as` (parsing the policy).

    .venv/bin/python bench/iam_check.py [--calls 2000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _per_call_us(run: Callable[[], object], calls: int, repeats: int = 5) -> float:
    """The median over `repeats` of the mean time of `calls` runs, in microseconds."""
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            run()
        samples.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    arguments = parser.parse_args()
    from entraide_local.clients import DEFAULT_REGION, aws_environment

    os.environ.update(aws_environment(None, DEFAULT_REGION))  # moto's dummy credentials
    import boto3
    from moto import mock_aws

    from entraide_local.iam.evaluate import Policy, Request
    from entraide_local.iam.hook import acting_as
    from entraide_local.iam.policies import function_policies
    from entraide_local.provision import provision

    with mock_aws():
        deployment = provision(ROOT / "template.yaml", boto3.Session())
        started = time.perf_counter()
        import samtranslator.translator.transform  # noqa: F401

        imported = time.perf_counter()
        policies = function_policies(deployment)
        first = time.perf_counter()
        function_policies(deployment)
        again = time.perf_counter()
        print(
            f"start-up: import samtranslator {(imported - started) * 1000:.0f} ms, "
            f"transform + resolve {len(policies)} functions {(first - imported) * 1000:.0f} ms, "
            f"again (transform cached) {(again - first) * 1000:.0f} ms"
        )

        geomatch = policies["GeomatchFunction"]
        started = time.perf_counter()
        with acting_as(geomatch.document, geomatch.principal):
            pass
        print(
            "first acting_as (hooks botocore, scans existing sessions and clients): "
            f"{(time.perf_counter() - started) * 1000:.0f} ms"
        )
        policy = Policy(geomatch.document)
        table_arn = deployment.resolve({"Fn::GetAtt": ["EntraideTable", "Arn"]})
        request = Request(
            "dynamodb:BatchWriteItem",
            table_arn,
            {"dynamodb:LeadingKeys": ("NOTICE#abc", "NOTICE-DUE"), "aws:SecureTransport": "true"},
        )
        assert policy.evaluate(request).allowed
        evaluate_us = _per_call_us(lambda: policy.evaluate(request), arguments.calls * 10)
        print(f"one evaluation (geomatch, conditioned BatchWriteItem): {evaluate_us:.1f} us")

        client = boto3.client("dynamodb")
        table = deployment.outputs["TableName"]
        key = {"pk": {"S": "POST#1"}, "sk": {"S": "POST"}}

        def get() -> object:
            return client.get_item(TableName=table, Key=key)

        get()
        with acting_as(geomatch.document, geomatch.principal):
            get()  # the table's key schema is looked up once
        # Interleaved, so that both sides see the same machine load.
        free_runs, checked_runs = [], []
        for _ in range(7):
            free_runs.append(_per_call_us(get, arguments.calls // 5, repeats=1))
            with acting_as(geomatch.document, geomatch.principal):
                checked_runs.append(_per_call_us(get, arguments.calls // 5, repeats=1))
        free, checked = statistics.median(free_runs), statistics.median(checked_runs)
        print(
            f"moto GetItem in-process: {free:.0f} us free, {checked:.0f} us under geomatch's "
            f"policy: the check adds {checked - free:.0f} us per call (median of 7 rounds)"
        )

        def enter() -> None:
            with acting_as(geomatch.document, geomatch.principal):
                pass

        print(f"entering acting_as (parses the policy): {_per_call_us(enter, 200):.0f} us")


if __name__ == "__main__":
    main()
