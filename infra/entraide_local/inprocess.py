"""Run handlers in the stack's own process: for a debugger's breakpoints, nothing else.

`entraide local run --in-process` (or `LocalStack(in_process=True)`). This is *not* how Lambda
runs a function and it proves less than the worker processes do:

- `os.environ` belongs to the whole process, so the function's environment is put in place
  around each import and invocation, and invocations are serialised by one process-wide lock:
  nothing runs concurrently (the concurrency limits still apply on top);
- timeouts are not enforced (a thread cannot be stopped, and a debugger pauses), only
  reported; module state is shared by every function of the process;
- the workers' setup calls (`LocalStack(setup_for=...)`, such as IAM checks) are not made.

Each handler module is loaded from `<CodeUri>/<module>.py` under a name of its own,
`lambda_<LogicalId>`: every function has a module called `app`.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from .provision import DeployedFunction
from .worker import (
    Fault,
    LambdaContext,
    exception_document,
    load_handler,
    marshal_response,
    traceback_text,
)
from .workers import LambdaError, Outcome

log = logging.getLogger("entraide_local")

# Re-entrant so that a handler may, in its own thread, trigger another local invocation.
INVOCATION_LOCK = threading.RLock()

Handler = Callable[[Any, Any], Any]

# Set by Lambda's runtime, not by the template: never inherited from the developer's shell
# (powertools would silently drop metrics).
_NOT_INHERITED = ("POWERTOOLS_METRICS_DISABLED",)


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


class InProcessRuntime:
    """Loads the handlers into this process and calls them under one lock."""

    def __init__(self, environment_of: Callable[[DeployedFunction], dict[str, str]]) -> None:
        self.environment_of = environment_of
        self.handlers: dict[str, Handler] = {}

    def prewarm(self, functions: list[DeployedFunction]) -> dict[str, LambdaError]:
        errors = {}
        for function in functions:
            try:
                self.handlers[function.logical_id] = self._load(function)
            except Exception as error:
                document = exception_document(sys.exc_info())  # type: ignore[arg-type]
                errors[function.logical_id] = LambdaError.from_document(
                    document, traceback_text(error)
                )
        return errors

    def _load(self, function: DeployedFunction) -> Handler:
        spec = function.spec
        module_name = spec.handler.rsplit(".", 1)[0]
        path = spec.code_dir.joinpath(*module_name.split(".")).with_suffix(".py")
        module = _import_isolated(
            f"lambda_{spec.logical_id}", path, spec.code_dir, self.environment_of(function)
        )
        found = getattr(module, spec.handler_function, None)
        if not callable(found):
            # the same error as a worker's (awslambdaric's HandlerNotFound)
            load_handler(f"{module.__name__}.{spec.handler_function}", str(spec.code_dir))
        return found  # type: ignore[return-value]

    def run(self, function: DeployedFunction, event: Any, request_id: str) -> Outcome:
        handler = self.handlers.get(function.logical_id)
        if handler is None:
            errors = self.prewarm([function])
            if errors:
                return Outcome(error=errors[function.logical_id], init_failed=True)
            handler = self.handlers[function.logical_id]
        started = time.monotonic()
        context = LambdaContext(
            function_name=function.name,
            function_version="$LATEST",
            invoked_function_arn=function.arn,
            memory_limit_in_mb=function.spec.memory_size,
            aws_request_id=request_id,
            log_group_name=function.log_group_name,
            log_stream_name=f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}",
            deadline_ms=int((time.time() + function.spec.timeout) * 1000),
        )
        payload = marshal_response(event)  # a fresh copy, as decoded by the runtime
        with INVOCATION_LOCK, environment(self.environment_of(function)):
            try:
                value = marshal_response(handler(payload, context))
            except (Exception, SystemExit) as error:  # sys.exit in a handler is an error
                document = exception_document(sys.exc_info(), request_id)  # type: ignore[arg-type]
                return Outcome(error=LambdaError.from_document(document, traceback_text(error)))
        if time.monotonic() - started > function.spec.timeout:
            log.warning(
                "%s ran longer than its Timeout of %d s (not enforced in-process)",
                function.display_name,
                function.spec.timeout,
            )
        return Outcome(value=value)

    def stop(self) -> None:
        pass


def _import_isolated(
    module_name: str, path: Path, code_dir: Path, variables: Mapping[str, str]
) -> ModuleType:
    """Import `path` as `module_name`, with `code_dir` first on sys.path only meanwhile.

    Sibling modules of the handler are importable during the import, then dropped from
    `sys.modules` so that two functions' `helpers` never collide.
    """
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise Fault("Runtime.ImportModuleError", f"Unable to import module '{path.stem}'")
    module = importlib.util.module_from_spec(spec)
    before = set(sys.modules)
    sys.modules[module_name] = module  # dataclasses and pydantic look their module up by name
    with INVOCATION_LOCK, environment(variables):
        sys.path.insert(0, str(code_dir))
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(module_name, None)
            raise
        finally:
            sys.path.remove(str(code_dir))
            for name in set(sys.modules) - before - {module_name}:
                file = getattr(sys.modules.get(name), "__file__", None)
                if file and Path(file).resolve().is_relative_to(code_dir):
                    del sys.modules[name]
    return module
