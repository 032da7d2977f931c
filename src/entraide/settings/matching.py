"""Settings of the matching functions that write to people: ``geomatch`` and ``contact``."""

from __future__ import annotations

from pydantic import Field

from entraide.settings.base import Settings
from entraide.settings.shared import EffectSettings, MailSettings, SigningSettings


class MatchDueSettings(Settings):
    """When geomatch's sweep first looks at a post just approved (the approval records it,
    see entraide.matching.counterparts).

    Reads of a global secondary index are eventually consistent: "changes to the table
    data are propagated to the global secondary indexes within a fraction of a second,
    under normal conditions" (DynamoDB developer guide, "Read consistency for global
    secondary indexes"); AWS's knowledge centre ("DynamoDB missing table items in GSI")
    says within a second. A minute covers the abnormal conditions, so that two
    counterparts approved about the same time see each other in the ``by_cell`` index.
    The fault run compresses it with the rest of time."""

    match_delay_seconds: float = Field(default=60.0, alias="MATCH_DELAY_SECONDS", gt=0)


class MatchSettings(SigningSettings, MailSettings, EffectSettings, MatchDueSettings):
    """The geomatch and contact functions: radius, grouping of the match notices."""

    match_radius_km: float = Field(default=20.0, alias="MATCH_RADIUS_KM", ge=1, le=100)
    notice_interval_minutes: int = Field(default=60, alias="NOTICE_INTERVAL_MINUTES", ge=1)
    notice_grouping_minutes: int = Field(default=0, alias="NOTICE_GROUPING_MINUTES", ge=0)
