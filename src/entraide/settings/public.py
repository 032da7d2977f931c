"""Settings of the ``public_posts`` function: where the public pages live."""

from __future__ import annotations

from pydantic import Field

from entraide.settings.base import Settings


class PublicSettings(Settings):
    """The public_posts function: where the public pages live, for the JSON ``url``."""

    public_base_url: str = Field(alias="PUBLIC_BASE_URL", pattern=r"^https?://")
