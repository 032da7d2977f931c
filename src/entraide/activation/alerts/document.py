"""What the alert adapters share: a source read from a document, and decoding its JSON.

:class:`DocumentSource` fetches a document (:mod:`.http`), hands it to its subclass's
reader and holds the reading to what the source promises (:mod:`.promise`);
:class:`JsonShape`, :func:`load_json`, :func:`parse_time` and :func:`aware_utc` read
what the documents hold, every miss a :class:`SourceError` that says where.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from entraide.activation.alerts.http import Fetched, SharedSession, fetch
from entraide.activation.alerts.model import Alert, Reading, SourceError

if TYPE_CHECKING:  # imported on the first read (see http.SharedSession)
    import requests

    from entraide.activation.alerts.promise import Promise


def load_json(document: bytes, *, source: str) -> Any:
    """Parse a JSON document, or :class:`SourceError` (empty, HTML, truncated, invalid).

    A 200 answer can carry an HTML error page (a portal's maintenance page, a captive
    proxy): it is named as such in the error.
    """
    head = document.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if not head:
        raise SourceError(source, "empty document, expected JSON")
    if head == b"<":
        raise SourceError(source, "got HTML or XML instead of JSON")
    try:
        return json.loads(document)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise SourceError(source, f"invalid JSON: {exc}") from exc


def parse_time(value: object, *, source: str, field: str) -> datetime:
    """An aware UTC datetime from ISO 8601 with an offset ("…Z", "…+0100") or epoch seconds.

    A time without an offset is refused: guessing the zone would shift alerts by hours.
    """
    if isinstance(value, bool):
        raise SourceError(source, f"{field}: not a time: {value!r}")
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise SourceError(source, f"{field}: not a time: {value!r}") from exc
    if not isinstance(value, str):
        raise SourceError(source, f"{field}: expected a time, got {type(value).__name__}")
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise SourceError(source, f"{field}: not an ISO 8601 time: {value!r}") from exc
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise SourceError(source, f"{field}: time without a UTC offset: {value!r}")
    return parsed.astimezone(UTC)


def aware_utc(now: datetime) -> datetime:
    """``now`` in UTC; a naive datetime is a programming error (ValueError)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    return now.astimezone(UTC)


class DocumentSource:
    """A source read over HTTP (or from a file) and parsed by a pure function.

    Subclasses name the source, the media types they accept and their reader
    (:meth:`reading`: the document's alerts and what it is); :meth:`read` fetches, reads
    and holds the result to what the source promises (:mod:`.promise`).
    """

    name: ClassVar[str]
    accept: ClassVar[str]

    def __init__(
        self,
        url: str,
        *,
        session: requests.Session | SharedSession | None = None,
        timeout: float = 10.0,
        promise: Promise | None = None,
    ) -> None:
        self.url = url
        self._session = session
        self._timeout = timeout
        self.promise = promise

    def __repr__(self) -> str:  # never shows a key a subclass may hold
        return f"{type(self).__name__}(url={self.url!r})"

    def headers(self) -> dict[str, str]:
        return {"Accept": self.accept}

    def reading(self, fetched: Fetched, *, now: datetime) -> Reading:
        raise NotImplementedError

    def parse(self, document: bytes, *, now: datetime) -> list[Alert]:
        """The alerts of ``document``, whatever its coverage or age."""
        return list(self.reading(Fetched(self.url, document), now=now).alerts)

    def download(self) -> Fetched:
        """The document at ``url`` as it comes (:class:`SourceError` when it does not)."""
        shared = self._session
        return fetch(
            self.url,
            session=shared.get() if isinstance(shared, SharedSession) else shared,
            timeout=self._timeout,
            headers=self.headers(),
            source=self.name,
        )

    def read(self, now: datetime) -> Reading:
        """The document at ``url`` now, checked against what the source promises."""
        from entraide.activation.alerts.promise import check_promise

        reading = self.reading(self.download(), now=now)
        if self.promise is not None:
            check_promise(reading, self.promise, now=now)
        return reading

    def fetch(self, now: datetime) -> list[Alert]:
        return list(self.read(now).alerts)


class JsonShape:
    """Typed accessors over a parsed JSON document of ``source``.

    Every miss is a :class:`SourceError` that names where it was: a document with an
    unexpected schema is an error, never an empty reading.
    """

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, message: str) -> SourceError:
        return SourceError(self.source, message)

    def obj(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.error(f"{where}: expected an object, got {type(value).__name__}")
        return value

    def array(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.error(f"{where}: expected a list, got {type(value).__name__}")
        return value

    def key(self, obj: Mapping[str, Any], key: str, where: str) -> Any:
        if key not in obj or obj[key] is None:
            raise self.error(f"{where}: missing {key!r}")
        return obj[key]
