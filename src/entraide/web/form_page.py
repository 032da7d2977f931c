"""The form to post a need or an offer, with the open activations, and its thanks.

The pages are served at ``/`` and ``/offers`` of the same stage, so the form posts to
``offers``; values are kept and errors shown beside each field when the form comes
back after a refusal (a person's input is never lost).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from entraide.intake.fields import (
    COMMUNE_MAX,
    DESCRIPTION_MAX,
    EMAIL_MAX,
    HELPER_REACH_KM,
    HONEYPOT_FIELD,
    TITLE_MAX,
)
from entraide.kernel.errors import FieldError
from entraide.kernel.model import Activation, Category, Post
from entraide.kernel.text import fold
from entraide.kernel.times import format_date_fr
from entraide.web.pages import SummaryItem, render

__all__ = [
    "FORM_ACTION",
    "FORM_FIELDS",
    "HONEYPOT_FIELD",
    "render_confirmation_page",
    "render_form_page",
]

#: Where the form posts, relative to the page (``/Prod/`` -> ``/Prod/offers``).
FORM_ACTION = "offers"
#: Names of the fields a person fills in, in the order of the form.
FORM_FIELDS: tuple[str, ...] = (
    "kind",
    "category",
    "title",
    "description",
    "postcode",
    "commune",
    "email",
    "phone",
    "consent",
)
#: How each field is named in the error summary ("Titre : 3 caractères au minimum.").
FIELD_LABELS: dict[str, str] = {
    "kind": "Besoin ou offre",
    "category": "Catégorie",
    "title": "Titre",
    "description": "Description",
    "postcode": "Code postal",
    "commune": "Commune",
    "email": "Adresse e-mail",
    "phone": "Téléphone",
    "consent": "Conditions d'utilisation",
}

_KIND_ALIASES: dict[str, str] = {
    "need": "need",
    "besoin": "need",
    "offer": "offer",
    "offre": "offer",
}
_CONSENT_YES = frozenset({"on", "oui", "true", "1", "yes"})


_NBSP = "\u00a0"


@dataclass(frozen=True, slots=True)
class ActivationView:
    hazard: str
    departements: tuple[str, ...]
    level: str
    hashtag: str
    opened_on: str


def _departement_label(code: str) -> str:
    """``Aude (11)``; the code alone for one the table does not know."""
    from entraide.kernel.departements import UnknownDepartement, departement_name

    try:
        return f"{departement_name(code)} ({code})"
    except UnknownDepartement:
        return code


def _activation_view(activation: Activation) -> ActivationView:
    label = activation.hazard.label
    hashtag = activation.hashtag.strip()
    if hashtag and not hashtag.startswith("#"):
        hashtag = f"#{hashtag}"
    return ActivationView(
        hazard=label[:1].upper() + label[1:],
        departements=tuple(_departement_label(code) for code in activation.departements),
        level=activation.level.value,
        hashtag=hashtag,
        opened_on=format_date_fr(activation.opened_at),
    )


def _form_values(values: Mapping[str, Any] | None) -> dict[str, str]:
    """Every form field as a string, with radio/select/checkbox values normalised."""
    raw = values or {}
    result = {name: _as_text(raw.get(name)) for name in FORM_FIELDS}
    result["kind"] = _KIND_ALIASES.get(fold(result["kind"]), "")
    try:
        result["category"] = Category.parse(result["category"]).value
    except ValueError:
        result["category"] = ""
    result["consent"] = "on" if fold(result["consent"]) in _CONSENT_YES else ""
    return result


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else ""
    return str(value)


def _error_views(
    errors: Sequence[FieldError],
) -> tuple[dict[str, list[str]], list[SummaryItem]]:
    """Messages per known field, and the summary: general errors first, then form order."""
    by_field: dict[str, list[str]] = {}
    summary: list[SummaryItem] = []
    order = {name: index for index, name in enumerate(FORM_FIELDS)}
    for error in sorted(errors, key=lambda e: order.get(e.field, -1)):
        if error.field in FIELD_LABELS:
            by_field.setdefault(error.field, []).append(error.message)
            text = f"{FIELD_LABELS[error.field]}{_NBSP}: {error.message}"
            summary.append(SummaryItem(text=text, href=f"#field-{error.field}"))
        elif error.field in ("", "body"):
            summary.append(SummaryItem(text=error.message, href=None))
        else:
            summary.append(SummaryItem(text=f"{error.field}{_NBSP}: {error.message}", href=None))
    return by_field, summary


def new_form_token() -> str:
    """The one-time token of a form: the same form sent twice stores one post."""
    import secrets

    return secrets.token_urlsafe(18)


def render_form_page(
    activations: Sequence[Activation],
    *,
    values: Mapping[str, str] | None = None,
    errors: Sequence[FieldError] = (),
    commune_choices: Sequence[str] = (),
    form_token: str = "",
) -> str:
    """The page ``GET /`` serves: what ShareEntraide is, open alerts, and the form.

    ``values`` refills the form when it is shown again after an error; ``errors``
    are listed in a summary at the top and beside each field. With no open
    activation the page says the platform is asleep and hides the form, unless
    the form is shown again with values or errors (a person's input is never
    lost). ``commune_choices`` turns the commune field into a list to pick from.
    ``form_token`` is the form's one-time token (the same form sent again stores nothing).
    """
    open_activations = [_activation_view(a) for a in activations if a.is_open]
    field_errors, summary = _error_views(errors)
    return render(
        "form.html",
        activations=open_activations,
        show_form=bool(open_activations or values or errors),
        values=_form_values(values),
        field_errors=field_errors,
        summary=summary,
        commune_choices=list(commune_choices),
        form_token=form_token,
        open_departements=list(
            dict.fromkeys(d for activation in open_activations for d in activation.departements)
        ),
        helper_reach_km=HELPER_REACH_KM,
        categories=[(c.value, c.label) for c in Category],
        form_action=FORM_ACTION,
        limits={
            "title": TITLE_MAX,
            "description": DESCRIPTION_MAX,
            "commune": COMMUNE_MAX,
            "email": EMAIL_MAX,
        },
    )


def render_confirmation_page(post: Post, *, privacy_contact: str) -> str:
    """Thanks after a successful post: its reference, a recap, what happens next, and the
    address to write to about one's data (``privacy_contact``)."""
    return render(
        "confirmation.html",
        privacy_contact=privacy_contact,
        reference=post.id,
        title=post.title,
        commune=post.commune,
        postcode=post.postcode,
        kind_label=post.kind.label,
        category_label=post.category.label,
    )
