"""When the alert feeds open, extend, refresh and close activations: the rules and their words.

Every 15 minutes the ``activate`` function reads the alert sources and calls
:func:`~entraide.activation.planner.plan` with what each source said (its alerts, or the
:class:`~entraide.activation.alerts.model.SourceError` it raised), the activations it
knows and the current time. ``plan`` returns a :class:`Plan` of decisions; the function
applies them to the store. This module holds the setting (:class:`ActivationRules`), what
an activation remembers of an alert, and the decisions; no I/O here.

The rules, as decided (see also the docstring of :func:`~entraide.activation.planner.plan`):

* An alert *qualifies* when its hazard is one the platform serves and its level is at
  least ``min_level`` (:class:`ActivationRules`, a setting of the function). It is *in
  force* when it has not expired and starts within ``lookahead`` (Météo-France publishes
  today and tomorrow, so an alert for tomorrow counts as soon as it is published).
* An alert is known by its hazard and key (``source:source_id``); what an activation
  remembers of it is an :class:`AlertRecord`. A record that is equal to what the source
  says changes nothing, so the same alert seen twice changes nothing.
* Hazards come in families (:class:`~entraide.kernel.model.HazardFamily`: water — floods,
  rain-floods, river floods, coastal flooding —; wind and thunderstorms; snow and
  avalanches; earthquake; fire): one flood is one activation whatever the alert calls it.
* A new qualifying alert in force joins the open feed activation of the same family that
  already covers one of its départements, else the one whose alerts' time window is
  within ``neighbouring`` of it, else opens a new activation (hashtag from
  :func:`~entraide.activation.activations.derive_hashtag`). New alerts of one run are
  taken by onset, so overlapping ones open one activation.
* There is at most one open activation per (family, département), whatever its origin
  (the store enforces it with a conditional write, see ``activation_store``). A
  département covered by an operator's (manual) activation of the same family is left to
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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

from entraide.activation.alerts.model import Alert
from entraide.kernel.model import Activation, AlertLevel, Hazard

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
    # The alert's hazard (an activation of a family holds alerts of its hazards); None in
    # records written before families: the activation's own hazard.
    hazard: Hazard | None = None

    @classmethod
    def from_alert(cls, alert: Alert) -> Self:
        return cls(
            key=alert.key,
            source=alert.source,
            version=alert.version,
            level=alert.level,
            departements=unique_codes(alert.departements),
            onset=alert.onset,
            expires=alert.expires,
            headline=alert.headline,
            hazard=alert.hazard,
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


def unique_codes(codes: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(codes))
