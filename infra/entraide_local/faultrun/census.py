"""Each effect of a fault run counted per subject: expected, delivered, lost, duplicated.

What is expected follows from the scenario (:mod:`.world`): every post stored once; two
moderation requests, an awaiting notice, a decision and its notice per post; one
announcement and one tweet per approved post (and one of each for the activation's
opening); one match per pair of approved posts, a notice to each of its two people, and the
one message the person in need writes to the helper.

A duplicate is *explained* when an answer about that very subject was lost on the way: an
email whose ``SendEmail`` answer was lost, an announcement whose ``Publish`` answer was
lost, a tweet whose answer timed out after X took it, or a write of the subject's record
in the effects ledger (its claim or its completion) whose answer was lost. Only emails may
be duplicated, and only so; tweets, matches and decisions never.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..faults import Fault
from .pipeline import Observed, Pipeline

_POST_LINK = re.compile(r"/posts/([0-9A-Za-z_-]+)")
_ACTIVATION_LINK = re.compile(r"activation=([0-9A-Za-z_-]+)")
_CONTACT_LINK = re.compile(r"/contact/([0-9A-Za-z_-]+)\?need=([0-9A-Za-z_-]+)")
EMAIL_KINDS = (
    "moderation requests",
    "awaiting notices",
    "decision notices",
    "match notices",
    "contact messages",
)


@dataclass(frozen=True)
class Row:
    effect: str
    expected: int
    delivered: int
    lost: int
    duplicated: int
    explained: int  # duplicates that follow a lost answer about that subject

    @property
    def unexplained(self) -> int:
        return self.duplicated - self.explained


class Census:
    """Counts a finished run (see the module documentation)."""

    def __init__(self, pipeline: Pipeline, observed: Observed) -> None:
        self.pipeline = pipeline
        self.observed = observed
        self.by_index = {post.index: post for post in pipeline.planned}
        self.post_of = {pid: self.by_index[i] for i, pid in observed.post_ids.items()}
        self.id_of_email = {
            post.email: observed.post_ids.get(post.index) for post in pipeline.planned
        }
        # the ledger names a recipient of notices by their pseudonym (an HMAC under the
        # deployment's key), which the contact items of the run carry
        self.email_of_digest = dict(observed.pseudonyms)
        self.approved = {pid for pid, post in self.post_of.items() if post.approve}
        self.pairs = self._pairs()
        self.lost = self._lost_answers()

    # -- what was expected -------------------------------------------------------------
    def _pairs(self) -> list[tuple[str, str]]:
        slots: dict[int, dict[str, str]] = {}
        for pid in self.approved:
            post = self.post_of[pid]
            slots.setdefault(post.slot, {})[post.kind.value] = pid
        return [(s["need"], s["offer"]) for s in slots.values() if len(s) == 2]

    # -- lost answers ------------------------------------------------------------------
    def _lost_answers(self) -> Counter[tuple[str, str]]:
        """(effect, subject) -> answers lost about it."""
        lost: Counter[tuple[str, str]] = Counter()
        for fault in self.pipeline.faults.lost:
            for key in self._about(fault):
                lost[key] += 1
        for text in self.pipeline.x.lost:
            lost[("tweets", _tweet_subject(text))] += 1
        return lost

    def _about(self, fault: Fault) -> Iterable[tuple[str, str]]:
        params = fault.params
        if fault.service == "sesv2" and fault.operation == "SendEmail":
            raw = params.get("Content", {}).get("Raw", {}).get("Data", b"")
            text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
            parsed = email.message_from_string(text, policy=email.policy.default)
            part = parsed.get_body(preferencelist=("plain",))
            body = part.get_content() if part is not None else ""
            for recipient in params.get("Destination", {}).get("ToAddresses", []):
                yield from self._email_keys(recipient, str(parsed["Subject"]), str(body))
        elif fault.service == "sns" and fault.operation == "Publish":
            message = json.loads(params.get("Message", "{}"))
            yield ("announcements", message.get("post_id") or message.get("activation_id", ""))
        elif fault.service == "dynamodb":
            for key in _ledger_keys(params):
                yield from self._ledger_subjects(key)

    def _ledger_subjects(self, subject: str) -> Iterable[tuple[str, str]]:
        parts = subject.split(":")
        if parts[0] == "moderation":
            post_id, version = parts[1], parts[2]
            if version == "v1":
                for moderator in self.pipeline.scenario.moderators:
                    yield ("moderation requests", f"{post_id}>{moderator}")
                yield ("awaiting notices", post_id)
            else:
                yield ("decision notices", post_id)
                yield ("announcements", post_id)
        elif parts[0] == "notice":
            address = self.email_of_digest.get(parts[1], "")
            for pair in self.pairs:
                yield ("match notices", f"{'>'.join(pair)}>{address}")
        elif parts[0] == "contact":
            yield ("contact messages", f"{parts[2]}>{parts[1]}")
        elif parts[0] == "activation":
            yield ("announcements", parts[1])
        elif parts[0] == "publish" and parts[1] == "post":
            yield ("tweets", parts[2])

    # -- what was delivered --------------------------------------------------------------
    def _email_keys(self, recipient: str, subject: str, text: str) -> Iterable[tuple[str, str]]:
        if "À modérer" in subject:
            [post_id] = set(re.findall(r"/moderation/([0-9A-Za-z_-]+)\?", text))
            yield ("moderation requests", f"{post_id}>{recipient}")
        elif "en attente de modération" in subject:
            yield ("awaiting notices", self.id_of_email.get(recipient) or recipient)
        elif "publiée" in subject or "pas été retenue" in subject:
            yield ("decision notices", self.id_of_email.get(recipient) or recipient)
        elif "près de chez vous" in subject:
            own = self.id_of_email.get(recipient) or ""
            others = set(_POST_LINK.findall(text)) | {o for o, _ in _CONTACT_LINK.findall(text)}
            for other in others - {own}:
                pair = (own, other) if self.post_of[own].kind.value == "need" else (other, own)
                yield ("match notices", f"{'>'.join(pair)}>{recipient}")
        elif "Message au sujet de votre offre" in subject:
            offer = self.id_of_email.get(recipient) or ""
            needs = set(_POST_LINK.findall(text))
            for need in needs:
                yield ("contact messages", f"{need}>{offer}")

    def delivered(self) -> dict[str, Counter[str]]:
        seen: dict[str, Counter[str]] = {}

        def add(effect: str, subject: str) -> None:
            seen.setdefault(effect, Counter())[subject] += 1

        for address, count in self.observed.contacts_per_email.items():
            for _ in range(count):
                add("posts stored", address)
        for recipient, subject, text in self.observed.emails:
            for effect, key in self._email_keys(recipient, subject, text):
                add(effect, key)
        for post_id, count in self.observed.decisions.items():
            for _ in range(count):
                add("decisions", post_id)
        for message in self.observed.announcements:
            add("announcements", message.get("post_id") or message.get("activation_id", ""))
        for text in self.observed.tweets:
            add("tweets", _tweet_subject(text))
        for need, offer in self.observed.matches:
            add("matches", f"{need}>{offer}")
        return seen

    def expected(self) -> dict[str, list[str]]:
        posts = [pid for pid in self.post_of]
        moderators = self.pipeline.scenario.moderators
        return {
            "posts stored": [post.email for post in self.pipeline.planned],
            "moderation requests": [f"{pid}>{m}" for pid in posts for m in moderators],
            "awaiting notices": posts,
            "decisions": posts,
            "decision notices": posts,
            "announcements": [*sorted(self.approved), "FAULTRUN"],
            "tweets": [*sorted(self.approved), "FAULTRUN"],
            "matches": [f"{need}>{offer}" for need, offer in self.pairs],
            "match notices": [
                f"{need}>{offer}>{self.post_of[side].email}"
                for need, offer in self.pairs
                for side in (need, offer)
            ],
            "contact messages": [f"{need}>{offer}" for need, offer in self.pairs],
        }

    def lost_subjects(self) -> list[tuple[str, str]]:
        """(effect, subject) of every effect expected and never delivered."""
        delivered = self.delivered()
        return [
            (effect, subject)
            for effect, subjects in self.expected().items()
            for subject in dict.fromkeys(subjects)
            if delivered.get(effect, Counter())[subject] == 0
        ]

    def diagnosis(self) -> list[str]:
        """Why each relay dead letter and each lost effect ended so: for a lost effect, the
        state of its posts and the ledger's record of every subject about them (or that
        none exists: the subject was never recorded); for a dead letter or a lost tweet,
        each receive of its relay messages (consumed, or failed: a receive burned, with the
        AWS calls that failed meanwhile, before or after) and the other relay messages about
        the same subject, counted."""
        pipeline, observed = self.pipeline, self.observed
        lines: list[str] = []

        def receipts(message_id: str) -> None:
            for n, receipt in enumerate(pipeline.relay_receipts.get(message_id, []), 1):
                lines.append(f"      {n}. {receipt}")

        def ledger_of(post_id: str) -> None:
            records = [
                f"    ledger {line}"
                for key, line in observed.ledger.items()
                if key.rsplit(":", 1)[-1] == post_id or f":{post_id}:" in key
            ]
            lines.extend(records or [f"    ledger: no subject about {post_id}"])

        def about(subject: str, shown: str = "") -> None:
            if shown:
                ledger_of(subject)
            others = [
                message_id
                for message_id, what in pipeline.relay_about.items()
                if what.endswith(f" {subject}") and message_id != shown
            ]
            burned = [m for m in others if any("FAILED" in r for r in pipeline.relay_receipts[m])]
            lines.append(
                f"    {len(others)} other message(s) about it, {len(burned)} with a receive burned"
            )
            if not shown:
                for message_id in burned:
                    lines.append(f"    message {message_id}:")
                    receipts(message_id)

        for message_id, what in observed.dead_letter_messages:
            received = len(pipeline.relay_receipts.get(message_id, []))
            lines.append(f"relay dead letter {message_id} ({what}), {received} receives:")
            receipts(message_id)
            about(what.rsplit(" ", 1)[-1], shown=message_id)
        for effect, subject in self.lost_subjects():
            lines.append(f"lost: {effect} {subject}")
            if effect == "match notices":
                lines.extend(self._recipient_records(subject.rsplit(">", 1)[-1]))
            for post_id in dict.fromkeys(subject.split(">")):
                if "@" in post_id:  # a recipient, not a post
                    continue
                state = observed.post_states.get(post_id, "not in the table")
                lines.append(f"    post {post_id}: {state}")
                ledger_of(post_id)
            if effect == "tweets":
                about(subject)
        return lines

    def _recipient_records(self, address: str) -> list[str]:
        """A match notice's recipient: the ledger's record of each email of theirs, and
        the notice items they still have (pending notices, send slot, due hints)."""
        observed = self.observed
        digest = next((d for d, a in observed.pseudonyms.items() if a == address), "")
        lines = [
            f"    ledger {line}"
            for key, line in observed.ledger.items()
            if key.startswith(f"notice:{digest}:")
        ] or ["    ledger: no email of notices to this recipient"]
        items = observed.notice_items.get(digest, [])
        lines += [f"    {line}" for line in items] or ["    no notice item left for them"]
        return lines

    def rows(self) -> list[Row]:
        delivered = self.delivered()
        rows = []
        for effect, subjects in self.expected().items():
            counts = delivered.get(effect, Counter())
            wanted = Counter(subjects)
            lost = sum(1 for s in wanted if counts[s] == 0)
            extra = {s: counts[s] - 1 for s in counts if counts[s] > 1}
            stray = sum(count for s, count in counts.items() if s not in wanted)
            explained = sum(min(n, self.lost[(effect, s)]) for s, n in extra.items())
            rows.append(
                Row(
                    effect=effect,
                    expected=len(wanted),
                    delivered=sum(1 for s in wanted if counts[s] > 0),
                    lost=lost,
                    duplicated=sum(extra.values()) + stray,
                    explained=explained,
                )
            )
        return rows


def _tweet_subject(text: str) -> str:
    post = _POST_LINK.search(text)
    if post:
        return post.group(1)
    activation = _ACTIVATION_LINK.search(text)
    return activation.group(1) if activation else text


def _ledger_keys(params: Mapping[str, Any]) -> Iterable[str]:
    """The ledger subjects a DynamoDB write touched (``EFFECT#<subject>`` keys)."""
    keys: list[dict[str, Any]] = []
    if "Key" in params:
        keys.append(params["Key"])
    if "Item" in params:
        keys.append(params["Item"])
    for action in params.get("TransactItems", []):
        for body in action.values():
            keys.append(body.get("Key") or body.get("Item") or {})
    for key in keys:
        pk = key.get("pk", {}).get("S", "")
        if pk.startswith("EFFECT#"):
            yield pk.removeprefix("EFFECT#")


def table(rows: list[Row]) -> str:
    """The census as a table to print."""
    lines = [
        f"{'effect':<22}{'expected':>9}{'delivered':>10}{'lost':>6}{'duplicated':>11}"
        f"{'of which after a lost answer':>30}"
    ]
    for row in rows:
        lines.append(
            f"{row.effect:<22}{row.expected:>9}{row.delivered:>10}{row.lost:>6}"
            f"{row.duplicated:>11}{row.explained:>30}"
        )
    return "\n".join(lines)
