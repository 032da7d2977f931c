"""The emails of matching, in French: a match notice, and a message to a helper.

Rendered like the moderation emails (:mod:`entraide.web.emails`): a plain-text and an
HTML part from ``templates/email/``, every string a person typed escaped in the HTML.
The helper's address is never an input of a match notice; a person's own address reaches
a helper only when they chose to share it (the ``Reply-To`` of the contact message).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from entraide.adapters.mail import ContactEmail, EmailMessage, reply_to_line
from entraide.kernel.model import Post
from entraide.privacy.detection import mask_public_text
from entraide.web.contact_pages import post_view
from entraide.web.emails import link, one_line, render_pair

if TYPE_CHECKING:
    from entraide.matching.notices import NoticeLine

TAG_MATCH_NOTICE = "match-notice"
TAG_CONTACT_MESSAGE = "contact-message"
_NBSP = "\u00a0"


class NoticeLinks(Protocol):
    """The links of a notice (:class:`entraide.matching.contact.ContactLinks` fits)."""

    def contact_url(self, offer: Post, need: Post, *, asker: str) -> str:
        """Signed link for the need's poster (``asker``) to write to the helper."""
        ...

    def post_url(self, post_id: str) -> str:
        """Public page of an approved post."""
        ...


# -- the match notice -------------------------------------------------------------------


def format_distance(km: float) -> str:
    """``à 3,2 km`` (non-breaking space); ``à 12 km`` from 10 km; under 1 km, less than one.

    Places are commune centroids: a decimal beyond the first would be false precision.
    """
    if km < 1:
        return f"à moins d'1{_NBSP}km"
    if km < 10:
        return f"à {km:.1f}".replace(".", ",") + f"{_NBSP}km"
    return f"à {round(km)}{_NBSP}km"


def notice_subject(offers: int, needs: int) -> str:
    """``3 offres d'aide près de chez vous``, ``1 personne a besoin d'aide…``, or both."""
    offers_part = f"{offers} offre{'s' if offers > 1 else ''} d'aide"
    if needs == 0:
        return f"{offers_part} près de chez vous"
    if offers == 0:
        if needs == 1:
            return "1 personne a besoin d'aide près de chez vous"
        return f"{needs} personnes ont besoin d'aide près de chez vous"
    needs_part = f"{needs} personne{'s' if needs > 1 else ''} qui {'ont' if needs > 1 else 'a'}"
    return f"{offers_part} et {needs_part} besoin d'aide près de chez vous"


@dataclass(frozen=True, slots=True)
class _ItemView:
    reference: str
    title: str
    category_label: str
    commune: str
    postcode: str
    distance: str
    url: str


@dataclass(frozen=True, slots=True)
class _GroupView:
    reference: str
    title: str
    items: tuple[_ItemView, ...]


def _groups(
    lines: Sequence[NoticeLine], url: Callable[[NoticeLine], str]
) -> tuple[_GroupView, ...]:
    """Lines grouped under the recipient's own post, in order of first appearance."""
    order: dict[str, Post] = {}
    items: dict[str, list[_ItemView]] = {}
    for line in lines:
        order.setdefault(line.own.id, line.own)
        items.setdefault(line.own.id, []).append(
            _ItemView(
                reference=line.other.id,
                title=mask_public_text(line.other.title),
                category_label=line.other.category.label,
                commune=line.other.commune,
                postcode=line.other.postcode,
                distance=format_distance(line.distance_km),
                url=link(url(line)),
            )
        )
    return tuple(
        _GroupView(reference=own.id, title=mask_public_text(own.title), items=tuple(items[own.id]))
        for own in order.values()
    )


def match_notice(
    *,
    to: str,
    offers: Sequence[NoticeLine],
    needs: Sequence[NoticeLine],
    links: NoticeLinks,
    privacy_url: str,
) -> EmailMessage:
    """ONE email to ``to``: the offers near their needs, the needs near their offers.

    ``offers`` are lines whose ``own`` is the recipient's need and ``other`` an offer:
    each comes with a signed link to write to the helper through the platform (the
    helper's address is never an input of this function). ``needs`` are lines whose
    ``own`` is the recipient's offer: each links to the need's public page.
    """
    if not offers and not needs:
        raise ValueError("A match notice lists one match at least.")
    offer_groups = _groups(offers, lambda line: links.contact_url(line.other, line.own, asker=to))
    need_groups = _groups(needs, lambda line: links.post_url(line.other.id))
    subject = notice_subject(len(offers), len(needs))
    text, html = render_pair(
        "match_notice",
        subject=subject,
        offer_groups=offer_groups,
        need_groups=need_groups,
        offers_count=len(offers),
        needs_count=len(needs),
        privacy_url=link(privacy_url),
    )
    email_links = [
        (f"Contacter : {item.title}", item.url) for group in offer_groups for item in group.items
    ]
    email_links += [
        (f"Voir : {item.title}", item.url) for group in need_groups for item in group.items
    ]
    return EmailMessage(
        to=(to,),
        subject=subject,
        text=text,
        html=html,
        links=tuple(email_links),
        tag=TAG_MATCH_NOTICE,
    )


# -- the message to a helper -------------------------------------------------------------


def contact_message(
    *,
    to: str,
    offer: Post,
    need: Post,
    message: str,
    shared_address: str | None,
    need_url: str,
    privacy_url: str,
) -> ContactEmail:
    """To the helper: the message of the need's poster about ``offer``, escaped.

    ``shared_address`` is the poster's address if they agreed to share it: it becomes the
    ``Reply-To`` (when a header can carry it) and is written in the email; otherwise the
    helper is told the person chose not to share it.
    """
    subject = f"Message au sujet de votre offre « {one_line(offer.title)} »"
    url = link(need_url)
    text, html = render_pair(
        "match_contact",
        subject=subject,
        offer=post_view(offer),
        need=post_view(need),
        message=message,
        shared_address=shared_address,
        need_url=url,
        privacy_url=link(privacy_url),
    )
    reply_to = shared_address if shared_address and reply_to_line(shared_address) else ""
    return ContactEmail(
        to=(to,),
        subject=subject,
        text=text,
        html=html,
        links=(("Voir l'annonce", url),),
        tag=TAG_CONTACT_MESSAGE,
        reply_to=reply_to,
    )
