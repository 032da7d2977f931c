"""Settings of the matching functions: ``geomatch``, ``contact``, ``public_posts``."""

from __future__ import annotations

from pydantic import Field

from entraide.settings.base import MailSettings, Settings, SigningSettings


class MatchSettings(SigningSettings, MailSettings):
    """The geomatch and contact functions: radius, grouping of the match notices."""

    match_radius_km: float = Field(default=20.0, alias="MATCH_RADIUS_KM", ge=1, le=100)
    notice_interval_minutes: int = Field(default=60, alias="NOTICE_INTERVAL_MINUTES", ge=1)
    notice_grouping_minutes: int = Field(default=0, alias="NOTICE_GROUPING_MINUTES", ge=0)


class PublicSettings(Settings):
    """The public_posts function: where the public pages live, for the JSON ``url``."""

    public_base_url: str = Field(alias="PUBLIC_BASE_URL", pattern=r"^https?://")
