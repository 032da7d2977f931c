"""Posting on Mastodon through the official Python client (``Mastodon.py``), or to a dry run.

:class:`MastodonPoster` posts each text as a public status in French
(``POST /api/v1/statuses`` with ``visibility=public``, ``language=fr``) with the access
token of the account, read from Secrets Manager with the instance's address.

**Once, even when an answer is lost.** Every status carries an ``Idempotency-Key`` drawn
from its text: Mastodon answers a repeated key with the status it created the first time,
for an hour (docs.joinmastodon.org, "statuses", "Idempotency-Key"; read 2026-12). A retry
after a timeout or a crash within that hour posts nothing twice; later, a lost answer may
make a second status — what a lost response makes unavoidable on a network that refuses no
repeat.

**Rate limits** come from the answer's headers (``X-RateLimit-Limit``,
``X-RateLimit-Remaining``, ``X-RateLimit-Reset`` — an ISO time; docs.joinmastodon.org
"Rate limits": 300 requests per 5 minutes per account, and 300 statuses per 3 hours).
The client is told to *throw* on 429 (never to sleep in a Lambda); the reset it read
becomes :class:`~.channel_errors.RateLimited`. 401 (token revoked) and other 4xx →
:class:`~.channel_errors.Rejected`; 5xx, timeouts and connection errors →
:class:`~.channel_errors.Unavailable`.

``Mastodon.py`` is imported, and the client built, on the first post only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Final, TextIO

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from entraide.kernel.once import Once
from entraide.kernel.times import utcnow
from entraide.publishing.channel_errors import (
    DEFAULT_WINDOW,
    ChannelError,
    Quota,
    RateLimited,
    RateLimits,
    Rejected,
    Unavailable,
)
from entraide.publishing.credentials import from_secret_json
from entraide.publishing.text_rules import (
    MASTODON_DEFAULT_MAX_CHARACTERS,
    mastodon_length,
    mastodon_rule,
)
from entraide.publishing.x_answers import (
    PostedTweet,
)
from entraide.publishing.xapi import DryRunPoster

VISIBILITY: Final = "public"
LANGUAGE: Final = "fr"
#: Seconds; Mastodon.py's own default is 300.
DEFAULT_TIMEOUT: Final = 20.0
FILE_NAME: Final = "mastodon.jsonl"


class MastodonCredentialsError(ValueError):
    """The secret does not hold an instance and a token. Never quotes a value."""


class MastodonCredentials(BaseModel):
    """``{"api_base_url": "https://…", "access_token": "…"}``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    api_base_url: str = Field(pattern=r"^https?://")
    access_token: SecretStr

    @classmethod
    def from_secret_string(cls, text: str) -> MastodonCredentials:
        return from_secret_json(cls, text, MastodonCredentialsError)


def idempotency_key(text: str) -> str:
    """The same text, the same key (SHA-256 of the text)."""
    return "entraide-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:48]


def status_form(text: str, max_characters: int = MASTODON_DEFAULT_MAX_CHARACTERS) -> dict[str, Any]:
    """The parameters of ``POST /api/v1/statuses`` for ``text``; :class:`Rejected` (422, as
    Mastodon answers) when the instance would refuse it as too long."""
    if not mastodon_rule(max_characters).fits(text):
        raise Rejected(
            422, f"Status too long ({mastodon_length(text)}/{max_characters} characters)."
        )
    return {"status": text, "visibility": VISIBILITY, "language": LANGUAGE}


def read_rate_limits(headers: Mapping[str, str]) -> RateLimits:
    """Mastodon's ``X-RateLimit-*`` headers (the reset an ISO time) as the relay's
    :class:`RateLimits`; ``headers`` look names up case-insensitively, as ``requests``'."""

    def number(name: str) -> int | None:
        value = headers.get(name)
        try:
            return None if value is None else int(str(value).strip())
        except ValueError:
            return None

    limit, remaining = number("X-RateLimit-Limit"), number("X-RateLimit-Remaining")
    reset_at: datetime | None = None
    raw = headers.get("X-RateLimit-Reset")
    if raw:
        try:
            reset_at = datetime.fromisoformat(str(raw).strip().replace("Z", "+00:00"))
        except ValueError:
            reset_at = None
    if limit is None and remaining is None and reset_at is None:
        return RateLimits()
    return RateLimits(window=Quota(limit, remaining, reset_at))


