"""Inside a worker process: Lambda's Python runtime for one execution environment.

A worker is forked by the fork server (`forkserver`) and then, like Lambda's runtime:

1. replaces `os.environ` with the function's environment, before anything of the function is
   imported, and puts the code folder first on `sys.path` (Lambda's task root);
2. sends its stdout and stderr to the log pipe that the stack relays to its console;
3. runs the setup calls of its start message (`{"module", "function", "kwargs"}`), e.g. the
   IAM policy checks, still before the handler is imported;
4. imports the handler (the cold start), reporting failures as Lambda's runtime does;
5. serves invocations one at a time, until its connection closes.

Messages are JSON documents on a `multiprocessing` connection:

    stack -> worker  {"environment", "code_dir", "handler", "setup"}       once, first
    worker -> stack  {"ready": true, "init_ms": n}
                  or {"ready": false, "error": {...}, "traceback": "..."}
    stack -> worker  {"request_id", "event", "deadline_ms", "function_arn", "log_stream"}
    worker -> stack  {"result": value} or {"error": {...}, "traceback": "..."} or {"exit": code}

Errors are Lambda's error documents (`errorMessage`, `errorType`, `requestId`, `stackTrace`),
with the error types of Lambda's runtime interface client (awslambdaric, `bootstrap.py`):
`Runtime.ImportModuleError` for an import that fails, `Runtime.HandlerNotFound`,
`Runtime.UserCodeSyntaxError`, `Runtime.MarshalError` for a result that is not JSON, and the
exception's class name for anything the handler raises.

This module imports nothing of the project and reads no environment at import: the fork
server imports it once, before forking.
"""

from __future__ import annotations

import decimal
import importlib
import json
import logging
import math
import os
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

Handler = Callable[[Any, Any], Any]

IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
MARSHAL_ERROR = "Runtime.MarshalError"


class Fault(Exception):
    """An error of the runtime itself (awslambdaric's FaultException)."""

    def __init__(self, error_type: str, message: str, stack_trace: list[str] | None = None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack_trace = stack_trace or []


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
    deadline_ms: int  # epoch milliseconds at which Lambda stops the invocation
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))


def error_document(
    error_type: str, message: str, stack_trace: list[str], request_id: str = ""
) -> dict[str, Any]:
    """Lambda's error JSON (awslambdaric's `make_error`)."""
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": stack_trace,
    }


def exception_document(
    exc_info: tuple[type[BaseException], BaseException, TracebackType | None], request_id: str = ""
) -> dict[str, Any]:
    """The error document of an exception, frames of this module left out (as awslambdaric)."""
    error_type, value, trace = exc_info
    if isinstance(value, Fault):
        return error_document(value.error_type, value.message, value.stack_trace, request_id)
    frames = [frame for frame in traceback.extract_tb(trace) if frame.filename != __file__]
    return error_document(
        error_type.__name__, str(value), traceback.format_list(frames), request_id
    )


def traceback_text(error: BaseException) -> str:
    """The traceback for people: their frames only, and a runtime error by its Lambda type."""
    if isinstance(error, Fault):
        if error.__cause__ is not None:  # their code failed underneath (an import)
            return traceback_text(error.__cause__)
        return f"{error.error_type}: {error.message}"
    summary = traceback.TracebackException.from_exception(error)
    summary.stack = traceback.StackSummary.from_list(
        [frame for frame in summary.stack if frame.filename != __file__]
    )
    return "".join(summary.format())


# --- JSON as the runtime marshals it -------------------------------------------------------


def _marshal_default(value: Any) -> Any:
    # awslambdaric's marshaller writes a Decimal as a JSON number (DynamoDB gives Decimals).
    if isinstance(value, decimal.Decimal):
        if value.is_nan():
            return math.nan
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def marshal_response(value: Any) -> Any:
    """`value` as Lambda returns it: through JSON, or Runtime.MarshalError."""
    try:
        return json.loads(json.dumps(value, default=_marshal_default))
    except (TypeError, ValueError) as error:
        raise Fault(MARSHAL_ERROR, f"Unable to marshal response: {error}") from None


# --- start -----------------------------------------------------------------------------------


def set_environment(variables: Mapping[str, str]) -> None:
    """`os.environ` becomes exactly `variables` (Lambda starts the runtime with them)."""
    os.environ.clear()
    os.environ.update(variables)


