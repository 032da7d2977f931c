"""Settings of the matching functions that write to people: ``geomatch`` and ``contact``."""

from __future__ import annotations

from pydantic import Field

from entraide.settings.shared import EffectSettings, MailSettings, SigningSettings


class MatchSettings(SigningSettings, MailSettings, EffectSettings):
    """The geomatch and contact functions: radius, grouping of the match notices."""

    match_radius_km: float = Field(default=20.0, alias="MATCH_RADIUS_KM", ge=1, le=100)
    notice_interval_minutes: int = Field(default=60, alias="NOTICE_INTERVAL_MINUTES", ge=1)
    notice_grouping_minutes: int = Field(default=0, alias="NOTICE_GROUPING_MINUTES", ge=0)
