"""The table adapter against moto, with the table of template.yaml: conditional writes hold."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from entraide.kernel.errors import (
    ActivationAlreadyClosed,
    ActivationNotFound,
    ConcurrentChange,
    PostNotFound,
    WrongPostStatus,
)
from entraide.kernel.model import AlertLevel, Category, Contact, Hazard, PostStatus
from entraide.store import EntraideTable
from tests.factories import NOW, make_activation, make_post

POST = make_post(
    category=Category.REPAS, title="Repas chauds", description="Pour quatre personnes."
)
CONTACT = Contact("famille@example.org", "06 12 34 56 78")


def test_a_post_round_trips_and_its_contact_lives_apart(table: EntraideTable) -> None:
    table.create_post(POST, CONTACT)
    assert table.get_post("P1") == POST
    assert table.get_contact("P1") == CONTACT
    raw = table.client.get_item(
        TableName=table.table_name, Key={"pk": {"S": "POST#P1"}, "sk": {"S": "POST"}}
    )["Item"]
    assert "famille@example.org" not in str(raw)


def test_a_post_is_never_overwritten(table: EntraideTable) -> None:
    table.create_post(POST, CONTACT)
    with pytest.raises(ConcurrentChange):
        table.create_post(replace(POST, title="Autre titre"), Contact("x@example.org"))
    assert table.get_post("P1") == POST
    assert table.get_contact("P1") == CONTACT


def test_a_transition_is_one_conditional_write_on_status_and_version(
    table: EntraideTable,
) -> None:
    table.create_post(POST, CONTACT)
    approved = table.transition(POST, PostStatus.APPROVED, at=NOW, by="alice@mod.example")
    assert (approved.status, approved.version, approved.decided_by, approved.decided_at) == (
        PostStatus.APPROVED,
        2,
        "alice@mod.example",
        NOW,
    )
    # the same transition again (a second click, a replay) loses and reports the current post
    with pytest.raises(WrongPostStatus) as exc:
        table.transition(POST, PostStatus.REJECTED, at=NOW, by="bob@mod.example")
    assert exc.value.post == approved
    assert table.get_post("P1") == approved


def test_withdrawal_keeps_the_moderation_decision(table: EntraideTable) -> None:
    table.create_post(POST, CONTACT)
    approved = table.transition(POST, PostStatus.APPROVED, at=NOW, by="alice@mod.example")
    later = NOW + timedelta(days=2)
    withdrawn = table.transition(approved, PostStatus.WITHDRAWN, at=later, by="poster")
    assert (withdrawn.decided_by, withdrawn.decided_at, withdrawn.ended_at) == (
        "alice@mod.example",
        NOW,
        later,
    )


def test_a_transition_of_a_missing_post_says_so(table: EntraideTable) -> None:
    with pytest.raises(PostNotFound):
        table.transition(POST, PostStatus.APPROVED, at=NOW, by="alice@mod.example")


def test_recent_texts_of_a_poster_exclude_the_post_itself_and_older_ones(
    table: EntraideTable,
) -> None:
    old = replace(POST, id="P0", title="Ancien", created_at=NOW - timedelta(days=10))
    sibling = replace(POST, id="P2", title="Repas chauds bis", created_at=NOW - timedelta(days=1))
    stranger = replace(POST, id="P3", title="Autre personne")
    table.create_post(old, CONTACT)
    table.create_post(sibling, Contact("FAMILLE@example.org"))  # same address, other case
    table.create_post(stranger, Contact("autre@example.org"))
    table.create_post(POST, CONTACT)
    texts = table.recent_texts(
        "famille@example.org", since=NOW - timedelta(days=7), exclude_post="P1"
    )
    assert texts == ["Repas chauds bis\nPour quatre personnes."]


def test_activations_open_close_and_refuse_a_second_close(table: EntraideTable) -> None:
    activation = make_activation(departements=("11", "34"), hashtag="#InondationsAudeHerault")
    table.create_activation(activation)
    assert table.open_activations() == [activation]
    closed = table.close_activation("A1", NOW + timedelta(days=3))
    assert closed == replace(activation, closed_at=NOW + timedelta(days=3))
    assert table.open_activations() == []
    assert table.closed_activations() == [closed]
    with pytest.raises(ActivationAlreadyClosed):
        table.close_activation("A1", NOW)
    with pytest.raises(ActivationNotFound):
        table.close_activation("nope", NOW)


def test_feed_activations_keep_their_alerts_and_widen_with_one_conditional_write(
    table: EntraideTable,
) -> None:
    from entraide.activation_rules import AlertRecord

    record = AlertRecord(
        key="vigicrues:vc:11",
        source="vigicrues",
        version="2026-11-26T06:00:00+00:00",
        level=AlertLevel.ORANGE,
        departements=("11",),
        onset=NOW,
        expires=None,
    )
    feed = make_activation(
        id="F1", hazard=Hazard.CRUES, level=AlertLevel.ORANGE, origin="vigicrues"
    )
    table.create_feed_activation(feed, (record,))
    later = replace(record, key="vigicrues:vc:34", departements=("34",), level=AlertLevel.ROUGE)
    table.update_feed_activation(
        "F1", alerts=(record, later), add_departements=("34",), level=AlertLevel.ROUGE
    )
    [tracked] = table.tracked_activations(closed_since=NOW - timedelta(days=7))
    assert tracked.activation.departements == ("11", "34")
    assert tracked.activation.level is AlertLevel.ROUGE
    assert tracked.alerts == (record, later)
    # a manual activation is never changed by the feeds
    table.create_activation(make_activation(id="M1", departements=("30",)))
    with pytest.raises(ConcurrentChange):
        table.update_feed_activation("M1", alerts=(record,))
    # closed ones are remembered for a while, then no longer looked at
    table.close_activation("F1", NOW + timedelta(days=1))
    remembered = table.tracked_activations(closed_since=NOW)
    assert {t.activation.id for t in remembered} == {"F1", "M1"}
    assert {
        t.activation.id for t in table.tracked_activations(closed_since=NOW + timedelta(days=2))
    } == {"M1"}


def test_an_approved_post_enters_the_cell_index_and_leaves_it_when_withdrawn(
    table: EntraideTable,
) -> None:
    table.create_post(POST, CONTACT)

    def cell_of(post_id: str) -> dict[str, Any] | None:
        item = table.client.get_item(
            TableName=table.table_name, Key={"pk": {"S": f"POST#{post_id}"}, "sk": {"S": "POST"}}
        )["Item"]
        return {key: item[key]["S"] for key in ("gsi3pk", "gsi3sk") if key in item} or None

    assert cell_of("P1") is None  # pending: not public
    approved = table.transition(POST, PostStatus.APPROVED, at=NOW, by="alice@mod.example")
    assert cell_of("P1") == {
        "gsi3pk": f"CELL#A1#{POST.geohash[:4]}",
        "gsi3sk": "need#2026-11-26T10:00:00Z#P1",
    }
    table.transition(approved, PostStatus.WITHDRAWN, at=NOW, by="poster")
    assert cell_of("P1") is None
