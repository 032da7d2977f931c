"""Every channel once per subject, each on its own: X, Bluesky and Mastodon side by side.

The three relays share one ledger (in a dict), one clock and the real texts; X is the fake
of test_relay.py, Bluesky and Mastodon their real dry runs, whose outboxes are read back.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from entraide.effects.memory import MemoryLedgerStore
from entraide.publishing import bluesky, mastodon
from entraide.publishing.channel_errors import (
    Unavailable,
)
from entraide.publishing.channels import BLUESKY, MASTODON, Channels, X, parse_channels
from entraide.publishing.quota import MemoryBudget, QuotaLimits
from entraide.publishing.relay import Relay
from entraide.publishing.relay_memory import MemoryRelayStore
from entraide.publishing.relay_outcomes import Deferred, Done, Skipped
from entraide.publishing.text_rules import BLUESKY_RULE, mastodon_rule
from entraide.publishing.tweets import ChannelTexts
from tests.unit.publishing.test_relay import ACTIVATIONS, BASE_URL, Clock, FakeX, World


class Network:
    """Three channels over one ledger; the outboxes of Bluesky and Mastodon in ``outbox``."""

    def __init__(self, outbox: Path, *, x_limits: QuotaLimits | None = None) -> None:
        self.clock = Clock()
        self.ledger = MemoryLedgerStore()
        self.outbox = outbox
        self.x = FakeX(self.clock)
        # the posts approved (the World of test_relay.py, its relay unused)
        self.world = World(
            self.clock,
            MemoryRelayStore(),
            MemoryBudget(QuotaLimits()),
            self.x,
            None,  # type: ignore[arg-type]
        )
        quiet = io.StringIO()
        posters: dict[str, Any] = {
            X: self.x,
            BLUESKY: bluesky.dry_run_poster(outbox, console=quiet, clock=self.clock),
            MASTODON: mastodon.dry_run_poster(outbox, console=quiet, clock=self.clock),
        }
        texts: dict[str, Any] = {
            X: None,
            BLUESKY: ChannelTexts(BLUESKY_RULE),
            MASTODON: ChannelTexts(mastodon_rule(500)),
        }
        self.stores = {name: MemoryRelayStore(ledger=self.ledger, channel=name) for name in posters}
        self.budgets = {
            name: MemoryBudget(
                x_limits if name == X and x_limits else QuotaLimits(per_24h=1000),
                clock=self.clock,
            )
            for name in posters
        }
        relays = {}
        for name, poster in posters.items():
            options: dict[str, Any] = {}
            if texts[name] is not None:
                options["texts"] = lambda texts=texts[name]: texts
            relays[name] = Relay(
                self.stores[name],
                self.budgets[name],
                poster,
                clock=self.clock,
                public_base_url=BASE_URL,
                load_post=self.world.posts.get,
                load_activation=ACTIVATIONS.get,
                **options,
            )
        self.channels = Channels(relays)

    def handle(self, message: dict[str, Any]) -> dict[str, Any]:
        deadline = self.clock() + timedelta(seconds=30)
        return {
            result.channel: result.outcome or result.error
            for result in self.channels.handle(message, deadline=deadline)
        }

    def lines(self, channel: str) -> list[dict[str, Any]]:
        path = self.outbox / f"{channel}.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def network(tmp_path: Path) -> Network:
    return Network(tmp_path)


def test_an_approved_post_goes_once_to_every_channel_in_its_own_form(network: Network) -> None:
    # Given an approved post
    message = network.world.approve("P1")
    # When its message is handled
    outcomes = network.handle(message)
    # Then each channel announced it, each in its own form
    assert {name: type(outcome) for name, outcome in outcomes.items()} == {
        X: Done,
        BLUESKY: Done,
        MASTODON: Done,
    }
    [tweet] = network.x.texts
    [skeet] = network.lines(BLUESKY)
    [toot] = network.lines(MASTODON)
    assert f"{BASE_URL}/posts/P1" in tweet
    assert skeet["record"]["langs"] == ["fr"]
    assert f"{BASE_URL}/posts/P1" in skeet["record"]["text"]
    assert toot["visibility"] == "public"
    assert toot["language"] == "fr"
    assert f"{BASE_URL}/posts/P1" in toot["status"]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(redeliveries=st.lists(st.sampled_from([X, BLUESKY, MASTODON, "all"]), max_size=8))
def test_redelivery_never_announces_a_subject_twice_on_a_channel(
    tmp_path_factory: pytest.TempPathFactory, redeliveries: list[str]
) -> None:
    # Given a post announced once everywhere
    network = Network(tmp_path_factory.mktemp("outbox"))
    message = network.world.approve("P1")
    network.handle(message)
    # When the message comes back, whole or for one channel, any number of times
    for channel in redeliveries:
        network.clock.advance(minutes=1)
        again = message if channel == "all" else {**message, "channels": [channel]}
        for outcome in network.handle(again).values():
            assert isinstance(outcome, Skipped)
    # Then each channel has it once
    assert len(network.x.requests) == 1
    assert len(network.lines(BLUESKY)) == 1
    assert len(network.lines(MASTODON)) == 1


def test_x_down_holds_back_neither_bluesky_nor_mastodon(network: Network) -> None:
    # Given X down
    network.x.then(lambda: (_ for _ in ()).throw(Unavailable("503 Service Unavailable")))
    message = network.world.approve("P1")
    # When the message is handled
    outcomes = network.handle(message)
    # Then X failed, the others announced the post
    assert isinstance(outcomes[X], Exception)
    assert isinstance(outcomes[BLUESKY], Done)
    assert isinstance(outcomes[MASTODON], Done)
    # And when the message comes back for X alone, X posts it; nobody posts twice
    network.clock.advance(minutes=1)
    again = network.handle({**message, "channels": [X]})
    assert list(again) == [X]
    assert isinstance(again[X], Done)
    assert len(network.x.accepted) == 1
    assert len(network.lines(BLUESKY)) == len(network.lines(MASTODON)) == 1


def test_xs_spent_budget_defers_x_alone(tmp_path: Path) -> None:
    # Given X's budget already spent for the day
    network = Network(tmp_path, x_limits=QuotaLimits(per_24h=1))
    network.handle(network.world.approve("P1"))
    # When a second post is approved
    outcomes = network.handle(network.world.approve("P2"))
    # Then X defers it; Bluesky and Mastodon announce it now
    assert isinstance(outcomes[X], Deferred)
    assert isinstance(outcomes[BLUESKY], Done)
    assert isinstance(outcomes[MASTODON], Done)
    assert Counter(len(network.lines(name)) for name in (BLUESKY, MASTODON)) == Counter({2: 2})


def test_an_activation_is_announced_once_on_every_channel(network: Network) -> None:
    from entraide.activation.events import ActivationEvent, activation_message

    message = activation_message(ACTIVATIONS["A1"], ActivationEvent.OPENED)
    first, again = network.handle(message), network.handle(message)
    assert all(isinstance(outcome, Done) for outcome in first.values())
    assert all(isinstance(outcome, Skipped) for outcome in again.values())
    assert len(network.lines(BLUESKY)) == len(network.lines(MASTODON)) == 1


def test_the_channels_setting_names_known_channels_only() -> None:
    assert parse_channels("mastodon, x") == (X, MASTODON)
    with pytest.raises(ValueError, match="Unknown channels"):
        parse_channels("x,threads")
