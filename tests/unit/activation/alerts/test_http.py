"""Fetching an alert document: retries, limits, faults, local files; and the decoding helpers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
import responses
from requests.adapters import HTTPAdapter
from responses import matchers

from entraide.activation.alerts import http
from entraide.activation.alerts.document import aware_utc, load_json, parse_time
from entraide.activation.alerts.http import USER_AGENT, build_session, fetch_document
from entraide.activation.alerts.model import SourceError
from tests.local_http import Answer, serving
from tests.paths import FIXTURES as TEST_FIXTURES

URL = "https://alerts.example.test/feed"
FIXTURES = TEST_FIXTURES / "alerts"


@pytest.fixture
def session() -> Iterator[requests.Session]:
    """A session with the production retry policy but no backoff (tests stay fast)."""
    with build_session(backoff_factor=0) as built:
        yield built


# --- HTTP through `responses` --------------------------------------------------------------


@responses.activate
def test_a_200_gives_the_body_and_sends_the_user_agent_and_headers(
    session: requests.Session,
) -> None:
    # Given a server that checks who calls
    responses.get(
        URL,
        body=b"<feed/>",
        match=[matchers.header_matcher({"User-Agent": USER_AGENT, "apikey": "s3cret"})],
    )
    # When fetching with a header
    body = fetch_document(URL, session=session, headers={"apikey": "s3cret"})
    # Then the body comes back as bytes
    assert body == b"<feed/>"
    assert USER_AGENT.startswith("ShareEntraide/0.1 (+https://github.com/shareentraide/pipeline)")


@responses.activate
def test_a_timeout_is_a_source_error(session: requests.Session) -> None:
    # Given a server that never answers in time
    responses.get(URL, body=requests.exceptions.ReadTimeout("read timed out"))
    # When / Then
    with pytest.raises(SourceError, match="timeout") as caught:
        fetch_document(URL, session=session, source="vigicrues")
    assert caught.value.source == "vigicrues"


@responses.activate
def test_a_connection_error_is_a_source_error(session: requests.Session) -> None:
    responses.get(URL, body=requests.exceptions.ConnectionError("refused"))
    with pytest.raises(SourceError, match="ConnectionError"):
        fetch_document(URL, session=session)


@responses.activate
def test_a_500_is_retried_three_times_then_is_a_source_error(session: requests.Session) -> None:
    # Given a server that keeps failing
    failing = responses.get(URL, status=500, body=b"Internal Server Error")
    # When fetching / Then it gave up after the first try and three retries
    with pytest.raises(SourceError, match="retries"):
        fetch_document(URL, session=session)
    assert failing.call_count == 4


@responses.activate(registry=responses.registries.OrderedRegistry)
def test_a_503_then_a_200_succeeds(session: requests.Session) -> None:
    # Given a server busy once, then fine
    responses.get(URL, status=503, body=b"busy")
    responses.get(URL, status=200, body=b"{}")
    # When / Then the retry got the document
    assert fetch_document(URL, session=session) == b"{}"
    assert len(responses.calls) == 2


@responses.activate(registry=responses.registries.OrderedRegistry)
def test_a_429_then_a_200_succeeds(session: requests.Session) -> None:
    responses.get(URL, status=429, body=b"slow down", headers={"Retry-After": "0"})
    responses.get(URL, status=200, body=b"ok")
    assert fetch_document(URL, session=session) == b"ok"


@responses.activate
def test_a_404_is_not_retried_and_is_a_source_error(session: requests.Session) -> None:
    missing = responses.get(URL, status=404, body=b"not found")
    with pytest.raises(SourceError, match="HTTP 404"):
        fetch_document(URL, session=session)
    assert missing.call_count == 1


@responses.activate
def test_a_declared_body_over_the_cap_is_refused(session: requests.Session) -> None:
    # Given a body announced bigger than the cap
    responses.get(URL, body=b"x" * 2000, auto_calculate_content_length=True)
    # When / Then
    with pytest.raises(SourceError, match="over the cap"):
        fetch_document(URL, session=session, max_bytes=1000)


@responses.activate
def test_a_streamed_body_over_the_cap_is_refused(session: requests.Session) -> None:
    # Given a body without Content-Length, bigger than the cap
    responses.get(URL, body=b"x" * 200_000)
    # When / Then the download stops at the cap
    with pytest.raises(SourceError, match="over the cap"):
        fetch_document(URL, session=session, max_bytes=100_000)


@responses.activate
def test_a_body_at_the_cap_is_accepted(session: requests.Session) -> None:
    responses.get(URL, body=b"x" * 1000, auto_calculate_content_length=True)
    assert len(fetch_document(URL, session=session, max_bytes=1000)) == 1000


@responses.activate
def test_without_a_session_one_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no session passed
    built: list[requests.Session] = []
    original = http.build_session

    def spy(**kwargs: object) -> requests.Session:
        session = original(backoff_factor=0)
        built.append(session)
        return session

    monkeypatch.setattr(http, "build_session", spy)
    responses.get(URL, body=b"ok")
    # When / Then one is built with the retry policy
    assert fetch_document(URL) == b"ok"
    assert len(built) == 1


def test_the_session_retries_the_right_statuses_with_retry_after() -> None:
    # Given the production session
    with build_session() as session:
        adapter = session.get_adapter(URL)
    assert isinstance(adapter, HTTPAdapter)
    retry = adapter.max_retries
    # Then its policy is the documented one
    assert retry.total == 3
    assert retry.connect == 3
    assert set(retry.status_forcelist or ()) == {429, 500, 502, 503, 504}
    assert retry.respect_retry_after_header is True
    assert retry.backoff_factor == http.DEFAULT_BACKOFF


def test_an_unsupported_scheme_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="scheme"):
        fetch_document("ftp://example.test/feed.xml")


# --- HTTP against a real server on loopback (urllib3's own retry and sleep) -----------------


class _Script:
    """Answers to serve in order: (status, headers, body)."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, str], bytes]] = []
        self.requests = 0


