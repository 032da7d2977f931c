"""`entraide sources check` on the real documents, and `entraide sources status`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from entraide.activation.alerts.model import SourceError
from entraide.activation.source_health import SourceHealthStore
from entraide.adapters.table import Table
from entraide.cli import main as entraide
from tests.paths import FIXTURES

ALERTS = FIXTURES / "alerts"


def sources(*entries: tuple[str, str], **options: object) -> str:
    return json.dumps(
        [{"name": name, "url": str(ALERTS / file), **options} for name, file in entries]
    )


def test_the_real_french_feed_passes_when_judged_at_its_time(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the real MeteoAlarm feed for France of 2022-12-08 00:36Z, judged 24 min later
    code = entraide(
        [
            "sources",
            "check",
            "--sources",
            sources(("meteoalarm", "meteoalarm_france_atom_feed.xml")),
            "--at",
            "2022-12-08T01:00:00Z",
        ]
    )
    out = capsys.readouterr().out
    # Then it passes, saying what it read
    assert code == 0
    assert "meteoalarm  OK" in out
    assert "flux Atom MeteoAlarm (flux du pays FR)" in out
    assert "il y a 0 h 23" in out
    assert "alertes lues : 6 ; ouvriraient une activation : 0" in out


def test_partial_foreign_or_stale_documents_fail_and_say_why(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the real trimmed October map, the real UK feed and the real reduced GeoJSON
    listed = sources(
        ("meteofrance", "meteofrance_cartevigilance_encours_2026-10-04_trimmed.json"),
        ("meteoalarm", "meteoalarm_united_kingdom_atom_feed_excerpt.xml"),
        ("vigicrues", "vigicrues_InfoVigiCru_2026_reduced.geojson"),
    )
    # When checked as JSON an hour after the map
    code = entraide(
        ["sources", "check", "--sources", listed, "--at", "2026-10-04T09:00Z", "--json"]
    )
    report = {check["name"]: check for check in json.loads(capsys.readouterr().out)}
    # Then the command fails, and each source says why
    assert code == 1
    assert not any(check["passed"] for check in report.values())
    mf = report["meteofrance"]
    assert mf["recognised"] is True
    assert mf["http_status"] is None
    assert mf["age_seconds"] == 3588
    assert mf["would_open"] == [
        "Vigilance orange pluie-inondation : Aude",
        "Vigilance orange pluie-inondation : Pyrénées-Orientales",
    ]
    assert "couverture partielle" in mf["problems"][0]
    assert "autre pays (UK)" in report["meteoalarm"]["problems"][0]
    assert report["vigicrues"]["produced_at"] is None
    assert report["vigicrues"]["alerts"] == [
        "Vigilance jaune crues : Agly (Pyrénées-Orientales)",
        "Vigilance jaune crues : Têt (Pyrénées-Orientales)",
    ]


def test_a_replay_passes_whatever_its_coverage_and_age(capsys: pytest.CaptureFixture[str]) -> None:
    listed = sources(
        ("meteofrance", "meteofrance_cartevigilance_encours_2026-10-04_trimmed.json"), replay=True
    )
    assert entraide(["sources", "check", "--sources", listed, "--at", "2026-10-04T09:00Z"]) == 0
    assert "ouvriraient une activation : 2" in capsys.readouterr().out


def test_an_unreachable_source_fails_with_its_error(capsys: pytest.CaptureFixture[str]) -> None:
    listed = json.dumps([{"name": "vigicrues", "url": str(ALERTS / "nothing-here.geojson")}])
    assert entraide(["sources", "check", "--sources", listed]) == 1
    out = capsys.readouterr().out
    assert "vigicrues  ÉCHEC" in out
    assert "cannot read" in out


def test_status_prints_each_sources_health(
    table: Table, capsys: pytest.CaptureFixture[str]
) -> None:
    store = SourceHealthStore(table)
    at = datetime(2026, 10, 4, 9, 0, tzinfo=UTC)
    store.record("vigicrues", SourceError("vigicrues", "HTTP 404 from https://…"), at)
    store.record("vigicrues", SourceError("vigicrues", "HTTP 404 from https://…"), at)
    assert entraide(["sources", "--table", table.table_name, "status"]) == 0
    out = capsys.readouterr().out
    assert "vigicrues  dernière lecture valable : jamais  ÉCHECS D'AFFILÉE : 2 (HTTP 404" in out
