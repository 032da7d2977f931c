"""The Mastodon poster over HTTP, against answers recorded from a real Mastodon server.

Mastodon.py's own cassettes (tests/fixtures/mastodon/SOURCES.md) are served by
``responses`` at the HTTP level: the official client builds the request, parses the
answer and raises its own errors, which the poster turns into the relay's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import responses

from entraide.publishing.channel_errors import (
    RateLimited,
    Rejected,
    Unavailable,
)
from entraide.publishing.mastodon import (
    MastodonCredentials,
    MastodonCredentialsError,
    MastodonPoster,
    dry_run_poster,
    idempotency_key,
)
from tests.network_answers import cassette_answer, handmade_answer
from tests.paths import FIXTURES

HERE = FIXTURES / "mastodon"
INSTANCE = "https://mastodon.example"
STATUSES = f"{INSTANCE}/api/v1/statuses"
NOW = datetime(2022, 12, 1, 19, 50, tzinfo=UTC)
TEXT = (
    "🏠 Offre d'aide · Hébergement\n📍 Trèbes, Aude (11)\n"
    "➜ https://shareentraide.fr/posts/P1 #ShareEntraide"
)


def recorded(name: str) -> dict[str, Any]:
    """The first interaction's response of a cassette, as ``responses`` takes it."""
    return cassette_answer(HERE / name)


def handmade(name: str) -> dict[str, Any]:
    return handmade_answer(HERE / name)


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def poster(**kwargs: Any) -> MastodonPoster:
    credentials = MastodonCredentials.model_validate(
        {"api_base_url": INSTANCE, "access_token": "TOKEN"}
    )
    return MastodonPoster(lambda: credentials, clock=lambda: NOW, **kwargs)


def test_a_status_is_posted_public_in_french_with_a_key_drawn_from_its_text(
    http: responses.RequestsMock,
) -> None:
    # Given the instance answers as recorded
    http.add(responses.POST, STATUSES, **recorded("mastodonpy_test_toot.yaml"))
    # When a text is posted
    posted = poster().post(TEXT)
    # Then the status's id comes back, with the rate limits its headers told
    assert posted.id == "109440146774012815"
    assert posted.limits is not None
    assert posted.limits.window is not None
    assert posted.limits.window.limit == 300
    assert posted.limits.window.remaining == 213
    assert posted.limits.window.reset_at == datetime(2022, 12, 1, 21, 0, 0, 619701, tzinfo=UTC)
    # And the request was a public status in French, keyed by its text
    sent = http.calls[0].request
    form = parse_qs(str(sent.body))
    assert form["status"] == [TEXT]
    assert form["visibility"] == ["public"]
    assert form["language"] == ["fr"]
    assert sent.headers["Idempotency-Key"] == idempotency_key(TEXT)
    assert sent.headers["Authorization"] == "Bearer TOKEN"


def test_sending_the_same_text_again_carries_the_same_key_so_mastodon_answers_the_first_status(
    http: responses.RequestsMock,
) -> None:
    # Given an instance that answers a known key with the status it made (as Mastodon does)
    made: dict[str, dict[str, Any]] = {}
    answer = recorded("mastodonpy_test_toot.yaml")

    def statuses(request: Any) -> tuple[int, dict[str, str], str]:
        key = request.headers["Idempotency-Key"]
        if key not in made:
            status = json.loads(answer["body"])
            status["id"] = str(109440146774012815 + len(made))
            made[key] = status
        return 200, answer["headers"], json.dumps(made[key])

    http.add_callback(
        responses.POST, STATUSES, callback=statuses, content_type=answer["content_type"]
    )
    # When the relay sends the same text twice (a lost answer), and another text
    first, again = poster().post(TEXT), poster().post(TEXT)
    other = poster().post(TEXT.replace("P1", "P2"))
    # Then the repeat is the same status, the other text a new one
    assert first.id == again.id
    assert other.id != first.id
    assert len(made) == 2


def test_a_rate_limit_becomes_a_deferral_until_the_reset_mastodon_announced(
    http: responses.RequestsMock,
) -> None:
    http.add(responses.POST, STATUSES, **handmade("HANDMADE_rate_limited.json"))
    with pytest.raises(RateLimited) as raised:
        poster().post(TEXT)
    assert raised.value.reset_at == datetime(2022, 12, 1, 21, 0, 0, 619701, tzinfo=UTC)
    assert raised.value.scope == "mastodon"


