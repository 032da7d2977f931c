"""How the alert feeds change the activations: :func:`plan`, pure and clock-injected.

The rules it applies are written out at the top of :mod:`entraide.activation.rules`; the
decisions it returns are the values defined there. No I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from entraide.activation.activations import derive_hashtag
from entraide.activation.alerts.model import Alert, SourceError
from entraide.activation.rules import (
    ActivationRules,
    AlertRecord,
    CloseActivation,
    ExtendActivation,
    OpenActivation,
    Plan,
    RefreshAlerts,
    TrackedActivation,
    in_force,
    level_rank,
    max_level,
    qualifies,
    unique_codes,
)
from entraide.kernel.model import Activation, AlertLevel, Hazard, HazardFamily
from entraide.kernel.times import format_datetime_fr


@dataclass(eq=False)
class _Work:
    """A feed activation being planned: an open one, or one this run opens."""

    hazard: Hazard
    departements: list[str]
    level: AlertLevel
    records: list[AlertRecord]
    origin: str
    tracked: TrackedActivation | None = None  # None: opened by this plan

    @property
    def family(self) -> HazardFamily:
        return self.hazard.family

    def hazard_of(self, record: AlertRecord) -> Hazard:
        return record.hazard or self.hazard

    def window(self) -> tuple[datetime, datetime | None] | None:
        """[earliest onset, latest end] of its alerts; end None when one has no end."""
        if not self.records:
            return None
        start = min(record.onset for record in self.records)
        ends = [record.end for record in self.records]
        end = (
            None
            if any(moment is None for moment in ends)
            else max(e for e in ends if e is not None)
        )
        return start, end


def _gap(alert: Alert, window: tuple[datetime, datetime | None]) -> timedelta:
    """Time between the alert and a window of alerts (zero when they overlap)."""
    start, end = window
    gap = timedelta(0)
    if end is not None and alert.onset > end:
        gap = alert.onset - end
    if alert.expires is not None and start > alert.expires:
        gap = max(gap, start - alert.expires)
    return gap


_Owner = _Work | Activation


class _Planner:
    def __init__(self, now: datetime, rules: ActivationRules) -> None:
        self.now = now
        self.rules = rules
        self.coverage: dict[tuple[HazardFamily, str], _Owner] = {}
        self.works: list[_Work] = []
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def claim(self, work: _Work, departement: str, why: str) -> None:
        """Add a département to ``work`` unless another open activation of its family has it."""
        owner = self.coverage.get((work.family, departement))
        if owner is None:
            self.coverage[(work.family, departement)] = work
            work.departements.append(departement)
        elif isinstance(owner, Activation):
            self.note(
                f"{why} : le département {departement} est déjà couvert par l'activation "
                f"manuelle {owner.id} ({owner.hashtag}, {owner.family.label}) ; les alertes ne "
                f"l'ajoutent pas à une autre activation."
            )

    def claim_live(self, work: _Work) -> None:
        """The level and the départements that the live alerts of ``work`` bring."""
        for record in work.records:
            if self.is_live(record):
                work.level = max_level(work.level, record.level)
                for code in record.departements:
                    self.claim(work, code, f"Alerte {record.key}")

    def is_live(self, record: AlertRecord) -> bool:
        return not record.is_over(self.now) and level_rank(record.level) >= level_rank(
            self.rules.min_level
        )


def _ended(record: AlertRecord, now: datetime) -> AlertRecord:
    """``record`` ended at ``now`` unless it is over already."""
    return record if record.is_over(now) else replace(record, ended_at=now)


def _desired(
    record: AlertRecord,
    hazard: Hazard,
    *,
    listed: Mapping[tuple[Hazard, str], Alert],
    read_ok: Mapping[str, object],
    now: datetime,
    rules: ActivationRules,
) -> AlertRecord:
    """What ``record`` should say after this run."""
    if record.source not in read_ok:
        return record  # failed or not read: what it said last stands
    alert = listed.get((hazard, record.key))
    if alert is None:
        return _ended(record, now)  # no longer listed by a source read successfully
    fresh = AlertRecord.from_alert(alert)
    if fresh.version == record.version:
        # The same version read again: its onset stands (a source that does not date its
        # document gives the time of reading, which must not rewrite the record each run).
        fresh = replace(fresh, onset=record.onset)
    if qualifies(alert, rules):
        return fresh
    # Still listed, but below the threshold (or the hazard is no longer served).
    return _ended(replace(fresh, ended_at=record.ended_at), now)


def _format_duration(duration: timedelta) -> str:
    minutes = int(duration.total_seconds() // 60)
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes // 60} h {minutes % 60:02d}"


def _close_reason(
    activation: Activation,
    records: Sequence[AlertRecord],
    last_end: datetime,
    rules: ActivationRules,
) -> str:
    count = len(records)
    alerts = "l'alerte" if count == 1 else f"les {count} alertes"
    ended = "a pris fin" if count == 1 else "ont pris fin"
    return (
        f"Fin de vigilance pour {activation.hashtag} ({activation.family.label}, "
        f"départements {', '.join(activation.departements)}) : {alerts} à son origine "
        f"{ended}, la dernière le {format_datetime_fr(last_end)} (heure de Paris), et le délai "
        f"de grâce de {_format_duration(rules.grace)} est écoulé. L'activation est fermée et "
        f"ses annonces encore ouvertes expirent."
    )


def plan(
    readings: Mapping[str, Sequence[Alert] | SourceError],
    activations: Sequence[TrackedActivation],
    *,
    now: datetime,
    rules: ActivationRules,
) -> Plan:
    """Decide what the alert feeds do to the activations at ``now``.

    ``readings`` maps each source name to what it yielded this run, or to the
    :class:`SourceError` it raised. ``activations``: every open activation (manual
    ones included) and, ideally, the feed activations closed recently. ``now`` must be
    timezone-aware. Applying the plan and calling again with the same readings at the
    same time gives an empty plan.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    planner = _Planner(now, rules)

    # Sources: read fine, or skipped. Alerts are known by (hazard, key); last one wins.
    read_ok: dict[str, Sequence[Alert]] = {}
    skipped: list[str] = []
    for source, reading in sorted(readings.items()):
        if isinstance(reading, SourceError):
            skipped.append(source)
            planner.note(
                f"Source {source} illisible ({reading.message}) : ce qu'elle avait annoncé est "
                f"conservé tel quel et aucune activation qui en dépend n'est fermée."
            )
        else:
            read_ok[source] = reading
    listed: dict[tuple[Hazard, str], Alert] = {}
    for source, alerts in read_ok.items():
        for alert in alerts:
            if alert.source != source:
                planner.note(
                    f"Alerte {alert.key} ignorée : lue dans la source {source}, "
                    f"elle se dit de {alert.source}."
                )
                continue
            listed[(alert.hazard, alert.key)] = alert

    # Who covers what: manual activations first, then feed activations by age.
    open_ones = [t for t in activations if t.activation.is_open]
    for tracked in open_ones:
        if tracked.is_manual:
            for code in tracked.activation.departements:
                planner.coverage.setdefault((tracked.activation.family, code), tracked.activation)
    feed = sorted(
        (t for t in open_ones if not t.is_manual),
        key=lambda t: (t.activation.opened_at, t.activation.id),
    )
    for tracked in feed:
        act = tracked.activation
        work = _Work(
            act.hazard, list(act.departements), act.level, list(tracked.alerts), act.origin, tracked
        )
        planner.works.append(work)
        for code in act.departements:
            planner.coverage.setdefault((act.family, code), work)

    # 1. Known alerts: new versions, ends; départements and level they bring.
    for work in list(planner.works):
        work.records = [
            _desired(
                record, work.hazard_of(record), listed=listed, read_ok=read_ok, now=now, rules=rules
            )
            for record in work.records
        ]
        planner.claim_live(work)

    # 2. New alerts, by family and onset: join an activation, or open one.
    tracked_keys = {(w.hazard_of(r), r.key) for w in planner.works for r in w.records}
    closed_seen = {
        (r.hazard or t.activation.hazard, r.key, r.version)
        for t in activations
        if not t.activation.is_open
        for r in t.alerts
    }
    fresh = sorted(
        (
            alert
            for identity, alert in listed.items()
            if identity not in tracked_keys
            and (alert.hazard, alert.key, alert.version) not in closed_seen
            and qualifies(alert, rules)
            and in_force(alert, now=now, rules=rules)
        ),
        key=lambda a: (a.hazard.family.value, a.onset, a.key),
    )
    for alert in fresh:
        _place(planner, alert)

    # 3. Closes. The départements of a closing activation go to the open ones whose
    # live alerts cover them, now rather than at the next run (idempotence).
    closing: dict[int, CloseActivation] = {}
    for work in planner.works:
        if work.tracked is not None and (close := _closing(planner, work, read_ok)) is not None:
            closing[id(work)] = close
    if closing:
        for identity, owner in list(planner.coverage.items()):
            if isinstance(owner, _Work) and id(owner) in closing:
                del planner.coverage[identity]
        for work in planner.works:
            if id(work) not in closing:
                planner.claim_live(work)

    # 4. Decisions.
    opens: list[OpenActivation] = []
    extends: list[ExtendActivation] = []
    refreshes: list[RefreshAlerts] = []
    closes: list[CloseActivation] = []
    for work in planner.works:
        records = tuple(work.records)
        if work.tracked is None:
            codes = tuple(work.departements)
            opens.append(
                OpenActivation(
                    work.hazard,
                    work.level,
                    codes,
                    derive_hashtag(work.hazard, codes),
                    work.origin,
                    records,
                )
            )
            continue
        act = work.tracked.activation
        added = tuple(work.departements[len(act.departements) :])
        if added or work.level != act.level:
            extends.append(ExtendActivation(act.id, added, work.level, records))
        elif records != work.tracked.alerts:
            refreshes.append(RefreshAlerts(act.id, records))
        if id(work) in closing:
            closes.append(closing[id(work)])

    return Plan(
        opens=tuple(opens),
        extends=tuple(extends),
        refreshes=tuple(refreshes),
        closes=tuple(closes),
        skipped_sources=tuple(skipped),
        notes=tuple(planner.notes),
    )


