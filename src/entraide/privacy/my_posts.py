"""A person's own posts, from their address: links sent again, withdrawal, erasure.

The privacy page links to a form where a person gives their email address
(``/mes-annonces``). If posts were made with it, the address receives one email listing
them with a signed link to their page (:class:`~entraide.moderation.links.MyPostsLinks`:
valid a day, naming the person by the pseudonyms of their address, never the address).
From that page they withdraw any post still waiting or public, or erase everything
(:class:`~entraide.privacy.erasure.Erasure`).

The form answers the same whether or not the address posted, and sends at most one email
per address and quarter of an hour: nobody learns who posted, nor floods a mailbox through
it. Only someone who reads the mailbox can act.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from entraide.kernel.errors import FieldError, InvalidInput, PostNotFound, WrongPostStatus
from entraide.kernel.model import Post, PostStatus
from entraide.privacy.addresses import normalised_email
from entraide.privacy.erasure import OPEN, Erasure, ErasureReport, PersonalPosts
from entraide.privacy.pseudonyms import Pseudonyms

#: At most one "my posts" email per address in this time.
LINKS_INTERVAL = timedelta(minutes=15)
#: Who withdrew a post from its author's page, as recorded on the post (the poster).
WITHDRAWN_BY_POSTER = "poster"
EMAIL_FIELD = "email"


class PosterRecords(PersonalPosts, Protocol):
    """A person's posts and "links sent" slot (a :class:`~entraide.intake.post_store.PostStore`)."""

    def claim_links_slot(
        self, pseudonym: str, now: datetime, interval: timedelta
    ) -> str | datetime: ...

    def release_links_slot(self, pseudonym: str, token: str) -> None: ...


class PageLinks(Protocol):
    """The signed link of a person's page (:class:`~entraide.moderation.links.MyPostsLinks`)."""

    base_url: str  # where the site is: an API function sets it from the request

    def url(self, pseudonyms: Sequence[str]) -> str: ...

    def verify(self, person: str, token: str) -> list[str]: ...


class MailSender(Protocol):
    def send(self, message: Any) -> str: ...


class ComposeMyPosts(Protocol):
    """The email to the address (:func:`entraide.web.privacy_pages.my_posts_email`)."""

    def __call__(self, *, to: str, posts: Sequence[Post], page_url: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class MyPosts:
    """What a person's page shows: their posts, oldest first."""

    person: str  # as the link names them
    posts: tuple[Post, ...]

    @property
    def open(self) -> tuple[Post, ...]:
        return tuple(post for post in self.posts if post.status in OPEN)


class MyPostsDesk:
    """The form, the page and its two actions; see the module."""

    def __init__(
        self,
        *,
        posts: PosterRecords,
        pseudonyms: Pseudonyms,
        links: PageLinks,
        mailer: MailSender,
        compose: ComposeMyPosts,
        erasure: Erasure,
        now: Callable[[], datetime],
        interval: timedelta = LINKS_INTERVAL,
    ) -> None:
        self.posts = posts
        self.pseudonyms = pseudonyms
        self.links = links
        self.mailer = mailer
        self.compose = compose
        self.erasure = erasure
        self.now = now
        self.interval = interval

    def request_links(self, email: str) -> bool:
        """Email the address its page if it posted (once per interval); whether one went.

        What the person is shown must not depend on the answer (see the module).
        """
        try:
            address = normalised_email(email)
        except ValueError as error:
            raise InvalidInput([FieldError(EMAIL_FIELD, str(error))]) from None
        pseudonyms = self.pseudonyms.candidates(address)
        posts = self.posts.posts_of(pseudonyms)
        if not posts:
            return False
        slot = self.posts.claim_links_slot(pseudonyms[0], self.now(), self.interval)
        if isinstance(slot, datetime):
            return False  # sent less than an interval ago
        try:
            self.mailer.send(
                self.compose(to=address, posts=posts, page_url=self.links.url(pseudonyms))
            )
        except BaseException:
            self.posts.release_links_slot(pseudonyms[0], slot)
            raise
        return True

    def open(self, person: str, token: str) -> MyPosts:
        """``GET`` of the page: the person's posts. Changes nothing."""
        pseudonyms = self.links.verify(person, token)
        return MyPosts(person, tuple(self.posts.posts_of(pseudonyms)))

    def withdraw(self, person: str, token: str, post_id: str) -> Post:
        """Withdraw one of the person's posts, waiting or public."""
        page = self.open(person, token)
        post = next((post for post in page.posts if post.id == post_id), None)
        if post is None:
            raise PostNotFound(post_id)
        if post.status not in OPEN:
            raise WrongPostStatus(post)
        ended = self.posts.end_each(
            [post], PostStatus.WITHDRAWN, at=self.now(), by=WITHDRAWN_BY_POSTER
        )
        if not ended:  # decided meanwhile: say what it became
            current = next(p for p in self.open(person, token).posts if p.id == post_id)
            raise WrongPostStatus(current)
        return ended[0]

    def erase(self, person: str, token: str) -> ErasureReport:
        """Erase everything the platform holds about the person."""
        return self.erasure.erase(self.links.verify(person, token))
