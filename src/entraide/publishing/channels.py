"""Every announcement once on every enabled channel, each channel on its own.

A *channel* is a network the platform announces on: X, Bluesky, Mastodon. Each is one
:class:`~.relay.Relay` with its own

- poster (:mod:`.xapi` for X, :mod:`.bluesky`, :mod:`.mastodon`; each with a dry run into
  ``<outbox>/<channel>.jsonl``),
- texts under its own length rule (:mod:`.text_rules`, :class:`.tweets.ChannelTexts`),
- budget (:mod:`.quota`: X's tier or money budget, Bluesky's and Mastodon's rate limits),
- memory: its publications are subjects of their own in the effects ledger
  (``publish:<channel>:post:<id>``, the effect named after the channel), its backlog and
  records under keys of its own (:mod:`.relay_store`).

So a message of the relay queue is handled by each channel in turn, and what one channel
answers (done, deferred to when its budget frees a unit, X down, a permanent refusal)
never decides for another: :meth:`Channels.handle` returns each channel's outcome, and the
handler sends the message again *for the channels still pending only*
(``"channels": [...]`` in the message), each at its own time. Exactly once per
(subject, channel) is the ledger's: a channel that already announced a subject skips it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from entraide.publishing.relay_outcomes import Deferred, PermanentFailure, RelayOutcome

if TYPE_CHECKING:
    from entraide.publishing.relay import Relay

X: Final = "x"
BLUESKY: Final = "bluesky"
MASTODON: Final = "mastodon"
#: Every channel the relay knows, in the order it announces on them.
KNOWN: Final = (X, BLUESKY, MASTODON)
#: The event of an editorial item's message (:mod:`entraide.editorial`).
EDITORIAL: Final = "editorial"
#: The message field naming the channels a message is still for (absent: all enabled).
FOR_CHANNELS: Final = "channels"
#: A message the watch found, to repost on its network (``reference``, ``target``).
REPOST_EVENT: Final = "watch-repost"


def parse_channels(setting: str) -> tuple[str, ...]:
    """``"x,bluesky,mastodon"`` → the enabled channels, in :data:`KNOWN`'s order."""
    names = {part.strip().lower() for part in setting.split(",") if part.strip()}
    unknown = names - set(KNOWN)
    if unknown:
        raise ValueError(f"Unknown channels {sorted(unknown)} (known: {', '.join(KNOWN)}).")
    if not names:
        raise ValueError("At least one channel must be enabled.")
    return tuple(name for name in KNOWN if name in names)


@dataclass(frozen=True, slots=True)
class ChannelResult:
    """What one channel made of a message: an outcome, or the error it raised."""

    channel: str
    outcome: RelayOutcome | None = None
    error: Exception | None = None


class Channels:
    """The enabled channels' relays, by name."""

    def __init__(self, relays: Mapping[str, Relay]) -> None:
        if not relays:
            raise ValueError("At least one channel must be enabled.")
        self.relays = dict(relays)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.relays)

    def wanted(self, message: Mapping[str, Any]) -> list[str]:
        """The enabled channels the message is (still) for."""
        named = message.get(FOR_CHANNELS)
        if not isinstance(named, Sequence) or isinstance(named, str):
            return list(self.relays)
        return [name for name in self.relays if name in named]

    def handle(
        self,
        message: Mapping[str, Any],
        *,
        deadline: datetime,
        clock: Callable[[], datetime] | None = None,
        min_time: timedelta = timedelta(0),
    ) -> list[ChannelResult]:
        """Each wanted channel's outcome for ``message``; an error of one is its own.

        A channel is started only with ``min_time`` left before ``deadline`` (one call to
        a network may take its poster's whole timeout); with less, it is deferred to now:
        the message comes back for it, and a slow network never starves the next one.
        """
        event = str(message.get("event", ""))
        results: list[ChannelResult] = []
        for name in self.wanted(message):
            relay = self.relays[name]
            now = (clock or relay.clock)()
            if deadline - now < min_time:
                results.append(ChannelResult(name, Deferred(now, "too little time left")))
                continue
            try:
                if event == "post-approved":
                    outcome = relay.handle_approved(message, deadline=deadline)
                elif event.startswith("activation-"):
                    outcome = relay.handle_activation_event(message, deadline=deadline)
                elif event == EDITORIAL:
                    outcome = relay.handle_editorial(message, deadline=deadline)
                elif event == REPOST_EVENT:
                    outcome = relay.handle_repost(message, deadline=deadline)
                else:
                    raise PermanentFailure(f"Unknown relay message event {event!r}.")
            except Exception as error:
                results.append(ChannelResult(name, error=error))
            else:
                results.append(ChannelResult(name, outcome=outcome))
        return results
