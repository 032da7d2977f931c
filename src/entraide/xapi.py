"""Posting tweets on X (API v2, ``POST /2/tweets``) through tweepy, or to a dry-run outbox.

:class:`TweepyPoster` posts with the account's OAuth 1.0a user tokens. It never sleeps
on a rate limit (tweepy's ``wait_on_rate_limit`` would, and it ignores the 24-hour
caps): every failure becomes one of four typed errors, so that the relay can decide:

- :class:`XRateLimited` (429): retry at ``reset_at``, read from the response headers;
- :class:`XDuplicate` (403 "duplicate content"): X already has this very text;
- :class:`XRejected` (400, 401, other 403s, other 4xx): permanent, do not retry as is;
- :class:`XUnavailable` (5xx, timeouts, connection errors): retry later. After a
  timeout the tweet may have been posted all the same: a retry then meets
  :class:`XDuplicate`.

:class:`DryRunPoster` (the local stack, and any run without X credentials) appends
each tweet to ``tweets.jsonl`` in an outbox folder and prints it.

tweepy and requests are imported, and the client built, on the first post only.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Final, Protocol, TextIO

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

from entraide.privacy.detection import redact_contact

__all__ = [
    "SCOPE_15MIN",
    "SCOPE_24H_APP",
    "SCOPE_24H_USER",
    "SCOPE_UNKNOWN",
    "DryRunPoster",
    "PostedTweet",
    "Quota",
    "RateLimits",
    "TweepyPoster",
    "XCredentials",
    "XCredentialsError",
    "XDuplicate",
    "XError",
    "XPoster",
    "XRateLimited",
    "XRejected",
    "XUnavailable",
    "rate_limited",
    "read_rate_limits",
]

#: Scopes of :class:`XRateLimited`: the endpoint's 15-minute window, the 24-hour cap of
#: the user (the account that posts) or of the app, or no header to tell.
SCOPE_15MIN: Final = "15min"
SCOPE_24H_USER: Final = "24h-user"
SCOPE_24H_APP: Final = "24h-app"
SCOPE_UNKNOWN: Final = "unknown"

#: When a 429 carries no reset header at all, retry after one 15-minute window.
DEFAULT_WINDOW: Final = timedelta(minutes=15)
#: (connect, read) seconds; tweepy itself sets no timeout and would wait forever.
DEFAULT_TIMEOUT: Final = (5.0, 20.0)
_DETAIL_MAX = 500


def _utcnow() -> datetime:
    return datetime.now(UTC)


# --- credentials -------------------------------------------------------------------------


class XCredentialsError(ValueError):
    """The secret does not hold usable X credentials. Never quotes a secret's value."""


class XCredentials(BaseModel):
    """The OAuth 1.0a keys of the app and tokens of the account that posts.

    Values are :class:`~pydantic.SecretStr` (hidden from ``repr`` and logs). The X
    developer portal calls the consumer key and secret "API Key" and "API Key Secret":
    ``api_key`` / ``api_key_secret`` (or ``api_secret``) are accepted too.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    consumer_key: SecretStr = Field(validation_alias=AliasChoices("consumer_key", "api_key"))
    consumer_secret: SecretStr = Field(
        validation_alias=AliasChoices("consumer_secret", "api_key_secret", "api_secret")
    )
    access_token: SecretStr
    access_token_secret: SecretStr

    @field_validator("*", mode="after")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("empty")
        return value

    @classmethod
    def from_secret_string(cls, text: str) -> XCredentials:
        """From the ``SecretString`` of a Secrets Manager secret: a JSON object."""
        try:
            data = json.loads(text)
        except (TypeError, ValueError):
            raise XCredentialsError("The X credentials secret is not JSON.") from None
        if not isinstance(data, dict):
            raise XCredentialsError("The X credentials secret must be a JSON object.")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            # Only field names and problems: a ValidationError would quote the values.
            problems = sorted(
                {
                    f"{'.'.join(str(p) for p in error['loc'])} ({error['type']})"
                    for error in exc.errors()
                }
            )
            raise XCredentialsError(
                f"Invalid X credentials secret: {', '.join(problems)}."
            ) from None

    def client_kwargs(self) -> dict[str, str]:
        """The four keyword arguments of ``tweepy.Client``, in clear."""
        return {
            "consumer_key": self.consumer_key.get_secret_value().strip(),
            "consumer_secret": self.consumer_secret.get_secret_value().strip(),
            "access_token": self.access_token.get_secret_value().strip(),
            "access_token_secret": self.access_token_secret.get_secret_value().strip(),
        }


# --- results and errors ------------------------------------------------------------------


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
    """X could not be reached or failed (5xx, timeout, connection): retry later."""

    retryable = True

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


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
        return XRateLimited((now or _utcnow()) + DEFAULT_WINDOW, SCOPE_UNKNOWN, limits)
    # The latest reset; on a tie, the 24-hour scope (listed first) is the one to report.
    reset_at, scope = max(blocking, key=lambda item: item[0])
    return XRateLimited(reset_at, scope, limits)


# --- posters -----------------------------------------------------------------------------


class XPoster(Protocol):
    def post(self, text: str) -> PostedTweet: ...


def _detail(exc: Any) -> str:
    """X's own message from a tweepy HTTPException ("detail", "errors[].message")."""
    messages = [str(message) for message in getattr(exc, "api_messages", []) if message]
    if not messages:
        response = getattr(exc, "response", None)
        reason = getattr(response, "reason", "") or ""
        messages = [str(reason) or type(exc).__name__]
    return "; ".join(messages)[:_DETAIL_MAX]


