"""The local stack: the whole pipeline of a SAM template on one machine, no AWS, no Docker.

`LocalStack` starts moto's server, creates the template's resources in it, starts each
function's execution environments (worker processes, see `workers`), serves the API routes and
Lambda's Invoke API over HTTP, polls the streams and queues, and fires the schedules. In a
pytest fixture::

    @pytest.fixture(scope="module")
    def stack(tmp_path_factory):
        with LocalStack("template.yaml", parameters={...}) as stack:  # free ports
            yield stack

    def test_offer_is_moderated(stack):
        requests.post(stack.api_url + "offers", json={...})
        stack.drain()  # every stream record and queue message has been handled

`run()` is the long-running command: fixed ports, a state file for other commands
(`fire_from_state`), a banner, and Ctrl-C / SIGTERM to stop.
"""

from __future__ import annotations

import faulthandler
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, Self
from urllib.parse import unquote

from . import moto_fixes
from .api import ApiApplication, ApiServer, HttpRequest, HttpResponse, build_routes, json_response
from .asynchronous import AWS_RETRY_DELAYS, AsyncInvocations
from .clients import ACCOUNT_ID, DEFAULT_REGION, MotoClients, aws_environment
from .gateway import gateway_responses
from .iam.hook import note_reported_denial
from .iam.policies import FunctionPolicy, function_policies
from .inprocess import InProcessRuntime, restore_environment
from .invoke import DEFAULT_CONCURRENCY, Invocation, Invoker, Runtime
from .lambda_api import LambdaApiApplication
from .mappings import EventSourceMappings
from .outbox import OutboxViewer
from .polling import PollerSettings
from .provision import DEFAULT_STACK_NAME, DeployedFunction, Deployment, provision
from .resources import STATUS_SKIPPED
from .schedules import Clock, SystemClock
from .sources import EventSources
from .state import (
    LocalStackError,
    fire_from_state,
    remove_state,
    running_state,
    state_file,
    write_state,
)
from .template import TemplateError, load_template
from .workers import SetupCalls, WorkerRuntime, function_log, no_setup

log = logging.getLogger("entraide_local")

__all__ = ["LocalStack", "LocalStackError", "fire_from_state", "run", "run_from_cli"]

_SWEEP_INTERVAL = 5.0  # seconds between clean-ups of moto's stream iterators and records
_IDLE_WORKER_SECONDS = 600.0  # an execution environment unused that long is stopped


