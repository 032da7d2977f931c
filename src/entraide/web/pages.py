"""Public HTML pages, in French, rendered on the server with Jinja2.

The pages are read during a disaster, often on an old phone with a poor
connection: they load no external resource (no CDN, font, image or script), use
a small inline stylesheet and work without JavaScript.

Every template is autoescaped and user-supplied strings are never marked safe.
Jinja2 is imported only when the first page is rendered, so importing this
module stays cheap for the functions that never render HTML.

Links are relative so that the pages work under an API Gateway stage prefix:
the pages are served at ``/`` and ``/offers`` of the same stage, so the form
posts to ``offers`` and the way back to the form is ``./`` (from
``/Prod/offers`` it resolves to ``/Prod/``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from entraide.intake.fields import (
    COMMUNE_MAX,
    DESCRIPTION_MAX,
    EMAIL_MAX,
    HONEYPOT_FIELD,
    TITLE_MAX,
)
from entraide.kernel.errors import FieldError
from entraide.kernel.model import Activation, Category, Post
from entraide.kernel.text import fold
from entraide.kernel.times import format_date_fr

if TYPE_CHECKING:
    import jinja2

__all__ = [
    "FORM_ACTION",
    "FORM_FIELDS",
    "HOME_HREF",
    "HONEYPOT_FIELD",
    "format_date_fr",
    "format_number_fr",
    "render_confirmation_page",
    "render_form_page",
    "render_message_page",
]

#: Where the form posts, relative to the page (``/Prod/`` -> ``/Prod/offers``).
FORM_ACTION = "offers"
#: The way back to the form from any page (``/Prod/offers`` -> ``/Prod/``).
HOME_HREF = "./"
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


def format_number_fr(number: int) -> str:
    """``1 000`` with a non-breaking space, so the number never splits across lines."""
    return f"{number:,}".replace(",", _NBSP)


@functools.cache
def page_environment() -> jinja2.Environment:
    """The pages' environment (see entraide.web.templating), with the French filters."""
    from entraide.web.templating import environment

    env = environment("templates")
    env.filters["date_fr"] = format_date_fr
    env.filters["nombre_fr"] = format_number_fr
    env.globals["home_href"] = HOME_HREF
    return env


def render(template: str, **context: Any) -> str:
    """A page of ``templates/`` with ``context`` (every value escaped unless marked safe)."""
    return page_environment().get_template(template).render(**context)


@dataclass(frozen=True, slots=True)
class SummaryItem:
    """One line of the error summary; ``href`` points at the field when there is one."""

    text: str
    href: str | None


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


def render_form_page(
    activations: Sequence[Activation],
    *,
    values: Mapping[str, str] | None = None,
    errors: Sequence[FieldError] = (),
    commune_choices: Sequence[str] = (),
) -> str:
    """The page ``GET /`` serves: what ShareEntraide is, open alerts, and the form.

    ``values`` refills the form when it is shown again after an error; ``errors``
    are listed in a summary at the top and beside each field. With no open
    activation the page says the platform is asleep and hides the form, unless
    the form is shown again with values or errors (a person's input is never
    lost). ``commune_choices`` turns the commune field into a list to pick from.
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
        categories=[(c.value, c.label) for c in Category],
        form_action=FORM_ACTION,
        limits={
            "title": TITLE_MAX,
            "description": DESCRIPTION_MAX,
            "commune": COMMUNE_MAX,
            "email": EMAIL_MAX,
        },
    )


def render_confirmation_page(post: Post) -> str:
    """Thanks after a successful post: its reference, a recap, and what happens next."""
    return render(
        "confirmation.html",
        reference=post.id,
        title=post.title,
        commune=post.commune,
        postcode=post.postcode,
        kind_label=post.kind.label,
        category_label=post.category.label,
    )


def render_message_page(title: str, message: str, *, back_link: bool = True) -> str:
    """A plain page for errors that are not about one field (404, 409, 413, 415...)."""
    return render("message.html", title=title, message=message, back_link=back_link)


# Wording of the confirmation pages behind signed links, by action.
_DECISION_WORDING: dict[str, tuple[str, str, str]] = {
    # action: (page title, explanation, button)
    "approve": (
        "Approuver cette annonce ?",
        "Une fois approuvée, l'annonce devient publique : elle est relayée sur X et "
        "proposée aux personnes proches qui peuvent aider ou être aidées.",
        "Approuver l'annonce",
    ),
    "reject": (
        "Refuser cette annonce ?",
        "L'annonce ne sera pas publiée. La personne qui l'a déposée en est informée par "
        "e-mail, avec le motif si vous en indiquez un.",
        "Refuser l'annonce",
    ),
    "withdraw": (
        "Retirer votre annonce ?",
        "Une fois retirée, votre annonce n'est plus visible et ne reçoit plus de mise en "
        "relation. Faites-le quand vous n'avez plus besoin d'aide, ou plus rien à proposer.",
        "Retirer mon annonce",
    ),
}


def render_link_confirmation_page(post: Post, *, action: str, token: str, form_action: str) -> str:
    """The page a signed link opens: the post, and a button that POSTs the action.

    Opening the link changes nothing (mail scanners open links); only the form does.
    ``form_action`` is relative to the page, so that it works under a stage prefix.
    """
    title, explanation, button = _DECISION_WORDING[action]
    return render(
        "link_confirmation.html",
        page_title=title,
        explanation=explanation,
        button=button,
        action=action,
        token=token,
        form_action=form_action,
        post=post,
        kind_label=post.kind.label,
        category_label=post.category.label,
        created_on=format_date_fr(post.created_at),
    )
