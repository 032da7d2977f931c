"""Settings of the ``retention`` function: where retractions go."""

from __future__ import annotations

from pydantic import Field

from entraide.settings.base import Settings


class RetentionSettings(Settings):
    """The retention function: the relay's queue, which takes ended posts down from X."""

    relay_queue_url: str = Field(alias="RELAY_QUEUE_URL", min_length=1)
