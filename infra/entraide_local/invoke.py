"""Run a function's handler in this process, the way Lambda would call it.

Each handler module is loaded from `<template dir>/<CodeUri>/<module>.py` under a name of its
own, `lambda_<LogicalId>`: every function has a module called `app`, so none of them may be
imported as `app`. The function's resolved environment is put in `os.environ` while its module
is imported and while each invocation runs, then the previous environment is restored. Since
`os.environ` belongs to the whole process, invocations are serialised by one process-wide lock.

Each invocation prints one line, e.g. `ingest_offer  POST /offers -> 201  (42 ms)`.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from .iam.hook import acting_as
from .iam.policies import FunctionPolicy
from .provision import DeployedFunction, Deployment

log = logging.getLogger("entraide_local")

# os.environ is process-wide: two handlers running at once would see each other's variables.
# Re-entrant so that a handler may, in its own thread, trigger another local invocation.
INVOCATION_LOCK = threading.RLock()

# Set by Lambda's runtime, not by the template: the local stack must not inherit them from the
# developer's shell or a test run (powertools would silently drop metrics).
_NOT_INHERITED = ("POWERTOOLS_METRICS_DISABLED",)

Handler = Callable[[Any, Any], Any]


class LambdaRuntimeError(RuntimeError):
    """An error the Lambda runtime would raise around the handler (import, marshalling)."""


@dataclass(frozen=True)
class LambdaContext:
    """The context object a Python handler receives."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float  # time.monotonic() at which Lambda would stop the function
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


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

    @property
    def ok(self) -> bool:
        return self.error is None


def describe_outcome(invocation: Invocation) -> str:
    """`201`, `ok`, `2 failed`, or `error KeyError: 'id'` for the console line."""
    if invocation.error is not None:
        return f"error {type(invocation.error).__name__}: {invocation.error}"
    value = invocation.value
    if isinstance(value, dict) and "statusCode" in value:
        return str(value["statusCode"])
    if isinstance(value, dict) and value.get("batchItemFailures"):
        return f"{len(value['batchItemFailures'])} failed"
    return "ok"


@contextmanager
def environment(variables: Mapping[str, str]) -> Iterator[None]:
    """`os.environ` updated with `variables` for the duration, restored afterwards."""
    saved = os.environ.copy()
    try:
        for name in _NOT_INHERITED:
            os.environ.pop(name, None)
        os.environ.update(variables)
        yield
    finally:
        restore_environment(saved)


def restore_environment(saved: Mapping[str, str]) -> None:
    """Put `os.environ` back to `saved` key by key: other threads never see it empty."""
    for name in set(os.environ) - set(saved):
        os.environ.pop(name, None)
    for name, value in saved.items():
        if os.environ.get(name) != value:
            os.environ[name] = value


@dataclass
class _Activity:
    """Counts invocations, so that `drain` can tell when the stack has settled."""

    running: int = 0
    completed: int = 0
    changed: threading.Condition = field(default_factory=threading.Condition)


