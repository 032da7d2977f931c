"""The X API adapter against HTTP-level fakes of ``POST https://api.twitter.com/2/tweets``.

tweepy runs for real (OAuth 1.0a signing, requests, its exception mapping); only the
HTTP exchange is faked with ``responses``. The 201 comes from a cassette that tweepy's
authors recorded against the real API (``tests/fixtures/twitter``); error bodies and
headers are those quoted in the fixtures' notice.
"""

from __future__ import annotations

import gzip
import io
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
import requests
import responses
import yaml
from oauthlib.oauth1 import Client  # type: ignore[import-untyped]
from oauthlib.oauth1.rfc5849 import signature  # type: ignore[import-untyped]

from entraide.publishing.channel_errors import (
    DuplicateText,
    Quota,
    RateLimited,
    Rejected,
    Unavailable,
)
from entraide.publishing.x_answers import (
    SCOPE_15MIN,
    SCOPE_24H_APP,
    SCOPE_24H_USER,
    SCOPE_UNKNOWN,
    PostedTweet,
    rate_limited,
    read_rate_limits,
)
from entraide.publishing.xapi import (
    DEFAULT_TIMEOUT,
    DryRunPoster,
    TweepyPoster,
    XCredentials,
    XCredentialsError,
    XPoster,
)
from tests.factories import X_CREDENTIALS
from tests.paths import FIXTURES as TEST_FIXTURES

FIXTURES = TEST_FIXTURES / "twitter"
CASSETTE = FIXTURES / "tweepy_test_client_create_and_delete_tweet.yaml"
TWEETS_URL = "https://api.twitter.com/2/tweets"
NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
EPOCH = int(NOW.timestamp())

CREDENTIALS = X_CREDENTIALS

# Bodies of the real API, as quoted in tests/fixtures/twitter/SOURCES.md.
BODY_429 = (
    '{"title":"Too Many Requests","type":"about:blank","status":429,"detail":"Too Many Requests"}'
)
BODY_403_DUPLICATE = (
    '{"detail":"You are not allowed to create a Tweet with duplicate content.",'
    '"type":"about:blank","title":"Forbidden","status":403}'
)
JSON = {"content-type": "application/json; charset=utf-8"}

pytestmark = pytest.mark.usefixtures("no_sleep")


def cassette_post() -> dict[str, Any]:
    """The recorded ``POST /2/tweets`` of tweepy's cassette: request and response."""
    document = yaml.safe_load(CASSETTE.read_text("utf-8"))
    [interaction] = [i for i in document["interactions"] if i["request"]["method"] == "POST"]
    return dict(interaction)


def add_cassette_response(mock: responses.RequestsMock) -> dict[str, Any]:
    """Serve the recorded 201 byte for byte (gzip body, every header)."""
    interaction = cassette_post()
    response = interaction["response"]
    headers = [(name, value) for name, values in response["headers"].items() for value in values]
    mock.add(
        responses.POST,
        TWEETS_URL,
        body=response["body"]["string"],  # gzip bytes; requests decompresses them
        status=response["status"]["code"],
        headers=headers,
    )
    return interaction


def add_json(mock: responses.RequestsMock, status: int, body: str, **headers: str) -> None:
    mock.add(responses.POST, TWEETS_URL, body=body, status=status, headers=JSON | headers)


def make_poster() -> TweepyPoster:
    return TweepyPoster(lambda: CREDENTIALS, clock=lambda: NOW)


def oauth_params(header: str) -> dict[str, str]:
    assert header.startswith("OAuth ")
    pairs = (item.strip().split("=", 1) for item in header.removeprefix("OAuth ").split(","))
    return {key: unquote(value.strip('"')) for key, value in pairs}


def assert_signed_request(request: Any, text: str) -> None:
    """OAuth 1.0a HMAC-SHA1 with the four credentials, and the JSON body ``{"text": …}``."""
    assert request.method == "POST"
    assert request.url == TWEETS_URL
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == {"text": text}
    header = request.headers["Authorization"]
    params = oauth_params(header if isinstance(header, str) else header.decode())
    assert params["oauth_consumer_key"] == "ck-ShareEntraide"
    assert params["oauth_token"] == "1072250532645998596-at"
    assert params["oauth_signature_method"] == "HMAC-SHA1"
    assert params["oauth_version"] == "1.0"
    # Recompute the signature: a JSON body is not part of it (RFC 5849 §3.4.1.3).
    collected = signature.collect_parameters(
        uri_query=urlparse(request.url).query,
        headers={"Authorization": header},
        exclude_oauth_signature=True,
    )
    base = signature.signature_base_string(
        "POST", signature.base_string_uri(request.url), signature.normalize_parameters(collected)
    )
    signer = Client("ck-ShareEntraide", "cs-0123456789", resource_owner_secret="ats-9876543210")
    expected = signature.sign_hmac_sha1_with_client(base, signer)
    assert params["oauth_signature"] == expected


