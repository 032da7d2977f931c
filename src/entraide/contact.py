"""Contact through the platform: a person in need writes to a helper, addresses kept private.

The match notice gives the need's poster a signed link per offer::

    <base>contact/<offer id>?need=<need id>&token=<token>

``GET`` opens a French page with a form (:func:`render_contact_page`) and changes
nothing (mail scanners open links). The form ``POST``\\ s back to the same path; the
helper then gets the message by email *from the platform*, escaped. The helper's
address is never shown to the person in need; the person's own address reaches the
helper only if they tick the box, as the ``Reply-To`` of that email. One message per
(need, offer) pair and hour: a conditional claim item, released if the send fails.

The token is a :class:`~entraide.signing.LinkSigner` token over ``"<offer>:<need>"``,
the action ``"contact"``, the need's version and an expiry, for the actor "the need's
poster" (the digest of their address): it is checked against the address of the need's
contact item at each use, so that it works for that person only, and a contact token can
never pass for a moderation or withdrawal one (another action is signed).

Items: ``pk = CONTACT-REQUEST#<offer id>#<need id>``, ``sk = CLAIM``: ``sent_at``, the
claim token, ``expires_at`` (TTL). Written with ``attribute_not_exists(sent_at) OR
sent_at <= now - interval``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage as MimeMessage
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode

from entraide.kernel.errors import (
    ContactClosed,
    ContactTooSoon,
    DomainError,
    FieldError,
    InvalidInput,
    PostNotFound,
)
from entraide.kernel.model import Kind, Post, PostStatus
from entraide.mail import EmailMessage, Mailer, _ascii_domain
from entraide.observability import logger
from entraide.signing import ExpiredLink, InvalidLink, LinkAction, LinkSigner, VerifiedLink

if TYPE_CHECKING:
    from entraide.store import EntraideTable

__all__ = [
    "CONTACT_ACTION",
    "CONTACT_LINK_TTL",
    "DEFAULT_CONTACT_INTERVAL",
    "MESSAGE_FIELD",
    "MESSAGE_MAX",
    "NEED_FIELD",
    "SHARE_FIELD",
    "TAG_CONTACT_MESSAGE",
    "TOKEN_FIELD",
    "ContactClosed",
    "ContactDesk",
    "ContactEmail",
    "ContactForm",
    "ContactLinks",
    "ContactMailer",
    "ContactRequest",
    "ContactSent",
    "ContactTooSoon",
    "ExpiredLink",
    "InvalidLink",
    "clean_message",
    "contact_message",
    "describe_contact_refusal",
    "parse_contact_form",
    "render_contact_page",
    "render_contact_sent_page",
]

#: How long a contact link stays valid: a week, for a need that lasts.
CONTACT_LINK_TTL = timedelta(days=7)
DEFAULT_CONTACT_INTERVAL = timedelta(hours=1)
MESSAGE_MAX = 1000
TAG_CONTACT_MESSAGE = "contact-message"
CLAIM_PREFIX = "CONTACT-REQUEST#"
CLAIM_SK = "CLAIM"
CLAIM_MEMORY_MARGIN = timedelta(days=1)

# Names of the form fields.
MESSAGE_FIELD = "message"
SHARE_FIELD = "share_email"
TOKEN_FIELD = "token"  # noqa: S105 - the name of a form field
NEED_FIELD = "need"

_CHECKED = frozenset({"on", "oui", "true", "1", "yes"})
# Post ids are ULIDs: no ":" can make "<offer>:<need>" ambiguous.
_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
# Control characters but line feed and tab; bidirectional overrides (spoofing).
_UNWANTED = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


#: The action contact tokens are signed for.
CONTACT_ACTION = LinkAction.CONTACT


def _utcnow() -> datetime:
    return datetime.now(UTC)


# -- errors ---------------------------------------------------------------------------


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


# -- links ----------------------------------------------------------------------------


class ContactLinks:
    """Makes and checks contact links; also the public link of a post.

    ``signer`` gives the :class:`LinkSigner` (key read on first use); its TTL is the
    links' validity (:data:`CONTACT_LINK_TTL` advised).
    """

    def __init__(self, *, signer: Callable[[], LinkSigner], public_base_url: str) -> None:
        self._signer = signer
        self.base_url = public_base_url.rstrip("/") + "/"

    @staticmethod
    def _subject(offer_id: str, need_id: str) -> str:
        return f"{offer_id}:{need_id}"

    def token(self, offer: Post, need: Post, *, asker: str) -> str:
        """A token for ``asker`` (the need's poster's address) to write about ``offer``."""
        subject = self._subject(offer.id, need.id)
        return self._signer().sign(subject, CONTACT_ACTION, need.version, asker)

    def contact_url(self, offer: Post, need: Post, *, asker: str) -> str:
        query = urlencode({NEED_FIELD: need.id, TOKEN_FIELD: self.token(offer, need, asker=asker)})
        return f"{self.base_url}contact/{offer.id}?{query}"

    def post_url(self, post_id: str) -> str:
        return f"{self.base_url}posts/{post_id}"

    def verify(self, token: str, *, offer_id: str, need_id: str, asker: str) -> VerifiedLink:
        """The link's claims if signed for this pair and this asker, else InvalidLink.

        Expiry is left to the caller (:meth:`VerifiedLink.check_not_expired`).
        """
        if not (_ID.fullmatch(offer_id) and _ID.fullmatch(need_id)):
            raise InvalidLink()
        return self._signer().verify(
            token,
            post_id=self._subject(offer_id, need_id),
            action=CONTACT_ACTION,
            actors=[asker],
        )


# -- the email to the helper ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContactEmail(EmailMessage):
    """An email with an optional ``Reply-To`` (an address the sender agreed to share)."""

    reply_to: str = ""


def _reply_to_line(address: str) -> bytes | None:
    """``Reply-To: <address>`` as header bytes, or None if the address cannot be one."""
    if any(char in address for char in "\r\n"):
        return None
    try:
        header = MimeMessage(policy=policy.SMTP)
        header["Reply-To"] = Address(addr_spec=_ascii_domain(address))
        line = header.as_bytes().partition(b"\r\n\r\n")[0]
    except (ValueError, TypeError):  # header defects too: a local part SMTP cannot carry
        return None
    return line if line.startswith(b"Reply-To: ") else None


class ContactMailer(Mailer):
    """A :class:`Mailer` that writes the ``Reply-To`` of a :class:`ContactEmail`.

    (Until ``mail.EmailMessage`` has a ``reply_to`` of its own; see the module docs.)
    """

    writes_reply_to = True

    def build_mime(self, message: EmailMessage, *, now: datetime | None = None) -> bytes:
        data = super().build_mime(message, now=now)
        if not isinstance(message, ContactEmail) or not message.reply_to:
            return data
        line = _reply_to_line(message.reply_to)
        if line is None:
            raise ValueError("The Reply-To address cannot be written in a header.")
        head, separator, body = data.partition(b"\r\n\r\n")
        return head + b"\r\n" + line + separator + body


class ReplyToSender(Protocol):
    """What sends the helper's email: a :class:`ContactMailer`, or a test double."""

    @property
    def writes_reply_to(self) -> bool: ...

    def send(self, message: EmailMessage) -> str: ...


