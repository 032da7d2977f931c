"""The watch's read dry run: the networks' real clients answered from recorded answers.

As the channels write to ``var/outbox/<channel>.jsonl`` when they have no secret, the watch
can read a folder of recorded answers (``WATCH_RECORDED_ANSWERS``, the local stack) instead
of the networks. Only the transport is replaced: tweepy and Mastodon.py get a ``requests``
adapter mounted on their session, ``atproto`` an ``httpx.MockTransport``, the feeds' reader
the same ``requests`` adapter; each client still parses the answer as it parses the network's.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

if TYPE_CHECKING:
    import httpx

#: The file that answers each request, by the start of its path (files of the folder, or of
#: its neighbours, each named in the folder's SOURCES.md).
ANSWER_FILES: Final = {
    "/2/tweets/search/recent": "tweepy_test_client_search_recent_tweets.json",
    "/api/v1/timelines/tag/": "mastodonpy_test_hashtag_tl_body.json",
    "/xrpc/com.atproto.server.createSession": "../bluesky/HANDMADE_create_session.json",
    "/xrpc/app.bsky.feed.searchPosts": "HANDMADE_bluesky_search_posts.json",
    "/feeds/meteoalarm-legacy-atom-france": "../alerts/meteoalarm_france_atom_feed.xml",
}

JSON: Final = "application/json"


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str


@dataclass(frozen=True)
class RecordedAnswers:
    """A folder of recorded answers; a request it has no answer for gets a 404."""

    folder: Path

    def answer(self, url: str) -> Answer:
        path = urlsplit(url).path
        for start, name in ANSWER_FILES.items():
            if path.startswith(start):
                return _read_answer(self.folder / name)
        return Answer(404, b'{"error": "no recorded answer"}', JSON)

    def session(self) -> requests.Session:
        """A ``requests`` session answered from the folder (tweepy, Mastodon.py, feeds)."""
        session = requests.Session()
        adapter = RecordedAdapter(self)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return session

    def mount_on(self, client: Any) -> Any:
        """``client.session`` (tweepy's) answered from the folder."""
        adapter = RecordedAdapter(self)
        client.session.mount("https://", adapter)
        return client

    def httpx_transport(self) -> httpx.MockTransport:
        """An ``httpx`` transport answered from the folder (``atproto``)."""
        import httpx

        def handle(request: httpx.Request) -> httpx.Response:
            found = self.answer(str(request.url))
            return httpx.Response(
                found.status, content=found.body, headers={"Content-Type": found.content_type}
            )

        return httpx.MockTransport(handle)


def _read_answer(file: Path) -> Answer:
    """A body as recorded, or a whole answer (``{"status", "headers", "body"}``)."""
    if file.suffix == ".xml":
        return Answer(200, file.read_bytes(), "application/atom+xml")
    document = json.loads(file.read_bytes())
    if isinstance(document, dict) and set(document) == {"status", "headers", "body"}:
        return Answer(int(document["status"]), json.dumps(document["body"]).encode(), JSON)
    return Answer(200, file.read_bytes(), JSON)


class RecordedAdapter(BaseAdapter):
    """A ``requests`` transport adapter that answers from :class:`RecordedAnswers`."""

    def __init__(self, answers: RecordedAnswers) -> None:
        super().__init__()
        self._answers = answers

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """The recorded answer to ``request`` (nothing leaves the machine)."""
        found = self._answers.answer(request.url or "")
        response = requests.Response()
        response.status_code = found.status
        response.headers = CaseInsensitiveDict(
            {"Content-Type": found.content_type, "Content-Length": str(len(found.body))}
        )
        response.raw = io.BytesIO(found.body)
        response.encoding = "utf-8"
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        """Nothing to release: no connection was opened."""
