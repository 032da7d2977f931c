"""Contact through the platform: a person in need writes to a helper, addresses kept private.

The match notice gives the need's poster a signed link per offer::

    <base>contact/<offer id>?need=<need id>&token=<token>

``GET`` opens a French page with a form
(:func:`entraide.web.contact_pages.render_contact_page`) and changes nothing (mail
scanners open links). The form ``POST``\\ s back to the same path; the
helper then gets the message by email *from the platform*, escaped. The helper's
address is never shown to the person in need; the person's own address reaches the
helper only if they tick the box, as the ``Reply-To`` of that email. One message per
(need, offer) pair and hour: a conditional claim item.

A message, once accepted, is a subject of the effects ledger (``contact:<offer>:<need>:<digest
of the message>``, owner ``contact``) with one effect, ``email``, **at least once**: a helper
reading a message twice (after a lost answer) loses little, a person whose call for help is
lost may lose a roof. The message and the ids are kept in the ledger until the email is
done (the address never: it is read from the contact item when sending), so that the sweep
sends what the request could not; the same message posted again (a reload, a second click)
is the same subject and sends nothing more.

The link, its token and the field names it shares with the form are
:mod:`.contact_links`'s; the pair's send slot is an item of :mod:`.slot_store`. The
helper's email is composed by the web side (``compose``) and sent by a mailer that
writes ``Reply-To`` (:class:`~entraide.adapters.mail.ContactMailer`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from entraide.effects.model import Effect, Entry, Perform, Record, Subject
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
    from entraide.effects.ledger import Ledger

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
#: The function whose sweep sends the messages still due.
CONTACT = "contact"
#: A message is kept this long in the ledger (its text included), then forgotten.
MESSAGE_MEMORY = timedelta(days=7)

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
    # False: accepted, and sent by the platform as soon as it can (a failed first try)
    sent: bool = True


def message_subject(offer_id: str, need_id: str, text: str, share_email: bool) -> str:
    """The ledger's name of a message: the pair and a digest of what is sent."""
    digest = hashlib.sha256(f"{share_email:d}\n{text}".encode()).hexdigest()[:16]
    return f"contact:{offer_id}:{need_id}:{digest}"


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
        ledger: Ledger,
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
        self.ledger = ledger
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
        self,
        offer_id: str,
        need_id: str,
        token: str,
        *,
        message: str,
        share_email: bool,
        deadline: datetime | None = None,
    ) -> ContactSent:
        """``POST``: email the helper the message, once per pair and ``min_interval``.

        Raises InvalidLink, ExpiredLink, PostNotFound, ContactClosed, InvalidInput (the
        message), ContactTooSoon. Once the message is recorded, it goes: sent now, or by
        the sweep when sending fails (``sent`` says which); only a failure to record it
        propagates, after giving the slot back.
        """
        request, _ = self._check(offer_id, need_id, token)
        text = clean_message(message)
        if self.posts.get_contact(offer_id) is None:
            raise ContactClosed(
                "Cette personne ne peut plus être contactée : ses coordonnées ont été effacées."
            )
        key = message_subject(offer_id, need_id, text, share_email)
        if self.ledger.store.get(key) is not None:  # the same message again: it is on its way
            return ContactSent(request=request, shared_email=share_email)
        now = self.now()
        claim = self._claim(offer_id, need_id, now, key)
        if isinstance(claim, datetime):
            raise ContactTooSoon(claim + self.min_interval)
        subject = Subject(
            key=key,
            owner=CONTACT,
            effects=(Effect("email"),),
            data={
                "offer_id": offer_id,
                "need_id": need_id,
                "message": text,
                "share_email": share_email,
            },
            memory=MESSAGE_MEMORY,
        )
        try:
            report = self.ledger.run(
                subject, self.perform, deadline=deadline or now + timedelta(seconds=10)
            )
        except BaseException:
            self._release(offer_id, need_id, claim)
            raise
        logger.info(
            "Contact message accepted",
            extra={"offer_id": offer_id, "need_id": need_id, "sent": bool(report.done)},
        )
        return ContactSent(request=request, shared_email=share_email, sent=bool(report.done))

    def perform(self, entry: Entry, record: Record) -> str:
        """Send the helper the message of ``record`` (the sweep's, too)."""
        offer_id, need_id = str(record.data["offer_id"]), str(record.data["need_id"])
        offer, need = self.posts.get_post(offer_id), self.posts.get_post(need_id)
        helper = self.posts.get_contact(offer_id)
        if offer is None or need is None or helper is None:
            return "moot: the posts or the helper's contact are gone"
        asker = self.posts.get_contact(need_id) if record.data.get("share_email") else None
        email = self.compose(
            to=helper.email,
            offer=offer,
            need=need,
            message=str(record.data["message"]),
            shared_address=asker.email if asker else None,
            need_url=self.links.post_url(need_id),
        )
        return self.mailer.send(email)

    def performer_for(self, record: Record) -> Perform | None:
        return self.perform if record.key.startswith("contact:") else None

    # -- the send slot of the pair ------------------------------------------------------
    def _claim(self, offer_id: str, need_id: str, now: datetime, key: str) -> str | datetime:
        """The claim (the message's name), or when the last message of this pair was sent."""
        return self.slots.claim(
            contact_request_key(offer_id, need_id),
            entity="contact-claim",
            now=now,
            interval=self.min_interval,
            memory=CLAIM_MEMORY_MARGIN,
            token=key,
        )

    def _release(self, offer_id: str, need_id: str, token: str) -> None:
        self.slots.release(contact_request_key(offer_id, need_id), token)