# --- success ---------------------------------------------------------------------------------


def test_recorded_201_of_the_real_api(mocked: responses.RequestsMock) -> None:
    interaction = add_cassette_response(mocked)
    recorded = json.loads(interaction["request"]["body"])
    assert recorded == {"text": "Test Tweet"}
    assert gzip.decompress(interaction["response"]["body"]["string"]) == (
        b'{"data":{"id":"1456012973835788293","text":"Test Tweet"}}'
    )

    tweet = make_poster().post("Test Tweet")

    assert tweet.id == "1456012973835788293"
    assert tweet.text == "Test Tweet"
    assert tweet.limits is not None
    assert tweet.limits.window == Quota(200, 199, datetime.fromtimestamp(1635976418, UTC))
    assert tweet.limits.user_24h is None
    [call] = mocked.calls
    request: Any = call.request
    assert_signed_request(request, "Test Tweet")
    assert json.loads(request.body) == recorded  # what tweepy sent then, it sends now
    assert request.req_kwargs["timeout"] == DEFAULT_TIMEOUT  # tweepy alone sets none


def test_201_with_edit_history_and_daily_headers(mocked: responses.RequestsMock) -> None:
    # The tweet object's shape since 2022; X answers with its t.co form of the links.
    text = "🏠 Offre d'aide · Hébergement\n📍 Trebes, Aude (11)\n➜ https://shareentraide.fr/a/1"
    returned = text.replace("https://shareentraide.fr/a/1", "https://t.co/AbCdEf1234")
    body = {
        "data": {
            "edit_history_tweet_ids": ["1861386297445761198"],
            "id": "1861386297445761198",
            "text": returned,
        }
    }
    add_json(
        mocked,
        201,
        json.dumps(body),
        **{
            "x-rate-limit-limit": "100",
            "x-rate-limit-remaining": "97",
            "x-rate-limit-reset": str(EPOCH + 600),
            "x-user-limit-24hour-limit": "17",
            "x-user-limit-24hour-remaining": "3",
            "x-user-limit-24hour-reset": str(EPOCH + 50_000),
            "x-app-limit-24hour-limit": "17",
            "x-app-limit-24hour-remaining": "5",
            "x-app-limit-24hour-reset": str(EPOCH + 60_000),
        },
    )

    tweet = make_poster().post(text)

    assert tweet == PostedTweet("1861386297445761198", returned, tweet.limits)
    assert tweet.limits is not None
    assert tweet.limits.user_24h == Quota(17, 3, NOW + timedelta(seconds=50_000))
    assert tweet.limits.app_24h == Quota(17, 5, NOW + timedelta(seconds=60_000))
    request: Any = mocked.calls[0].request
    assert_signed_request(request, text)
    # requests escapes non-ASCII in JSON: the text still arrives intact.
    assert b"\\u00e9" in request.body


def test_client_is_built_once_and_lazily(mocked: responses.RequestsMock) -> None:
    loads: list[int] = []

    def loader() -> XCredentials:
        loads.append(1)
        return CREDENTIALS

    poster = TweepyPoster(loader)
    assert loads == []
    for _ in range(2):
        add_cassette_response(mocked)
        poster.post("Test Tweet")
    assert loads == [1]
    assert poster.client.wait_on_rate_limit is False


def test_a_conforming_poster_protocol() -> None:
    posters: list[XPoster] = [make_poster(), DryRunPoster(Path("unused"))]
    assert all(callable(poster.post) for poster in posters)


# --- rate limits -----------------------------------------------------------------------------


