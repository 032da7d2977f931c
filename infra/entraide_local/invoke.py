"""Invoke functions the way Lambda does: within their concurrency, in their own processes.

`Invoker.invoke` is the one door through which every trigger (API route, stream and queue
pollers, schedules, the Invoke API, tests) runs a function:

- **Concurrency** (`ConcurrencyLimits`): a function runs at most its
  `ReservedConcurrentExecutions` invocations at once, `DEFAULT_CONCURRENCY` without one;
  different functions run at the same time. A synchronous caller (`queued=False`: API Gateway,
  Invoke RequestResponse) beyond the limit is throttled as Lambda throttles it,
  `TooManyRequestsException` (429); event sources and the asynchronous queue (`queued=True`)
  wait for a free slot, as Lambda's pollers and async queue hold events while a function is at
  its limit ("Synchronous requests arriving in excess of the reserved concurrency limit will
  fail with a throttling error ... For Lambda functions that are invoked asynchronously or
  using an internal poller ... events are stored durably in internal queues until the Lambda
  function is available": AWS Lambda Operator Guide, Reserved concurrency).
- **Execution**: a runtime runs the handler: `workers.WorkerRuntime` (default: one process per
  execution environment, timeouts enforced) or `inprocess.InProcessRuntime` (debugging only).

Each invocation prints one line, e.g. `ingest_offer  POST /offers -> 201  (42 ms)`, with the
cold start when there was one.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .provision import DeployedFunction, Deployment
from .workers import LambdaError, Outcome, as_lambda_error

log = logging.getLogger("entraide_local")

DEFAULT_CONCURRENCY = 4  # a local stand-in for the account's unreserved concurrency

__all__ = [
    "DEFAULT_CONCURRENCY",
    "ConcurrencyLimits",
    "Invocation",
    "Invoker",
    "LambdaError",
    "Runtime",
    "describe_outcome",
    "throttled",
]


class Runtime(Protocol):
    """Runs one invocation of a function's handler (worker processes, or in-process)."""

    def run(self, function: DeployedFunction, event: Any, request_id: str) -> Outcome: ...

    def prewarm(self, functions: list[DeployedFunction]) -> dict[str, LambdaError]: ...

    def stop(self) -> None: ...


def throttled() -> LambdaError:
    """What Lambda answers a synchronous invocation beyond the function's concurrency."""
    return LambdaError("TooManyRequestsException", "Rate Exceeded.")


@dataclass(frozen=True)
class Invocation:
    """The outcome of one call of a handler."""

    function: DeployedFunction
    trigger: str
    request_id: str
    duration_ms: int
    value: Any = None
    error: BaseException | None = None
    traceback: str = ""
    cold_start_ms: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def throttled(self) -> bool:
        return isinstance(self.error, LambdaError) and (
            self.error.error_type == "TooManyRequestsException"
        )

    @property
    def lambda_error(self) -> LambdaError | None:
        return None if self.error is None else as_lambda_error(self.error)


def describe_outcome(invocation: Invocation) -> str:
    """`201`, `ok`, `2 failed`, `throttled`, or `error KeyError: 'id'` for the console line."""
    error = invocation.lambda_error
    if invocation.throttled:
        return "throttled (TooManyRequestsException)"
    if error is not None:
        return f"error {error}"
    value = invocation.value
    if isinstance(value, dict) and "statusCode" in value:
        return str(value["statusCode"])
    if isinstance(value, dict) and value.get("batchItemFailures"):
        return f"{len(value['batchItemFailures'])} failed"
    return "ok"


class ConcurrencyLimits:
    """How many invocations of each function may run at once (see the module's docstring)."""

    def __init__(self, deployment: Deployment, default: int = DEFAULT_CONCURRENCY) -> None:
        self.limits = {
            logical_id: (
                function.spec.reserved_concurrency
                if function.spec.reserved_concurrency is not None
                else default
            )
            for logical_id, function in deployment.functions.items()
        }
        self._running = dict.fromkeys(self.limits, 0)
        self.highest = dict.fromkeys(self.limits, 0)  # most at once so far, for tests
        self._changed = threading.Condition()
        self._stopping = False

    def acquire(self, logical_id: str, *, queued: bool) -> bool:
        """Take a slot; False when none is free and the caller is not queued (throttled)."""
        with self._changed:
            while self._running[logical_id] >= self.limits[logical_id]:
                # A reserved concurrency of 0 never frees a slot: everything is throttled.
                if not queued or self._stopping or self.limits[logical_id] == 0:
                    return False
                self._changed.wait(0.5)
            self._running[logical_id] += 1
            self.highest[logical_id] = max(self.highest[logical_id], self._running[logical_id])
            return True

    def release(self, logical_id: str) -> None:
        with self._changed:
            self._running[logical_id] -= 1
            self._changed.notify_all()

    def running(self, logical_id: str) -> int:
        with self._changed:
            return self._running[logical_id]

    def stop(self) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()


