"""Execution environments as processes: each function's workers, cold starts and timeouts.

Lambda runs a function in execution environments: each is initialised once (the cold start:
the runtime starts with the function's environment and imports the handler), then serves one
invocation at a time, and is thrown away when an invocation times out or the runtime exits.
`WorkerRuntime` does the same with processes forked from a `forkserver.ForkServer`:

- a worker starts with exactly the function's environment, runs the setup calls that
  `setup_for(function)` gives (IAM checks...), then imports the handler (`worker.py`);
- an idle worker of the function serves the next invocation; otherwise a new one starts
  (how many may run at once is the invoker's business: `invoke.ConcurrencyLimits`);
- an invocation that runs past the function's `Timeout` is killed with its worker, as Lambda
  stops it ("Task timed out after N.NN seconds", error type `Sandbox.Timedout`, see
  https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-invocation.html); the next
  invocation gets a new worker, a cold start;
- the init phase may take Lambda's 10 s, then the function's timeout on top (Lambda retries a
  slow init within the first invocation: https://docs.aws.amazon.com/lambda/latest/dg/
  lambda-runtime-environment.html#runtimes-lifecycle-ib);
- each worker's stdout and stderr are relayed to the stack's console, a line at a time,
  prefixed with the function's name.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .forkserver import ForkedWorker, ForkServer, ForkServerError
from .provision import DeployedFunction
from .worker import error_document

log = logging.getLogger("entraide_local")
output_log = logging.getLogger("entraide_local.output")
# The functions' structured (JSON) log lines, as CloudWatch Logs would keep them: `make run`
# writes them to a file (entraide_local.stack.configure_console), not to the console.
function_log = logging.getLogger("entraide_local.function_logs")
function_log.propagate = False
_NOTEWORTHY = ("WARNING", "ERROR", "CRITICAL")
OutputListener = Callable[[str, str], object]

# Third-party libraries the functions import, imported once by the fork server. Never the
# project's code (the domain package is the function's, as its layer is in Lambda).
PRELOADED_MODULES = (
    "boto3",
    "botocore.session",
    "pydantic",
    "jinja2",
    "requests",
    "tweepy",
    "aws_lambda_powertools",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.parameters",
    "aws_lambda_powertools.utilities.typing",
)
INIT_LIMIT_SECONDS = 10.0  # Lambda's init phase, before it is retried within the invoke phase
_PASSED_THROUGH = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "SYSTEMROOT")

SetupCalls = Callable[[DeployedFunction], list[dict[str, Any]]]


def no_setup(function: DeployedFunction) -> list[dict[str, Any]]:
    return []


def runtime_environment(runtime: str | None = "python3.13") -> dict[str, str]:
    """What every execution environment has before the function's own variables.

    Lambda's runtime variables (TZ, AWS_EXECUTION_ENV...), PATH and the locale of this machine,
    and no AWS configuration files: a handler must not pick up the developer's ~/.aws.
    """
    environment = {name: os.environ[name] for name in _PASSED_THROUGH if name in os.environ}
    environment.update(
        {
            "TZ": ":UTC",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime or 'python3.13'}",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
    )
    return environment


class LambdaError(Exception):
    """A failed invocation, as Lambda reports it: its error document and the traceback text."""

    def __init__(
        self, error_type: str, message: str, stack_trace: Sequence[str] = (), traceback: str = ""
    ) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack_trace = list(stack_trace)
        self.traceback = traceback

    @classmethod
    def from_document(cls, document: Mapping[str, Any], traceback: str = "") -> LambdaError:
        return cls(
            str(document.get("errorType", "")),
            str(document.get("errorMessage", "")),
            document.get("stackTrace") or (),
            traceback,
        )

    def document(self, request_id: str = "") -> dict[str, Any]:
        return error_document(self.error_type, self.message, self.stack_trace, request_id)

    def __str__(self) -> str:
        return f"{self.error_type}: {self.message}"


def as_lambda_error(error: BaseException) -> LambdaError:
    """Any exception as a LambdaError (its class name as the error type)."""
    if isinstance(error, LambdaError):
        return error
    return LambdaError(type(error).__name__, str(error))


def timed_out(request_id: str, seconds: float) -> LambdaError:
    message = f"RequestId: {request_id} Error: Task timed out after {seconds:.2f} seconds"
    return LambdaError("Sandbox.Timedout", message)


@dataclass(frozen=True)
class Outcome:
    """What a runtime gives back for one invocation."""

    value: Any = None
    error: LambdaError | None = None
    cold_start_ms: int | None = None  # set when this invocation started a new environment
    init_failed: bool = False  # the new environment could not import the handler


class _InitFailed(Exception):
    def __init__(self, error: LambdaError) -> None:
        super().__init__(str(error))
        self.error = error


class Worker:
    """One execution environment: a process, its connection and its relayed output."""

    def __init__(
        self,
        function: DeployedFunction,
        forked: ForkedWorker,
        output_listeners: Sequence[OutputListener] = (),
    ) -> None:
        self.function = function
        self.pid = forked.pid
        self.connection = forked.connection
        self.last_used = time.monotonic()
        self.alive = True
        self._relay = threading.Thread(
            target=_relay_output,
            args=(forked.log_fd, function.display_name, output_listeners),
            name=f"output {function.display_name} {forked.pid}",
            daemon=True,
        )
        self._relay.start()

    def request(self, message: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        """Send `message` and wait for the reply; None when `timeout` passes first.

        A worker that exits or breaks its connection answers `{"exit": None}`.
        """
        try:
            self.connection.send_bytes(json.dumps(message).encode())
            if not self.connection.poll(max(0.0, timeout)):
                return None
            reply: dict[str, Any] = json.loads(self.connection.recv_bytes())
        except (EOFError, OSError):
            self.alive = False
            return {"exit": None}
        return reply

    def kill(self) -> None:
        """Stop the process at once, as Lambda stops a timed-out environment."""
        if self.alive:
            self.alive = False
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        self.connection.close()


def console_line(line: str) -> str | None:
    """What of a worker's line the console shows: plain lines as they are (an email's subject
    and links, a tweet, a traceback), a JSON log record only when it is a warning or worse,
    as one short line; None for the rest (info records, metrics), kept in the log file."""
    if not line.startswith("{"):
        return line
    try:
        record = json.loads(line)
    except ValueError:
        return line
    if not isinstance(record, dict):
        return line
    level = str(record.get("level", ""))
    if level not in _NOTEWORTHY:
        return None
    details = record.get("exception_name") or record.get("reason") or ""
    return f"{level}: {record.get('message', '')}" + (f" ({details})" if details else "")


def _relay_output(fd: int, name: str, listeners: Sequence[OutputListener]) -> None:
    """Each line a worker writes, on the stack's console (and to `listeners`) until it exits:
    one line per invocation stays readable; structured logs go to ``function_log``."""
    with os.fdopen(fd, "rb") as output:
        for raw in output:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            shown = console_line(line)
            if shown is not None:
                output_log.info("%-16s | %s", name, shown)
            if shown != line:
                function_log.info("%s", line)
            for listener in listeners:
                listener(name, line)


@dataclass
class _Pool:
    idle: list[Worker] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class WorkerRuntime:
    """Runs each function in worker processes of its own (see the module's docstring)."""

    def __init__(
        self,
        *,
        environment_of: Callable[[DeployedFunction], dict[str, str]],
        setup_for: SetupCalls = no_setup,
        preload: Sequence[str] = PRELOADED_MODULES,
    ) -> None:
        self.environment_of = environment_of
        self.setup_for = setup_for
        self.preload = tuple(preload)
        # Called with (function display name, line) for every line a worker prints.
        self.output_listeners: list[OutputListener] = []
        self._servers: dict[bool, ForkServer] = {}
        self._servers_lock = threading.Lock()
        self._pools: dict[str, _Pool] = {}
        self._workers: set[Worker] = set()
        self._workers_lock = threading.Lock()
        self._stopped = False

    # -- fork servers -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the preloading fork server (its imports overlap the stack's own start)."""
        self._server(preloaded=True)

    def _server(self, *, preloaded: bool) -> ForkServer:
        with self._servers_lock:
            if self._stopped:
                raise ForkServerError("the local stack is stopping")
            server = self._servers.get(preloaded)
            if server is None:
                server = ForkServer(self.preload if preloaded else (), runtime_environment())
                server.start()
                self._servers[preloaded] = server
                if preloaded and server.report.get("failed"):
                    log.warning("fork server could not preload %s", server.report["failed"])
            return server

    def server_for(self, environment: Mapping[str, str]) -> ForkServer:
        """The preloading server, unless the environment sets a variable its imports read."""
        preloaded = self._server(preloaded=True)
        differing = [
            name for name, seen in preloaded.variables_read.items() if environment.get(name) != seen
        ]
        return self._server(preloaded=False) if differing else preloaded

    # -- environments ----------------------------------------------------------------------

    def _pool(self, function: DeployedFunction) -> _Pool:
        with self._workers_lock:
            return self._pools.setdefault(function.logical_id, _Pool())

    def cold_start(self, function: DeployedFunction) -> tuple[Worker, int]:
        """A new, initialised worker of `function` and its init time; raises _InitFailed."""
        environment = self.environment_of(function)
        started = time.monotonic()
        try:
            worker = Worker(function, self.server_for(environment).fork(), self.output_listeners)
        except ForkServerError as error:
            raise _InitFailed(LambdaError("Runtime.Unavailable", str(error))) from None
        with self._workers_lock:
            if self._stopped:
                worker.kill()
                raise _InitFailed(LambdaError("Runtime.Unavailable", "the stack is stopping"))
            self._workers.add(worker)
        start_message = {
            "environment": environment,
            "code_dir": str(function.spec.code_dir),
            "handler": function.spec.handler,
            "setup": self.setup_for(function),
        }
        reply = worker.request(start_message, INIT_LIMIT_SECONDS + function.spec.timeout)
        init_ms = int((time.monotonic() - started) * 1000)
        if reply is not None and reply.get("ready"):
            return worker, init_ms
        self._discard(worker)
        if reply is None:
            raise _InitFailed(timed_out("", time.monotonic() - started))
        if "error" in reply:
            raise _InitFailed(LambdaError.from_document(reply["error"], reply.get("traceback", "")))
        raise _InitFailed(
            LambdaError("Runtime.ExitError", "Runtime exited during init without a reason")
        )

    def prewarm(self, functions: Sequence[DeployedFunction]) -> dict[str, LambdaError]:
        """One initialised worker per function, started together; the init errors by id."""
        errors: dict[str, LambdaError] = {}

        def warm(function: DeployedFunction) -> None:
            try:
                worker, _ = self.cold_start(function)
            except _InitFailed as failure:
                errors[function.logical_id] = failure.error
                return
            self._release(worker)

        with ThreadPoolExecutor(max_workers=max(1, len(functions))) as pool:
            list(pool.map(warm, functions))
        return errors

    def run(self, function: DeployedFunction, event: Any, request_id: str) -> Outcome:
        """One invocation in an idle worker of the function, or a new one."""
        cold_start_ms = None
        worker = self._take_idle(function)
        if worker is None:
            try:
                worker, cold_start_ms = self.cold_start(function)
            except _InitFailed as failure:
                return Outcome(error=failure.error, init_failed=True)
        timeout = float(function.spec.timeout)
        started = time.monotonic()
        deadline_ms = int((time.time() + timeout) * 1000)
        request = {
            "request_id": request_id,
            "event": event,
            "deadline_ms": deadline_ms,
            "function_arn": function.arn,
            "log_stream": f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}",
        }
        reply = worker.request(request, timeout)
        if reply is None:
            self._discard(worker)
            return Outcome(
                error=timed_out(request_id, time.monotonic() - started),
                cold_start_ms=cold_start_ms,
            )
        if "exit" in reply:
            self._discard(worker)
            if self._stopped:
                error = LambdaError("Runtime.Unavailable", "the local stack stopped meanwhile")
                return Outcome(error=error, cold_start_ms=cold_start_ms)
            status = reply["exit"]
            reason = f"exit status {status}" if status is not None else "signal or crash"
            message = f"RequestId: {request_id} Error: Runtime exited with error: {reason}"
            error = LambdaError("Runtime.ExitError", message)
            return Outcome(error=error, cold_start_ms=cold_start_ms)
        self._release(worker)
        if "error" in reply:
            error = LambdaError.from_document(reply["error"], reply.get("traceback", ""))
            return Outcome(error=error, cold_start_ms=cold_start_ms)
        return Outcome(value=reply.get("result"), cold_start_ms=cold_start_ms)

    def _take_idle(self, function: DeployedFunction) -> Worker | None:
        pool = self._pool(function)
        with pool.lock:
            while pool.idle:
                worker = pool.idle.pop()  # the most recently used: warm caches, like Lambda
                if worker.alive:
                    return worker
        return None

    def _release(self, worker: Worker) -> None:
        worker.last_used = time.monotonic()
        pool = self._pool(worker.function)
        with pool.lock:
            pool.idle.append(worker)

    def _discard(self, worker: Worker) -> None:
        worker.kill()
        with self._workers_lock:
            self._workers.discard(worker)

    def reap_idle(self, max_idle_seconds: float) -> int:
        """Stop workers idle for longer than that (Lambda reclaims idle environments too)."""
        now, reaped = time.monotonic(), 0
        with self._workers_lock:
            pools = list(self._pools.values())
        for pool in pools:
            with pool.lock:
                stale = [w for w in pool.idle if now - w.last_used > max_idle_seconds]
                pool.idle = [w for w in pool.idle if w not in stale]
            for worker in stale:
                self._discard(worker)
                reaped += 1
        return reaped

    def pids(self) -> list[int]:
        """Process ids of the workers and fork servers (for memory figures)."""
        with self._workers_lock:
            workers = [worker.pid for worker in self._workers if worker.alive]
        with self._servers_lock:
            servers = [s.pid for s in self._servers.values() if s.pid is not None]
        return servers + workers

    def stop(self) -> None:
        with self._workers_lock:
            self._stopped = True
            workers = list(self._workers)
            self._workers.clear()
        for worker in workers:
            worker.kill()
        with self._servers_lock:
            self._stopped = True
            servers = list(self._servers.values())
            self._servers.clear()
        for server in servers:
            server.stop()
