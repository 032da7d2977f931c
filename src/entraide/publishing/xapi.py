"""Posting and deleting tweets on X (API v2, ``POST /2/tweets``, ``DELETE /2/tweets/:id``)
through tweepy, or to a dry-run outbox.

:class:`TweepyPoster` posts with the account's OAuth 1.0a user tokens. It never sleeps
on a rate limit (tweepy's ``wait_on_rate_limit`` would, and it ignores the 24-hour
caps): every failure becomes one of four typed errors, so that the relay can decide:

- :class:`~.channel_errors.RateLimited` (429): retry at ``reset_at``, read from the response
  headers;
- :class:`~.channel_errors.DuplicateText` (403 "duplicate content"): X already has this very text;
- :class:`~.channel_errors.Rejected` (400, 401, other 403s, other 4xx): permanent, do not
  retry as is;
- :class:`~.channel_errors.Unavailable` (5xx, timeouts, connection errors): retry later.
  After a timeout the tweet may have been posted all the same: a retry then meets
  :class:`~.channel_errors.DuplicateText`.

:class:`DryRunPoster` (the local stack, and any run without X credentials) appends
each tweet to ``tweets.jsonl`` in an outbox folder and prints it (deletions go to
``tweets-deleted.jsonl``).

tweepy and requests are imported, and the client built, on the first post only.

Why one module: the credentials, the tweepy client and both posters answer one protocol
and map X's answers the same way; the answers themselves are read in :mod:`.x_answers`.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
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

from entraide.kernel.times import utcnow
from entraide.privacy.detection import redact_contact
from entraide.publishing.channel_errors import (
    ChannelError,
    DuplicateText,
    RateLimits,
    Rejected,
    Unavailable,
)
from entraide.publishing.x_answers import (
    PostedTweet,
    rate_limited,
    read_rate_limits,
)

__all__ = [
    "DryRunPoster",
    "TweepyPoster",
    "UserContextClient",
    "XCredentials",
    "XCredentialsError",
    "XPoster",
    "tweepy_client",
]

#: (connect, read) seconds; tweepy itself sets no timeout and would wait forever.
DEFAULT_TIMEOUT: Final = (5.0, 20.0)
_DETAIL_MAX = 500


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


# --- posters -----------------------------------------------------------------------------


class XPoster(Protocol):
    def post(self, text: str) -> PostedTweet: ...


def _deleted(response: Any) -> None:
    """X's answer to a delete: ``{"data": {"deleted": true}}`` (recorded in tweepy's cassette
    ``test_client_create_and_delete_tweet``). ``deleted: false`` means nothing is left to
    delete either way; a body without ``data`` is X's error."""
    data = (response.json() or {}).get("data") if hasattr(response, "json") else None
    if not isinstance(data, Mapping) or "deleted" not in data:
        raise Unavailable("X answered a delete without saying whether it deleted.")


def _detail(exc: Any) -> str:
    """X's own message from a tweepy HTTPException ("detail", "errors[].message")."""
    messages = [str(message) for message in getattr(exc, "api_messages", []) if message]
    if not messages:
        response = getattr(exc, "response", None)
        reason = getattr(response, "reason", "") or ""
        messages = [str(reason) or type(exc).__name__]
    return "; ".join(messages)[:_DETAIL_MAX]


def _map_error(exc: BaseException, now: datetime) -> ChannelError | None:
    """The typed error for what tweepy or requests raised; ``None`` for anything else."""
    import requests
    import tweepy

    if isinstance(exc, tweepy.TooManyRequests):
        return rate_limited(exc.response.headers, now=now)
    if isinstance(exc, tweepy.TwitterServerError):
        return Unavailable(f"{exc.response.status_code} {_detail(exc)}")
    if isinstance(exc, tweepy.HTTPException):
        status = int(getattr(exc.response, "status_code", 0) or getattr(exc.response, "status", 0))
        detail = _detail(exc)
        if status == 403 and (
            "duplicate content" in detail.lower() or 187 in getattr(exc, "api_codes", [])
        ):
            return DuplicateText(detail)
        if status in (408, 425):  # request timeout, too early: transient by definition
            return Unavailable(f"{status} {detail}")
        return Rejected(status, detail)
    if isinstance(exc, requests.RequestException):
        # Timeouts, connection errors, and a 2xx whose body is not JSON: unless the
        # connection was never made, X may have taken the tweet.
        never_sent = isinstance(exc, requests.ConnectTimeout)
        return Unavailable(
            f"{type(exc).__name__}: {str(exc)[:_DETAIL_MAX]}", maybe_posted=not never_sent
        )
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
        raise Unavailable("X answered without the id of the tweet.", maybe_posted=True)
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
        clock: Callable[[], datetime] = utcnow,
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
        except ChannelError:
            raise
        except Exception as exc:
            error = _map_error(exc, self._clock())
            if error is None:
                raise
            if isinstance(error, Rejected) and error.status == 401:
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
        clock: Callable[[], datetime] = utcnow,
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

    def delete(self, tweet_id: str) -> None:
        """``DELETE /2/tweets/:id`` (50 requests per 15 minutes per user, X's API reference;
        $0.010 a call under pay-per-use). A 404 means the tweet is gone already: done."""
        try:
            self._x.call("delete_tweet", tweet_id, read=_deleted)
        except Rejected as refused:
            if refused.status != 404:
                raise