class LocalStack:
    """Context manager that runs the local stack in background threads of this process.

    Ports 0 pick free ports. Every function gets one execution environment at start (its
    cold start); a handler that cannot be imported fails the start unless
    `fail_on_import_error=False` (then the environments start in the background and its
    invocations fail with `Runtime.ImportModuleError`, as in Lambda).

    `index_lag`: seconds before a write shows in global secondary indexes (`moto_fixes`).
    `async_retry_delays`: waits before the retries of a failed asynchronous invocation
    (Lambda's one and two minutes by default). `default_concurrency`: the concurrency of a
    function without `ReservedConcurrentExecutions`. `setup_for(function)`: the setup calls
    each worker makes before importing the handler (`worker.run_setup`). `in_process`: run the
    handlers in this process, for a debugger only (`inprocess`).

    moto's backends are process-wide: resources of two stacks in one process are visible to
    both (give them different `stack_name`s), and `moto.mock_aws` resets them, so do not run
    `mock_aws` tests while a LocalStack is up. The process environment points boto3 at the
    moto server while the stack runs (`set_process_environment`), and is restored on stop.
    """

    def __init__(
        self,
        template: Path | str,
        *,
        port: int = 0,
        moto_port: int = 0,
        region: str = DEFAULT_REGION,
        stack_name: str = DEFAULT_STACK_NAME,
        parameters: Mapping[str, Any] | None = None,
        state_dir: Path | str | None = None,
        clock: Clock | None = None,
        poller_settings: PollerSettings | None = None,
        set_process_environment: bool = True,
        fail_on_import_error: bool = True,
        enforce_iam: bool = True,
        index_lag: float = 0.0,
        async_retry_delays: Sequence[float] = AWS_RETRY_DELAYS,
        default_concurrency: int = DEFAULT_CONCURRENCY,
        setup_for: SetupCalls = no_setup,
        in_process: bool = False,
        lambda_port: int = 0,
    ) -> None:
        self.template_path = Path(template)
        self.port = port
        self.moto_port = moto_port
        self.region = region
        self.stack_name = stack_name
        self.parameters = dict(parameters or {})
        self.state_path = state_file(state_dir) if state_dir is not None else None
        self.clock: Clock = clock or SystemClock()
        self.poller_settings = poller_settings or PollerSettings()
        self.set_process_environment = set_process_environment
        self.fail_on_import_error = fail_on_import_error
        # Each function's calls checked against its template policy, as IAM would.
        self.enforce_iam = enforce_iam
        self.index_lag = index_lag
        self.async_retry_delays = tuple(async_retry_delays)
        self.default_concurrency = default_concurrency
        self.setup_for = setup_for
        self.in_process = in_process
        self.lambda_port = lambda_port
        self.startup_seconds = 0.0
        self._policies: dict[str, FunctionPolicy] = {}
        self._moto: Any = None
        self._saved_environment: dict[str, str] | None = None
        self._api: ApiServer | None = None
        self._sources: EventSources | None = None
        self._invoker: Invoker | None = None
        self._runtime: WorkerRuntime | None = None
        self._asynchronous: AsyncInvocations | None = None
        self._mappings: EventSourceMappings | None = None
        self._lambda_api: ApiServer | None = None
        self._prewarm: threading.Thread | None = None
        self._deployment: Deployment | None = None
        self._clients: MotoClients | None = None
        self._stopping = threading.Event()
        self._sweeper: threading.Thread | None = None
        self._iterators_seen_at_last_sweep: set[str] = set()

    # -- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> Self:
        started = time.monotonic()
        try:
            self._start_runtime()
            self._start_moto()
            self._deploy()
            self._start_serving()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        if self.state_path is not None:
            write_state(self.state_path, self.state())
        return self

    def _start_runtime(self) -> None:
        """The fork server starts first: its imports overlap moto's start and provisioning."""
        if self.in_process:
            return
        self._runtime = WorkerRuntime(
            environment_of=self._environment_of, setup_for=self._setup_calls
        )
        if self.enforce_iam:
            # what a worker's IAM check refuses is counted here too (`iam.denial_count`)
            self._runtime.output_listeners.append(lambda _name, line: note_reported_denial(line))
        threading.Thread(target=self._runtime.start, name="fork server", daemon=True).start()

    def _setup_calls(self, function: DeployedFunction) -> list[dict[str, Any]]:
        """The caller's setup calls, then IAM: the function's policy enforced in its worker."""
        calls = list(self.setup_for(function))
        policy = self._policies.get(function.logical_id)
        if policy is not None:
            calls.append(
                {
                    "module": "entraide_local.iam",
                    "function": "install",
                    "kwargs": policy.install_kwargs(),
                }
            )
        return calls

    def _environment_of(self, function: Any) -> dict[str, str]:
        return self.invoker.function_environment(function)

    def _start_moto(self) -> None:
        from moto.server import ThreadedMotoServer

        _check_port_free(self.moto_port)
        moto_fixes.install()
        moto_fixes.set_index_lag(self.index_lag)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per AWS call
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=self.moto_port, verbose=False)
        self._moto.start()
        environment = aws_environment(self.endpoint_url, self.region)
        if self.set_process_environment:
            self._saved_environment = os.environ.copy()
            os.environ.update(environment)

    def _deploy(self) -> None:
        template = load_template(self.template_path, self.parameters)
        self._clients = MotoClients(self.endpoint_url, self.region)
        self._deployment = provision(
            template, self._clients, stack_name=self.stack_name, region=self.region
        )
        self._policies = function_policies(self._deployment) if self.enforce_iam else {}
        runtime = self._runtime

        def runtime_factory(invoker: Invoker) -> Runtime:
            if runtime is not None:
                return runtime
            return InProcessRuntime(environment_of=invoker.function_environment)

        self._invoker = Invoker(
            self._deployment,
            base_environment={},
            runtime_factory=runtime_factory,
            default_concurrency=self.default_concurrency,
        )
        self._asynchronous = AsyncInvocations(
            self._deployment, self._invoker, self._clients, retry_delays=self.async_retry_delays
        )
        self._mappings = EventSourceMappings(self._deployment)
        self._lambda_api = ApiServer(
            LambdaApiApplication(
                self._deployment, self._invoker, self._asynchronous, self._mappings
            ),
            port=self.lambda_port,
            name="local-lambda-api",
        )
        self._lambda_api.start()
        self._invoker.base_environment = {
            **aws_environment(self.endpoint_url, self.region),
            # botocore's service-specific endpoint: Invoke calls reach the stack, not moto
            "AWS_ENDPOINT_URL_LAMBDA": self.lambda_url.rstrip("/"),
        }
        if not self.fail_on_import_error:
            # `make run`: serve at once; the environments start meanwhile
            self._prewarm = threading.Thread(
                target=self._invoker.prewarm, name="prewarm", daemon=True
            )
            return
        self._invoker.prewarm()
        errors = self._invoker.import_errors
        if errors:
            details = "; ".join(
                f"{name}: {trace.strip().splitlines()[-1]}" for name, trace in errors.items()
            )
            raise LocalStackError(f"cannot import handlers: {details}")

    def _start_serving(self) -> None:
        deployment, invoker, clients = self.deployment, self.invoker, self._clients
        assert clients is not None
        self._sources = EventSources(
            deployment,
            invoker,
            clients,
            settings=self.poller_settings,
            clock=self.clock,
            asynchronous=self.asynchronous,
            mappings=self.mappings,
        )
        # A handler's writes usually feed another source: poll at once rather than idly.
        invoker.listeners.append(lambda _invocation: self.sources.kick())
        application = ApiApplication(
            build_routes(deployment),
            invoker,
            account_id=ACCOUNT_ID,
            control=self._control,
            gateway=gateway_responses(deployment),
        )
        self._api = ApiServer(application, port=self.port)
        self._api.start()
        self.asynchronous.start()
        self._sources.start()
        if self._prewarm is not None:
            self._prewarm.start()
        self._sweeper = threading.Thread(target=self._sweep_loop, name="sweeper", daemon=True)
        self._sweeper.start()

    def stop(self) -> None:
        """Stop everything that was started; safe to call twice or after a failed start."""
        self._stopping.set()
        if self._sources is not None:
            self._sources.request_stop()
        if self._asynchronous is not None:
            self._asynchronous.stop()
        if self._invoker is not None:
            self._invoker.stop()  # running invocations end with their workers
        elif self._runtime is not None:
            self._runtime.stop()
        if self._sources is not None:
            self._sources.stop()
        for server in (self._api, self._lambda_api):
            if server is not None:
                server.stop()
        self._api = self._lambda_api = None
        if self._sweeper is not None:
            self._sweeper.join(timeout=5)
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
            moto_fixes.set_index_lag(0.0)
        if self._saved_environment is not None:
            restore_environment(self._saved_environment)
            self._saved_environment = None
        if self.state_path is not None:
            remove_state(self.state_path)

    # -- what tests and commands use ------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        """The moto server's URL (what AWS_ENDPOINT_URL is set to)."""
        if self._moto is None:
            raise LocalStackError("the local stack is not started")
        host, port = self._moto.get_host_and_port()
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        """The API's base URL, with a trailing slash: `http://127.0.0.1:3000/`."""
        if self._api is None:
            raise LocalStackError("the local stack is not started")
        return self._api.url

    @property
    def lambda_url(self) -> str:
        """The Invoke API's base URL (what functions get as AWS_ENDPOINT_URL_LAMBDA)."""
        if self._lambda_api is None:
            raise LocalStackError("the local stack is not started")
        return self._lambda_api.url

    @property
    def mappings(self) -> EventSourceMappings:
        """The SQS event source mappings, which the Lambda API enables and disables."""
        if self._mappings is None:
            raise LocalStackError("the local stack is not started")
        return self._mappings

    @property
    def asynchronous(self) -> AsyncInvocations:
        if self._asynchronous is None:
            raise LocalStackError("the local stack is not started")
        return self._asynchronous

    def worker_pids(self) -> list[int]:
        """Process ids of the fork servers and the workers (for memory figures)."""
        return [] if self._runtime is None else self._runtime.pids()

    @property
    def deployment(self) -> Deployment:
        if self._deployment is None:
            raise LocalStackError("the local stack is not started")
        return self._deployment

    @property
    def invoker(self) -> Invoker:
        if self._invoker is None:
            raise LocalStackError("the local stack is not started")
        return self._invoker

    @property
    def sources(self) -> EventSources:
        if self._sources is None:
            raise LocalStackError("the local stack is not started")
        return self._sources

    def client(self, service_name: str) -> Any:
        """A boto3 client on the moto server."""
        if self._clients is None:
            raise LocalStackError("the local stack is not started")
        return self._clients(service_name)

    def invoke(self, name: str, event: Any) -> Invocation:
        """Call a function directly (logical id or code folder name)."""
        function = self.deployment.function(name)
        return self.invoker.invoke(function.logical_id, event, trigger="direct invocation")

    def fire(self, name: str) -> Any:
        """Fire a scheduled function now and return its result; raises its LambdaError."""
        invocation = self.sources.scheduler.fire_now(name)
        if invocation.error is not None:
            raise invocation.error
        return invocation.value

    def invoke_async(self, name: str, event: Any) -> str:
        """Invoke a function asynchronously (as EventBridge and Invoke `Event` do)."""
        function = self.deployment.function(name)
        return self.asynchronous.submit(function, event, trigger="asynchronous invocation")

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until every stream and queue is idle and no invocation runs.

        Pending batching windows are cut short. Rounds repeat until one sees no invocation at
        all, since a handler may feed another source. TimeoutError names what is still busy.
        """
        deadline = time.monotonic() + timeout
        activity = self.invoker.activity
        while True:
            with activity.changed:
                completed_before = activity.completed
            busy = self.sources.busy_pollers(deadline)
            pending = self.asynchronous.pending
            if pending:
                busy.append(f"{pending} asynchronous event(s)")
            with activity.changed:
                if not busy and activity.running == 0 and activity.completed == completed_before:
                    return
                if time.monotonic() >= deadline:
                    running = (
                        f", {activity.running} invocation(s) running" if activity.running else ""
                    )
                    raise TimeoutError(
                        f"local stack still busy after {timeout} s: {', '.join(busy)}{running}"
                    )
                if activity.running:
                    activity.changed.wait(min(0.1, max(0.0, deadline - time.monotonic())))
            if pending and not activity.running:
                self.asynchronous.wait(min(0.1, max(0.0, deadline - time.monotonic())))

    def state(self) -> dict[str, Any]:
        """What the state file holds."""
        return {
            "pid": os.getpid(),
            "api_url": self.api_url,
            "endpoint_url": self.endpoint_url,
            "lambda_url": self.lambda_url,
            **self.deployment.to_json(),
        }

    @property
    def outbox_dir(self) -> Path | None:
        """Where the functions write the emails they send (parameter OutboxDir), if set."""
        folder = str(self.parameters.get("OutboxDir") or "")
        return Path(folder) if folder else None

    def _callers(self, function: DeployedFunction) -> list[str]:
        """'invoked by X' for each function given this one's name or ARN in its environment
        (how a function finds the one it invokes, e.g. the stream router's targets)."""
        return [
            f"invoked by {caller.display_name}"
            for caller in self.deployment.functions.values()
            if caller is not function
            and {function.name, function.arn} & set(caller.environment.values())
        ]

    def banner(self) -> str:
        deployment = self.deployment
        lines = [
            f"ShareEntraide local stack '{self.stack_name}' ({deployment.region}) "
            f"ready in {self.startup_seconds:.1f} s, from {deployment.template.path}",
            f"  web form and API   {self.api_url}",
            f"  emails sent        {self.api_url}_local/outbox"
            + (f"   ({self.outbox_dir})" if self.outbox_dir else "   (none: OutboxDir is empty)"),
            f"  AWS (moto)         {self.endpoint_url}   (AWS_ENDPOINT_URL)",
            f"  Lambda Invoke API  {self.lambda_url}   (AWS_ENDPOINT_URL_LAMBDA)",
            f"  functions run      {self._runtime_description()}",
            "  IAM                "
            + ("each function's template policy enforced" if self.enforce_iam else "not enforced"),
        ]
        if self.state_path is not None:
            lines.append(f"  state              {self.state_path}")
        counts: dict[str, int] = {}
        for resource in deployment.resources.values():
            counts[resource.status] = counts.get(resource.status, 0) + 1
        lines.append("  resources          " + ", ".join(f"{n} {s}" for s, n in counts.items()))
        skipped = [r for r in deployment.resources.values() if r.status == STATUS_SKIPPED]
        if skipped:
            names = ", ".join(f"{r.logical_id} ({r.type})" for r in skipped)
            lines.append(f"  not emulated       {names}")
        lines.append("  functions:")
        for function in deployment.functions.values():
            triggers = "; ".join(self.sources.describe(function) + self._callers(function))
            failed = (
                "  [IMPORT FAILED]" if function.logical_id in self.invoker.import_errors else ""
            )
            lines.append(f"    {function.display_name:<18} {triggers or 'no events'}{failed}")
        lines.append("  fire a schedule now: POST /_local/fire/<function>; stop: Ctrl-C")
        return "\n".join(lines)

    def _runtime_description(self) -> str:
        if self.in_process:
            return "in this process, one at a time, timeouts not enforced (debugging)"
        lag = f"; index lag {self.index_lag:g} s" if self.index_lag else ""
        return (
            "in worker processes; timeouts enforced; concurrency per function "
            f"(ReservedConcurrentExecutions, else {self.default_concurrency}){lag}"
        )

    # -- control API -------------------------------------------------------------------------

    def _control(self, request: HttpRequest) -> HttpResponse:
        action, _, argument = request.path.removeprefix("/_local/").partition("/")
        if action == "outbox" and request.method == "GET":
            return OutboxViewer(self.outbox_dir).handle(request)
        if action == "health" and request.method == "GET":
            return json_response(200, {"status": "ok", "stack_name": self.stack_name})
        if action == "fire" and request.method == "POST" and argument:
            return self._control_fire(unquote(argument), request.body)
        if action == "drain" and request.method == "POST":
            try:
                self.drain()
            except TimeoutError as error:
                return json_response(504, {"message": str(error)})
            return json_response(200, {"drained": True})
        paths = [
            "GET /_local/health",
            "GET /_local/outbox",
            "POST /_local/fire/<name>",
            "POST /_local/drain",
        ]
        return json_response(404, {"message": "unknown control request", "paths": paths})

    def _control_fire(self, name: str, body: bytes) -> HttpResponse:
        try:
            fields = json.loads(body) if body.strip() else {}
        except ValueError:
            fields = None
        if not isinstance(fields, dict):
            return json_response(400, {"message": "the body must be a JSON object (event fields)"})
        try:
            invocation = self.sources.scheduler.fire_now(name, fields)
        except KeyError as error:
            return json_response(404, {"message": error.args[0]})
        function_header = ("X-Local-Function", invocation.function.display_name)
        failure = invocation.lambda_error
        if failure is not None:
            return json_response(500, failure.document(invocation.request_id), [function_header])
        body = json.dumps(invocation.value, default=str).encode()
        return HttpResponse(200, [("Content-Type", "application/json"), function_header], body)

    # -- housekeeping --------------------------------------------------------------------------

    def _sweep_loop(self) -> None:
        from .ttl import expire_items

        while not self._stopping.wait(_SWEEP_INTERVAL):
            self.sweep_stream_iterators()
            try:  # DynamoDB's TTL, which moto does not run (entraide_local.ttl)
                expire_items(self.client("dynamodb"), now=self.clock.now())
            except Exception as error:  # the next sweep tries again
                log.warning("TTL sweep failed: %s", type(error).__name__)
            moto_fixes.trim_stream_records(ACCOUNT_ID, self.region)
            if self._runtime is not None:
                self._runtime.reap_idle(_IDLE_WORKER_SECONDS)

    def sweep_stream_iterators(self) -> int:
        """Make moto forget stream iterators nobody can use any more; returns how many.

        moto keeps every shard iterator it ever issued (each GetRecords issues one, about
        2 kB) for the life of the process. Only iterators that already existed at the previous
        sweep and that no poller holds are dropped, so one issued meanwhile is never lost.
        """
        from moto.dynamodbstreams.models import dynamodbstreams_backends

        issued = dynamodbstreams_backends[ACCOUNT_ID][self.region].shard_iterators
        stale = self._iterators_seen_at_last_sweep - self.sources.stream_iterators()
        for iterator in stale:
            issued.pop(iterator, None)
        self._iterators_seen_at_last_sweep = set(issued.copy())  # copy: atomic, moto adds
        return len(stale)


def _check_port_free(port: int) -> None:
    """Fail clearly: moto's server thread dies silently on a busy port, and start() hangs."""
    if port == 0:
        return
    try:
        socket.create_server(("127.0.0.1", port)).close()
    except OSError as error:
        raise LocalStackError(f"port {port} for moto is not free: {error.strerror}") from None


# --- the command ------------------------------------------------------------------------------


# A clean stop takes 1-4 s on a loaded two-core machine (workers killed, pollers joined 5 s at
# most each); past this the stop is stuck, not slow.
STOP_GRACE_SECONDS = 30.0


def configure_console(state_dir: Path | str) -> Path:
    """Print the stack's lines on stdout, plainly; the functions' JSON logs go to a file
    under ``state_dir`` (returned), as CloudWatch Logs would keep them."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    path = Path(state_dir) / "logs" / "functions.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    file_handler = logging.FileHandler(path, encoding="utf-8")
    file_handler.setFormatter(logging.Formatter("%(message)s"))
    function_log.addHandler(file_handler)
    function_log.setLevel(logging.INFO)
    return path


def run(
    template_path: Path | str = "template.yaml",
    port: int = 3000,
    moto_port: int = 5000,
    state_dir: Path | str = "var",
    stack_name: str = DEFAULT_STACK_NAME,
    region: str = DEFAULT_REGION,
    parameters: Mapping[str, Any] | None = None,
    enforce_iam: bool = True,
    *,
    index_lag: float = 0.0,
    in_process: bool = False,
) -> None:
    """Run the local stack until Ctrl-C or SIGTERM."""
    existing = running_state(state_dir)
    if existing is not None:
        raise LocalStackError(
            f"a local stack already runs (pid {existing['pid']}, {existing['api_url']})"
        )
    logs = configure_console(state_dir)
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        if stop_requested.is_set():
            os._exit(128 + signum)  # a second Ctrl-C: the user no longer waits for a clean stop
        stop_requested.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with LocalStack(
            template_path,
            port=port,
            moto_port=moto_port,
            region=region,
            stack_name=stack_name,
            parameters=parameters,
            state_dir=state_dir,
            fail_on_import_error=False,  # serve the other functions; the console says which
            index_lag=index_lag,
            in_process=in_process,
            enforce_iam=enforce_iam,
        ) as stack:
            print(stack.banner(), flush=True)
            print(f"  functions' logs    {logs}   (JSON, as CloudWatch keeps them)", flush=True)
            while not stop_requested.wait(0.5):
                pass
            print("stopping...", flush=True)
            # A stop that hangs says where: every thread's stack on stderr, then exit status 1
            # (the C watchdog also covers the interpreter's exit, which joins worker threads).
            faulthandler.dump_traceback_later(STOP_GRACE_SECONDS, exit=True)
        print("stopped", flush=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_from_cli(
    template_path: Path | str = "template.yaml",
    *,
    port: int = 3000,
    moto_port: int = 5000,
    state_dir: Path | str = "var",
    stack_name: str = DEFAULT_STACK_NAME,
    region: str = DEFAULT_REGION,
    parameters: Sequence[str] = (),
    enforce_iam: bool = True,
    index_lag: float = 0.0,
    in_process: bool = False,
) -> int:
    """`run` for a command line: `parameters` as `Key=Value`; returns the exit status."""
    try:
        overrides = dict(_parameter(item) for item in parameters)
        run(
            template_path,
            port,
            moto_port,
            state_dir,
            stack_name,
            region,
            overrides,
            index_lag=index_lag,
            in_process=in_process,
            enforce_iam=enforce_iam,
        )
    except (TemplateError, LocalStackError, OSError, ValueError) as error:
        print(f"entraide local: {error}", file=sys.stderr)
        return 1
    return 0


def _parameter(item: str) -> tuple[str, str]:
    key, separator, value = item.partition("=")
    if not separator:
        raise ValueError(f"parameter {item!r}: expected Key=Value")
    return key, value
