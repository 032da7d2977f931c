"""Domain objects for tests: one sensible default each, changed only where a test says so."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from entraide.kernel.model import Activation, AlertLevel, Category, Hazard, Kind, Post, PostStatus

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)

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
