"""Settings of the publishing functions: ``relay``, and ``snapshot``'s accounts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from entraide.settings.base import OptionalFolder, Settings
from entraide.settings.shared import EffectSettings

if TYPE_CHECKING:
    from entraide.publishing.quota import QuotaLimits


class ChannelAccounts(Settings):
    """The channels' accounts, as the relay posts with them and the snapshot reads them:
    credentials (empty: a dry run, nothing read), X's tier and money budget."""

    # Name or ARN of a Secrets Manager secret holding the X user-context keys (JSON);
    # empty: dry run, tweets written to the outbox and the log, nothing sent to X.
    x_credentials_secret: str = Field(default="", alias="X_CREDENTIALS_SECRET")
    x_quota: str = Field(default="basic", alias="X_QUOTA")
    # X paid per use: dollars a month (0: none, the tier of X_QUOTA alone), paced, a share
    # kept for activations (entraide.publishing.x_prices).
    x_monthly_budget_usd: float = Field(default=0, alias="X_MONTHLY_BUDGET_USD", ge=0)
    # The channels announced on (X always first); each without its secret is a dry run.
    relay_channels: str = Field(default="x,bluesky,mastodon", alias="RELAY_CHANNELS")
    # {"handle": …, "app_password": …, "service": "https://bsky.social"}
    bluesky_credentials_secret: str = Field(default="", alias="BLUESKY_CREDENTIALS_SECRET")
    # {"api_base_url": "https://…", "access_token": …}
    mastodon_credentials_secret: str = Field(default="", alias="MASTODON_CREDENTIALS_SECRET")
    # The instance's configuration.statuses.max_characters (GET /api/v2/instance).
    mastodon_max_characters: int = Field(default=500, alias="MASTODON_MAX_CHARACTERS", gt=0)

    @field_validator("relay_channels")
    @classmethod
    def _valid_channels(cls, value: str) -> str:
        from entraide.publishing.channels import X, parse_channels

        if X not in parse_channels(value):
            raise ValueError("X is always a channel (a dry run without its credentials).")
        return value

    @field_validator("x_quota")
    @classmethod
    def _valid_quota(cls, value: str) -> str:
        from entraide.publishing.quota import QuotaLimits

        QuotaLimits.parse(value)  # a typo in the tier fails at cold start
        return value

    def x_limits(self) -> QuotaLimits:
        """X's tier, with the monthly money budget when one is set."""
        from entraide.publishing.quota import QuotaLimits

        limits = QuotaLimits.parse(self.x_quota)
        if self.x_monthly_budget_usd:
            return limits.model_copy(update={"usd_per_month": self.x_monthly_budget_usd})
        return limits


class RelaySettings(EffectSettings, ChannelAccounts):
    """The relay function: the accounts (empty: dry run), quotas, where deferrals go."""

    # The kinds of message whose tweet carries its link (post, digest, activation); the
    # others name their reference and the site in plain text ($0.015 instead of $0.200).
    x_links: str = Field(default="post,digest,activation", alias="X_LINKS")
    public_base_url: str = Field(alias="PUBLIC_BASE_URL", pattern=r"^https?://")
    relay_queue_url: str = Field(alias="RELAY_QUEUE_URL", min_length=1)
    relay_dead_letter_queue_url: str = Field(alias="RELAY_DLQ_URL", min_length=1)
    outbox_dir: OptionalFolder = Field(default=None, alias="OUTBOX_DIR")
    digest_threshold: int = Field(default=10, alias="RELAY_DIGEST_THRESHOLD", gt=0)
    # The first wait after X fails, doubling up to SQS's 15 minutes (a message's attempts).
    relay_retry_base_seconds: float = Field(default=30.0, alias="RELAY_RETRY_BASE_SECONDS", gt=0)
    relay_retry_cap_seconds: float = Field(
        default=900.0, alias="RELAY_RETRY_CAP_SECONDS", gt=0, le=900
    )
    # A record is started only with this much time left: one call to X may take the
    # poster's whole timeout (5 s to connect, 20 s to read: entraide.publishing.xapi
    # .DEFAULT_TIMEOUT), plus the table's writes around it.
    relay_record_seconds: float = Field(default=28.0, alias="RELAY_RECORD_SECONDS", gt=0)
    # Bluesky: 5,000 points an hour, 35,000 a day, 3 a post (docs.bsky.app "Rate Limits"):
    # 1,666 an hour (416 per 15 minutes, sliding) and 11,666 a day.
    bluesky_quota: str = Field(default="per_15min=416,per_24h=11666", alias="BLUESKY_QUOTA")
    # Mastodon: 300 statuses per 3 hours per account (docs.joinmastodon.org "Rate limits"):
    # 25 per 15 minutes never exceeds it in any 3 hours.
    mastodon_quota: str = Field(default="per_15min=25,per_24h=2400", alias="MASTODON_QUOTA")

    @field_validator("x_links")
    @classmethod
    def _valid_links(cls, value: str) -> str:
        kinds = {part.strip() for part in value.split(",") if part.strip()}
        unknown = kinds - {"post", "digest", "activation"}
        if unknown:
            raise ValueError(f"Unknown kinds of message in X_LINKS: {sorted(unknown)}.")
        return value

    def x_link_kinds(self) -> frozenset[str]:
        return frozenset(part.strip() for part in self.x_links.split(",") if part.strip())

    @field_validator("bluesky_quota", "mastodon_quota")
    @classmethod
    def _valid_limits(cls, value: str) -> str:
        from entraide.publishing.quota import QuotaLimits

        QuotaLimits.parse(value)
        return value


class SnapshotSettings(ChannelAccounts):
    """The daily snapshot of each channel's followers and message metrics (nothing read
    where a channel has no credentials); X's reads are paid from X's money budget."""
