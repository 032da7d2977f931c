"""The contact pages: the form a contact link opens, what it posts, and the thanks.

Opening the page changes nothing; the form posts back to the same path (see
:mod:`entraide.matching.contact`, which checks the link and sends the message).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from entraide.kernel.errors import FieldError
from entraide.kernel.model import Post
from entraide.kernel.times import format_datetime_fr
from entraide.matching.contact import (
    MESSAGE_FIELD,
    MESSAGE_MAX,
    SHARE_FIELD,
    ContactRequest,
    ContactSent,
)
from entraide.matching.contact_links import NEED_FIELD, TOKEN_FIELD
from entraide.privacy.detection import mask_public_text
from entraide.web.pages import render

_CHECKED = frozenset({"on", "oui", "true", "1", "yes"})


# The two posts of a contact, as the page and the helper's email show them.
@dataclass(frozen=True, slots=True)
class PostView:
    reference: str
    title: str
    category_label: str
    commune: str
    postcode: str
    description: str


def post_view(post: Post) -> PostView:
    """A post as another person reads it: contact details and links masked in its text."""
    return PostView(
        reference=post.id,
        title=mask_public_text(post.title),
        category_label=post.category.label,
        commune=post.commune,
        postcode=post.postcode,
        description=mask_public_text(post.description),
    )


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
    field_errors: dict[str, list[str]] = {}
    for error in errors:
        field_errors.setdefault(error.field, []).append(error.message)
    return render(
        "contact.html",
        offer=post_view(request.offer),
        need=post_view(request.need),
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
        retry_at=format_datetime_fr(request.retry_at) if request.retry_at else None,
    )


def render_contact_sent_page(sent: ContactSent) -> str:
    """The confirmation after a message was sent."""
    return render(
        "contact_sent.html",
        offer=post_view(sent.request.offer),
        shared_email=sent.shared_email,
    )
