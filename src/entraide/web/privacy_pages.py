"""The pages and the email of personal data: the privacy page, "my posts", erasure.

The privacy page states what the platform keeps, why, for how long (the template's
parameters, as the functions apply them), who sees it and whom to write to. "My posts"
is the form a person gives their address in, the email that sends them their link, and
the page of their posts with its two actions (:mod:`entraide.privacy.my_posts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from entraide.adapters.mail import EmailMessage
from entraide.kernel.model import Post, PostStatus
from entraide.kernel.times import format_date_fr
from entraide.moderation.links import MY_POSTS_PATH
from entraide.privacy.erasure import OPEN, ErasureReport
from entraide.privacy.my_posts import MyPosts
from entraide.web.emails import link, render_pair
from entraide.web.pages import render

TAG_MY_POSTS = "my-posts"
#: AWS regions by the place a French reader knows them by.
_HOSTING = {
    "eu-west-3": "région de Paris",
    "eu-west-1": "région d'Irlande",
    "eu-central-1": "région de Francfort",
    "eu-south-1": "région de Milan",
    "eu-north-1": "région de Stockholm",
}


@dataclass(frozen=True, slots=True)
class PrivacyFacts:
    """The figures and the address the privacy page states (template parameters)."""

    retention_days: int
    pending_max_days: int
    backup_days: int
    log_days: int
    contact_email: str
    region: str = ""

    @property
    def hosting(self) -> str:
        return _HOSTING.get(self.region, self.region)


def render_privacy_page(facts: PrivacyFacts) -> str:
    return render("donnees_personnelles.html", facts=facts)


def render_my_posts_form(*, email: str = "", errors: Sequence[str] = ()) -> str:
    """The form of ``/mes-annonces``; again with ``errors`` after a bad address."""
    return render("mes_annonces.html", email=email, errors=list(errors), form_action=MY_POSTS_PATH)


#: What a page says to a link that is forged or too old.
NEW_LINK = (
    "Ce lien n'est pas ou plus valable (il marche 24 heures). Demandez-en un nouveau sur la "
    "page « Mes annonces », depuis la page « Vos données personnelles »."
)


def render_links_requested_page() -> str:
    """What the form answers, whether or not the address posted (nobody learns who did)."""
    return render(
        "message.html",
        title="Vérifiez votre boîte e-mail",
        message="Si des annonces ont été déposées avec cette adresse, un e-mail vient de "
        "partir avec un lien vers leur liste, valable 24 heures. Pensez à regarder dans "
        "les indésirables. Rien n'est arrivé ? Écrivez-nous : l'adresse est sur la page "
        "« Vos données personnelles ».",
        back_link=True,
    )


@dataclass(frozen=True, slots=True)
class _PostLine:
    id: str
    title: str
    kind_label: str
    category_label: str
    commune: str
    postcode: str
    created_on: str
    status_label: str
    withdrawable: bool


def _line(post: Post) -> _PostLine:
    status = {
        PostStatus.PENDING: "En attente de relecture",
        PostStatus.APPROVED: "Publiée",
        PostStatus.REJECTED: "Refusée",
        PostStatus.WITHDRAWN: "Retirée",
        PostStatus.EXPIRED: "Expirée",
    }[post.status]
    return _PostLine(
        id=post.id,
        title=post.title,
        kind_label=post.kind.label,
        category_label=post.category.label,
        commune=post.commune,
        postcode=post.postcode,
        created_on=format_date_fr(post.created_at),
        status_label=status,
        withdrawable=post.status in OPEN,
    )


def render_my_posts_page(page: MyPosts, *, token: str, notice: str = "") -> str:
    """A person's posts; served at ``mes-annonces/<person>``: links climb one level."""
    return render(
        "mes_annonces_liste.html",
        posts=[_line(post) for post in page.posts],
        token=token,
        form_action=page.person,
        notice=notice,
        home_href="../",
    )


def erased_notice(report: ErasureReport) -> str:
    """What the page says once everything was erased."""
    if report.nothing_found:
        return "Il n'y avait plus rien à effacer."
    parts = [f"{len(report.posts)} annonce(s) effacée(s)"]
    if report.withdrawn:
        parts.append(f"dont {len(report.withdrawn)} retirée(s) à l'instant")
    if report.retracted:
        parts.append(f"{len(report.retracted)} publication(s) retirée(s) de X")
    return "C'est fait : " + ", ".join(parts) + ". Nous ne gardons plus rien de vous."


def my_posts_email(
    *, to: str, posts: Sequence[Post], page_url: str, privacy_url: str
) -> EmailMessage:
    """To the address that asked: the link to its page, and the titles of its posts."""
    subject = "Vos annonces sur ShareEntraide"
    text, html = render_pair(
        "my_posts",
        subject=subject,
        posts=[_line(post) for post in posts],
        page_url=link(page_url),
        privacy_url=link(privacy_url),
    )
    return EmailMessage(
        to=(to,),
        subject=subject,
        text=text,
        html=html,
        links=(("Mes annonces", page_url),),
        tag=TAG_MY_POSTS,
    )