def test_429_in_the_15_minute_window(mocked: responses.RequestsMock) -> None:
    add_json(
        mocked,
        429,
        BODY_429,
        **{
            "x-rate-limit-limit": "100",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(EPOCH + 420),
        },
    )
    with pytest.raises(RateLimited) as caught:
        make_poster().post("Bonjour")
    error = caught.value
    assert error.reset_at == NOW + timedelta(seconds=420)
    assert error.scope == SCOPE_15MIN
    assert error.retryable
    assert error.limits is not None
    assert error.limits.window == Quota(100, 0, NOW + timedelta(seconds=420))
    assert len(mocked.calls) == 1  # no retry


def test_429_of_the_daily_user_cap(mocked: responses.RequestsMock) -> None:
    add_json(
        mocked,
        429,
        BODY_429,
        **{
            "x-rate-limit-limit": "100",
            "x-rate-limit-remaining": "99",
            "x-rate-limit-reset": str(EPOCH + 600),
            "x-user-limit-24hour-limit": "17",
            "x-user-limit-24hour-remaining": "0",
            "x-user-limit-24hour-reset": str(EPOCH + 40_000),
        },
    )
    with pytest.raises(RateLimited) as caught:
        make_poster().post("Bonjour")
    assert caught.value.reset_at == NOW + timedelta(seconds=40_000)
    assert caught.value.scope == SCOPE_24H_USER


def test_429_of_the_daily_app_cap(mocked: responses.RequestsMock) -> None:
    add_json(
        mocked,
        429,
        BODY_429,
        **{
            "x-rate-limit-remaining": "12",
            "x-rate-limit-reset": str(EPOCH + 600),
            "x-app-limit-24hour-limit": "17",
            "x-app-limit-24hour-remaining": "0",
            "x-app-limit-24hour-reset": str(EPOCH + 3_600),
        },
    )
    with pytest.raises(RateLimited) as caught:
        make_poster().post("Bonjour")
    assert caught.value.reset_at == NOW + timedelta(seconds=3_600)
    assert caught.value.scope == SCOPE_24H_APP


@pytest.mark.parametrize(
    ("headers", "reset", "scope"),
    [
        # Both exhausted: the later reset wins.
        (
            {
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": EPOCH + 900,
                "x-user-limit-24hour-remaining": "0",
                "x-user-limit-24hour-reset": EPOCH + 300,
            },
            300 + 600,
            SCOPE_15MIN,
        ),
        (
            {
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": EPOCH + 900,
                "x-user-limit-24hour-remaining": "0",
                "x-user-limit-24hour-reset": EPOCH + 9_000,
                "x-app-limit-24hour-remaining": "0",
                "x-app-limit-24hour-reset": EPOCH + 20_000,
            },
            20_000,
            SCOPE_24H_APP,
        ),
        # The daily cap has room: the window is what blocks.
        (
            {
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": EPOCH + 120,
                "x-user-limit-24hour-remaining": "4",
                "x-user-limit-24hour-reset": EPOCH + 9_000,
            },
            120,
            SCOPE_15MIN,
        ),
        # Only the window's reset is known.
        ({"x-rate-limit-reset": EPOCH + 60}, 60, SCOPE_15MIN),
        # No header at all: one 15-minute window from now.
        ({}, 900, SCOPE_UNKNOWN),
        ({"x-rate-limit-reset": "soon"}, 900, SCOPE_UNKNOWN),
    ],
)
def test_rate_limited_reads_the_relevant_reset(
    headers: dict[str, object], reset: int, scope: str
) -> None:
    error = rate_limited({k: str(v) for k, v in headers.items()}, now=NOW)
    assert error.reset_at == NOW + timedelta(seconds=reset)
    assert error.reset_at.tzinfo is UTC
    assert error.scope == scope


def test_read_rate_limits_is_case_insensitive_through_requests() -> None:
    headers = requests.structures.CaseInsensitiveDict(
        {"X-Rate-Limit-Limit": "200", "X-Rate-Limit-Remaining": "199"}
    )
    assert read_rate_limits(headers).window == Quota(200, 199, None)
    assert read_rate_limits({}).window is None


# --- refusals --------------------------------------------------------------------------------


def test_403_duplicate_content(mocked: responses.RequestsMock) -> None:
    add_json(mocked, 403, BODY_403_DUPLICATE)
    with pytest.raises(DuplicateText) as caught:
        make_poster().post("Bonjour")
    assert caught.value.detail == "You are not allowed to create a Tweet with duplicate content."
    assert not caught.value.retryable


