"""Cold start of a worker per function, with and without the fork server's preload; and how
long `make run` takes to start.

For each function of template.yaml, a worker is started `--runs` times, one after the other,
from a fork server that preloaded the third-party libraries (what the local stack does), then
from one that preloaded nothing (what a fresh interpreter per worker would cost). Each figure
is the time from fork to "handler imported" (the worker's init). Then `entraide local run` is
started on free ports: the time until its banner (it serves) and until every function has a
warm execution environment.

    .venv/bin/python bench/worker_cold_start.py [--runs 5] [--template template.yaml]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from entraide_local.clients import aws_environment
from entraide_local.invoke import Invoker
from entraide_local.provision import DeployedFunction, Deployment
from entraide_local.workers import PRELOADED_MODULES, WorkerRuntime

_READY = re.compile(r"execution environments ready: (\d+) functions in ([\d.]+) s")


def _deployment(template: Path) -> Deployment:
    from moto import mock_aws

    from entraide_local.provision import provision

    os.environ.update(aws_environment(None, "eu-west-3"))
    with mock_aws():
        return provision(template)


def _cold_starts(
    runtime: WorkerRuntime, functions: list[DeployedFunction], runs: int
) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {function.display_name: [] for function in functions}
    for run in range(runs):
        print(f"  run {run + 1}/{runs}", file=sys.stderr, end="\r")
        for function in functions:
            started = time.perf_counter()
            worker, _ = runtime.cold_start(function)
            samples[function.display_name].append(time.perf_counter() - started)
            worker.kill()
    print(file=sys.stderr)
    return samples


def _make_run_start(template: Path) -> tuple[float, float]:
    """Seconds until `entraide local run` serves, and until every environment is warm."""
    with tempfile.TemporaryDirectory() as state_dir:
        command = [
            str(Path(sys.executable).with_name("entraide")),
            "local", "run", "--template", str(template), "--port", "0", "--moto-port", "0",
            "--state-dir", state_dir, "--parameter", f"OutboxDir={state_dir}/outbox",
        ]  # fmt: skip
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        serving = warm = float("nan")
        assert process.stdout is not None
        for line in process.stdout:
            if "ready in" in line and serving != serving:
                serving = time.monotonic() - started
            if _READY.search(line):
                warm = time.monotonic() - started
                break
        process.terminate()
        process.communicate(timeout=30)
    return serving, warm


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--template", default="template.yaml")
    args = parser.parse_args()
    template = Path(args.template).resolve()

    deployment = _deployment(template)
    invoker = Invoker(
        deployment,
        base_environment=aws_environment("http://127.0.0.1:9", "eu-west-3"),
        runtime_factory=lambda invoker: WorkerRuntime(environment_of=invoker.function_environment),
    )
    functions = list(deployment.functions.values())
    results = {}
    for label, preload in (("preloaded", PRELOADED_MODULES), ("bare", ())):
        runtime = WorkerRuntime(environment_of=invoker.function_environment, preload=preload)
        started = time.perf_counter()
        runtime.start()
        server_ms = (time.perf_counter() - started) * 1000
        print(f"{label}: fork server up in {server_ms:.0f} ms", file=sys.stderr)
        results[label] = (_cold_starts(runtime, functions, args.runs), server_ms)
        runtime.stop()

    preloaded, preload_server_ms = results["preloaded"]
    bare, bare_server_ms = results["bare"]
    print(f"cold start of a worker, median of {args.runs} (fork to handler imported)")
    print(f"{'function':<20}{'preloaded ms':>14}{'bare ms':>10}{'saved':>8}")
    for name in preloaded:
        with_preload = statistics.median(preloaded[name]) * 1000
        without = statistics.median(bare[name]) * 1000
        print(f"{name:<20}{with_preload:>14.0f}{without:>10.0f}{without / with_preload:>7.1f}x")
    total_with = sum(statistics.median(v) for v in preloaded.values()) * 1000
    total_without = sum(statistics.median(v) for v in bare.values()) * 1000
    print(f"{'all functions':<20}{total_with:>14.0f}{total_without:>10.0f}")
    print(
        f"fork server start: {preload_server_ms:.0f} ms with the preload "
        f"({len(PRELOADED_MODULES)} modules), {bare_server_ms:.0f} ms without"
    )
    serving, warm = _make_run_start(template)
    print(f"make run: serving after {serving:.1f} s, every function warm after {warm:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
