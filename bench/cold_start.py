"""Cold-start import cost of every function of template.yaml, next to ``import boto3``.

For each function, a fresh interpreter imports its handler module (what Lambda does on a
cold start, before the first event) and reports how long the import took; ``import boto3``
is measured the same way in the same run, interleaved, so that the ratio holds on a busy
machine. Target: every handler at most 1.5x ``import boto3``.

    .venv/bin/python bench/cold_start.py [--runs 9] [--template template.yaml]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from entraide_local.template import load_template

TARGET_RATIO = 1.5

_TIMED_IMPORT = """
import importlib.util, sys, time
start = time.perf_counter()
{body}
print(time.perf_counter() - start)
"""

_HANDLER_IMPORT = """
spec = importlib.util.spec_from_file_location("app", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
"""


def _run(body: str, env: dict[str, str]) -> float:
    result = subprocess.run(
        [sys.executable, "-X", "frozen_modules=on", "-c", _TIMED_IMPORT.format(body=body)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"import failed:\n{result.stderr}")
    return float(result.stdout.strip().splitlines()[-1])


def _resolved_environments(template_path: Path) -> dict[str, dict[str, str]]:
    """Each function's environment as the template resolves it (resources made in moto)."""
    from moto import mock_aws

    from entraide_local.provision import provision

    base = {
        "AWS_DEFAULT_REGION": "eu-west-3",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    os.environ.update(base)
    with mock_aws():
        deployment = provision(template_path)
    return {
        function.spec.short_name: {**os.environ, **base, **function.environment}
        for function in deployment.functions.values()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--template", default="template.yaml")
    args = parser.parse_args()

    template = load_template(Path(args.template))
    environments = _resolved_environments(template.path)
    cases: dict[str, tuple[str, dict[str, str]]] = {
        "import boto3": ("import boto3", dict(os.environ))
    }
    for spec in template.functions.values():
        body = _HANDLER_IMPORT.format(path=str(spec.handler_file))
        cases[spec.short_name] = (body, environments[spec.short_name])

    samples: dict[str, list[float]] = {name: [] for name in cases}
    for run in range(args.runs):
        print(f"run {run + 1}/{args.runs}", file=sys.stderr, end="\r")
        for name, (body, env) in cases.items():
            samples[name].append(_run(body, env))
    print(file=sys.stderr)

    boto3_ms = statistics.median(samples["import boto3"]) * 1000
    print(f"{'module':<16}{'median ms':>10}{'min ms':>9}{'x boto3':>9}  target <= {TARGET_RATIO}x")
    worst = 0.0
    for name, values in samples.items():
        median_ms = statistics.median(values) * 1000
        ratio = median_ms / boto3_ms
        if name != "import boto3":
            worst = max(worst, ratio)
        verdict = "" if name == "import boto3" else ("ok" if ratio <= TARGET_RATIO else "OVER")
        print(f"{name:<16}{median_ms:>10.1f}{min(values) * 1000:>9.1f}{ratio:>9.2f}  {verdict}")
    print(f"worst handler: {worst:.2f}x import boto3 ({args.runs} runs each, fresh interpreters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
