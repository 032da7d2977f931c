"""AWS calls that fail on demand: before they reach AWS, or after (their answer lost).

Two faults, as a function meets them in AWS once botocore's own retries are spent:

- **before**: the service refused or was never reached; nothing happened. The caller gets
  the service's throttling or internal error (a modelled ``ClientError``, as botocore raises
  it: ``ProvisionedThroughputExceededException``, a ``TransactionCanceledException`` of
  ``TransactionConflict`` reasons for a transaction...) or an ``EndpointConnectionError``;
- **after**: the call reached AWS and took effect, then its answer was lost: the caller
  gets a ``ReadTimeoutError`` or a ``ConnectionClosedError`` and cannot know. Each such
  loss is kept (:attr:`FaultPlan.lost`), with the call's parameters, so that a duplicate it
  causes can be told from one it does not explain.

Faults apply only to the calls made inside :meth:`FaultPlan.active` (this thread or task),
so that a test's or a bench's own calls stay clean; they are planned one by one
(:meth:`FaultPlan.fail`) or drawn at random (``rate``, half before and half after).

The handlers are registered on every botocore session and client of the process, present
and future, as the IAM enforcement's (:mod:`entraide_local.botocore_events`).
"""

from __future__ import annotations

import contextvars
import random
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .botocore_events import ProcessHook

BEFORE, AFTER = "before", "after"
#: The services whose calls carry the pipeline's effects and state.
SERVICES = frozenset({"dynamodb", "sesv2", "ses", "sns", "sqs"})
_KEY = "entraide_local.faults"

_ERRORS: dict[str, tuple[tuple[str, int], ...]] = {
    "dynamodb": (
        ("ProvisionedThroughputExceededException", 400),
        ("ThrottlingException", 400),
        ("InternalServerError", 500),
    ),
    "sesv2": (("TooManyRequestsException", 429), ("InternalServiceErrorException", 500)),
    "ses": (("Throttling", 400), ("ServiceUnavailable", 503)),
    "sns": (("Throttled", 400), ("InternalError", 500)),
    "sqs": (("RequestThrottled", 403), ("ServiceUnavailable", 503)),
}


@dataclass(frozen=True)
class Fault:
    """One injected fault: on which call, when, with the call's parameters."""

    service: str
    operation: str
    when: str
    params: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass
class _Planned:
    service: str
    operation: str
    when: str
    where: Callable[[Mapping[str, Any]], bool] | None
    times: int


class FaultPlan:
    """Which calls fail, and how; what was injected (``injected``) and which answers were
    lost (``lost``)."""

    def __init__(
        self, *, rate: float = 0.0, seed: int = 0, services: frozenset[str] = SERVICES
    ) -> None:
        if not 0.0 <= rate < 1.0:
            raise ValueError("a fault rate is between 0 and 1")
        self.rate = rate
        self.services = services
        self.seed = seed
        self._random = random.Random(seed)  # noqa: S311 - a repeatable simulation
        # One stream of draws per service: whether a service's n-th call fails depends on
        # the seed alone, not on how its calls interleave with other services' (threads,
        # timing), so a seed that faults a service's first calls always does.
        self._streams: dict[str, random.Random] = {}
        self._planned: list[_Planned] = []
        self._lock = threading.Lock()
        self.injected: list[Fault] = []
        self.calls = 0

    def fail(
        self,
        service: str,
        operation: str,
        when: str,
        *,
        where: Callable[[Mapping[str, Any]], bool] | None = None,
        times: int = 1,
    ) -> None:
        """Fail the next ``times`` calls of ``operation`` whose parameters satisfy ``where``."""
        if when not in (BEFORE, AFTER):
            raise ValueError(f"a fault is {BEFORE!r} or {AFTER!r}, not {when!r}")
        self._planned.append(_Planned(service, operation, when, where, times))

    @property
    def lost(self) -> list[Fault]:
        return [fault for fault in self.injected if fault.when == AFTER]

    def decide(self, service: str, operation: str, params: Mapping[str, Any]) -> str | None:
        with self._lock:
            self.calls += 1
            for planned in self._planned:
                if (
                    planned.times > 0
                    and (planned.service, planned.operation) == (service, operation)
                    and (planned.where is None or planned.where(params))
                ):
                    planned.times -= 1
                    return self._note(Fault(service, operation, planned.when, params))
            if service in self.services and self.rate:
                draws = self._streams.get(service)
                if draws is None:
                    draws = random.Random(f"{self.seed}/{service}")  # noqa: S311 - as above
                    self._streams[service] = draws
                if draws.random() < self.rate:
                    when = BEFORE if draws.random() < 0.5 else AFTER
                    return self._note(Fault(service, operation, when, params))
        return None

    def _note(self, fault: Fault) -> str:
        self.injected.append(fault)
        return fault.when

    def pick(self, choices: tuple[Any, ...]) -> Any:
        with self._lock:
            return self._random.choice(choices)

    @contextmanager
    def active(self) -> Iterator[FaultPlan]:
        """Faults for the calls made inside the block (this thread or task only)."""
        _HOOK.install()
        token = _ACTIVE.set(self)
        try:
            yield self
        finally:
            _ACTIVE.reset(token)

    def count(self, service: str | None = None, when: str | None = None) -> int:
        return sum(
            1
            for fault in self.injected
            if service in (None, fault.service) and when in (None, fault.when)
        )


