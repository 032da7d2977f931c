"""Builds the moderation services from validated settings: the one place adapters meet.

Nothing here does I/O when called: clients and the signing key are fetched on first use.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from entraide.announce import ApprovedTopic
from entraide.mail import Mailer
from entraide.moderation import LinkBook, ModerationDesk, ModerationEffects
from entraide.settings import LinkSettings, ModerationSettings
from entraide.signing import LinkSigner
from entraide.store import EntraideTable

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