@dataclass
class _Activity:
    """Counts invocations, so that `drain` can tell when the stack has settled."""

    running: int = 0
    completed: int = 0
    changed: threading.Condition = field(default_factory=threading.Condition)


class Invoker:
    """Runs the functions of a deployment through a runtime, within their concurrency."""

    def __init__(
        self,
        deployment: Deployment,
        *,
        base_environment: Mapping[str, str],
        runtime_factory: Callable[[Invoker], Runtime] | None = None,
        default_concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.deployment = deployment
        self.base_environment = dict(base_environment)
        self.concurrency = ConcurrencyLimits(deployment, default_concurrency)
        self.import_errors: dict[str, str] = {}
        self.activity = _Activity()
        self.listeners: list[Callable[[Invocation], None]] = []
        if runtime_factory is None:
            from .workers import WorkerRuntime

            self.runtime: Runtime = WorkerRuntime(environment_of=self.function_environment)
        else:
            self.runtime = runtime_factory(self)

    def function_environment(self, function: DeployedFunction) -> dict[str, str]:
        """What the handler sees in os.environ: Lambda's variables, the stack's, the template's."""
        from .workers import runtime_environment

        name = function.name
        return {
            **runtime_environment(function.spec.runtime),
            **self.base_environment,
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.spec.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": function.log_group_name,
            "LAMBDA_TASK_ROOT": str(function.spec.code_dir),
            "_HANDLER": function.spec.handler,
            **function.environment,
        }

    def prewarm(self) -> None:
        """Start one execution environment per function; import errors are kept and logged."""
        started = time.monotonic()
        functions = list(self.deployment.functions.values())
        errors = self.runtime.prewarm(functions)
        for logical_id, error in errors.items():
            self._note_init_error(self.deployment.functions[logical_id], error)
        failed = f", {len(errors)} could not start" if errors else ""
        log.info(
            "execution environments ready: %d functions in %.1f s%s",
            len(functions) - len(errors),
            time.monotonic() - started,
            failed,
        )

    def _note_init_error(self, function: DeployedFunction, error: LambdaError) -> None:
        trace = error.traceback or str(error)
        self.import_errors[function.logical_id] = trace
        log.error("%s: cannot import %s\n%s", function.display_name, function.spec.handler, trace)

    def invoke(
        self,
        logical_id: str,
        event: Any,
        *,
        trigger: str,
        queued: bool = True,
        request_id: str | None = None,
    ) -> Invocation:
        """Run the function with `event`; errors are returned in the Invocation, not raised.

        `queued=False` (a synchronous caller) is throttled when the function is at its
        concurrency; `queued=True` waits for a slot.
        """
        function = self.deployment.functions[logical_id]
        request_id = request_id or str(uuid.uuid4())
        self._count(running=+1)  # counted while waiting for a slot too, for drain
        try:
            invocation = self._invoke(function, event, trigger, queued, request_id)
        finally:
            self._count(running=-1, completed=+1)
        for listener in self.listeners:
            listener(invocation)
        return invocation

    def _invoke(
        self, function: DeployedFunction, event: Any, trigger: str, queued: bool, request_id: str
    ) -> Invocation:
        if not self.concurrency.acquire(function.logical_id, queued=queued):
            invocation = Invocation(function, trigger, request_id, 0, error=throttled())
            self._report(invocation)
            return invocation
        started = time.monotonic()
        try:
            outcome = self.runtime.run(function, event, request_id)
        finally:
            self.concurrency.release(function.logical_id)
        duration_ms = int((time.monotonic() - started) * 1000)
        error = outcome.error
        if outcome.init_failed and error is not None:
            self._note_init_error(function, error)
        elif outcome.cold_start_ms is not None:
            self.import_errors.pop(function.logical_id, None)
        invocation = Invocation(
            function,
            trigger,
            request_id,
            duration_ms,
            value=outcome.value,
            error=error,
            traceback=(error.traceback or str(error)) if error is not None else "",
            cold_start_ms=outcome.cold_start_ms,
        )
        self._report(invocation)
        return invocation

    def _report(self, invocation: Invocation) -> None:
        cold = (
            f", cold start {invocation.cold_start_ms} ms"
            if invocation.cold_start_ms is not None
            else ""
        )
        log.info(
            "%-16s %s -> %s  (%d ms%s)",
            invocation.function.display_name,
            invocation.trigger,
            describe_outcome(invocation),
            invocation.duration_ms,
            cold,
        )
        if invocation.error is not None and not invocation.throttled:
            log.error("%s", invocation.traceback.rstrip())

    def _count(self, *, running: int = 0, completed: int = 0) -> None:
        with self.activity.changed:
            self.activity.running += running
            self.activity.completed += completed
            self.activity.changed.notify_all()

    def stop(self) -> None:
        self.concurrency.stop()
        self.runtime.stop()