def test_other_403_is_a_rejection(mocked: responses.RequestsMock) -> None:
    add_json(
        mocked,
        403,
        '{"detail":"You are not permitted to perform this action.","type":"about:blank",'
        '"title":"Forbidden","status":403}',
    )
    with pytest.raises(Rejected) as caught:
        make_poster().post("Bonjour")
    assert caught.value.status == 403
    assert caught.value.detail == "You are not permitted to perform this action."
    assert not caught.value.retryable


def test_401_is_a_rejection_and_reloads_the_credentials(mocked: responses.RequestsMock) -> None:
    loads: list[int] = []

    def loader() -> XCredentials:
        loads.append(1)
        return CREDENTIALS

    poster = TweepyPoster(loader)
    add_json(
        mocked,
        401,
        '{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}',
    )
    with pytest.raises(Rejected) as caught:
        poster.post("Bonjour")
    assert (caught.value.status, caught.value.detail) == (401, "Unauthorized")
    add_cassette_response(mocked)
    poster.post("Test Tweet")
    assert loads == [1, 1]  # a rotated secret is read again after a 401


def test_400_is_a_rejection(mocked: responses.RequestsMock) -> None:
    add_json(
        mocked,
        400,
        json.dumps(
            {
                "errors": [
                    {
                        "parameters": {"text": ["x" * 300]},
                        "message": "The `text` query parameter value is too long",
                    }
                ],
                "title": "Invalid Request",
                "detail": "One or more parameters to your request was invalid.",
                "type": "https://api.twitter.com/2/problems/invalid-request",
            }
        ),
    )
    with pytest.raises(Rejected) as caught:
        make_poster().post("x" * 300)
    assert caught.value.status == 400
    assert "too long" in caught.value.detail


# --- unavailable -----------------------------------------------------------------------------


def test_503_is_unavailable(mocked: responses.RequestsMock) -> None:
    add_json(
        mocked,
        503,
        '{"title":"Service Unavailable","detail":"Service Unavailable",'
        '"type":"about:blank","status":503}',
    )
    with pytest.raises(Unavailable) as caught:
        make_poster().post("Bonjour")
    assert caught.value.retryable
    assert "503" in caught.value.detail


def test_5xx_with_an_html_body_is_unavailable(mocked: responses.RequestsMock) -> None:
    mocked.add(
        responses.POST,
        TWEETS_URL,
        body="<html>Over capacity</html>",
        status=502,
        content_type="text/html",
    )
    with pytest.raises(Unavailable, match="502"):
        make_poster().post("Bonjour")


@pytest.mark.parametrize(
    "failure",
    [
        requests.exceptions.ConnectTimeout("connect timed out"),
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ConnectionError("connection reset by peer"),
    ],
)
def test_network_failures_are_unavailable(
    mocked: responses.RequestsMock, failure: Exception
) -> None:
    mocked.add(responses.POST, TWEETS_URL, body=failure)
    with pytest.raises(Unavailable) as caught:
        make_poster().post("Bonjour")
    assert type(failure).__name__ in caught.value.detail
    assert caught.value.__cause__ is failure


def test_2xx_without_a_json_body_is_unavailable(mocked: responses.RequestsMock) -> None:
    mocked.add(responses.POST, TWEETS_URL, body="<html></html>", status=201)
    with pytest.raises(Unavailable):
        make_poster().post("Bonjour")


def test_other_exceptions_propagate() -> None:
    class Broken:
        def create_tweet(self, **_: Any) -> None:
            raise RuntimeError("bug")

    poster = TweepyPoster(lambda: CREDENTIALS, client_factory=lambda _: Broken())
    with pytest.raises(RuntimeError, match="bug"):
        poster.post("Bonjour")


# --- credentials -----------------------------------------------------------------------------


def test_credentials_from_a_secret_string() -> None:
    secret = json.dumps(
        {
            "consumer_key": "ck",
            "consumer_secret": "cs",
            "access_token": "at",
            "access_token_secret": " ats\n",
            "note": "extra keys are ignored",
        }
    )
    credentials = XCredentials.from_secret_string(secret)
    assert credentials.client_kwargs() == {
        "consumer_key": "ck",
        "consumer_secret": "cs",
        "access_token": "at",
        "access_token_secret": "ats",
    }
    assert "ats" not in repr(credentials)
    assert "cs" not in str(credentials).replace("consumer_secret", "")


