"""What X answers to a call: the tweet posted, the rate limits its headers tell, typed errors.

Every failure of a call to X becomes one of four errors, so that the relay (and the
snapshot's reads) can decide without knowing tweepy: :class:`XRateLimited` (429, with
the time to retry read from the headers), :class:`XDuplicate` (X already has this very
text), :class:`XRejected` (permanent), :class:`XUnavailable` (5xx, timeouts, connection
errors: retry later).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar, Final

from entraide.kernel.times import utcnow

#: Scopes of :class:`XRateLimited`: the endpoint's 15-minute window, the 24-hour cap of
#: the user (the account that posts) or of the app, or no header to tell.
SCOPE_15MIN: Final = "15min"
SCOPE_24H_USER: Final = "24h-user"
SCOPE_24H_APP: Final = "24h-app"
SCOPE_UNKNOWN: Final = "unknown"

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
    """The limits a response of X reports: 15-minute window, 24-hour caps (user, app)."""

    window: Quota | None = None
    user_24h: Quota | None = None
    app_24h: Quota | None = None


@dataclass(frozen=True, slots=True)
class PostedTweet:
    """A tweet X accepted (or that the dry run recorded).

    ``text`` is the text X returns (it may differ from the one sent: links become
    t.co links); ``limits`` what the response's headers said, when known.
    """

    id: str
    text: str
    limits: RateLimits | None = None


class XError(Exception):
    """A tweet was not posted. ``retryable`` says whether the same text may be retried."""

    retryable: ClassVar[bool] = False


class XRateLimited(XError):
    """429: no tweet before ``reset_at`` (aware, UTC). ``scope`` is one of ``SCOPE_*``."""

    retryable = True

    def __init__(self, reset_at: datetime, scope: str, limits: RateLimits | None = None) -> None:
        super().__init__(f"X rate limit ({scope}) until {reset_at.isoformat()}.")
        self.reset_at = reset_at
        self.scope = scope
        self.limits = limits


class XDuplicate(XError):
    """403: X refuses a tweet whose text is the same as a recent one of the account."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class XRejected(XError):
    """A permanent refusal (400, 401, 403, other 4xx): retrying the same call will fail."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status} {detail}")
        self.status = status
        self.detail = detail


class XUnavailable(XError):
    """X could not be reached or failed (5xx, timeout, connection): retry later.

    ``maybe_posted``: the request may have reached X and been taken (a timeout reading the
    answer, a connection cut after sending, a 2xx without a tweet): a retry must send the
    same text, which X refuses if it has it. A 5xx, or a connection never made, posted
    nothing."""

    retryable = True

    def __init__(self, detail: str, *, maybe_posted: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.maybe_posted = maybe_posted


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


def rate_limited(headers: Mapping[str, str], *, now: datetime | None = None) -> XRateLimited:
    """The :class:`XRateLimited` that a 429 with these headers means.

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
        return XRateLimited((now or utcnow()) + DEFAULT_WINDOW, SCOPE_UNKNOWN, limits)
    # The latest reset; on a tie, the 24-hour scope (listed first) is the one to report.
    reset_at, scope = max(blocking, key=lambda item: item[0])
    return XRateLimited(reset_at, scope, limits)