def _place(planner: _Planner, alert: Alert) -> None:
    """Track a new alert: in the feed activation it belongs to, or in a new one."""
    hazard = alert.hazard
    family = hazard.family
    codes = unique_codes(alert.departements)
    free = [c for c in codes if not isinstance(planner.coverage.get((family, c)), Activation)]
    if not free:
        owners = {planner.coverage[(family, c)] for c in codes}
        names = ", ".join(
            sorted(f"{o.id} ({o.hashtag})" for o in owners if isinstance(o, Activation))
        )
        planner.note(
            f"Alerte {alert.key} ({alert.level.value}, {hazard.label}, départements "
            f"{', '.join(codes)}) : déjà couverte par l'activation manuelle {names} "
            f"({family.label}) ; rien n'est ouvert."
        )
        return
    candidates = [w for w in planner.works if w.family is family]
    # A feed activation that covers one of its départements already: the same event.
    target = next(
        (w for w in candidates if any(planner.coverage.get((family, c)) is w for c in free)),
        None,
    )
    if target is None:  # else the one nearest in time, if near enough
        near = [
            (gap, index, w)
            for index, w in enumerate(candidates)
            if (window := w.window()) is not None
            and (gap := _gap(alert, window)) <= planner.rules.neighbouring
        ]
        if near:
            target = min(near, key=lambda item: (item[0], item[1]))[2]
    record = AlertRecord.from_alert(alert)
    if target is None:
        target = _Work(hazard, [], alert.level, [record], alert.source)
        planner.works.append(target)
    else:
        target.records.append(record)
        target.level = max_level(target.level, alert.level)
    for code in codes:  # a département of a manual activation is noted, not taken
        planner.claim(target, code, f"Alerte {alert.key}")


def _closing(
    planner: _Planner, work: _Work, read_ok: Mapping[str, object]
) -> CloseActivation | None:
    assert work.tracked is not None
    act = work.tracked.activation
    if not work.records:
        planner.note(
            f"Activation {act.id} ({act.hashtag}) : aucune alerte connue derrière elle ; "
            f"elle n'est pas fermée automatiquement."
        )
        return None
    if not all(record.is_over(planner.now) for record in work.records):
        return None
    last_end = max(record.end for record in work.records if record.end is not None)
    if planner.now < last_end + planner.rules.grace:
        return None
    unread = sorted(
        source
        for source in {r.source for r in work.records} | set(act.sources)
        if source not in read_ok
    )
    if unread:
        planner.note(
            f"Activation {act.id} ({act.hashtag}) : fermeture reportée, source(s) "
            f"{', '.join(unread)} non lue(s) à ce passage."
        )
        return None
    return CloseActivation(act.id, _close_reason(act, work.records, last_end, planner.rules))