@dataclass(frozen=True, slots=True)
class _PostView:
    reference: str
    title: str
    category_label: str
    commune: str
    postcode: str
    description: str


def _view(post: Post) -> _PostView:
    return _PostView(
        reference=post.id,
        title=post.title,
        category_label=post.category.label,
        commune=post.commune,
        postcode=post.postcode,
        description=post.description,
    )


def contact_message(
    *,
    to: str,
    offer: Post,
    need: Post,
    message: str,
    shared_address: str | None,
    need_url: str,
) -> ContactEmail:
    """To the helper: the message of the need's poster about ``offer``, escaped.

    ``shared_address`` is the poster's address if they agreed to share it: it becomes the
    ``Reply-To`` (when a header can carry it) and is written in the email; otherwise the
    helper is told the person chose not to share it.
    """
    from entraide.web.emails import _link, _one_line, _render

    subject = f"Message au sujet de votre offre « {_one_line(offer.title)} »"
    url = _link(need_url)
    text, html = _render(
        "match_contact",
        subject=subject,
        offer=_view(offer),
        need=_view(need),
        message=message,
        shared_address=shared_address,
        need_url=url,
    )
    reply_to = shared_address if shared_address and _reply_to_line(shared_address) else ""
    return ContactEmail(
        to=(to,),
        subject=subject,
        text=text,
        html=html,
        links=(("Voir l'annonce", url),),
        tag=TAG_CONTACT_MESSAGE,
        reply_to=reply_to,
    )


# -- the form -------------------------------------------------------------------------


def clean_message(text: str) -> str:
    """The message as it is sent: line breaks normalised, control characters dropped.

    Raises InvalidInput (field ``message``) when empty or over :data:`MESSAGE_MAX`.
    """
    cleaned = _UNWANTED.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not cleaned:
        raise InvalidInput([FieldError(MESSAGE_FIELD, "Écrivez votre message.")])
    if len(cleaned) > MESSAGE_MAX:
        raise InvalidInput(
            [
                FieldError(
                    MESSAGE_FIELD,
                    f"{MESSAGE_MAX} caractères au maximum ({len(cleaned)} saisis).",
                )
            ]
        )
    return cleaned


