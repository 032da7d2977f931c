"""Settings of a function, validated once at cold start from its environment.

Handlers build a :class:`Settings` from ``os.environ``; the domain only ever sees
the validated object.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    stage: str = Field(default="prod", alias="STAGE")
    # API Gateway accepts 10 MB; a post is a few KB, so anything over this is refused (413).
    max_body_bytes: int = Field(default=64 * 1024, alias="MAX_BODY_BYTES", gt=0)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Self:
        return cls.model_validate(dict(environ))


class SigningSettings(Settings):
    """The key of signed links (a Secrets Manager secret) and how long links live."""

    link_signing_secret: str = Field(alias="LINK_SIGNING_SECRET", min_length=1)
    link_ttl_hours: int = Field(default=72, alias="LINK_TTL_HOURS", gt=0, le=24 * 30)


class PublicUrlSettings(Settings):
    """The base of the links to the public pages."""

    # Empty only for an API function without a custom domain: the template cannot give it
    # its own API's URL (a circular reference); it takes it from the request instead
    # (entraide.api.public_base_url).
    public_base_url: str = Field(default="", alias="PUBLIC_BASE_URL", pattern=r"^(https?://.*)?$")


class MailSettings(PublicUrlSettings):
    """Emails through SES: the sender, the base of links, the local stack's outbox."""

    sender_email: str = Field(alias="SENDER_EMAIL", min_length=3)
    # Local stack only: a copy of every email sent is written there.
    outbox_dir: Path | None = Field(default=None, alias="OUTBOX_DIR")

    @field_validator("outbox_dir", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return value or None


class LinkSettings(SigningSettings):
    """What signing and checking moderation links needs."""

    moderator_emails: tuple[str, ...] = Field(alias="MODERATOR_EMAILS", min_length=1)

    @field_validator("moderator_emails", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        # CloudFormation passes a CommaDelimitedList as "a@x,b@y"
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value


class ModerationSettings(LinkSettings, MailSettings):
    """The moderate function: emails through SES, the approved-posts topic."""

    approved_topic_arn: str = Field(alias="APPROVED_TOPIC_ARN", min_length=1)


class MatchSettings(SigningSettings, MailSettings):
    """The geomatch and contact functions: radius, grouping of the match notices."""

    match_radius_km: float = Field(default=20.0, alias="MATCH_RADIUS_KM", ge=1, le=100)
    notice_interval_minutes: int = Field(default=60, alias="NOTICE_INTERVAL_MINUTES", ge=1)
    notice_grouping_minutes: int = Field(default=0, alias="NOTICE_GROUPING_MINUTES", ge=0)


class ActivationEventsSettings(Settings):
    """The activation_events function: the topic of activations opened or closed."""

    activation_events_topic_arn: str = Field(alias="ACTIVATION_EVENTS_TOPIC_ARN", min_length=1)


class ActivateSettings(Settings):
    """The activate function: which alert sources to read (a JSON list)."""

    alert_sources: str = Field(alias="ALERT_SOURCES", min_length=2)

    @field_validator("alert_sources")
    @classmethod
    def _valid_sources(cls, value: str) -> str:
        from entraide.alerts.sources import parse_source_configs

        parse_source_configs(value)  # refuse a bad list at cold start, not at 3 a.m.
        return value


class RelaySettings(Settings):
    """The relay function: X credentials (empty: dry run), quota, where deferrals go."""

    # Name or ARN of a Secrets Manager secret holding the X user-context keys (JSON);
    # empty: dry run, tweets written to the outbox and the log, nothing sent to X.
    x_credentials_secret: str = Field(default="", alias="X_CREDENTIALS_SECRET")
    x_quota: str = Field(default="basic", alias="X_QUOTA")
    public_base_url: str = Field(alias="PUBLIC_BASE_URL", pattern=r"^https?://")
    relay_queue_url: str = Field(alias="RELAY_QUEUE_URL", min_length=1)
    relay_dead_letter_queue_url: str = Field(alias="RELAY_DLQ_URL", min_length=1)
    outbox_dir: Path | None = Field(default=None, alias="OUTBOX_DIR")
    digest_threshold: int = Field(default=10, alias="RELAY_DIGEST_THRESHOLD", gt=0)

    @field_validator("outbox_dir", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return value or None

    @field_validator("x_quota")
    @classmethod
    def _valid_quota(cls, value: str) -> str:
        from entraide.quota import QuotaLimits

        QuotaLimits.parse(value)  # a typo in the tier fails at cold start
        return value


class ReportSettings(MailSettings):
    """The monthly report: where the files go and who gets the link."""

    reports_bucket: str = Field(alias="REPORTS_BUCKET", min_length=3)
    report_recipients: tuple[str, ...] = Field(alias="REPORT_RECIPIENTS", min_length=1)

    @field_validator("report_recipients", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value


class SnapshotSettings(Settings):
    """The daily snapshot of followers and tweet metrics (nothing without X credentials)."""

    x_credentials_secret: str = Field(default="", alias="X_CREDENTIALS_SECRET")
