"""The signed links of the moderation and withdrawal emails, and of a person's posts.

A moderator's link is signed for that moderator; a withdrawal link for "the poster" (see
:mod:`.signing`); a "my posts" link (:class:`MyPostsLinks`) for the pseudonyms of an
address, by an email sent to it. The signing key is read on first use (SSM Parameter Store),
not when the module loads.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from entraide.kernel.model import Post
from entraide.moderation.signing import (
    POSTER,
    InvalidLink,
    LinkAction,
    LinkSigner,
    VerifiedLink,
)

#: The expiry signed into a withdrawal link. The desk does not end the link by it (a
#: withdrawal link lasts as long as the post is waiting or public); a long one keeps the
#: link from looking dated to anybody who reads the token.
WITHDRAW_LINK_TTL = timedelta(days=366)


class LinkBook:
    """Makes and checks the signed links of the moderation and withdrawal emails."""

    def __init__(
        self,
        *,
        signer: Callable[[], LinkSigner],
        moderators: Sequence[str],
        public_base_url: str = "",
    ) -> None:
        # The key is read on first use (SSM Parameter Store), not when the module loads.
        self._signer = signer
        self.moderators = tuple(moderators)
        self.base_url = public_base_url.rstrip("/") + "/"

    def moderation_url(self, post: Post, action: LinkAction, moderator: str) -> str:
        token = self._signer().sign(post.id, action, post.version, moderator)
        query = urlencode({"decision": action.value, "token": token})
        return f"{self.base_url}moderation/{post.id}?{query}"

    def withdraw_url(self, post: Post) -> str:
        """The poster's link to withdraw ``post``: valid while it is waiting or public."""
        token = self._signer().sign(
            post.id, LinkAction.WITHDRAW, post.version, POSTER, ttl=WITHDRAW_LINK_TTL
        )
        return f"{self.base_url}posts/{post.id}/withdraw?{urlencode({'token': token})}"

    def public_url(self, post: Post) -> str:
        """The post's public page (the link tweets carry)."""
        return f"{self.base_url}posts/{post.id}"

    @property
    def form_url(self) -> str:
        """The form, to post again."""
        return self.base_url

    def verify(self, token: str, post_id: str, action: LinkAction) -> VerifiedLink:
        actors = [POSTER] if action is LinkAction.WITHDRAW else self.moderators
        return self._signer().verify(token, post_id=post_id, action=action, actors=actors)


#: A "my posts" link works a day: long enough to read the email, short if it leaks.
MY_POSTS_LINK_TTL = timedelta(hours=24)
#: The page, relative to the site's root; the link adds ``/<person>?token=…``.
MY_POSTS_PATH = "mes-annonces"
#: How a person is named in the link: their pseudonyms (64 hex digits each, one per key).
_PERSON = re.compile(r"[0-9a-f]{64}(?:\.[0-9a-f]{64})?")


class MyPostsLinks:
    """Makes and checks the link of a person's "my posts" page.

    The link names the person by the pseudonyms of their address (never the address) and
    is signed for them with the action ``my-posts``: it cannot pass for any other link.
    """

    def __init__(
        self,
        *,
        signer: Callable[[], LinkSigner],
        public_base_url: str = "",
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._signer = signer
        self.base_url = public_base_url.rstrip("/") + "/"
        self.now = now

    def url(self, pseudonyms: Sequence[str]) -> str:
        person = ".".join(pseudonyms)
        token = self._signer().sign(person, LinkAction.MY_POSTS, 0, POSTER, ttl=MY_POSTS_LINK_TTL)
        return f"{self.base_url}{MY_POSTS_PATH}/{person}?{urlencode({'token': token})}"

    def verify(self, person: str, token: str) -> list[str]:
        """The pseudonyms a valid, unexpired link names; InvalidLink or ExpiredLink."""
        if not _PERSON.fullmatch(person):
            raise InvalidLink()
        link = self._signer().verify(
            token, post_id=person, action=LinkAction.MY_POSTS, actors=[POSTER]
        )
        link.check_not_expired(self.now())
        return person.split(".")
