"""The watch's digest: the best candidates per network, emailed to the community managers
with two signed links each, *Relayer* and *Ignorer*.

**When.** Each morning at 07:00 Paris time, and every two hours (even hours, Paris time)
while an activation is open (:func:`digest_slot`). The watch's function fires every hour;
a slot is the Paris hour, and its digest is a subject of the effects ledger
(``watch-digest:<slot>``): a firing retried, or two at once, send it once.

**The links** are moderation's signed, expiring links (:class:`LinkSigner`), signed for each
community manager (the address travels as a digest, never in the URL) on the item's
reference (:func:`entraide.watch.item_store.item_reference`), with the actions ``relay``
and ``ignore``. They open a confirmation page; only its POST acts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, Protocol
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from entraide.effects.model import Effect, Entry, Record, Subject
from entraide.moderation.signing import InvalidLink, LinkAction, LinkSigner, VerifiedLink
from entraide.watch.config import WatchConfig
from entraide.watch.item_store import WatchItemStore, item_reference
from entraide.watch.ranking import ActivationContext, Scored, rank

if TYPE_CHECKING:
    from entraide.adapters.mail import EmailMessage

PARIS: Final = ZoneInfo("Europe/Paris")
MORNING_HOUR: Final = 7
#: Candidates per network in one digest.
PER_NETWORK: Final = 5
#: A digest's links work a day: the next morning's digest replaces them.
DIGEST_LINK_TTL: Final = timedelta(hours=24)
#: The function whose sweep finishes a digest's emails.
OWNER: Final = "watch"
#: The groups of a digest, in order: the networks, then the institutional sites.
GROUPS: Final = ("x", "bluesky", "mastodon", None)


def slot_of(now: datetime) -> str:
    """The digest slot of ``now``: its Paris hour (``2026-12-07T07``)."""
    return now.astimezone(PARIS).strftime("%Y-%m-%dT%H")


def digest_slot(now: datetime, *, activation_open: bool) -> str | None:
    """The digest due at ``now``, or None."""
    hour = now.astimezone(PARIS).hour
    if hour == MORNING_HOUR or (activation_open and hour % 2 == 0):
        return slot_of(now)
    return None


@dataclass(frozen=True)
class Candidate:
    scored: Scored
    reference: str
    relay_url: str | None  # None: an institutional feed, nothing to repost
    ignore_url: str | None


@dataclass(frozen=True)
class Digest:
    slot: str
    recipient: str
    #: Per network (``None``: the institutional sites), best first.
    groups: tuple[tuple[str | None, tuple[Candidate, ...]], ...]

    @property
    def empty(self) -> bool:
        return not any(candidates for _, candidates in self.groups)


class DigestLinks:
    """Makes and checks a digest's signed links (moderation's signer, its key)."""

    def __init__(
        self,
        *,
        signer: Callable[[], LinkSigner],
        recipients: Sequence[str],
        public_base_url: str,
    ) -> None:
        self._signer = signer
        self.recipients = tuple(recipients)
        self.base_url = public_base_url.rstrip("/") + "/"

    def url(self, reference: str, action: LinkAction, recipient: str) -> str:
        token = self._signer().sign(reference, action, 0, recipient, ttl=DIGEST_LINK_TTL)
        query = urlencode({"decision": action.value, "token": token})
        return f"{self.base_url}veille/{reference}?{query}"

    def verify(self, token: str, reference: str, action: LinkAction, now: datetime) -> VerifiedLink:
        """The link's claims if signed for this item, action and a community manager, and not
        expired; :class:`InvalidLink` or :class:`ExpiredLink` otherwise."""
        if action not in (LinkAction.RELAY, LinkAction.IGNORE):
            raise InvalidLink()
        link = self._signer().verify(
            token, post_id=reference, action=action, actors=self.recipients
        )
        link.check_not_expired(now)
        return link


def build_digest(
    store: WatchItemStore,
    config: WatchConfig,
    links: DigestLinks,
    *,
    slot: str,
    recipient: str,
    now: datetime,
    activation: ActivationContext | None = None,
    decided: Callable[[str], bool] = lambda reference: False,
) -> Digest:
    """The last two days' items, ranked, the ones already relayed or ignored left out,
    the best :data:`PER_NETWORK` of each network."""
    ranked = rank(store.recent(now), config, now, activation)
    groups: list[tuple[str | None, tuple[Candidate, ...]]] = []
    for network in GROUPS:
        chosen: list[Candidate] = []
        for scored in ranked:
            if scored.item.network != network or len(chosen) == PER_NETWORK:
                continue
            reference = item_reference(scored.item)
            if decided(reference):
                continue
            relayable = network is not None
            chosen.append(
                Candidate(
                    scored,
                    reference,
                    links.url(reference, LinkAction.RELAY, recipient) if relayable else None,
                    links.url(reference, LinkAction.IGNORE, recipient) if relayable else None,
                )
            )
        groups.append((network, tuple(chosen)))
    return Digest(slot, recipient, tuple(groups))


def digest_subject(slot: str, recipients: Sequence[str]) -> Subject:
    """The digest of ``slot``: one email per community manager (named by their place in
    the list: no address in the ledger)."""
    return Subject(
        key=f"watch-digest:{slot}",
        owner=OWNER,
        effects=tuple(Effect(f"email-{index}") for index in range(len(recipients))),
        data={"slot": slot},
    )


def recipient_of(entry: Entry, record: Record, recipients: Sequence[str]) -> str | None:
    """The community manager an email effect is for (None: removed from the list since)."""
    del record
    index = int(entry.name.removeprefix("email-"))
    return recipients[index] if index < len(recipients) else None


class Sender(Protocol):
    def send(self, message: EmailMessage) -> str: ...


@dataclass
class DigestMail:
    """Sends a digest's emails: each built when it is sent, from what the table holds."""

    store: WatchItemStore
    config: WatchConfig
    links: DigestLinks
    mailer: Sender
    compose: Callable[[Digest], EmailMessage]
    now: Callable[[], datetime]
    activation: ActivationContext | None = None
    decided: Callable[[str], bool] = lambda reference: False

    def subject(self, slot: str) -> Subject:
        return digest_subject(slot, self.links.recipients)

    def perform(self, entry: Entry, record: Record) -> str | None:
        recipient = recipient_of(entry, record, self.links.recipients)
        if recipient is None:
            return None
        digest = build_digest(
            self.store,
            self.config,
            self.links,
            slot=str(record.data["slot"]),
            recipient=recipient,
            now=self.now(),
            activation=self.activation,
            decided=self.decided,
        )
        if digest.empty:
            return None  # nothing read worth a mail
        return self.mailer.send(self.compose(digest))
