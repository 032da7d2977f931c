"""Settings of the ``public_posts`` function: where the public pages live.

The base of the public links is also what every function sending email needs (its
links), so :class:`PublicUrlSettings` lives here, where the lightest function finds it.
"""

from __future__ import annotations

from pydantic import Field

from entraide.settings.base import Settings


class PublicUrlSettings(Settings):
    """The base of the links to the public pages."""

    # Empty only for an API function without a custom domain: the template cannot give it
    # its own API's URL (a circular reference); it takes it from the request instead
    # (entraide.web.http.public_base_url).
    public_base_url: str = Field(default="", alias="PUBLIC_BASE_URL", pattern=r"^(https?://.*)?$")


class PublicSettings(PublicUrlSettings):
    """The public_posts function: where the public pages live, for the JSON ``url``."""
