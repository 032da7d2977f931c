"""Settings of the stream_router function: the functions that act on the table's changes."""

from __future__ import annotations

from pydantic import Field

from entraide.settings.base import Settings


class StreamRouterSettings(Settings):
    """Each consumer's function name, and how long a synchronous invocation may last."""

    moderate_function: str = Field(alias="MODERATE_FUNCTION", min_length=1)
    geomatch_function: str = Field(alias="GEOMATCH_FUNCTION", min_length=1)
    activation_events_function: str = Field(alias="ACTIVATION_EVENTS_FUNCTION", min_length=1)
    retention_function: str = Field(alias="RETENTION_FUNCTION", min_length=1)
    # the longest consumer's Timeout: the router waits that long for an answer
    consumer_timeout_seconds: float = Field(alias="CONSUMER_TIMEOUT_SECONDS", gt=0)

    def consumers(self) -> dict[str, str]:
        """Route name → function name (the routes of entraide.adapters.stream_router)."""
        return {
            "moderate": self.moderate_function,
            "geomatch": self.geomatch_function,
            "activation_events": self.activation_events_function,
            "retention": self.retention_function,
        }