@dataclass(frozen=True, slots=True)
class ContactForm:
    """The posted form: which need, the token, the message, whether to share the address."""

    need_id: str
    token: str
    message: str
    share_email: bool


def parse_contact_form(form: Mapping[str, str]) -> ContactForm:
    """The fields of ``POST /contact/<offer id>`` (urlencoded), as typed; never raises."""
    return ContactForm(
        need_id=form.get(NEED_FIELD, ""),
        token=form.get(TOKEN_FIELD, ""),
        message=form.get(MESSAGE_FIELD, ""),
        share_email=form.get(SHARE_FIELD, "").strip().lower() in _CHECKED,
    )


# -- the desk -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContactRequest:
    """A checked contact link: the public texts of the two posts, no address."""

    offer: Post
    need: Post
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ContactSent:
    request: ContactRequest
    shared_email: bool


class ContactDesk:
    """Checks contact links (GET: read only) and sends messages (POST)."""

    def __init__(
        self,
        *,
        table: EntraideTable,
        mailer: ReplyToSender,
        links: ContactLinks,
        min_interval: timedelta = DEFAULT_CONTACT_INTERVAL,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        if not mailer.writes_reply_to:
            raise TypeError("The contact desk needs a mailer that writes Reply-To.")
        self.table = table
        self.mailer = mailer
        self.links = links
        self.min_interval = min_interval
        self.now = now

    def _check(self, offer_id: str, need_id: str, token: str) -> tuple[ContactRequest, str]:
        """The request and the asker's address, or the DomainError that says why not.

        Order: a forged link learns nothing about the posts (403); then a post gone or
        closed (404/410), even with an expired link; then expiry (410).
        """
        if not (_ID.fullmatch(offer_id) and _ID.fullmatch(need_id)):
            raise InvalidLink()
        asker = self.table.get_contact(need_id)
        if asker is None:  # the need or its contact details are gone: nobody to bind
            raise InvalidLink()
        link = self.links.verify(token, offer_id=offer_id, need_id=need_id, asker=asker.email)
        need = self.table.get_post(need_id)
        offer = self.table.get_post(offer_id)
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
        """``GET``: check the link and return what the page shows. Changes nothing."""
        request, _ = self._check(offer_id, need_id, token)
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
        helper = self.table.get_contact(offer_id)
        if helper is None:
            raise ContactClosed(
                "Cette personne ne peut plus être contactée : ses coordonnées ont été effacées."
            )
        email = contact_message(
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

    # -- the claim item ----------------------------------------------------------------
    def _key(self, offer_id: str, need_id: str) -> dict[str, Any]:
        return {"pk": f"{CLAIM_PREFIX}{offer_id}#{need_id}", "sk": CLAIM_SK}

    def _claim(self, offer_id: str, need_id: str, now: datetime) -> str | datetime:
        """A claim token, or when the last message of this pair was sent."""
        return self.table.claim_slot(
            self._key(offer_id, need_id),
            entity="contact-claim",
            now=now,
            interval=self.min_interval,
            memory=CLAIM_MEMORY_MARGIN,
        )

    def _release(self, offer_id: str, need_id: str, token: str) -> None:
        self.table.release_slot(self._key(offer_id, need_id), token)


# -- the pages ------------------------------------------------------------------------


def render_contact_page(
    request: ContactRequest,
    *,
    token: str,
    form_action: str,
    message: str = "",
    share_email: bool = False,
    errors: Sequence[FieldError] = (),
) -> str:
    """The page a contact link opens: the offer, and a form that POSTs the message.

    ``form_action`` is relative to the page (the offer id: ``/contact/<offer id>``
    posts to itself). ``message``, ``share_email`` and ``errors`` refill the form after
    an error. Opening the page changes nothing.
    """
    from entraide.kernel.times import format_datetime_fr
    from entraide.web.pages import render

    field_errors: dict[str, list[str]] = {}
    for error in errors:
        field_errors.setdefault(error.field, []).append(error.message)
    return render(
        "contact.html",
        offer=_view(request.offer),
        need=_view(request.need),
        token=token,
        need_id=request.need.id,
        form_action=form_action,
        message=message,
        share_email=share_email,
        field_errors=field_errors,
        errors=list(errors),
        message_max=MESSAGE_MAX,
        fields={"message": MESSAGE_FIELD, "share": SHARE_FIELD},
        expires=format_datetime_fr(request.expires_at),
    )


def render_contact_sent_page(sent: ContactSent) -> str:
    """The confirmation after a message was sent."""
    from entraide.web.pages import render

    return render(
        "contact_sent.html",
        offer=_view(sent.request.offer),
        shared_email=sent.shared_email,
    )
