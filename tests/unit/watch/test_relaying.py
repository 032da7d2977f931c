"""A digest's Relayer and Ignorer links, over the decision function's HTTP routes under its
policy: a confirmation page, then a POST that decides once; Relayer's repost reaches the
relay's queue once, and the relay reposts once on the item's network."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import boto3
import pytest

from entraide.adapters.table import Table
from entraide.moderation.signing import LinkAction, LinkSigner
from entraide.publishing.channels import REPOST_EVENT
from entraide.publishing.relay_outcomes import Done, Skipped
from entraide.publishing.relay_store import repost_publication
from entraide.watch.digest import DigestLinks
from entraide.watch.item_store import WatchItemStore, item_reference
from entraide.watch.items import WatchItem
from entraide_local.provision import Deployment
from tests.events import api_request
from tests.unit.conftest import (
    FakeContext,
    PolicedHandler,
    UnderPolicy,
    load_handler,
    use_function_environment,
)
from tests.unit.publishing.test_relay import make_world

MANAGER = "cm@shareentraide.example"
ITEM = WatchItem(
    network="mastodon",
    source_id="mastodon-piaille",
    item_id="109440153064280358",
    author="halcy@icosahedron.website",
    text="Inondations : bénévoles bienvenus #Entraide",
    url="https://icosahedron.website/@halcy/109440153064280358",
    published_at=datetime.now(UTC) - timedelta(hours=1),
    followers=120,
)


@pytest.fixture
def template_parameters() -> dict[str, str]:
    """The template with one community manager for the digest."""
    return {"WatchDigestRecipients": MANAGER}


@pytest.fixture
def decision(
    monkeypatch: pytest.MonkeyPatch, deployment: Deployment, under_policy: UnderPolicy
) -> PolicedHandler:
    use_function_environment(monkeypatch, deployment, "decision")
    return PolicedHandler(load_handler("decision", "decision_app"), under_policy, "decision")


def link(deployment: Deployment, action: LinkAction, *, now: datetime | None = None) -> str:
    """The digest's link for the manager, signed with the stack's key."""
    name = deployment.function("decision").environment["LINK_SIGNING_KEY_PARAMETER"]
    key = boto3.client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    at = now or datetime.now(UTC)
    links = DigestLinks(
        signer=lambda: LinkSigner(key.encode(), now=lambda: at),
        recipients=(MANAGER,),
        public_base_url="https://shareentraide.example/",
    )
    return links.url(item_reference(ITEM), action, MANAGER)


def get(handler: PolicedHandler, url: str) -> dict[str, Any]:
    parts = urlparse(url)
    event = api_request("GET", parts.path, content_type=None, accept="text/html")
    event["queryStringParameters"] = {k: v[0] for k, v in parse_qs(parts.query).items()}
    event["multiValueQueryStringParameters"] = parse_qs(parts.query)
    event["pathParameters"] = {"reference": parts.path.rsplit("/", 1)[-1]}
    return dict(handler.lambda_handler(event, FakeContext("decision")))


def post(handler: PolicedHandler, url: str) -> dict[str, Any]:
    parts = urlparse(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    event = api_request(
        "POST",
        parts.path,
        body=urlencode(query),
        content_type="application/x-www-form-urlencoded",
        accept="text/html",
    )
    event["pathParameters"] = {"reference": parts.path.rsplit("/", 1)[-1]}
    return dict(handler.lambda_handler(event, FakeContext("decision")))


def relay_messages(deployment: Deployment) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    url = deployment.function("decision").environment["RELAY_QUEUE_URL"]
    found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    return [json.loads(message["Body"]) for message in found.get("Messages", [])]


def test_relayer_confirmed_twice_reposts_once_on_its_network(
    decision: PolicedHandler, deployment: Deployment, table: Table, tmp_path: Path
) -> None:
    # Given an item of the watch, and the Relayer link of the digest
    WatchItemStore(table).keep([ITEM], datetime.now(UTC))
    url = link(deployment, LinkAction.RELAY)
    # When the link is opened (a mail scanner, the manager): a page, nothing done
    page = get(decision, url)
    assert page["statusCode"] == 200
    assert "Relayer ce message ?" in page["body"]
    assert relay_messages(deployment) == []
    # When the manager confirms, then clicks again
    first = post(decision, url)
    second = post(decision, url)
    # Then one decision, one message for Mastodon alone, and the second click refused
    assert first["statusCode"] == 200
    assert second["statusCode"] == 409
    [message] = relay_messages(deployment)
    assert message == {
        "event": REPOST_EVENT,
        "reference": item_reference(ITEM),
        "target": ITEM.url,
        "author": ITEM.author,
        "followers": 120,
        "channels": ["mastodon"],
    }
    # and the relay, given it twice (a redelivery), reposts once into its outbox
    from entraide.publishing.xapi import DryRunPoster

    world = make_world(poster=DryRunPoster(tmp_path, file_name="mastodon.jsonl"))
    assert isinstance(world.relay.handle_repost(message), Done)
    assert world.relay.handle_repost(message) == Skipped("already reposted")
    lines = (tmp_path / "mastodon-reposts.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["repost"] for line in lines] == [ITEM.url]
    # and records it with its author, for the monthly report (the item is kept three days)
    [record] = world.store.tweets.values()
    assert (record.kind, record.author, record.author_followers) == ("repost", ITEM.author, 120)
    assert (
        world.store.publication(repost_publication(item_reference(ITEM)), world.clock()).status.name
        == "DONE"
    )


def test_ignorer_sets_the_item_aside_and_sends_nothing(
    decision: PolicedHandler, deployment: Deployment, table: Table
) -> None:
    WatchItemStore(table).keep([ITEM], datetime.now(UTC))
    url = link(deployment, LinkAction.IGNORE)
    assert post(decision, url)["statusCode"] == 200
    assert relay_messages(deployment) == []
    # and the Relayer link of the same item is now refused as already decided
    assert post(decision, link(deployment, LinkAction.RELAY))["statusCode"] == 409


@pytest.mark.parametrize(
    ("tamper", "status"),
    [
        (lambda url: url.replace("token=", "token=x"), 403),  # forged
        (lambda url: url.replace("decision=relay", "decision=approve"), 400),  # not a watch action
    ],
)
def test_a_forged_or_foreign_link_is_refused_and_changes_nothing(
    decision: PolicedHandler, deployment: Deployment, table: Table, tamper: Any, status: int
) -> None:
    WatchItemStore(table).keep([ITEM], datetime.now(UTC))
    url = tamper(link(deployment, LinkAction.RELAY))
    assert post(decision, url)["statusCode"] == status
    assert relay_messages(deployment) == []


def test_an_expired_link_is_refused(
    decision: PolicedHandler, deployment: Deployment, table: Table
) -> None:
    WatchItemStore(table).keep([ITEM], datetime.now(UTC))
    url = link(deployment, LinkAction.RELAY, now=datetime.now(UTC) - timedelta(hours=25))
    assert get(decision, url)["statusCode"] == 410
    assert post(decision, url)["statusCode"] == 410
    assert relay_messages(deployment) == []


def test_an_item_no_longer_kept_is_gone(decision: PolicedHandler, deployment: Deployment) -> None:
    assert get(decision, link(deployment, LinkAction.RELAY))["statusCode"] == 410
