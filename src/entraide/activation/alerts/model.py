"""What every alert source yields, whatever its format."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from entraide.kernel.model import AlertLevel, Hazard


class SourceError(Exception):
    """A source could not be read or understood (timeout, 5xx, malformed, unexpected schema).

    Never taken as "all clear": the activation rules keep what that source said last.
    """

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message


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
