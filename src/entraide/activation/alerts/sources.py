"""The configured alert sources, and reading them all without letting one failure stop the rest.

The scheduled function gets its sources as a JSON setting, a list of objects::

    [{"name": "meteofrance", "url": "https://…/cartevigilance/encours", "api_key": "…"},
     {"name": "meteoalarm", "url": "https://feeds.meteoalarm.org/feeds/meteoalarm-legacy-atom-france"},
     {"name": "vigicrues", "url": "file:///srv/replay/vigicrues.json"}]

:func:`parse_source_configs` validates it, :func:`build_sources` makes the adapters and
:func:`read_all` reads them all at once, each in a thread of its own and all by one
deadline, returning for each either its :class:`Reading` or the :class:`SourceError` that
stopped it (never raising), so that the caller logs a failed source, counts it in a
metric and keeps what that source said last. A source still reading at the deadline is a
failure of that source alone: the others' readings count.

Each source holds its documents to what it promises (:mod:`.promise`): optional
``max_age_hours`` changes how old a document may be; ``"replay": true`` marks a recorded
document (the local stack's replays), read whatever its coverage and age.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import datetime, timedelta
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

from entraide.activation.alerts.document import DocumentSource
from entraide.activation.alerts.http import SharedSession, deadline
from entraide.activation.alerts.meteoalarm import MeteoAlarmSource
from entraide.activation.alerts.meteofrance import MeteoFranceVigilance
from entraide.activation.alerts.model import Alert, Reading, SourceError
from entraide.activation.alerts.promise import Promise
from entraide.activation.alerts.vigicrues import VigicruesSource

if TYPE_CHECKING:  # imported on the first read (see http.SharedSession)
    import requests

type SourceName = Literal["meteofrance", "meteoalarm", "vigicrues"]


class AlertSource(Protocol):
    """What the activation rules read: a named source of normalised alerts."""

    @property
    def name(self) -> str: ...

    def read(self, now: datetime) -> Reading:
        """What the source says at ``now``, checked; :class:`SourceError` on failure."""
        ...


class SourceConfig(BaseModel):
    """One source of the setting. ``api_key`` is Météo-France's portal key (``apikey`` header)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: SourceName
    url: str = Field(min_length=1)
    api_key: SecretStr | None = None
    timeout: float = Field(default=10.0, gt=0, le=60)
    max_age_hours: float | None = Field(default=None, gt=0)
    replay: bool = False

    @property
    def promise(self) -> Promise:
        age = None if self.max_age_hours is None else timedelta(hours=self.max_age_hours)
        return Promise.of(self.name, max_age=age, replay=self.replay)

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


def build_source(config: SourceConfig, session: requests.Session | SharedSession) -> DocumentSource:
    """The adapter of one configured source."""
    promise = config.promise
    if config.name == "meteofrance":
        key = config.api_key.get_secret_value() if config.api_key is not None else None
        return MeteoFranceVigilance(
            config.url, api_key=key, session=session, timeout=config.timeout, promise=promise
        )
    if config.name == "meteoalarm":
        return MeteoAlarmSource(
            config.url, session=session, timeout=config.timeout, promise=promise
        )
    return VigicruesSource(config.url, session=session, timeout=config.timeout, promise=promise)


def build_sources(
    configs: Iterable[SourceConfig], session: requests.Session | None = None
) -> list[DocumentSource]:
    """The adapters of ``configs``, sharing one HTTP session (built on the first read
    when ``None``)."""
    shared = SharedSession() if session is None else session
    return [build_source(config, shared) for config in configs]


type Outcome = Reading | SourceError


def read_all(
    sources: Sequence[AlertSource], now: datetime, *, by: float | None = None
) -> dict[str, Outcome]:
    """Each source's reading, or the :class:`SourceError` that stopped it. Never raises.

    The sources are read at the same time, each in a thread; ``by`` (a
    ``time.monotonic()`` moment) is the deadline of every read, retries and their waits
    included: a source not done by then is a :class:`SourceError` ("out of time") and
    the others' readings stand. An unexpected exception from an adapter (a bug) is also
    turned into a :class:`SourceError`, its cause kept in ``__cause__``. Outcomes are
    keyed by source name (unique when the sources come from :func:`parse_source_configs`).
    """
    if not sources:
        return {}
    started = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=len(sources), thread_name_prefix="alert-source")
    futures = {_name(source): pool.submit(_read_one, source, now, by) for source in sources}
    done, _ = wait(futures.values(), timeout=None if by is None else max(0.0, by - started))
    pool.shutdown(wait=False, cancel_futures=True)
    outcomes: dict[str, Outcome] = {}
    for name, future in futures.items():
        if future in done:
            outcomes[name] = future.result()
        else:
            seconds = time.monotonic() - started
            outcomes[name] = SourceError(name, f"out of time: not read within {seconds:.0f} s")
    return outcomes


def _read_one(source: AlertSource, now: datetime, by: float | None) -> Outcome:
    name = _name(source)
    try:
        with deadline(by):
            return source.read(now)
    except SourceError as exc:
        return exc
    except Exception as exc:
        error = SourceError(name, f"unexpected {type(exc).__name__}: {exc}")
        error.__cause__ = exc
        return error


def alerts_of(outcomes: Mapping[str, Outcome]) -> dict[str, Sequence[Alert] | SourceError]:
    """What the activation rules take: each source's alerts, or its error."""
    return {
        name: outcome.alerts if isinstance(outcome, Reading) else outcome
        for name, outcome in outcomes.items()
    }


def _name(source: AlertSource) -> str:
    try:
        return str(source.name)
    except Exception:
        return type(source).__name__


def failed(outcomes: Mapping[str, object]) -> dict[str, SourceError]:
    """The sources that failed, by name (for logs and a metric)."""
    return {name: o for name, o in outcomes.items() if isinstance(o, SourceError)}
