"""Domain objects for tests: one sensible default each, changed only where a test says so."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from entraide.kernel.model import Activation, AlertLevel, Category, Hazard, Kind, Post, PostStatus
from entraide.privacy.pseudonyms import Pseudonyms
from entraide.privacy.retention import Retention
from entraide.publishing.xapi import XCredentials

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)

#: The signing key of the tests' links, and the base of their URLs.
LINK_KEY = b"k" * 32
BASE = "https://entraide.example/Prod/"
#: The privacy page under BASE, which every email's footer links to.
PRIVACY_URL = f"{BASE}donnees-personnelles"

#: The key of the tests' pseudonyms (HMAC of an address), and the retention periods.
PSEUDONYM_KEY = b"p" * 32
PSEUDONYMS = Pseudonyms(lambda: [PSEUDONYM_KEY])
RETENTION = Retention()


def pseudonym_of(email: str) -> str:
    """The pseudonym the tests' stores give ``email``."""
    return PSEUDONYMS.of(email)


#: The account's user-context keys, as the relay's secret holds them (made up).
X_CREDENTIALS = XCredentials(
    consumer_key="ck-ShareEntraide",
    consumer_secret="cs-0123456789",
    access_token="1072250532645998596-at",
    access_token_secret="ats-9876543210",
)

_POST = Post(
    id="P1",
    kind=Kind.NEED,
    category=Category.HEBERGEMENT,
    title="Besoin d'un toit pour trois nuits",
    description="Maison inondée au rez-de-chaussée.\nDeux adultes et un chat.",
    postcode="11000",
    commune="Carcassonne",
    insee="11069",
    departement="11",
    lat=43.20938,
    lon=2.34399,
    geohash="sp9tv64",  # the 7-character cell of Carcassonne's centroid
    activation_id="A1",
    status=PostStatus.PENDING,
    created_at=NOW,
)

_ACTIVATION = Activation(
    id="A1",
    hazard=Hazard.INONDATION,
    departements=("11",),
    level=AlertLevel.ROUGE,
    hashtag="#InondationsAude",
    opened_at=NOW,
)


def make_post(**changes: Any) -> Post:
    """A pending need in Carcassonne (11000), activation A1, created at NOW."""
    return replace(_POST, **changes)


def make_activation(**changes: Any) -> Activation:
    """An open manual activation A1 for the Aude (11), floods, red, opened at NOW."""
    return replace(_ACTIVATION, **changes)


class Clock:
    """A clock a test moves by hand: ``clock()`` is now, ``clock.advance(hours=1)``."""

    def __init__(self, moment: datetime = NOW) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> datetime:
        self.moment += timedelta(**delta)
        return self.moment


class Killed(BaseException):
    """The run's end without a word: Lambda's timeout, the process killed."""
