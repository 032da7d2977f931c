"""Settings several groups of functions share: signed links, and email through SES."""

from __future__ import annotations

from pydantic import Field

from entraide.settings.base import Addresses, OptionalFolder, Settings
from entraide.settings.public import PublicUrlSettings


class EffectSettings(Settings):
    """How the effects ledger waits: a claim outlives its run's deadline by the margin, and a
    failed effect is retried from the base wait on, doubling. Defaults suit AWS; the fault
    bench shortens them to replay an hour of retries in seconds."""

    effect_retry_base_seconds: float = Field(default=60.0, alias="EFFECT_RETRY_BASE_SECONDS", gt=0)
    effect_retry_cap_seconds: float = Field(default=3600.0, alias="EFFECT_RETRY_CAP_SECONDS", gt=0)
    effect_lease_margin_seconds: float = Field(
        default=5.0, alias="EFFECT_LEASE_MARGIN_SECONDS", ge=0
    )
    # No effect is started with less time left in the run: an email sent after the run's
    # deadline would outlive its claim's lease.
    effect_time_seconds: float = Field(default=3.0, alias="EFFECT_TIME_SECONDS", gt=0)


class SigningSettings(Settings):
    """The key of signed links (a SecureString parameter's name) and how long links live."""

    link_signing_key_parameter: str = Field(alias="LINK_SIGNING_KEY_PARAMETER", min_length=1)
    link_ttl_hours: int = Field(default=72, alias="LINK_TTL_HOURS", gt=0, le=24 * 30)


class MailSettings(PublicUrlSettings):
    """Emails through SES: the sender, the base of links, the local stack's outbox."""

    sender_email: str = Field(alias="SENDER_EMAIL", min_length=3)
    # Local stack only: a copy of every email sent is written there.
    outbox_dir: OptionalFolder = Field(default=None, alias="OUTBOX_DIR")


class PseudonymSettings(Settings):
    """The key of the posters' pseudonyms (a SecureString parameter's name)."""

    pseudonym_key_parameter: str = Field(alias="PSEUDONYM_KEY_PARAMETER", min_length=1)


class LinkSettings(SigningSettings):
    """What signing and checking moderation links needs."""

    moderator_emails: Addresses = Field(alias="MODERATOR_EMAILS", min_length=1)


class PersonalDataSettings(SigningSettings, MailSettings, PseudonymSettings):
    """The personal_data function: the privacy page, "my posts", erasure on request."""

    # the relay's queue: an erasure asks it to take the person's posts down from X
    relay_queue_url: str = Field(alias="RELAY_QUEUE_URL", min_length=1)
    # stated on the privacy page (template parameters)
    backup_retention_days: int = Field(alias="BACKUP_RETENTION_DAYS", ge=1, le=35)
    log_retention_days: int = Field(alias="LOG_RETENTION_DAYS", ge=1)
    aws_region: str = Field(default="", alias="AWS_REGION")
