"""What every alert source yields, whatever its format."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from entraide.kernel.model import AlertLevel, Hazard


class SourceError(Exception):
    """A source could not be read or understood (timeout, 5xx, malformed, unexpected
    schema), or its document is not what the source promises (another country, a partial
    coverage, stale).

    Never taken as "all clear": the activation rules keep what that source said last.
    ``status`` is the HTTP status of the answer when there was one.
    """

    def __init__(self, source: str, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class Alert:
    """One official alert for one hazard over one or more départements."""

    source: str  # "meteofrance", "meteoalarm", "vigicrues"
    source_id: str  # stable at the source across updates (CAP identifier, …)
    version: str  # changes when the source updates the alert (CAP sent, update time…)
    hazard: Hazard
    level: AlertLevel
    departements: tuple[str, ...]  # canonical codes ("11", "2A", "974")
    onset: datetime  # aware, UTC
    expires: datetime | None  # aware, UTC; None when the source gives no end
    headline: str = ""  # French, for people (operators' emails, logs)

    @property
    def key(self) -> str:
        """Identity of the alert across reads: source and source id."""
        return f"{self.source}:{self.source_id}"


@dataclass(frozen=True, slots=True)
class Reading:
    """What one document of a source said, and what it is, before it counts.

    An adapter fills it from the document alone; :func:`~entraide.activation.alerts.promise.
    check_promise` then holds it to what its source promises (country, coverage, freshness)
    and raises :class:`SourceError` when it falls short.
    """

    source: str
    alerts: tuple[Alert, ...]
    document: str  # what the document is, in French ("carte de vigilance nationale")
    country: str | None  # ISO 3166 alpha-2 of the country it speaks of ("FR"), if it says
    national: bool  # it covers the whole of what the source watches
    coverage: str  # French: what it covers ("96 départements sur 96", "un seul domaine : 13")
    produced_at: datetime | None  # when the source produced it; None when it does not say
    valid_until: datetime | None = None  # after this, the document says nothing any more
    notes: tuple[str, ...] = ()  # French, for operators: what was skipped and why
    status: int | None = None  # HTTP status of the answer (None for a file)