@pytest.fixture
def server() -> Iterator[tuple[str, _Script]]:
    script = _Script()

    def answer(path: str) -> Answer:
        script.requests += 1
        return script.answers.pop(0) if script.answers else (500, {}, b"")

    with serving(answer) as url:
        yield f"{url}/feed", script


def test_retry_after_is_respected_and_capped(
    server: tuple[str, _Script], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a server that asks to wait 2 s, then one that asks for an hour, then answers
    url, script = server
    script.answers = [
        (503, {"Retry-After": "2"}, b"busy"),
        (429, {"Retry-After": "3600"}, b"later"),
        (200, {}, b"<feed/>"),
    ]
    slept: list[float] = []
    monkeypatch.setattr("urllib3.util.retry.time.sleep", slept.append)
    # When fetching through a real connection
    with build_session(backoff_factor=0) as session:
        body = fetch_document(url, session=session)
    # Then urllib3 waited as told, the hour cut to the cap
    assert body == b"<feed/>"
    assert script.requests == 3
    assert slept == [2.0, http.MAX_RETRY_AFTER]


def test_a_real_500_is_retried_then_is_a_source_error(server: tuple[str, _Script]) -> None:
    url, script = server
    script.answers = [(500, {}, b"oops")] * 4
    with build_session(backoff_factor=0) as session, pytest.raises(SourceError):
        fetch_document(url, session=session)
    assert script.requests == 4


def test_a_refused_connection_is_a_source_error() -> None:
    # Given a port where nothing listens (bound then closed)
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with build_session(backoff_factor=0) as session, pytest.raises(SourceError):
        fetch_document(f"http://127.0.0.1:{port}/feed", session=session, timeout=2)


# --- local files --------------------------------------------------------------------------


def test_a_file_url_is_read_from_disk() -> None:
    path = FIXTURES / "meteoalarm_france_cap_detail.xml"
    assert fetch_document(path.as_uri()) == path.read_bytes()


def test_a_plain_path_is_read_from_disk() -> None:
    path = FIXTURES / "mf_mobileapi_warning_full_1310.json"
    assert fetch_document(str(path)) == path.read_bytes()


def test_a_missing_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot read"):
        fetch_document(str(tmp_path / "nothing.json"), source="vigicrues")


def test_a_file_over_the_cap_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b"[" + b"0," * 1000 + b"0]")
    with pytest.raises(SourceError, match="over the cap"):
        fetch_document(big.as_uri(), max_bytes=100)


def test_a_file_url_on_another_host_is_refused() -> None:
    with pytest.raises(SourceError, match="another host"):
        fetch_document("file://server.example/share/feed.xml")


# --- decoding helpers ---------------------------------------------------------------------


def test_load_json_reads_json_with_or_without_a_bom() -> None:
    assert load_json(b'{"a": 1}', source="x") == {"a": 1}
    assert load_json(b'\xef\xbb\xbf{"a": 1}', source="x") == {"a": 1}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"", "empty"),
        (b"  \n", "empty"),
        (b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", "HTML"),
        (b'{"product": {"update_time": "2024-10-16T14:00:00Z", "periods": [', "invalid JSON"),
        (b"\xff\xfe\x00garbage", "invalid JSON"),
        (b"[" * 100_000, "invalid JSON"),
    ],
)
def test_load_json_refuses_what_is_not_json(document: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        load_json(document, source="x")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-10-16T14:00:00Z", datetime(2024, 10, 16, 14, tzinfo=UTC)),
        ("2021-01-24T08:16:03+0100", datetime(2021, 1, 24, 7, 16, 3, tzinfo=UTC)),
        ("2022-12-07T06:01:26+01:00", datetime(2022, 12, 7, 5, 1, 26, tzinfo=UTC)),
        (1635656400, datetime(2021, 10, 31, 5, tzinfo=UTC)),
    ],
)
def test_parse_time_gives_aware_utc(value: object, expected: datetime) -> None:
    parsed = parse_time(value, source="x", field="t")
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize("value", ["2024-10-16T14:00:00", "yesterday", None, True, [], 1e20])
def test_parse_time_refuses_naive_or_odd_values(value: object) -> None:
    with pytest.raises(SourceError):
        parse_time(value, source="x", field="t")


def test_aware_utc_refuses_a_naive_now() -> None:
    paris = timezone(timedelta(hours=2))
    assert aware_utc(datetime(2024, 10, 16, 16, tzinfo=paris)) == datetime(
        2024, 10, 16, 14, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="aware"):
        aware_utc(datetime(2024, 10, 16, 16))
