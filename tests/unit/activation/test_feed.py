"""A feed run against the table: races lost to another writer, documents that do not count."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from entraide.activation.activation_store import ActivationStore
from entraide.activation.alerts.meteofrance import MeteoFranceVigilance
from entraide.activation.alerts.model import Alert
from entraide.activation.alerts.promise import Promise
from entraide.activation.alerts.sources import alerts_of, read_all
from entraide.activation.feed import run_feeds
from entraide.activation.rules import ActivationRules, TrackedActivation
from entraide.kernel.model import AlertLevel, Hazard
from tests.factories import NOW, make_activation
from tests.paths import FIXTURES

RULES = ActivationRules()


def ids() -> Iterator[str]:
    n = 0
    while True:
        n += 1
        yield f"F{n}"


def crues(*departements: str, expires: datetime | None = None) -> Alert:
    return Alert(
        source="vigicrues",
        source_id="vc:X",
        version="1",
        hazard=Hazard.CRUES,
        level=AlertLevel.ORANGE,
        departements=departements,
        onset=NOW,
        expires=expires,
    )


class OperatorInBetween(ActivationStore):
    """The table as a run sees it while an operator opens the Aude for floods between the
    run's read and its write."""

    def tracked_activations(self, *, closed_since: datetime) -> list[TrackedActivation]:
        tracked = super().tracked_activations(closed_since=closed_since)
        if not self.table.get({"pk": "ACTIVATION#M1", "sk": "ACTIVATION"}):
            super().create_activation(make_activation(id="M1", hazard=Hazard.INONDATION))
        return tracked


def test_a_run_that_loses_the_race_plans_again_and_leaves_the_departement_to_the_winner(
    activations: ActivationStore,
) -> None:
    # Given an operator opening the Aude for floods at the very moment a run reads
    racing = OperatorInBetween(activations.table)
    new = ids()
    # When Vigicrues says orange on the Aude and the Hérault
    run = run_feeds(
        racing, {"vigicrues": [crues("11", "34")]}, rules=RULES, now=NOW, new_id=lambda: next(new)
    )
    # Then the run's first write was refused, and its second plan opened the Hérault only
    opened = {a.id: a.departements for a in activations.open_activations()}
    assert opened == {"M1": ("11",), run.opened[0]: ("34",)}


def test_a_single_departement_answer_never_ends_the_alerts_of_the_others(
    activations: ActivationStore,
) -> None:
    # Given a feed activation on the Hérault from Météo-France's rain-flood orange
    alert = Alert(
        source="meteofrance",
        source_id="mf:34:2",
        version="1",
        hazard=Hazard.PLUIE_INONDATION,
        level=AlertLevel.ORANGE,
        departements=("34",),
        onset=NOW,
        expires=None,
    )
    new = ids()
    run_feeds(activations, {"meteofrance": [alert]}, rules=RULES, now=NOW, new_id=lambda: next(new))
    [open_one] = activations.open_activations()
    # When Météo-France is then read from an answer for the Bouches-du-Rhône only (real,
    # all vert), well past the grace period
    source = MeteoFranceVigilance(
        (FIXTURES / "alerts" / "mf_mobileapi_warning_full_13.json").as_uri(),
        promise=Promise.of("meteofrance"),
    )
    later = NOW + timedelta(days=5)
    readings = read_all([source], later)
    run = run_feeds(
        activations, alerts_of(readings), rules=RULES, now=later, new_id=lambda: next(new)
    )
    # Then it is a failure of the source, not an all clear: the Hérault stays open
    assert run.failed_sources == ("meteofrance",)
    assert "couverture partielle" in str(readings["meteofrance"])
    assert [a.id for a in activations.open_activations()] == [open_one.id]
    [tracked] = activations.tracked_activations(closed_since=later)
    assert tracked.alerts[0].ended_at is None
