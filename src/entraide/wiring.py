"""Builds the moderation services from validated settings: the one place adapters meet.

Nothing here does I/O when called: clients and the signing key are fetched on first use.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from entraide.announce import ApprovedTopic
from entraide.mail import Mailer
from entraide.moderation import LinkBook, ModerationDesk, ModerationEffects
from entraide.settings import LinkSettings, ModerationSettings, RelaySettings
from entraide.signing import LinkSigner
from entraide.store import EntraideTable

if TYPE_CHECKING:
    from entraide.relay import Relay

# Secrets are cached this long by powertools parameters: a rotated key is picked up
# within five minutes without a cold start.
SECRET_MAX_AGE_SECONDS = 300


def link_book(settings: LinkSettings, public_base_url: str = "") -> LinkBook:
    ttl = timedelta(hours=settings.link_ttl_hours)

    @functools.cache
    def secrets() -> Any:
        # A provider of our own rather than powertools' process-wide default, so that its
        # client follows this function's environment (one process runs every function
        # in the local stack and in tests).
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        return SecretsProvider()

    def signer() -> LinkSigner:
        key = secrets().get(settings.link_signing_secret, max_age=SECRET_MAX_AGE_SECONDS)
        return LinkSigner(str(key).encode("utf-8"), ttl=ttl)

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


def relay_service(settings: RelaySettings, table: EntraideTable) -> Relay:
    from aws_lambda_powertools.metrics import MetricUnit

    from entraide.observability import metrics
    from entraide.quota import DynamoDBBudget, QuotaLimits
    from entraide.relay import Relay
    from entraide.relay_store import DynamoDBRelayStore
    from entraide.xapi import DryRunPoster, TweepyPoster, XCredentials, XPoster

    poster: XPoster
    if settings.x_credentials_secret:
        secret_id = settings.x_credentials_secret

        @functools.cache
        def secrets() -> Any:
            from aws_lambda_powertools.utilities.parameters import SecretsProvider

            return SecretsProvider()

        def credentials() -> XCredentials:
            text = secrets().get(secret_id, max_age=SECRET_MAX_AGE_SECONDS)
            return XCredentials.from_secret_string(str(text))

        poster = TweepyPoster(credentials)
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
