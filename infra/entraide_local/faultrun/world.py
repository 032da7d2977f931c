"""What a fault run is made of: the people who post, where, what is decided, and an X.

Posts come in pairs, a need and an offer of one category at one place; places are communes
at least 45 km apart (more than twice the 20 km matching radius), so that each post has
exactly one counterpart and the matches expected are known beforehand: every pair whose
two posts are approved. One post in ``reject_every`` is refused by its moderator.
"""

from __future__ import annotations

import functools
import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from entraide.kernel.geo import haversine_km
from entraide.kernel.model import Category, Kind
from entraide.kernel.postcodes import Place, PostcodeDirectory
from entraide.kernel.times import utcnow
from entraide.publishing.x_answers import (
    SCOPE_15MIN,
    PostedTweet,
    XDuplicate,
    XRateLimited,
    XUnavailable,
)

#: Categories of the pairs: "autre" would match every category at a place.
CATEGORIES = tuple(category for category in Category if category is not Category.AUTRE)
#: Farther apart than twice the matching radius: pairs never see each other.
MIN_SPACING_KM = 45.0


@dataclass(frozen=True)
class Scenario:
    posts: int = 40
    fault_rate: float = 0.0
    seed: int = 12
    moderators: tuple[str, ...] = ("alice@moderation.example", "bob@moderation.example")
    reject_every: int = 7
    iam: bool = True


@dataclass(frozen=True)
class PlannedPost:
    index: int
    slot: int
    kind: Kind
    category: Category
    place: Place
    email: str
    approve: bool

    def fields(self) -> dict[str, object]:
        """What the person sends (the JSON of ``POST /offers``)."""
        noun = "Besoin" if self.kind is Kind.NEED else "Offre"
        return {
            "kind": self.kind.value,
            "category": self.category.value,
            "title": f"{noun} {self.index} à {self.place.commune}"[:120],
            "description": f"Annonce {self.index} de la simulation.",
            "postcode": self.place.postcode,
            "commune": self.place.commune,
            "email": self.email,
            "consent": True,
        }


@functools.cache
def isolated_places(count: int) -> tuple[Place, ...]:
    """``count`` communes of metropolitan France, pairwise at least MIN_SPACING_KM apart."""
    directory = PostcodeDirectory.default()
    chosen: list[Place] = []
    for postcode in directory.postcodes():
        if postcode.startswith("97") or postcode.startswith("98"):
            continue
        place = directory.communes(postcode)[0]
        if all(
            haversine_km(place.lat, place.lon, other.lat, other.lon) >= MIN_SPACING_KM
            for other in chosen
        ):
            chosen.append(place)
            if len(chosen) == count:
                return tuple(chosen)
    raise ValueError(f"France holds {len(chosen)} such places, not {count}.")


def plan(scenario: Scenario) -> list[PlannedPost]:
    """The posts of a scenario, in the order people send them."""
    slots = (scenario.posts + 1) // 2
    places = isolated_places(-(-slots // len(CATEGORIES)))
    planned = []
    for index in range(scenario.posts):
        slot = index // 2
        kind = Kind.NEED if index % 2 == 0 else Kind.OFFER
        planned.append(
            PlannedPost(
                index=index,
                slot=slot,
                kind=kind,
                category=CATEGORIES[slot % len(CATEGORIES)],
                place=places[slot // len(CATEGORIES)],
                email=f"{kind.value}-{index}@example.org",
                approve=index % scenario.reject_every != scenario.reject_every - 1,
            )
        )
    rng = random.Random(scenario.seed)  # noqa: S311 - a repeatable simulation
    rng.shuffle(planned)
    return planned


@dataclass
class FakeX:
    """X as the relay meets it: it refuses a text it already has ("duplicate content"), and
    with ``rate`` it fails a call: a 503 before posting, a 429, or a timeout *after*
    posting (the tweet exists, the answer is lost)."""

    rate: float = 0.0
    seed: int = 0
    clock: Callable[[], datetime] = utcnow
    accepted: list[PostedTweet] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    lost: list[str] = field(default_factory=list)  # texts posted whose answer was lost

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)  # noqa: S311 - a repeatable simulation
        self._lock = threading.Lock()
        self._texts: set[str] = set()

    def post(self, text: str) -> PostedTweet:
        with self._lock:
            fault = None
            if self.rate and self._random.random() < self.rate:
                fault = self._random.choice(("503", "429", "timeout after posting"))
                self.faults[fault] += 1
            if fault == "503":
                raise XUnavailable("503 Service Unavailable")
            if fault == "429":
                raise XRateLimited(self.clock() + timedelta(seconds=1), SCOPE_15MIN)
            if text in self._texts:
                raise XDuplicate("You are not allowed to create a Tweet with duplicate content.")
            tweet = PostedTweet(id=str(1_900_000_000 + len(self.accepted)), text=text)
            self.accepted.append(tweet)
            self._texts.add(text)
            if fault == "timeout after posting":
                self.lost.append(text)
                raise XUnavailable("ReadTimeout: read timed out", maybe_posted=True)
            return tweet
