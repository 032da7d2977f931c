"""The configured alert sources, and reading them all without letting one failure stop the rest.

The scheduled function gets its sources as a JSON setting, a list of objects::

    [{"name": "meteofrance", "url": "https://…/cartevigilance/encours", "api_key": "…"},
     {"name": "meteoalarm", "url": "https://feeds.meteoalarm.org/feeds/meteoalarm-legacy-atom-france"},
     {"name": "vigicrues", "url": "file:///srv/replay/vigicrues.json"}]

:func:`parse_source_configs` validates it, :func:`build_sources` makes the adapters and
:func:`read_all` reads each one, returning for each either its alerts or the
:class:`SourceError` that stopped it (never raising), so that the caller logs a failed
source, counts it in a metric and keeps what that source said last.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from entraide.activation.alerts.http import SharedSession
from entraide.activation.alerts.meteoalarm import MeteoAlarmSource
from entraide.activation.alerts.meteofrance import MeteoFranceVigilance
from entraide.activation.alerts.model import Alert, SourceError
from entraide.activation.alerts.vigicrues import VigicruesSource

if TYPE_CHECKING:  # imported on the first read (see http.SharedSession)
    import requests

type SourceName = Literal["meteofrance", "meteoalarm", "vigicrues"]


class AlertSource(Protocol):
    """What the activation rules read: a named source of normalised alerts."""

    @property
    def name(self) -> str: ...

    def fetch(self, now: datetime) -> list[Alert]:
        """The alerts in force or announced at ``now``; :class:`SourceError` on failure."""
        ...


class SourceConfig(BaseModel):
    """One source of the setting. ``api_key`` is Météo-France's portal key (``apikey`` header)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: SourceName
    url: str = Field(min_length=1)
    api_key: SecretStr | None = None
    timeout: float = Field(default=10.0, gt=0, le=60)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        text = value.strip()
        if not text:
            raise ValueError("url is empty")
        return text

    @model_validator(mode="after")
    def _api_key_for_meteofrance(self) -> Self:
        if self.api_key is not None and self.name != "meteofrance":
            raise ValueError(f"api_key is only for meteofrance, not {self.name}")
        return self


def parse_source_configs(text: str) -> list[SourceConfig]:
    """The sources of a JSON setting (a list of objects); ValueError with the reason.

    An empty list is valid (no source configured). Names must be unique: each names its
    outcome in :func:`read_all`.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"alert sources setting is not JSON: {exc}") from exc
    if not isinstance(data, list):
        raise ValueError("alert sources setting must be a JSON list of objects")
    configs: list[SourceConfig] = []
    for n, item in enumerate(data):
        try:
            configs.append(SourceConfig.model_validate(item))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in error['loc']) or 'source'}: {error['msg']}"
                for error in exc.errors(include_url=False)
            )
            raise ValueError(f"alert source #{n}: {problems}") from None
    names = [config.name for config in configs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"alert sources configured twice: {', '.join(duplicates)}")
    return configs


def build_source(config: SourceConfig, session: requests.Session | SharedSession) -> AlertSource:
    """The adapter of one configured source."""
    if config.name == "meteofrance":
        key = config.api_key.get_secret_value() if config.api_key is not None else None
        return MeteoFranceVigilance(
            config.url, api_key=key, session=session, timeout=config.timeout
        )
    if config.name == "meteoalarm":
        return MeteoAlarmSource(config.url, session=session, timeout=config.timeout)
    return VigicruesSource(config.url, session=session, timeout=config.timeout)


def build_sources(
    configs: Iterable[SourceConfig], session: requests.Session | None = None
) -> list[AlertSource]:
    """The adapters of ``configs``, sharing one HTTP session (built on the first read
    when ``None``)."""
    shared = SharedSession() if session is None else session
    return [build_source(config, shared) for config in configs]


def read_all(sources: Sequence[AlertSource], now: datetime) -> dict[str, list[Alert] | SourceError]:
    """Each source's alerts, or the :class:`SourceError` that stopped it. Never raises.

    An unexpected exception from an adapter (a bug) is also turned into a
    :class:`SourceError`, its cause kept in ``__cause__``. Outcomes are keyed by source
    name (unique when the sources come from :func:`parse_source_configs`).
    """
    outcomes: dict[str, list[Alert] | SourceError] = {}
    for source in sources:
        name = _name(source)
        try:
            outcomes[name] = list(source.fetch(now))
        except SourceError as exc:
            outcomes[name] = exc
        except Exception as exc:
            error = SourceError(name, f"unexpected {type(exc).__name__}: {exc}")
            error.__cause__ = exc
            outcomes[name] = error
    return outcomes


def _name(source: AlertSource) -> str:
    try:
        return str(source.name)
    except Exception:
        return type(source).__name__


def failed(outcomes: Mapping[str, list[Alert] | SourceError]) -> dict[str, SourceError]:
    """The sources that failed, by name (for logs and a metric)."""
    return {name: o for name, o in outcomes.items() if isinstance(o, SourceError)}
