"""Builds the moderation services from validated settings: the one place adapters meet.

Nothing here does I/O when called: clients and the signing key are fetched on first use.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from entraide.announce import ApprovedTopic
from entraide.mail import Mailer
from entraide.moderation import LinkBook, ModerationDesk, ModerationEffects
from entraide.settings import (
    LinkSettings,
    MatchSettings,
    ModerationSettings,
    RelaySettings,
    SigningSettings,
    SnapshotSettings,
)
from entraide.signing import LinkSigner
from entraide.store import EntraideTable

if TYPE_CHECKING:
    from entraide.contact import ContactDesk, ContactLinks
    from entraide.notices import NoticeBook
    from entraide.relay import Relay
    from entraide.snapshots import XReader
    from entraide.xapi import XCredentials

# Secrets are cached this long by powertools parameters: a rotated key is picked up
# within five minutes without a cold start.
SECRET_MAX_AGE_SECONDS = 300


def secret_reader() -> Callable[[str], str]:
    """Reads a Secrets Manager secret through powertools, cached five minutes.

    A provider of our own rather than powertools' process-wide default, so that its client
    follows this function's environment (one process runs every function in the local
    stack and in tests). Built on first read.
    """

    @functools.cache
    def provider() -> Any:
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        return SecretsProvider()

    def read(secret_id: str) -> str:
        return str(provider().get(secret_id, max_age=SECRET_MAX_AGE_SECONDS))

    return read


def link_signer(settings: SigningSettings, ttl: timedelta) -> Callable[[], LinkSigner]:
    read = secret_reader()

    def signer() -> LinkSigner:
        return LinkSigner(read(settings.link_signing_secret).encode("utf-8"), ttl=ttl)

    return signer


def link_book(settings: LinkSettings, public_base_url: str = "") -> LinkBook:
    signer = link_signer(settings, timedelta(hours=settings.link_ttl_hours))
    return LinkBook(
        signer=signer, moderators=settings.moderator_emails, public_base_url=public_base_url
    )


def moderation_effects(settings: ModerationSettings, table: EntraideTable) -> ModerationEffects:
    return ModerationEffects(
        store=table,
        mailer=Mailer(settings.sender_email, outbox_dir=settings.outbox_dir),
        announcer=ApprovedTopic(settings.approved_topic_arn),
        links=link_book(settings, settings.public_base_url),
        link_ttl_hours=settings.link_ttl_hours,
    )


def moderation_desk(settings: LinkSettings, table: EntraideTable) -> ModerationDesk:
    return ModerationDesk(store=table, links=link_book(settings))


# Where dry-run tweets go in AWS when no outbox is set: the log keeps them (printed).
DRY_RUN_OUTBOX = Path("/tmp/outbox")  # noqa: S108 - Lambda's only writable folder


def x_credentials(secret_id: str) -> Callable[[], XCredentials]:
    """Loads the X user-context keys from Secrets Manager (cached five minutes)."""
    from entraide.xapi import XCredentials

    read = secret_reader()

    def load() -> XCredentials:
        return XCredentials.from_secret_string(read(secret_id))

    return load


def relay_service(settings: RelaySettings, table: EntraideTable) -> Relay:
    from aws_lambda_powertools.metrics import MetricUnit

    from entraide.observability import metrics
    from entraide.quota import DynamoDBBudget, QuotaLimits
    from entraide.relay import Relay
    from entraide.relay_store import DynamoDBRelayStore
    from entraide.xapi import DryRunPoster, TweepyPoster, XPoster

    poster: XPoster
    if settings.x_credentials_secret:
        poster = TweepyPoster(x_credentials(settings.x_credentials_secret))
    else:
        poster = DryRunPoster(settings.outbox_dir or DRY_RUN_OUTBOX)

    def metric(name: str, value: float) -> None:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    return Relay(
        DynamoDBRelayStore(table),
        DynamoDBBudget(table, QuotaLimits.parse(settings.x_quota)),
        poster,
        clock=lambda: datetime.now(UTC),
        public_base_url=settings.public_base_url,
        load_post=table.get_post,
        load_activation=table.get_activation,
        digest_threshold=settings.digest_threshold,
        metric=metric,
    )


def contact_links(settings: MatchSettings) -> ContactLinks:
    from entraide.contact import CONTACT_LINK_TTL, ContactLinks

    return ContactLinks(
        signer=link_signer(settings, CONTACT_LINK_TTL), public_base_url=settings.public_base_url
    )


def notice_book(settings: MatchSettings, table: EntraideTable) -> NoticeBook:
    from entraide.notices import NoticeBook

    return NoticeBook(
        table,
        Mailer(settings.sender_email, outbox_dir=settings.outbox_dir),
        contact_links(settings),
        min_interval=timedelta(minutes=settings.notice_interval_minutes),
        grouping_delay=timedelta(minutes=settings.notice_grouping_minutes),
    )


def contact_desk(settings: MatchSettings, table: EntraideTable) -> ContactDesk:
    from entraide.contact import ContactDesk, ContactMailer

    return ContactDesk(
        table=table,
        mailer=ContactMailer(settings.sender_email, outbox_dir=settings.outbox_dir),
        links=contact_links(settings),
    )


def x_reader(settings: SnapshotSettings) -> XReader | None:
    """The X reader of the daily snapshot, or None without credentials (nothing recorded)."""
    if not settings.x_credentials_secret:
        return None
    from entraide.snapshots import TweepyReader

    return TweepyReader(x_credentials(settings.x_credentials_secret))
