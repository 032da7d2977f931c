"""The public pages: the "near me" search, a post's page, and its "not found".

They read what :mod:`entraide.matching.public` returns; approved content is public, so
the handler lets browsers and caches keep these pages a minute.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from entraide.kernel.errors import FieldError
from entraide.kernel.model import Category, Kind
from entraide.matching.public import NEARBY_PATH, NearbyPageView, NearbyResults, PublicPost
from entraide.matching.public_query import (
    QUERY_FIELDS,
    RADIUS_DEFAULT_KM,
    RADIUS_MAX_KM,
    RADIUS_MIN_KM,
)
from entraide.web.pages import SummaryItem, render

#: Approved content is public: browsers and caches may keep it a minute. A withdrawn
#: post may thus stay visible up to a minute; error pages are never cached.
PUBLIC_CACHE_CONTROL = "public, max-age=60"

FIELD_LABELS: dict[str, str] = {
    "postcode": "Code postal",
    "commune": "Commune",
    "kind": "Type d'annonce",
    "category": "Catégorie",
    "radius": "Distance",
    "cursor": "Page suivante",
}
_NBSP = "\u00a0"


def _what(kind: Kind | None, category: Category | None) -> tuple[str, str]:
    """(``Offres d'aide``, ``Aucune offre d'aide``) for the heading and the empty state."""
    plural, none = {
        None: ("Annonces", "Aucune annonce"),
        Kind.OFFER: ("Offres d'aide", "Aucune offre d'aide"),
        Kind.NEED: ("Besoins d'aide", "Aucun besoin d'aide"),
    }[kind]
    if category is not None:
        plural += f" ({category.label})"
        none += f" dans la catégorie « {category.label} »"
    return plural, none


@dataclass(frozen=True, slots=True)
class _ResultsView:
    heading: str
    empty: str
    posts: tuple[PublicPost, ...]
    next_href: str | None
    first_href: str | None


def _results_view(results: NearbyResults) -> _ResultsView:
    query = results.query
    plural, none = _what(query.kind, query.category)
    where = f"à moins de {query.radius_km}{_NBSP}km de {query.place.label}"
    if query.cursor is not None:
        empty = "Il n'y a pas d'autres résultats."
    else:
        empty = f"{none} {where} pour le moment."
    next_href = (
        f"{NEARBY_PATH}?{urlencode(query.params(cursor=results.next_cursor))}"
        if results.next_cursor
        else None
    )
    first_href = f"{NEARBY_PATH}?{urlencode(query.params())}" if query.cursor else None
    return _ResultsView(f"{plural} {where}", empty, results.posts, next_href, first_href)


def _summary(errors: Sequence[FieldError]) -> tuple[dict[str, list[str]], list[SummaryItem]]:
    by_field: dict[str, list[str]] = {}
    summary: list[SummaryItem] = []
    order = {name: index for index, name in enumerate(QUERY_FIELDS)}
    for error in sorted(errors, key=lambda e: order.get(e.field, len(order))):
        label = FIELD_LABELS.get(error.field)
        if label is None:
            summary.append(SummaryItem(text=error.message, href=None))
            continue
        by_field.setdefault(error.field, []).append(error.message)
        href = None if error.field == "cursor" else f"#field-{error.field}"
        summary.append(SummaryItem(text=f"{label}{_NBSP}: {error.message}", href=href))
    return by_field, summary


def render_nearby_page(view: NearbyPageView) -> str:
    field_errors, summary = _summary(view.errors)
    departement_text = None
    if view.departement is not None and view.results is None and not view.errors:
        from entraide.publishing.french import in_departement

        departement_text = in_departement(view.departement)
    return render(
        "nearby.html",
        values=view.values,
        field_errors=field_errors,
        summary=summary,
        commune_choices=list(view.commune_choices),
        categories=[(category.value, category.label) for category in Category],
        results=_results_view(view.results) if view.results and not view.asleep else None,
        asleep=view.asleep,
        departement_text=departement_text,
        form_action=NEARBY_PATH,
        radius={"min": RADIUS_MIN_KM, "max": RADIUS_MAX_KM, "default": RADIUS_DEFAULT_KM},
    )


def render_post_page(post: PublicPost) -> str:
    """A post's page, served at ``posts/<id>``: links climb one level to the stage root.

    No direct contact link: writing to a helper goes through the signed link that a
    matched need's poster receives (``entraide.matching.contact``), so the page of an offer sends
    people to the form to publish their need.
    """
    nearby = {"postcode": post.postcode, "commune": post.commune}
    return render(
        "post.html",
        post=post,
        home_href="../",
        nearby_href=f"../{NEARBY_PATH}?{urlencode(nearby)}",
    )


def render_not_found_page() -> str:
    """The same 404 for a post that never existed, is pending, refused, withdrawn or expired."""
    return render(
        "message.html",
        title="Annonce introuvable",
        message="Cette annonce n'existe pas, ou elle n'est plus publiée : la personne l'a "
        "peut-être retirée, ou l'alerte est terminée.",
        back_link=True,
        home_href="../",
    )
