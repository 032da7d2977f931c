"""Settings of the activation functions: ``activate``, ``activation_events``."""

from __future__ import annotations

from pydantic import Field, field_validator

from entraide.settings.base import Settings
from entraide.settings.shared import EffectSettings


class ActivationEventsSettings(EffectSettings):
    """The activation_events function: the topic of activations opened or closed."""

    activation_events_topic_arn: str = Field(alias="ACTIVATION_EVENTS_TOPIC_ARN", min_length=1)
    # The relay's queue and its event source mapping's UUID (!Ref RelayFunctionRelayQueue):
    # the schedule enables the mapping while there is work, disables it once idle
    # (entraide.activation.relay_switch). Unset: the mapping is left as deployed.
    relay_queue_url: str = Field(default="", alias="RELAY_QUEUE_URL")
    relay_mapping_uuid: str = Field(default="", alias="RELAY_MAPPING_UUID")
    # an enabled mapping stays so at least this long (no flapping on a trickle of messages)
    relay_idle_hold_seconds: int = Field(default=900, alias="RELAY_IDLE_HOLD_SECONDS", ge=0)
    # a closed activation keeps the relay awake this long (its posts' retractions)
    relay_awake_after_close_seconds: int = Field(
        default=3600, alias="RELAY_AWAKE_AFTER_CLOSE_SECONDS", ge=0
    )


class ActivateSettings(Settings):
    """The activate function: which alert sources to read (a JSON list)."""

    alert_sources: str = Field(alias="ALERT_SOURCES", min_length=2)

    @field_validator("alert_sources")
    @classmethod
    def _valid_sources(cls, value: str) -> str:
        from entraide.activation.alerts.sources import parse_source_configs

        parse_source_configs(value)  # refuse a bad list at cold start, not at 3 a.m.
        return value
