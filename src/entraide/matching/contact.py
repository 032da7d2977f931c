"""Contact through the platform: a person in need writes to a helper, addresses kept private.

The match notice gives the need's poster a signed link per offer::

    <base>contact/<offer id>?need=<need id>&token=<token>

``GET`` opens a French page with a form
(:func:`entraide.web.contact_pages.render_contact_page`) and changes nothing (mail
scanners open links). The form ``POST``\\ s back to the same path; the
helper then gets the message by email *from the platform*, escaped. The helper's
address is never shown to the person in need; the person's own address reaches the
helper only if they tick the box, as the ``Reply-To`` of that email. One message per
(need, offer) pair and hour: a conditional claim item, released if the send fails.

The link, its token and the field names it shares with the form are
:mod:`.contact_links`'s; the pair's send slot is an item of :mod:`.slot_store`. The
helper's email is composed by the web side (``compose``) and sent by a mailer that
writes ``Reply-To`` (:class:`~entraide.adapters.mail.ContactMailer`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from entraide.intake.post_store import PostReader
from entraide.kernel.errors import (
    ContactClosed,
    ContactTooSoon,
    FieldError,
    InvalidInput,
    PostNotFound,
)
from entraide.kernel.model import Kind, Post, PostStatus
from entraide.kernel.text import utf16_length
from entraide.kernel.times import utcnow
from entraide.matching.contact_links import VALID_ID, ContactLinks
from entraide.matching.slot_store import SlotStore, contact_request_key
from entraide.moderation.signing import (
    ExpiredLink,
    InvalidLink,
)
from entraide.observability import logger

if TYPE_CHECKING:
    from entraide.adapters.mail import EmailMessage

__all__ = [
    "DEFAULT_CONTACT_INTERVAL",
    "MESSAGE_FIELD",
    "MESSAGE_MAX",
    "SHARE_FIELD",
    "ContactClosed",
    "ContactDesk",
    "ContactRequest",
    "ContactSent",
    "ContactTooSoon",
    "ExpiredLink",
    "InvalidLink",
    "clean_message",
]

DEFAULT_CONTACT_INTERVAL = timedelta(hours=1)
MESSAGE_MAX = 1000
CLAIM_MEMORY_MARGIN = timedelta(days=1)

# The form field of the message (the link's own fields are in contact_links).
MESSAGE_FIELD = "message"
SHARE_FIELD = "share_email"
# Control characters but line feed and tab; bidirectional overrides (spoofing).
_UNWANTED = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


# -- the email to the helper ----------------------------------------------------------


class ReplyToSender(Protocol):
    """What sends the helper's email: a :class:`~entraide.adapters.mail.ContactMailer`,
    or a test double."""

    @property
    def writes_reply_to(self) -> bool: ...

    def send(self, message: EmailMessage) -> str: ...


class ComposeContact(Protocol):
    """The helper's email (:func:`entraide.web.match_emails.contact_message`)."""

    def __call__(
        self,
        *,
        to: str,
        offer: Post,
        need: Post,
        message: str,
        shared_address: str | None,
        need_url: str,
    ) -> EmailMessage: ...


# -- the form -------------------------------------------------------------------------


def clean_message(text: str) -> str:
    """The message as it is sent: line breaks normalised, control characters dropped.

    Raises InvalidInput (field ``message``) when empty or over :data:`MESSAGE_MAX`.
    """
    cleaned = _UNWANTED.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not cleaned:
        raise InvalidInput([FieldError(MESSAGE_FIELD, "Écrivez votre message.")])
    length = utf16_length(cleaned)  # as the form's maxlength counts
    if length > MESSAGE_MAX:
        raise InvalidInput(
            [FieldError(MESSAGE_FIELD, f"{MESSAGE_MAX} caractères au maximum ({length} saisis).")]
        )
    return cleaned


# -- the desk -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContactRequest:
    """A checked contact link: the public texts of the two posts, no address."""

    offer: Post
    need: Post
    expires_at: datetime
    # When a message for this pair went less than the interval ago: the next one's time.
    retry_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ContactSent:
    request: ContactRequest
    shared_email: bool


