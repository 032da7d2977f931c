"""Fetch one alert document (HTTP(S) with retries and limits, or a local file) and decode it.

Every failure — DNS, refused connection, timeout, a 4xx/5xx after the retries, a body
over the size cap, an unreadable file — is a :class:`~entraide.activation.alerts.model.SourceError`,
so that a source's caller has one exception to catch.

``file://`` URLs and plain filesystem paths are read from disk: the local stack replays
recorded alerts that way. Inside a :func:`deadline` block no wait or timeout goes past
it. Importing this module does no I/O.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from entraide.activation.alerts.model import SourceError
from entraide.kernel.once import Once

if TYPE_CHECKING:  # requests costs a cold start about 60 ms: imported on the first read
    import requests

USER_AGENT = "ShareEntraide/0.1 (+https://github.com/shareentraide/pipeline)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 0.5  # seconds; urllib3 sleeps backoff * 2**(n-1) between tries
MAX_RETRY_AFTER = 30.0  # seconds: a Retry-After longer than that is cut to this
MAX_REDIRECTS = 5
CONNECT_TIMEOUT = 5.0  # at most; the read timeout is the ``timeout`` argument
_CHUNK = 64 * 1024

#: The moment (``time.monotonic()``) by which the current read must be over, if any. A
#: context variable: each source is read in a thread of its own (see sources.read_all).
_DEADLINE: ContextVar[float | None] = ContextVar("alert_source_deadline", default=None)


class OutOfTime(Exception):
    """A wait (a retry's backoff or Retry-After) would end past the read's deadline."""


@contextmanager
def deadline(moment: float | None) -> Iterator[None]:
    """Reads inside the block end by ``moment`` (``time.monotonic()``), retries included."""
    token = _DEADLINE.set(moment)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def time_left() -> float | None:
    """Seconds before the current deadline (never negative), or None without one."""
    moment = _DEADLINE.get()
    return None if moment is None else max(0.0, moment - time.monotonic())


@dataclass(frozen=True, slots=True)
class Fetched:
    """A document as it came: its body, the HTTP status (None for a file), and the
    ``Last-Modified`` time the server gave, if any."""

    url: str
    body: bytes
    status: int | None = None
    last_modified: datetime | None = None


def build_session(
    *,
    retries: int = DEFAULT_RETRIES,
    backoff_factor: float = DEFAULT_BACKOFF,
    user_agent: str = USER_AGENT,
) -> requests.Session:
    """A session that retries connection errors and 429/500/502/503/504 on GET.

    ``retries`` tries after the first (3 by default), exponential backoff of
    ``backoff_factor`` seconds (tests pass 0), Retry-After respected (capped at
    30 s). Read errors are not retried: a slow server would multiply the wait.
    """
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    class CappedRetry(Retry):
        """urllib3's Retry, but a server's Retry-After cannot stall a run for long, and no
        wait goes past the read's deadline (:func:`deadline`): the source fails at once."""

        def get_retry_after(self, response: Any) -> float | None:
            retry_after = super().get_retry_after(response)
            if retry_after is None:
                return None
            return min(retry_after, MAX_RETRY_AFTER)

        def sleep(self, response: Any = None) -> None:
            left = time_left()
            if left is not None:
                wait = None
                if response is not None and self.respect_retry_after_header:
                    wait = self.get_retry_after(response)
                if wait is None:
                    wait = self.get_backoff_time()
                if wait >= left:
                    raise OutOfTime(f"a retry in {wait:.0f} s would end past the deadline")
            super().sleep(response)

    retry = CappedRetry(
        total=retries,
        connect=retries,
        read=0,
        status=retries,
        other=0,
        backoff_factor=backoff_factor,
        status_forcelist=sorted(RETRY_STATUSES),
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=True,
    )
    adapter = HTTPAdapter(max_retries=retry)
    session = requests.Session()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = user_agent
    session.max_redirects = MAX_REDIRECTS
    return session


def fetch_document(
    url: str,
    *,
    session: requests.Session | None = None,
    timeout: float = 10.0,
    headers: Mapping[str, str] | None = None,
    max_bytes: int = 5_000_000,
    source: str = "http",
) -> bytes:
    """The body of ``url`` (at most ``max_bytes``), or :class:`SourceError`.

    ``http(s)://`` goes through ``session`` (one from :func:`build_session` when
    ``None``); ``file://`` and plain paths are read from disk. ``timeout`` is the read
    timeout of each try and also the time allowed to download the body once the
    headers came; the connection timeout is the smaller of it and 5 s; inside a
    :func:`deadline` block, none of them goes past it. ``source`` names the source in
    the error.
    """
    return fetch(
        url, session=session, timeout=timeout, headers=headers, max_bytes=max_bytes, source=source
    ).body


def fetch(
    url: str,
    *,
    session: requests.Session | None = None,
    timeout: float = 10.0,
    headers: Mapping[str, str] | None = None,
    max_bytes: int = 5_000_000,
    source: str = "http",
) -> Fetched:
    """What :func:`fetch_document` reads, with the answer's status and Last-Modified."""
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("http", "https"):
        return _fetch_http(url, session, timeout, headers, max_bytes, source)
    if scheme == "file":
        return Fetched(url, _read_file(_file_url_path(url, source), max_bytes, source))
    if scheme == "" or _is_windows_drive(url):
        return Fetched(url, _read_file(Path(url), max_bytes, source))
    raise SourceError(source, f"unsupported URL scheme {scheme!r} in {url!r}")


def _fetch_http(
    url: str,
    session: requests.Session | None,
    timeout: float,
    headers: Mapping[str, str] | None,
    max_bytes: int,
    source: str,
) -> Fetched:
    import requests

    left = time_left()
    if left is not None:
        if left <= 0:
            raise SourceError(source, f"no time left to read {url}")
        timeout = min(timeout, left)
    own_session = session is None
    http = build_session() if session is None else session
    try:
        with http.get(
            url,
            headers=dict(headers or {}),
            timeout=(min(CONNECT_TIMEOUT, timeout), timeout),
            stream=True,
            allow_redirects=True,
        ) as response:
            status = response.status_code
            if status >= 400:
                raise SourceError(source, f"HTTP {status} from {url}", status=status)
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise SourceError(
                    source,
                    f"body of {declared} bytes over the cap of {max_bytes} from {url}",
                    status=status,
                )
            body = _read_capped(response, url, timeout, max_bytes, source)
            return Fetched(url, body, status, _http_date(response.headers.get("Last-Modified")))
    except SourceError:
        raise
    except OutOfTime as exc:
        raise SourceError(source, f"out of time on {url}: {exc}") from exc
    except requests.exceptions.RetryError as exc:
        raise SourceError(source, f"gave up after retries on {url}: {_reason(exc)}") from exc
    except requests.exceptions.Timeout as exc:
        raise SourceError(source, f"timeout on {url}: {_reason(exc)}") from exc
    except requests.exceptions.RequestException as exc:
        raise SourceError(source, f"{type(exc).__name__} on {url}: {_reason(exc)}") from exc
    finally:
        if own_session:
            http.close()


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    from email.utils import parsedate_to_datetime

    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _read_capped(
    response: requests.Response, url: str, timeout: float, max_bytes: int, source: str
) -> bytes:
    deadline = time.monotonic() + timeout
    body = bytearray()
    for chunk in response.iter_content(chunk_size=_CHUNK):
        body += chunk
        if len(body) > max_bytes:
            raise SourceError(source, f"body over the cap of {max_bytes} bytes from {url}")
        if time.monotonic() > deadline:
            raise SourceError(source, f"body of {url} not downloaded within {timeout} s")
    return bytes(body)


def _reason(exc: BaseException) -> str:
    """The innermost useful message of a requests/urllib3 exception chain."""
    reason: Any = exc.args[0] if exc.args else exc
    inner = getattr(reason, "reason", None)
    return str(inner if inner is not None else reason)


def _file_url_path(url: str, source: str) -> Path:
    from urllib.request import url2pathname  # http.client, email, ssl: ~25 ms of cold start

    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise SourceError(source, f"file URL on another host: {url!r}")
    return Path(url2pathname(unquote(parts.path)))


def _is_windows_drive(url: str) -> bool:
    return len(url) > 2 and url[1] == ":" and url[0].isalpha() and url[2] in "\\/"


def _read_file(path: Path, max_bytes: int, source: str) -> bytes:
    try:
        with path.open("rb") as handle:
            body = handle.read(max_bytes + 1)
    except OSError as exc:
        raise SourceError(source, f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(body) > max_bytes:
        raise SourceError(source, f"{path} is over the cap of {max_bytes} bytes")
    return body


class SharedSession(Once["requests.Session"]):
    """One HTTP session for several sources, built on the first read (see :func:`build_session`).

    The alert sources are built at cold start; requests is imported, and the session made,
    only when the first of them is read.
    """

    def __init__(self) -> None:
        super().__init__(build_session)
