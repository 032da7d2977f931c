"""The signed links of the moderation and withdrawal emails, and their checks.

A moderator's link is signed for that moderator; a withdrawal link for "the poster" (see
:mod:`.signing`). The signing key is read on first use (Secrets Manager), not when the
module loads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import urlencode

from entraide.kernel.model import Post
from entraide.moderation.signing import POSTER, LinkAction, LinkSigner, VerifiedLink


class LinkBook:
    """Makes and checks the signed links of the moderation and withdrawal emails."""

    def __init__(
        self,
        *,
        signer: Callable[[], LinkSigner],
        moderators: Sequence[str],
        public_base_url: str = "",
    ) -> None:
        # The key is read on first use (Secrets Manager), not when the module loads.
        self._signer = signer
        self.moderators = tuple(moderators)
        self.base_url = public_base_url.rstrip("/") + "/"

    def moderation_url(self, post: Post, action: LinkAction, moderator: str) -> str:
        token = self._signer().sign(post.id, action, post.version, moderator)
        query = urlencode({"decision": action.value, "token": token})
        return f"{self.base_url}moderation/{post.id}?{query}"

    def withdraw_url(self, post: Post) -> str:
        token = self._signer().sign(post.id, LinkAction.WITHDRAW, post.version, POSTER)
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
