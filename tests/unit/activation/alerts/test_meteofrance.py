"""Météo-France vigilance: the open-data map (hand-made file), the mobile service (real file)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import responses
from hypothesis import given, settings
from hypothesis import strategies as st

from entraide.activation.alerts.http import build_session
from entraide.activation.alerts.meteofrance import (
    MeteoFranceVigilance,
    domain_departement,
    parse_meteofrance,
    parse_mobile_warning,
    parse_vigilance_map,
)
from entraide.activation.alerts.model import Alert, SourceError
from entraide.kernel.model import AlertLevel, Hazard
from tests.paths import FIXTURES as TEST_FIXTURES

FIXTURES = TEST_FIXTURES / "alerts"
MAP = FIXTURES / "HANDMADE_mf_cdp_carte_externe_orange_aude.json"
MOBILE = FIXTURES / "mf_mobileapi_warning_full_1310.json"
LEGACY = FIXTURES / "legacy_NXFR33_LFPW_vigilance.xml"

# The map was updated at 14:00Z on 16 October 2024; half an hour later:
NOW = datetime(2024, 10, 16, 14, 30, tzinfo=UTC)
UPDATE = "2024-10-16T14:00:00+00:00"


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _map() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(MAP.read_bytes())
    return data


def _encode(data: object) -> bytes:
    return json.dumps(data).encode()


def _by_id(alerts: list[Alert]) -> dict[str, Alert]:
    return {alert.source_id: alert for alert in alerts}


# --- the open-data map --------------------------------------------------------------------


def test_the_hand_made_map_gives_an_orange_pluie_inondation_alert_for_the_aude() -> None:
    # Given the hand-made map: Aude orange for rain from 18:00Z until 10:00Z the next day
    # When reading it half an hour after its update
    alerts = _by_id(parse_vigilance_map(MAP.read_bytes(), now=NOW))
    # Then one alert carries every field of that vigilance, over both periods (J and J1)
    assert alerts["mf:11:2"] == Alert(
        source="meteofrance",
        source_id="mf:11:2",
        version=UPDATE,
        hazard=Hazard.PLUIE_INONDATION,
        level=AlertLevel.ORANGE,
        departements=("11",),
        onset=_utc("2024-10-16T18:00:00Z"),
        expires=_utc("2024-10-17T10:00:00Z"),
        headline="Vigilance orange pluie-inondation : Aude",
    )


def test_the_hand_made_map_gives_one_alert_per_domain_and_phenomenon_at_jaune_or_above() -> None:
    # When reading the whole map
    alerts = parse_vigilance_map(MAP.read_bytes(), now=NOW)
    # Then the vert domains (75, Andorre "99", the coast of Aude) give nothing
    summary = [(a.source_id, a.hazard, a.level, a.departements) for a in alerts]
    assert summary == [
        ("mf:11:3", Hazard.ORAGES, AlertLevel.JAUNE, ("11",)),
        ("mf:11:2", Hazard.PLUIE_INONDATION, AlertLevel.ORANGE, ("11",)),
        ("mf:2A:1", Hazard.VENT_VIOLENT, AlertLevel.JAUNE, ("2A",)),
        ("mf:34:2", Hazard.PLUIE_INONDATION, AlertLevel.JAUNE, ("34",)),
        ("mf:3410:9", Hazard.VAGUES_SUBMERSION, AlertLevel.JAUNE, ("34",)),
    ]


def test_a_coastal_domain_is_its_departement_and_says_littoral() -> None:
    alert = _by_id(parse_vigilance_map(MAP.read_bytes(), now=NOW))["mf:3410:9"]
    assert alert.departements == ("34",)
    assert alert.onset == _utc("2024-10-16T22:00:00Z")
    assert alert.expires == _utc("2024-10-17T10:00:00Z")
    assert alert.headline == "Vigilance jaune vagues-submersion : Hérault (littoral)"


def test_slices_that_continue_into_the_next_period_make_one_alert() -> None:
    # Corse-du-Sud: jaune wind from 14:00Z in J, until 04:00Z in J1
    alert = _by_id(parse_vigilance_map(MAP.read_bytes(), now=NOW))["mf:2A:1"]
    assert (alert.onset, alert.expires) == (
        _utc("2024-10-16T14:00:00Z"),
        _utc("2024-10-17T04:00:00Z"),
    )


def test_once_the_orange_is_over_the_alert_is_the_jaune_that_follows() -> None:
    # Given the same map read the next morning, after the orange ended at 10:00Z
    later = datetime(2024, 10, 17, 11, tzinfo=UTC)
    # When / Then only Aude's jaune slice is left; the other alerts are over
    alerts = parse_vigilance_map(MAP.read_bytes(), now=later)
    assert [(a.source_id, a.level, a.onset, a.expires) for a in alerts] == [
        (
            "mf:11:2",
            AlertLevel.JAUNE,
            _utc("2024-10-17T10:00:00Z"),
            _utc("2024-10-17T16:00:00Z"),
        )
    ]


def test_the_source_id_is_stable_across_updates_and_the_version_changes() -> None:
    # Given a newer map where only the update time changed
    data = _map()
    data["product"]["update_time"] = "2024-10-17T04:00:00Z"
    # When reading both
    before = _by_id(parse_vigilance_map(MAP.read_bytes(), now=NOW))
    after = _by_id(parse_vigilance_map(_encode(data), now=NOW))
    # Then the same alerts keep their ids, with a new version
    assert before.keys() == after.keys()
    assert after["mf:11:2"].version == "2024-10-17T04:00:00+00:00"
    assert after["mf:11:2"].key == "meteofrance:mf:11:2"


@pytest.mark.parametrize("phenomenon", ["6", "7"])
def test_canicule_and_grand_froid_are_skipped(phenomenon: str) -> None:
    # Given Aude's orange rain relabelled as canicule (6) or grand froid (7)
    data = _map()
    for period in data["product"]["periods"]:
        for domain in period["timelaps"]["domain_ids"]:
            for item in domain["phenomenon_items"]:
                if domain["domain_id"] == "11" and item["phenomenon_id"] == "2":
                    item["phenomenon_id"] = phenomenon
    # When / Then no alert comes from it
    ids = _by_id(parse_vigilance_map(_encode(data), now=NOW)).keys()
    assert "mf:11:2" not in ids
    assert f"mf:11:{phenomenon}" not in ids
    assert "mf:11:3" in ids


def test_a_phenomenon_without_time_slices_lasts_its_period() -> None:
    # Given Aude's rain in J given only as its maximum colour, no slices (J1 removed)
    data = _map()
    period = data["product"]["periods"][0]
    data["product"]["periods"] = [period]
    item = next(
        i
        for d in period["timelaps"]["domain_ids"]
        if d["domain_id"] == "11"
        for i in d["phenomenon_items"]
        if i["phenomenon_id"] == "2"
    )
    item["timelaps_items"] = []
    # When / Then the alert spans the period at that colour
    alert = _by_id(parse_vigilance_map(_encode(data), now=NOW))["mf:11:2"]
    assert alert.level is AlertLevel.ORANGE
    assert (alert.onset, alert.expires) == (
        _utc("2024-10-15T22:00:00Z"),
        _utc("2024-10-16T22:00:00Z"),
    )


def test_numeric_phenomenon_ids_are_read_like_strings() -> None:
    data = _map()
    for period in data["product"]["periods"]:
        for domain in period["timelaps"]["domain_ids"]:
            for item in domain["phenomenon_items"]:
                item["phenomenon_id"] = int(item["phenomenon_id"])
    assert parse_vigilance_map(_encode(data), now=NOW) == parse_vigilance_map(
        MAP.read_bytes(), now=NOW
    )


# --- the mobile web service (real file) ----------------------------------------------------


def test_the_real_mobile_warning_gives_a_jaune_vagues_submersion_alert_on_the_coast_of_13() -> None:
    # Given the real answer for domain 1310 (updated 2021-10-31T05:00Z; jaune until 15:00Z)
    now = datetime(2021, 10, 31, 6, tzinfo=UTC)
    # When / Then every field
    assert parse_mobile_warning(MOBILE.read_bytes(), now=now) == [
        Alert(
            source="meteofrance",
            source_id="mf:1310:9",
            version="2021-10-31T05:00:00+00:00",
            hazard=Hazard.VAGUES_SUBMERSION,
            level=AlertLevel.JAUNE,
            departements=("13",),
            onset=datetime(2021, 10, 31, 5, tzinfo=UTC),
            expires=datetime(2021, 10, 31, 15, tzinfo=UTC),
            headline="Vigilance jaune vagues-submersion : Bouches-du-Rhône (littoral)",
        )
    ]


def test_the_real_mobile_warning_gives_nothing_once_back_to_vert() -> None:
    assert (
        parse_mobile_warning(MOBILE.read_bytes(), now=datetime(2021, 10, 31, 16, tzinfo=UTC)) == []
    )


def test_parse_meteofrance_tells_the_two_formats_apart() -> None:
    now = datetime(2021, 10, 31, 6, tzinfo=UTC)
    assert parse_meteofrance(MOBILE.read_bytes(), now=now) == parse_mobile_warning(
        MOBILE.read_bytes(), now=now
    )
    assert parse_meteofrance(MAP.read_bytes(), now=NOW) == parse_vigilance_map(
        MAP.read_bytes(), now=NOW
    )


# --- domains (the real legacy map lists them all) ----------------------------------------


def test_every_domain_of_the_real_legacy_map_is_understood() -> None:
    # Given every domain of the pre-2020 map: départements, coasts ("0610", "2A10"), Andorre
    domains = set(re.findall(r'dep="([^"]+)"', LEGACY.read_text("utf-8")))
    assert {"0610", "2A10", "2B", "99"} <= domains
    # When / Then each is a département, a coast, or Andorre (skipped)
    for domain in domains:
        place = domain_departement(domain)
        if domain == "99":
            assert place is None
        else:
            expected = (domain[:-2], True) if len(domain) >= 4 else (domain, False)
            assert place == expected


def test_the_national_roll_up_names_no_departement() -> None:
    # Every real map carries the domain FRA (tests/fixtures/alerts/SOURCES.md)
    assert domain_departement("FRA") is None


@pytest.mark.parametrize("domain", ["20", "9999", "FRANCE", "", "1"])
def test_an_unknown_domain_is_a_source_error(domain: str) -> None:
    with pytest.raises(SourceError, match="domain"):
        domain_departement(domain)


# --- broken documents --------------------------------------------------------------------


def _broken(edit: Any) -> bytes:
    data = _map()
    edit(data)
    return _encode(data)


def _first_item(data: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = data["product"]["periods"][0]["timelaps"]["domain_ids"][0][
        "phenomenon_items"
    ][1]
    return item


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"<html><body>Service indisponible</body></html>", "HTML"),
        (MAP.read_bytes()[:2000], "invalid JSON"),
        (b"", "empty"),
        (b"[]", "expected an object"),
        (b'{"code": 900901, "message": "Invalid Credentials"}', "Invalid Credentials"),
        (_broken(lambda d: d["product"].pop("update_time")), "update_time"),
        (_broken(lambda d: d["product"].__setitem__("periods", [])), "no period"),
        (_broken(lambda d: d["product"]["periods"][0].pop("timelaps")), "timelaps"),
        (
            _broken(lambda d: d["product"]["periods"][0]["timelaps"].pop("domain_ids")),
            "domain_ids",
        ),
        (
            _broken(
                lambda d: d["product"]["periods"][0]["timelaps"]["domain_ids"][0].pop(
                    "phenomenon_items"
                )
            ),
            "phenomenon_items",
        ),
        (_broken(lambda d: _first_item(d).__setitem__("phenomenon_id", "42")), "phenomenon 42"),
        (
            _broken(lambda d: _first_item(d)["timelaps_items"][0].__setitem__("color_id", 5)),
            "colour 5",
        ),
        (
            _broken(
                lambda d: _first_item(d)["timelaps_items"][0].__setitem__(
                    "begin_time", "2024-10-16T12:00:00"
                )
            ),
            "offset",
        ),
        (
            _broken(
                lambda d: d["product"]["periods"][0]["timelaps"]["domain_ids"][0].__setitem__(
                    "domain_id", "FRA-X"
                )
            ),
            "domain",
        ),
    ],
)
def test_a_broken_map_is_a_source_error(document: bytes, message: str) -> None:
    # When / Then never an empty list for a document that was not understood
    with pytest.raises(SourceError, match=message) as caught:
        parse_meteofrance(document, now=NOW)
    assert caught.value.source == "meteofrance"


def test_a_truncated_mobile_warning_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="invalid JSON"):
        parse_mobile_warning(MOBILE.read_bytes()[:-40], now=NOW)


def test_a_mobile_warning_without_timelaps_is_a_source_error() -> None:
    data = json.loads(MOBILE.read_bytes())
    del data["timelaps"]
    with pytest.raises(SourceError, match="timelaps"):
        parse_mobile_warning(_encode(data), now=NOW)


def test_a_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_vigilance_map(MAP.read_bytes(), now=datetime(2024, 10, 16, 14))


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(
    product=st.dictionaries(
        st.sampled_from(["update_time", "periods", "domain_id"]), _json, max_size=3
    ),
    garbage=_json,
)
def test_any_json_gives_alerts_or_a_source_error_never_another_exception(
    product: dict[str, Any], garbage: Any
) -> None:
    for data in ({"product": product}, garbage, {"timelaps": garbage, "domain_id": "13"}):
        try:
            result = parse_meteofrance(_encode(data), now=NOW)
        except SourceError:
            continue
        assert all(isinstance(alert, Alert) for alert in result)


# --- the source ---------------------------------------------------------------------------


@responses.activate
def test_the_source_sends_the_api_key_and_parses_the_map() -> None:
    # Given the portal answering the map to the right key only
    url = "https://public-api.meteofrance.fr/public/DPVigilance/v1/cartevigilance/encours"
    responses.get(
        url,
        body=MAP.read_bytes(),
        content_type="application/json",
        match=[responses.matchers.header_matcher({"apikey": "k3y"})],
    )
    with build_session(backoff_factor=0) as session:
        source = MeteoFranceVigilance(url, api_key="k3y", session=session)
        # When / Then
        alerts = source.fetch(NOW)
    assert _by_id(alerts)["mf:11:2"].level is AlertLevel.ORANGE
    assert source.name == "meteofrance"
    assert "k3y" not in repr(source)


@responses.activate
def test_the_source_fails_on_an_html_page_served_with_200() -> None:
    url = "https://public-api.meteofrance.fr/public/DPVigilance/v1/cartevigilance/encours"
    responses.get(url, body=b"<!DOCTYPE html><html>Maintenance</html>", status=200)
    with build_session(backoff_factor=0) as session, pytest.raises(SourceError, match="HTML"):
        MeteoFranceVigilance(url, session=session).fetch(NOW)


def test_the_source_reads_a_recorded_map_from_a_file_url() -> None:
    source = MeteoFranceVigilance(MAP.as_uri(), session=requests.Session())
    assert source.fetch(NOW) == parse_vigilance_map(MAP.read_bytes(), now=NOW)