def _map_error(exc: BaseException, now: datetime) -> XError | None:
    """The typed error for what tweepy or requests raised; ``None`` for anything else."""
    import requests
    import tweepy

    if isinstance(exc, tweepy.TooManyRequests):
        return rate_limited(exc.response.headers, now=now)
    if isinstance(exc, tweepy.TwitterServerError):
        return XUnavailable(f"{exc.response.status_code} {_detail(exc)}")
    if isinstance(exc, tweepy.HTTPException):
        status = int(getattr(exc.response, "status_code", 0) or getattr(exc.response, "status", 0))
        detail = _detail(exc)
        if status == 403 and (
            "duplicate content" in detail.lower() or 187 in getattr(exc, "api_codes", [])
        ):
            return XDuplicate(detail)
        if status in (408, 425):  # request timeout, too early: transient by definition
            return XUnavailable(f"{status} {detail}")
        return XRejected(status, detail)
    if isinstance(exc, requests.RequestException):
        # Timeouts, connection errors, and a 2xx whose body is not JSON.
        return XUnavailable(f"{type(exc).__name__}: {str(exc)[:_DETAIL_MAX]}")
    return None


def _posted(response: Any, text: str) -> PostedTweet:
    """A PostedTweet from a ``requests.Response`` (with headers) or a ``tweepy.Response``."""
    limits: RateLimits | None = None
    if hasattr(response, "json") and hasattr(response, "headers"):
        limits = read_rate_limits(response.headers)
        data = (response.json() or {}).get("data")
    else:
        data = getattr(response, "data", None)
    if not isinstance(data, Mapping) or not data.get("id"):
        raise XUnavailable("X answered without the id of the tweet.")
    return PostedTweet(id=str(data["id"]), text=str(data.get("text", text)), limits=limits)


def _timeout_adapter(timeout: float | tuple[float, float]) -> Any:
    """A requests adapter that gives every request ``timeout`` unless one is passed."""
    from collections.abc import Mapping as MappingABC

    from requests import PreparedRequest, Response
    from requests.adapters import HTTPAdapter

    class TimeoutAdapter(HTTPAdapter):
        def send(
            self,
            request: PreparedRequest,
            stream: bool = False,
            timeout: float | tuple[float, float] | tuple[float, None] | None = None,
            verify: bool | str = True,
            cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
            proxies: MappingABC[str, str] | None = None,
        ) -> Response:
            return super().send(
                request,
                stream=stream,
                timeout=default_timeout if timeout is None else timeout,
                verify=verify,
                cert=cert,
                proxies=proxies,
            )

    default_timeout = timeout
    return TimeoutAdapter()


def tweepy_client(
    credentials: XCredentials, *, timeout: float | tuple[float, float] = DEFAULT_TIMEOUT
) -> Any:
    """A ``tweepy.Client`` for user-context posting that never sleeps on a rate limit.

    It returns raw ``requests.Response`` objects, so that the rate-limit headers of a
    successful post reach :class:`PostedTweet`; its session has a default timeout.
    """
    import requests
    import tweepy

    client = tweepy.Client(
        **credentials.client_kwargs(),
        wait_on_rate_limit=False,
        return_type=requests.Response,
    )
    client.session.mount("https://", _timeout_adapter(timeout))
    return client


