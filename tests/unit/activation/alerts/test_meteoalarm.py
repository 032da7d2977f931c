"""MeteoAlarm: the real Atom feed and CAP message for France, variants of them, hostile XML."""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime
from importlib import resources

import pytest
import requests
import responses
from hypothesis import given, settings
from hypothesis import strategies as st

from entraide.activation.alerts.http import build_session
from entraide.activation.alerts.meteoalarm import (
    MeteoAlarmSource,
    nuts3_departements,
    parse_cap_alert,
    parse_meteoalarm,
    parse_meteoalarm_feed,
)
from entraide.activation.alerts.model import Alert, SourceError
from entraide.kernel.departements import DEPARTEMENTS, normalise_departement
from entraide.kernel.model import AlertLevel, Hazard
from tests.paths import FIXTURES as TEST_FIXTURES

FIXTURES = TEST_FIXTURES / "alerts"
FEED = FIXTURES / "meteoalarm_france_atom_feed.xml"
CAP_DETAIL = FIXTURES / "meteoalarm_france_cap_detail.xml"

# The feed was taken on 2022-12-08 at 00:36Z; the new warning runs until 2022-12-08T15:00Z.
NOW = datetime(2022, 12, 8, 1, tzinfo=UTC)
ALPS = ("04", "05", "06", "38", "73", "74")
NEW_ID = "2.49.0.0.250.0.FR.20221207160058.764028"


def _by_id(alerts: list[Alert]) -> dict[str, Alert]:
    return {alert.source_id: alert for alert in alerts}


def _feed_text() -> str:
    return FEED.read_text("utf-8")


def _entry(
    *,
    nuts3: str = "FR811",
    title: str = "Orange Rain-Flood Warning issued for France - Aude",
    event: str = "Severe rain-flood warning",
    sent: str = "2024-10-16T14:00:00+00:00",
    onset: str = "2024-10-16T18:00:00+00:00",
    expires: str = "2024-10-17T10:00:00+00:00",
    message_type: str = "Alert",
    identifier: str = "2.49.0.0.250.0.FR.20241016160000.1",
    status: str = "Actual",
    extra: str = "",
) -> str:
    """An entry shaped like the real feed's."""
    return f"""
    <entry>
        <cap:geocode><valueName>NUTS3</valueName><value>{nuts3}</value></cap:geocode>
        <cap:areaDesc>somewhere</cap:areaDesc>
        <cap:event>{event}</cap:event>
        <cap:sent>{sent}</cap:sent>
        <cap:expires>{expires}</cap:expires>
        <cap:onset>{onset}</cap:onset>
        <cap:message_type>{message_type}</cap:message_type>
        <cap:status>{status}</cap:status>
        <cap:identifier>{identifier}</cap:identifier>
        {extra}
        <title>{title}</title>
    </entry>"""


