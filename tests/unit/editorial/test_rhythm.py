"""The rhythm is never broken, whatever the calendar: a property over random calendars.

A simulated fortnight, a run every 15 minutes as the schedule fires, random items (random
moments, random channels) and random activations; every run follows :func:`plan` and its
sends are recorded as the desk records them. Whatever the draw: never outside 08:00-21:00
Paris time, never more than ``per_day`` a Paris day per channel, never two sends of a
channel closer than ``gap``, nothing while held, nothing before its moment or later than
``too_late`` after it, each (item, channel) at most once, and every item either sent on
each of its channels or reported missed (none dropped silently).
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from entraide.editorial.calendar import (
    EditorialItem,
    ItemState,
    Rhythm,
    paris,
    plan,
    same_paris_day,
)

START = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
STEP = timedelta(minutes=15)
DAYS = 14
CHANNELS = ("x", "bluesky", "mastodon")

rhythms = st.builds(
    Rhythm,
    start=st.sampled_from([time(8, 0), time(9, 30)]),
    end=st.sampled_from([time(21, 0), time(18, 0)]),
    per_day=st.integers(1, 4),
    gap=st.sampled_from([timedelta(minutes=30), timedelta(hours=2), timedelta(hours=5)]),
    quiet=st.sampled_from([timedelta(hours=6), timedelta(hours=24)]),
    too_late=st.sampled_from([timedelta(hours=12), timedelta(hours=48)]),
)
items = st.lists(
    st.tuples(
        st.integers(0, DAYS * 24 * 60 - 1),  # minutes after START
        st.sets(st.sampled_from(CHANNELS), min_size=1).map(lambda s: tuple(sorted(s))),
    ),
    max_size=40,
)
activations = st.lists(
    st.tuples(st.integers(0, DAYS * 24 - 1), st.integers(1, 72)),  # opening hour, hours
    max_size=3,
)


def held_at(now: datetime, spans: list[tuple[datetime, datetime]], quiet: timedelta) -> bool:
    return any(opened <= now < closed + quiet for opened, closed in spans)


@settings(max_examples=60, deadline=None)
@given(rhythm=rhythms, drawn=items, drawn_activations=activations)
def test_the_rhythm_is_never_broken(
    rhythm: Rhythm,
    drawn: list[tuple[int, tuple[str, ...]]],
    drawn_activations: list[tuple[int, int]],
) -> None:
    # Given a random calendar, random activations and a random rhythm
    calendar = {
        f"i{n}": EditorialItem(
            f"i{n}", "texte", "", channels, START + timedelta(minutes=at), "", ""
        )
        for n, (at, channels) in enumerate(drawn)
    }
    spans = [
        (START + timedelta(hours=hour), START + timedelta(hours=hour + length))
        for hour, length in drawn_activations
    ]
    sends: dict[str, list[tuple[datetime, str]]] = {channel: [] for channel in CHANNELS}
    # When the schedule fires every 15 minutes for a fortnight and a few days more
    now = START
    while now < START + timedelta(days=DAYS + 3):
        held = held_at(now, spans, rhythm.quiet)
        recent = {channel: [at for at, _ in done] for channel, done in sends.items()}
        decided = plan(calendar.values(), now=now, sends=recent, held=held, rhythm=rhythm)
        for item in decided.missed:
            calendar[item.id] = replace(item, state=ItemState.MISSED)
        for item, channel in decided.send:
            # Then nothing goes while held, outside the window, early or too late
            assert not held
            assert rhythm.start <= now.astimezone(paris()).time() <= rhythm.end
            assert item.at <= now <= item.at + rhythm.too_late
            sends[channel].append((now, item.id))
            current = calendar[item.id]
            sent = {**current.sent, channel: now}
            state = ItemState.SENT if set(sent) == set(current.channels) else current.state
            calendar[item.id] = replace(current, sent=sent, state=state)
        now += STEP
    for done in sends.values():
        moments = [at for at, _ in done]
        # Then each (item, channel) once, never two closer than the gap, per_day a day
        assert len({item_id for _, item_id in done}) == len(done)
        assert all(b - a >= rhythm.gap for a, b in itertools.pairwise(moments))
        for moment in moments:
            assert sum(same_paris_day(moment, other) for other in moments) <= rhythm.per_day
    # Then every item went on each of its channels, or was reported missed
    for item in calendar.values():
        assert item.state in (ItemState.SENT, ItemState.MISSED), item
        if item.state is ItemState.SENT:
            assert set(item.sent) == set(item.channels)


def test_a_due_item_waits_for_the_window_then_goes_on_each_channel_once() -> None:
    # Given an item due at 06:00 Paris time on two channels
    rhythm = Rhythm()
    item = EditorialItem(
        "a", "t", "", ("x", "mastodon"), datetime(2026, 12, 7, 5, 0, tzinfo=UTC), "", ""
    )
    # When the run at 07:45 Paris time looks: Then nothing goes before 08:00
    early = plan(
        [item], now=datetime(2026, 12, 7, 6, 45, tzinfo=UTC), sends={}, held=False, rhythm=rhythm
    )
    assert early.send == []
    # When the run at 08:00 looks: Then it goes on both channels
    on_time = plan(
        [item], now=datetime(2026, 12, 7, 7, 0, tzinfo=UTC), sends={}, held=False, rhythm=rhythm
    )
    assert [(chosen.id, channel) for chosen, channel in on_time.send] == [
        ("a", "mastodon"),
        ("a", "x"),
    ]
