"""Intake: a submission becomes a pending post only when every check passes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pygeohash
import pytest

from entraide.adapters.table import Check, ConditionFailed
from entraide.intake.post_store import RequestKey
from entraide.intake.posting import submit_post
from entraide.kernel.errors import (
    InvalidInput,
    PlatformAsleep,
    SpamSuspected,
)
from entraide.kernel.model import Activation, AlertLevel, Contact, Hazard, Post, PostStatus
from entraide.kernel.postcodes import PostcodeDirectory

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


class MemoryTable:
    """What intake needs (open activations, their condition, create a post), in memory,
    with the table's conditions: a post is stored only if its activation is open."""

    def __init__(self, *activations: Activation) -> None:
        self.activations = list(activations)
        self.posts: list[tuple[Post, Contact]] = []

    def open_activations(self) -> list[Activation]:
        return [activation for activation in self.activations if activation.is_open]

    def open_check(self, activation_id: str, departement: str | None = None) -> Check:
        return Check(key={"id": activation_id}, values={"departement": departement})

    def create_post(
        self,
        post: Post,
        contact: Contact,
        *,
        checks: Sequence[Check] = (),
        key: RequestKey | None = None,
    ) -> None:
        for check in checks:
            activation = next(a for a in self.activations if a.id == check.key["id"])
            departement = (check.values or {})["departement"]
            covered = departement is None or departement in activation.departements
            if not activation.is_open or not covered:
                raise ConditionFailed()
        self.posts.append((post, contact))

    def keyed_post(self, key: str, *, consistent: bool = True) -> None:
        return None

    def get_post(self, post_id: str) -> Post | None:
        return next((post for post, _ in self.posts if post.id == post_id), None)


def activation(*departements: str, closed: bool = False) -> Activation:
    return Activation(
        id="ACT1",
        hazard=Hazard.INONDATION,
        departements=departements,
        level=AlertLevel.ROUGE,
        hashtag="#InondationsAude",
        opened_at=NOW,
        closed_at=NOW if closed else None,
    )


def fields(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "kind": "need",
        "category": "repas",
        "title": "Repas chauds pour quatre",
        "description": "Cuisine inondée, deux enfants.",
        "postcode": "11000",
        "commune": "Carcassonne",
        "email": "famille@example.org",
        "phone": "06 12 34 56 78",
        "consent": True,
    }
    base.update(changes)
    return base


def submit(table: MemoryTable, **changes: Any) -> Post:
    return submit_post(
        fields(**changes),
        posts=table,
        activations=table,
        directory=PostcodeDirectory.default(),
        new_id=lambda: "POST1",
        now=lambda: NOW,
    ).post


def test_post_in_an_activated_departement_is_stored_pending_with_its_place() -> None:
    # Given an open activation for the Aude
    table = MemoryTable(activation("11"))
    # When a need is posted for Carcassonne
    post = submit(table)
    # Then it is stored once, pending, geocoded and linked to the activation
    assert table.posts == [(post, Contact("famille@example.org", "06 12 34 56 78"))]
    assert post.status is PostStatus.PENDING
    assert (post.id, post.activation_id, post.created_at) == ("POST1", "ACT1", NOW)
    assert (post.postcode, post.commune, post.departement, post.insee) == (
        "11000",
        "Carcassonne",
        "11",
        "11069",
    )
    assert post.lat == pytest.approx(43.21, abs=0.05)
    assert post.lon == pytest.approx(2.35, abs=0.05)
    # the 7-character cell (about 150 m) contains the commune's centroid
    cell_lat, cell_lon = pygeohash.decode(post.geohash)
    assert len(post.geohash) == 7
    assert (cell_lat, cell_lon) == (
        pytest.approx(post.lat, abs=1e-3),
        pytest.approx(post.lon, abs=1e-3),
    )


def test_post_where_the_platform_sleeps_is_refused_and_nothing_is_written() -> None:
    table = MemoryTable(activation("34"), activation("11", closed=True))
    with pytest.raises(PlatformAsleep) as exc:
        submit(table)
    assert "Aude (11)" in exc.value.message
    assert table.posts == []


def test_unknown_postcode_is_a_field_error_and_nothing_is_written() -> None:
    table = MemoryTable(activation("11"))
    with pytest.raises(InvalidInput) as exc:
        submit(table, postcode="00000")
    assert [error.field for error in exc.value.errors] == ["postcode"]
    assert table.posts == []


def test_shared_postcode_without_commune_offers_the_choices() -> None:
    # 11000 covers Carcassonne and Berriac; 11300 some thirty communes around Limoux
    table = MemoryTable(activation("11"))
    with pytest.raises(InvalidInput) as exc:
        submit(table, commune=None)
    assert [error.field for error in exc.value.errors] == ["commune"]
    assert exc.value.choices == ("Berriac", "Carcassonne")
    assert table.posts == []
    post = submit(table, postcode="11300", commune="limoux")
    assert post.commune == "Limoux"


def test_filled_honeypot_is_refused_before_anything_else() -> None:
    table = MemoryTable(activation("11"))
    with pytest.raises(SpamSuspected):
        submit(table, website="http://spam.example")
    assert table.posts == []


def test_every_problem_is_reported_in_one_round() -> None:
    # Given an activation for the Aude, and a form with a short title and a commune that
    # is not the postal code's
    table = MemoryTable(activation("11"))
    # When it is posted
    with pytest.raises(InvalidInput) as exc:
        submit(table, title="ab", commune="Narbonne")
    # Then both are reported at once, with the communes to choose from
    assert [error.field for error in exc.value.errors] == ["title", "commune"]
    assert exc.value.choices == ("Berriac", "Carcassonne")
    assert table.posts == []


def test_a_departement_without_alert_is_reported_with_the_other_fields() -> None:
    # Given no alert for the Aude, and a form with a missing e-mail
    table = MemoryTable(activation("34"))
    # When it is posted
    with pytest.raises(InvalidInput) as exc:
        submit(table, email="")
    # Then the person learns at once that the Aude is closed, beside the postal code
    messages = {error.field: error.message for error in exc.value.errors}
    assert set(messages) == {"email", "postcode"}
    assert "Aude (11)" in messages["postcode"]
    assert "aucune alerte en cours" in messages["postcode"]


def test_a_helper_across_the_border_is_taken_for_the_nearest_activation() -> None:
    # Given an alert for the Aude, and a helper in Béziers (Hérault, 15 km from the Aude)
    table = MemoryTable(activation("11"))
    # When they offer help
    post = submit(table, kind="offer", postcode="34500", commune="Béziers")
    # Then the offer is taken, for the Aude's activation
    assert (post.departement, post.activation_id, post.commune) == ("34", "ACT1", "Béziers")


@pytest.mark.parametrize(
    ("kind", "postcode", "commune"),
    [
        ("need", "34500", "Béziers"),  # a need across the border: not where the disaster is
        ("offer", "34000", "Montpellier"),  # an offer 70 km away: too far to be "nearby"
    ],
)
def test_outside_the_alerted_departements_only_nearby_help_is_taken(
    kind: str, postcode: str, commune: str
) -> None:
    table = MemoryTable(activation("11"))
    with pytest.raises(PlatformAsleep):
        submit(table, kind=kind, postcode=postcode, commune=commune)
    assert table.posts == []
