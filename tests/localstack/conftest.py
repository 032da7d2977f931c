"""Fixtures of the local stack's tests: the test template and a running stack."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from entraide_local.polling import PollerSettings
from entraide_local.provision import DeployedFunction
from entraide_local.schedules import ManualClock
from entraide_local.stack import LocalStack

TEMPLATE = Path(__file__).parent / "template.yaml"
CLOCK_START = datetime(2026, 2, 1, 5, 59, 30, tzinfo=UTC)  # 30 s before a monthly cron


@pytest.fixture(autouse=True)
def aws_test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials and region, so that no test can reach a real AWS account."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture(scope="module")
def record_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("records")


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock(CLOCK_START)


ASYNC_RETRY_DELAYS = (0.2, 0.4)  # Lambda's are one and two minutes


def marker_setup(record_dir: Path) -> Callable[[DeployedFunction], list[dict[str, Any]]]:
    """Setup calls for the workers: Napper's create a folder before its handler is imported."""

    def setup_for(function: DeployedFunction) -> list[dict[str, Any]]:
        if function.logical_id != "Napper":
            return []
        marker = str(record_dir / "setup-napper")
        return [
            {"module": "os", "function": "makedirs", "kwargs": {"name": marker, "exist_ok": True}}
        ]

    return setup_for


@pytest.fixture(scope="module")
def stack(
    request: pytest.FixtureRequest, record_dir: Path, clock: ManualClock
) -> Iterator[LocalStack]:
    """The test template running on free ports, with a clock that tests move.

    moto's resources are process-wide: a module may name its stack (`STACK_NAME`).
    """
    with LocalStack(
        TEMPLATE,
        stack_name=getattr(request.module, "STACK_NAME", "localstack-test"),
        parameters={"RecordDir": str(record_dir)},
        clock=clock,
        poller_settings=PollerSettings(retry_delay=0.05),
        async_retry_delays=ASYNC_RETRY_DELAYS,
        setup_for=marker_setup(record_dir),
    ) as running:
        yield running


def read_records(path: Path) -> list[dict[str, Any]]:
    """The lines a recording function appended: {function, stage, event}."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def wait_for[T](probe: Callable[[], T], timeout: float = 10.0) -> T:
    """Poll `probe` until it returns something truthy (bounded; no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)
