"""The configured sources: the JSON setting, the adapters, and reading them all."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import responses
from responses import matchers

from entraide.activation.alerts.http import build_session
from entraide.activation.alerts.meteoalarm import MeteoAlarmSource
from entraide.activation.alerts.meteofrance import MeteoFranceVigilance
from entraide.activation.alerts.model import Alert, SourceError
from entraide.activation.alerts.sources import (
    AlertSource,
    SourceConfig,
    build_sources,
    failed,
    parse_source_configs,
    read_all,
)
from entraide.activation.alerts.vigicrues import VigicruesSource
from entraide.kernel.model import AlertLevel
from tests.paths import FIXTURES as TEST_FIXTURES

FIXTURES = TEST_FIXTURES / "alerts"
MF_URL = "https://public-api.meteofrance.fr/public/DPVigilance/v1/cartevigilance/encours"
MA_URL = "https://feeds.meteoalarm.org/feeds/meteoalarm-legacy-atom-france"
NOW = datetime(2024, 10, 16, 14, 30, tzinfo=UTC)

SETTING = json.dumps(
    [
        {"name": "meteofrance", "url": MF_URL, "api_key": "k3y"},
        {"name": "meteoalarm", "url": MA_URL, "timeout": 5},
        {
            "name": "vigicrues",
            "url": (FIXTURES / "HANDMADE_vigicrues_departements_orange_62.json").as_uri(),
        },
    ]
)


# --- the setting --------------------------------------------------------------------------


def test_the_setting_gives_one_config_per_source() -> None:
    configs = parse_source_configs(SETTING)
    assert [c.name for c in configs] == ["meteofrance", "meteoalarm", "vigicrues"]
    assert configs[0].api_key is not None
    assert configs[0].api_key.get_secret_value() == "k3y"
    assert "k3y" not in repr(configs[0])
    assert configs[1].timeout == 5.0
    assert configs[2].api_key is None


def test_an_empty_setting_is_no_source() -> None:
    assert parse_source_configs("[]") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ('{"name": "vigicrues", "url": "x"}', "JSON list"),
        ('[{"name": "weather.com", "url": "x"}]', "name"),
        ('[{"name": "vigicrues"}]', "url"),
        ('[{"name": "vigicrues", "url": "  "}]', "url"),
        ('[{"name": "vigicrues", "url": "x", "colour": "red"}]', "colour"),
        ('[{"name": "vigicrues", "url": "x", "api_key": "k"}]', "only for meteofrance"),
        ('[{"name": "vigicrues", "url": "x", "timeout": 0}]', "timeout"),
        ('[{"name": "vigicrues", "url": "a"}, {"name": "vigicrues", "url": "b"}]', "twice"),
    ],
)
def test_a_bad_setting_is_a_value_error_saying_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_source_configs(text)


def test_build_sources_makes_the_adapters() -> None:
    with build_session(backoff_factor=0) as session:
        sources = build_sources(parse_source_configs(SETTING), session=session)
    assert [type(s) for s in sources] == [MeteoFranceVigilance, MeteoAlarmSource, VigicruesSource]
    assert [s.name for s in sources] == ["meteofrance", "meteoalarm", "vigicrues"]


def test_build_sources_builds_a_session_when_none_is_given() -> None:
    [source] = build_sources([SourceConfig(name="vigicrues", url="/tmp/x.json")])
    assert source.name == "vigicrues"


# --- reading them all -----------------------------------------------------------------------


@responses.activate
def test_read_all_returns_each_outcome_a_failure_does_not_stop_the_others() -> None:
    # Given Météo-France failing (500 every time), MeteoAlarm serving HTML with a 200,
    # and Vigicrues replayed from a file
    failing = responses.get(MF_URL, status=500, match=[matchers.header_matcher({"apikey": "k3y"})])
    responses.get(MA_URL, body=b"<html>Bad gateway</html>", status=200)
    with build_session(backoff_factor=0) as session:
        sources = build_sources(parse_source_configs(SETTING), session=session)
        # When reading all
        outcomes = read_all(sources, NOW)
    # Then each source has its outcome
    assert set(outcomes) == {"meteofrance", "meteoalarm", "vigicrues"}
    meteofrance, meteoalarm, vigicrues = (
        outcomes["meteofrance"],
        outcomes["meteoalarm"],
        outcomes["vigicrues"],
    )
    assert isinstance(meteofrance, SourceError)
    assert meteofrance.source == "meteofrance"
    assert failing.call_count == 4  # retried, then given up
    assert isinstance(meteoalarm, SourceError)
    assert "HTML" in meteoalarm.message
    assert isinstance(vigicrues, list)
    assert {a.source_id: a.level for a in vigicrues}["vc:62"] is AlertLevel.ORANGE
    assert set(failed(outcomes)) == {"meteofrance", "meteoalarm"}


@responses.activate
def test_read_all_with_every_source_fine() -> None:
    responses.get(
        MF_URL, body=(FIXTURES / "HANDMADE_mf_cdp_carte_externe_orange_aude.json").read_bytes()
    )
    responses.get(MA_URL, body=(FIXTURES / "meteoalarm_france_atom_feed.xml").read_bytes())
    with build_session(backoff_factor=0) as session:
        outcomes = read_all(build_sources(parse_source_configs(SETTING), session=session), NOW)
    assert failed(outcomes) == {}
    meteofrance = outcomes["meteofrance"]
    assert isinstance(meteofrance, list)
    assert "mf:11:2" in {a.source_id for a in meteofrance}
    assert outcomes["meteoalarm"] == []  # the feed of 2022 has nothing in force in 2024


class _Broken:
    name = "meteoalarm"

    def fetch(self, now: datetime) -> list[Alert]:
        raise KeyError("a bug in an adapter")


class _Fine:
    name = "vigicrues"

    def fetch(self, now: datetime) -> list[Alert]:
        return []


def test_read_all_never_raises_even_on_a_bug() -> None:
    # Given one adapter with a bug and one fine
    sources: list[AlertSource] = [_Broken(), _Fine()]
    # When / Then the bug is a SourceError of that source, its cause kept
    outcomes = read_all(sources, NOW)
    error = outcomes["meteoalarm"]
    assert isinstance(error, SourceError)
    assert "KeyError" in error.message
    assert isinstance(error.__cause__, KeyError)
    assert outcomes["vigicrues"] == []
