"""Météo-France vigilance: the open-data map of the day and the next (``CDP_CARTE_EXTERNE``).

The map comes from Météo-France's API portal (product "Données Vigilance",
``…/DPVigilance/v1/cartevigilance/encours``, an ``apikey`` header). Its structure, as
published (no real file could be found; see ``tests/fixtures/alerts/SOURCES.md``)::

    {"product": {"update_time": "2024-10-16T14:05:00Z",
                 "periods": [{"echeance": "J" | "J1",
                              "begin_validity_time": "…Z", "end_validity_time": "…Z",
                              "timelaps": {"domain_ids": [
                                  {"domain_id": "11", "max_color_id": 3,
                                   "phenomenon_items": [
                                       {"phenomenon_id": "2", "phenomenon_max_color_id": 3,
                                        "timelaps_items": [{"begin_time": "…Z",
                                                            "end_time": "…Z",
                                                            "color_id": 3}]}]}]}}]}}

Code tables (those of the pre-2020 vigilance XML, still used): phenomena 1 vent violent,
2 pluie-inondation, 3 orages, 4 crues, 5 neige-verglas, 6 canicule, 7 grand froid,
8 avalanches, 9 vagues-submersion; colours 1 vert, 2 jaune, 3 orange, 4 rouge.
Canicule and grand froid are not served by the platform: skipped.

A domain is a département ("11", "2A", "974") or its coast: the département followed by
"10" ("3410", vagues-submersion on the coast of Hérault). Every real map also carries
the national roll-up ``FRA`` (the highest colour of each phenomenon over France, see
``tests/fixtures/alerts/SOURCES.md``): it names no département and is skipped, but the
map's coverage is judged from it and from the départements listed. "99" (Andorre, on
the map of the pre-2020 files) is skipped. Any other domain, phenomenon or colour is
unexpected and raises :class:`SourceError`.

A map is *national* when its product is ``FRA`` and each period lists the 96
départements of metropolitan France (the real maps list them all, with a few coasts);
a map trimmed to some domains, or the mobile service's answer for one domain, is read
but is not a national reading (:mod:`~entraide.activation.alerts.promise` refuses it).

One :class:`Alert` per (domain, phenomenon) still at jaune or above after ``now``, over
both periods: its level is the highest colour still to come or current; its onset and
expiry are the first start and the last end of the time slices at that colour.
``source_id`` is ``mf:<domain>:<phenomenon>`` (stable across updates), ``version`` the
map's update time.

:func:`parse_mobile_warning` reads a second, unofficial format: the mobile app's web
service (``warning/full`` for one domain, epoch times, time slices without an end).
:func:`parse_meteofrance` accepts either.

Why one module: the map and the mobile answer are one vocabulary (domains, phenomena,
colours, time slices) read two ways; split, each half would import the other's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from entraide.activation.alerts.document import (
    DocumentSource,
    JsonShape,
    aware_utc,
    load_json,
    parse_time,
)
from entraide.activation.alerts.http import Fetched, SharedSession
from entraide.activation.alerts.model import Alert, Reading
from entraide.kernel.departements import DEPARTEMENTS, departement_name
from entraide.kernel.model import AlertLevel, Hazard

if TYPE_CHECKING:  # imported on the first read (see http.SharedSession)
    import requests

    from entraide.activation.alerts.promise import Promise

SOURCE = "meteofrance"

PHENOMENA: Mapping[int, Hazard | None] = MappingProxyType(
    {
        1: Hazard.VENT_VIOLENT,
        2: Hazard.PLUIE_INONDATION,
        3: Hazard.ORAGES,
        4: Hazard.CRUES,
        5: Hazard.NEIGE_VERGLAS,
        6: None,  # canicule: not served
        7: None,  # grand froid: not served
        8: Hazard.AVALANCHES,
        9: Hazard.VAGUES_SUBMERSION,
    }
)

COLOURS: Mapping[int, AlertLevel | None] = MappingProxyType(
    {1: None, 2: AlertLevel.JAUNE, 3: AlertLevel.ORANGE, 4: AlertLevel.ROUGE}
)

# Domains on the map that are not French départements.
NATIONAL_DOMAIN = "FRA"  # the roll-up of the whole map
IGNORED_DOMAINS = frozenset({"99", NATIONAL_DOMAIN})  # Andorre, the roll-up
# What a national map covers: the départements of metropolitan France (overseas ones have
# their own vigilance), 01 to 95 with 2A and 2B.
METROPOLE = frozenset(code for code in DEPARTEMENTS if len(code) == 2)
MAP_DOCUMENT = "carte de vigilance Météo-France"
MOBILE_DOCUMENT = "vigilance Météo-France d'un domaine (service mobile)"

COASTAL_SUFFIX = "10"


@dataclass(frozen=True, slots=True)
class _Slice:
    begin: datetime
    end: datetime
    colour: int


# --- small typed accessors: every miss names where it was ------------------------------

_shape = JsonShape(SOURCE)
_error, _obj, _list, _key = _shape.error, _shape.obj, _shape.array, _shape.key


def _code(value: Any, where: str) -> int:
    """A code given as a number (2) or as digits ("2")."""
    if isinstance(value, bool):
        raise _error(f"{where}: not a code: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise _error(f"{where}: not a code: {value!r}")


def _time(value: Any, where: str) -> datetime:
    return parse_time(value, source=SOURCE, field=where)


# --- domains, phenomena, colours ------------------------------------------------------


def domain_departement(domain_id: str) -> tuple[str, bool] | None:
    """("11", False) for "11", ("34", True) for the coast "3410", None for Andorre.

    Raises :class:`SourceError` for anything else.
    """
    code = domain_id.strip().upper()
    if code in DEPARTEMENTS:
        return code, False
    if code.endswith(COASTAL_SUFFIX) and code[: -len(COASTAL_SUFFIX)] in DEPARTEMENTS:
        return code[: -len(COASTAL_SUFFIX)], True
    if code in IGNORED_DOMAINS:
        return None
    raise _error(f"unknown vigilance domain {domain_id!r}")


def _hazard(phenomenon: int, where: str) -> Hazard | None:
    if phenomenon not in PHENOMENA:
        raise _error(f"{where}: unknown phenomenon {phenomenon}")
    return PHENOMENA[phenomenon]


def _check_colour(colour: int, where: str) -> int:
    if colour not in COLOURS:
        raise _error(f"{where}: unknown colour {colour}")
    return colour


def _alert(
    *,
    domain_id: str,
    departement: str,
    coastal: bool,
    phenomenon: int,
    hazard: Hazard,
    slices: list[_Slice],
    version: datetime,
    now: datetime,
) -> Alert | None:
    """The alert that ``slices`` still make after ``now``, or None (vert, or over)."""
    live = [s for s in slices if s.colour >= 2 and s.end > now]
    if not live:
        return None
    top = max(s.colour for s in live)
    level = COLOURS[top]
    assert level is not None  # colours 2, 3, 4
    at_top = [s for s in live if s.colour == top]
    place = departement_name(departement) + (" (littoral)" if coastal else "")
    return Alert(
        source=SOURCE,
        source_id=f"mf:{domain_id}:{phenomenon}",
        version=version.isoformat(),
        hazard=hazard,
        level=level,
        departements=(departement,),
        onset=min(s.begin for s in at_top),
        expires=max(s.end for s in at_top),
        headline=f"Vigilance {level.value} {hazard.label} : {place}",
    )


def _document(document: bytes) -> Mapping[str, Any]:
    """The JSON object a document must be, whichever of the two formats it is."""
    return _obj(load_json(document, source=SOURCE), "document")


def _sorted_alerts(alerts: list[Alert]) -> list[Alert]:
    return sorted(alerts, key=lambda a: (a.departements, a.hazard.value, a.source_id))


# --- the open-data map (CDP_CARTE_EXTERNE) --------------------------------------------


def parse_vigilance_map(document: bytes, *, now: datetime) -> list[Alert]:
    """Alerts of the open-data vigilance map ``CDP_CARTE_EXTERNE`` (JSON)."""
    return list(_parse_map(_document(document), aware_utc(now)).alerts)


def _parse_map(data: Mapping[str, Any], now: datetime) -> Reading:
    product = _obj(_key(data, "product", "document"), "product")
    update_time = _time(_key(product, "update_time", "product"), "product.update_time")
    periods = _list(_key(product, "periods", "product"), "product.periods")
    if not periods:
        raise _error("product.periods: no period in the map")
    product_domain = product.get("domain_id")
    valid_until: datetime | None = None
    missing: set[str] = set()
    roll_up = True

    # (domain, phenomenon) -> slices over both periods
    slices: dict[tuple[str, int], list[_Slice]] = {}
    places: dict[str, tuple[str, bool]] = {}
    for p, raw_period in enumerate(periods):
        where = f"product.periods[{p}]"
        period = _obj(raw_period, where)
        echeance = _key(period, "echeance", where)
        if not isinstance(echeance, str):
            raise _error(f"{where}.echeance: not a string: {echeance!r}")
        begin = _time(_key(period, "begin_validity_time", where), f"{where}.begin_validity_time")
        end = _time(_key(period, "end_validity_time", where), f"{where}.end_validity_time")
        valid_until = end if valid_until is None else max(valid_until, end)
        timelaps = _obj(_key(period, "timelaps", where), f"{where}.timelaps")
        domains = _list(_key(timelaps, "domain_ids", f"{where}.timelaps"), f"{where}.domain_ids")
        listed = {
            str(domain.get("domain_id", "")).strip().upper()
            for domain in domains
            if isinstance(domain, dict)
        }
        missing |= METROPOLE - listed
        roll_up = roll_up and NATIONAL_DOMAIN in listed
        for d, raw_domain in enumerate(domains):
            dwhere = f"{where}.domain_ids[{d}]"
            domain = _obj(raw_domain, dwhere)
            domain_id = _key(domain, "domain_id", dwhere)
            if not isinstance(domain_id, str):
                raise _error(f"{dwhere}.domain_id: not a string: {domain_id!r}")
            place = domain_departement(domain_id)
            items = _list(_key(domain, "phenomenon_items", dwhere), f"{dwhere}.phenomenon_items")
            if place is None:
                continue
            domain_id = domain_id.strip().upper()
            places[domain_id] = place
            for i, raw_item in enumerate(items):
                iwhere = f"{dwhere}.phenomenon_items[{i}]"
                item = _obj(raw_item, iwhere)
                phenomenon = _code(_key(item, "phenomenon_id", iwhere), f"{iwhere}.phenomenon_id")
                if _hazard(phenomenon, iwhere) is None:
                    continue
                found = _item_slices(item, iwhere, begin, end)
                slices.setdefault((domain_id, phenomenon), []).extend(found)

    alerts: list[Alert] = []
    for (domain_id, phenomenon), found in slices.items():
        hazard = PHENOMENA[phenomenon]
        assert hazard is not None
        departement, coastal = places[domain_id]
        alert = _alert(
            domain_id=domain_id,
            departement=departement,
            coastal=coastal,
            phenomenon=phenomenon,
            hazard=hazard,
            slices=found,
            version=update_time,
            now=now,
        )
        if alert is not None:
            alerts.append(alert)
    national = product_domain == NATIONAL_DOMAIN and roll_up and not missing
    if national:
        coverage = f"{len(METROPOLE)} départements métropolitains sur {len(METROPOLE)}"
    else:
        coverage = (
            f"{len(METROPOLE) - len(missing)} départements métropolitains sur {len(METROPOLE)}"
            + (f", produit {product_domain!r}" if product_domain != NATIONAL_DOMAIN else "")
            + ("" if roll_up else ", sans la synthèse nationale FRA")
        )
    return Reading(
        source=SOURCE,
        alerts=tuple(_sorted_alerts(alerts)),
        document=MAP_DOCUMENT,
        country="FR",
        national=national,
        coverage=coverage,
        produced_at=update_time,
        valid_until=valid_until,
    )


def _item_slices(
    item: Mapping[str, Any], where: str, period_begin: datetime, period_end: datetime
) -> list[_Slice]:
    """The time slices of one phenomenon in one period.

    Without ``timelaps_items``, the phenomenon's maximum colour over the whole period.
    A slice without ``end_time`` ends where the next begins (or with the period).
    """
    raw_items = item.get("timelaps_items")
    if raw_items is None or raw_items == []:
        colour = _check_colour(
            _code(_key(item, "phenomenon_max_color_id", where), f"{where}.phenomenon_max_color_id"),
            where,
        )
        return [_Slice(period_begin, period_end, colour)]
    entries = _list(raw_items, f"{where}.timelaps_items")
    return _close_slices(_starts(entries, where), period_end, where)


def _starts(entries: list[Any], where: str) -> list[tuple[datetime, datetime | None, int]]:
    """Each entry of ``timelaps_items`` (both formats): its begin, its end if given, its
    colour."""
    starts: list[tuple[datetime, datetime | None, int]] = []
    for t, raw in enumerate(entries):
        twhere = f"{where}.timelaps_items[{t}]"
        entry = _obj(raw, twhere)
        begin = _time(_key(entry, "begin_time", twhere), f"{twhere}.begin_time")
        raw_end = entry.get("end_time")
        end = None if raw_end is None else _time(raw_end, f"{twhere}.end_time")
        colour = _check_colour(_code(_key(entry, "color_id", twhere), f"{twhere}.color_id"), twhere)
        starts.append((begin, end, colour))
    return starts


def _close_slices(
    starts: list[tuple[datetime, datetime | None, int]], last_end: datetime, where: str
) -> list[_Slice]:
    ordered = sorted(starts, key=lambda s: s[0])
    result: list[_Slice] = []
    for n, (begin, end, colour) in enumerate(ordered):
        if end is None:
            end = ordered[n + 1][0] if n + 1 < len(ordered) else last_end
        if end < begin:
            raise _error(f"{where}: a time slice ends before it begins ({begin} > {end})")
        result.append(_Slice(begin, end, colour))
    return result


# --- the mobile app's web service (warning/full) --------------------------------------


def parse_mobile_warning(document: bytes, *, now: datetime) -> list[Alert]:
    """Alerts of one domain from the mobile app's ``warning/full`` answer (JSON).

    ``{"update_time": epoch, "end_validity_time": epoch, "domain_id": "1310",
    "timelaps": [{"phenomenon_id": 9, "timelaps_items": [{"begin_time": epoch,
    "color_id": 2}, …]}], …}``: a slice lasts until the next one, the last one until
    ``end_validity_time``.
    """
    return list(_parse_mobile(_document(document), aware_utc(now)).alerts)


def _parse_mobile(data: Mapping[str, Any], now: datetime) -> Reading:
    update_time = _time(_key(data, "update_time", "document"), "update_time")
    end_validity = _time(_key(data, "end_validity_time", "document"), "end_validity_time")
    domain_id = _key(data, "domain_id", "document")
    if not isinstance(domain_id, str):
        raise _error(f"domain_id: not a string: {domain_id!r}")
    place = domain_departement(domain_id)
    timelaps = _list(_key(data, "timelaps", "document"), "timelaps")
    reading = Reading(
        source=SOURCE,
        alerts=(),
        document=MOBILE_DOCUMENT,
        country="FR",
        national=False,
        coverage=f"un seul domaine : {domain_id}",
        produced_at=update_time,
        valid_until=end_validity,
    )
    if place is None:
        return reading
    domain_id = domain_id.strip().upper()
    departement, coastal = place
    alerts: list[Alert] = []
    for i, raw in enumerate(timelaps):
        where = f"timelaps[{i}]"
        item = _obj(raw, where)
        phenomenon = _code(_key(item, "phenomenon_id", where), f"{where}.phenomenon_id")
        hazard = _hazard(phenomenon, where)
        entries = _list(_key(item, "timelaps_items", where), f"{where}.timelaps_items")
        if hazard is None:
            continue
        starts = _starts(entries, where)
        alert = _alert(
            domain_id=domain_id,
            departement=departement,
            coastal=coastal,
            phenomenon=phenomenon,
            hazard=hazard,
            slices=_close_slices(starts, end_validity, where),
            version=update_time,
            now=now,
        )
        if alert is not None:
            alerts.append(alert)
    return replace(reading, alerts=tuple(_sorted_alerts(alerts)))


# --- either format, and the source -----------------------------------------------------


def parse_meteofrance(document: bytes, *, now: datetime) -> list[Alert]:
    """The open-data map (``{"product": …}``) or a mobile ``warning/full`` answer."""
    return list(read_meteofrance(document, now=now).alerts)


def read_meteofrance(document: bytes, *, now: datetime, status: int | None = None) -> Reading:
    """What :func:`parse_meteofrance` reads, with what the document is (its coverage…)."""
    now = aware_utc(now)
    data = _document(document)
    if "product" in data:
        return replace(_parse_map(data, now), status=status)
    if "timelaps" in data and "domain_id" in data:
        return replace(_parse_mobile(data, now), status=status)
    message = data.get("message") or data.get("description") or data.get("fault")
    detail = f" ({message})" if message else ""
    raise _error(f"unexpected document: neither a vigilance map nor a warning{detail}")


class MeteoFranceVigilance(DocumentSource):
    """The Météo-France vigilance source: ``fetch(now)`` reads ``url`` and parses it."""

    name = SOURCE
    accept = "application/json"

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        session: requests.Session | SharedSession | None = None,
        timeout: float = 10.0,
        promise: Promise | None = None,
    ) -> None:
        super().__init__(url, session=session, timeout=timeout, promise=promise)
        self._api_key = api_key

    def headers(self) -> dict[str, str]:
        headers = super().headers()
        if self._api_key:
            headers["apikey"] = self._api_key  # the portal's key (never in repr or logs)
        return headers

    def reading(self, fetched: Fetched, *, now: datetime) -> Reading:
        return read_meteofrance(fetched.body, now=now, status=fetched.status)