_ACTIVE: contextvars.ContextVar[FaultPlan | None] = contextvars.ContextVar(
    "entraide_local_faults", default=None
)


@contextmanager
def no_faults() -> Iterator[None]:
    """Calls inside the block are never faulted (a harness's own bookkeeping)."""
    token = _ACTIVE.set(None)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


# -- the botocore side ---------------------------------------------------------------------


@dataclass
class _Decision:
    plan: FaultPlan
    fault: Fault


def _service(model: Any) -> str:
    return str(model.service_model.service_name)


def _on_parameters(params: Any, model: Any, context: Any = None, **kwargs: Any) -> None:
    plan = _ACTIVE.get()
    if plan is None or context is None or _KEY in context:
        return
    service, operation = _service(model), str(model.name)
    when = plan.decide(service, operation, dict(params) if isinstance(params, Mapping) else {})
    if when is not None:
        context[_KEY] = _Decision(plan, plan.injected[-1])


def _on_call(model: Any, context: Any = None, **kwargs: Any) -> Any:
    decision = context.get(_KEY) if context else None
    if not isinstance(decision, _Decision) or decision.fault.when != BEFORE:
        return None
    from botocore.awsrequest import AWSResponse
    from botocore.exceptions import EndpointConnectionError

    service, operation = decision.fault.service, decision.fault.operation
    url = f"https://{service}.eu-west-3.amazonaws.com/"
    if decision.plan.pick((False, True)):  # never reached: no connection
        raise EndpointConnectionError(endpoint_url=url)
    if operation == "TransactWriteItems":
        items = decision.fault.params.get("TransactItems") or []
        code, status = "TransactionCanceledException", 400
        extra: dict[str, Any] = {
            "CancellationReasons": [{"Code": "TransactionConflict"} for _ in items]
        }
    else:
        code, status = decision.plan.pick(_ERRORS.get(service, (("InternalFailure", 500),)))
        extra = {}
    parsed = {
        "Error": {"Code": code, "Message": f"Injected fault before {operation}."},
        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}},
        **extra,
    }
    return AWSResponse(url, status, {}, None), parsed


def _on_after(http_response: Any, model: Any, context: Any = None, **kwargs: Any) -> None:
    decision = context.get(_KEY) if context else None
    if not isinstance(decision, _Decision) or decision.fault.when != AFTER:
        return
    from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

    url = f"https://{decision.fault.service}.eu-west-3.amazonaws.com/"
    error = ReadTimeoutError if decision.plan.pick((False, True)) else ConnectionClosedError
    raise error(endpoint_url=url)


_HOOK = ProcessHook(
    _KEY,
    (
        ("before-parameter-build", _on_parameters),
        ("before-call", _on_call),
        ("after-call", _on_after),
    ),
)
