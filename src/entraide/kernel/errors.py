"""Typed domain errors. Handlers map them to HTTP statuses; nothing here knows HTTP."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from entraide.kernel.model import Post
from entraide.kernel.times import format_datetime_fr


@dataclass(frozen=True, slots=True)
class FieldError:
    """One message about one input field, in French."""

    field: str
    message: str


class DomainError(Exception):
    """Base of every error a person can cause; ``message`` is French."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    """One or more fields are wrong; ``errors`` says which and why."""

    def __init__(self, errors: Sequence[FieldError], choices: Sequence[str] = ()) -> None:
        super().__init__("Certains champs sont à corriger.")
        self.errors = list(errors)
        # Communes a person may pick from when a postal code covers several.
        self.choices = tuple(choices)


class MalformedBody(DomainError):
    """The body cannot be read at all (broken JSON, not an object, bad encoding)."""


class UnsupportedContentType(DomainError):
    """The body is neither JSON nor an urlencoded form."""


class PayloadTooLarge(DomainError):
    """The body is larger than the platform accepts."""


class SpamSuspected(DomainError):
    """The honeypot field, invisible to people, was filled in."""


class PlatformAsleep(DomainError):
    """No open activation covers the post's département."""

    def __init__(self, departement: str, departement_name: str) -> None:
        super().__init__(
            f"ShareEntraide n'est pas activé pour le département {departement_name} "
            f"({departement}) : aucune alerte en cours. Les annonces y sont fermées pour "
            "le moment."
        )
        self.departement = departement


class ActivationNotFound(DomainError):
    def __init__(self, activation_id: str) -> None:
        super().__init__(f"Activation introuvable : {activation_id}.")
        self.activation_id = activation_id


class ActivationAlreadyClosed(DomainError):
    def __init__(self, activation_id: str) -> None:
        super().__init__(f"L'activation {activation_id} est déjà fermée.")
        self.activation_id = activation_id


class ActivationClosed(DomainError):
    """The activation of a post closed before a decision could publish it (409)."""

    def __init__(self, post: Post) -> None:
        super().__init__(
            "L'alerte de cette annonce est terminée : l'activation est fermée et l'annonce "
            "ne peut plus être publiée. Rien n'a été modifié."
        )
        self.post = post


class RequestKeyReused(DomainError):
    """An idempotency key or a form's one-time token already served another request (422)."""

    def __init__(self, post_id: str) -> None:
        super().__init__(
            "Ce formulaire a déjà servi à publier une autre annonce : pour en publier une "
            "nouvelle, ouvrez un nouveau formulaire (ou envoyez une autre clé Idempotency-Key)."
        )
        self.post_id = post_id


class ConcurrentChange(DomainError):
    """A conditional write lost against another writer; the caller may retry."""


class PostNotFound(DomainError):
    def __init__(self, post_id: str) -> None:
        super().__init__(f"Annonce introuvable : {post_id}.")
        self.post_id = post_id


class WrongPostStatus(DomainError):
    """The post is no longer in the status an action needs (already decided, withdrawn…).

    ``seen_by_moderator``: the person refused holds a moderator's link, and may be told
    which moderator decided; anybody else never is.
    """

    def __init__(self, post: Post, *, seen_by_moderator: bool = False) -> None:
        super().__init__(f"L'annonce {post.id} est déjà « {post.status.label} ».")
        self.post = post
        self.seen_by_moderator = seen_by_moderator


class InvalidLink(DomainError):
    """Forged, tampered, or made for another post or action (403)."""

    def __init__(self) -> None:
        super().__init__(
            "Ce lien n'est pas valide : il a peut-être été modifié ou copié incomplètement. "
            "Utilisez le lien reçu par e-mail, tel quel."
        )


class ExpiredLink(DomainError):
    """Signed by us, but past its expiry (410)."""

    def __init__(self, expired_at: datetime) -> None:
        super().__init__(
            "Ce lien a expiré le "
            f"{expired_at.astimezone(UTC).strftime('%d/%m/%Y à %H:%M')} (UTC). "
            "Demandez un nouveau lien à l'équipe ShareEntraide."
        )
        self.expired_at = expired_at


class UnknownDecision(DomainError):
    def __init__(self) -> None:
        super().__init__("Décision inconnue : le lien doit demander « approve » ou « reject ».")


class WatchItemGone(DomainError):
    """A digest's item no longer kept (its few days are over), or never read (410)."""

    def __init__(self) -> None:
        super().__init__(
            "Ce message n'est plus dans la veille (elle garde quelques jours de lecture) : "
            "relayez-le directement sur le réseau si besoin."
        )


class WatchItemDecided(DomainError):
    """A digest's item already relayed or ignored, by this link or another (409)."""

    def __init__(self) -> None:
        super().__init__("Ce message a déjà été relayé ou ignoré : rien n'a été refait.")


class ContactClosed(DomainError):
    """The offer or the need is no longer published, or the helper is unreachable (410)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class ContactTooSoon(DomainError):
    """A message for this offer was sent less than an hour ago (429)."""

    def __init__(self, retry_at: datetime) -> None:
        super().__init__(
            "Votre message a déjà été transmis à cette personne il y a moins d'une heure. "
            f"Vous pourrez lui écrire à nouveau à partir du {format_datetime_fr(retry_at)}."
        )
        self.retry_at = retry_at