class ContactDesk:
    """Checks contact links (GET: read only) and sends messages (POST)."""

    def __init__(
        self,
        *,
        posts: PostReader,
        slots: SlotStore,
        mailer: ReplyToSender,
        compose: ComposeContact,
        links: ContactLinks,
        min_interval: timedelta = DEFAULT_CONTACT_INTERVAL,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        if not mailer.writes_reply_to:
            raise TypeError("The contact desk needs a mailer that writes Reply-To.")
        self.posts = posts
        self.slots = slots
        self.mailer = mailer
        self.compose = compose
        self.links = links
        self.min_interval = min_interval
        self.now = now

    def _check(self, offer_id: str, need_id: str, token: str) -> tuple[ContactRequest, str]:
        """The request and the asker's address, or the DomainError that says why not.

        Order: a forged link learns nothing about the posts (403); then a post gone or
        closed (404/410), even with an expired link; then expiry (410).
        """
        if not (VALID_ID.fullmatch(offer_id) and VALID_ID.fullmatch(need_id)):
            raise InvalidLink()
        asker = self.posts.get_contact(need_id)
        if asker is None:  # the need or its contact details are gone: nobody to bind
            raise InvalidLink()
        link = self.links.verify(token, offer_id=offer_id, need_id=need_id, asker=asker.email)
        need = self.posts.get_post(need_id)
        offer = self.posts.get_post(offer_id)
        if need is None:
            raise PostNotFound(need_id)
        if offer is None:
            raise PostNotFound(offer_id)
        if need.kind is not Kind.NEED or offer.kind is not Kind.OFFER:
            raise InvalidLink()
        if offer.status is not PostStatus.APPROVED:
            raise ContactClosed(
                "Cette offre d'aide n'est plus disponible : la personne l'a retirée ou elle "
                "a expiré. D'autres offres près de chez vous vous seront envoyées par e-mail."
            )
        if need.status is not PostStatus.APPROVED:
            raise ContactClosed(
                f"Votre annonce est {need.status.label} : vous ne pouvez plus écrire à "
                "partir de ce lien."
            )
        link.check_not_expired(self.now())
        return ContactRequest(offer=offer, need=need, expires_at=link.expires_at), asker.email

    def open(self, offer_id: str, need_id: str, token: str) -> ContactRequest:
        """``GET``: check the link and return what the page shows. Changes nothing.

        The page says before anything is typed when a message for this pair went less than
        the interval ago (``retry_at``); sending still decides with its own claim.
        """
        request, _ = self._check(offer_id, need_id, token)
        last = self.slots.last_sent(contact_request_key(offer_id, need_id))
        if last is not None and last + self.min_interval > self.now():
            request = replace(request, retry_at=last + self.min_interval)
        return request

    def send(
        self, offer_id: str, need_id: str, token: str, *, message: str, share_email: bool
    ) -> ContactSent:
        """``POST``: email the helper the message, once per pair and ``min_interval``.

        Raises InvalidLink, ExpiredLink, PostNotFound, ContactClosed, InvalidInput (the
        message), ContactTooSoon; a send error propagates after giving the slot back.
        """
        request, asker = self._check(offer_id, need_id, token)
        text = clean_message(message)
        helper = self.posts.get_contact(offer_id)
        if helper is None:
            raise ContactClosed(
                "Cette personne ne peut plus être contactée : ses coordonnées ont été effacées."
            )
        email = self.compose(
            to=helper.email,
            offer=request.offer,
            need=request.need,
            message=text,
            shared_address=asker if share_email else None,
            need_url=self.links.post_url(need_id),
        )
        now = self.now()
        claim = self._claim(offer_id, need_id, now)
        if isinstance(claim, datetime):
            raise ContactTooSoon(claim + self.min_interval)
        try:
            self.mailer.send(email)
        except BaseException:
            self._release(offer_id, need_id, claim)
            raise
        logger.info(
            "Contact message sent",
            extra={"offer_id": offer_id, "need_id": need_id, "shared": share_email},
        )
        return ContactSent(request=request, shared_email=share_email)

    # -- the send slot of the pair ------------------------------------------------------
    def _claim(self, offer_id: str, need_id: str, now: datetime) -> str | datetime:
        """A claim token, or when the last message of this pair was sent."""
        return self.slots.claim(
            contact_request_key(offer_id, need_id),
            entity="contact-claim",
            now=now,
            interval=self.min_interval,
            memory=CLAIM_MEMORY_MARGIN,
        )

    def _release(self, offer_id: str, need_id: str, token: str) -> None:
        self.slots.release(contact_request_key(offer_id, need_id), token)
