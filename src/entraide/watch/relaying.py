"""The digest's links, acted on: *Ignorer* sets an item aside, *Relayer* has it reposted on
its network by the channels (their clients, their budget, their once-only).

A decision is a subject of the effects ledger (``watch-decision:<reference>``), recorded
once whichever link, click or retry comes first: a second click finds it and is refused
(:class:`WatchItemDecided`), two clicks at once record it once. *Relayer*'s one effect puts
a ``watch-repost`` message on the relay's queue, at least once (the watch's sweep finishes
it if the click's request died before); the relay's claim on
``publish:<channel>:repost:<reference>`` makes the repost itself once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol

from entraide.effects.ledger import Ledger
from entraide.effects.model import Effect, Entry, LedgerStore, Record, Subject
from entraide.kernel.errors import UnknownDecision, WatchItemDecided, WatchItemGone
from entraide.moderation.signing import LinkAction, actor_digest
from entraide.publishing.channels import FOR_CHANNELS, REPOST_EVENT
from entraide.watch.digest import OWNER, DigestLinks
from entraide.watch.item_store import WatchItemStore
from entraide.watch.items import WatchItem

DECISION: Final = "watch-decision:"
QUEUED: Final = "relay-queued"
SET_ASIDE: Final = "set-aside"  # Ignorer: nothing leaves the platform


class MessageQueue(Protocol):
    def send(self, body: str) -> Any: ...


def parse_watch_action(value: str | None) -> LinkAction:
    """``relay`` or ``ignore`` from a link or its form; anything else: a clear 400."""
    if value == LinkAction.RELAY.value:
        return LinkAction.RELAY
    if value == LinkAction.IGNORE.value:
        return LinkAction.IGNORE
    raise UnknownDecision()


def decision_key(reference: str) -> str:
    return f"{DECISION}{reference}"


def repost_target(item: WatchItem) -> str:
    """What the network reposts: X's post id, Bluesky's post URI, Mastodon's status URL
    (the account's instance resolves it)."""
    return item.url if item.network == "mastodon" else item.item_id


def repost_message(reference: str, item: WatchItem) -> dict[str, Any]:
    return {
        "event": REPOST_EVENT,
        "reference": reference,
        "target": repost_target(item),
        # for the monthly report, recorded with the repost (the item is kept three days)
        "author": item.author,
        "followers": item.followers,
        FOR_CHANNELS: [item.network],
    }


@dataclass
class WatchDesk:
    items: WatchItemStore
    links: DigestLinks
    ledger: Ledger
    ledger_store: LedgerStore
    queue: MessageQueue
    now: Callable[[], datetime]

    def decided(self, reference: str) -> bool:
        return self.ledger_store.get(decision_key(reference)) is not None

    def check(self, reference: str, action: LinkAction, token: str) -> WatchItem:
        """The item a valid link names, still undecided (what its confirmation page shows)."""
        self.links.verify(token, reference, action, self.now())
        item = self.items.find(reference, self.now())
        if item is None or item.network is None:
            raise WatchItemGone()
        if self.decided(reference):
            raise WatchItemDecided()
        return item

    def decide(
        self, reference: str, action: LinkAction, token: str, *, deadline: datetime
    ) -> WatchItem:
        """The confirmation page's POST: the decision recorded once, a relay queued once."""
        item = self.check(reference, action, token)
        by = self.links.verify(token, reference, action, self.now()).actor
        relay = action is LinkAction.RELAY
        subject = Subject(
            key=decision_key(reference),
            owner=OWNER,
            effects=(Effect(QUEUED if relay else SET_ASIDE),),
            data={
                "action": action.value,
                "by": actor_digest(by),
                "network": item.network,
                **({"message": json.dumps(repost_message(reference, item))} if relay else {}),
            },
        )
        self.ledger.run(subject, self.perform, deadline=deadline)
        return item

    def perform(self, entry: Entry, record: Record) -> str | None:
        """The relay's message, as recorded with the decision (Ignorer: nothing)."""
        if entry.name != QUEUED:
            return None
        return str(self.queue.send(str(record.data["message"])))
