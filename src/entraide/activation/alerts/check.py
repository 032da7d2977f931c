"""What ``entraide sources check`` finds: each configured source read now, and why it counts
or not.

For each source: its URL, the HTTP status, whether the document was recognised (and why
not), what it is and covers, when it was produced and how old it is, the alerts read and
those that would open an activation under the rules. A source *passes* when its document
was read and holds to what the source promises (:mod:`.promise`); ``at`` judges validity
and freshness at another moment, to replay an old document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from entraide.activation.alerts.document import DocumentSource
from entraide.activation.alerts.model import SourceError
from entraide.activation.alerts.promise import age_text, promise_problems
from entraide.activation.rules import ActivationRules, in_force, qualifies


@dataclass(frozen=True, slots=True)
class SourceCheck:
    name: str
    url: str
    status: int | None = None
    recognised: bool = False
    document: str | None = None
    coverage: str | None = None
    produced_at: datetime | None = None
    age: timedelta | None = None
    alerts: tuple[str, ...] = ()  # headlines of every alert read
    opening: tuple[str, ...] = ()  # headlines of those that would open an activation
    problems: tuple[str, ...] = field(default=())  # French: why it does not count
    notes: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.recognised and not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "http_status": self.status,
            "recognised": self.recognised,
            "document": self.document,
            "coverage": self.coverage,
            "produced_at": self.produced_at.isoformat() if self.produced_at else None,
            "age_seconds": int(self.age.total_seconds()) if self.age is not None else None,
            "alerts": list(self.alerts),
            "would_open": list(self.opening),
            "problems": list(self.problems),
            "notes": list(self.notes),
            "passed": self.passed,
        }

    def lines(self) -> list[str]:
        """The check in French, for a terminal."""
        verdict = "OK" if self.passed else "ÉCHEC"
        status = f"HTTP {self.status}" if self.status is not None else "fichier"
        lines = [f"{self.name}  {verdict}  {self.url}  ({status})"]
        if self.recognised:
            lines.append(f"  document reconnu : {self.document} ({self.coverage})")
        if self.produced_at is not None and self.age is not None:
            lines.append(
                f"  produit le {self.produced_at.isoformat()}, il y a {age_text(self.age)}"
            )
        elif self.recognised:
            lines.append("  heure de production : le document ne la donne pas")
        if self.recognised:
            lines.append(
                f"  alertes lues : {len(self.alerts)} ; ouvriraient une activation : "
                f"{len(self.opening)}"
            )
            lines += [f"    - {headline}" for headline in self.opening]
        lines += [f"  refusé : {problem}" for problem in self.problems]
        lines += [f"  note : {note}" for note in self.notes]
        return lines


def check_source(source: DocumentSource, *, at: datetime, rules: ActivationRules) -> SourceCheck:
    """Read ``source`` now and judge its document at ``at`` (never raises)."""
    base = SourceCheck(name=source.name, url=source.url)
    try:
        fetched = source.download()
    except SourceError as error:
        return _failed(base, error)
    try:
        reading = source.reading(fetched, now=at)
    except SourceError as error:
        return _failed(base, error, status=fetched.status)
    except Exception as error:  # a bug in an adapter is a failed check, not a crash
        return _failed(
            base, SourceError(source.name, f"unexpected {type(error).__name__}: {error}")
        )
    problems = promise_problems(reading, source.promise, now=at) if source.promise else []
    return SourceCheck(
        name=source.name,
        url=source.url,
        status=fetched.status,
        recognised=True,
        document=reading.document,
        coverage=reading.coverage,
        produced_at=reading.produced_at,
        age=at - reading.produced_at if reading.produced_at is not None else None,
        alerts=tuple(alert.headline for alert in reading.alerts),
        opening=tuple(
            alert.headline
            for alert in reading.alerts
            if qualifies(alert, rules) and in_force(alert, now=at, rules=rules)
        ),
        problems=tuple(problems),
        notes=reading.notes,
    )


def _failed(base: SourceCheck, error: SourceError, *, status: int | None = None) -> SourceCheck:
    return SourceCheck(
        name=base.name,
        url=base.url,
        status=error.status if error.status is not None else status,
        problems=(error.message,),
    )


def check_sources(
    sources: Sequence[DocumentSource], *, at: datetime, rules: ActivationRules
) -> list[SourceCheck]:
    return [check_source(source, at=at, rules=rules) for source in sources]
