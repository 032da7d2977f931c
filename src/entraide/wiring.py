"""Builds each function's services from its validated settings: the one place rooms meet.

Capabilities never import presentation: here the emails of :mod:`entraide.web` are handed
to the capabilities that send them, and each data-access module gets the table.
Nothing here does I/O when called: clients and the signing key are fetched on first use;
what only some functions need is imported when they build it (cold start).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from entraide.adapters.secrets import key_reader, secret_reader

if TYPE_CHECKING:  # each function imports its own settings: a pydantic model costs cold start
    from entraide.adapters.mail import EmailMessage
    from entraide.adapters.queue import Queue
    from entraide.adapters.table import Table
    from entraide.effects.ledger import Ledger
    from entraide.intake.post_store import PostStore
    from entraide.matching.contact import ContactDesk
    from entraide.matching.contact_links import ContactLinks
    from entraide.matching.notices import NoticeBook
    from entraide.moderation.desk import ModerationDesk
    from entraide.moderation.effects import ModerationEffects, ModerationEmails
    from entraide.moderation.links import LinkBook
    from entraide.moderation.signing import LinkSigner
    from entraide.privacy.erasure import Erasure
    from entraide.privacy.my_posts import MyPostsDesk
    from entraide.privacy.pseudonyms import Pseudonyms
    from entraide.publishing.xapi import XCredentials
    from entraide.settings.matching import MatchSettings
    from entraide.settings.moderation import DecisionSettings, ModerationSettings
    from entraide.settings.shared import (
        EffectSettings,
        LinkSettings,
        PersonalDataSettings,
        PseudonymSettings,
        SigningSettings,
    )


def count_metric(name: str, value: float) -> None:
    """A count added to the invocation's metrics (namespace ShareEntraide), when not zero."""
    from entraide.observability import count

    count(name, value)


def effect_ledger(settings: EffectSettings, table: Table) -> Ledger:
    """The effects ledger of a function, in the table, its counts as metrics."""
    from entraide.effects.ledger import Ledger
    from entraide.effects.ledger_store import DynamoDBLedgerStore

    return Ledger(
        DynamoDBLedgerStore(table),
        lease_margin=timedelta(seconds=settings.effect_lease_margin_seconds),
        effect_time=timedelta(seconds=settings.effect_time_seconds),
        retry_base=timedelta(seconds=settings.effect_retry_base_seconds),
        retry_cap=timedelta(seconds=settings.effect_retry_cap_seconds),
        metric=count_metric,
    )


def pseudonyms(settings: PseudonymSettings) -> Pseudonyms:
    """The posters' pseudonyms, keyed by their parameter (read on first use, cached five
    minutes)."""
    from entraide.privacy.pseudonyms import Pseudonyms, keys_from_secret

    read = key_reader()
    return Pseudonyms(lambda: keys_from_secret(read(settings.pseudonym_key_parameter)))


def link_signer(settings: SigningSettings, ttl: timedelta) -> Callable[[], LinkSigner]:
    from entraide.moderation.signing import LinkSigner

    read = key_reader()

    def signer() -> LinkSigner:
        return LinkSigner(read(settings.link_signing_key_parameter).encode("utf-8"), ttl=ttl)

    return signer


def link_book(settings: LinkSettings, public_base_url: str = "") -> LinkBook:
    from entraide.moderation.links import LinkBook

    signer = link_signer(settings, timedelta(hours=settings.link_ttl_hours))
    return LinkBook(
        signer=signer, moderators=settings.moderator_emails, public_base_url=public_base_url
    )


def moderation_effects(settings: ModerationSettings, table: Table) -> ModerationEffects:
    from entraide.activation.activation_store import ActivationStore
    from entraide.adapters.mail import Mailer
    from entraide.intake.post_store import PostStore
    from entraide.moderation.announce import ApprovedTopic
    from entraide.moderation.effects import ModerationEffects

    def emails() -> ModerationEmails:
        # on the first email: Jinja2's helpers, départements
        from entraide.web.emails import ModerationMails, privacy_url

        return ModerationMails(privacy_url(settings.public_base_url))

    return ModerationEffects(
        store=PostStore(table, pseudonyms=pseudonyms(settings)),
        activations=ActivationStore(table),
        mailer=Mailer(settings.sender_email, outbox_dir=settings.outbox_dir),
        emails=emails,
        announcer=ApprovedTopic(settings.approved_topic_arn),
        links=link_book(settings, settings.public_base_url),
        link_ttl_hours=settings.link_ttl_hours,
    )


def moderation_desk(settings: DecisionSettings, table: Table) -> ModerationDesk:
    """The decision's desk; an approval records, in its transaction, that geomatch's sweep
    must match the post once its delay is over."""
    from entraide.activation.activation_store import ActivationStore
    from entraide.intake.post_store import PostStore
    from entraide.matching.counterparts import match_due_writes
    from entraide.moderation.desk import ModerationDesk

    return ModerationDesk(
        store=PostStore(table, retention=settings.retention()),
        links=link_book(settings),
        activations=ActivationStore(table),
        approval_writes=match_due_writes(timedelta(seconds=settings.match_delay_seconds)),
    )


