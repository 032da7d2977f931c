"""The activate function under its template policy: a slow source fails alone, the others'
alerts are applied within the run's time, and each source's health is kept."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from entraide.activation.activation_store import ActivationStore
from entraide.activation.source_health import SourceHealthStore
from entraide.adapters.table import Table
from entraide.kernel.model import Hazard
from entraide_local.provision import Deployment
from tests.local_http import Answer, serving
from tests.paths import FIXTURES
from tests.unit.conftest import (
    FakeContext,
    PolicedHandler,
    UnderPolicy,
    load_handler,
    metric_values,
    use_function_environment,
)

FUNCTION = "ActivateFunction"
ORANGE_62 = FIXTURES / "alerts" / "HANDMADE_vigicrues_departements_orange_62.json"


class Context(FakeContext):
    """A run with 40 s left: 10 s for the sources once the writes' 30 s are kept."""

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 40_000


@pytest.fixture
def busy_server() -> Iterator[tuple[str, list[str]]]:
    """Every path answers 503 Retry-After: 60; the paths asked are listed."""
    asked: list[str] = []

    def answer(path: str) -> Answer:
        asked.append(path)
        return 503, {"Retry-After": "60"}, b""

    with serving(answer) as url:
        yield url, asked


def handler_with(
    sources: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    deployment: Deployment,
    under_policy: UnderPolicy,
) -> PolicedHandler:
    use_function_environment(monkeypatch, deployment, "activate")
    monkeypatch.setenv("ALERT_SOURCES", json.dumps(sources))
    return PolicedHandler(load_handler("activate", "activate_app"), under_policy, FUNCTION)


def test_a_source_answering_503_retry_after_60_fails_alone_and_the_others_apply(
    busy_server: tuple[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
    deployment: Deployment,
    under_policy: UnderPolicy,
    table: Table,
    activations: ActivationStore,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given Météo-France answering 503 with Retry-After: 60, and Vigicrues (a recorded
    # orange flood level on the Pas-de-Calais, replayed) fine
    url, asked = busy_server
    handler = handler_with(
        [
            {"name": "meteofrance", "url": f"{url}/cartevigilance/encours"},
            {"name": "vigicrues", "url": ORANGE_62.as_uri(), "replay": True},
        ],
        monkeypatch,
        deployment,
        under_policy,
    )
    # When the scheduled run starts with 40 s left
    started = time.monotonic()
    result = handler.lambda_handler({}, Context("activate"))
    elapsed = time.monotonic() - started
    # Then it did not wait for Météo-France: the Pas-de-Calais is open, Météo-France failed
    assert elapsed < 10
    assert asked == ["/cartevigilance/encours"]
    assert result["failed_sources"] == ["meteofrance"]
    assert result["opened"] == 1
    [opened] = activations.open_activations()
    assert (opened.hazard, opened.departements, opened.origin) == (
        Hazard.CRUES,
        ("62",),
        "vigicrues",
    )
    # and each source's health is kept
    health = {h.name: h for h in SourceHealthStore(table).all()}
    assert health["meteofrance"].consecutive_failures == 1
    assert health["meteofrance"].last_error is not None
    assert "retry in 30 s would end past the deadline" in health["meteofrance"].last_error
    assert health["vigicrues"].consecutive_failures == 0
    assert health["vigicrues"].last_alerts is not None
    # and the failure is counted with its source, the dimension its alarm watches
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    failed = [line for line in lines if "AlertSourceFailed" in line]
    assert [(line["source"], line["AlertSourceFailed"]) for line in failed] == [
        ("meteofrance", [1.0])
    ]


def test_failures_in_a_row_are_counted_until_a_good_reading(
    busy_server: tuple[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
    deployment: Deployment,
    under_policy: UnderPolicy,
    table: Table,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, _ = busy_server
    handler = handler_with(
        [{"name": "vigicrues", "url": f"{url}/InfoVigiCru.geojson"}],
        monkeypatch,
        deployment,
        under_policy,
    )
    for _ in range(3):
        handler.lambda_handler({}, Context("activate"))
    [health] = SourceHealthStore(table).all()
    assert health.consecutive_failures == 3
    first_failure = health.failing_since
    assert first_failure is not None
    # three failed quarter-hours are not yet an hour: no SourceFailing (the one alarm)
    assert metric_values(capsys, "SourceFailing") == []
    # the fourth in a row is, and so is each one after it
    handler.lambda_handler({}, Context("activate"))
    handler.lambda_handler({}, Context("activate"))
    assert metric_values(capsys, "SourceFailing") == [1.0, 1.0]
    # the source comes back
    good = handler_with(
        [{"name": "vigicrues", "url": ORANGE_62.as_uri(), "replay": True}],
        monkeypatch,
        deployment,
        under_policy,
    )
    good.lambda_handler({}, Context("activate"))
    [health] = SourceHealthStore(table).all()
    assert (health.consecutive_failures, health.failing_since) == (0, None)
    assert health.last_ok_at is not None
    assert health.last_ok_at - first_failure < timedelta(minutes=1)
