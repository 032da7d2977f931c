"""What each source promises, and holding a document to it before it counts as a reading.

A document that parses is not yet a reading: a MeteoAlarm feed of another country, a
Météo-France answer for one département, a Vigicrues document of one territory or a
document of last week all parse, and all say "no alert" for most of France. Read as the
national picture, they would end alerts that are still in force and close activations.
So a document counts only if it is:

* **of France** (``country`` "FR");
* **whole**: it covers everything the source watches (``national``: the vigilance map
  lists every metropolitan département, the MeteoAlarm feed is France's, the Vigicrues
  document holds the whole network);
* **fresh**: produced at most ``max_age`` ago, not in the future, and still valid now.

Anything else is a :class:`~entraide.activation.alerts.model.SourceError`, never "no
alert". A *replay* (a recorded document an operator points the local stack at) is read
whatever its coverage and age; its country still has to be France.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from entraide.activation.alerts.model import Reading, SourceError
from entraide.kernel.times import format_datetime_fr

COUNTRY = "FR"
# A clock may be a few minutes off; a document "produced" further ahead is suspect.
FUTURE_SKEW = timedelta(minutes=15)
# How old a document may be, by source. Météo-France publishes its map at least twice a
# day (about 6 h and 16 h, Paris time) and whenever it changes: a day without a new map is
# a failure. MeteoAlarm regenerates each country's feed continuously (its <updated> is
# minutes old in every recorded feed): six hours without one is a failure. Vigicrues
# publishes its bulletin at least twice a day (10 h and 16 h).
MAX_AGE: dict[str, timedelta] = {
    "meteofrance": timedelta(hours=24),
    "meteoalarm": timedelta(hours=6),
    "vigicrues": timedelta(hours=24),
}


@dataclass(frozen=True, slots=True)
class Promise:
    """What a document of a source must be to count (see the module's docstring)."""

    max_age: timedelta
    replay: bool = False

    @classmethod
    def of(cls, source: str, *, max_age: timedelta | None = None, replay: bool = False) -> Promise:
        return cls(max_age=max_age if max_age is not None else MAX_AGE[source], replay=replay)


def age_text(age: timedelta) -> str:
    """ "3 h 05", "2 j 4 h" (French, for operators)."""
    minutes = int(age.total_seconds() // 60)
    if minutes < 0:
        return f"dans {age_text(-age)}"
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} j {hours} h"
    return f"{hours} h {minutes:02d}"


def promise_problems(reading: Reading, promise: Promise, *, now: datetime) -> list[str]:
    """Why ``reading`` does not count at ``now`` (French), or an empty list."""
    problems: list[str] = []
    if reading.country != COUNTRY:
        country = reading.country or "inconnu"
        problems.append(f"document d'un autre pays ({country}), pas de la France")
    if not reading.national and not promise.replay:
        problems.append(
            f"couverture partielle ({reading.coverage}) : ce n'est pas une lecture nationale"
        )
    produced = reading.produced_at
    if produced is not None and produced > now + FUTURE_SKEW:
        problems.append(f"produit dans le futur ({format_datetime_fr(produced)}, heure de Paris)")
    elif produced is not None and not promise.replay and now - produced > promise.max_age:
        problems.append(
            f"périmé : produit le {format_datetime_fr(produced)} (heure de Paris), il y a "
            f"{age_text(now - produced)} (au plus {age_text(promise.max_age)})"
        )
    if reading.valid_until is not None and reading.valid_until <= now and not promise.replay:
        problems.append(
            f"plus valide depuis le {format_datetime_fr(reading.valid_until)} (heure de Paris)"
        )
    return problems


def check_promise(reading: Reading, promise: Promise, *, now: datetime) -> None:
    """:class:`SourceError` naming every way ``reading`` falls short of ``promise``."""
    problems = promise_problems(reading, promise, now=now)
    if problems:
        raise SourceError(
            reading.source,
            f"{reading.document} refusé : " + " ; ".join(problems),
            status=reading.status,
        )