def _feed(*entries: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:cap="urn:oasis:names:tc:emergency:cap:1.2">
    <id>tag:meteoalarm.org,2021-02-19:FR</id>
    <title>Meteoalarm - severe weather warnings for Europe</title>
    {"".join(entries)}
</feed>""".encode()


AT = datetime(2024, 10, 16, 15, tzinfo=UTC)


# --- the real feed ------------------------------------------------------------------------


def test_the_real_feed_gives_a_jaune_avalanches_alert_for_haute_savoie() -> None:
    # Given the real feed (12 entries: yesterday's ended Update and today's Alert, 6 areas)
    # When reading it during today's warning
    alerts = _by_id(parse_meteoalarm_feed(FEED.read_bytes(), now=NOW))
    # Then FR718 is Haute-Savoie, with every field from today's message
    assert alerts["ma:74:avalanches"] == Alert(
        source="meteoalarm",
        source_id="ma:74:avalanches",
        version="2022-12-07T15:00:58+00:00",
        hazard=Hazard.AVALANCHES,
        level=AlertLevel.JAUNE,
        departements=("74",),
        onset=datetime(2022, 12, 7, 15, tzinfo=UTC),
        expires=datetime(2022, 12, 8, 15, tzinfo=UTC),
        headline="Vigilance jaune avalanches : Haute-Savoie",
    )


def test_the_real_feed_gives_one_alert_per_alpine_departement_from_the_newest_message() -> None:
    alerts = parse_meteoalarm_feed(FEED.read_bytes(), now=NOW)
    assert [a.departements for a in alerts] == [(code,) for code in ALPS]
    assert {(a.hazard, a.level, a.version) for a in alerts} == {
        (Hazard.AVALANCHES, AlertLevel.JAUNE, "2022-12-07T15:00:58+00:00")
    }


def test_expired_entries_are_dropped() -> None:
    # Given the real feed read after today's warning expired
    later = datetime(2022, 12, 8, 15, 0, 1, tzinfo=UTC)
    # When / Then nothing is in force (yesterday's Update expired long ago)
    assert parse_meteoalarm_feed(FEED.read_bytes(), now=later) == []


def test_repeated_entries_are_deduplicated() -> None:
    # Given the real feed with every entry listed twice
    text = _feed_text()
    entries = re.findall(r"<entry>.*?</entry>", text, flags=re.DOTALL)
    doubled = text.replace("</feed>", "".join(entries) + "</feed>").encode()
    # When / Then the same six alerts
    assert parse_meteoalarm_feed(doubled, now=NOW) == parse_meteoalarm_feed(
        FEED.read_bytes(), now=NOW
    )


def test_an_orange_title_gives_an_orange_alert() -> None:
    # Given the real feed where today's Haute-Savoie entry says Orange
    text = _feed_text()
    old = "<title>Yellow Avalanches Warning issued for France - Haute Savoie</title>"
    assert text.count(old) == 2
    text = text.replace(old, old.replace("Yellow", "Orange"), 1)  # the first: today's
    # When / Then Haute-Savoie is orange, the others still jaune
    alerts = _by_id(parse_meteoalarm_feed(text.encode(), now=NOW))
    assert alerts["ma:74:avalanches"].level is AlertLevel.ORANGE
    assert alerts["ma:74:avalanches"].headline == "Vigilance orange avalanches : Haute-Savoie"
    assert alerts["ma:73:avalanches"].level is AlertLevel.JAUNE


def test_a_later_cancel_ends_the_warning() -> None:
    # Given the real feed plus a Cancel for Savoie sent after today's Alert
    cancel = _entry(
        nuts3="FR717",
        title="Yellow Avalanches Warning issued for France - Savoie",
        event="Moderate avalanches warning",
        sent="2022-12-07T20:00:00+00:00",
        onset="2022-12-07T20:00:00+00:00",
        expires="2022-12-08T15:00:00+00:00",
        message_type="Cancel",
        identifier="2.49.0.0.250.0.FR.20221207210000.1",
    )
    text = _feed_text().replace("</feed>", cancel + "</feed>")
    # When / Then Savoie has no alert any more, the others do
    ids = _by_id(parse_meteoalarm_feed(text.encode(), now=NOW)).keys()
    assert "ma:73:avalanches" not in ids
    assert "ma:74:avalanches" in ids


def test_a_later_green_entry_ends_the_warning() -> None:
    green = _entry(
        nuts3="FR718",
        title="Green Avalanches Warning issued for France - Haute Savoie",
        event="Minor avalanches warning",
        sent="2022-12-07T20:00:00+00:00",
        message_type="Update",
        identifier="2.49.0.0.250.0.FR.20221207210000.2",
    )
    text = _feed_text().replace("</feed>", green + "</feed>")
    assert "ma:74:avalanches" not in _by_id(parse_meteoalarm_feed(text.encode(), now=NOW))


def test_an_update_replaces_the_earlier_message_and_keeps_the_source_id() -> None:
    # Given an orange Alert, then an Update that lowers it to yellow and extends it
    first = _entry(sent="2024-10-16T14:00:00+00:00", identifier="A")
    update = _entry(
        title="Yellow Rain-Flood Warning issued for France - Aude",
        event="Moderate rain-flood warning",
        sent="2024-10-16T16:00:00+00:00",
        onset="2024-10-16T16:00:00+00:00",
        expires="2024-10-17T16:00:00+00:00",
        message_type="Update",
        identifier="B",
    )
    # When reading the feed with the update listed first (order in the feed is irrelevant)
    alerts = parse_meteoalarm_feed(_feed(update, first), now=AT)
    # Then one alert, the update's
    assert alerts == [
        Alert(
            source="meteoalarm",
            source_id="ma:11:pluie-inondation",
            version="2024-10-16T16:00:00+00:00",
            hazard=Hazard.PLUIE_INONDATION,
            level=AlertLevel.JAUNE,
            departements=("11",),
            onset=datetime(2024, 10, 16, 16, tzinfo=UTC),
            expires=datetime(2024, 10, 17, 16, tzinfo=UTC),
            headline="Vigilance jaune pluie-inondation : Aude",
        )
    ]


def test_two_alerts_in_force_merge_at_the_highest_level() -> None:
    # Given a yellow warning today and a separate orange one tomorrow for the same area
    today = _entry(
        title="Yellow Wind Warning issued for France - Aude",
        event="Moderate wind warning",
        onset="2024-10-16T12:00:00+00:00",
        expires="2024-10-16T22:00:00+00:00",
        identifier="today",
    )
    tomorrow = _entry(
        title="Orange Wind Warning issued for France - Aude",
        event="Severe wind warning",
        sent="2024-10-16T14:30:00+00:00",
        onset="2024-10-17T06:00:00+00:00",
        expires="2024-10-17T18:00:00+00:00",
        identifier="tomorrow",
    )
    # When / Then one alert, orange, timed by the orange message, versioned by the latest
    [alert] = parse_meteoalarm_feed(_feed(today, tomorrow), now=AT)
    assert (alert.source_id, alert.level, alert.onset, alert.expires, alert.version) == (
        "ma:11:vent-violent",
        AlertLevel.ORANGE,
        datetime(2024, 10, 17, 6, tzinfo=UTC),
        datetime(2024, 10, 17, 18, tzinfo=UTC),
        "2024-10-16T14:30:00+00:00",
    )


@pytest.mark.parametrize(
    ("title", "hazard"),
    [
        ("Red Wind Warning", Hazard.VENT_VIOLENT),
        ("Orange Snow-Ice Warning", Hazard.NEIGE_VERGLAS),
        ("Orange Thunderstorm Warning", Hazard.ORAGES),
        ("Orange Coastal Event Warning", Hazard.VAGUES_SUBMERSION),
        ("Orange Forest Fire Warning", Hazard.INCENDIE),
        ("Orange Avalanches Warning", Hazard.AVALANCHES),
        ("Orange Rain Warning", Hazard.PLUIE_INONDATION),
        ("Orange Flooding Warning", Hazard.INONDATION),
        ("Orange Rain-Flood Warning", Hazard.PLUIE_INONDATION),
    ],
)
def test_each_served_type_maps_to_its_hazard(title: str, hazard: Hazard) -> None:
    entry = _entry(title=f"{title} issued for France - Aude", event="")
    [alert] = parse_meteoalarm_feed(_feed(entry), now=AT)
    assert alert.hazard is hazard


@pytest.mark.parametrize(
    ("parameters", "hazard", "level"),
    [
        (("3; orange; Severe", "12; flooding"), Hazard.INONDATION, AlertLevel.ORANGE),
        (("4; red; Extreme", "1; Wind"), Hazard.VENT_VIOLENT, AlertLevel.ROUGE),
        (("2; yellow; Moderate", "7; coastalevent"), Hazard.VAGUES_SUBMERSION, AlertLevel.JAUNE),
    ],
)
def test_awareness_elements_in_an_entry_win_over_the_title(
    parameters: tuple[str, str], hazard: Hazard, level: AlertLevel
) -> None:
    awareness_level, awareness_type = parameters
    extra = (
        f"<cap:awareness_level>{awareness_level}</cap:awareness_level>"
        f"<cap:awareness_type>{awareness_type}</cap:awareness_type>"
    )
    [alert] = parse_meteoalarm_feed(_feed(_entry(extra=extra)), now=AT)
    assert (alert.hazard, alert.level) == (hazard, level)


@pytest.mark.parametrize(
    "title",
    ["Orange Fog Warning", "Red High-Temperature Warning", "Orange Low-Temperature Warning"],
)
def test_types_the_platform_does_not_serve_are_skipped(title: str) -> None:
    entry = _entry(title=f"{title} issued for France - Aude", event="")
    assert parse_meteoalarm_feed(_feed(entry), now=AT) == []


def test_test_messages_are_skipped() -> None:
    assert parse_meteoalarm_feed(_feed(_entry(status="Test")), now=AT) == []


def test_a_nuts3_2016_code_is_understood_too() -> None:
    [alert] = parse_meteoalarm_feed(_feed(_entry(nuts3="FRJ11")), now=AT)
    assert alert.departements == ("11",)


def test_an_empty_feed_gives_no_alert() -> None:
    assert parse_meteoalarm_feed(_feed(), now=AT) == []


# --- the real CAP message -----------------------------------------------------------------


def test_the_real_cap_message_is_an_all_clear_and_gives_no_alert() -> None:
    # Given the real Update whose responseType is AllClear (yesterday's warning ended)
    # When read while it was still "valid" / Then nothing is in force
    assert parse_cap_alert(CAP_DETAIL.read_bytes(), now=datetime(2022, 12, 7, 5, tzinfo=UTC)) == []


def _cap_in_force() -> bytes:
    """The real CAP message turned into the Alert it ended: Monitor, valid a day."""
    text = CAP_DETAIL.read_text("utf-8")
    text = text.replace("<msgType>Update</msgType>", "<msgType>Alert</msgType>")
    text = text.replace(
        "<responseType>AllClear</responseType>", "<responseType>Monitor</responseType>"
    )
    text = text.replace(
        "<expires>2022-12-07T06:01:00+01:00</expires>",
        "<expires>2022-12-08T06:00:00+01:00</expires>",
    )
    return text.encode()


def test_the_cap_message_in_force_gives_an_alert_per_area_with_every_field() -> None:
    # Given the real message made an Alert in force (see _cap_in_force)
    now = datetime(2022, 12, 7, 12, tzinfo=UTC)
    # When
    alerts = parse_cap_alert(_cap_in_force(), now=now)
    # Then six areas (fr-FR and en-GB infos say the same: no duplicate), each complete
    assert [a.departements for a in alerts] == [(code,) for code in ALPS]
    assert _by_id(alerts)["ma:04:avalanches"] == Alert(
        source="meteoalarm",
        source_id="ma:04:avalanches",
        version="2022-12-07T05:01:26+00:00",
        hazard=Hazard.AVALANCHES,
        level=AlertLevel.JAUNE,
        departements=("04",),
        onset=datetime(2022, 12, 7, 5, tzinfo=UTC),
        expires=datetime(2022, 12, 8, 5, tzinfo=UTC),
        headline="Vigilance jaune avalanches : Alpes-de-Haute-Provence",
    )


def test_an_orange_cap_parameter_gives_an_orange_alert() -> None:
    text = _cap_in_force().decode().replace("2; yellow; Moderate", "3; orange; Severe")
    alerts = parse_cap_alert(text.encode(), now=datetime(2022, 12, 7, 12, tzinfo=UTC))
    assert {a.level for a in alerts} == {AlertLevel.ORANGE}


def test_a_cap_cancel_gives_no_alert() -> None:
    text = _cap_in_force().decode().replace("<msgType>Alert</msgType>", "<msgType>Cancel</msgType>")
    assert parse_cap_alert(text.encode(), now=datetime(2022, 12, 7, 12, tzinfo=UTC)) == []


def test_parse_meteoalarm_reads_a_feed_or_a_cap_message() -> None:
    now = datetime(2022, 12, 7, 12, tzinfo=UTC)
    assert parse_meteoalarm(_cap_in_force(), now=now) == parse_cap_alert(_cap_in_force(), now=now)
    assert parse_meteoalarm(FEED.read_bytes(), now=NOW) == parse_meteoalarm_feed(
        FEED.read_bytes(), now=NOW
    )


# --- the NUTS3 table ------------------------------------------------------------------------


def test_the_nuts3_table_covers_the_101_departements_in_both_versions() -> None:
    text = resources.files("entraide").joinpath("data", "nuts3_departements.csv").read_text()
    rows = list(csv.DictReader(text.splitlines()))
    for version in ("2013", "2016"):
        covered = [r["departement"] for r in rows if version in r["nuts_versions"].split()]
        assert sorted(covered) == sorted(DEPARTEMENTS), version
    assert nuts3_departements()["FR718"] == "74"
    assert nuts3_departements()["FRK28"] == "74"
    assert nuts3_departements()["FR101"] == "75"
    assert nuts3_departements()["FRY50"] == "976"


def test_every_nuts3_code_of_the_real_files_is_the_departement_they_name() -> None:
    # Given the (code, area name) pairs of the real feed and CAP message
    pairs: set[tuple[str, str]] = set()
    for path in (FEED, CAP_DETAIL):
        text = path.read_text("utf-8")
        for block in re.findall(r"<(?:entry|area)>.*?</(?:entry|area)>", text, flags=re.DOTALL):
            code = re.search(r"<value>(FR\w+)</value>", block)
            name = re.search(r"<(?:cap:)?areaDesc>([^<]+)<", block)
            assert code is not None
            assert name is not None
            pairs.add((code[1], name[1]))
    # Then the table agrees with the names
    assert len(pairs) == 6
    for nuts, area in pairs:
        assert nuts3_departements()[nuts] == normalise_departement(area), (nuts, area)


# --- broken and hostile XML -----------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<feed xmlns="http://www.w3.org/2005/Atom"><title>&lol9;</title></feed>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<feed xmlns="http://www.w3.org/2005/Atom"><title>&xxe;</title></feed>"""


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (BILLION_LAUGHS, "refused XML"),
        (EXTERNAL_ENTITY, "refused XML"),
        (b"", "empty"),
        (FEED.read_bytes()[:5000], "malformed XML"),
        (b"<feed><entry></feed>", "malformed XML"),
        (b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", "HTML"),
        (b'{"warnings": []}', "malformed XML"),
        (b"<rss><channel/></rss>", "expected an Atom feed or a CAP 1.2 alert"),
    ],
)
def test_broken_or_hostile_xml_is_a_source_error(document: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message) as caught:
        parse_meteoalarm(document, now=NOW)
    assert caught.value.source == "meteoalarm"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (_entry(nuts3="FR999"), "unknown NUTS3 code 'FR999'"),
        (_entry(nuts3="DE103"), "unknown NUTS3"),
        (
            _entry().replace("<valueName>NUTS3</valueName>", "<valueName>EMMA_ID</valueName>"),
            "no NUTS3 geocode",
        ),
        (_entry(title="Purple Rain Warning issued for France - Aude"), "no warning level"),
        (_entry(title="Orange Locusts Warning issued for France - Aude"), "unknown warning type"),
        (_entry(title="Nothing to see", event="Nothing"), "no warning type"),
        (_entry(message_type="Ack"), "unknown message type"),
        (_entry(sent="yesterday"), "not an ISO 8601 time"),
        (_entry(expires="2024-10-17T10:00:00"), "offset"),
        (
            _entry()
            .replace("<cap:identifier>", "<cap:ident>")
            .replace("</cap:identifier>", "</cap:ident>"),
            "identifier",
        ),
        (
            _entry(extra="<cap:awareness_type>11; mystery</cap:awareness_type>"),
            "unknown awareness type",
        ),
        (
            _entry(extra="<cap:awareness_level>7; violet; Odd</cap:awareness_level>"),
            "unknown awareness level",
        ),
    ],
)
def test_an_entry_that_is_not_understood_is_a_source_error(entry: str, message: str) -> None:
    # Never an empty list for a feed that was not understood
    with pytest.raises(SourceError, match=message):
        parse_meteoalarm_feed(_feed(entry), now=AT)


