"""Settings of the ``public_posts`` function: where the public pages live."""

from __future__ import annotations

from entraide.settings.shared import PublicUrlSettings


class PublicSettings(PublicUrlSettings):
    """The public_posts function: where the public pages live, for the JSON ``url``."""
