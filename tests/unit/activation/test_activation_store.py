"""The activation store against moto, with the table of template.yaml: conditional writes hold."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from entraide.activation.activation_store import ActivationStore, DepartementCovered
from entraide.activation.rules import AlertRecord
from entraide.adapters.table import Table
from entraide.kernel.errors import ActivationAlreadyClosed, ActivationNotFound, ConcurrentChange
from entraide.kernel.model import AlertLevel, Hazard
from tests.factories import NOW, make_activation


def test_activations_open_close_and_refuse_a_second_close(activations: ActivationStore) -> None:
    activation = make_activation(departements=("11", "34"), hashtag="#InondationsAudeHerault")
    activations.create_activation(activation)
    assert activations.open_activations() == [activation]
    closed = activations.close_activation("A1", NOW + timedelta(days=3))
    assert closed == replace(activation, closed_at=NOW + timedelta(days=3))
    assert activations.open_activations() == []
    assert activations.closed_activations() == [closed]
    with pytest.raises(ActivationAlreadyClosed):
        activations.close_activation("A1", NOW)
    with pytest.raises(ActivationNotFound):
        activations.close_activation("nope", NOW)


def test_feed_activations_keep_their_alerts_and_widen_with_one_conditional_write(
    activations: ActivationStore,
) -> None:

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
    activations.create_feed_activation(feed, (record,))
    later = replace(record, key="vigicrues:vc:34", departements=("34",), level=AlertLevel.ROUGE)
    activations.update_feed_activation(
        feed, alerts=(record, later), add_departements=("34",), level=AlertLevel.ROUGE
    )
    [tracked] = activations.tracked_activations(closed_since=NOW - timedelta(days=7))
    assert tracked.activation.departements == ("11", "34")
    assert tracked.activation.level is AlertLevel.ROUGE
    assert tracked.alerts == (record, later)
    # a manual activation is never changed by the feeds
    manual = make_activation(id="M1", departements=("30",))
    activations.create_activation(manual)
    with pytest.raises(ConcurrentChange):
        activations.update_feed_activation(manual, alerts=(record,))
    # closed ones are remembered for a while, then no longer looked at
    activations.close_activation("F1", NOW + timedelta(days=1))
    remembered = activations.tracked_activations(closed_since=NOW)
    assert {t.activation.id for t in remembered} == {"F1", "M1"}
    assert {
        t.activation.id
        for t in activations.tracked_activations(closed_since=NOW + timedelta(days=2))
    } == {"M1"}


# --- one open activation per family and département ---------------------------------------


def test_a_second_activation_of_the_family_on_a_departement_is_refused_by_the_table(
    activations: ActivationStore,
) -> None:
    # Given a manual flood activation on the Aude and the Hérault
    activations.create_activation(make_activation(id="M1", departements=("11", "34")))
    # When a Vigicrues river-flood activation for the Aude is written (the check in code
    # having been passed by, as two writers at once do)
    feed = make_activation(id="F1", hazard=Hazard.CRUES, departements=("11",), origin="vigicrues")
    # Then the table refuses it, naming who holds the département
    with pytest.raises(DepartementCovered) as refused:
        activations.create_feed_activation(feed, ())
    assert refused.value.holder == "M1"
    assert "Aude" in str(refused.value)
    assert activations.get_activation("F1") is None
    # and another family is free to open there
    activations.create_activation(make_activation(id="W1", hazard=Hazard.ORAGES))
    # and once M1 is closed, its départements are free again
    activations.close_activation("M1", NOW + timedelta(hours=1))
    activations.create_feed_activation(feed, ())
    assert {a.id for a in activations.open_activations()} == {"F1", "W1"}


def test_widening_onto_a_covered_departement_is_refused_and_changes_nothing(
    activations: ActivationStore,
) -> None:
    feed = make_activation(id="F1", hazard=Hazard.CRUES, departements=("11",), origin="vigicrues")
    activations.create_feed_activation(feed, ())
    activations.create_activation(make_activation(id="M2", departements=("34",)))
    with pytest.raises(DepartementCovered):
        activations.update_feed_activation(feed, alerts=(), add_departements=("34",))
    stored = activations.get_activation("F1")
    assert stored is not None
    assert stored.departements == ("11",)


def test_closed_activations_are_read_from_their_closing_on_only(
    activations: ActivationStore, table: Table
) -> None:
    # Given many activations closed long ago and one closed yesterday
    for n in range(30):
        activations.create_activation(make_activation(id=f"OLD{n}", departements=(f"{n + 1:02d}",)))
        activations.close_activation(f"OLD{n}", NOW - timedelta(days=60))
    activations.create_activation(make_activation(id="RECENT", departements=("40",)))
    activations.close_activation("RECENT", NOW - timedelta(days=1))
    # When the feeds ask for the activations closed in the last week
    reads: list[int] = []
    original = table.query_pages

    def counting(*args: Any, **kwargs: Any) -> Any:
        for items, scanned in original(*args, **kwargs):
            reads.append(scanned)
            yield items, scanned

    table.query_pages = counting  # type: ignore[method-assign]
    tracked = activations.tracked_activations(closed_since=NOW - timedelta(days=7))
    # Then only the recent one is read, not the thirty others
    assert [t.activation.id for t in tracked] == ["RECENT"]
    assert sum(reads) == 1


def test_a_closing_leaves_an_expiry_job_until_it_is_finished(activations: ActivationStore) -> None:
    activations.create_activation(make_activation(id="A1"))
    activations.close_activation("A1", NOW)
    [job] = activations.pending_expiries()
    assert (job.activation_id, job.status, job.cursor, job.expired) == ("A1", None, None, 0)
    moved = replace(job, status="approved", cursor={"pk": "POST#x", "sk": "POST"}, expired=200)
    activations.save_expiry(moved)
    assert activations.pending_expiries() == [moved]
    activations.finish_expiry(moved)
    assert activations.pending_expiries() == []
