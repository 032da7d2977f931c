"""What a page says when a signed link or a contact message is refused, in French.

The errors are the domain's (:mod:`entraide.kernel.errors`); their HTTP statuses are
:mod:`entraide.web.http`'s; the words of the page are here. A moderator is told who
decided and when; a poster or a person in need only what became of the post.
"""

from __future__ import annotations

from entraide.kernel.errors import (
    ActivationClosed,
    ContactClosed,
    ContactTooSoon,
    DomainError,
    ExpiredLink,
    InvalidLink,
    PostNotFound,
    WrongPostStatus,
)
from entraide.kernel.model import PostStatus
from entraide.kernel.times import format_datetime_fr

# What a link says about a post that ended without anyone deciding anything.
_ENDED = {
    PostStatus.EXPIRED: (
        "Cette annonce a expiré : l'alerte qui l'avait ouverte est terminée, elle n'est plus "
        "visible. Il n'y a plus rien à faire, rien n'a été modifié."
    ),
    PostStatus.WITHDRAWN: (
        "Cette annonce a été retirée par la personne qui l'avait déposée : elle n'est plus "
        "visible. Il n'y a plus rien à faire, rien n'a été modifié."
    ),
}


def describe_refusal(error: DomainError) -> tuple[str, str]:
    """Title and French message of the page that refuses a link.

    A moderator (the holder of a moderator's link, as checked) is told who decided and
    when; anybody else only what became of the post: a moderator's address is never shown
    to a poster, whatever page their link was pasted into.
    """
    if isinstance(error, WrongPostStatus):
        post = error.post
        if post.status in _ENDED:  # not a decision: the post has left the site
            return "Annonce plus en ligne", _ENDED[post.status]
        if not error.seen_by_moderator or post.decided_by is None or post.decided_at is None:
            return "Lien déjà utilisé", f"Cette annonce est {post.status.label}."
        return (
            "Décision déjà prise",
            f"Cette annonce a déjà été {post.status.label} par {post.decided_by} "
            f"le {format_datetime_fr(post.decided_at)} (heure de Paris). Rien n'a été modifié.",
        )
    if isinstance(error, InvalidLink):
        return "Lien invalide", error.message
    if isinstance(error, ExpiredLink):
        return "Lien expiré", error.message
    if isinstance(error, ActivationClosed):
        return "Alerte terminée", error.message
    return "Demande refusée", error.message


def describe_contact_refusal(error: DomainError) -> tuple[str, str]:
    """Title and French message of the page that refuses a contact link or message."""
    if isinstance(error, InvalidLink):
        return "Lien invalide", error.message
    if isinstance(error, ExpiredLink):
        return "Lien expiré", (
            "Ce lien de contact a expiré. Les nouvelles offres d'aide près de chez vous "
            "vous sont envoyées par e-mail avec un lien neuf."
        )
    if isinstance(error, ContactClosed):
        return "Offre indisponible", error.message
    if isinstance(error, ContactTooSoon):
        return "Message déjà envoyé", error.message
    if isinstance(error, PostNotFound):
        return "Annonce introuvable", "Cette annonce n'existe pas ou plus."
    return "Demande refusée", error.message
