"""The Bluesky poster over HTTP: the official client on an HTTP transport that answers as a
PDS does (tests/fixtures/bluesky/SOURCES.md says which answers are recorded, which made)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from entraide.publishing.bluesky import (
    BlueskyCredentials,
    BlueskyCredentialsError,
    BlueskyPoster,
    atproto_client,
    dry_run_poster,
    facets,
    record_key,
)
from entraide.publishing.channel_errors import (
    RateLimited,
    Rejected,
    Unavailable,
)
from entraide.publishing.text_rules import graphemes
from tests.paths import FIXTURES

HERE = FIXTURES / "bluesky"
NOW = datetime(2024, 9, 18, 14, 30, tzinfo=UTC)
TEXT = (
    "🏠 Offre d'aide · Hébergement\n📍 Trèbes, Aude (11)\n"
    "➜ https://shareentraide.fr/posts/P1 #InondationsAude #ShareEntraide"
)


def answer(name: str) -> httpx.Response:
    data = json.loads((HERE / name).read_text(encoding="utf-8"))
    body = data["body"]
    content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    return httpx.Response(data["status"], headers=data["headers"], content=content)


class PDS:
    """A PDS over an httpx transport: login, then ``putRecord`` answered by ``put``."""

    def __init__(self, put: Callable[[dict[str, Any]], httpx.Response], login: str = "") -> None:
        self.put = put
        self.login = login or "HANDMADE_create_session.json"
        self.records: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        self.remove: Callable[[dict[str, Any]], httpx.Response] = self.deleted

    def deleted(self, body: dict[str, Any]) -> httpx.Response:
        """As the PDS deletes: the record gone, the commit named; nothing to delete, no
        commit and no error (packages/pds/src/api/com/atproto/repo/deleteRecord.ts)."""
        gone = self.records.pop(body["rkey"], None)
        commit = {"cid": "bafyreia", "rev": "3l4qaz"} if gone else None
        return httpx.Response(200, json={"commit": commit} if commit else {})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        method = request.url.path.rsplit("/", 1)[-1]
        self.calls.append(method)
        if method == "com.atproto.server.createSession":
            return answer(self.login)
        if method == "com.atproto.repo.putRecord":
            return self.put(json.loads(request.content))
        if method == "com.atproto.repo.deleteRecord":
            return self.remove(json.loads(request.content))
        return httpx.Response(404)

    def poster(self) -> BlueskyPoster:
        from atproto_client.request import Request

        credentials = BlueskyCredentials.model_validate(
            {"handle": "shareentraide.bsky.social", "app_password": "abcd-efgh-ijkl-mnop"}
        )

        def client(creds: BlueskyCredentials) -> Any:
            return atproto_client(creds, request=Request(transport=httpx.MockTransport(self)))

        return BlueskyPoster(lambda: credentials, client_factory=client, clock=lambda: NOW)


def written(pds: PDS) -> Callable[[dict[str, Any]], httpx.Response]:
    """A PDS that keeps each record under its key: the same key rewrites the same post."""

    def put(body: dict[str, Any]) -> httpx.Response:
        pds.records[body["rkey"]] = body
        response = answer("HANDMADE_put_record.json")
        data = json.loads(response.content)
        data["uri"] = f"at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/{body['rkey']}"
        return httpx.Response(200, headers=dict(response.headers), json=data)

    return put


def test_a_post_is_a_french_record_with_its_link_and_hashtags_as_facets() -> None:
    # Given a PDS that accepts records
    pds = PDS(lambda body: httpx.Response(500))
    pds.put = written(pds)
    # When a text is posted
    posted = pds.poster().post(TEXT)
    # Then one login, one record, under the key drawn from the text
    assert pds.calls == ["com.atproto.server.createSession", "com.atproto.repo.putRecord"]
    [(key, body)] = pds.records.items()
    assert key == record_key(TEXT)
    assert posted.id.endswith(f"/app.bsky.feed.post/{key}")
    assert body["repo"] == "shareentraide.bsky.social"
    record = body["record"]
    assert record["$type"] == "app.bsky.feed.post"
    assert record["text"] == TEXT
    assert record["langs"] == ["fr"]
    # And each facet's byte range is the link, or a hashtag, of the UTF-8 text
    raw = TEXT.encode("utf-8")
    spans = [
        raw[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode()
        for facet in record["facets"]
    ]
    assert spans == ["https://shareentraide.fr/posts/P1", "#InondationsAude", "#ShareEntraide"]
    kinds = [facet["features"][0]["$type"] for facet in record["facets"]]
    assert kinds == [
        "app.bsky.richtext.facet#link",
        "app.bsky.richtext.facet#tag",
        "app.bsky.richtext.facet#tag",
    ]


def test_sending_the_same_text_again_rewrites_the_same_record_not_a_second_post() -> None:
    pds = PDS(lambda body: httpx.Response(500))
    pds.put = written(pds)
    bluesky = pds.poster()
    first, again = bluesky.post(TEXT), bluesky.post(TEXT)
    other = bluesky.post(TEXT.replace("P1", "P2"))
    assert first.id == again.id != other.id
    assert len(pds.records) == 2
    # one login for the three posts (createSession: 30 per 5 minutes, 300 a day)
    assert pds.calls.count("com.atproto.server.createSession") == 1


def test_a_rate_limit_recorded_from_a_pds_defers_until_its_reset() -> None:
    pds = PDS(lambda body: answer("crossposter_issue55_rate_limited.json"))
    with pytest.raises(RateLimited) as raised:
        pds.poster().post(TEXT)
    assert raised.value.reset_at == datetime.fromtimestamp(1726684000, UTC)
    assert raised.value.scope == "bluesky"
    assert raised.value.limits is not None
    assert raised.value.limits.window is not None
    assert raised.value.limits.window.limit == 100


def test_a_login_refused_is_a_permanent_refusal() -> None:
    pds = PDS(lambda body: httpx.Response(500), login="HANDMADE_authentication_required.json")
    with pytest.raises(Rejected) as raised:
        pds.poster().post(TEXT)
    assert raised.value.status == 401


def test_a_bad_gateway_is_temporary() -> None:
    pds = PDS(lambda body: answer("HANDMADE_bad_gateway.json"))
    with pytest.raises(Unavailable):
        pds.poster().post(TEXT)


def test_a_500_is_temporary_and_may_have_written() -> None:
    # Given a PDS failing as it does on createRecord with a used key (indigo#873)
    pds = PDS(lambda body: answer("HANDMADE_duplicate_rkey.json"))
    with pytest.raises(Unavailable) as raised:
        pds.poster().post(TEXT)
    assert raised.value.maybe_posted is True


def test_a_timeout_may_have_written() -> None:
    def slow(body: dict[str, Any]) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out")

    with pytest.raises(Unavailable) as raised:
        PDS(slow).poster().post(TEXT)
    assert raised.value.maybe_posted is True


def test_a_text_over_300_graphemes_is_refused_before_any_call() -> None:
    pds = PDS(lambda body: httpx.Response(500))
    with pytest.raises(Rejected):
        pds.poster().post("é" * 301)
    assert pds.calls == []


def test_record_keys_are_tids_drawn_from_the_text() -> None:
    key = record_key(TEXT)
    assert len(key) == 13
    assert key[0] in "234567abcdefghij"
    assert set(key) <= set("234567abcdefghijklmnopqrstuvwxyz")
    assert record_key(TEXT) == key != record_key(TEXT + " ")


def test_facets_skip_a_hash_before_a_digit_and_trailing_punctuation() -> None:
    text = "Voir https://exemple.fr/a. #1 #Aude!"
    found = [
        text.encode()[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode()
        for f in facets(text)
    ]
    assert found == ["https://exemple.fr/a", "#Aude"]


def test_credentials_are_read_from_the_secret_without_quoting_it() -> None:
    with pytest.raises(BlueskyCredentialsError) as raised:
        BlueskyCredentials.from_secret_string('{"app_password": "SECRET-VALUE"}')
    assert "SECRET-VALUE" not in str(raised.value)


def test_the_dry_run_writes_each_record_in_blueskys_own_form(tmp_path: Path) -> None:
    outbox = dry_run_poster(tmp_path, console=open("/dev/null", "w"), clock=lambda: NOW)  # noqa: SIM115
    posted = outbox.post(TEXT)
    [line] = (tmp_path / "bluesky.jsonl").read_text(encoding="utf-8").splitlines()
    entry = json.loads(line)
    assert entry["id"] == posted.id
    assert entry["rkey"] == record_key(TEXT)
    assert entry["record"]["text"] == TEXT
    assert entry["record"]["langs"] == ["fr"]
    assert len(entry["record"]["facets"]) == 3
    assert entry["graphemes"] == graphemes(TEXT) <= 300


def test_a_post_is_deleted_by_the_key_of_its_uri_and_deleting_again_is_no_error() -> None:
    # Given a post written on the PDS
    pds = PDS(lambda body: httpx.Response(500))
    pds.put = written(pds)
    bluesky = pds.poster()
    posted = bluesky.post(TEXT)
    # When it is deleted, twice (a redelivered retraction)
    bluesky.delete(posted.id)
    bluesky.delete(posted.id)
    # Then the record is gone, and each deletion named the repo and key of its URI
    assert pds.records == {}
    assert pds.calls.count("com.atproto.repo.deleteRecord") == 2


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("crossposter_issue55_rate_limited.json", RateLimited),
        ("HANDMADE_bad_gateway.json", Unavailable),
        ("HANDMADE_authentication_required.json", Rejected),
    ],
)
def test_a_deletion_refused_is_the_relays_typed_error(name: str, error: type[Exception]) -> None:
    pds = PDS(lambda body: httpx.Response(500))
    pds.remove = lambda body: answer(name)
    with pytest.raises(error):
        pds.poster().delete(
            f"at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/{record_key(TEXT)}"
        )
