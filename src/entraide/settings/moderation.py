"""Settings of the moderation functions: ``moderate``, and ``decision`` (links, and what an
approval records for matching)."""

from __future__ import annotations

from pydantic import Field

from entraide.settings.matching import MatchDueSettings
from entraide.settings.shared import (
    EffectSettings,
    LinkSettings,
    MailSettings,
    PseudonymSettings,
)


class ModerationSettings(LinkSettings, MailSettings, PseudonymSettings, EffectSettings):
    """The moderate function: emails through SES, the approved-posts topic."""

    approved_topic_arn: str = Field(alias="APPROVED_TOPIC_ARN", min_length=1)


class DecisionSettings(LinkSettings, MatchDueSettings):
    """The decision function: links, and the approval's record that the post must be
    matched (when geomatch's sweep first looks at it)."""
