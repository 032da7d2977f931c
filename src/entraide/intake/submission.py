"""What a person sends through the form or ``POST /offers``, validated in French.

Validation errors are collected as :class:`~entraide.kernel.errors.FieldError` so that
the API can answer with field-level messages and the form can be shown again with the
values kept.
"""

from __future__ import annotations

import re
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from entraide.intake.fields import COMMUNE_MAX, DESCRIPTION_MAX, EMAIL_MAX, TITLE_MAX
from entraide.kernel.errors import FieldError, InvalidInput
from entraide.kernel.model import Category, Kind
from entraide.kernel.text import fold, utf16_length
from entraide.privacy.addresses import normalised_email

# Messages for pydantic's own error types; our validators raise French ValueErrors.
_PYDANTIC_MESSAGES: dict[str, str] = {
    "missing": "Ce champ est obligatoire.",
    "string_type": "Ce champ doit être un texte.",
    "bool_type": "Ce champ doit valoir vrai ou faux.",
    "bool_parsing": "Ce champ doit valoir vrai ou faux.",
    "extra_forbidden": "Champ inconnu.",
    "model_type": "Le corps de la requête doit être un objet JSON.",
}


_PHONE_ALLOWED = re.compile(r"^\+?[0-9 .\-()]{6,25}$")


_KIND_ALIASES = {"need": Kind.NEED, "besoin": Kind.NEED, "offer": Kind.OFFER, "offre": Kind.OFFER}


def parse_kind(value: Any) -> Kind:
    """``need``/``offer`` (or ``besoin``/``offre``), case and accents ignored."""
    folded = fold(value) if isinstance(value, str) else ""
    if folded not in _KIND_ALIASES:
        raise ValueError("Choisissez « besoin » (need) ou « offre » (offer).")
    return _KIND_ALIASES[folded]


def _required_text(value: Any, max_length: int) -> str:
    if value is None:
        raise ValueError("Ce champ est obligatoire.")
    if not isinstance(value, str):
        raise ValueError("Ce champ doit être un texte.")
    text = value.strip()
    if not text:
        raise ValueError("Ce champ est obligatoire.")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate ("\ud800" in JSON): not storable text
            raise ValueError(
                "Ce texte contient un caractère invalide : retapez-le ou copiez-le à nouveau."
            ) from None
    length = utf16_length(text)
    if length > max_length:
        raise ValueError(f"{max_length} caractères au maximum ({length} saisis).")
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
        return parse_kind(value)

    @field_validator("category", mode="before")
    @classmethod
    def _category(cls, value: Any) -> Category:
        if isinstance(value, str) and not value.strip():
            raise ValueError("Choisissez une catégorie.")
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
        return normalised_email(_required_text(value, EMAIL_MAX))

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
        """Validate ``data`` or raise :class:`~entraide.kernel.errors.InvalidInput` in French."""
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
