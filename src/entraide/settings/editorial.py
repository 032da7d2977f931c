"""Settings of the ``editorial`` function: the relay queue it feeds, the rhythm, and the
operators' weekly email."""

from __future__ import annotations

from datetime import time

from pydantic import Field

from entraide.settings.base import Addresses, Settings
from entraide.settings.shared import EffectSettings, MailSettings


class EditorialSettings(MailSettings, EffectSettings):
    """Where due items go (the relay queue), the rhythm they go at (Paris time), and who
    gets the weekly email (none: no email)."""

    relay_queue_url: str = Field(alias="RELAY_QUEUE_URL", min_length=1)
    window_start: time = Field(default=time(8, 0), alias="EDITORIAL_START")
    window_end: time = Field(default=time(21, 0), alias="EDITORIAL_END")
    per_day: int = Field(default=3, alias="EDITORIAL_PER_DAY", gt=0, le=48)
    gap_minutes: int = Field(default=120, alias="EDITORIAL_GAP_MINUTES", ge=15)
    quiet_hours: float = Field(default=24, alias="EDITORIAL_QUIET_HOURS", ge=0)
    too_late_hours: float = Field(default=48, alias="EDITORIAL_TOO_LATE_HOURS", gt=0)
    recipients: Addresses = Field(default=(), alias="EDITORIAL_RECIPIENTS")


class BlogFeedSettings(Settings):
    """The blog's feed (empty: no blog) and the channels its articles go to."""

    blog_feed_url: str = Field(default="", alias="BLOG_FEED_URL", pattern=r"^$|^(https?|file)://")
    relay_channels: str = Field(default="x,bluesky,mastodon", alias="RELAY_CHANNELS")
    mastodon_max_characters: int = Field(default=500, alias="MASTODON_MAX_CHARACTERS", gt=0)
    # More unseen articles than this at once: the feed changed, nothing is announced.
    blog_max_new: int = Field(default=3, alias="BLOG_MAX_NEW", gt=0, le=20)
