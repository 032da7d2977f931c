"""The watch's digest email, in French: per network, the candidates with their score, why,
and the signed *Relayer* / *Ignorer* links (a confirmation page each).

The texts are public posts of other people: shown as they are, escaped in the HTML, with any
address or phone number masked as the platform's own public texts are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from entraide.adapters.mail import EmailMessage
from entraide.privacy.detection import mask_public_text
from entraide.watch.digest import Digest
from entraide.web.emails import link, one_line, render_pair

TAG_WATCH_DIGEST: Final = "watch-digest"
GROUP_LABELS: Final = {
    "x": "Sur X",
    "bluesky": "Sur Bluesky",
    "mastodon": "Sur Mastodon",
    None: "Sites institutionnels",
}


@dataclass(frozen=True, slots=True)
class _CandidateView:
    author: str
    text: str
    url: str
    score: int
    why: str
    duplicates: int
    relay_url: str | None
    ignore_url: str | None


@dataclass(frozen=True, slots=True)
class _GroupView:
    label: str
    items: tuple[_CandidateView, ...]


def digest_subject_line(digest: Digest) -> str:
    day, hour = digest.slot.split("T")
    return f"Veille ShareEntraide du {day[8:10]}/{day[5:7]} à {int(hour)} h"


def digest_email(digest: Digest, *, privacy_url: str) -> EmailMessage:
    groups = tuple(
        _GroupView(
            GROUP_LABELS[network],
            tuple(
                _CandidateView(
                    author=candidate.scored.item.author,
                    text=one_line(mask_public_text(candidate.scored.item.text)),
                    url=link(candidate.scored.item.url),
                    score=candidate.scored.score,
                    why=candidate.scored.why(),
                    duplicates=len(candidate.scored.duplicates),
                    relay_url=candidate.relay_url,
                    ignore_url=candidate.ignore_url,
                )
                for candidate in candidates
            ),
        )
        for network, candidates in digest.groups
    )
    subject = digest_subject_line(digest)
    text, html = render_pair(
        "watch_digest", subject=subject, groups=groups, privacy_url=privacy_url
    )
    links = tuple(
        (f"{label} {item.author}", url)
        for group in groups
        for item in group.items
        for label, url in (("Relayer", item.relay_url), ("Ignorer", item.ignore_url))
        if url
    )
    return EmailMessage(
        to=(digest.recipient,),
        subject=subject,
        text=text,
        html=html,
        links=links,
        tag=TAG_WATCH_DIGEST,
    )
