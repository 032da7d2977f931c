"""The watch's digest: when it is due, its candidates and signed links, once per slot."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from entraide.adapters.table import Table
from entraide.kernel.errors import ExpiredLink, InvalidLink
from entraide.moderation.signing import LinkAction, LinkSigner
from entraide.watch.config import load_watch_file
from entraide.watch.digest import DigestLinks, build_digest, digest_slot
from entraide.watch.item_store import WatchItemStore, item_reference
from entraide.watch.items import WatchItem
from entraide_local.provision import Deployment
from tests.unit.conftest import (
    FakeContext,
    PolicedHandler,
    UnderPolicy,
    load_handler,
    use_function_environment,
)
from tests.unit.watch.test_watch_handler import deployment, serve_sources, watch

__all__ = ["deployment", "watch"]  # the template with the watch's bucket, its function

CONFIG = load_watch_file()
KEY = b"k" * 32
NOW = datetime(2026, 12, 7, 6, 5, tzinfo=UTC)  # 07:05 in Paris
MANAGERS = ("cm1@shareentraide.example", "cm2@shareentraide.example")


def links(now: datetime = NOW) -> DigestLinks:
    return DigestLinks(
        signer=lambda: LinkSigner(KEY, now=lambda: now),
        recipients=MANAGERS,
        public_base_url="https://shareentraide.example/",
    )


def item(network: str | None, item_id: str, text: str, likes: int = 0) -> WatchItem:
    return WatchItem(
        network=network,  # type: ignore[arg-type]
        source_id=f"src-{network}",
        item_id=item_id,
        author=f"auteur-{item_id}",
        text=text,
        url=f"https://example.org/{item_id}",
        published_at=NOW - timedelta(hours=1),
        likes=likes,
    )


@pytest.mark.parametrize(
    ("utc", "activation_open", "slot"),
    [
        (datetime(2026, 12, 7, 6, 5, tzinfo=UTC), False, "2026-12-07T07"),  # winter: UTC+1
        (datetime(2026, 7, 7, 5, 5, tzinfo=UTC), False, "2026-07-07T07"),  # summer: UTC+2
        (datetime(2026, 12, 7, 7, 5, tzinfo=UTC), False, None),
        (datetime(2026, 12, 7, 9, 5, tzinfo=UTC), True, "2026-12-07T10"),
        (datetime(2026, 12, 7, 10, 5, tzinfo=UTC), True, None),  # 11:00 in Paris: odd
    ],
)
def test_the_digest_is_due_each_paris_morning_and_every_two_hours_in_an_activation(
    utc: datetime, activation_open: bool, slot: str | None
) -> None:
    assert digest_slot(utc, activation_open=activation_open) == slot


def test_the_digest_groups_the_best_per_network_and_signs_links_for_its_reader(
    table: Table,
) -> None:
    # Given items of each network and a feed in the table
    store = WatchItemStore(table)
    store.keep(
        [
            item("x", "1", "Vigilance rouge crue #Inondations", likes=50),
            item("x", "2", "Un autre sujet sans rapport"),
            item("mastodon", "3", "Culture du risque : exercice #RisquesMajeurs"),
            item(None, "4", "Bulletin de vigilance"),
        ],
        NOW,
    )
    # When the digest of the morning is built for a community manager
    digest = build_digest(
        store, CONFIG, links(), slot="2026-12-07T07", recipient=MANAGERS[0], now=NOW
    )
    # Then each network's candidates come best first, the feed without links
    groups = dict(digest.groups)
    assert [c.scored.item.item_id for c in groups["x"]] == ["1", "2"]
    assert [c.scored.item.item_id for c in groups["mastodon"]] == ["3"]
    assert groups["bluesky"] == ()
    [feed] = groups[None]
    assert feed.relay_url is None
    assert feed.ignore_url is None
    # and the Relayer link verifies for that manager, that item and that action only
    best = groups["x"][0]
    url = urlparse(best.relay_url or "")
    assert url.path == f"/veille/{best.reference}"
    query = parse_qs(url.query)
    assert query["decision"] == ["relay"]
    [token] = query["token"]
    verified = links().verify(token, best.reference, LinkAction.RELAY, NOW)
    assert verified.actor == MANAGERS[0]
    with pytest.raises(InvalidLink):
        links().verify(token, best.reference, LinkAction.IGNORE, NOW)
    with pytest.raises(InvalidLink):
        links().verify(token, groups["x"][1].reference, LinkAction.RELAY, NOW)
    with pytest.raises(InvalidLink):
        links().verify(token[:-2] + "xx", best.reference, LinkAction.RELAY, NOW)
    with pytest.raises(ExpiredLink):
        links().verify(token, best.reference, LinkAction.RELAY, NOW + timedelta(hours=25))
    # and a moderation link of the same key is no digest link
    moderation = LinkSigner(KEY).sign(best.reference, LinkAction.APPROVE, 0, MANAGERS[0])
    with pytest.raises(InvalidLink):
        links().verify(moderation, best.reference, LinkAction.APPROVE, NOW)


def test_an_item_already_decided_leaves_the_digest(table: Table) -> None:
    store = WatchItemStore(table)
    relayed = item("x", "1", "Vigilance rouge crue #Inondations")
    store.keep([relayed, item("x", "2", "Gestion de crise")], NOW)
    digest = build_digest(
        store,
        CONFIG,
        links(),
        slot="2026-12-07T07",
        recipient=MANAGERS[0],
        now=NOW,
        decided=lambda reference: reference == item_reference(relayed),
    )
    assert [c.scored.item.item_id for c in dict(digest.groups)["x"]] == ["2"]


def test_an_item_is_found_again_by_its_reference_until_its_ttl(table: Table) -> None:
    store = WatchItemStore(table)
    kept = item("bluesky", "at://did:plc:x/app.bsky.feed.post/3l", "Entraide sinistrés")
    store.keep([kept], NOW)
    assert store.find(item_reference(kept), NOW + timedelta(days=2)) == kept
    assert store.find("not!a!reference", NOW) is None
    assert store.find(item_reference(item("x", "9", "absent")), NOW) is None


def emails(outbox: Path) -> list[Message]:
    return [email.message_from_bytes(path.read_bytes()) for path in sorted(outbox.glob("*.eml"))]


def body(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode("utf-8")
    raise AssertionError("no text part")


@pytest.fixture
def digest_watch(
    monkeypatch: pytest.MonkeyPatch,
    deployment: Deployment,
    under_policy: UnderPolicy,
    tmp_path: Path,
) -> PolicedHandler:
    use_function_environment(monkeypatch, deployment, "watch")
    monkeypatch.setenv("WATCH_FILE_BUCKET", "")
    monkeypatch.setenv("OUTBOX_DIR", str(tmp_path))
    monkeypatch.setenv("WATCH_DIGEST_RECIPIENTS", ",".join(MANAGERS))
    return PolicedHandler(load_handler("watch", "watch_app"), under_policy, "watch")


@responses.activate
def test_a_digest_run_twice_sends_each_manager_one_email(
    digest_watch: PolicedHandler, tmp_path: Path
) -> None:
    # Given what the sources say collected, and a digest asked
    serve_sources()
    result = digest_watch.lambda_handler({"collect": True, "digest": True}, FakeContext("watch"))
    assert result["digest"]
    # When the same slot's digest is asked again (a retry, a second firing)
    digest_watch.lambda_handler({"digest": True}, FakeContext("watch"))
    # Then each community manager got one email
    sent = emails(tmp_path)
    assert sorted(message["To"] for message in sent) == sorted(MANAGERS)
    text = body(sent[0])
    assert text.startswith("Veille ShareEntraide du ")
    assert "Sur Mastodon" in text
    assert "Sites institutionnels" in text
    relay_links = re.findall(r"Relayer : (\S+)", text)
    assert relay_links, text
    assert all("decision=relay" in url for url in relay_links)


def test_without_community_managers_no_digest_is_sent(
    watch: PolicedHandler, tmp_path: Path
) -> None:
    # Given a deployment that names no community manager (the template's default), at an
    # hour without collection
    watch.utcnow = lambda: datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
    # When a digest is asked
    result = watch.lambda_handler({"digest": True}, FakeContext("watch"))
    # Then none is recorded or sent
    assert result["digest"] is None
    assert emails(tmp_path) == []
