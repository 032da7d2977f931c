"""Domain vocabulary: what a post and an activation are, and how user input is validated.

Every message a person reads is French. Validation errors are collected as
:class:`FieldError` so that the API can answer with field-level messages and the
form can be shown again with the values kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from entraide.text import fold


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


class AlertLevel(StrEnum):
    JAUNE = "jaune"
    ORANGE = "orange"
    ROUGE = "rouge"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One message about one input field, in French."""

    field: str
    message: str


# Messages for pydantic's own error types; our validators raise French ValueErrors.
_PYDANTIC_MESSAGES: dict[str, str] = {
    "missing": "Ce champ est obligatoire.",
    "string_type": "Ce champ doit être un texte.",
    "bool_type": "Ce champ doit valoir vrai ou faux.",
    "bool_parsing": "Ce champ doit valoir vrai ou faux.",
    "extra_forbidden": "Champ inconnu.",
    "model_type": "Le corps de la requête doit être un objet JSON.",
}

# A form field invisible to people (hidden by CSS, out of the tab order); robots fill it.
HONEYPOT_FIELD = "website"

TITLE_MAX = 120
DESCRIPTION_MAX = 1000
COMMUNE_MAX = 100
EMAIL_MAX = 254

_PHONE_ALLOWED = re.compile(r"^\+?[0-9 .\-()]{6,25}$")


def _required_text(value: Any, max_length: int) -> str:
    if value is None:
        raise ValueError("Ce champ est obligatoire.")
    if not isinstance(value, str):
        raise ValueError("Ce champ doit être un texte.")
    text = value.strip()
    if not text:
        raise ValueError("Ce champ est obligatoire.")
    if len(text) > max_length:
        raise ValueError(f"{max_length} caractères au maximum ({len(text)} saisis).")
    return text


class PostSubmission(BaseModel):
    """What a person sends through the form or ``POST /offers``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Kind
    category: Category
    title: str
    description: str
    postcode: str
    commune: str | None = None
    email: str
    phone: str | None = None
    consent: bool

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> Kind:
        folded = fold(value) if isinstance(value, str) else ""
        aliases = {"need": Kind.NEED, "besoin": Kind.NEED, "offer": Kind.OFFER, "offre": Kind.OFFER}
        if folded not in aliases:
            raise ValueError("Choisissez « besoin » (need) ou « offre » (offer).")
        return aliases[folded]

    @field_validator("category", mode="before")
    @classmethod
    def _category(cls, value: Any) -> Category:
        if not isinstance(value, str):
            raise ValueError("Catégorie inconnue.")
        return Category.parse(value)

    @field_validator("title", mode="before")
    @classmethod
    def _title(cls, value: Any) -> str:
        text = _required_text(value, TITLE_MAX)
        if len(text) < 3:
            raise ValueError("3 caractères au minimum.")
        return text

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, value: Any) -> str:
        return _required_text(value, DESCRIPTION_MAX)

    @field_validator("postcode", mode="before")
    @classmethod
    def _postcode(cls, value: Any) -> str:
        text = _required_text(value, 20).replace(" ", "")
        if not re.fullmatch(r"[0-9]{5}", text):
            raise ValueError("Le code postal doit comporter 5 chiffres.")
        return text

    @field_validator("commune", mode="before")
    @classmethod
    def _commune(cls, value: Any) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return _required_text(value, COMMUNE_MAX)

    @field_validator("email", mode="before")
    @classmethod
    def _email(cls, value: Any) -> str:
        from email_validator import EmailNotValidError, validate_email

        text = _required_text(value, EMAIL_MAX)
        try:
            return validate_email(text, check_deliverability=False).normalized
        except EmailNotValidError:
            raise ValueError("Adresse e-mail invalide.") from None

    @field_validator("phone", mode="before")
    @classmethod
    def _phone(cls, value: Any) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        text = _required_text(value, 25)
        digits = re.sub(r"\D", "", text)
        if not _PHONE_ALLOWED.match(text) or not 9 <= len(digits) <= 15:
            raise ValueError("Numéro de téléphone invalide.")
        return text

    @field_validator("consent", mode="before")
    @classmethod
    def _consent(cls, value: Any) -> bool:
        accepted = value is True or (
            isinstance(value, str) and fold(value) in {"on", "oui", "true", "1", "yes"}
        )
        if not accepted:
            raise ValueError("Vous devez accepter les conditions d'utilisation.")
        return True

    @classmethod
    def parse(cls, data: Any) -> Self:
        """Validate ``data`` or raise :class:`~entraide.errors.InvalidInput` in French."""
        from entraide.errors import InvalidInput

        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise InvalidInput(field_errors(exc)) from None


def field_errors(exc: ValidationError) -> list[FieldError]:
    errors: list[FieldError] = []
    for error in exc.errors(include_url=False):
        name = ".".join(str(part) for part in error["loc"]) or "body"
        if error["type"] == "value_error":
            message = str(error["ctx"]["error"])
        else:
            message = _PYDANTIC_MESSAGES.get(error["type"], "Valeur invalide.")
        errors.append(FieldError(name, message))
    return errors


@dataclass(frozen=True, slots=True)
class Contact:
    """Private contact details of a poster: never in a public page, tweet, log or report."""

    email: str
    phone: str | None = None


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
