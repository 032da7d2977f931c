"""The emails of the moderation step, in French: one function per email.

Each function returns a :class:`~entraide.adapters.mail.EmailMessage` with a plain-text
part and an HTML part that say the same thing. The templates live in
``templates/email/``: ``*.html`` are rendered with autoescape on (every string a
person typed is escaped), ``*.txt`` with autoescape off (the text part shows the
same strings verbatim). Jinja2 is imported on the first render only.

The HTML is email-safe: inline styles, layout tables, at most 600 px wide, no
external resource, no script.

Contact details never enter these functions except as the recipient of the
poster's own emails: the moderation request shows the public text only.

Every email's footer links to the privacy page (``privacy_url``, :func:`privacy_url`):
what is kept, for how long, and how to have it all erased.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from entraide.adapters.mail import EmailMessage
from entraide.kernel.departements import departement_name
from entraide.kernel.model import Activation, Kind, Post
from entraide.kernel.times import format_datetime_fr

if TYPE_CHECKING:
    import jinja2

__all__ = [
    "LINK_VALIDITY_HOURS",
    "PRIVACY_PATH",
    "SUBJECT_PREFIX",
    "FlagView",
    "ModerationMails",
    "awaiting_moderation",
    "decision_notice",
    "format_datetime_fr",
    "moderation_request",
    "privacy_url",
]

SUBJECT_PREFIX = "[ShareEntraide]"
#: How long the moderation links stay valid, as the moderation request states it by
#: default (settings: LINK_TTL_HOURS).
LINK_VALIDITY_HOURS = 72

TAG_MODERATION_REQUEST = "moderation-request"
TAG_AWAITING_MODERATION = "awaiting-moderation"
TAG_DECISION_APPROVED = "decision-approved"
TAG_DECISION_REJECTED = "decision-rejected"
#: The privacy page, relative to the site's root (every email's footer links to it).
PRIVACY_PATH = "donnees-personnelles"


def privacy_url(public_base_url: str) -> str:
    """The absolute address of the privacy page under ``public_base_url``."""
    return link(f"{public_base_url.rstrip('/')}/{PRIVACY_PATH}")


class FlagView(Protocol):
    """What the moderation request shows of one pre-screen flag.

    Read-only members, so that a frozen dataclass (the pre-screen's Flag) fits.
    """

    @property
    def code(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def detail(self) -> str: ...


def _environment() -> jinja2.Environment:
    """Email templates (see entraide.web.templating): HTML autoescaped, plain text not."""
    from entraide.web.templating import environment

    return environment("templates/email")


def render_pair(name: str, **context: Any) -> tuple[str, str]:
    """``(text, html)`` of ``name.txt`` and ``name.html`` with the same context."""
    env = _environment()
    text = env.get_template(f"{name}.txt").render(**context)
    html = env.get_template(f"{name}.html").render(**context)
    return text, html


def link(url: str) -> str:
    """Our own absolute http(s) URL; anything else (``javascript:``...) is refused.

    The refusal does not quote the URL: our links carry signed tokens.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc or url != url.strip():
        raise ValueError("Not an absolute http(s) URL.")
    return url


def one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class _PostView:
    reference: str
    kind: str
    kind_label: str
    category_label: str
    title: str
    description: str
    commune: str
    postcode: str
    departement: str
    departement_label: str
    created: str


def _post_view(post: Post) -> _PostView:
    try:
        departement_label = f"{departement_name(post.departement)} ({post.departement})"
    except ValueError:
        departement_label = post.departement
    return _PostView(
        reference=post.id,
        kind=post.kind.value,
        kind_label=post.kind.label,
        category_label=post.category.label,
        title=post.title,
        description=post.description,
        commune=post.commune,
        postcode=post.postcode,
        departement=post.departement,
        departement_label=departement_label,
        created=format_datetime_fr(post.created_at),
    )


@dataclass(frozen=True, slots=True)
class _ActivationView:
    hashtag: str
    hazard: str
    level: str


def _activation_view(activation: Activation | None) -> _ActivationView | None:
    if activation is None:
        return None
    hashtag = activation.hashtag.strip()
    if hashtag and not hashtag.startswith("#"):
        hashtag = f"#{hashtag}"
    return _ActivationView(
        hashtag=hashtag, hazard=activation.hazard.label, level=activation.level.value
    )


@dataclass(frozen=True, slots=True)
class _FlagLine:
    label: str
    detail: str


def moderation_request(
    post: Post,
    *,
    activation: Activation | None,
    flags: Sequence[FlagView],
    approve_url: str,
    reject_url: str,
    moderators: Sequence[str],
    privacy_url: str,
    link_ttl_hours: int = LINK_VALIDITY_HOURS,
) -> EmailMessage:
    """To the moderators: the public text of a pending post, the flags, two links.

    Each link opens a confirmation page (nothing is decided by the click alone);
    ``link_ttl_hours`` is how long the links stay valid, as the email states it.
    The poster's contact details are not an input: moderators decide on the
    public text only.
    """
    view = _post_view(post)
    subject = (
        f"{SUBJECT_PREFIX} À modérer : {view.kind_label} – {view.category_label} – "
        f"{one_line(view.commune)} ({view.departement})"
    )
    context = {
        "subject": subject,
        "post": view,
        "activation": _activation_view(activation),
        "flags": [_FlagLine(label=flag.label, detail=flag.detail) for flag in flags],
        "approve_url": link(approve_url),
        "reject_url": link(reject_url),
        "link_validity_hours": link_ttl_hours,
        "privacy_url": link(privacy_url),
    }
    text, html = render_pair("moderation_request", **context)
    return EmailMessage(
        to=tuple(moderators),
        subject=subject,
        text=text,
        html=html,
        links=(("Approuver", approve_url), ("Refuser", reject_url)),
        tag=TAG_MODERATION_REQUEST,
    )


def awaiting_moderation(
    post: Post, *, to: str, withdraw_url: str, privacy_url: str
) -> EmailMessage:
    """To the poster, right after posting: thanks, the title, a moderator will read it,
    and the link to withdraw the post, valid as long as it is waiting or public."""
    subject = "Votre annonce est en attente de modération"
    text, html = render_pair(
        "awaiting_moderation",
        subject=subject,
        post=_post_view(post),
        withdraw_url=link(withdraw_url),
        privacy_url=link(privacy_url),
    )
    return EmailMessage(
        to=(to,),
        subject=subject,
        text=text,
        html=html,
        links=(("Retirer mon annonce", withdraw_url),),
        tag=TAG_AWAITING_MODERATION,
    )


def decision_notice(
    post: Post,
    *,
    to: str,
    approved: bool,
    reason: str | None,
    withdraw_url: str | None,
    public_url: str | None,
    privacy_url: str,
    form_url: str | None = None,
) -> EmailMessage:
    """To the poster, once a moderator has decided.

    Approved: the post is public (``public_url`` when given) and can be withdrawn
    with ``withdraw_url`` when help is no longer needed. Refused: the optional
    ``reason`` and how to post again, from the form at ``form_url``.
    """
    view = _post_view(post)
    if approved:
        subject = "Votre annonce a été publiée"
        public = link(public_url) if public_url else None
        withdraw = link(withdraw_url) if withdraw_url else None
        text, html = render_pair(
            "decision_approved",
            subject=subject,
            post=view,
            is_need=post.kind is Kind.NEED,
            public_url=public,
            withdraw_url=withdraw,
            privacy_url=link(privacy_url),
        )
        links: list[tuple[str, str]] = []
        if public:
            links.append(("Voir l'annonce", public))
        if withdraw:
            links.append(("Retirer mon annonce", withdraw))
        return EmailMessage(
            to=(to,),
            subject=subject,
            text=text,
            html=html,
            links=tuple(links),
            tag=TAG_DECISION_APPROVED,
        )
    subject = "Votre annonce n'a pas été retenue"
    cleaned_reason = reason.strip() if reason else ""
    form = link(form_url) if form_url else None
    text, html = render_pair(
        "decision_rejected",
        subject=subject,
        post=view,
        reason=cleaned_reason or None,
        form_url=form,
        privacy_url=link(privacy_url),
    )
    return EmailMessage(
        to=(to,),
        subject=subject,
        text=text,
        html=html,
        links=(("Publier une nouvelle annonce", form),) if form else (),
        tag=TAG_DECISION_REJECTED,
    )


class ModerationMails:
    """The moderation emails with the footer's link to the privacy page bound: what the
    moderate function hands to :class:`~entraide.moderation.effects.ModerationEffects`."""

    def __init__(self, privacy_url: str) -> None:
        self.privacy_url = link(privacy_url)

    def moderation_request(self, post: Post, **details: Any) -> EmailMessage:
        return moderation_request(post, privacy_url=self.privacy_url, **details)

    def awaiting_moderation(self, post: Post, **details: Any) -> EmailMessage:
        return awaiting_moderation(post, privacy_url=self.privacy_url, **details)

    def decision_notice(self, post: Post, **details: Any) -> EmailMessage:
        return decision_notice(post, privacy_url=self.privacy_url, **details)
