"""What a network answers to a call, whatever the network: its rate limits and typed errors.

Every failure of a call to X, Bluesky or Mastodon becomes one of four errors, so that the
relay, the retraction and the snapshot's reads decide without knowing the client library:
:class:`RateLimited` (429, with the time to retry read from the network's headers),
:class:`DuplicateText` (the network already has this very text), :class:`Rejected`
(permanent), :class:`Unavailable` (5xx, timeouts, connection errors: retry later). Each
network's module maps its client's exceptions to them (:mod:`.x_answers`, :mod:`.bluesky`,
:mod:`.mastodon`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar, Final

#: When a 429 carries no reset header at all, retry after one 15-minute window.
DEFAULT_WINDOW: Final = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Quota:
    """One rate limit as the response headers tell it."""

    limit: int | None
    remaining: int | None
    reset_at: datetime | None


@dataclass(frozen=True, slots=True)
class RateLimits:
    """The limits a response reports: the short window (X's 15 minutes, Bluesky's and
    Mastodon's own), and X's 24-hour caps (user, app)."""

    window: Quota | None = None
    user_24h: Quota | None = None
    app_24h: Quota | None = None


class ChannelError(Exception):
    """A call to a network failed. ``retryable`` says whether the same call may be retried."""

    retryable: ClassVar[bool] = False


class RateLimited(ChannelError):
    """429: no call before ``reset_at`` (aware, UTC). ``scope`` says which limit (X's
    ``SCOPE_*`` of :mod:`.x_answers`, or the network's name); ``network`` names it in the
    message (X, the first channel, unless told)."""

    retryable = True

    def __init__(
        self,
        reset_at: datetime,
        scope: str,
        limits: RateLimits | None = None,
        *,
        network: str = "X",
    ) -> None:
        super().__init__(f"{network} rate limit ({scope}) until {reset_at.isoformat()}.")
        self.reset_at = reset_at
        self.scope = scope
        self.limits = limits


class DuplicateText(ChannelError):
    """The network refuses a message whose text is the same as a recent one of the account
    (X's 403 "duplicate content")."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Rejected(ChannelError):
    """A permanent refusal (400, 401, 403, other 4xx): retrying the same call will fail."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status} {detail}")
        self.status = status
        self.detail = detail


class Unavailable(ChannelError):
    """The network could not be reached or failed (5xx, timeout, connection): retry later.

    ``maybe_posted``: the request may have reached the network and been taken (a timeout
    reading the answer, a connection cut after sending, a 2xx without the message): a retry
    must send the same text, which the network refuses or rewrites if it has it. A 5xx, or
    a connection never made, posted nothing."""

    retryable = True

    def __init__(self, detail: str, *, maybe_posted: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.maybe_posted = maybe_posted
