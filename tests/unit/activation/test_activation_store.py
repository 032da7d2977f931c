"""The activation store against moto, with the table of template.yaml: conditional writes hold."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from entraide.activation.activation_store import ActivationStore
from entraide.activation.rules import AlertRecord
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
        "F1", alerts=(record, later), add_departements=("34",), level=AlertLevel.ROUGE
    )
    [tracked] = activations.tracked_activations(closed_since=NOW - timedelta(days=7))
    assert tracked.activation.departements == ("11", "34")
    assert tracked.activation.level is AlertLevel.ROUGE
    assert tracked.alerts == (record, later)
    # a manual activation is never changed by the feeds
    activations.create_activation(make_activation(id="M1", departements=("30",)))
    with pytest.raises(ConcurrentChange):
        activations.update_feed_activation("M1", alerts=(record,))
    # closed ones are remembered for a while, then no longer looked at
    activations.close_activation("F1", NOW + timedelta(days=1))
    remembered = activations.tracked_activations(closed_since=NOW)
    assert {t.activation.id for t in remembered} == {"F1", "M1"}
    assert {
        t.activation.id
        for t in activations.tracked_activations(closed_since=NOW + timedelta(days=2))
    } == {"M1"}