def test_a_revoked_token_is_a_permanent_refusal_and_the_token_is_read_again(
    http: responses.RequestsMock,
) -> None:
    # Given the recorded answer of a server to an invalid token
    http.add(responses.POST, STATUSES, **recorded("mastodonpy_test_home_tl_anonymous_throws.yaml"))
    loads: list[int] = []
    credentials = MastodonCredentials.model_validate(
        {"api_base_url": INSTANCE, "access_token": "OLD"}
    )

    def load() -> MastodonCredentials:
        loads.append(1)
        return credentials

    mastodon = MastodonPoster(load, clock=lambda: NOW)
    # When a text is posted, twice
    for _ in range(2):
        with pytest.raises(Rejected) as raised:
            mastodon.post(TEXT)
        assert raised.value.status == 401
    # Then the secret was read again after the refusal (a rotated token is picked up)
    assert len(loads) == 2


def test_an_outage_is_temporary_and_posted_nothing(http: responses.RequestsMock) -> None:
    http.add(responses.POST, STATUSES, **handmade("HANDMADE_service_unavailable.json"))
    with pytest.raises(Unavailable) as raised:
        poster().post(TEXT)
    assert raised.value.maybe_posted is False


def test_a_timeout_may_have_posted(http: responses.RequestsMock) -> None:
    import requests

    http.add(responses.POST, STATUSES, body=requests.ReadTimeout("read timed out"))
    with pytest.raises(Unavailable) as raised:
        poster().post(TEXT)
    assert raised.value.maybe_posted is True


def test_a_text_over_the_instance_limit_is_refused_before_any_call(
    http: responses.RequestsMock,
) -> None:
    with pytest.raises(Rejected) as raised:
        poster(max_characters=50).post(TEXT + " " + "x" * 60)
    assert raised.value.status == 422
    assert len(http.calls) == 0


def test_credentials_are_read_from_the_secret_without_quoting_it() -> None:
    with pytest.raises(MastodonCredentialsError) as raised:
        MastodonCredentials.from_secret_string('{"access_token": "SECRET-VALUE"}')
    assert "SECRET-VALUE" not in str(raised.value)


def test_the_dry_run_writes_each_status_in_mastodons_own_form(tmp_path: Path) -> None:
    # Given the dry run
    outbox = dry_run_poster(tmp_path, console=open("/dev/null", "w"), clock=lambda: NOW)  # noqa: SIM115
    # When a text is posted
    posted = outbox.post(TEXT)
    # Then mastodon.jsonl holds the status's parameters, its key and its length
    [line] = (tmp_path / "mastodon.jsonl").read_text(encoding="utf-8").splitlines()
    record = json.loads(line)
    assert record["id"] == posted.id
    assert record["status"] == TEXT
    assert record["visibility"] == "public"
    assert record["language"] == "fr"
    assert record["idempotency_key"] == idempotency_key(TEXT)
    assert record["length"] < len(TEXT)  # the URL counted 23


def test_a_status_is_deleted_by_its_id_as_recorded(http: responses.RequestsMock) -> None:
    # Given the instance answers the deletion as recorded
    http.add(
        responses.DELETE,
        f"{STATUSES}/109440146774012815",
        **recorded("mastodonpy_test_toot_delete.yaml"),
    )
    # When the status is deleted
    poster().delete("109440146774012815")
    # Then one DELETE of that status went out, with the account's token
    [call] = http.calls
    assert call.request.method == "DELETE"
    assert call.request.headers["Authorization"] == "Bearer TOKEN"


def test_a_status_already_gone_counts_as_deleted(http: responses.RequestsMock) -> None:
    http.add(responses.DELETE, f"{STATUSES}/1", **handmade("HANDMADE_not_found.json"))
    poster().delete("1")
    assert len(http.calls) == 1


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (handmade("HANDMADE_rate_limited.json"), RateLimited),
        (handmade("HANDMADE_service_unavailable.json"), Unavailable),
        (recorded("mastodonpy_test_home_tl_anonymous_throws.yaml"), Rejected),
    ],
)
def test_a_deletion_refused_is_the_relays_typed_error(
    http: responses.RequestsMock, answer: dict[str, Any], error: type[Exception]
) -> None:
    http.add(responses.DELETE, f"{STATUSES}/1", **answer)
    with pytest.raises(error):
        poster().delete("1")