def run_setup(calls: list[dict[str, Any]]) -> None:
    """Import and call each `{"module", "function", "kwargs"}`, in order."""
    for call in calls:
        module = importlib.import_module(call["module"])
        getattr(module, call["function"])(**call.get("kwargs", {}))


def load_handler(handler: str, code_dir: str) -> Handler:
    """Import the handler as awslambdaric's `_get_handler` does."""
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError as error:
        raise Fault(MALFORMED_HANDLER_NAME, f"Bad handler '{handler}': {error}") from None
    if code_dir not in sys.path:
        sys.path.insert(0, code_dir)  # Lambda's task root comes first
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as error:
        raise Fault(
            IMPORT_MODULE_ERROR, f"Unable to import module '{module_name}': {error}"
        ) from error
    except SyntaxError as error:
        trace = [f'  File "{error.filename}" Line {error.lineno}\n    {error.text}']
        raise Fault(
            USER_CODE_SYNTAX_ERROR, f"Syntax error in module '{module_name}': {error}", trace
        ) from error
    found = getattr(module, function_name, None)
    if not callable(found):
        raise Fault(
            HANDLER_NOT_FOUND, f"Handler '{function_name}' missing on module '{module_name}'"
        )
    return found  # type: ignore[no-any-return]


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


def _setup_logging() -> _RequestIdFilter:
    """The root logger handler Lambda's runtime installs (awslambdaric `_setup_logging`)."""
    logging.Formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
            "%Y-%m-%dT%H:%M:%S",
        )
    )
    request_ids = _RequestIdFilter()
    handler.addFilter(request_ids)
    logging.getLogger().addHandler(handler)
    return request_ids


def _redirect_output(log_fd: int) -> None:
    """stdout and stderr to the log pipe, line-buffered, as the runtime's unbuffered streams."""
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115


def _send(connection: Connection, message: dict[str, Any]) -> None:
    connection.send_bytes(json.dumps(message).encode())


def _receive(connection: Connection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(connection.recv_bytes())
    return message


# --- the worker's life -------------------------------------------------------------------------


def main(connection_fd: int, log_fd: int) -> None:
    """Run a worker on the two descriptors the fork server passed; never returns."""
    connection = Connection(connection_fd)
    status = 0
    try:
        _redirect_output(log_fd)
        serve(connection)
    except (EOFError, OSError):
        pass  # the stack is gone or closed this environment
    except SystemExit as exit_request:
        status = exit_request.code if isinstance(exit_request.code, int) else 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(status)


def serve(connection: Connection) -> None:
    start = _receive(connection)
    started = time.perf_counter()
    set_environment(start["environment"])
    request_ids = _setup_logging()
    try:
        run_setup(start.get("setup", []))
        handler = load_handler(start["handler"], start["code_dir"])
    except Exception as error:
        exc_info = sys.exc_info()
        _send(
            connection,
            {
                "ready": False,
                "error": exception_document(exc_info),  # type: ignore[arg-type]
                "traceback": traceback_text(error),
            },
        )
        return  # Lambda starts a new environment for the next invocation
    _send(connection, {"ready": True, "init_ms": int((time.perf_counter() - started) * 1000)})
    while True:
        request = _receive(connection)
        request_ids.request_id = request["request_id"]
        reply = invoke(handler, request, start)
        _send(connection, reply)
        if "exit" in reply:
            raise SystemExit(reply["exit"])


def invoke(handler: Handler, request: dict[str, Any], start: dict[str, Any]) -> dict[str, Any]:
    """Call the handler with one request; the reply to send back."""
    environment = start["environment"]
    context = LambdaContext(
        function_name=environment.get("AWS_LAMBDA_FUNCTION_NAME", ""),
        function_version=environment.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        invoked_function_arn=request["function_arn"],
        memory_limit_in_mb=int(environment.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")),
        aws_request_id=request["request_id"],
        log_group_name=environment.get("AWS_LAMBDA_LOG_GROUP_NAME", ""),
        log_stream_name=request["log_stream"],
        deadline_ms=request["deadline_ms"],
    )
    try:
        result = marshal_response(handler(request["event"], context))
    except SystemExit as exit_request:
        # The runtime process ends: Lambda reports Runtime.ExitError and starts a new one.
        code = exit_request.code if isinstance(exit_request.code, int) else 1
        return {"exit": code}
    except Exception as error:
        exc_info = sys.exc_info()
        return {
            "error": exception_document(exc_info, request["request_id"]),  # type: ignore[arg-type]
            "traceback": traceback_text(error),
        }
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return {"result": result}
