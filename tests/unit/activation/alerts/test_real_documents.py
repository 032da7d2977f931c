"""Every real document of tests/fixtures/alerts/ through its adapter: what it yields, and
whether it counts as a reading of its source (country, coverage, freshness).

The documents are real answers of the services (see SOURCES.md). Variants built here are
said so where they are built: a national map made from a trimmed real one by adding the
départements its publisher cut, as the real full map lists them (all vert, copied from
the real entry of Paris); a full Vigicrues network made by repeating the real sections;
the real United Kingdom feed emptied of its entries.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from entraide.activation.alerts.meteoalarm import read_meteoalarm
from entraide.activation.alerts.meteofrance import METROPOLE, read_meteofrance
from entraide.activation.alerts.model import Alert, Reading, SourceError
from entraide.activation.alerts.promise import Promise, check_promise, promise_problems
from entraide.activation.alerts.vigicrues import MIN_SECTIONS, read_vigicrues
from entraide.kernel.model import AlertLevel, Hazard
from tests.paths import FIXTURES as TEST_FIXTURES

FIXTURES = TEST_FIXTURES / "alerts"
MAP_AUGUST = FIXTURES / "meteofrance_cartevigilance_encours_2026-08-26_trimmed.json"
MAP_OCTOBER = FIXTURES / "meteofrance_cartevigilance_encours_2026-10-04_trimmed.json"
SECTIONS = FIXTURES / "vigicrues_InfoVigiCru_2026_reduced.geojson"
SYNTHESIS = FIXTURES / "InfoVigiCru_TypEntVigiCru4_departements.json"
FEED_FR = FIXTURES / "meteoalarm_france_atom_feed.xml"
FEED_UK = FIXTURES / "meteoalarm_united_kingdom_atom_feed_excerpt.xml"
CAP_FR = FIXTURES / "meteoalarm_france_cap_detail.xml"

AUGUST = datetime(2026, 8, 26, 5, 0, tzinfo=UTC)  # an hour after the map's update
OCTOBER = datetime(2026, 10, 4, 9, 0, tzinfo=UTC)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _summary(reading: Reading) -> list[tuple[str, Hazard, AlertLevel, tuple[str, ...]]]:
    return [(a.source_id, a.hazard, a.level, a.departements) for a in reading.alerts]


def _promise(source: str, **options: Any) -> Promise:
    return Promise.of(source, **options)


# --- Météo-France: the real maps ----------------------------------------------------------


def test_the_real_august_map_gives_orange_orages_on_35_and_17_field_by_field() -> None:
    # Given the real map of 2026-08-26 04:00Z (national roll-up FRA, coasts, J and J1)
    # When reading it an hour later
    reading = read_meteofrance(MAP_AUGUST.read_bytes(), now=AUGUST)
    # Then FRA is skipped, canicule on 2A is not served, and orages give three alerts
    assert _summary(reading) == [
        ("mf:14:3", Hazard.ORAGES, AlertLevel.JAUNE, ("14",)),
        ("mf:17:3", Hazard.ORAGES, AlertLevel.ORANGE, ("17",)),
        ("mf:35:3", Hazard.ORAGES, AlertLevel.ORANGE, ("35",)),
    ]
    by_id = {alert.source_id: alert for alert in reading.alerts}
    # Ille-et-Vilaine: vert, jaune from 12:00Z, orange 18:00Z-22:00Z (period J)
    assert by_id["mf:35:3"] == Alert(
        source="meteofrance",
        source_id="mf:35:3",
        version="2026-08-26T04:00:28+00:00",
        hazard=Hazard.ORAGES,
        level=AlertLevel.ORANGE,
        departements=("35",),
        onset=_utc("2026-08-26T18:00:00Z"),
        expires=_utc("2026-08-26T22:00:00Z"),
        headline="Vigilance orange orages : Ille-et-Vilaine",
    )
    # Charente-Maritime: orange from the start of J1 (22:00Z) until midnight
    assert (by_id["mf:17:3"].onset, by_id["mf:17:3"].expires) == (
        _utc("2026-08-26T22:00:00Z"),
        _utc("2026-08-27T00:00:00Z"),
    )
    # Calvados: jaune slices over both periods make one alert, to the last jaune slice
    assert (by_id["mf:14:3"].onset, by_id["mf:14:3"].expires) == (
        _utc("2026-08-26T14:00:00Z"),
        _utc("2026-08-27T19:00:00Z"),
    )
    # and the document says what it is
    assert reading.produced_at == _utc("2026-08-26T04:00:28Z")
    assert reading.valid_until == _utc("2026-08-27T22:00:00Z")
    assert reading.country == "FR"


def test_the_real_october_map_gives_orange_pluie_inondation_on_the_aude_and_the_po() -> None:
    # Given the real map of 2026-10-04 08:00Z ("épisode pluvio-orageux … Pyrénées-orientales
    # et l'Aude"), when read an hour later
    reading = read_meteofrance(MAP_OCTOBER.read_bytes(), now=OCTOBER)
    # Then rain-flood is orange on 11 and 66 until 14:00Z, orages and crues jaune around
    assert _summary(reading) == [
        ("mf:11:3", Hazard.ORAGES, AlertLevel.JAUNE, ("11",)),
        ("mf:11:2", Hazard.PLUIE_INONDATION, AlertLevel.ORANGE, ("11",)),
        ("mf:2A:3", Hazard.ORAGES, AlertLevel.JAUNE, ("2A",)),
        ("mf:30:3", Hazard.ORAGES, AlertLevel.JAUNE, ("30",)),
        ("mf:66:4", Hazard.CRUES, AlertLevel.JAUNE, ("66",)),
        ("mf:66:3", Hazard.ORAGES, AlertLevel.JAUNE, ("66",)),
        ("mf:66:2", Hazard.PLUIE_INONDATION, AlertLevel.ORANGE, ("66",)),
    ]
    aude = next(a for a in reading.alerts if a.source_id == "mf:11:2")
    assert (aude.onset, aude.expires) == (
        _utc("2026-10-04T08:00:00Z"),
        _utc("2026-10-04T14:00:00Z"),
    )
    assert aude.headline == "Vigilance orange pluie-inondation : Aude"
    # crues (phenomenon 4) comes without time slices: jaune over the whole of J and J1
    crues = next(a for a in reading.alerts if a.source_id == "mf:66:4")
    assert (crues.onset, crues.expires) == (
        _utc("2026-10-04T08:00:00Z"),
        _utc("2026-10-05T22:00:00Z"),
    )


@pytest.mark.parametrize("path", [MAP_AUGUST, MAP_OCTOBER])
def test_a_trimmed_real_map_is_read_but_refused_as_partial(path: Any) -> None:
    now = AUGUST if path is MAP_AUGUST else OCTOBER
    reading = read_meteofrance(path.read_bytes(), now=now)
    assert not reading.national
    with pytest.raises(SourceError, match="couverture partielle"):
        check_promise(reading, _promise("meteofrance"), now=now)


def _national_october_map() -> dict[str, Any]:
    """The real October map with the départements its publisher cut put back, all vert, as
    the real full map lists them (a copy of the real entry of Paris, renamed)."""
    data: dict[str, Any] = json.loads(MAP_OCTOBER.read_bytes())
    for period in data["product"]["periods"]:
        domains = period["timelaps"]["domain_ids"]
        paris = next(d for d in domains if d["domain_id"] == "75")
        listed = {d["domain_id"] for d in domains}
        for code in sorted(METROPOLE - listed):
            domains.append({**copy.deepcopy(paris), "domain_id": code})
    return data


def test_a_national_map_counts_while_fresh_and_valid() -> None:
    document = json.dumps(_national_october_map()).encode()
    reading = read_meteofrance(document, now=OCTOBER)
    assert reading.national
    assert reading.coverage == "96 départements métropolitains sur 96"
    check_promise(reading, _promise("meteofrance"), now=OCTOBER)  # no error
    # the padding is vert: the alerts are the real ones
    assert _summary(reading) == _summary(read_meteofrance(MAP_OCTOBER.read_bytes(), now=OCTOBER))


def test_a_national_map_is_refused_once_stale_or_past_its_validity() -> None:
    document = json.dumps(_national_october_map()).encode()
    # a day and a half later: produced 25 h ago is over the day allowed, and J1 is over
    later = datetime(2026, 10, 5, 22, 30, tzinfo=UTC)
    reading = read_meteofrance(document, now=later)
    problems = promise_problems(reading, _promise("meteofrance"), now=later)
    assert [p.split(" ")[0] for p in problems] == ["périmé", "plus"]
    # a replay is read whatever its age
    assert promise_problems(reading, _promise("meteofrance", replay=True), now=later) == []


def test_a_map_missing_one_departement_is_partial() -> None:
    data = _national_october_map()
    for period in data["product"]["periods"]:
        domains = period["timelaps"]["domain_ids"]
        period["timelaps"]["domain_ids"] = [d for d in domains if d["domain_id"] != "48"]
    reading = read_meteofrance(json.dumps(data).encode(), now=OCTOBER)
    assert not reading.national
    assert reading.coverage.startswith("95 départements métropolitains sur 96")


@pytest.mark.parametrize(
    "name", ["mf_mobileapi_warning_full_13.json", "mf_mobileapi_warning_full_31.json"]
)
def test_a_real_single_departement_answer_is_read_and_refused_as_partial(name: str) -> None:
    # Given the mobile service's real answer for one département (all vert that day)
    path = FIXTURES / name
    now = datetime(2021, 10, 31, 6, 0, tzinfo=UTC)
    reading = read_meteofrance(path.read_bytes(), now=now)
    # Then it says no alert for that département, and is not a national reading
    assert reading.alerts == ()
    assert reading.coverage == f"un seul domaine : {name[-7:-5]}"
    with pytest.raises(SourceError, match="couverture partielle"):
        check_promise(reading, _promise("meteofrance"), now=now)


# --- Vigicrues ------------------------------------------------------------------------------


def test_the_real_2026_geojson_maps_each_section_to_its_departements() -> None:
    # Given the real InfoVigiCru.geojson reduced to 4 sections by its publisher
    reading = read_vigicrues(SECTIONS.read_bytes(), now=OCTOBER)
    # Then the Têt and the Agly (level 2) are jaune on the Pyrénées-Orientales; the Golo
    # (Haute-Corse) and the Eure (Eure-et-Loir) are vert
    assert _summary(reading) == [
        ("vc:MO11", Hazard.CRUES, AlertLevel.JAUNE, ("66",)),
        ("vc:MO12", Hazard.CRUES, AlertLevel.JAUNE, ("66",)),
    ]
    assert reading.alerts[1].headline == "Vigilance jaune crues : Têt (Pyrénées-Orientales)"
    assert reading.coverage.startswith("4 tronçons")
    # without a Last-Modified, the GeoJSON gives no production time; the version is the level
    assert reading.produced_at is None
    assert reading.alerts[0].version == "niveau jaune"
    with pytest.raises(SourceError, match="couverture partielle"):
        check_promise(reading, _promise("vigicrues"), now=OCTOBER)


def _whole_network() -> dict[str, Any]:
    """The real sections repeated under new codes up to the size of the whole network."""
    data: dict[str, Any] = json.loads(SECTIONS.read_bytes())
    real = data["features"]
    data["features"] = [
        {
            **copy.deepcopy(real[n % len(real)]),
            "properties": {**real[n % len(real)]["properties"], "CdEntCru": f"X{n}"},
        }
        for n in range(MIN_SECTIONS)
    ]
    return data


def test_a_whole_network_counts_and_its_last_modified_is_its_production_time() -> None:
    produced = OCTOBER - timedelta(hours=2)
    reading = read_vigicrues(
        json.dumps(_whole_network()).encode(), now=OCTOBER, last_modified=produced
    )
    assert reading.national
    check_promise(reading, _promise("vigicrues"), now=OCTOBER)
    assert {a.version for a in reading.alerts} == {produced.isoformat()}
    # two days later the same answer is stale
    with pytest.raises(SourceError, match="périmé"):
        check_promise(reading, _promise("vigicrues"), now=OCTOBER + timedelta(days=2))


def test_the_real_legacy_synthesis_counts_only_while_fresh() -> None:
    # Given the real national synthesis per département of 24 January 2021 08:16 (Paris)
    issued = datetime(2021, 1, 24, 7, 16, 3, tzinfo=UTC)
    reading = read_vigicrues(SYNTHESIS.read_bytes(), now=issued + timedelta(hours=1))
    # Then it yields jaune alerts only (nothing orange that day), covers 92 départements
    assert {a.level for a in reading.alerts} == {AlertLevel.JAUNE}
    assert [a.source_id for a in reading.alerts][:3] == ["vc:02", "vc:08", "vc:10"]
    assert reading.coverage == "92 départements"
    check_promise(reading, _promise("vigicrues"), now=issued + timedelta(hours=1))
    with pytest.raises(SourceError, match="périmé"):
        check_promise(reading, _promise("vigicrues"), now=OCTOBER)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("vigicrues_InfoVigiCru_TypEntVigiCru2.json", "not a national synthesis"),
        ("vigicrues_InfoVigiCru_TypEntVigiCru2_detail.json", "entity of type '5'"),
        ("vigicrues_InfoVigiCru_CdEntVigiCru1_detail.json", "entity of type '8'"),
        ("vigicrues_InfoVigiCru_CdEntVigiCruAP1.json", "not a national synthesis"),
        ("InfoVigiCru_CdEntVigiCru1_territoire.json", "not a national synthesis"),
        ("vigicrues_TerEntVigiCru.json", "neither the GeoJSON"),
    ],
)
def test_the_real_territory_services_are_refused(name: str, why: str) -> None:
    with pytest.raises(SourceError, match=why):
        read_vigicrues((FIXTURES / name).read_bytes(), now=OCTOBER)


# --- MeteoAlarm ---------------------------------------------------------------------------

DECEMBER = datetime(2022, 12, 8, 1, 0, tzinfo=UTC)  # 24 minutes after the French feed


def test_the_real_french_feed_counts_while_fresh() -> None:
    reading = read_meteoalarm(FEED_FR.read_bytes(), now=DECEMBER)
    assert reading.country == "FR"
    assert reading.produced_at == _utc("2022-12-08T00:36:08.851613Z")
    assert [(a.source_id, a.level) for a in reading.alerts] == [
        (f"ma:{code}:avalanches", AlertLevel.JAUNE) for code in ("04", "05", "06", "38", "73", "74")
    ]
    check_promise(reading, _promise("meteoalarm"), now=DECEMBER)
    with pytest.raises(SourceError, match="périmé"):
        check_promise(reading, _promise("meteoalarm"), now=DECEMBER + timedelta(hours=7))


def test_the_real_feed_of_another_country_is_refused() -> None:
    # Given the real United Kingdom feed (its first entry; EMMA_ID areas, no NUTS3)
    reading = read_meteoalarm(FEED_UK.read_bytes(), now=DECEMBER)
    # Then nothing of it is read as French, and it does not count
    assert (reading.country, reading.alerts) == ("UK", ())
    with pytest.raises(SourceError, match=r"autre pays \(UK\)"):
        check_promise(reading, _promise("meteoalarm"), now=DECEMBER)


def test_an_empty_feed_of_another_country_is_refused_too() -> None:
    # Given the real United Kingdom feed with its entries removed (built here)
    text = FEED_UK.read_text("utf-8")
    empty = text[: text.index("\t<entry>")] + "</feed>\n"
    reading = read_meteoalarm(empty.encode(), now=DECEMBER)
    assert reading.alerts == ()
    with pytest.raises(SourceError, match="autre pays"):
        check_promise(reading, _promise("meteoalarm"), now=DECEMBER)


def test_a_real_cap_message_is_french_but_never_a_national_reading() -> None:
    reading = read_meteoalarm(CAP_FR.read_bytes(), now=DECEMBER)
    assert reading.country == "FR"
    assert reading.alerts == ()  # an AllClear
    with pytest.raises(SourceError, match="couverture partielle"):
        check_promise(reading, _promise("meteoalarm"), now=DECEMBER)


def test_a_document_from_the_future_is_refused() -> None:
    reading = read_meteoalarm(FEED_FR.read_bytes(), now=DECEMBER - timedelta(hours=2))
    with pytest.raises(SourceError, match="futur"):
        check_promise(reading, _promise("meteoalarm"), now=DECEMBER - timedelta(hours=2))
