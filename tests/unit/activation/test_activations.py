"""Manual activations: opened, refused when redundant, closed, listed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from entraide.activation.activations import (
    AlreadyActive,
    close_activation,
    derive_hashtag,
    list_activations,
    open_activation,
)
from entraide.kernel.departements import UnknownDepartement
from entraide.kernel.model import Activation, AlertLevel, Hazard

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


class MemoryStore:
    def __init__(self) -> None:
        self.items: dict[str, Activation] = {}

    def open_activations(self) -> list[Activation]:
        return [a for a in self.items.values() if a.is_open]

    def closed_activations(self) -> list[Activation]:
        return [a for a in self.items.values() if not a.is_open]

    def create_activation(self, activation: Activation) -> None:
        assert activation.id not in self.items
        self.items[activation.id] = activation

    def close_activation(self, activation_id: str, closed_at: datetime) -> Activation:
        from dataclasses import replace

        closed = replace(self.items[activation_id], closed_at=closed_at)
        self.items[activation_id] = closed
        return closed


def ids() -> Callable[[], str]:
    counter = iter(range(1, 100))
    return lambda: f"A{next(counter)}"


@pytest.mark.parametrize(
    ("hazard", "codes", "expected"),
    [
        (Hazard.INONDATION, ["11"], "#InondationsAude"),
        (Hazard.VENT_VIOLENT, ["29", "56"], "#TempeteFinistereMorbihan"),
        (Hazard.CRUES, ["66", "11", "34"], "#CruesPyreneesOrientalesAude"),
        (Hazard.INONDATION, ["974"], "#InondationsLaReunion"),
        (Hazard.ORAGES, ["2A"], "#OragesCorseDuSud"),
    ],
)
def test_hashtag_is_derived_from_hazard_and_departements(
    hazard: Hazard, codes: list[str], expected: str
) -> None:
    assert derive_hashtag(hazard, codes) == expected


def test_open_normalises_codes_and_records_a_manual_activation() -> None:
    store = MemoryStore()
    activation = open_activation(
        store,
        departements=["11", "2a", "11"],
        hazard=Hazard.INONDATION,
        new_id=lambda: "A1",
        now=lambda: NOW,
    )
    assert activation.departements == ("11", "2A")
    assert (activation.origin, activation.level, activation.opened_at) == (
        "manual",
        AlertLevel.ORANGE,
        NOW,
    )
    assert store.items == {"A1": activation}


def test_second_activation_of_the_same_hazard_over_a_departement_is_refused() -> None:
    store = MemoryStore()
    open_activation(store, departements=["11"], hazard=Hazard.INONDATION, new_id=lambda: "A1")
    with pytest.raises(AlreadyActive) as exc:
        open_activation(
            store, departements=["34", "11"], hazard=Hazard.INONDATION, new_id=lambda: "A2"
        )
    assert "11" in exc.value.message
    assert list(store.items) == ["A1"]


def test_unknown_departement_is_refused() -> None:
    with pytest.raises(UnknownDepartement):
        open_activation(MemoryStore(), departements=["20"], hazard=Hazard.ORAGES, new_id=str)


def test_explicit_hashtag_gets_one_hash() -> None:
    activation = open_activation(
        MemoryStore(),
        departements=["11"],
        hazard=Hazard.INONDATION,
        hashtag="Aude2026",
        new_id=lambda: "A1",
    )
    assert activation.hashtag == "#Aude2026"


def test_list_shows_open_first_then_closed_with_all() -> None:
    store = MemoryStore()
    new_id = ids()
    first = open_activation(
        store, departements=["11"], hazard=Hazard.CRUES, new_id=new_id, now=lambda: NOW
    )
    second = open_activation(
        store,
        departements=["34"],
        hazard=Hazard.CRUES,
        new_id=new_id,
        now=lambda: NOW + timedelta(hours=1),
    )
    close_activation(store, first.id, now=lambda: NOW + timedelta(hours=2))
    assert [a.id for a in list_activations(store)] == [second.id]
    assert [a.id for a in list_activations(store, include_closed=True)] == [second.id, first.id]