def test_a_cap_message_without_awareness_parameters_is_a_source_error() -> None:
    text = re.sub(r"<parameter>.*?</parameter>", "", _cap_in_force().decode(), flags=re.DOTALL)
    with pytest.raises(SourceError, match="awareness"):
        parse_cap_alert(text.encode(), now=NOW)


def test_a_cap_message_given_as_a_feed_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="expected an Atom feed"):
        parse_meteoalarm_feed(CAP_DETAIL.read_bytes(), now=NOW)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_bytes_give_alerts_or_a_source_error(document: bytes) -> None:
    try:
        result = parse_meteoalarm(document, now=NOW)
    except SourceError:
        return
    assert all(isinstance(alert, Alert) for alert in result)


# --- the source ---------------------------------------------------------------------------


@responses.activate
def test_the_source_reads_the_feed_over_http() -> None:
    url = "https://feeds.meteoalarm.org/feeds/meteoalarm-legacy-atom-france"
    responses.get(url, body=FEED.read_bytes(), content_type="application/atom+xml")
    with build_session(backoff_factor=0) as session:
        source = MeteoAlarmSource(url, session=session)
        assert source.fetch(NOW) == parse_meteoalarm_feed(FEED.read_bytes(), now=NOW)
    assert source.name == "meteoalarm"


@responses.activate
def test_the_source_fails_on_an_html_page_served_with_200() -> None:
    url = "https://feeds.meteoalarm.org/feeds/meteoalarm-legacy-atom-france"
    responses.get(url, body=b"<html><body>Maintenance</body></html>", status=200)
    with build_session(backoff_factor=0) as session, pytest.raises(SourceError, match="HTML"):
        MeteoAlarmSource(url, session=session).fetch(NOW)


def test_the_source_reads_a_recorded_feed_from_a_path() -> None:
    source = MeteoAlarmSource(str(FEED), session=requests.Session())
    assert len(source.fetch(NOW)) == 6
