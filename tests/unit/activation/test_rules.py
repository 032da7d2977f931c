"""Activation rules: what the alert feeds open, extend, refresh and close, with a frozen clock."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from entraide.activation.alerts.model import Alert, SourceError
from entraide.activation.planner import plan
from entraide.activation.rules import (
    DEFAULT_HAZARDS,
    ActivationRules,
    AlertRecord,
    CloseActivation,
    ExtendActivation,
    OpenActivation,
    Plan,
    RefreshAlerts,
    TrackedActivation,
    in_force,
    qualifies,
)
from entraide.kernel.model import Activation, AlertLevel, Hazard, HazardFamily

NOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
H = timedelta(hours=1)
RULES = ActivationRules()
MF = "meteofrance"
VC = "vigicrues"

Readings = Mapping[str, Sequence[Alert] | SourceError]


def alert(
    source_id: str = "a1",
    *,
    source: str = MF,
    version: str = "1",
    hazard: Hazard = Hazard.PLUIE_INONDATION,
    level: AlertLevel = AlertLevel.ORANGE,
    departements: tuple[str, ...] = ("11",),
    onset: datetime = NOW,
    expires: datetime | None = NOW + 24 * H,
) -> Alert:
    return Alert(
        source=source,
        source_id=source_id,
        version=version,
        hazard=hazard,
        level=level,
        departements=departements,
        onset=onset,
        expires=expires,
        headline=f"Vigilance {level.value} {hazard.label}",
    )


def manual(
    activation_id: str = "manual-1",
    *,
    hazard: Hazard = Hazard.PLUIE_INONDATION,
    departements: tuple[str, ...] = ("11",),
) -> TrackedActivation:
    return TrackedActivation(
        Activation(
            id=activation_id,
            hazard=hazard,
            departements=departements,
            level=AlertLevel.ORANGE,
            hashtag="#Manuelle",
            opened_at=NOW - 100 * H,
        )
    )


def apply(
    decisions: Plan, state: Sequence[TrackedActivation], now: datetime
) -> list[TrackedActivation]:
    """What the store does with a plan, in memory: opens, extends, refreshes, closes."""
    by_id = {t.activation.id: t for t in state}
    changes: list[ExtendActivation | RefreshAlerts] = [*decisions.extends, *decisions.refreshes]
    touched = [change.activation_id for change in changes]
    assert len(touched) == len(set(touched)), "one change per activation"
    for extend in decisions.extends:
        tracked = by_id[extend.activation_id]
        act = tracked.activation
        assert act.is_open
        assert not tracked.is_manual
        by_id[act.id] = TrackedActivation(
            replace(
                act,
                departements=act.departements + extend.add_departements,
                level=extend.level,
                sources=extend.sources,
            ),
            extend.alerts,
        )
    for refresh in decisions.refreshes:
        tracked = by_id[refresh.activation_id]
        assert tracked.activation.is_open
        assert not tracked.is_manual
        by_id[refresh.activation_id] = TrackedActivation(
            replace(tracked.activation, sources=refresh.sources), refresh.alerts
        )
    for close in decisions.closes:
        tracked = by_id[close.activation_id]
        assert tracked.activation.is_open
        assert not tracked.is_manual
        by_id[close.activation_id] = replace(
            tracked, activation=replace(tracked.activation, closed_at=now)
        )
    for opening in decisions.opens:
        new_id = f"feed-{len(by_id) + 1}"
        by_id[new_id] = TrackedActivation(
            Activation(
                id=new_id,
                hazard=opening.hazard,
                departements=opening.departements,
                level=opening.level,
                hashtag=opening.hashtag,
                opened_at=now,
                origin=opening.origin,
                sources=opening.sources,
            ),
            opening.alerts,
        )
    return list(by_id.values())


def step(
    readings: Readings,
    state: Sequence[TrackedActivation],
    now: datetime,
    rules: ActivationRules = RULES,
) -> tuple[Plan, list[TrackedActivation]]:
    """Plan, apply, and check that planning again at once changes nothing."""
    decisions = plan(readings, state, now=now, rules=rules)
    after = apply(decisions, state, now)
    again = plan(readings, after, now=now, rules=rules)
    assert again.is_empty(), again
    return decisions, after


def open_feed(state: Sequence[TrackedActivation]) -> list[TrackedActivation]:
    return [t for t in state if t.activation.is_open and not t.is_manual]


def only(state: Sequence[TrackedActivation]) -> TrackedActivation:
    [tracked] = open_feed(state)
    return tracked


# -- settings and qualification --------------------------------------------------------


def test_default_rules_serve_the_issue_hazards_from_orange() -> None:
    assert RULES.hazards == DEFAULT_HAZARDS
    assert Hazard.NEIGE_VERGLAS not in RULES.hazards
    assert RULES.min_level is AlertLevel.ORANGE
    assert RULES.grace == 48 * H
    assert RULES.neighbouring == 72 * H
    assert RULES.lookahead == 24 * H


def test_rules_from_environment() -> None:
    rules = ActivationRules.from_environ(
        {
            "ACTIVATION_HAZARDS": "crues, Vent violent",
            "ACTIVATION_MIN_LEVEL": "Rouge",
            "ACTIVATION_GRACE": "12",
            "ACTIVATION_NEIGHBOURING": "PT36H",
            "TABLE_NAME": "ignored",
        }
    )
    assert rules.hazards == {Hazard.CRUES, Hazard.VENT_VIOLENT}
    assert rules.min_level is AlertLevel.ROUGE
    assert rules.grace == 12 * H
    assert rules.neighbouring == 36 * H
    assert ActivationRules.from_environ({}) == RULES


@pytest.mark.parametrize(
    "environ",
    [{"ACTIVATION_HAZARDS": "pluie"}, {"ACTIVATION_GRACE": "-1"}, {"ACTIVATION_MIN_LEVEL": "vert"}],
)
def test_bad_rules_are_refused(environ: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        ActivationRules.from_environ(environ)


def test_rules_are_frozen() -> None:
    with pytest.raises(ValidationError):
        RULES.grace = H  # type: ignore[misc]


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        (alert(), True),
        (alert(level=AlertLevel.ROUGE), True),
        (alert(level=AlertLevel.JAUNE), False),
        (alert(hazard=Hazard.NEIGE_VERGLAS), False),
        (alert(hazard=Hazard.AVALANCHES), True),
        (alert(departements=()), False),
    ],
)
def test_qualifies(candidate: Alert, expected: bool) -> None:
    assert qualifies(candidate, RULES) is expected


def test_qualifies_follows_the_settings() -> None:
    rules = ActivationRules(hazards=frozenset({Hazard.NEIGE_VERGLAS}), min_level=AlertLevel.ROUGE)
    assert qualifies(alert(hazard=Hazard.NEIGE_VERGLAS, level=AlertLevel.ROUGE), rules)
    assert not qualifies(alert(hazard=Hazard.NEIGE_VERGLAS), rules)
    assert not qualifies(alert(level=AlertLevel.ROUGE), rules)


@pytest.mark.parametrize(
    ("onset", "expires", "expected"),
    [
        (NOW - 5 * H, NOW + H, True),
        (NOW - 5 * H, None, True),
        (NOW - 5 * H, NOW, False),  # expired at now
        (NOW + 23 * H, NOW + 40 * H, True),  # tomorrow (J1) counts already
        (NOW + 24 * H, NOW + 40 * H, True),
        (NOW + 25 * H, NOW + 40 * H, False),  # later: not yet
    ],
)
def test_in_force(onset: datetime, expires: datetime | None, expected: bool) -> None:
    assert in_force(alert(onset=onset, expires=expires), now=NOW, rules=RULES) is expected


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        plan({}, [], now=NOW.replace(tzinfo=None), rules=RULES)


# -- opening -----------------------------------------------------------------------------


def test_a_qualifying_alert_opens_an_activation_with_a_derived_hashtag() -> None:
    decisions, state = step({MF: [alert()]}, [], NOW)
    assert decisions.opens == (
        OpenActivation(
            hazard=Hazard.PLUIE_INONDATION,
            level=AlertLevel.ORANGE,
            departements=("11",),
            hashtag="#InondationsAude",
            origin=MF,
            alerts=(AlertRecord.from_alert(alert()),),
        ),
    )
    assert decisions.opens[0].sources == (MF,)
    assert (decisions.extends, decisions.refreshes, decisions.closes) == ((), (), ())
    assert only(state).activation.sources == (MF,)


@pytest.mark.parametrize(
    "ignored",
    [
        alert(level=AlertLevel.JAUNE),
        alert(hazard=Hazard.NEIGE_VERGLAS),
        alert(expires=NOW - H, onset=NOW - 10 * H),
        alert(onset=NOW + 30 * H, expires=NOW + 50 * H),
    ],
)
def test_alerts_that_do_not_count_open_nothing(ignored: Alert) -> None:
    assert plan({MF: [ignored]}, [], now=NOW, rules=RULES).is_empty()


def test_an_alert_for_tomorrow_opens_once_within_the_lookahead() -> None:
    tomorrow = alert(onset=NOW + 30 * H, expires=NOW + 50 * H)
    assert plan({MF: [tomorrow]}, [], now=NOW, rules=RULES).is_empty()
    decisions = plan({MF: [tomorrow]}, [], now=NOW + 6 * H, rules=RULES)
    assert len(decisions.opens) == 1


def test_overlapping_alerts_of_one_run_open_one_activation() -> None:
    alerts = [
        alert("a1", departements=("11",)),
        alert("a2", departements=("34", "11"), level=AlertLevel.ROUGE, onset=NOW + 2 * H),
        alert("c1", source=VC, hazard=Hazard.PLUIE_INONDATION, departements=("66",)),
    ]
    decisions, state = step({MF: alerts[:2], VC: alerts[2:]}, [], NOW)
    [opening] = decisions.opens
    assert opening.departements == ("11", "66", "34")  # by onset, then key
    assert opening.level is AlertLevel.ROUGE
    assert opening.hashtag == "#InondationsAudePyreneesOrientales"
    assert {r.key for r in opening.alerts} == {a.key for a in alerts}
    assert opening.sources == (MF, VC)
    assert only(state).activation.sources == (MF, VC)


def test_alerts_far_apart_in_time_open_two_activations() -> None:
    rules = ActivationRules(neighbouring=12 * H, lookahead=72 * H)
    now_alert = alert("a1", departements=("11",), expires=NOW + 6 * H)
    later = alert("a2", departements=("34",), onset=NOW + 30 * H, expires=NOW + 40 * H)
    decisions, _ = step({MF: [now_alert, later]}, [], NOW, rules)
    assert [o.departements for o in decisions.opens] == [("11",), ("34",)]


def test_different_hazards_open_different_activations() -> None:
    decisions, _ = step(
        {MF: [alert("a1"), alert("a2", hazard=Hazard.VENT_VIOLENT, departements=("29", "56"))]},
        [],
        NOW,
    )
    assert sorted(o.hashtag for o in decisions.opens) == [
        "#InondationsAude",
        "#TempeteFinistereMorbihan",
    ]


def test_the_same_alert_seen_twice_changes_nothing() -> None:
    _, state = step({MF: [alert()]}, [], NOW)
    assert plan({MF: [alert()]}, state, now=NOW + 15 * timedelta(minutes=1), rules=RULES).is_empty()
    assert plan({MF: [alert(), alert()]}, state, now=NOW + 6 * H, rules=RULES).is_empty()


# -- extending and refreshing -------------------------------------------------------------


def test_a_neighbouring_alert_in_another_departement_extends() -> None:
    _, state = step({MF: [alert("a1")]}, [], NOW)
    first = only(state).activation
    neighbour = alert("a2", departements=("34",), level=AlertLevel.ROUGE, onset=NOW + 20 * H)
    decisions, state = step({MF: [alert("a1"), neighbour]}, state, NOW + 3 * H)
    assert decisions.opens == ()
    [extend] = decisions.extends
    assert extend == ExtendActivation(
        activation_id=first.id,
        add_departements=("34",),
        level=AlertLevel.ROUGE,
        alerts=(AlertRecord.from_alert(alert("a1")), AlertRecord.from_alert(neighbour)),
    )
    after = only(state).activation
    assert after.departements == ("11", "34")
    assert after.hashtag == first.hashtag == "#InondationsAude"  # announced: kept


def test_an_alert_in_the_grace_period_extends_rather_than_opens() -> None:
    first = alert("a1", expires=NOW + 6 * H)
    _, state = step({MF: [first]}, [], NOW)
    later = NOW + 30 * H  # expired 24 h ago, still in grace
    a2 = alert("a2", departements=("34",), onset=later, expires=later + 12 * H)
    decisions, state = step({MF: [a2]}, state, later)
    assert decisions.opens == ()
    assert decisions.extends[0].add_departements == ("34",)
    assert only(state).activation.departements == ("11", "34")


def test_a_new_version_with_a_later_expiry_refreshes_only() -> None:
    _, state = step({MF: [alert()]}, [], NOW)
    newer = alert(version="2", expires=NOW + 48 * H)
    decisions, state = step({MF: [newer]}, state, NOW + H)
    assert decisions.refreshes == (
        RefreshAlerts(only(state).activation.id, (AlertRecord.from_alert(newer),)),
    )
    assert (decisions.opens, decisions.extends, decisions.closes) == ((), (), ())


def test_a_new_version_that_adds_a_departement_extends() -> None:
    _, state = step({MF: [alert()]}, [], NOW)
    newer = alert(version="2", departements=("11", "30"))
    decisions, state = step({MF: [newer]}, state, NOW + H)
    [extend] = decisions.extends
    assert extend.add_departements == ("30",)
    assert extend.alerts == (AlertRecord.from_alert(newer),)
    assert decisions.refreshes == ()


def test_a_raised_level_raises_the_activation_level() -> None:
    _, state = step({MF: [alert()]}, [], NOW)
    decisions, state = step({MF: [alert(version="2", level=AlertLevel.ROUGE)]}, state, NOW + H)
    [extend] = decisions.extends
    assert (extend.add_departements, extend.level) == ((), AlertLevel.ROUGE)
    # Back to orange: the records follow, the activation keeps its highest level.
    decisions, state = step({MF: [alert(version="3")]}, state, NOW + 2 * H)
    assert decisions.extends == ()
    assert len(decisions.refreshes) == 1
    assert only(state).activation.level is AlertLevel.ROUGE


def test_an_extension_never_takes_a_departement_of_another_feed_activation() -> None:
    rules = ActivationRules(neighbouring=H)
    far = NOW + 20 * H
    _, state = step(
        {MF: [alert("a1", expires=NOW + 2 * H), alert("a2", departements=("34",), onset=far)]},
        [],
        NOW,
        rules,
    )
    assert len(open_feed(state)) == 2
    # a1 now also covers 34, which the other activation has.
    decisions = plan(
        {
            MF: [
                alert("a1", version="2", departements=("11", "34"), expires=NOW + 2 * H),
                alert("a2", departements=("34",), onset=far),
            ]
        },
        state,
        now=NOW + H,
        rules=rules,
    )
    assert decisions.extends == ()
    assert len(decisions.refreshes) == 1


# -- manual activations ------------------------------------------------------------------


def test_a_departement_under_a_manual_activation_is_left_to_it() -> None:
    state = [manual(departements=("11",))]
    decisions, after = step({MF: [alert()]}, state, NOW)
    assert decisions.is_empty()
    assert any("manuelle manual-1" in note for note in decisions.notes)
    assert after == state


def test_a_manual_activation_does_not_stop_the_feed_elsewhere() -> None:
    decisions, _ = step({MF: [alert(departements=("11", "34"))]}, [manual()], NOW)
    [opening] = decisions.opens
    assert opening.departements == ("34",)
    assert opening.hashtag == "#InondationsHerault"
    assert opening.alerts[0].departements == ("11", "34")  # what the source said
    assert any("département 11" in note for note in decisions.notes)


def test_a_manual_activation_of_another_hazard_does_not_count() -> None:
    decisions, _ = step({MF: [alert()]}, [manual(hazard=Hazard.VENT_VIOLENT)], NOW)
    assert [o.departements for o in decisions.opens] == [("11",)]


# -- hazard families ------------------------------------------------------------------------


def test_a_manual_flood_and_a_vigicrues_river_flood_on_one_departement_are_one_activation() -> None:
    # Given an operator's inondation activation on the Aude
    state = [manual(hazard=Hazard.INONDATION, departements=("11",))]
    # When Vigicrues says orange crues on the Aude
    decisions, after = step({VC: [alert("vc:11", source=VC, hazard=Hazard.CRUES)]}, state, NOW)
    # Then nothing opens: the Aude is covered for water by the manual activation
    assert decisions.is_empty()
    assert any("inondations et crues" in note for note in decisions.notes)
    assert after == state


def test_an_alert_of_the_family_extends_the_open_activation_instead_of_opening() -> None:
    # Given a feed activation opened by Météo-France's rain-flood orange on the Aude
    _, state = step({MF: [alert("mf:11:2")]}, [], NOW)
    # When Vigicrues adds orange crues on the Aude and the Hérault
    river = alert("vc:X", source=VC, hazard=Hazard.CRUES, departements=("11", "34"))
    decisions, after = step({MF: [alert("mf:11:2")], VC: [river]}, state, NOW + H)
    # Then the same activation takes the Hérault, keeps its hashtag and both alerts
    assert decisions.opens == ()
    tracked = only(after)
    assert tracked.activation.departements == ("11", "34")
    assert tracked.activation.hashtag == "#InondationsAude"
    assert {(r.hazard, r.key) for r in tracked.alerts} == {
        (Hazard.PLUIE_INONDATION, "meteofrance:mf:11:2"),
        (Hazard.CRUES, "vigicrues:vc:X"),
    }


def test_the_activation_of_a_family_closes_only_when_every_alert_of_the_family_ended() -> None:
    rules = ActivationRules(grace=0 * H)
    rain = alert("mf:11:2", expires=NOW + 6 * H)
    river = alert("vc:11", source=VC, hazard=Hazard.CRUES, expires=None)
    _, state = step({MF: [rain], VC: [river]}, [], NOW, rules)
    assert len(open_feed(state)) == 1
    # the rain is over, the river still in flood: still open
    decisions, state = step({MF: [], VC: [river]}, state, NOW + 7 * H, rules)
    assert decisions.closes == ()
    # the river back to vert: it closes, naming the family
    decisions, state = step({MF: [], VC: []}, state, NOW + 8 * H, rules)
    [close] = decisions.closes
    assert "inondations et crues" in close.reason
    assert open_feed(state) == []


def test_manual_activations_are_never_touched() -> None:
    state = [manual(), manual("manual-2", hazard=Hazard.CRUES, departements=("30",))]
    all_readings: list[Readings] = [{}, {MF: []}, {MF: SourceError(MF, "HTTP 503")}]
    for readings in all_readings:
        for later in (NOW, NOW + 1000 * H):
            assert plan(readings, state, now=later, rules=RULES).is_empty()


def test_the_feed_opens_once_the_manual_activation_is_closed() -> None:
    state = [manual()]
    assert plan({MF: [alert()]}, state, now=NOW, rules=RULES).is_empty()
    closed = [replace(state[0], activation=replace(state[0].activation, closed_at=NOW))]
    decisions = plan({MF: [alert()]}, closed, now=NOW + H, rules=RULES)
    assert [o.departements for o in decisions.opens] == [("11",)]


# -- ends and closing ---------------------------------------------------------------------


def test_lifecycle_open_extend_expire_grace_close() -> None:
    a1 = alert("a1", expires=NOW + 12 * H)
    a2 = alert("a2", departements=("34",), onset=NOW + 6 * H, expires=NOW + 18 * H)

    decisions, state = step({MF: [a1]}, [], NOW)
    assert len(decisions.opens) == 1
    activation_id = only(state).activation.id

    decisions, state = step({MF: [a1, a2]}, state, NOW + 2 * H)
    assert decisions.extends[0].add_departements == ("34",)

    # Both expired (the source still lists them): grace runs from the last expiry.
    for hours in (12, 18, 40, 65):
        decisions, state = step({MF: [a1, a2]}, state, NOW + hours * H)
        assert decisions.is_empty(), hours

    decisions, state = step({MF: [a1, a2]}, state, NOW + 66 * H)  # 18 h + 48 h
    [close] = decisions.closes
    assert close.activation_id == activation_id
    assert "#InondationsAude" in close.reason
    assert "délai de grâce de 48 h" in close.reason
    assert "27 novembre 2026 à 1 h 00" in close.reason  # 00:00 UTC, Paris time
    assert open_feed(state) == []
    assert plan({MF: [a1, a2]}, state, now=NOW + 100 * H, rules=RULES).is_empty()


def test_a_feed_outage_in_the_grace_period_delays_the_close() -> None:
    a1 = alert("a1", expires=NOW + 12 * H)
    _, state = step({MF: [a1]}, [], NOW)
    down: Readings = {MF: SourceError(MF, "HTTP 503")}

    decisions, state = step(down, state, NOW + 30 * H)  # in grace, source down
    assert decisions.is_empty()
    assert decisions.skipped_sources == (MF,)

    for hours in (60, 61, 200):  # grace over, source still down: no close
        decisions, state = step(down, state, NOW + hours * H)
        assert decisions.is_empty(), hours
        assert any("fermeture reportée" in note for note in decisions.notes)

    decisions, state = step({MF: [a1]}, state, NOW + 201 * H)  # reads fine again
    assert len(decisions.closes) == 1


def test_a_source_that_was_not_read_delays_the_close_too() -> None:
    _, state = step({MF: [alert(expires=NOW + H)]}, [], NOW)
    assert plan({VC: []}, state, now=NOW + 100 * H, rules=RULES).closes == ()
    assert len(plan({MF: [], VC: []}, state, now=NOW + 100 * H, rules=RULES).closes) == 1


def test_an_outage_of_another_source_does_not_delay_the_close() -> None:
    _, state = step({MF: [alert(expires=NOW + H)]}, [], NOW)
    decisions = plan({MF: [], VC: SourceError(VC, "timeout")}, state, now=NOW + 60 * H, rules=RULES)
    assert len(decisions.closes) == 1
    assert decisions.skipped_sources == (VC,)


def test_an_alert_that_disappears_ends_when_it_disappears() -> None:
    endless = alert(expires=None)
    _, state = step({MF: [endless]}, [], NOW)
    decisions, state = step({MF: []}, state, NOW + 5 * H)
    [refresh] = decisions.refreshes
    assert refresh.alerts == (replace(AlertRecord.from_alert(endless), ended_at=NOW + 5 * H),)
    assert plan({MF: []}, state, now=NOW + 52 * H, rules=RULES).is_empty()
    decisions, state = step({MF: []}, state, NOW + 53 * H)
    assert len(decisions.closes) == 1


def test_an_alert_missing_from_a_failed_read_does_not_end() -> None:
    _, state = step({MF: [alert(expires=None)]}, [], NOW)
    for later in (NOW + H, NOW + 500 * H):
        decisions = plan({MF: SourceError(MF, "malformed XML")}, state, now=later, rules=RULES)
        assert decisions.is_empty()
        assert any("malformed XML" in note for note in decisions.notes)


def test_an_alert_that_comes_back_is_alive_again() -> None:
    endless = alert(expires=None)
    _, state = step({MF: [endless]}, [], NOW)
    _, state = step({MF: []}, state, NOW + H)  # a partial read
    decisions, state = step({MF: [endless]}, state, NOW + 2 * H)
    assert decisions.refreshes[0].alerts == (AlertRecord.from_alert(endless),)
    assert plan({MF: [endless]}, state, now=NOW + 500 * H, rules=RULES).is_empty()


def test_an_alert_downgraded_to_yellow_ends_and_the_activation_closes_after_grace() -> None:
    _, state = step({MF: [alert(expires=NOW + 24 * H)]}, [], NOW)
    yellow = alert(version="2", level=AlertLevel.JAUNE, expires=NOW + 24 * H)
    decisions, state = step({MF: [yellow]}, state, NOW + 3 * H)
    [refresh] = decisions.refreshes
    assert refresh.alerts == (replace(AlertRecord.from_alert(yellow), ended_at=NOW + 3 * H),)
    assert only(state).activation.level is AlertLevel.ORANGE
    assert plan({MF: [yellow]}, state, now=NOW + 50 * H, rules=RULES).is_empty()
    decisions, state = step({MF: [yellow]}, state, NOW + 51 * H)
    assert len(decisions.closes) == 1


def test_grace_zero_refreshes_and_closes_in_one_plan() -> None:
    rules = ActivationRules(grace=timedelta(0))
    _, state = step({MF: [alert(expires=None)]}, [], NOW, rules)
    decisions, state = step({MF: []}, state, NOW + H, rules)
    assert len(decisions.refreshes) == 1
    assert len(decisions.closes) == 1
    assert open_feed(state) == []


def test_an_alert_of_a_closed_activation_does_not_reopen_it_at_the_same_version() -> None:
    _, state = step({MF: [alert()]}, [], NOW)
    [tracked] = state
    # An operator closes the feed activation early.
    state = [replace(tracked, activation=replace(tracked.activation, closed_at=NOW + H))]
    assert plan({MF: [alert()]}, state, now=NOW + 2 * H, rules=RULES).is_empty()
    decisions = plan({MF: [alert(version="2")]}, state, now=NOW + 3 * H, rules=RULES)
    assert len(decisions.opens) == 1


def test_a_new_alert_on_a_departement_still_covered_joins_whatever_the_time() -> None:
    rules = ActivationRules(neighbouring=H)
    _, state = step({MF: [alert(expires=NOW + H)]}, [], NOW, rules)
    later = NOW + 300 * H  # the close has waited for meteofrance all along
    decisions, state = step(
        {MF: SourceError(MF, "down"), VC: [alert("c1", source=VC, onset=later, expires=None)]},
        state,
        later,
        rules,
    )
    assert decisions.opens == ()
    assert len(decisions.refreshes) == 1
    assert only(state).activation.sources == (MF, VC)


def test_an_activation_without_known_alerts_is_not_closed() -> None:
    orphan = TrackedActivation(
        Activation(
            id="feed-x",
            hazard=Hazard.CRUES,
            departements=("30",),
            level=AlertLevel.ORANGE,
            hashtag="#CruesGard",
            opened_at=NOW - 500 * H,
            origin=VC,
        )
    )
    decisions = plan({VC: []}, [orphan], now=NOW, rules=RULES)
    assert decisions.is_empty()
    assert any("aucune alerte connue" in note for note in decisions.notes)


def test_a_closing_activation_hands_its_departement_over_in_the_same_run() -> None:
    rules = ActivationRules(neighbouring=H, grace=60 * H)
    old = alert("a1", departements=("34",), onset=NOW - 80 * H, expires=NOW - 60 * H)
    _, state = step({MF: [old]}, [], NOW - 70 * H, rules)
    # Too far in time from the old one: another activation.
    new = alert("a2", departements=("11",), expires=NOW + 30 * H)
    _, state = step({MF: [new]}, state, NOW - 2 * H, rules)
    assert len(open_feed(state)) == 2
    # Its new version also covers 34, still held by the old one, which closes now.
    wider = alert("a2", version="2", departements=("11", "34"), expires=NOW + 30 * H)
    decisions, state = step({MF: [wider]}, state, NOW, rules)
    assert len(decisions.closes) == 1
    assert decisions.extends[0].add_departements == ("34",)
    assert only(state).activation.departements == ("11", "34")


def test_an_alert_claiming_another_source_is_ignored() -> None:
    decisions = plan({MF: [alert(source=VC)]}, [], now=NOW, rules=RULES)
    assert decisions.is_empty()
    assert any("ignorée" in note for note in decisions.notes)


def test_close_reason_is_french_and_counts_the_alerts() -> None:
    alerts = [alert("a1", expires=NOW + H), alert("a2", expires=NOW + 2 * H)]
    _, state = step({MF: alerts}, [], NOW)
    [close] = plan({MF: alerts}, state, now=NOW + 50 * H, rules=RULES).closes
    assert isinstance(close, CloseActivation)
    assert close.reason.startswith("Fin de vigilance pour #InondationsAude")
    assert "les 2 alertes à son origine ont pris fin" in close.reason
    assert "annonces encore ouvertes expirent" in close.reason


# -- properties --------------------------------------------------------------------------

SOURCES = (MF, VC)
DEPTS = ("11", "34", "66", "2A")
HAZARDS = (Hazard.PLUIE_INONDATION, Hazard.CRUES, Hazard.NEIGE_VERGLAS)


@st.composite
def alerts_of(draw: st.DrawFn, source: str, now: datetime) -> Alert:
    onset = now + draw(st.integers(-48, 36)) * H
    duration = draw(st.one_of(st.none(), st.integers(1, 96)))
    return Alert(
        source=source,
        source_id=f"id{draw(st.integers(0, 3))}",
        version=f"v{draw(st.integers(0, 2))}",
        hazard=draw(st.sampled_from(HAZARDS)),
        level=draw(st.sampled_from(list(AlertLevel))),
        departements=tuple(draw(st.lists(st.sampled_from(DEPTS), min_size=1, max_size=3))),
        onset=onset,
        expires=None if duration is None else onset + duration * H,
    )


@st.composite
def runs(draw: st.DrawFn) -> list[tuple[datetime, dict[str, Sequence[Alert] | SourceError]]]:
    now = NOW
    result: list[tuple[datetime, dict[str, Sequence[Alert] | SourceError]]] = []
    for _ in range(draw(st.integers(1, 8))):
        now += draw(st.sampled_from([0, 1, 6, 24, 49, 100])) * H
        readings: dict[str, Sequence[Alert] | SourceError] = {}
        for source in SOURCES:
            outcome = draw(st.sampled_from(["alerts", "alerts", "error", "absent"]))
            if outcome == "error":
                readings[source] = SourceError(source, "HTTP 503")
            elif outcome == "alerts":
                readings[source] = draw(st.lists(alerts_of(source, now), max_size=4))
        result.append((now, readings))
    return result


def _check_plan(decisions: Plan, state: Sequence[TrackedActivation], readings: Readings) -> None:
    by_id = {t.activation.id: t for t in state}
    not_read = {s for s in SOURCES if not isinstance(readings.get(s, SourceError(s, "")), list)}
    changes: list[ExtendActivation | RefreshAlerts] = [*decisions.extends, *decisions.refreshes]
    targets = [change.activation_id for change in changes]
    for activation_id in (*targets, *(close.activation_id for close in decisions.closes)):
        tracked = by_id[activation_id]
        assert tracked.activation.is_open
        assert not tracked.is_manual
    for close in decisions.closes:
        tracked = by_id[close.activation_id]
        sources = {r.source for r in tracked.alerts} | set(tracked.activation.sources)
        assert not sources & not_read, "a failed or missing source caused a close"
    for change in changes:
        before = {r.key: r for r in by_id[change.activation_id].alerts}
        after = {r.key: r for r in change.alerts}
        assert before.keys() <= after.keys(), "a record was dropped"
        for key, record in before.items():
            if record.source in not_read:
                assert after[key] == record, "a failed source changed a record"


def _check_state(state: Sequence[TrackedActivation], manuals: Sequence[TrackedActivation]) -> None:
    covered: set[tuple[HazardFamily, str]] = set()
    for tracked in state:
        act = tracked.activation
        if not act.is_open:
            continue
        for code in act.departements:
            assert (act.family, code) not in covered, f"two open activations on {code}"
            covered.add((act.family, code))
        if not tracked.is_manual:
            assert act.departements
            assert tracked.alerts
            # an alert is known by its hazard and key (the same key under two hazards is
            # two alerts, which one activation of their family may hold)
            identities = {(r.hazard, r.key) for r in tracked.alerts}
            assert len(identities) == len(tracked.alerts)
    for original in manuals:
        assert original in state, "a manual activation was touched"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    run=runs(),
    manual_departements=st.lists(st.sampled_from(DEPTS), max_size=2, unique=True),
    manual_hazard=st.sampled_from(HAZARDS),
    grace_hours=st.sampled_from([0, 48]),
)
def test_plans_converge_and_keep_the_invariants(
    run: list[tuple[datetime, Readings]],
    manual_departements: list[str],
    manual_hazard: Hazard,
    grace_hours: int,
) -> None:
    rules = ActivationRules(grace=grace_hours * H)
    manuals = (
        [manual(hazard=manual_hazard, departements=tuple(manual_departements))]
        if manual_departements
        else []
    )
    state: list[TrackedActivation] = list(manuals)
    for now, readings in run:
        decisions = plan(readings, state, now=now, rules=rules)
        _check_plan(decisions, state, readings)
        state = apply(decisions, state, now)
        _check_state(state, manuals)
        # Converged: the same readings at the same time change nothing more.
        assert plan(readings, state, now=now, rules=rules).is_empty()
        # Later, with nothing new, still no double activation and no forbidden close.
        quiet: Readings = {s: r if isinstance(r, SourceError) else [] for s, r in readings.items()}
        later = plan(quiet, state, now=now + 1000 * H, rules=rules)
        _check_plan(later, state, quiet)
        _check_state(apply(later, state, now + 1000 * H), manuals)
