"""The signed links of contact through the platform, and a post's public link.

The match notice gives the need's poster a signed link per offer::

    <base>contact/<offer id>?need=<need id>&token=<token>

The token is a :class:`~entraide.moderation.signing.LinkSigner` token over
``"<offer>:<need>"``, the action ``"contact"``, the need's version and an expiry, for the
actor "the need's poster" (the digest of their address): it is checked against the
address of the need's contact item at each use, so that it works for that person only,
and a contact token can never pass for a moderation or withdrawal one (another action is
signed).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlencode

from entraide.kernel.model import Post
from entraide.moderation.signing import InvalidLink, LinkAction, LinkSigner, VerifiedLink

#: How long a contact link stays valid: a week, for a need that lasts.
CONTACT_LINK_TTL = timedelta(days=7)
#: The action contact tokens are signed for.
CONTACT_ACTION = LinkAction.CONTACT

# Names of the link's query parameters, which the form posts back as its fields.
TOKEN_FIELD = "token"  # noqa: S105 - the name of a form field
NEED_FIELD = "need"

#: Post ids are ULIDs: no ":" can make "<offer>:<need>" ambiguous.
VALID_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")


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
        if not (VALID_ID.fullmatch(offer_id) and VALID_ID.fullmatch(need_id)):
            raise InvalidLink()
        return self._signer().verify(
            token,
            post_id=self._subject(offer_id, need_id),
            action=CONTACT_ACTION,
            actors=[asker],
        )
