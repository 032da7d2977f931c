"""Opening, closing and listing activations: the platform is awake only where one is open."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from entraide.kernel.departements import hashtag_name, normalise_departement
from entraide.kernel.errors import DomainError
from entraide.kernel.model import Activation, AlertLevel, Hazard

# Beyond two names a hashtag gets too long to be typed on a phone.
MAX_DEPARTEMENTS_IN_HASHTAG = 2


class AlreadyActive(DomainError):
    def __init__(self, departement: str, activation: Activation) -> None:
        super().__init__(
            f"Le département {departement} est déjà couvert par l'activation "
            f"{activation.id} ({activation.hazard.label}, {activation.hashtag}) : une seule "
            f"activation ouverte par famille d'aléas ({activation.family.label}) et par "
            f"département."
        )
        self.activation = activation


class ActivationStore(Protocol):
    def open_activations(self) -> list[Activation]: ...

    def closed_activations(self) -> list[Activation]: ...

    def create_activation(self, activation: Activation) -> None: ...

    def close_activation(self, activation_id: str, closed_at: datetime) -> Activation: ...


def derive_hashtag(hazard: Hazard, departements: Sequence[str]) -> str:
    """``#InondationsAude``; ``#TempeteFinistereMorbihan`` for two; the first two beyond."""
    names = "".join(hashtag_name(code) for code in departements[:MAX_DEPARTEMENTS_IN_HASHTAG])
    return f"#{hazard.hashtag_word}{names}"


def open_activation(
    store: ActivationStore,
    *,
    departements: Sequence[str],
    hazard: Hazard,
    level: AlertLevel = AlertLevel.ORANGE,
    hashtag: str | None = None,
    origin: str = "manual",
    new_id: Callable[[], str],
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Activation:
    codes = tuple(dict.fromkeys(normalise_departement(code) for code in departements))
    if not codes:
        raise DomainError("Indiquez au moins un département.")
    # A friendly refusal from what is open now; the store's conditional write refuses the
    # same when another writer opens it at this very moment (DepartementCovered).
    for activation in store.open_activations():
        for code in codes:
            if activation.family is hazard.family and activation.covers(code):
                raise AlreadyActive(code, activation)
    if hashtag is not None:
        hashtag = "#" + hashtag.lstrip("#")
    activation = Activation(
        id=new_id(),
        hazard=hazard,
        departements=codes,
        level=level,
        hashtag=hashtag or derive_hashtag(hazard, codes),
        opened_at=now(),
        origin=origin,
    )
    store.create_activation(activation)
    return activation


def close_activation(
    store: ActivationStore,
    activation_id: str,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Activation:
    return store.close_activation(activation_id, now())


def list_activations(store: ActivationStore, *, include_closed: bool = False) -> list[Activation]:
    found = store.open_activations()
    if include_closed:
        found += store.closed_activations()
    return sorted(found, key=lambda activation: activation.opened_at, reverse=True)
