"""The scheduled run through a month, against the table; exactly once under redelivery."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from entraide.activation.activation_store import ActivationStore
from entraide.adapters.table import Table
from entraide.editorial.calendar import EditorialItem, ItemState, Rhythm
from entraide.editorial.calendar_store import EditorialNotPlanned, EditorialStore
from entraide.editorial.desk import EditorialDesk, editorial_message, held_by_activations
from entraide.publishing.channels import BLUESKY, MASTODON, X
from entraide.publishing.relay_outcomes import Done, Skipped
from entraide.publishing.text_rules import X_RULE
from entraide.publishing.tweets import ChannelTexts
from tests.factories import Clock, make_activation
from tests.unit.publishing.test_channels import Network

RHYTHM = Rhythm(per_day=2, gap=timedelta(hours=2), quiet=timedelta(hours=24))
ALL = (X, BLUESKY, MASTODON)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


def item(name: str, moment: datetime, channels: tuple[str, ...] = ALL) -> EditorialItem:
    return EditorialItem(name, f"Texte {name}", "", channels, moment, "prévention", "Claire")


class Sent:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.messages: list[tuple[datetime, Mapping[str, Any]]] = []

    def __call__(self, message: Mapping[str, Any]) -> None:
        self.messages.append((self.clock(), message))

    def of(self, item_id: str) -> list[tuple[datetime, str]]:
        return [
            (moment, message["channels"][0])
            for moment, message in self.messages
            if message["item_id"] == item_id
        ]


@pytest.fixture
def store(table: Table) -> EditorialStore:
    return EditorialStore(table)


def desk_for(
    store: EditorialStore, activations: ActivationStore, clock: Clock
) -> tuple[EditorialDesk, Sent]:
    sent = Sent(clock)
    desk = EditorialDesk(
        store,
        send=sent,
        held=held_by_activations(activations, RHYTHM.quiet),
        rhythm=RHYTHM,
        clock=clock,
    )
    return desk, sent


def test_a_month_with_an_activation_in_the_middle(
    store: EditorialStore, activations: ActivationStore
) -> None:
    # Given a December calendar (UTC times; Paris is UTC+1)
    store.add(
        [
            item("early", at(2, 9)),
            item("second-x", at(2, 9, 30), (X,)),
            item("during", at(13, 12)),  # due while held, goes when the platform is quiet
            item("lost", at(12, 8)),  # held past its 48 hours: missed and reported
            item("cancelled", at(20, 9)),
            item("moved", at(22, 9)),
        ],
        created_at=at(1, 0),
    )
    store.cancel("cancelled")
    store.move("moved", at(23, 15))
    # and an activation open from the 12th 07:00 to the 14th 10:00
    clock = Clock(at(1, 0))
    desk, sent = desk_for(store, activations, clock)
    missed: list[str] = []
    # When the schedule fires every hour through the month
    while clock() < at(31, 23):
        if clock() == at(12, 7):
            activations.create_activation(make_activation(id="A-DEC", opened_at=clock()))
        if clock() == at(14, 10):
            activations.close_activation("A-DEC", clock())
        missed += desk.run().missed
        clock.advance(hours=1)
    # Then the first item went at once on every channel, the second two hours later on X
    assert sent.of("early") == [(at(2, 9), BLUESKY), (at(2, 9), MASTODON), (at(2, 9), X)]
    assert sent.of("second-x") == [(at(2, 11), X)]
    # the held item resumed after the quiet day, the other one was reported missed
    assert sent.of("during") == [(at(15, 11), BLUESKY), (at(15, 11), MASTODON), (at(15, 11), X)]
    assert missed == ["lost"]
    assert sent.of("lost") == []
    assert not any(at(12, 7) <= moment < at(15, 11) for moment, _ in sent.messages)
    # the cancelled one never went, the moved one at its new moment
    assert sent.of("cancelled") == []
    assert {moment for moment, _ in sent.of("moved")} == {at(23, 15)}
    states = {name: store.get(name).state for name in ("early", "lost", "cancelled", "moved")}  # type: ignore[union-attr]
    assert states == {
        "early": ItemState.SENT,
        "lost": ItemState.MISSED,
        "cancelled": ItemState.CANCELLED,
        "moved": ItemState.SENT,
    }


def test_a_second_run_at_the_same_moment_sends_nothing_again(
    store: EditorialStore, activations: ActivationStore
) -> None:
    # Given a due item, sent by one run
    store.add([item("once", at(2, 9))], created_at=at(1, 0))
    clock = Clock(at(2, 9))
    desk, sent = desk_for(store, activations, clock)
    assert len(desk.run().sent) == 3
    # When the schedule delivers the run again (Lambda's asynchronous retry)
    again = desk.run()
    # Then nothing is sent a second time
    assert again.sent == []
    assert len(sent.messages) == 3


def test_a_send_recorded_twice_is_one_send_and_a_cancelled_item_takes_none(
    store: EditorialStore,
) -> None:
    # Given an item sent on X
    [stored] = store.add([item("twice", at(2, 9))], created_at=at(1, 0))
    after = store.mark_sent(stored, X, at(2, 9))
    # When the same send is recorded again: Then it stays the first
    assert store.mark_sent(stored, X, at(2, 10)).sent == {X: at(2, 9)} == after.sent
    # Given the same row imported again: Then it is not stored twice
    assert store.add([item("twice", at(2, 9))], created_at=at(1, 0)) == []
    # When it is cancelled, a later send is refused
    store.cancel("twice")
    with pytest.raises(EditorialNotPlanned):
        store.mark_sent(after, BLUESKY, at(2, 11))


def test_an_editorial_message_delivered_twice_is_published_once_per_channel(
    tmp_path: Path,
) -> None:
    # Given the channels of the publishing path, X's link policy the default one
    network = Network(tmp_path)
    message = editorial_message(
        EditorialItem(
            "blog-1",
            "Nouvel article : les crues",
            "https://blog.example.fr/a/",
            ALL,
            at(2, 9),
            "",
            "",
        ),
        X,
    )
    messages = [{**message, "channels": list(ALL)}] * 2
    # When the relay gets it twice (a redelivery)
    first, second = (network.handle(each) for each in messages)
    # Then each channel published it once, the second delivery skipped everywhere
    assert {type(outcome) for outcome in first.values()} == {Done}
    assert {type(outcome) for outcome in second.values()} == {Skipped}
    [tweet] = network.x.texts
    [skeet] = network.lines(BLUESKY)
    [toot] = network.lines(MASTODON)
    assert tweet == "Nouvel article : les crues\nhttps://blog.example.fr/a/"
    assert skeet["record"]["text"] == "Nouvel article : les crues\nhttps://blog.example.fr/a/"
    assert "https://blog.example.fr/a/" in toot["status"]


def test_x_link_policy_without_editorial_leaves_the_link_out() -> None:
    # Given X's texts under a link policy that names posts only (X_LINKS=post)
    texts = ChannelTexts(X_RULE, {"post"})
    # When an editorial item with a link is written for X
    text = texts.editorial_tweet("Nouvel article : les crues", "https://blog.example.fr/a/")
    # Then its link is left out: a post without a URL costs $0.015, not $0.200
    assert text == "Nouvel article : les crues"
