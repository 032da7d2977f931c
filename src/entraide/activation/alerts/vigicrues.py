"""Vigicrues: the flood-vigilance level of every river section, from the current service.

**The service** (SCHAPI, Licence Ouverte). What public projects read in 2026 (see
``tests/fixtures/alerts/SOURCES.md``, "Vigicrues"): ``InfoVigiCru.geojson`` under
``https://www.vigicrues.gouv.fr/services/1/`` (also reached without ``/1``), a GeoJSON
``FeatureCollection`` of about 340 river sections (337 counted on 2026-09-23, 2.2 MB).
The ``.jsonld`` services (``InfoVigiCru.jsonld?TypEntVigiCru=4``, the synthesis per
département this adapter used to read) are reported to answer 404 in 2026, and no public
code reads that URL; :data:`DEFAULT_URL` is the GeoJSON.

Each feature is a section (``properties``: ``CdEntCru`` its code, ``lbentcru`` its name,
``NivInfViCr`` its level 1 vert … 4 rouge, ``CdTCC`` its territory) with its geometry
(``LineString`` or ``MultiLineString``, WGS84 longitude/latitude). The document names no
département: the départements of a section come from its geometry and the project's own
geographic data (:class:`~entraide.kernel.locator.DepartementLocator`, offline): the
départements of the points along it, kept when two points or more fall in them (a single
point near a boundary may land in the neighbour). A section outside France is noted and
skipped.

One :class:`Alert` (hazard crues) per section at jaune or above: ``source_id``
``vc:<CdEntCru>``, no expiry (a level lasts until a later bulletin lowers it). The
GeoJSON carries no production time (``dhcentcru``/``dhmentcru`` date the section, not
the bulletin): the answer's ``Last-Modified``, when the server gives one, stands for it;
without it the reading's freshness cannot be judged, and ``version`` is the level.

The document covers the whole network when it has at least :data:`MIN_SECTIONS`
sections (a territory's answer has a few dozen); fewer is a partial reading.

The legacy JSON-LD synthesis per département (``vic:InfoVigiCru`` whose
``vic:estLaSyntheseDe`` lists a level per département) is still read, for recorded
documents: one alert ``vc:<département>`` per département at jaune or above, produced at
``vic:DtHrInfoVigiCru``; a territory bulletin (no such list, or entities other than
départements) raises :class:`SourceError`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from types import MappingProxyType
from typing import Any

from entraide.activation.alerts.document import (
    DocumentSource,
    JsonShape,
    aware_utc,
    load_json,
    parse_time,
)
from entraide.activation.alerts.http import Fetched
from entraide.activation.alerts.model import Alert, Reading
from entraide.kernel.departements import DEPARTEMENTS, departement_name
from entraide.kernel.locator import DepartementLocator
from entraide.kernel.model import AlertLevel, Hazard

SOURCE = "vigicrues"
DEFAULT_URL = "https://www.vigicrues.gouv.fr/services/1/InfoVigiCru.geojson"
SECTIONS_DOCUMENT = "GeoJSON Vigicrues des tronçons"
SYNTHESIS_DOCUMENT = "synthèse Vigicrues par département (JSON-LD)"
# The whole network has about 340 sections; a territory has at most a few dozen.
MIN_SECTIONS = 200
# The legacy synthesis listed 92 départements (no 2A, 92-94 nor overseas).
MIN_SYNTHESIS_DEPARTEMENTS = 80

LEVELS: Mapping[int, AlertLevel | None] = MappingProxyType(
    {1: None, 2: AlertLevel.JAUNE, 3: AlertLevel.ORANGE, 4: AlertLevel.ROUGE}
)
ENTITY_DEPARTEMENT = "4"  # vic:TypEntVigiCru of a département
_LINES = {"LineString": 1, "MultiLineString": 2}  # nesting depth of their coordinates

_shape = JsonShape(SOURCE)
_error, _obj, _key, _list = _shape.error, _shape.obj, _shape.key, _shape.array


def _level(value: Any, where: str) -> AlertLevel | None:
    text = str(value).strip() if isinstance(value, str | int) else ""
    if isinstance(value, bool) or not text.isdigit() or int(text) not in LEVELS:
        raise _error(f"{where}: unknown flood level {value!r}")
    return LEVELS[int(text)]


def _alert(
    source_id: str,
    level: AlertLevel,
    departements: tuple[str, ...],
    *,
    version: str,
    onset: datetime,
    place: str,
) -> Alert:
    return Alert(
        source=SOURCE,
        source_id=source_id,
        version=version,
        hazard=Hazard.CRUES,
        level=level,
        departements=departements,
        onset=onset,
        expires=None,
        headline=f"Vigilance {level.value} crues : {place}",
    )


# --- the GeoJSON of river sections ------------------------------------------------------


def _lines(geometry: Mapping[str, Any], where: str) -> list[list[tuple[float, float]]]:
    """The lines of a section, as (lat, lon) points."""
    kind = _key(geometry, "type", where)
    if kind not in _LINES:
        raise _error(f"{where}.type: expected a LineString or MultiLineString, got {kind!r}")
    coordinates = _list(_key(geometry, "coordinates", where), f"{where}.coordinates")
    raw_lines = coordinates if _LINES[kind] == 2 else [coordinates]
    lines: list[list[tuple[float, float]]] = []
    for n, raw_line in enumerate(raw_lines):
        line: list[tuple[float, float]] = []
        for point in _list(raw_line, f"{where}.coordinates[{n}]"):
            if (
                not isinstance(point, list)
                or len(point) < 2
                or not all(
                    isinstance(v, int | float) and not isinstance(v, bool) for v in point[:2]
                )
            ):
                raise _error(f"{where}.coordinates[{n}]: not a point: {point!r}")
            lon, lat = float(point[0]), float(point[1])
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise _error(f"{where}.coordinates[{n}]: out of range: {point!r}")
            line.append((lat, lon))
        lines.append(line)
    return lines


def section_departements(
    lines: Sequence[Sequence[tuple[float, float]]], locator: DepartementLocator
) -> tuple[str, ...]:
    """The départements a section crosses, most points first (see the module's docstring)."""
    counts: Counter[str] = Counter()
    for line in lines:
        counts.update(locator.along(line))
    kept = [code for code, count in counts.most_common() if count >= 2]
    if not kept and counts:
        kept = [counts.most_common(1)[0][0]]
    return tuple(kept)


def _read_sections(
    data: Mapping[str, Any], now: datetime, produced: datetime | None, locator: DepartementLocator
) -> Reading:
    features = _list(_key(data, "features", "document"), "features")
    seen: set[str] = set()
    alerts: list[Alert] = []
    notes: list[str] = []
    covered: set[str] = set()
    for n, raw in enumerate(features):
        where = f"features[{n}]"
        feature = _obj(raw, where)
        properties = _obj(_key(feature, "properties", where), f"{where}.properties")
        code = _key(properties, "CdEntCru", f"{where}.properties")
        if not isinstance(code, str) or not code.strip():
            raise _error(f"{where}.properties.CdEntCru: not a section code: {code!r}")
        code = code.strip()
        if code in seen:
            raise _error(f"{where}: section {code} listed twice")
        seen.add(code)
        level = _level(_key(properties, "NivInfViCr", f"{where}.properties"), f"{where}.NivInfViCr")
        lines = _lines(
            _obj(_key(feature, "geometry", where), f"{where}.geometry"), f"{where}.geometry"
        )
        departements = section_departements(lines, locator)
        name = str(properties.get("lbentcru") or code).strip()
        if not departements:
            notes.append(f"Tronçon {code} ({name}) hors de France : ignoré.")
            continue
        covered.update(departements)
        if level is None:
            continue
        places = ", ".join(departement_name(d) for d in departements)
        alerts.append(
            _alert(
                f"vc:{code}",
                level,
                departements,
                version=produced.isoformat() if produced is not None else f"niveau {level.value}",
                onset=produced if produced is not None else now,
                place=f"{name} ({places})",
            )
        )
    return Reading(
        source=SOURCE,
        alerts=tuple(sorted(alerts, key=lambda a: (a.departements, a.source_id))),
        document=SECTIONS_DOCUMENT,
        country="FR",
        national=len(seen) >= MIN_SECTIONS,
        coverage=(
            f"{len(seen)} tronçons (le réseau entier en a environ 340), {len(covered)} départements"
        ),
        produced_at=produced,
        notes=tuple(notes),
    )


# --- the legacy synthesis per département (JSON-LD) -------------------------------------


def _departement(entity: Mapping[str, Any], where: str) -> str:
    kind = str(_key(entity, "vic:TypEntVigiCru", where)).strip()
    if kind != ENTITY_DEPARTEMENT:
        raise _error(f"{where}: entity of type {kind!r}, expected a département (4)")
    raw = entity.get("com:CdDepartement") or entity.get("vic:CdEntVigiCru")
    if not isinstance(raw, str):
        raise _error(f"{where}: no département code")
    code = raw.strip().upper()
    if len(code) == 1 and code.isdigit():
        code = "0" + code
    if code not in DEPARTEMENTS:
        raise _error(f"{where}: unknown département {raw!r}")
    return code


def _read_synthesis(data: Mapping[str, Any]) -> Reading:
    info = _obj(_key(data, "vic:InfoVigiCru", "document"), "vic:InfoVigiCru")
    issued = parse_time(
        _key(info, "vic:DtHrInfoVigiCru", "vic:InfoVigiCru"),
        source=SOURCE,
        field="vic:DtHrInfoVigiCru",
    )
    if "vic:estLaSyntheseDe" not in info:
        raise _error("vic:InfoVigiCru: no vic:estLaSyntheseDe, not a national synthesis")
    synthesis = info["vic:estLaSyntheseDe"]
    if not isinstance(synthesis, list):
        raise _error("vic:estLaSyntheseDe: expected a list")

    seen: set[str] = set()
    alerts: list[Alert] = []
    for n, raw in enumerate(synthesis):
        where = f"vic:estLaSyntheseDe[{n}]"
        entry = _obj(raw, where)
        level = _level(_key(entry, "vic:NivInfoVigiCru", where), f"{where}.vic:NivInfoVigiCru")
        entity = _obj(_key(entry, "vic:porteSurLEntite", where), f"{where}.vic:porteSurLEntite")
        code = _departement(entity, f"{where}.vic:porteSurLEntite")
        if code in seen:
            raise _error(f"{where}: département {code} listed twice")
        seen.add(code)
        if level is not None:
            alerts.append(
                _alert(
                    f"vc:{code}",
                    level,
                    (code,),
                    version=issued.isoformat(),
                    onset=issued,
                    place=departement_name(code),
                )
            )
    return Reading(
        source=SOURCE,
        alerts=tuple(sorted(alerts, key=lambda a: a.departements)),
        document=SYNTHESIS_DOCUMENT,
        country="FR",
        national=len(seen) >= MIN_SYNTHESIS_DEPARTEMENTS,
        coverage=f"{len(seen)} départements",
        produced_at=issued,
    )


# --- entry points -----------------------------------------------------------------------


def read_vigicrues(
    document: bytes,
    *,
    now: datetime,
    status: int | None = None,
    last_modified: datetime | None = None,
    locator: DepartementLocator | None = None,
) -> Reading:
    """What a Vigicrues document says: the GeoJSON of sections or the legacy synthesis."""
    now = aware_utc(now)
    data = _obj(load_json(document, source=SOURCE), "document")
    if data.get("type") == "FeatureCollection":
        reading = _read_sections(
            data,
            now,
            last_modified,
            locator if locator is not None else DepartementLocator.default(),
        )
    elif "vic:InfoVigiCru" in data:
        reading = _read_synthesis(data)
    else:
        raise _error(
            "unexpected document: neither the GeoJSON of river sections (FeatureCollection) "
            "nor a vic:InfoVigiCru synthesis"
        )
    return reading if status is None else replace(reading, status=status)


def parse_vigicrues(document: bytes, *, now: datetime) -> list[Alert]:
    """The crues alerts of a Vigicrues document (whatever its coverage)."""
    return list(read_vigicrues(document, now=now).alerts)


class VigicruesSource(DocumentSource):
    """The Vigicrues source: ``read(now)`` fetches ``url`` and reads it."""

    name = SOURCE
    accept = "application/geo+json, application/json, application/ld+json"

    def reading(self, fetched: Fetched, *, now: datetime) -> Reading:
        return read_vigicrues(
            fetched.body, now=now, status=fetched.status, last_modified=fetched.last_modified
        )
