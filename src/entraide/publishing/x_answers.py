"""What X answers to a call: the tweet posted, the rate limits its headers tell.

Failures are the channels' typed errors (:mod:`.channel_errors`): :func:`rate_limited` reads
a 429's headers into a :class:`~.channel_errors.RateLimited` of one of X's scopes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from entraide.kernel.times import utcnow
from entraide.publishing.channel_errors import (
    DEFAULT_WINDOW,
    ChannelError,
    DuplicateText,
    Quota,
    RateLimited,
    RateLimits,
    Rejected,
    Unavailable,
)

#: Scopes of a :class:`~.channel_errors.RateLimited` of X: the endpoint's 15-minute
#: window, the 24-hour cap of the user (the account that posts) or of the app, or no header.
SCOPE_15MIN: Final = "15min"
SCOPE_24H_USER: Final = "24h-user"
SCOPE_24H_APP: Final = "24h-app"
SCOPE_UNKNOWN: Final = "unknown"


@dataclass(frozen=True, slots=True)
class PostedTweet:
    """A tweet X accepted (or that the dry run recorded).

    ``text`` is the text X returns (it may differ from the one sent: links become
    t.co links); ``limits`` what the response's headers said, when known.
    """

    id: str
    text: str
    limits: RateLimits | None = None


def _int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _quota(headers: Mapping[str, str], prefix: str) -> Quota | None:
    limit = _int(headers, f"{prefix}-limit")
    remaining = _int(headers, f"{prefix}-remaining")
    reset = _int(headers, f"{prefix}-reset")
    if limit is None and remaining is None and reset is None:
        return None
    reset_at = datetime.fromtimestamp(reset, UTC) if reset is not None else None
    return Quota(limit, remaining, reset_at)


def read_rate_limits(headers: Mapping[str, str]) -> RateLimits:
    """The ``x-rate-limit-*``, ``x-user-limit-24hour-*`` and ``x-app-limit-24hour-*`` headers.

    ``headers`` must look names up case-insensitively, as ``requests`` does.
    """
    return RateLimits(
        window=_quota(headers, "x-rate-limit"),
        user_24h=_quota(headers, "x-user-limit-24hour"),
        app_24h=_quota(headers, "x-app-limit-24hour"),
    )


def rate_limited(headers: Mapping[str, str], *, now: datetime | None = None) -> RateLimited:
    """The :class:`~.channel_errors.RateLimited` that a 429 with these headers means.

    A 24-hour cap whose ``remaining`` is 0 blocks until its reset; so does the
    15-minute window (``x-rate-limit-reset``) when its own ``remaining`` is 0 or
    unknown, or when no 24-hour cap is exhausted. The latest of the blocking resets
    wins. Without any reset header: ``now`` + 15 minutes, scope ``"unknown"``.
    """
    limits = read_rate_limits(headers)
    blocking: list[tuple[datetime, str]] = []
    for quota, scope in ((limits.user_24h, SCOPE_24H_USER), (limits.app_24h, SCOPE_24H_APP)):
        if quota is not None and quota.remaining == 0 and quota.reset_at is not None:
            blocking.append((quota.reset_at, scope))
    window = limits.window
    if (
        window is not None
        and window.reset_at is not None
        and (window.remaining in (None, 0) or not blocking)
    ):
        blocking.append((window.reset_at, SCOPE_15MIN))
    if not blocking:
        return RateLimited((now or utcnow()) + DEFAULT_WINDOW, SCOPE_UNKNOWN, limits)
    # The latest reset; on a tie, the 24-hour scope (listed first) is the one to report.
    reset_at, scope = max(blocking, key=lambda item: item[0])
    return RateLimited(reset_at, scope, limits)


# The names these errors had when X was the only channel: the fault run's fake X still
# raises them. They are the same classes; new code names the neutral ones.
XError = ChannelError
XRateLimited = RateLimited
XDuplicate = DuplicateText
XRejected = Rejected
XUnavailable = Unavailable

__all__ = [
    "DEFAULT_WINDOW",
    "SCOPE_15MIN",
    "SCOPE_24H_APP",
    "SCOPE_24H_USER",
    "SCOPE_UNKNOWN",
    "PostedTweet",
    "Quota",
    "RateLimits",
    "XDuplicate",
    "XError",
    "XRateLimited",
    "XRejected",
    "XUnavailable",
    "rate_limited",
    "read_rate_limits",
]
