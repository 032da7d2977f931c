"""Metrics are emitted only when they carry a value: a custom metric is billed for every
hour it appears in, zero or not, so an idle sweep every 15 minutes must emit none."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest

from entraide.observability import count, metrics, metrics_when_any


@metrics_when_any
def sweep(found: int) -> dict[str, Any]:
    count("PostExpiredWaiting", found)
    return {"expired": found}


def documents(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if '"_aws"' in line]


def test_an_idle_sweep_emits_no_metric_and_no_empty_metrics_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a sweep that found nothing to do
    metrics.clear_metrics()

    # When it runs
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "No application metrics to publish" would raise
        result = sweep(0)

    # Then it printed no metrics document at all
    assert result == {"expired": 0}
    assert documents(capsys.readouterr().out) == []


def test_a_sweep_that_did_something_emits_its_count(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a sweep that expired three waiting posts
    metrics.clear_metrics()

    # When it runs
    sweep(3)

    # Then one EMF document carries the count, in the project's namespace
    [document] = documents(capsys.readouterr().out)
    assert document["PostExpiredWaiting"] == [3.0]
    [directive] = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "ShareEntraide"
    # and the next idle run emits nothing again (the set was flushed)
    sweep(0)
    assert documents(capsys.readouterr().out) == []


def test_a_failing_handler_still_flushes_what_it_counted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a handler that counted something, then failed
    metrics.clear_metrics()

    @metrics_when_any
    def failing() -> None:
        count("RelayDeadLettered")
        raise RuntimeError("X unavailable")

    # When it runs, Then its error escapes and its count is emitted all the same
    with pytest.raises(RuntimeError):
        failing()
    [document] = documents(capsys.readouterr().out)
    assert document["RelayDeadLettered"] == [1.0]