def test_credentials_accept_the_portal_names() -> None:
    secret = json.dumps(
        {
            "api_key": "ck",
            "api_key_secret": "cs",
            "access_token": "at",
            "access_token_secret": "ats",
        }
    )
    credentials = XCredentials.from_secret_string(secret)
    assert credentials.consumer_key.get_secret_value() == "ck"
    assert credentials.consumer_secret.get_secret_value() == "cs"


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("not json {", "not JSON"),
        ('["ck", "cs"]', "JSON object"),
        ('{"consumer_key": "TOPSECRET-1", "access_token": "TOPSECRET-2"}', "consumer_secret"),
        (
            '{"consumer_key": "TOPSECRET-1", "consumer_secret": " ", "access_token": "a",'
            ' "access_token_secret": "b"}',
            "consumer_secret",
        ),
        (
            '{"consumer_key": 12, "consumer_secret": "TOPSECRET-3", "access_token": "a",'
            ' "access_token_secret": "b"}',
            "consumer_key",
        ),
    ],
)
def test_bad_secrets_are_named_without_their_values(secret: str, message: str) -> None:
    with pytest.raises(XCredentialsError, match=message) as caught:
        XCredentials.from_secret_string(secret)
    assert "TOPSECRET" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__


# --- dry run ---------------------------------------------------------------------------------


def test_dry_run_writes_one_line_per_tweet_and_prints_it(tmp_path: Path) -> None:
    console = io.StringIO()
    outbox = tmp_path / "outbox" / "x"
    poster = DryRunPoster(outbox, console=console, clock=lambda: NOW)
    first = poster.post("Premier tweet #ShareEntraide")
    second = poster.post("🏠 Offre d'aide\n➜ https://shareentraide.fr/a/1 #ShareEntraide")

    lines = (outbox / "tweets.jsonl").read_text("utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert records == [
        {
            "id": first.id,
            "text": "Premier tweet #ShareEntraide",
            "at": "2026-11-26T09:30:00+00:00",
            "length": 28,
        },
        {
            "id": second.id,
            "text": "🏠 Offre d'aide\n➜ https://shareentraide.fr/a/1 #ShareEntraide",
            "at": "2026-11-26T09:30:00+00:00",
            "length": 2 + 1 + 12 + 1 + 2 + 1 + 23 + 1 + 14,
        },
    ]
    assert "🏠" in lines[1]  # UTF-8, not \\u escapes
    assert first.id.startswith("dry-")
    assert first.id != second.id
    assert first.text == "Premier tweet #ShareEntraide"
    assert console.getvalue() == (
        "🐦  Premier tweet #ShareEntraide\n"
        "🐦  🏠 Offre d'aide\n    ➜ https://shareentraide.fr/a/1 #ShareEntraide\n"
    )


def test_dry_run_appends_to_an_existing_outbox(tmp_path: Path) -> None:
    (tmp_path / "tweets.jsonl").write_text('{"id": "dry-old", "text": "avant"}\n', "utf-8")
    DryRunPoster(tmp_path, console=io.StringIO()).post("après")
    lines = (tmp_path / "tweets.jsonl").read_text("utf-8").splitlines()
    assert [json.loads(line)["text"] for line in lines] == ["avant", "après"]


def test_dry_run_lines_never_interleave(tmp_path: Path) -> None:
    console = io.StringIO()
    posters = [DryRunPoster(tmp_path, console=console) for _ in range(4)]

    def post_many(poster: DryRunPoster, worker: int) -> None:
        for number in range(25):
            poster.post(f"Tweet {worker}-{number} " + "é" * 200)

    threads = [
        threading.Thread(target=post_many, args=(poster, worker))
        for worker, poster in enumerate(posters)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    records = [json.loads(line) for line in (tmp_path / "tweets.jsonl").read_text().splitlines()]
    assert len(records) == 100
    assert len({record["id"] for record in records}) == 100


def test_dry_run_refuses_what_x_would_refuse(tmp_path: Path) -> None:
    with pytest.raises(Rejected) as caught:
        DryRunPoster(tmp_path, console=io.StringIO()).post("é" * 281)
    assert caught.value.status == 400
    assert not (tmp_path / "tweets.jsonl").exists()


def test_dry_run_console_masks_contact_details(tmp_path: Path) -> None:
    console = io.StringIO()
    DryRunPoster(tmp_path, console=console).post("Appelez le 06 12 34 56 78")
    assert "06 12" not in console.getvalue()
