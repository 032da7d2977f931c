"""Settings of the moderation functions (``moderate``; ``decision`` needs only links)."""

from __future__ import annotations

from pydantic import Field

from entraide.settings.shared import (
    EffectSettings,
    LinkSettings,
    MailSettings,
    PseudonymSettings,
)


class ModerationSettings(LinkSettings, MailSettings, PseudonymSettings, EffectSettings):
    """The moderate function: emails through SES, the approved-posts topic."""

    approved_topic_arn: str = Field(alias="APPROVED_TOPIC_ARN", min_length=1)
