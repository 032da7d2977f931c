"""The domain's nouns: kinds, categories, statuses, hazards, levels; a post and an activation.

Every capability speaks these words; none of them does I/O. Labels are French: they are
what a person reads. How a post is validated when it comes in is intake's business
(:mod:`entraide.intake.submission`); how it is stored is its data-access module's
(:mod:`entraide.intake.post_store`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from entraide.kernel.text import fold


class Kind(StrEnum):
    NEED = "need"
    OFFER = "offer"

    @property
    def label(self) -> str:
        return {"need": "Besoin d'aide", "offer": "Offre d'aide"}[self.value]


class Category(StrEnum):
    HEBERGEMENT = "hebergement"
    TRANSPORT = "transport"
    NETTOYAGE = "nettoyage"
    MATERIEL = "materiel"
    REPAS = "repas"
    GARDE = "garde"
    AUTRE = "autre"

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]

    @classmethod
    def parse(cls, value: str) -> Category:
        """Accept the code or the French label, case and accents ignored."""
        folded = fold(value)
        for category in cls:
            if folded in (category.value, fold(category.label)):
                return category
        raise ValueError("Catégorie inconnue.")


CATEGORY_LABELS: dict[Category, str] = {
    Category.HEBERGEMENT: "Hébergement",
    Category.TRANSPORT: "Transport",
    Category.NETTOYAGE: "Nettoyage/déblaiement",
    Category.MATERIEL: "Matériel",
    Category.REPAS: "Repas",
    Category.GARDE: "Garde d'enfants ou d'animaux",
    Category.AUTRE: "Autre",
}


class PostStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"

    @property
    def label(self) -> str:
        return {
            "pending": "en attente de modération",
            "approved": "publiée",
            "rejected": "refusée",
            "withdrawn": "retirée",
            "expired": "expirée",
        }[self.value]


class Hazard(StrEnum):
    INONDATION = "inondation"
    CRUES = "crues"
    PLUIE_INONDATION = "pluie-inondation"
    VENT_VIOLENT = "vent-violent"
    ORAGES = "orages"
    VAGUES_SUBMERSION = "vagues-submersion"
    AVALANCHES = "avalanches"
    NEIGE_VERGLAS = "neige-verglas"
    SEISME = "seisme"
    INCENDIE = "incendie"

    @property
    def label(self) -> str:
        return HAZARD_LABELS[self][0]

    @property
    def hashtag_word(self) -> str:
        """The plural noun that starts an activation's hashtag (#InondationsAude)."""
        return HAZARD_LABELS[self][1]

    @property
    def family(self) -> HazardFamily:
        """The family it belongs to: one open activation per family and département."""
        return HAZARD_FAMILIES[self]

    @classmethod
    def parse(cls, value: str) -> Hazard:
        folded = fold(value)
        for hazard in cls:
            if folded in (fold(hazard.value), fold(hazard.label)):
                return hazard
        known = ", ".join(h.value for h in cls)
        raise ValueError(f"Aléa inconnu : {value!r} (valeurs possibles : {known}).")


HAZARD_LABELS: dict[Hazard, tuple[str, str]] = {
    Hazard.INONDATION: ("inondations", "Inondations"),
    Hazard.CRUES: ("crues", "Crues"),
    Hazard.PLUIE_INONDATION: ("pluie-inondation", "Inondations"),
    Hazard.VENT_VIOLENT: ("vent violent", "Tempete"),
    Hazard.ORAGES: ("orages", "Orages"),
    Hazard.VAGUES_SUBMERSION: ("vagues-submersion", "Submersion"),
    Hazard.AVALANCHES: ("avalanches", "Avalanches"),
    Hazard.NEIGE_VERGLAS: ("neige-verglas", "NeigeVerglas"),
    Hazard.SEISME: ("séisme", "Seisme"),
    Hazard.INCENDIE: ("incendie", "Incendie"),
}


class HazardFamily(StrEnum):
    """Hazards that bring the same needs to the same people: one flood is one activation,
    whether the alert says river flood, rain-flood or coastal flooding."""

    EAU = "eau"
    VENT = "vent"
    NEIGE = "neige"
    SEISME = "seisme"
    FEU = "feu"

    @property
    def label(self) -> str:
        return {
            "eau": "inondations et crues",
            "vent": "vent et orages",
            "neige": "neige et avalanches",
            "seisme": "séisme",
            "feu": "incendie",
        }[self.value]


HAZARD_FAMILIES: dict[Hazard, HazardFamily] = {
    Hazard.INONDATION: HazardFamily.EAU,
    Hazard.CRUES: HazardFamily.EAU,
    Hazard.PLUIE_INONDATION: HazardFamily.EAU,
    Hazard.VAGUES_SUBMERSION: HazardFamily.EAU,
    Hazard.VENT_VIOLENT: HazardFamily.VENT,
    Hazard.ORAGES: HazardFamily.VENT,
    Hazard.NEIGE_VERGLAS: HazardFamily.NEIGE,
    Hazard.AVALANCHES: HazardFamily.NEIGE,
    Hazard.SEISME: HazardFamily.SEISME,
    Hazard.INCENDIE: HazardFamily.FEU,
}


class AlertLevel(StrEnum):
    JAUNE = "jaune"
    ORANGE = "orange"
    ROUGE = "rouge"


@dataclass(frozen=True, slots=True)
class Contact:
    """Private contact details of a poster: never in a public page, tweet, log or report.

    ``pseudonym`` names the poster in the table's other items (their history, their match
    notices: :mod:`entraide.privacy.pseudonyms`); it is not part of what the person gave.
    """

    email: str
    phone: str | None = None
    pseudonym: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Post:
    id: str
    kind: Kind
    category: Category
    title: str
    description: str
    postcode: str
    commune: str
    insee: str
    departement: str
    lat: float
    lon: float
    geohash: str
    activation_id: str
    status: PostStatus
    created_at: datetime
    version: int = 1
    # The moderation decision: a moderator's address, and when.
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None  # a moderator's reason for a refusal, shown to the poster
    ended_at: datetime | None = None  # when an approved post was withdrawn or expired


@dataclass(frozen=True, slots=True)
class Activation:
    id: str
    hazard: Hazard
    departements: tuple[str, ...]
    level: AlertLevel
    hashtag: str
    opened_at: datetime
    closed_at: datetime | None = None
    # "manual" for operators' activations; alert sources name themselves (issue 5).
    origin: str = "manual"
    sources: tuple[str, ...] = field(default=())

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def covers(self, departement: str) -> bool:
        return self.is_open and departement in self.departements

    @property
    def family(self) -> HazardFamily:
        return self.hazard.family
