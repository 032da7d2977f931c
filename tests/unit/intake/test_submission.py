"""Validation of a submitted post: French field-level messages, nothing guessed."""

from __future__ import annotations

from typing import Any

import pytest

from entraide.intake.submission import PostSubmission
from entraide.kernel.errors import InvalidInput
from entraide.kernel.model import Category, Kind


def valid_fields(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "kind": "offer",
        "category": "hebergement",
        "title": "Chambre libre pour une famille",
        "description": "Une chambre avec deux lits, au sec, à Carcassonne.",
        "postcode": "11000",
        "email": "helper@example.org",
        "consent": True,
    }
    fields.update(changes)
    return {key: value for key, value in fields.items() if value is not None}


def messages(exc: pytest.ExceptionInfo[InvalidInput]) -> dict[str, str]:
    return {error.field: error.message for error in exc.value.errors}


def test_valid_submission_is_normalised() -> None:
    submission = PostSubmission.parse(valid_fields(postcode=" 11 000 ", title="  Abri  "))
    assert submission.kind is Kind.OFFER
    assert submission.category is Category.HEBERGEMENT
    assert submission.postcode == "11000"
    assert submission.title == "Abri"
    assert submission.phone is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("hébergement", Category.HEBERGEMENT),
        ("HEBERGEMENT", Category.HEBERGEMENT),
        ("Nettoyage/déblaiement", Category.NETTOYAGE),
        ("garde d'enfants ou d'animaux", Category.GARDE),
        ("Matériel", Category.MATERIEL),
    ],
)
def test_category_accepts_french_label_ignoring_case_and_accents(
    given: str, expected: Category
) -> None:
    assert PostSubmission.parse(valid_fields(category=given)).category is expected


def test_form_checkbox_value_counts_as_consent() -> None:
    assert PostSubmission.parse(valid_fields(consent="on")).consent is True


def test_every_missing_field_is_reported_at_once_in_french() -> None:
    with pytest.raises(InvalidInput) as exc:
        PostSubmission.parse({})
    assert messages(exc) == {
        "kind": "Ce champ est obligatoire.",
        "category": "Ce champ est obligatoire.",
        "title": "Ce champ est obligatoire.",
        "description": "Ce champ est obligatoire.",
        "postcode": "Ce champ est obligatoire.",
        "email": "Ce champ est obligatoire.",
        "consent": "Ce champ est obligatoire.",
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("kind", "gift", "Choisissez « besoin » (need) ou « offre » (offer)."),
        ("category", "bateau", "Catégorie inconnue."),
        ("category", "", "Choisissez une catégorie."),  # the form's empty first option
        # the browser counts maxlength in UTF-16 units, an emoji as 2: so does the server
        ("title", "🏠" * 61, "120 caractères au maximum (122 saisis)."),
        ("title", "ab", "3 caractères au minimum."),
        ("title", "x" * 121, "120 caractères au maximum (121 saisis)."),
        ("description", "x" * 1001, "1000 caractères au maximum (1001 saisis)."),
        ("description", "   ", "Ce champ est obligatoire."),
        ("postcode", "1100", "Le code postal doit comporter 5 chiffres."),
        ("postcode", "ABCDE", "Le code postal doit comporter 5 chiffres."),
        ("email", "not-an-email", "Adresse e-mail invalide."),
        ("email", "a@b", "Adresse e-mail invalide."),
        ("phone", "call me", "Numéro de téléphone invalide."),
        ("consent", False, "Vous devez accepter les conditions d'utilisation."),
        ("title", 12, "Ce champ doit être un texte."),
        (
            "title",
            "Abri \ud800 cassé",  # a lone surrogate: valid JSON ("\ud800"), not storable
            "Ce texte contient un caractère invalide : retapez-le ou copiez-le à nouveau.",
        ),
        (
            "description",
            "\udfff",
            "Ce texte contient un caractère invalide : retapez-le ou copiez-le à nouveau.",
        ),
    ],
)
def test_bad_field_gets_its_own_french_message(field: str, value: Any, message: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        PostSubmission.parse(valid_fields(**{field: value}))
    assert messages(exc) == {field: message}


def test_description_of_exactly_1000_characters_is_accepted() -> None:
    assert len(PostSubmission.parse(valid_fields(description="é" * 1000)).description) == 1000


def test_unknown_field_is_refused() -> None:
    with pytest.raises(InvalidInput) as exc:
        PostSubmission.parse(valid_fields(password="x"))
    assert messages(exc) == {"password": "Champ inconnu."}


def test_french_phone_formats_are_accepted() -> None:
    for phone in ("06 12 34 56 78", "+33 6 12 34 56 78", "06.12.34.56.78"):
        assert PostSubmission.parse(valid_fields(phone=phone)).phone == phone
