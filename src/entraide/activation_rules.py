"""When the alert feeds open, extend, refresh and close activations: pure, clock-injected rules.

Every 15 minutes the ``activate`` function reads the alert sources and calls :func:`plan`
with what each source said (its alerts, or the :class:`~entraide.alerts.model.SourceError`
it raised), the activations it knows and the current time. :func:`plan` returns a
:class:`Plan` of decisions; the function applies them to the store. No I/O here.

The rules, as decided (see also the docstring of :func:`plan`):

* An alert *qualifies* when its hazard is one the platform serves and its level is at
  least ``min_level`` (:class:`ActivationRules`, a setting of the function). It is *in
  force* when it has not expired and starts within ``lookahead`` (Météo-France publishes
  today and tomorrow, so an alert for tomorrow counts as soon as it is published).
* An alert is known by its hazard and key (``source:source_id``); what an activation
  remembers of it is an :class:`AlertRecord`. A record that is equal to what the source
  says changes nothing, so the same alert seen twice changes nothing.
* A new qualifying alert in force joins the open feed activation of the same hazard that
  already covers one of its départements, else the one whose alerts' time window is
  within ``neighbouring`` of it, else opens a new activation (hashtag from
  :func:`~entraide.activations.derive_hashtag`). New alerts of one run are taken by onset,
  so overlapping ones open one activation.
* There is at most one open activation per (hazard, département), whatever its origin. A
  département covered by an operator's (manual) activation of the same hazard is left to
  it: the feeds never add it to their own activation; an alert whose départements are
  all covered so is not tracked (a note says so) and is looked at again at every run.
* Manual activations are never extended, refreshed nor closed by the rules.
* A record ends at its expiry, or when a source read successfully no longer lists it,
  or lists it below the threshold (``ended_at``). A feed activation closes when every
  record has ended, ``grace`` has passed since the last end, and every source behind it
  was read successfully in this run. A source that failed (or was not read) changes
  nothing of what it said before: a failed read is never taken as "all clear".
* An alert tracked by a *closed* activation with the same version opens nothing: an
  operator who closes a feed activation early is not contradicted 15 minutes later.
  A new version of it is a new alert.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

from entraide.activations import derive_hashtag
from entraide.alerts.model import Alert, SourceError
from entraide.kernel.model import Activation, AlertLevel, Hazard
from entraide.kernel.times import format_datetime_fr

MANUAL = "manual"  # Activation.origin of an operator's activation

DEFAULT_HAZARDS: frozenset[Hazard] = frozenset(
    {
        Hazard.PLUIE_INONDATION,
        Hazard.CRUES,
        Hazard.INONDATION,
        Hazard.VENT_VIOLENT,
        Hazard.ORAGES,
        Hazard.VAGUES_SUBMERSION,
        Hazard.AVALANCHES,
    }
)

_RANK: dict[AlertLevel, int] = {AlertLevel.JAUNE: 0, AlertLevel.ORANGE: 1, AlertLevel.ROUGE: 2}


def level_rank(level: AlertLevel) -> int:
    """Jaune < orange < rouge (the enum's values are words, not to be compared as strings)."""
    return _RANK[level]


def max_level(first: AlertLevel, *others: AlertLevel) -> AlertLevel:
    return max((first, *others), key=level_rank)


def _hours(value: Any) -> Any:
    """A bare number (or a string of one) is a number of hours; anything else goes to pydantic."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return timedelta(hours=value)
    if isinstance(value, str):
        try:
            return timedelta(hours=float(value.strip()))
        except ValueError:
            return value  # ISO 8601 ("PT48H") or "HH:MM:SS", parsed by pydantic
    return value


class ActivationRules(BaseModel):
    """What opens and closes an activation: a setting of the ``activate`` function.

    Durations are :class:`~datetime.timedelta` values; from the environment
    (:meth:`from_environ`) a bare number is a number of hours ("48") and ISO 8601
    durations ("PT48H", "P2D") are accepted too.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    hazards: frozenset[Hazard] = Field(default=DEFAULT_HAZARDS, alias="ACTIVATION_HAZARDS")
    min_level: AlertLevel = Field(default=AlertLevel.ORANGE, alias="ACTIVATION_MIN_LEVEL")
    # After the last alert behind an activation has ended, how long it stays open.
    grace: timedelta = Field(default=timedelta(hours=48), alias="ACTIVATION_GRACE")
    # How close in time a new alert must be to the alerts of an open activation of the
    # same hazard to extend it rather than open another one.
    neighbouring: timedelta = Field(default=timedelta(hours=72), alias="ACTIVATION_NEIGHBOURING")
    # How far ahead an alert may start and already count (Météo-France: today and tomorrow).
    lookahead: timedelta = Field(default=timedelta(hours=24), alias="ACTIVATION_LOOKAHEAD")

    @field_validator("hazards", mode="before")
    @classmethod
    def _hazards(cls, value: Any) -> Any:
        if isinstance(value, str):  # "pluie-inondation, crues" from the environment
            value = [part for part in value.split(",") if part.strip()]
        if isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
            return frozenset(
                item if isinstance(item, Hazard) else Hazard.parse(str(item)) for item in value
            )
        return value

    @field_validator("min_level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("grace", "neighbouring", "lookahead", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return _hours(value)

    @field_validator("grace", "neighbouring", "lookahead")
    @classmethod
    def _not_negative(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise ValueError("La durée ne peut pas être négative.")
        return value

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Self:
        """``ACTIVATION_HAZARDS``, ``ACTIVATION_MIN_LEVEL``, ``ACTIVATION_GRACE`` (hours),
        ``ACTIVATION_NEIGHBOURING`` (hours), ``ACTIVATION_LOOKAHEAD`` (hours); all optional."""
        return cls.model_validate({k: v for k, v in environ.items() if k.startswith("ACTIVATION_")})


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """What an activation remembers of one alert behind it."""

    key: str  # Alert.key: "source:source_id"
    source: str
    version: str
    level: AlertLevel
    departements: tuple[str, ...]
    onset: datetime
    expires: datetime | None  # as the source said it
    # When the rules saw it end before its expiry: a source read successfully stopped
    # listing it, or listed it below the threshold. None while the source lists it.
    ended_at: datetime | None = None
    headline: str = ""

    @classmethod
    def from_alert(cls, alert: Alert) -> Self:
        return cls(
            key=alert.key,
            source=alert.source,
            version=alert.version,
            level=alert.level,
            departements=_unique(alert.departements),
            onset=alert.onset,
            expires=alert.expires,
            headline=alert.headline,
        )

    @property
    def end(self) -> datetime | None:
        """When it ended or will end: the earlier of expiry and ``ended_at``; None if open-ended."""
        ends = [moment for moment in (self.expires, self.ended_at) if moment is not None]
        return min(ends) if ends else None

    def is_over(self, now: datetime) -> bool:
        end = self.end
        return end is not None and end <= now


@dataclass(frozen=True, slots=True)
class TrackedActivation:
    """An activation as the rules see it: the activation and the alerts behind it.

    Pass every open activation (manual ones too: they own their départements) and the
    feed activations closed recently (their alerts are not reopened at the same version).
    """

    activation: Activation
    alerts: tuple[AlertRecord, ...] = ()  # empty for manual activations

    @property
    def is_manual(self) -> bool:
        return self.activation.origin == MANUAL


def _sources(alerts: Iterable[AlertRecord]) -> tuple[str, ...]:
    return tuple(sorted({record.source for record in alerts}))


@dataclass(frozen=True, slots=True)
class OpenActivation:
    """Open a new feed activation (id and ``opened_at`` given by whoever applies it)."""

    hazard: Hazard
    level: AlertLevel
    departements: tuple[str, ...]
    hashtag: str
    origin: str  # the source of the alert that opened it (Activation.origin)
    alerts: tuple[AlertRecord, ...]

    @property
    def sources(self) -> tuple[str, ...]:
        """Activation.sources of the new activation."""
        return _sources(self.alerts)


@dataclass(frozen=True, slots=True)
class ExtendActivation:
    """Add départements to an open feed activation and/or raise its level.

    ``alerts`` is the full new set of records (replaces the stored one); the hashtag is
    kept (it has been announced already).
    """

    activation_id: str
    add_departements: tuple[str, ...]
    level: AlertLevel
    alerts: tuple[AlertRecord, ...]

    @property
    def sources(self) -> tuple[str, ...]:
        return _sources(self.alerts)


@dataclass(frozen=True, slots=True)
class RefreshAlerts:
    """Replace the records of an open feed activation (new versions, ends); nothing else."""

    activation_id: str
    alerts: tuple[AlertRecord, ...]

    @property
    def sources(self) -> tuple[str, ...]:
        return _sources(self.alerts)


@dataclass(frozen=True, slots=True)
class CloseActivation:
    """Close a feed activation now; its open posts expire. ``reason`` is French, for operators."""

    activation_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do, in this order: opens, extends, refreshes, closes.

    An activation appears at most once among ``extends`` and ``refreshes`` together;
    it may also be closed by the same plan (its records were refreshed to ended).
    ``skipped_sources`` and ``notes`` (French) inform and change nothing.
    """

    opens: tuple[OpenActivation, ...] = ()
    extends: tuple[ExtendActivation, ...] = ()
    refreshes: tuple[RefreshAlerts, ...] = ()
    closes: tuple[CloseActivation, ...] = ()
    skipped_sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def is_empty(self) -> bool:
        """No decision to apply (sources may have been skipped, notes may inform)."""
        return not (self.opens or self.extends or self.refreshes or self.closes)


def qualifies(alert: Alert, rules: ActivationRules) -> bool:
    """Hazard served, level at least ``min_level``, at least one département."""
    return (
        alert.hazard in rules.hazards
        and level_rank(alert.level) >= level_rank(rules.min_level)
        and bool(alert.departements)
    )


def in_force(alert: Alert, *, now: datetime, rules: ActivationRules) -> bool:
    """Not expired at ``now`` and starting within ``rules.lookahead``."""
    not_expired = alert.expires is None or alert.expires > now
    return not_expired and alert.onset <= now + rules.lookahead


# -- planning ------------------------------------------------------------------------


def _unique(codes: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(codes))


@dataclass(eq=False)
class _Work:
    """A feed activation being planned: an open one, or one this run opens."""

    hazard: Hazard
    departements: list[str]
    level: AlertLevel
    records: list[AlertRecord]
    origin: str
    tracked: TrackedActivation | None = None  # None: opened by this plan

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
        self.coverage: dict[tuple[Hazard, str], _Owner] = {}
        self.works: list[_Work] = []
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def claim(self, work: _Work, departement: str, why: str) -> None:
        """Add a département to ``work`` unless another open activation of its hazard has it."""
        owner = self.coverage.get((work.hazard, departement))
        if owner is None:
            self.coverage[(work.hazard, departement)] = work
            work.departements.append(departement)
        elif isinstance(owner, Activation):
            self.note(
                f"{why} : le département {departement} est déjà couvert par l'activation "
                f"manuelle {owner.id} ({owner.hashtag}) ; les alertes ne l'ajoutent pas à "
                f"une autre activation."
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
        f"Fin de vigilance pour {activation.hashtag} ({activation.hazard.label}, "
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
                planner.coverage.setdefault((tracked.activation.hazard, code), tracked.activation)
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
            planner.coverage.setdefault((act.hazard, code), work)

    # 1. Known alerts: new versions, ends; départements and level they bring.
    for work in list(planner.works):
        work.records = [
            _desired(record, work.hazard, listed=listed, read_ok=read_ok, now=now, rules=rules)
            for record in work.records
        ]
        planner.claim_live(work)

    # 2. New alerts, by hazard and onset: join an activation, or open one.
    tracked_keys = {(w.hazard, r.key) for w in planner.works for r in w.records}
    closed_seen = {
        (t.activation.hazard, r.key, r.version)
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
        key=lambda a: (a.hazard.value, a.onset, a.key),
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
    codes = _unique(alert.departements)
    free = [c for c in codes if not isinstance(planner.coverage.get((hazard, c)), Activation)]
    if not free:
        owners = {planner.coverage[(hazard, c)] for c in codes}
        names = ", ".join(
            sorted(f"{o.id} ({o.hashtag})" for o in owners if isinstance(o, Activation))
        )
        planner.note(
            f"Alerte {alert.key} ({alert.level.value}, {hazard.label}, départements "
            f"{', '.join(codes)}) : déjà couverte par l'activation manuelle {names} ; "
            f"rien n'est ouvert."
        )
        return
    candidates = [w for w in planner.works if w.hazard is hazard]
    # A feed activation that covers one of its départements already: the same event.
    target = next(
        (w for w in candidates if any(planner.coverage.get((hazard, c)) is w for c in free)),
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