class LastAnswer:
    """The headers of the last answer the client's session received (a response hook):
    Mastodon.py keeps a reset only while it is in the future of *this* machine's clock."""

    def __init__(self) -> None:
        self.headers: Mapping[str, str] = {}

    def __call__(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        self.headers = response.headers
        return response


def map_error(exc: BaseException, headers: Mapping[str, str], now: datetime) -> ChannelError | None:
    """The relay's typed error for what ``Mastodon.py`` raised; ``None`` for anything else."""
    from mastodon import errors

    if isinstance(exc, errors.MastodonRatelimitError):
        limits = read_rate_limits(headers)
        window = limits.window
        reset_at = window.reset_at if window and window.reset_at else now + DEFAULT_WINDOW
        return RateLimited(max(reset_at, now), "mastodon", limits, network="Mastodon")
    if isinstance(exc, errors.MastodonNetworkError):
        # requests' errors, timeouts included: the status may have been created
        return Unavailable(str(exc)[:500], maybe_posted=True)
    if isinstance(exc, errors.MastodonServerError):
        return Unavailable(" ".join(str(part) for part in exc.args[1:3])[:500])
    if isinstance(exc, errors.MastodonAPIError):
        status = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 400
        detail = str(exc.args[3] if len(exc.args) > 3 else exc)[:500]
        if status in (408, 425):
            return Unavailable(f"{status} {detail}")
        return Rejected(status, detail)
    return None


def mastodon_client(credentials: MastodonCredentials, session: Any) -> Any:
    """A ``Mastodon`` client on ``session`` that throws on rate limits (never sleeps) and
    checks no version (no call before the first post)."""
    from mastodon import Mastodon

    return Mastodon(
        access_token=credentials.access_token.get_secret_value(),
        api_base_url=credentials.api_base_url,
        ratelimit_method="throw",
        request_timeout=DEFAULT_TIMEOUT,
        version_check_mode="none",
        session=session,
    )


class MastodonPoster:
    """Posts each text as a public French status, keyed by its text."""

    def __init__(
        self,
        credentials_loader: Callable[[], MastodonCredentials],
        *,
        client_factory: Callable[[MastodonCredentials, Any], Any] | None = None,
        clock: Callable[[], datetime] = utcnow,
        max_characters: int = MASTODON_DEFAULT_MAX_CHARACTERS,
    ) -> None:
        self._load = credentials_loader
        self._factory = client_factory or mastodon_client
        self._clock = clock
        self._last = LastAnswer()
        self.max_characters = max_characters
        self._client = Once(self._connect)

    def _connect(self) -> Any:
        import requests

        session = requests.Session()
        session.hooks["response"].append(self._last)
        return self._factory(self._load(), session)

    @property
    def client(self) -> Any:
        """The client, built on first use."""
        return self._client.get()

    @property
    def last_headers(self) -> Mapping[str, str]:
        """The headers of the last answer (its rate limits)."""
        return self._last.headers

    def post(self, text: str) -> PostedTweet:
        form = status_form(text, self.max_characters)
        status = self.call(
            lambda client: client.status_post(**form, idempotency_key=idempotency_key(text))
        )
        status_id = str(_field(status, "id") or "")
        if not status_id:
            raise Unavailable("Mastodon answered without the status's id.", maybe_posted=True)
        return PostedTweet(id=status_id, text=text, limits=read_rate_limits(self._last.headers))

    def delete(self, message_id: str) -> None:
        """``DELETE /api/v1/statuses/:id`` (the answer is the deleted status, recorded in
        Mastodon.py's cassette ``test_toot``); a status already gone answers 404, which
        counts as deleted."""
        from mastodon import errors

        def remove(client: Any) -> Any:
            try:
                return client.status_delete(message_id)
            except errors.MastodonNotFoundError:
                return None

        self.call(remove)

    def call(self, call: Callable[[Any], Any]) -> Any:
        """``call(client)``, what it raises as the relay's typed errors."""
        client = self.client
        try:
            return call(client)
        except Exception as exc:
            error = map_error(exc, self._last.headers, self._clock())
            if error is None:
                raise
            if isinstance(error, Rejected) and error.status == 401:
                self._client.forget()  # read the token again next time (rotated)
            raise error from exc


def _field(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


def dry_run_poster(
    outbox_dir: Path,
    *,
    max_characters: int = MASTODON_DEFAULT_MAX_CHARACTERS,
    console: TextIO | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> DryRunPoster:
    """Posts nothing: each status as Mastodon would receive it, in ``mastodon.jsonl``."""

    def form(text: str) -> dict[str, Any]:
        return {
            **status_form(text, max_characters),
            "idempotency_key": idempotency_key(text),
            "length": mastodon_length(text),
        }

    return DryRunPoster(
        outbox_dir, console=console, clock=clock, file_name=FILE_NAME, form=form, icon="🐘"
    )
