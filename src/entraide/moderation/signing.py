"""Signed, expiring links for moderators and posters.

A token binds the post id, the action (approve, reject, withdraw), the post version
the link was made for, who may act (a moderator's address, or "poster") and an expiry,
with HMAC-SHA256 under a secret key. The actor travels in the token as an opaque
digest, so that no address appears in a URL.

    <version>.<expiry epoch>.<actor digest>.<signature>    (URL-safe base64, no padding)

The version and expiry travel in clear (they are signed) so that a link used after the
post was decided can say so, rather than look forged. Verification compares signatures
in constant time. A token never grants anything by itself: the handler still checks the
post's current status and version, and a GET only shows a confirmation page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from entraide.kernel.errors import ExpiredLink, InvalidLink

__all__ = [
    "DEFAULT_LINK_TTL",
    "POSTER",
    "ExpiredLink",
    "InvalidLink",
    "LinkAction",
    "LinkSigner",
    "VerifiedLink",
    "actor_digest",
]

DEFAULT_LINK_TTL = timedelta(hours=72)
POSTER = "poster"

# A version and an expiry in ASCII digits, bounded: a 5,000-digit number, or a Unicode
# digit such as "²" that str.isdigit() accepts, is a forged link, not a crash; ten digits
# of epoch seconds reach the year 2286, within what datetime can represent.
_VERSION = re.compile(r"[0-9]{1,9}")
_EXPIRY = re.compile(r"[0-9]{1,10}")


class LinkAction(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    CONTACT = "contact"  # a person in need writing to a helper (entraide.matching.contact)
    MY_POSTS = "my-posts"  # a person's page of their posts (entraide.privacy.my_posts)
    RELAY = "relay"  # a community manager relays a watch item (entraide.watch.digest)
    IGNORE = "ignore"  # … or sets it aside


@dataclass(frozen=True, slots=True)
class VerifiedLink:
    post_id: str
    action: LinkAction
    version: int  # the post version the link was made for
    actor: str  # a moderator's address, or POSTER
    expires_at: datetime

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def check_not_expired(self, now: datetime) -> None:
        if self.expired(now):
            raise ExpiredLink(self.expires_at)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def actor_digest(actor: str) -> str:
    """Opaque, stable stand-in for an actor in URLs (no address in a link)."""
    return _b64(hashlib.sha256(actor.strip().lower().encode("utf-8")).digest()[:12])


class LinkSigner:
    def __init__(
        self,
        key: bytes,
        *,
        ttl: timedelta = DEFAULT_LINK_TTL,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if len(key) < 32:
            raise ValueError("the signing key must have at least 32 bytes")
        self._key = key
        self._ttl = ttl
        self._now = now

    def _signature(
        self, post_id: str, action: LinkAction, version: int, expiry: int, digest: str
    ) -> str:
        payload = "\n".join(["v1", post_id, action.value, str(version), str(expiry), digest])
        return _b64(hmac.new(self._key, payload.encode("utf-8"), hashlib.sha256).digest())

    def sign(
        self,
        post_id: str,
        action: LinkAction,
        version: int,
        actor: str,
        *,
        ttl: timedelta | None = None,
    ) -> str:
        """A token for ``actor``, valid ``ttl`` (default: the signer's)."""
        expiry = int((self._now() + (ttl or self._ttl)).timestamp())
        digest = actor_digest(actor)
        signature = self._signature(post_id, action, version, expiry, digest)
        return f"{version}.{expiry}.{digest}.{signature}"

    def verify(
        self, token: str, *, post_id: str, action: LinkAction, actors: Sequence[str]
    ) -> VerifiedLink:
        """The link's claims if we signed it for this post and action, else InvalidLink.

        ``actors`` are those who may hold such a link (the moderators, or POSTER). Expiry
        is left to the caller (:meth:`VerifiedLink.check_not_expired`), which first tells
        a link whose post was already decided.
        """
        parts = token.split(".")
        if len(parts) != 4 or not (_VERSION.fullmatch(parts[0]) and _EXPIRY.fullmatch(parts[1])):
            raise InvalidLink()
        version, expiry, digest, signature = int(parts[0]), int(parts[1]), parts[2], parts[3]
        expected = self._signature(post_id, action, version, expiry, digest)
        if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            raise InvalidLink()
        actor = next((a for a in actors if hmac.compare_digest(actor_digest(a), digest)), None)
        if actor is None:  # e.g. a moderator removed from the list since the mail was sent
            raise InvalidLink()
        expires_at = datetime.fromtimestamp(expiry, tz=UTC)
        return VerifiedLink(post_id, action, version, actor, expires_at)
