"""MeteoAlarm: the Atom feed of CAP warnings for France, and a CAP 1.2 message itself.

The feed (``https://feeds.meteoalarm.org/feeds/meteoalarm-legacy-atom-france``) has one
``<entry>`` per (CAP message, area). What the real one taught (see
``tests/fixtures/alerts/SOURCES.md``):

- CAP fields are ``cap:*`` elements; the message type is ``cap:message_type``
  (``cap:msgType`` in a CAP message), there is no ``responseType``;
- the area is a ``cap:geocode`` whose ``valueName``/``value`` children are in the Atom
  namespace; France gives **NUTS3** codes of the 2013 version (FR718 Haute-Savoie), the
  EMMA_ID only inside a link (not read); ``entraide/data/nuts3_departements.csv`` maps
  both the 2013 and the 2016 codes;
- the colour is only in the title ("Yellow Avalanches Warning issued for France - …"),
  the type in the title and in ``cap:event`` ("Moderate avalanches warning");
  ``cap:awareness_level``/``cap:awareness_type`` elements are read first if present;
- expired messages stay listed (an Update that ended yesterday's warning next to
  today's new Alert for the same areas).

A CAP message gives the same facts in ``parameter`` ``awareness_level``
("2; yellow; Moderate") and ``awareness_type`` ("9; avalanches"), in one ``info`` per
language, with ``references`` and ``responseType`` (AllClear ends a warning).

Normalisation: one :class:`Alert` per (département, hazard), ``source_id``
``ma:<département>:<hazard>``, stable across the CAP messages that update it. For each
pair the messages are taken in ``sent`` order: an Alert adds a warning, an Update
replaces the earlier ones, a Cancel, an AllClear or a green level ends them; what is
left and not expired at ``now`` is merged (highest level; onset and expiry of the
messages at that level; ``version`` the latest ``sent``). Types the platform does not
serve (fog, temperatures, …) are skipped; unknown types, levels or areas raise
:class:`SourceError`.

What a document is (:class:`~entraide.activation.alerts.model.Reading`): the feed's
``<id>`` ends with its country (``tag:meteoalarm.org,2021-02-19:FR``; the United
Kingdom's says ``:UK``), its ``<updated>`` is when it was produced; a feed covers its
whole country. A feed of another country is not read further (its areas are not NUTS3
codes of France) and is refused as such. A CAP message is one warning: never a national
reading; its country is in its identifier (WMO OID ``2.49.0.0.<ISO 3166 numeric>``, 250
for France).

XML is parsed with defusedxml only, DTDs refused: feeds are untrusted, and an
entity-expansion or external-entity document is a :class:`SourceError`.

Why one module: the feed and the CAP message are one format read end to end (the same
codes, levels, areas and update rules); split, each half would repeat the other's.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from importlib import resources
from types import MappingProxyType
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from entraide.activation.alerts.document import DocumentSource, aware_utc, parse_time
from entraide.activation.alerts.http import Fetched
from entraide.activation.alerts.model import Alert, Reading, SourceError
from entraide.kernel.departements import DEPARTEMENTS, departement_name
from entraide.kernel.model import AlertLevel, Hazard

SOURCE = "meteoalarm"
ATOM = "http://www.w3.org/2005/Atom"
CAP = "urn:oasis:names:tc:emergency:cap:1.2"
NUTS3_TABLE = "nuts3_departements.csv"

# MeteoAlarm awareness types (code -> hazard; None: known, not served by the platform).
AWARENESS_TYPES: Mapping[int, Hazard | None] = MappingProxyType(
    {
        1: Hazard.VENT_VIOLENT,  # Wind
        2: Hazard.NEIGE_VERGLAS,  # snow-ice
        3: Hazard.ORAGES,  # Thunderstorm
        4: None,  # Fog
        5: None,  # high-temperature
        6: None,  # low-temperature
        7: Hazard.VAGUES_SUBMERSION,  # coastalevent
        8: Hazard.INCENDIE,  # forest-fire
        9: Hazard.AVALANCHES,  # avalanches
        10: Hazard.PLUIE_INONDATION,  # Rain
        12: Hazard.INONDATION,  # flooding
        13: Hazard.PLUIE_INONDATION,  # rain-flood
        14: None,  # Polar-low / Marine-Hazard
        15: None,  # Drought
    }
)

# Type names as written in titles, events and parameters, letters only, lower case.
TYPE_NAMES: Mapping[str, int] = MappingProxyType(
    {
        "wind": 1,
        "snowice": 2,
        "snow": 2,
        "ice": 2,
        "thunderstorm": 3,
        "thunderstorms": 3,
        "fog": 4,
        "hightemperature": 5,
        "lowtemperature": 6,
        "coastalevent": 7,
        "forestfire": 8,
        "avalanche": 9,
        "avalanches": 9,
        "rain": 10,
        "flooding": 12,
        "flood": 12,
        "rainflood": 13,
        "polarlow": 14,
        "marinehazard": 14,
        "drought": 15,
    }
)

LEVELS: Mapping[int, AlertLevel | None] = MappingProxyType(
    {1: None, 2: AlertLevel.JAUNE, 3: AlertLevel.ORANGE, 4: AlertLevel.ROUGE}
)
COLOUR_NAMES: Mapping[str, int] = MappingProxyType(
    {"green": 1, "yellow": 2, "orange": 3, "amber": 3, "red": 4}
)

_TITLE = re.compile(r"^\s*(?P<colour>[A-Za-z]+)\s+(?P<type>.+?)\s+warning\b", re.IGNORECASE)
_EVENT = re.compile(
    r"^\s*(?:minor|moderate|severe|extreme)\s+(?P<type>.+?)\s+warning\b", re.IGNORECASE
)


def _error(message: str) -> SourceError:
    return SourceError(SOURCE, message)


# --- the NUTS3 table --------------------------------------------------------------------


@cache
def nuts3_departements() -> Mapping[str, str]:
    """NUTS3 code (2013 and 2016 versions) -> département, from the packaged table."""
    text = resources.files("entraide").joinpath("data", NUTS3_TABLE).read_text("utf-8")
    table: dict[str, str] = {}
    for row in csv.DictReader(io.StringIO(text)):
        code, departement = row["nuts3"].strip().upper(), row["departement"].strip()
        if departement not in DEPARTEMENTS or table.get(code, departement) != departement:
            raise ValueError(f"{NUTS3_TABLE}: bad row {row!r}")
        table[code] = departement
    return MappingProxyType(table)


def _nuts3(code: str, where: str) -> str:
    departement = nuts3_departements().get(code.strip().upper())
    if departement is None:
        raise _error(f"{where}: unknown NUTS3 code {code!r}")
    return departement


# --- XML ----------------------------------------------------------------------------------


def _parse_xml(document: bytes) -> Element:
    head = document.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise _error("empty document, expected XML")
    if head[:14].lower().startswith((b"<!doctype html", b"<html")):
        raise _error("got an HTML page instead of XML")
    try:
        root: Element = fromstring(document, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise _error(
            f"refused XML ({type(exc).__name__}): DTDs and entities are forbidden"
        ) from exc
    except ParseError as exc:
        raise _error(f"malformed XML: {exc}") from exc
    return root


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _text(parent: Element, tag: str) -> str | None:
    element = parent.find(tag)
    if element is None or element.text is None or not element.text.strip():
        return None
    return element.text.strip()


def _required(parent: Element, tag: str, where: str) -> str:
    value = _text(parent, tag)
    if value is None:
        raise _error(f"{where}: missing {_local(tag)}")
    return value


def _time(value: str, where: str) -> datetime:
    return parse_time(value, source=SOURCE, field=where)


def _code_of(text: str, where: str) -> int:
    """The leading number of "2; yellow; Moderate" / "9; avalanches"."""
    head = text.split(";", 1)[0].strip()
    if not head.isdigit():
        raise _error(f"{where}: no code in {text!r}")
    return int(head)


def _type_code(text: str, where: str) -> int:
    """An awareness type: "9; avalanches", or a bare name ("Avalanches", "snow-ice")."""
    if text.split(";", 1)[0].strip().isdigit():
        code = _code_of(text, where)
        if code not in AWARENESS_TYPES:
            raise _error(f"{where}: unknown awareness type {text!r}")
        return code
    name = re.sub(r"[^a-z]", "", text.lower())
    if name not in TYPE_NAMES:
        raise _error(f"{where}: unknown warning type {text!r}")
    return TYPE_NAMES[name]


def _level_code(text: str, where: str) -> int:
    code = _code_of(text, where)
    if code not in LEVELS:
        raise _error(f"{where}: unknown awareness level {text!r}")
    return code


# --- one message (a feed entry, or one info of a CAP alert) --------------------------------


@dataclass(frozen=True, slots=True)
class _Message:
    identifier: str
    sent: datetime
    msg_type: str  # Alert, Update, Cancel
    ends: bool  # AllClear, or a green level: the warning is over
    hazard: Hazard
    level: AlertLevel | None
    departements: tuple[str, ...]
    onset: datetime
    expires: datetime | None


def _msg_type(value: str, where: str) -> str:
    for known in ("Alert", "Update", "Cancel"):
        if value.strip().lower() == known.lower():
            return known
    raise _error(f"{where}: unknown message type {value!r}")


def _entry_message(entry: Element, where: str) -> _Message | None:
    cap = f"{{{CAP}}}"
    status = _text(entry, f"{cap}status")
    if status is not None and status != "Actual":
        return None  # Test, Exercise, System, Draft
    identifier = _required(entry, f"{cap}identifier", where)
    sent = _time(_required(entry, f"{cap}sent", where), f"{where}.sent")
    raw_type = _text(entry, f"{cap}message_type") or _text(entry, f"{cap}msgType")
    if raw_type is None:
        raise _error(f"{where}: missing cap:message_type")
    msg_type = _msg_type(raw_type, where)
    title = _text(entry, f"{{{ATOM}}}title") or ""
    title_match = _TITLE.match(title)

    awareness_type = _text(entry, f"{cap}awareness_type")
    event = _text(entry, f"{cap}event")
    event_match = _EVENT.match(event or "")
    if awareness_type is not None:
        type_code = _type_code(awareness_type, f"{where}.awareness_type")
    elif title_match is not None:
        type_code = _type_code(title_match["type"], f"{where}.title")
    elif event_match is not None:
        type_code = _type_code(event_match["type"], f"{where}.event")
    else:
        raise _error(f"{where}: no warning type (title {title!r}, event {event!r})")

    awareness_level = _text(entry, f"{cap}awareness_level")
    if awareness_level is not None:
        level_code = _level_code(awareness_level, f"{where}.awareness_level")
    elif title_match is not None and title_match["colour"].lower() in COLOUR_NAMES:
        level_code = COLOUR_NAMES[title_match["colour"].lower()]
    else:
        raise _error(f"{where}: no warning level (title {title!r})")

    hazard = AWARENESS_TYPES[type_code]
    if hazard is None:
        return None
    departements = _geocodes(entry.iterfind(f"{cap}geocode"), where)
    response = _text(entry, f"{cap}responseType") or ""
    return _Message(
        identifier=identifier,
        sent=sent,
        msg_type=msg_type,
        ends=response.lower() == "allclear" or LEVELS[level_code] is None,
        hazard=hazard,
        level=LEVELS[level_code],
        departements=departements,
        onset=_onset(entry, cap, sent, where),
        expires=_expires(entry, cap, where),
    )


def _onset(parent: Element, ns: str, sent: datetime, where: str) -> datetime:
    raw = _text(parent, f"{ns}onset") or _text(parent, f"{ns}effective")
    return sent if raw is None else _time(raw, f"{where}.onset")


def _expires(parent: Element, ns: str, where: str) -> datetime | None:
    raw = _text(parent, f"{ns}expires")
    return None if raw is None else _time(raw, f"{where}.expires")


def _geocodes(geocodes: Iterable[Element], where: str) -> tuple[str, ...]:
    """Départements of NUTS3 geocodes; children matched by local name (namespaces vary)."""
    found: list[str] = []
    names: list[str] = []
    for geocode in geocodes:
        fields = {_local(child.tag): (child.text or "").strip() for child in geocode}
        name, value = fields.get("valueName", ""), fields.get("value", "")
        names.append(name)
        if name.upper() == "NUTS3" and value:
            departement = _nuts3(value, where)
            if departement not in found:
                found.append(departement)
    if not found:
        kinds = ", ".join(sorted(set(names))) or "none"
        raise _error(f"{where}: no NUTS3 geocode (geocodes: {kinds})")
    return tuple(found)


def _parameters(info: Element) -> dict[str, str]:
    params: dict[str, str] = {}
    for parameter in info.iterfind(f"{{{CAP}}}parameter"):
        name = _text(parameter, f"{{{CAP}}}valueName")
        value = _text(parameter, f"{{{CAP}}}value")
        if name is not None and value is not None:
            params.setdefault(name, value)
    return params


def _cap_messages(alert: Element) -> list[_Message]:
    cap = f"{{{CAP}}}"
    where = "alert"
    status = _required(alert, f"{cap}status", where)
    if status != "Actual":
        return []
    identifier = _required(alert, f"{cap}identifier", where)
    sent = _time(_required(alert, f"{cap}sent", where), "alert.sent")
    msg_type = _msg_type(_required(alert, f"{cap}msgType", where), where)
    infos = alert.findall(f"{cap}info")
    if not infos and msg_type != "Cancel":
        raise _error("alert: no info")
    # French first: same facts in every language, one is enough per (area, hazard).
    infos.sort(key=lambda info: (_text(info, f"{cap}language") or "").lower() != "fr-fr")
    messages: list[_Message] = []
    for n, info in enumerate(infos):
        iwhere = f"alert.info[{n}]"
        params = _parameters(info)
        if "awareness_type" not in params or "awareness_level" not in params:
            raise _error(f"{iwhere}: missing awareness_type or awareness_level parameter")
        hazard = AWARENESS_TYPES[_type_code(params["awareness_type"], f"{iwhere}.awareness_type")]
        level = LEVELS[_level_code(params["awareness_level"], f"{iwhere}.awareness_level")]
        if hazard is None:
            continue
        areas = info.findall(f"{cap}area")
        if not areas:
            raise _error(f"{iwhere}: no area")
        departements: list[str] = []
        for area in areas:
            for departement in _geocodes(area.iterfind(f"{cap}geocode"), f"{iwhere}.area"):
                if departement not in departements:
                    departements.append(departement)
        responses = {
            (element.text or "").strip().lower() for element in info.iterfind(f"{cap}responseType")
        }
        messages.append(
            _Message(
                identifier=identifier,
                sent=sent,
                msg_type=msg_type,
                ends="allclear" in responses or level is None,
                hazard=hazard,
                level=level,
                departements=tuple(departements),
                onset=_onset(info, cap, sent, iwhere),
                expires=_expires(info, cap, iwhere),
            )
        )
    return messages


# --- from messages to alerts --------------------------------------------------------------

_RANK: Mapping[AlertLevel, int] = MappingProxyType(
    {AlertLevel.JAUNE: 2, AlertLevel.ORANGE: 3, AlertLevel.ROUGE: 4}
)


def _resolve(messages: Iterable[_Message], now: datetime) -> list[Alert]:
    by_key: dict[tuple[str, Hazard], list[_Message]] = {}
    for message in messages:
        for departement in message.departements:
            bucket = by_key.setdefault((departement, message.hazard), [])
            if all(m.identifier != message.identifier for m in bucket):
                bucket.append(message)  # one copy per CAP message (languages, repeats)

    alerts: list[Alert] = []
    for (departement, hazard), bucket in sorted(by_key.items()):
        live: list[_Message] = []
        for message in sorted(bucket, key=lambda m: m.sent):
            if message.msg_type == "Cancel" or message.ends:
                live = []
            elif message.msg_type == "Update":
                live = [message]
            else:
                live.append(message)
        live = [m for m in live if m.expires is None or m.expires > now]
        alert = _merge(departement, hazard, live)
        if alert is not None:
            alerts.append(alert)
    return alerts


def _merge(departement: str, hazard: Hazard, live: list[_Message]) -> Alert | None:
    levelled = [(m, m.level) for m in live if m.level is not None]
    if not levelled:
        return None
    level = max((lv for _, lv in levelled), key=_RANK.__getitem__)
    at_top = [m for m, lv in levelled if lv == level]
    ends = [m.expires for m in at_top]
    return Alert(
        source=SOURCE,
        source_id=f"ma:{departement}:{hazard.value}",
        version=max(m.sent for m in live).isoformat(),
        hazard=hazard,
        level=level,
        departements=(departement,),
        onset=min(m.onset for m in at_top),
        expires=None if any(e is None for e in ends) else max(e for e in ends if e is not None),
        headline=f"Vigilance {level.value} {hazard.label} : {departement_name(departement)}",
    )


# --- entry points -------------------------------------------------------------------------


def _feed_messages(feed: Element) -> Iterator[_Message]:
    for n, entry in enumerate(feed.iterfind(f"{{{ATOM}}}entry")):
        message = _entry_message(entry, f"entry[{n}]")
        if message is not None:
            yield message


_FEED = f"{{{ATOM}}}feed"
_ALERT = f"{{{CAP}}}alert"
FEED_DOCUMENT = "flux Atom MeteoAlarm"
CAP_DOCUMENT = "message CAP MeteoAlarm"
#: WMO OIDs of CAP identifiers: 2.49.0.<0 or 1>.<ISO 3166-1 numeric>…; 250 is France.
_CAP_COUNTRIES = {"250": "FR"}


def _feed_reading(feed: Element, now: datetime) -> Reading:
    feed_id = _text(feed, f"{{{ATOM}}}id") or ""
    country = feed_id.rpartition(":")[2].strip().upper() if ":" in feed_id else ""
    updated = _text(feed, f"{{{ATOM}}}updated")
    produced = None if updated is None else _time(updated, "feed.updated")
    french = country == "FR"
    return Reading(
        source=SOURCE,
        alerts=tuple(_resolve(_feed_messages(feed), now)) if french else (),
        document=FEED_DOCUMENT,
        country=country or None,
        national=True,
        coverage=f"flux du pays {country or 'inconnu'}",
        produced_at=produced,
    )


def _cap_reading(alert: Element, now: datetime) -> Reading:
    identifier = _text(alert, f"{{{CAP}}}identifier") or ""
    parts = identifier.split(".")
    country = (
        _CAP_COUNTRIES.get(parts[4]) if parts[:3] == ["2", "49", "0"] and len(parts) > 4 else None
    )
    sent = _text(alert, f"{{{CAP}}}sent")
    return Reading(
        source=SOURCE,
        alerts=tuple(_resolve(_cap_messages(alert), now)) if country == "FR" else (),
        document=CAP_DOCUMENT,
        country=country,
        national=False,
        coverage="un avertissement isolé",
        produced_at=None if sent is None else _time(sent, "alert.sent"),
    )


#: The root elements understood, what each is called in an error, and how it is read.
_ROOTS: dict[str, tuple[str, Callable[[Element, datetime], Reading]]] = {
    _FEED: ("an Atom feed", _feed_reading),
    _ALERT: ("a CAP 1.2 alert", _cap_reading),
}


def _read_root(document: bytes, now: datetime, *roots: str) -> Reading:
    """What ``document`` says, whose root element must be one of ``roots``."""
    now = aware_utc(now)
    root = _parse_xml(document)
    if root.tag not in roots:
        expected = " or ".join(_ROOTS[tag][0] for tag in roots)
        raise _error(f"expected {expected}, got <{root.tag}>")
    return _ROOTS[root.tag][1](root, now)


def parse_meteoalarm_feed(document: bytes, *, now: datetime) -> list[Alert]:
    """Alerts of MeteoAlarm's Atom feed (an empty feed is valid: no alert)."""
    return list(_read_root(document, now, _FEED).alerts)


def parse_cap_alert(document: bytes, *, now: datetime) -> list[Alert]:
    """Alerts of one CAP 1.2 message (what a feed entry links to)."""
    return list(_read_root(document, now, _ALERT).alerts)


def parse_meteoalarm(document: bytes, *, now: datetime) -> list[Alert]:
    """An Atom feed or a CAP 1.2 message, told apart by the root element."""
    return list(read_meteoalarm(document, now=now).alerts)


def read_meteoalarm(document: bytes, *, now: datetime, status: int | None = None) -> Reading:
    """What :func:`parse_meteoalarm` reads, with what the document is."""
    reading = _read_root(document, now, _FEED, _ALERT)
    return reading if status is None else replace(reading, status=status)


class MeteoAlarmSource(DocumentSource):
    """The MeteoAlarm source: ``fetch(now)`` reads the feed at ``url`` and parses it."""

    name = SOURCE
    accept = "application/atom+xml, application/cap+xml, application/xml"

    def reading(self, fetched: Fetched, *, now: datetime) -> Reading:
        return read_meteoalarm(fetched.body, now=now, status=fetched.status)
