"""The configured sources: the JSON setting, the adapters, and reading them all."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import responses
from responses import matchers

from entraide.activation.alerts.http import build_session
from entraide.activation.alerts.meteoalarm import MeteoAlarmSource
from entraide.activation.alerts.meteofrance import MeteoFranceVigilance
from entraide.activation.alerts.model import Reading, SourceError
from entraide.activation.alerts.sources import (
    AlertSource,
    SourceConfig,
    alerts_of,
    build_sources,
    failed,
    parse_source_configs,
    read_all,
)
from entraide.activation.alerts.vigicrues import VigicruesSource
from entraide.kernel.model import AlertLevel
from tests.local_http import Answer, serving
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
            "replay": True,
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
    assert (configs[1].replay, configs[2].replay) == (False, True)
    assert configs[0].promise.max_age == timedelta(hours=24)


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
        ('[{"name": "vigicrues", "url": "x", "max_age_hours": 0}]', "max_age_hours"),
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
    assert isinstance(vigicrues, Reading)
    assert {a.source_id: a.level for a in vigicrues.alerts}["vc:62"] is AlertLevel.ORANGE
    assert set(failed(outcomes)) == {"meteofrance", "meteoalarm"}


@responses.activate
def test_read_all_with_every_source_fine() -> None:
    responses.get(
        MF_URL, body=(FIXTURES / "HANDMADE_mf_cdp_carte_externe_orange_aude.json").read_bytes()
    )
    responses.get(MA_URL, body=(FIXTURES / "meteoalarm_france_atom_feed.xml").read_bytes())
    # (recorded documents, partial and old: replayed)
    configs = [c.model_copy(update={"replay": True}) for c in parse_source_configs(SETTING)]
    with build_session(backoff_factor=0) as session:
        outcomes = read_all(build_sources(configs, session=session), NOW)
    assert failed(outcomes) == {}
    meteofrance = alerts_of(outcomes)["meteofrance"]
    assert not isinstance(meteofrance, SourceError)
    assert "mf:11:2" in {a.source_id for a in meteofrance}
    assert alerts_of(outcomes)["meteoalarm"] == ()  # the feed of 2022: nothing in force in 2024


class _Broken:
    name = "meteoalarm"

    def read(self, now: datetime) -> Reading:
        raise KeyError("a bug in an adapter")


class _Fine:
    name = "vigicrues"

    def read(self, now: datetime) -> Reading:
        return Reading("vigicrues", (), "test", "FR", True, "tout", None)


def test_read_all_never_raises_even_on_a_bug() -> None:
    # Given one adapter with a bug and one fine
    sources: list[AlertSource] = [_Broken(), _Fine()]
    # When / Then the bug is a SourceError of that source, its cause kept
    outcomes = read_all(sources, NOW)
    error = outcomes["meteoalarm"]
    assert isinstance(error, SourceError)
    assert "KeyError" in error.message
    assert isinstance(error.__cause__, KeyError)
    assert alerts_of(outcomes)["vigicrues"] == ()


# --- one deadline for every read --------------------------------------------------------


@pytest.fixture
def slow_server() -> Iterator[str]:
    """/busy answers 503 Retry-After: 60; /hang answers after 30 s; /feed serves the real
    French MeteoAlarm feed."""
    feed = (FIXTURES / "meteoalarm_france_atom_feed.xml").read_bytes()

    def answer(path: str) -> Answer:
        if path == "/hang":
            time.sleep(30)
        if path == "/busy":
            return 503, {"Retry-After": "60"}, b"busy"
        return 200, {}, feed if path == "/feed" else b"{}"

    with serving(answer) as url:
        yield url


def test_a_source_out_of_time_fails_alone_and_the_others_are_read_by_the_deadline(
    slow_server: str,
) -> None:
    # Given Météo-France answering 503 Retry-After: 60, Vigicrues hanging, MeteoAlarm fine
    configs = parse_source_configs(
        json.dumps(
            [
                {"name": "meteofrance", "url": f"{slow_server}/busy"},
                {"name": "vigicrues", "url": f"{slow_server}/hang", "timeout": 60},
                {"name": "meteoalarm", "url": f"{slow_server}/feed"},
            ]
        )
    )
    now = datetime(2022, 12, 8, 1, 0, tzinfo=UTC)
    # When reading them all with three seconds left
    started = time.monotonic()
    outcomes = read_all(build_sources(configs), now, by=started + 3)
    elapsed = time.monotonic() - started
    # Then MeteoAlarm's alerts are read, the other two failed, and nobody waited for them
    assert elapsed < 4.5
    assert isinstance(outcomes["meteoalarm"], Reading)
    assert len(outcomes["meteoalarm"].alerts) == 6
    busy, hung = outcomes["meteofrance"], outcomes["vigicrues"]
    assert isinstance(busy, SourceError)
    # (the wait it asked for, cut to 30 s, would pass the deadline: given up at once)
    assert "a retry in 30 s would end past the deadline" in busy.message
    assert isinstance(hung, SourceError)
    # (its read timeout cut to what was left, or still reading at the deadline)
    assert "timed out" in hung.message or "out of time" in hung.message
    assert set(failed(outcomes)) == {"meteofrance", "vigicrues"}