class UserContextClient:
    """A ``tweepy.Client`` in user context (OAuth 1.0a), shared by the poster and the reader.

    ``credentials_loader`` is called on the first call (and again after a 401, in case the
    secret was rotated); ``client_factory`` builds the client from the credentials
    (default :func:`tweepy_client`). :meth:`call` maps X's answers to the typed errors
    of this module; it never sleeps on a rate limit.
    """

    def __init__(
        self,
        credentials_loader: Callable[[], XCredentials],
        *,
        client_factory: Callable[[XCredentials], Any] | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._load = credentials_loader
        self._factory = client_factory or tweepy_client
        self._clock = clock
        self._client: Any | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        """The tweepy client, built on first use."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._factory(self._load())
        return self._client

    def call(
        self,
        method: str,
        *args: Any,
        read: Callable[[Any], Any] = lambda response: response,
        **kwargs: Any,
    ) -> Any:
        """``client.<method>(…, user_auth=True)``, its answer through ``read``.

        ``read`` runs inside the error mapping: a body X sent broken is X's error too.
        """
        client = self.client
        try:
            return read(getattr(client, method)(*args, user_auth=True, **kwargs))
        except XError:
            raise
        except Exception as exc:
            error = _map_error(exc, self._clock())
            if error is None:
                raise
            if isinstance(error, XRejected) and error.status == 401:
                self._client = None  # reload the credentials next time
            raise error from exc


class TweepyPoster:
    """Posts through ``tweepy.Client.create_tweet(text=…, user_auth=True)``.

    See :class:`UserContextClient` for the credentials, the client and the errors.
    """

    def __init__(
        self,
        credentials_loader: Callable[[], XCredentials],
        *,
        client_factory: Callable[[XCredentials], Any] | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._x = UserContextClient(credentials_loader, client_factory=client_factory, clock=clock)

    @property
    def client(self) -> Any:
        """The tweepy client, built on first use."""
        return self._x.client

    def post(self, text: str) -> PostedTweet:
        posted: PostedTweet = self._x.call(
            "create_tweet", text=text, read=lambda response: _posted(response, text)
        )
        return posted


class DryRunPoster:
    """Posts nothing: appends each tweet to ``outbox_dir/tweets.jsonl`` and prints it.

    One JSON line per tweet, ``{"id": "dry-…", "text": …, "at": …, "length": …}``
    (``length`` as X counts it), written by one ``write`` on a file opened for
    appending, under a lock: concurrent posters never interleave lines. A text X
    would refuse as too long raises :class:`XRejected` (status 400), as X would.
    """

    _lock: ClassVar[threading.Lock] = threading.Lock()
    FILE_NAME: ClassVar[str] = "tweets.jsonl"

    def __init__(
        self,
        outbox_dir: Path,
        *,
        console: TextIO | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.outbox_dir = Path(outbox_dir)
        self._console = console
        self._clock = clock

    @property
    def path(self) -> Path:
        return self.outbox_dir / self.FILE_NAME

    def post(self, text: str) -> PostedTweet:
        from entraide.tweets import TWEET_MAX, fits, weighted_length

        length = weighted_length(text)
        if not fits(text):
            raise XRejected(400, f"Tweet text too long or invalid ({length}/{TWEET_MAX}).")
        tweet = PostedTweet(id=f"dry-{uuid.uuid4()}", text=text)
        record = {
            "id": tweet.id,
            "text": text,
            "at": self._clock().astimezone(UTC).isoformat(timespec="seconds"),
            "length": length,
        }
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            self.outbox_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                written = os.write(fd, line)
            finally:
                os.close(fd)
        if written != len(line):  # a full disk; the line is cut, say so
            raise OSError(f"Only {written} of {len(line)} bytes written to {self.path}.")
        self._announce(text)
        return tweet

    def _announce(self, text: str) -> None:
        console = self._console if self._console is not None else sys.stdout
        # The tweet quotes a title typed by a person (scrubbed already): mask anyway.
        shown = redact_contact(text).replace("\n", "\n    ")
        console.write(f"🐦  {shown}\n")
        console.flush()
