"""The relay's queue polled only while there is work: the check's decisions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from entraide.activation.relay_switch import Flip, MappingState, RelaySwitch
from tests.factories import NOW, Clock

HOLD = timedelta(minutes=15)


@dataclass
class FakeMapping:
    polling: bool
    last_modified: datetime
    clock: Clock
    updates: list[bool] = field(default_factory=list)

    def state(self) -> MappingState:
        return MappingState(self.polling, self.last_modified)

    def set_enabled(self, enabled: bool) -> None:
        self.updates.append(enabled)
        self.polling, self.last_modified = enabled, self.clock()


@dataclass
class FakeQueue:
    held: int = 0
    reads: int = 0

    def messages(self) -> int:
        self.reads += 1
        return self.held


@dataclass
class FakeRecord:
    at: datetime | None = None

    def busy_at(self) -> datetime | None:
        return self.at

    def mark_busy(self, at: datetime) -> None:
        self.at = at


def switch(polling: bool, *, since: timedelta = timedelta(days=1), held: int = 0) -> RelaySwitch:
    clock = Clock(NOW)
    mapping = FakeMapping(polling, NOW - since, clock)
    return RelaySwitch(
        mapping=mapping, queue=FakeQueue(held), record=FakeRecord(), clock=clock, hold=HOLD
    )


def updates(relay: RelaySwitch) -> list[bool]:
    assert isinstance(relay.mapping, FakeMapping)
    return relay.mapping.updates


def test_an_idle_platform_disables_the_mapping() -> None:
    # Given the mapping enabled for a day, no activation, an empty queue
    relay = switch(True)
    # When the check runs
    flipped = relay.check(activation_work=False)
    # Then the mapping is disabled
    assert flipped is Flip.DISABLED
    assert updates(relay) == [False]


def test_a_queued_message_enables_a_disabled_mapping() -> None:
    # Given the mapping disabled, and a message in the queue (visible, in flight or delayed)
    relay = switch(False, held=1)
    # When the check runs
    flipped = relay.check(activation_work=False)
    # Then the mapping is enabled
    assert flipped is Flip.ENABLED
    assert updates(relay) == [True]


def test_an_open_activation_enables_it_without_reading_the_queue() -> None:
    # Given the mapping disabled and an activation open
    relay = switch(False)
    # When the check runs
    flipped = relay.check(activation_work=True)
    # Then the mapping is enabled, the queue not even read, nothing written (the activation
    # is its own record of work)
    assert flipped is Flip.ENABLED
    assert isinstance(relay.queue, FakeQueue)
    assert relay.queue.reads == 0
    assert isinstance(relay.record, FakeRecord)
    assert relay.record.at is None


def test_an_opening_wakes_the_mapping_at_once_and_only_if_asleep() -> None:
    asleep, awake = switch(False), switch(True)
    # When an activation opens
    assert asleep.wake() is Flip.ENABLED
    assert awake.wake() is None
    # Then only the sleeping mapping was updated; the other was only read
    assert updates(asleep) == [True]
    assert updates(awake) == []


def test_the_mapping_is_read_first_and_updated_only_on_a_change() -> None:
    # Given the mapping enabled with work to do, and one disabled with nothing to do
    busy, idle = switch(True, held=3), switch(False)
    # When the checks run
    assert busy.check(activation_work=True) is None
    assert idle.check(activation_work=False) is None
    # Then nothing was updated
    assert updates(busy) == updates(idle) == []


def test_a_trickle_of_messages_does_not_flap_the_mapping() -> None:
    # Given the mapping disabled, and a message every quarter of an hour
    relay = switch(False)
    assert isinstance(relay.queue, FakeQueue)
    assert isinstance(relay.clock, Clock)
    flips = []
    for check in range(13):  # an hour of checks, five minutes apart, a message at the last
        relay.queue.held = 1 if check % 3 == 0 else 0
        flips.append(relay.check(activation_work=False))
        relay.clock.advance(minutes=5)
    # Then it is enabled by the first message and stays so while they come: the checks
    # that find the queue empty are within the hold of the last one that saw work
    assert flips[0] is Flip.ENABLED
    assert flips[1:] == [None] * 12
    assert updates(relay) == [True]

    # When the messages stop: it goes to sleep once the hold has passed, not before
    relay.queue.held = 0
    later = []
    for _ in range(3):  # five, ten, fifteen minutes after the last message
        later.append(relay.check(activation_work=False))
        relay.clock.advance(minutes=5)
    assert later == [None, None, Flip.DISABLED]


def test_after_the_hold_an_idle_mapping_goes_to_sleep() -> None:
    # Given the mapping enabled five minutes ago by a message now taken
    relay = switch(True, since=timedelta(minutes=5))
    assert isinstance(relay.clock, Clock)
    # When the check runs within the hold, then after it
    within = relay.check(activation_work=False)
    relay.clock.advance(minutes=10)
    after = relay.check(activation_work=False)
    # Then it stays enabled within the hold, and sleeps after it
    assert within is None
    assert after is Flip.DISABLED
