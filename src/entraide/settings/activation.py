"""Settings of the activation functions: ``activate``, ``activation_events``."""

from __future__ import annotations

from pydantic import Field, field_validator

from entraide.settings.base import Settings
from entraide.settings.shared import EffectSettings


class ActivationEventsSettings(EffectSettings):
    """The activation_events function: the topic of activations opened or closed."""

    activation_events_topic_arn: str = Field(alias="ACTIVATION_EVENTS_TOPIC_ARN", min_length=1)


class ActivateSettings(Settings):
    """The activate function: which alert sources to read (a JSON list)."""

    alert_sources: str = Field(alias="ALERT_SOURCES", min_length=2)

    @field_validator("alert_sources")
    @classmethod
    def _valid_sources(cls, value: str) -> str:
        from entraide.activation.alerts.sources import parse_source_configs

        parse_source_configs(value)  # refuse a bad list at cold start, not at 3 a.m.
        return value