# Where dry-run tweets go in AWS when no outbox is set: the log keeps them (printed).
DRY_RUN_OUTBOX = Path("/tmp/outbox")  # noqa: S108 - Lambda's only writable folder


def secret_loader[T](secret_id: str, parse: Callable[[str], T]) -> Callable[[], T]:
    """Loads a network's credentials from Secrets Manager (cached five minutes)."""
    read = secret_reader()

    def load() -> T:
        return parse(read(secret_id))

    return load


def x_credentials(secret_id: str) -> Callable[[], XCredentials]:
    """Loads the X user-context keys from Secrets Manager (cached five minutes)."""
    from entraide.publishing.xapi import XCredentials

    return secret_loader(secret_id, XCredentials.from_secret_string)


def contact_links(settings: MatchSettings) -> ContactLinks:
    from entraide.matching.contact_links import CONTACT_LINK_TTL, ContactLinks

    return ContactLinks(
        signer=link_signer(settings, CONTACT_LINK_TTL), public_base_url=settings.public_base_url
    )


def notice_book(settings: MatchSettings, table: Table) -> NoticeBook:
    from entraide.adapters.mail import Mailer
    from entraide.intake.post_store import PostStore
    from entraide.matching.notice_store import NoticeStore
    from entraide.matching.notices import NoticeBook

    links = contact_links(settings)

    def compose(**notice: Any) -> EmailMessage:
        # on the first email (cold start)
        from entraide.web.emails import privacy_url
        from entraide.web.match_emails import match_notice

        return match_notice(**notice, links=links, privacy_url=privacy_url(links.base_url))

    return NoticeBook(
        NoticeStore(table, memory=settings.retention().after_end),
        PostStore(table),
        Mailer(settings.sender_email, outbox_dir=settings.outbox_dir),
        compose,
        ledger=effect_ledger(settings, table),
        min_interval=timedelta(minutes=settings.notice_interval_minutes),
        grouping_delay=timedelta(minutes=settings.notice_grouping_minutes),
    )


def contact_desk(settings: MatchSettings, table: Table) -> ContactDesk:
    from entraide.adapters.mail import ContactMailer
    from entraide.intake.post_store import PostStore
    from entraide.matching.contact import ContactDesk
    from entraide.matching.slot_store import SlotStore

    links = contact_links(settings)

    def compose(**message: Any) -> EmailMessage:
        # on the first message; the base of links is the request's (see functions/contact)
        from entraide.web.emails import privacy_url
        from entraide.web.match_emails import contact_message

        return contact_message(**message, privacy_url=privacy_url(links.base_url))

    return ContactDesk(
        posts=PostStore(table),
        slots=SlotStore(table),
        mailer=ContactMailer(settings.sender_email, outbox_dir=settings.outbox_dir),
        compose=compose,
        links=links,
        ledger=effect_ledger(settings, table),
    )


def erasure(
    posts: PostStore, table: Table, relay_queue: Queue, *, now: Callable[[], datetime]
) -> Erasure:
    """Erasure on request over the table: the posts' store given (with its pseudonyms), the
    person's notices, and the relay's queue to take their posts down from X."""
    from entraide.matching.notice_store import NoticeStore
    from entraide.privacy.erasure import Erasure
    from entraide.publishing.retraction import RetractionQueue

    return Erasure(posts, NoticeStore(table), RetractionQueue(relay_queue), now=now)


def my_posts_desk(settings: PersonalDataSettings, table: Table) -> MyPostsDesk:
    from entraide.adapters.mail import Mailer
    from entraide.adapters.queue import Queue
    from entraide.intake.post_store import PostStore
    from entraide.moderation.links import MY_POSTS_LINK_TTL, MyPostsLinks
    from entraide.privacy.my_posts import MyPostsDesk

    keys = pseudonyms(settings)
    posts = PostStore(table, pseudonyms=keys, retention=settings.retention())
    links = MyPostsLinks(
        signer=link_signer(settings, MY_POSTS_LINK_TTL), public_base_url=settings.public_base_url
    )

    def compose(**message: Any) -> EmailMessage:
        # on the first email; the base of links is the request's (see functions/personal_data)
        from entraide.web.emails import privacy_url
        from entraide.web.privacy_pages import my_posts_email

        return my_posts_email(**message, privacy_url=privacy_url(links.base_url))

    def now() -> datetime:
        return datetime.now(UTC)

    return MyPostsDesk(
        posts=posts,
        pseudonyms=keys,
        links=links,
        mailer=Mailer(settings.sender_email, outbox_dir=settings.outbox_dir),
        compose=compose,
        erasure=erasure(posts, table, Queue(settings.relay_queue_url), now=now),
        now=now,
    )
