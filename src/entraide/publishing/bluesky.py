"""Posting on Bluesky through the official Python client (``atproto``), or to a dry-run outbox.

:class:`BlueskyPoster` logs in with the account's handle and an *app password* (never the
account's own password) read from Secrets Manager, once, and writes each post as an
``app.bsky.feed.post`` record in French (``langs: ["fr"]``) whose links and hashtags are
*facets* (byte ranges of the UTF-8 text: Bluesky shows no link that is not a facet).

**Once, even when an answer is lost.** Bluesky does not refuse a repeated text as X does.
Each record is written with ``com.atproto.repo.putRecord`` under a record key derived from
its text (:func:`record_key`: a TID, the key type of posts), so that sending the same text
again — after a timeout, a crash, a redelivery — rewrites the same record instead of
adding a second post. (``createRecord`` with a chosen key is no answer: a repeated key
there fails with a 500 that looks like an outage, bluesky-social/indigo#873.) Every text
of the relay names its subject (a post's, a digest's, an activation's link), so two
subjects never share a key.

Answers become the channels' typed errors (:mod:`.channel_errors`): 429 →
:class:`RateLimited` until ``ratelimit-reset`` (Bluesky's headers,
``ratelimit-limit|remaining|reset|policy``, docs.bsky.app "Rate Limits": 5,000 points an
hour and 35,000 a day per account, a created record costing 3 — 1,666 posts an hour,
11,666 a day; 30 ``createSession`` per 5 minutes and 300 a day, hence one login per
process); 401/400 → :class:`Rejected`; 5xx, timeouts, connection errors →
:class:`Unavailable`.

``atproto`` is imported, and the client built, on the first post only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TextIO

import regex
from pydantic import BaseModel, ConfigDict, SecretStr

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
    BLUESKY_MAX_BYTES,
    BLUESKY_MAX_GRAPHEMES,
    bluesky_fits,
    graphemes,
)
from entraide.publishing.x_answers import (
    PostedTweet,
)
from entraide.publishing.xapi import DryRunPoster

POST_COLLECTION: Final = "app.bsky.feed.post"
LANGUAGE: Final = "fr"
DEFAULT_SERVICE: Final = "https://bsky.social"
#: (connect, read) seconds, as for X.
DEFAULT_TIMEOUT: Final = 20.0
FILE_NAME: Final = "bluesky.jsonl"

# Bluesky's own detection (docs.bsky.app, "Links, mentions, and rich text"): a URL with its
# scheme, a hashtag after a space or at the start, trailing punctuation left out.
_LINK = regex.compile(r"(?:^|\s|\()(https?://[^\s]+)")
_TAG = regex.compile(r"(?:^|\s)([#＃][^\d\s\p{P}][^\s]*)")
_TRAILING = ".,;:!?)»\"'"


class BlueskyCredentialsError(ValueError):
    """The secret does not hold a handle and an app password. Never quotes a value."""


class BlueskyCredentials(BaseModel):
    """``{"handle": "shareentraide.bsky.social", "app_password": "…", "service": "…"}``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    handle: str
    app_password: SecretStr
    service: str = DEFAULT_SERVICE

    @classmethod
    def from_secret_string(cls, text: str) -> BlueskyCredentials:
        return from_secret_json(cls, text, BlueskyCredentialsError)


# --- the record ---------------------------------------------------------------------------


def _byte_range(text: str, start: int, end: int) -> dict[str, int]:
    return {
        "byteStart": len(text[:start].encode("utf-8")),
        "byteEnd": len(text[:end].encode("utf-8")),
    }


def facets(text: str) -> list[dict[str, Any]]:
    """The link and hashtag facets of ``text`` (``app.bsky.richtext.facet``), byte ranges of
    its UTF-8 form, in order."""
    found: list[tuple[int, dict[str, Any]]] = []
    for match in _LINK.finditer(text):
        url = match.group(1).rstrip(_TRAILING)
        start = match.start(1)
        found.append(
            (
                start,
                {
                    "index": _byte_range(text, start, start + len(url)),
                    "features": [{"$type": "app.bsky.richtext.facet#link", "uri": url}],
                },
            )
        )
    for match in _TAG.finditer(text):
        tag = match.group(1).rstrip(_TRAILING)
        start = match.start(1)
        if len(tag) <= 1:
            continue
        found.append(
            (
                start,
                {
                    "index": _byte_range(text, start, start + len(tag)),
                    "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag[1:]}],
                },
            )
        )
    return [facet for _, facet in sorted(found, key=lambda item: item[0])]


