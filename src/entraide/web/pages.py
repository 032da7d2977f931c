"""The pages' machinery, the plain message page and the confirmation behind a signed link.

The pages are read during a disaster, often on an old phone with a poor
connection: they load no external resource (no CDN, font, image or script), use
a small inline stylesheet and work without JavaScript.

Every template is autoescaped and user-supplied strings are never marked safe.
Jinja2 is imported only when the first page is rendered, so importing this
module stays cheap for the functions that never render HTML.

Links are relative so that the pages work under an API Gateway stage prefix: the way
back to the form is ``./`` (from ``/Prod/offers`` it resolves to ``/Prod/``). The form
itself is :mod:`.form_page`'s.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from entraide.kernel.model import Post
from entraide.kernel.times import format_date_fr
from entraide.privacy.detection import mask_public_text

if TYPE_CHECKING:
    import jinja2

    from entraide.watch.items import WatchItem

__all__ = [
    "HOME_HREF",
    "SummaryItem",
    "format_number_fr",
    "render",
    "render_link_confirmation_page",
    "render_message_page",
]

#: The way back to the form from any page (``/Prod/offers`` -> ``/Prod/``).
HOME_HREF = "./"
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


_WATCH_WORDING: dict[str, tuple[str, str, str]] = {
    "relay": (
        "Relayer ce message ?",
        "Le compte de ShareEntraide le partagera une fois sur son réseau (retweet, repost "
        "ou boost), dans la limite de son budget.",
        "Relayer le message",
    ),
    "ignore": (
        "Ignorer ce message ?",
        "Il ne sera plus proposé dans la veille.",
        "Ignorer le message",
    ),
}
_NETWORKS = {"x": "X", "bluesky": "Bluesky", "mastodon": "Mastodon"}


def render_watch_confirmation_page(
    item: WatchItem, *, action: str, token: str, form_action: str
) -> str:
    """The page a digest's link opens: the message, and a button that POSTs the action."""
    title, explanation, button = _WATCH_WORDING[action]
    return render(
        "watch_confirmation.html",
        page_title=title,
        explanation=explanation,
        button=button,
        action=action,
        token=token,
        form_action=form_action,
        item=item,
        network=_NETWORKS.get(item.network or "", "site"),
        text=mask_public_text(item.text),
    )


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
