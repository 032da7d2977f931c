"""Vigicrues: the real national synthesis per département, and its hand-made orange variant."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from entraide.activation.alerts.http import build_session
from entraide.activation.alerts.model import Alert, SourceError
from entraide.activation.alerts.vigicrues import VigicruesSource, parse_vigicrues
from entraide.kernel.model import AlertLevel, Hazard
from tests.paths import FIXTURES as TEST_FIXTURES

FIXTURES = TEST_FIXTURES / "alerts"
SYNTHESIS = FIXTURES / "InfoVigiCru_TypEntVigiCru4_departements.json"
ORANGE = FIXTURES / "HANDMADE_vigicrues_departements_orange_62.json"
TERRITORY = FIXTURES / "InfoVigiCru_CdEntVigiCru1_territoire.json"

NOW = datetime(2021, 1, 24, 8, 30, tzinfo=UTC)
ISSUED = datetime(2021, 1, 24, 7, 16, 3, tzinfo=UTC)  # "2021-01-24T08:16:03+0100"

# Départements at level "2" in the real file (41 of the 92 it lists; the others are "1").
JAUNE = {
    "02", "08", "10", "12", "15", "16", "17", "25", "27", "28", "31", "32", "37", "39",
    "40", "41", "46", "47", "49", "51", "55", "57", "59", "60", "62", "63", "65", "69",
    "71", "72", "75", "76", "77", "78", "79", "81", "82", "85", "86", "90", "95",
}  # fmt: skip


def _data(path: Path = SYNTHESIS) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_bytes())
    return data


def _encode(data: object) -> bytes:
    return json.dumps(data).encode()


def test_the_real_synthesis_gives_a_jaune_crues_alert_for_the_aisne() -> None:
    # Given the real synthesis of 24 January 2021 / When reading it
    alerts = {a.source_id: a for a in parse_vigicrues(SYNTHESIS.read_bytes(), now=NOW)}
    # Then every field of the Aisne's alert
    assert alerts["vc:02"] == Alert(
        source="vigicrues",
        source_id="vc:02",
        version="2021-01-24T07:16:03+00:00",
        hazard=Hazard.CRUES,
        level=AlertLevel.JAUNE,
        departements=("02",),
        onset=ISSUED,
        expires=None,
        headline="Vigilance jaune crues : Aisne",
    )


def test_the_real_synthesis_gives_one_alert_per_departement_at_jaune_and_none_at_vert() -> None:
    alerts = parse_vigicrues(SYNTHESIS.read_bytes(), now=NOW)
    assert {a.departements[0] for a in alerts} == JAUNE
    assert {a.level for a in alerts} == {AlertLevel.JAUNE}
    assert [a.departements for a in alerts] == sorted(a.departements for a in alerts)
    assert "vc:11" not in {a.source_id for a in alerts}  # Aude is "1", vert


def test_the_hand_made_orange_variant_gives_an_orange_alert_for_the_pas_de_calais() -> None:
    # Given the real file with the Pas-de-Calais raised from "2" to "3"
    alerts = {a.source_id: a for a in parse_vigicrues(ORANGE.read_bytes(), now=NOW)}
    # Then it is orange, the others unchanged
    assert alerts["vc:62"].level is AlertLevel.ORANGE
    assert alerts["vc:62"].departements == ("62",)
    assert alerts["vc:62"].headline == "Vigilance orange crues : Pas-de-Calais"
    assert {sid for sid, a in alerts.items() if a.level is AlertLevel.ORANGE} == {"vc:62"}
    assert len(alerts) == len(JAUNE)


def test_a_red_level_and_an_unpadded_code_are_read() -> None:
    data = _data()
    entry = data["vic:InfoVigiCru"]["vic:estLaSyntheseDe"][0]
    entry["vic:NivInfoVigiCru"] = 4
    entry["vic:porteSurLEntite"]["com:CdDepartement"] = "1"
    alerts = {a.source_id: a for a in parse_vigicrues(_encode(data), now=NOW)}
    assert alerts["vc:01"].level is AlertLevel.ROUGE


def test_an_empty_synthesis_is_valid_and_gives_no_alert() -> None:
    data = _data()
    data["vic:InfoVigiCru"]["vic:estLaSyntheseDe"] = []
    assert parse_vigicrues(_encode(data), now=NOW) == []


def test_the_territory_bulletin_is_not_a_synthesis() -> None:
    # Given the real bulletin of one territory (no vic:estLaSyntheseDe)
    with pytest.raises(SourceError, match="not a national synthesis"):
        parse_vigicrues(TERRITORY.read_bytes(), now=NOW)


def _edit(change: Any) -> bytes:
    data = _data()
    change(data)
    return _encode(data)


def _first(data: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = data["vic:InfoVigiCru"]["vic:estLaSyntheseDe"][0]
    return entry


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"<html><head><title>503</title></head></html>", "HTML"),
        (SYNTHESIS.read_bytes()[:4000], "invalid JSON"),
        (b"", "empty"),
        (b'"ok"', "expected an object"),
        (_edit(lambda d: d.pop("vic:InfoVigiCru")), "vic:InfoVigiCru"),
        (_edit(lambda d: d["vic:InfoVigiCru"].pop("vic:DtHrInfoVigiCru")), "DtHrInfoVigiCru"),
        (
            _edit(lambda d: d["vic:InfoVigiCru"].__setitem__("vic:estLaSyntheseDe", {})),
            "expected a list",
        ),
        (_edit(lambda d: _first(d).__setitem__("vic:NivInfoVigiCru", "5")), "flood level '5'"),
        (_edit(lambda d: _first(d).__setitem__("vic:NivInfoVigiCru", "")), "flood level"),
        (_edit(lambda d: _first(d).pop("vic:porteSurLEntite")), "porteSurLEntite"),
        (
            _edit(lambda d: _first(d)["vic:porteSurLEntite"].__setitem__("vic:TypEntVigiCru", "5")),
            "expected a département",
        ),
        (
            _edit(
                lambda d: _first(d)["vic:porteSurLEntite"].__setitem__("com:CdDepartement", "20")
            ),
            "unknown département",
        ),
        (
            _edit(
                lambda d: d["vic:InfoVigiCru"]["vic:estLaSyntheseDe"].append(
                    d["vic:InfoVigiCru"]["vic:estLaSyntheseDe"][0]
                )
            ),
            "listed twice",
        ),
        (
            _edit(
                lambda d: d["vic:InfoVigiCru"].__setitem__(
                    "vic:DtHrInfoVigiCru", "2021-01-24T08:16:03"
                )
            ),
            "offset",
        ),
    ],
)
def test_a_broken_synthesis_is_a_source_error(document: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message) as caught:
        parse_vigicrues(document, now=NOW)
    assert caught.value.source == "vigicrues"


@responses.activate
def test_the_source_reads_the_synthesis_over_http() -> None:
    url = "https://www.vigicrues.gouv.fr/services/1/InfoVigiCru.jsonld/?TypEntVigiCru=4"
    responses.get(url, body=ORANGE.read_bytes(), content_type="application/ld+json")
    with build_session(backoff_factor=0) as session:
        source = VigicruesSource(url, session=session)
        alerts = source.fetch(NOW)
    assert {a.source_id: a.level for a in alerts}["vc:62"] is AlertLevel.ORANGE
    assert source.name == "vigicrues"


def test_the_source_reads_a_recorded_synthesis_from_a_file_url() -> None:
    source = VigicruesSource(SYNTHESIS.as_uri(), session=requests.Session())
    assert source.fetch(NOW) == parse_vigicrues(SYNTHESIS.read_bytes(), now=NOW)