class Invoker:
    """Loads the handlers of a deployment and calls them."""

    def __init__(
        self,
        deployment: Deployment,
        *,
        base_environment: Mapping[str, str],
        policies: Mapping[str, FunctionPolicy] | None = None,
    ) -> None:
        self.deployment = deployment
        # Each function's role policy, enforced on its AWS calls (none: IAM not enforced).
        self.policies = dict(policies or {})
        self.base_environment = dict(base_environment)
        self.handlers: dict[str, Handler] = {}
        self.import_errors: dict[str, str] = {}
        self.activity = _Activity()
        self.listeners: list[Callable[[Invocation], None]] = []

    def function_environment(self, function: DeployedFunction) -> dict[str, str]:
        """What the handler sees in os.environ: moto endpoint, Lambda variables, template's."""
        name = function.name
        return {
            **self.base_environment,
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.spec.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": function.log_group_name,
            "_HANDLER": function.spec.handler,
            **function.environment,
        }

    def load_all(self) -> None:
        """Import every handler (Lambda's cold start), logging the ones that fail."""
        for function in self.deployment.functions.values():
            try:
                self.handlers[function.logical_id] = self._load(function)
            except Exception:
                self.import_errors[function.logical_id] = traceback.format_exc()
                log.error(
                    "%s: cannot import %s\n%s",
                    function.display_name,
                    function.spec.handler,
                    self.import_errors[function.logical_id],
                )

    def _load(self, function: DeployedFunction) -> Handler:
        spec = function.spec
        module = _import_isolated(
            f"lambda_{spec.logical_id}",
            spec.handler_file,
            spec.code_dir,
            self.function_environment(function),
        )
        handler = getattr(module, spec.handler_function, None)
        if not callable(handler):
            raise AttributeError(f"{spec.handler_file} has no function {spec.handler_function}")
        return handler  # type: ignore[no-any-return]

    def invoke(self, logical_id: str, event: Any, *, trigger: str) -> Invocation:
        """Call the handler with `event`; exceptions are caught and returned, not raised."""
        function = self.deployment.functions[logical_id]
        request_id = str(uuid.uuid4())
        self._count(running=+1)  # counted while waiting for the lock too, for drain
        with INVOCATION_LOCK:
            started = time.monotonic()
            try:
                value, error, trace = self._call(function, event, request_id, started), None, ""
            except (Exception, SystemExit) as exception:  # sys.exit in a handler is an error
                value, error, trace = None, exception, traceback.format_exc()
            duration_ms = int((time.monotonic() - started) * 1000)
            invocation = Invocation(function, trigger, request_id, duration_ms, value, error, trace)
            self._report(invocation)
        self._count(running=-1, completed=+1)
        for listener in self.listeners:
            listener(invocation)
        return invocation

    def _call(self, function: DeployedFunction, event: Any, request_id: str, started: float) -> Any:
        handler = self.handlers.get(function.logical_id)
        if handler is None:
            problem = self.import_errors.get(function.logical_id, "not loaded")
            last_line = problem.strip().splitlines()[-1]
            raise LambdaRuntimeError(f"Runtime.ImportModuleError: {last_line}")
        context = LambdaContext(
            function_name=function.name,
            function_version="$LATEST",
            invoked_function_arn=function.arn,
            memory_limit_in_mb=function.spec.memory_size,
            aws_request_id=request_id,
            log_group_name=function.log_group_name,
            log_stream_name=f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}",
            deadline=started + function.spec.timeout,
        )
        payload = json.loads(json.dumps(event))  # a fresh copy, as decoded by the runtime
        with environment(self.function_environment(function)), self._iam(function):
            result = handler(payload, context)
        try:
            return json.loads(json.dumps(result))
        except (TypeError, ValueError) as error:
            # Lambda sends the result as JSON: a Decimal from DynamoDB fails there, not here.
            raise LambdaRuntimeError(
                f"Runtime.MarshalError: Unable to marshal response: {error}"
            ) from None

    def _iam(self, function: DeployedFunction) -> AbstractContextManager[object]:
        policy = self.policies.get(function.logical_id)
        return nullcontext() if policy is None else acting_as(policy.document, policy.principal)

    def _report(self, invocation: Invocation) -> None:
        function, spec = invocation.function, invocation.function.spec
        log.info(
            "%-16s %s -> %s  (%d ms)",
            function.display_name,
            invocation.trigger,
            describe_outcome(invocation),
            invocation.duration_ms,
        )
        if invocation.error is not None:
            log.error("%s", invocation.traceback.rstrip())
        elif invocation.duration_ms > spec.timeout * 1000:
            # Not enforced (a thread cannot be stopped, and debuggers pause), only reported.
            log.warning(
                "%s ran longer than its Timeout of %d s", function.display_name, spec.timeout
            )

    def _count(self, *, running: int = 0, completed: int = 0) -> None:
        with self.activity.changed:
            self.activity.running += running
            self.activity.completed += completed
            self.activity.changed.notify_all()


def _import_isolated(
    module_name: str, path: Path, code_dir: Path, variables: Mapping[str, str]
) -> ModuleType:
    """Import `path` as `module_name`, with `code_dir` first on sys.path only meanwhile.

    Sibling modules of the handler (`functions/x/helpers.py`) are importable during the import,
    as in Lambda where the code folder is the root, then dropped from `sys.modules` so that two
    functions' `helpers` never collide. The handler keeps its references to them.
    """
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    before = set(sys.modules)
    # Registered before running: dataclasses and pydantic look their module up by name.
    sys.modules[module_name] = module
    with INVOCATION_LOCK, environment(variables):
        sys.path.insert(0, str(code_dir))
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(module_name, None)
            raise
        finally:
            sys.path.remove(str(code_dir))
            _forget_modules_under(code_dir, set(sys.modules) - before - {module_name})
    return module


def _forget_modules_under(code_dir: Path, names: set[str]) -> None:
    for name in names:
        file = getattr(sys.modules.get(name), "__file__", None)
        if file and Path(file).resolve().is_relative_to(code_dir):
            del sys.modules[name]
