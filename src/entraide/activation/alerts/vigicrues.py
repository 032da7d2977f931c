"""Vigicrues: the national flood-vigilance synthesis per département (JSON-LD).

The service (SCHAPI, Licence Ouverte) answers ``InfoVigiCru.jsonld?TypEntVigiCru=4``
with one ``vic:InfoVigiCru`` whose ``vic:estLaSyntheseDe`` lists, for each département
it covers, a level ``vic:NivInfoVigiCru`` "1" vert … "4" rouge and the entity
``vic:porteSurLEntite`` (``vic:TypEntVigiCru`` "4" = département, its code in
``com:CdDepartement`` / ``vic:CdEntVigiCru``).

One :class:`Alert` (hazard crues) per département at jaune or above: ``source_id``
``vc:<département>``, ``version`` and ``onset`` the bulletin's time
``vic:DtHrInfoVigiCru``, no expiry (a vigilance lasts until a later bulletin lowers it;
``vic:DtHrSuivInfoVigiCru`` is only when the next bulletin is due).

A document that is not such a synthesis (a territory bulletin, entities other than
départements, an unknown level or code) raises :class:`SourceError`; a synthesis whose
list is empty is valid and gives no alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from entraide.activation.alerts.http import (
    DocumentSource,
    JsonShape,
    aware_utc,
    load_json,
    parse_time,
)
from entraide.activation.alerts.model import Alert
from entraide.kernel.departements import DEPARTEMENTS, departement_name
from entraide.kernel.model import AlertLevel, Hazard

SOURCE = "vigicrues"

LEVELS: Mapping[int, AlertLevel | None] = MappingProxyType(
    {1: None, 2: AlertLevel.JAUNE, 3: AlertLevel.ORANGE, 4: AlertLevel.ROUGE}
)
ENTITY_DEPARTEMENT = "4"  # vic:TypEntVigiCru of a département

_shape = JsonShape(SOURCE)
_error, _obj, _key = _shape.error, _shape.obj, _shape.key


def _level(value: Any, where: str) -> AlertLevel | None:
    text = str(value).strip() if isinstance(value, str | int) else ""
    if isinstance(value, bool) or not text.isdigit() or int(text) not in LEVELS:
        raise _error(f"{where}: unknown flood level {value!r}")
    return LEVELS[int(text)]


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


def parse_vigicrues(document: bytes, *, now: datetime) -> list[Alert]:
    """Crues alerts of the national synthesis per département.

    ``now`` is not needed to read a synthesis (it has no end); it is taken for the
    same signature as the other adapters and checked.
    """
    aware_utc(now)
    data = _obj(load_json(document, source=SOURCE), "document")
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
    alerts: dict[str, Alert] = {}
    for n, raw in enumerate(synthesis):
        where = f"vic:estLaSyntheseDe[{n}]"
        entry = _obj(raw, where)
        level = _level(_key(entry, "vic:NivInfoVigiCru", where), f"{where}.vic:NivInfoVigiCru")
        entity = _obj(_key(entry, "vic:porteSurLEntite", where), f"{where}.vic:porteSurLEntite")
        code = _departement(entity, f"{where}.vic:porteSurLEntite")
        if code in seen:
            raise _error(f"{where}: département {code} listed twice")
        seen.add(code)
        if level is None:
            continue
        alerts[code] = Alert(
            source=SOURCE,
            source_id=f"vc:{code}",
            version=issued.isoformat(),
            hazard=Hazard.CRUES,
            level=level,
            departements=(code,),
            onset=issued,
            expires=None,
            headline=f"Vigilance {level.value} crues : {departement_name(code)}",
        )
    return [alerts[code] for code in sorted(alerts)]


class VigicruesSource(DocumentSource):
    """The Vigicrues source: ``fetch(now)`` reads ``url`` and parses the synthesis."""

    name = SOURCE
    accept = "application/ld+json, application/json"

    def parse(self, document: bytes, *, now: datetime) -> list[Alert]:
        return parse_vigicrues(document, now=now)