def post_record(text: str, created_at: datetime) -> dict[str, Any]:
    """The ``app.bsky.feed.post`` record of ``text``; :class:`Rejected` (400) when Bluesky
    would refuse it (over 300 graphemes or 3,000 bytes)."""
    if not bluesky_fits(text):
        raise Rejected(
            400,
            f"Bluesky post too long ({graphemes(text)}/{BLUESKY_MAX_GRAPHEMES} graphemes, "
            f"{len(text.encode('utf-8'))}/{BLUESKY_MAX_BYTES} bytes).",
        )
    return {
        "$type": POST_COLLECTION,
        "text": text,
        "facets": facets(text),
        "langs": [LANGUAGE],
        "createdAt": created_at.astimezone(UTC).isoformat(timespec="milliseconds"),
    }


_TID_ALPHABET: Final = "234567abcdefghijklmnopqrstuvwxyz"
#: The range of the timestamps of derived keys: 2023-01-01 to 2024-12-31 (microseconds), the
#: past, where no key the client draws itself will ever fall.
_TID_START: Final = 1_672_531_200_000_000
_TID_SPAN: Final = 63_072_000_000_000


def record_key(text: str) -> str:
    """A TID (13 characters of base32-sortable: 53 bits of microseconds, 10 of clock id)
    drawn from the text's SHA-256: the same text, the same key."""
    digest = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:16], "big")
    micros = _TID_START + digest % _TID_SPAN
    clock = (digest // _TID_SPAN) % 1024
    value = (micros << 10) | clock
    return "".join(_TID_ALPHABET[(value >> (5 * (12 - i))) & 31] for i in range(13))


# --- answers -------------------------------------------------------------------------------


def read_rate_limits(headers: Any) -> RateLimits:
    """Bluesky's ``ratelimit-*`` headers (draft-polli-ratelimit-headers-02; reset in epoch
    seconds) as the relay's :class:`RateLimits` (one window)."""

    def number(name: str) -> int | None:
        value = (headers or {}).get(name)
        try:
            return None if value is None else int(str(value).strip())
        except ValueError:
            return None

    limit, remaining, reset = (
        number("ratelimit-limit"),
        number("ratelimit-remaining"),
        number("ratelimit-reset"),
    )
    if limit is None and remaining is None and reset is None:
        return RateLimits()
    reset_at = datetime.fromtimestamp(reset, UTC) if reset is not None else None
    return RateLimits(window=Quota(limit, remaining, reset_at))


def _detail(exc: Any) -> str:
    content = getattr(getattr(exc, "response", None), "content", None)
    error = getattr(content, "error", None)
    message = getattr(content, "message", None)
    return (": ".join(str(part) for part in (error, message) if part) or type(exc).__name__)[:500]


def map_error(exc: BaseException, now: datetime) -> ChannelError | None:
    """The relay's typed error for what ``atproto`` raised; ``None`` for anything else."""
    from atproto_client import exceptions

    response = getattr(exc, "response", None)
    status = int(getattr(response, "status_code", 0) or 0)
    if isinstance(exc, exceptions.InvokeTimeoutError):
        return Unavailable(f"timeout: {_detail(exc)}", maybe_posted=True)
    if isinstance(exc, exceptions.RateLimitExceededError) or status == 429:
        limits = read_rate_limits(getattr(response, "headers", None))
        window = limits.window
        reset_at = window.reset_at if window and window.reset_at else now + DEFAULT_WINDOW
        return RateLimited(max(reset_at, now), "bluesky", limits, network="Bluesky")
    if isinstance(exc, exceptions.NetworkError):
        return Unavailable(f"{status or 'network'} {_detail(exc)}", maybe_posted=True)
    if isinstance(exc, exceptions.UnauthorizedError | exceptions.BadRequestError):
        return Rejected(status or 400, _detail(exc))
    if isinstance(exc, exceptions.RequestException):
        if status >= 500 or status in (408, 425):
            return Unavailable(f"{status} {_detail(exc)}", maybe_posted=status >= 500)
        return Rejected(status, _detail(exc))
    return None


# --- posters -------------------------------------------------------------------------------


def atproto_client(credentials: BlueskyCredentials, *, request: Any | None = None) -> Any:
    """An ``atproto.Client`` logged in with the app password (no profile lookup)."""
    from atproto import Client
    from atproto_client.request import Request

    client = Client(
        base_url=credentials.service, request=request or Request(timeout=DEFAULT_TIMEOUT)
    )
    client.login(
        credentials.handle, credentials.app_password.get_secret_value(), fetch_bsky_profile=False
    )
    return client


class BlueskyPoster:
    """Writes each text as a post of the account (``putRecord`` under :func:`record_key`)."""

    def __init__(
        self,
        credentials_loader: Callable[[], BlueskyCredentials],
        *,
        client_factory: Callable[[BlueskyCredentials], Any] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._load = credentials_loader
        self._factory = client_factory or atproto_client
        self._clock = clock
        self._session = Once(self._log_in)

    def _log_in(self) -> tuple[Any, str]:
        credentials = self._load()
        return self._factory(credentials), credentials.handle

    @property
    def client(self) -> Any:
        """The logged-in client, built on first use."""
        return self._session.get()[0]

    @property
    def repo(self) -> str:
        """The account's handle (it names its repository), once logged in."""
        return str(self._session.get()[1])

    def post(self, text: str) -> PostedTweet:
        record = post_record(text, self._clock())
        key = record_key(text)

        def put(client: Any, models: Any) -> Any:
            return client.com.atproto.repo.put_record(
                models.ComAtprotoRepoPutRecord.Data(
                    repo=self.repo,  # a handle or a DID: both name the repo
                    collection=POST_COLLECTION,
                    rkey=key,
                    record=record,
                )
            )

        answer = self.call(put)
        uri = str(getattr(answer, "uri", "") or "")
        if not uri:
            raise Unavailable("Bluesky answered without the post's URI.", maybe_posted=True)
        return PostedTweet(id=uri, text=text)

    def delete(self, message_id: str) -> None:
        """``com.atproto.repo.deleteRecord`` of the post whose URI is ``message_id``
        (``at://<did>/app.bsky.feed.post/<key>``, as :meth:`post` returned it). A record
        already gone is no error: the PDS makes that delete a no-op
        (bluesky-social/atproto, packages/pds/src/api/com/atproto/repo/deleteRecord.ts)."""
        from atproto import AtUri

        uri = AtUri.from_str(message_id)

        def remove(client: Any, models: Any) -> Any:
            return client.com.atproto.repo.delete_record(
                models.ComAtprotoRepoDeleteRecord.Data(
                    repo=uri.host, collection=uri.collection, rkey=uri.rkey
                )
            )

        self.call(remove)

    def call(self, call: Callable[[Any, Any], Any]) -> Any:
        """``call(client, atproto.models)``, what it raises as the relay's typed errors."""
        try:
            client = self.client
            from atproto import models

            return call(client, models)
        except ChannelError:
            raise
        except Exception as exc:
            error = map_error(exc, self._clock())
            if error is None:
                raise
            if isinstance(error, Rejected) and error.status == 401:
                self._session.forget()  # log in again next time (a revoked app password)
            raise error from exc


def dry_run_poster(
    outbox_dir: Path, *, console: TextIO | None = None, clock: Callable[[], datetime] = utcnow
) -> DryRunPoster:
    """Posts nothing: each record as Bluesky would receive it, in ``bluesky.jsonl``."""

    def form(text: str) -> dict[str, Any]:
        return {
            "rkey": record_key(text),
            "record": post_record(text, clock()),
            "graphemes": graphemes(text),
        }

    return DryRunPoster(
        outbox_dir, console=console, clock=clock, file_name=FILE_NAME, form=form, icon="🦋"
    )


__all__ = [
    "BlueskyCredentials",
    "BlueskyPoster",
    "dry_run_poster",
    "facets",
    "post_record",
    "record_key",
]
