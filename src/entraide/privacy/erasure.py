"""Erasure on request: everything the platform holds about a person, gone at once.

A person is named by the pseudonyms of their address (:mod:`.pseudonyms`: one per key,
so that records written before a key's rotation are found too). :meth:`Erasure.erase`:

1. withdraws their posts still waiting or public (a post is never erased under a reader:
   it first leaves every search, and its announcements are taken down, see 3.);
2. asks every channel to take down each post that was ever public (X today: the post's
   own tweet; a digest names no post and stays);
3. deletes their contact items, their history and "links sent" record, their match
   notices (pending, sent slot, replay guards, due hints), and blanks the text of their
   posts, which keep only what the monthly figures count (kind, category, place, dates).

Each step is safe to repeat: a second erasure finds nothing left and says so. The page
of ``functions/personal_data`` (the person, from a signed link sent to their address) and
the operators' command ``entraide privacy erase --email …`` (a request by letter or
phone) run the same :class:`Erasure`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from entraide.kernel.errors import ConcurrentChange
from entraide.kernel.model import Post, PostStatus

#: Who withdrew a post on its author's erasure request, as recorded on the post.
WITHDRAWN_BY_ERASURE = "erasure"
#: A post still waiting or public.
OPEN = (PostStatus.PENDING, PostStatus.APPROVED)
_ATTEMPTS = 3


class PersonalPosts(Protocol):
    """A person's posts and personal items (a :class:`~entraide.intake.post_store.PostStore`)."""

    def posts_of(self, pseudonyms: Sequence[str]) -> list[Post]: ...

    def end_each(
        self, posts: Sequence[Post], to_status: PostStatus, *, at: datetime, by: str
    ) -> list[Post]: ...

    def erase(self, posts: Sequence[Post], pseudonyms: Sequence[str], *, at: datetime) -> int: ...


class NoticeRecipients(Protocol):
    """Match notices by recipient (a :class:`~entraide.matching.notice_store.NoticeStore`)."""

    def forget_recipients(self, digests: Iterable[str]) -> int: ...


class Retractions(Protocol):
    """Asks every channel to take posts down
    (:class:`~entraide.publishing.retraction.RetractionQueue`)."""

    def request(self, post_ids: Sequence[str]) -> None: ...


@dataclass(frozen=True, slots=True)
class ErasureReport:
    """What an erasure found and did."""

    posts: tuple[str, ...]  # the person's posts (their ids)
    withdrawn: tuple[str, ...]  # those that were waiting or public
    retracted: tuple[str, ...]  # those whose announcements were asked down
    personal_items: int  # contact, history and "links sent" items deleted
    notice_items: int  # match-notice items deleted

    @property
    def nothing_found(self) -> bool:
        return not self.posts and not self.personal_items and not self.notice_items


def was_public(post: Post) -> bool:
    """Whether a post ever was public (approved, then withdrawn or expired)."""
    return post.decided_at is not None and post.status is not PostStatus.REJECTED


class Erasure:
    """Erases a person's data; see the module."""

    def __init__(
        self,
        posts: PersonalPosts,
        notices: NoticeRecipients,
        retractions: Retractions,
        *,
        now: Callable[[], datetime],
    ) -> None:
        self.posts = posts
        self.notices = notices
        self.retractions = retractions
        self.now = now

    def erase(self, pseudonyms: Sequence[str]) -> ErasureReport:
        at = self.now()
        posts = self.posts.posts_of(pseudonyms)
        withdrawn: list[str] = []
        for _ in range(_ATTEMPTS):
            still_open = [post for post in posts if post.status in OPEN]
            if not still_open:
                break
            ended = self.posts.end_each(
                still_open, PostStatus.WITHDRAWN, at=at, by=WITHDRAWN_BY_ERASURE
            )
            withdrawn += [post.id for post in ended]
            posts = self.posts.posts_of(pseudonyms)  # a moderator may have decided meanwhile
        if any(post.status in OPEN for post in posts):
            raise ConcurrentChange("Une annonce change encore ; réessayez dans un instant.")
        retracted = [post.id for post in posts if was_public(post)]
        self.retractions.request(retracted)
        personal = self.posts.erase(posts, pseudonyms, at=at)
        notices = self.notices.forget_recipients(pseudonyms)
        return ErasureReport(
            posts=tuple(post.id for post in posts),
            withdrawn=tuple(withdrawn),
            retracted=tuple(retracted),
            personal_items=personal,
            notice_items=notices,
        )
