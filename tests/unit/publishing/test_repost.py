"""A repost (retweet, Bluesky repost, Mastodon boost) is an operation of the channels: the
relay's claim in the ledger, the channel's budget, the poster's client — once per reference,
under redelivery and a second delivery while the first still runs."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import responses

from entraide.adapters.table import Table
from entraide.publishing.channels import REPOST_EVENT, Channels
from entraide.publishing.quota import QuotaLimits
from entraide.publishing.relay_outcomes import Deferred, Done, PermanentFailure, Skipped
from entraide.publishing.x_prices import REPOST
from entraide.publishing.xapi import DryRunPoster, TweepyPoster
from tests.factories import X_CREDENTIALS
from tests.paths import FIXTURES
from tests.unit.publishing.test_relay import CrashingStore, make_world

REFERENCE = "eCN4LXJlY2hlcmNoZSMxNTc4OTAwMzUzODE0NTE5Njgx"


def repost_message(target: str = "1578900353814519681", **extra: Any) -> dict[str, Any]:
    return {"event": REPOST_EVENT, "reference": REFERENCE, "target": target, **extra}


def reposts(outbox: Path) -> list[dict[str, Any]]:
    path = outbox / "tweets-reposts.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def price(kind: str) -> int:
    return REPOST if kind == "repost" else 15


def test_a_repost_redelivered_is_made_once_and_priced_once(tmp_path: Path) -> None:
    # Given X paid per use, its poster the dry run
    world = make_world(
        QuotaLimits(per_24h=100, usd_per_month=10.0), poster=DryRunPoster(tmp_path), price=price
    )
    # When the repost's message is handled, then delivered again
    first = world.relay.handle_repost(repost_message())
    again = world.relay.handle_repost(repost_message())
    # Then one repost was made, priced as X prices it, and the second is a skip
    assert isinstance(first, Done)
    assert first.kind == "repost"
    assert again == Skipped("already reposted")
    assert [line["repost"] for line in reposts(tmp_path)] == ["1578900353814519681"]
    assert world.metric_count("XSpendMillidollars") == REPOST


def test_a_second_delivery_while_the_first_runs_waits(tmp_path: Path) -> None:
    # Given a relay that died right after the network reposted, before recording it
    world = make_world(poster=DryRunPoster(tmp_path), store=CrashingStore(), price=price)
    with pytest.raises(RuntimeError):
        world.relay.handle_repost(repost_message())
    # When the message comes again while the claim's lease may still run
    world.clock.advance(seconds=5)
    outcome = world.relay.handle_repost(repost_message())
    # Then it waits: nothing reposted a second time
    assert isinstance(outcome, Deferred)
    assert len(reposts(tmp_path)) == 1


def test_a_repost_message_without_its_target_goes_to_the_dlq(tmp_path: Path) -> None:
    world = make_world(poster=DryRunPoster(tmp_path))
    with pytest.raises(PermanentFailure):
        world.relay.handle_repost({"event": REPOST_EVENT, "reference": REFERENCE})
    assert reposts(tmp_path) == []


def test_the_channels_hand_a_repost_to_its_network_alone(tmp_path: Path) -> None:
    # Given two channels, each with its dry run
    x = make_world(poster=DryRunPoster(tmp_path / "x"), price=price)
    mastodon = make_world(poster=DryRunPoster(tmp_path / "m"))
    channels = Channels({"x": x.relay, "mastodon": mastodon.relay})
    # When a repost for Mastodon arrives
    results = channels.handle(
        repost_message("https://piaille.fr/@a/1", channels=["mastodon"]),
        deadline=x.clock() + timedelta(minutes=1),
    )
    # Then Mastodon alone reposted it
    assert [result.channel for result in results] == ["mastodon"]
    assert reposts(tmp_path / "x") == []
    assert [line["repost"] for line in reposts(tmp_path / "m")] == ["https://piaille.fr/@a/1"]


@responses.activate
def test_x_retweets_through_its_client() -> None:
    # Given X answering a retweet as its API reference shows (HANDMADE: no recording found)
    answer = json.loads((FIXTURES / "twitter" / "HANDMADE_retweet.json").read_text())
    call = responses.post(
        re.compile(r"https://api\.twitter\.com/2/users/1072250532645998596/retweets"),
        json=answer,
    )
    poster = TweepyPoster(lambda: X_CREDENTIALS)
    # When the poster reposts a post
    reposted = poster.repost("1578900353814519681")
    # Then one POST named that post, for the account the keys belong to
    assert call.call_count == 1
    assert json.loads(call.calls[0].request.body or b"{}") == {"tweet_id": "1578900353814519681"}
    assert reposted.id == "retweet:1578900353814519681"


def test_the_relay_prices_an_x_repost_at_what_x_charges_a_user_interaction() -> None:
    # Given the relay's channels as the relay function builds them (X's link policy default)
    from entraide.settings.publishing import RelaySettings
    from entraide.wiring_channels import relay_channels

    settings = RelaySettings.model_validate(
        {
            "TABLE_NAME": "entraide",
            "PUBLIC_BASE_URL": "https://shareentraide.example",
            "RELAY_QUEUE_URL": "https://sqs.example/relay",
            "RELAY_DLQ_URL": "https://sqs.example/dlq",
            "RELAY_CHANNELS": "x",
        }
    )
    x = relay_channels(settings, Table("entraide")).relays["x"]
    # Then a repost costs what X charges a retweet, a post without a link no more
    assert x.price("repost") == REPOST


def test_a_repost_records_its_author_and_leaves_out_what_is_malformed(tmp_path: Path) -> None:
    # Given two reposts: one with what the watch read of the author, one with it malformed
    world = make_world(poster=DryRunPoster(tmp_path), price=price)
    told = repost_message(author="vigicrues", followers=5400)
    garbled = {**repost_message("1578900353814519682", author=7, followers=True), "reference": "r2"}
    # When both are handled
    assert isinstance(world.relay.handle_repost(told), Done)
    assert isinstance(world.relay.handle_repost(garbled), Done)
    # Then both reposts are made; the author is recorded where it was told, nothing else
    authors = {(r.text, r.author, r.author_followers) for r in world.store.tweets.values()}
    assert authors == {
        ("repost 1578900353814519681", "vigicrues", 5400),
        ("repost 1578900353814519682", "", None),
    }