class DryRunPoster:
    """Posts nothing: appends each message to ``outbox_dir/<file_name>`` and prints it.

    One JSON line per message, in the network's own form: for X (the default,
    ``tweets.jsonl``) ``{"id": "dry-…", "text": …, "at": …, "length": …}`` (``length`` as X
    counts it); Bluesky's and Mastodon's posters give their own ``form`` and file
    (:mod:`.bluesky`, :mod:`.mastodon`). Each line is written by one ``write`` on a file
    opened for appending, under a lock: concurrent posters never interleave lines. A text
    the network would refuse as too long raises :class:`Rejected` (status 400), as the
    network would.
    """

    _lock: ClassVar[threading.Lock] = threading.Lock()
    FILE_NAME: ClassVar[str] = "tweets.jsonl"

    def __init__(
        self,
        outbox_dir: Path,
        *,
        console: TextIO | None = None,
        clock: Callable[[], datetime] = utcnow,
        file_name: str | None = None,
        form: Callable[[str], dict[str, Any]] | None = None,
        icon: str = "🐦",
    ) -> None:
        self.outbox_dir = Path(outbox_dir)
        self._console = console
        self._clock = clock
        self.file_name = file_name or self.FILE_NAME
        self._form = form or tweet_form
        self._icon = icon

    @property
    def path(self) -> Path:
        return self.outbox_dir / self.file_name

    def post(self, text: str) -> PostedTweet:
        tweet = PostedTweet(id=f"dry-{uuid.uuid4()}", text=text)
        self._append(self.file_name, {"id": tweet.id, **self._form(text)})
        # The message quotes a title typed by a person (scrubbed already): mask anyway.
        self._say(f"{self._icon}  {redact_contact(text)}")
        return tweet

    @property
    def deleted_path(self) -> Path:
        """``tweets-deleted.jsonl`` beside ``tweets.jsonl`` (``bluesky-deleted.jsonl`` …)."""
        return self.outbox_dir / f"{Path(self.file_name).stem}-deleted.jsonl"

    def delete(self, tweet_id: str) -> None:
        """Appends ``{"deleted": <id>, "at": …}`` to :attr:`deleted_path`."""
        self._append(self.deleted_path.name, {"deleted": tweet_id})
        self._say(f"🗑  {self._icon} {tweet_id} supprimé")

    def _append(self, name: str, record: Mapping[str, Any]) -> None:
        """One JSON line, ``at`` added, by one ``write`` under the lock."""
        path, at = self.outbox_dir / name, self._clock().astimezone(UTC)
        stamped = {**record, "at": at.isoformat(timespec="seconds")}
        line = (json.dumps(stamped, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            self.outbox_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                written = os.write(fd, line)
            finally:
                os.close(fd)
        if written != len(line):  # a full disk; the line is cut, say so
            raise OSError(f"Only {written} of {len(line)} bytes written to {path}.")

    def _say(self, line: str) -> None:
        console = self._console if self._console is not None else sys.stdout
        console.write(line.replace("\n", "\n    ") + "\n")
        console.flush()


def tweet_form(text: str) -> dict[str, Any]:
    """A tweet as the dry run records it; :class:`Rejected` (400) when X would refuse it."""
    from entraide.publishing.tweet_text import TWEET_MAX, fits, weighted_length

    length = weighted_length(text)
    if not fits(text):
        raise Rejected(400, f"Tweet text too long or invalid ({length}/{TWEET_MAX}).")
    return {"text": text, "length": length}
