"""A fork server: one process that imports the heavy libraries once, then forks workers.

Starting a worker from a fresh interpreter costs the import of boto3, pydantic, powertools...
on every cold start (about a second on these machines). The fork server imports them once,
then each worker is a `fork()` of it that only imports the function's own code
(`bench/worker_cold_start.py` measures both). What it preloads must never be the function's
code or read anything a function may configure: the server records every environment variable
the preloaded modules read while importing (`ForkServer.variables_read`), so that a function
whose environment sets one of them differently gets a worker of a server that preloaded
nothing (`WorkerRuntime`).

Why not `multiprocessing`'s forkserver: it re-runs the parent's main script in every child
(`.venv/bin/entraide` imports the domain package there), and it leaves the workers in the
terminal's process group, where Ctrl-C interrupts handlers mid-invocation. Here the server
and its workers live in a session of their own; they end when the stack closes their sockets.

Protocol on a Unix socket pair: the server first sends its report (length-prefixed JSON); then
each request is one byte with two descriptors attached (the worker's connection and the write
end of its log pipe), answered with the worker's pid (8 bytes). Workers are reaped by the
kernel (SIGCHLD ignored in the server).

    python -m entraide_local.forkserver FD MODULE...
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, Pipe
from typing import Any

_FORK_REQUEST = b"F"
_PID = struct.Struct(">q")
_LENGTH = struct.Struct(">I")


class ForkServerError(RuntimeError):
    """The fork server could not start or stopped answering."""


# --- the server process ----------------------------------------------------------------------


class _RecordingEnviron(os._Environ):  # type: ignore[type-arg]
    """`os.environ` that notes every variable looked up, present or not."""

    def __init__(self, original: Any, seen: set[str]) -> None:
        super().__init__(
            original._data,
            original.encodekey,
            original.decodekey,
            original.encodevalue,
            original.decodevalue,
        )
        self._seen = seen

    def __getitem__(self, key: str) -> str:
        self._seen.add(key)
        return str(super().__getitem__(key))

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self._seen.add(key)
        return super().__contains__(key)


def preload(modules: Sequence[str]) -> dict[str, Any]:
    """Import `modules`, noting the environment variables they read; the server's report."""
    seen: set[str] = set()
    original = os.environ
    os.environ = _RecordingEnviron(original, seen)  # noqa: B003 - same mapping, restored below
    started = time.perf_counter()
    loaded, failed = [], {}
    try:
        for name in modules:
            try:
                importlib.import_module(name)
                loaded.append(name)
            except Exception as error:  # a missing optional library: its workers import it
                failed[name] = f"{type(error).__name__}: {error}"
    finally:
        os.environ = original  # noqa: B003 - the original object back
    return {
        "preloaded": loaded,
        "failed": failed,
        "variables_read": {name: original.get(name) for name in sorted(seen)},
        "preload_ms": int((time.perf_counter() - started) * 1000),
    }


def serve(channel: socket.socket, modules: Sequence[str]) -> None:
    from entraide_local import worker  # the workers' code, imported once here

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the workers
    report = json.dumps(preload(modules)).encode()
    channel.sendall(_LENGTH.pack(len(report)) + report)
    while True:
        try:
            message, descriptors, _, _ = socket.recv_fds(channel, 1, 2)
        except OSError:
            return
        if not message:
            return  # the stack closed its end
        pid = os.fork()
        if pid == 0:
            channel.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # handlers may wait for subprocesses
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            worker.main(descriptors[0], descriptors[1])
        for descriptor in descriptors:
            os.close(descriptor)
        channel.sendall(_PID.pack(pid))


def main(argv: Sequence[str] | None = None) -> None:
    arguments = list(sys.argv[1:] if argv is None else argv)
    channel = socket.socket(fileno=int(arguments[0]))
    serve(channel, arguments[1:])


# --- the stack's side ------------------------------------------------------------------------


@dataclass(frozen=True)
class ForkedWorker:
    pid: int
    connection: Connection
    log_fd: int  # read end of the worker's stdout and stderr


@dataclass
class ForkServer:
    """Starts and talks to a fork server process."""

    preload_modules: Sequence[str]
    environment: Mapping[str, str]  # the server's (and so the preload's) environment
    report: dict[str, Any] = field(default_factory=dict)
    _process: subprocess.Popen[bytes] | None = None
    _channel: socket.socket | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, timeout: float = 120.0) -> None:
        ours, theirs = socket.socketpair()
        self._process = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
            [
                sys.executable,
                "-m",
                "entraide_local.forkserver",
                str(theirs.fileno()),
                *self.preload_modules,
            ],
            pass_fds=(theirs.fileno(),),
            env=dict(self.environment),
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # away from the terminal's Ctrl-C
        )
        theirs.close()
        ours.settimeout(timeout)
        self._channel = ours
        try:
            (length,) = _LENGTH.unpack(self._receive(_LENGTH.size))
            self.report = json.loads(self._receive(length))
        except (OSError, ValueError, ForkServerError) as error:
            self.stop()
            raise ForkServerError(f"the fork server did not start: {error}") from None
        ours.settimeout(None)

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def variables_read(self) -> dict[str, str | None]:
        """Environment variables the preloaded modules read, with the value they saw."""
        variables: dict[str, str | None] = self.report.get("variables_read", {})
        return variables

    def fork(self) -> ForkedWorker:
        """A new worker process, waiting for its start message."""
        parent_end, child_end = Pipe(duplex=True)
        log_read, log_write = os.pipe()
        try:
            with self._lock:
                if self._channel is None:
                    raise ForkServerError("the fork server is stopped")
                try:
                    socket.send_fds(self._channel, [_FORK_REQUEST], [child_end.fileno(), log_write])
                    (pid,) = _PID.unpack(self._receive(_PID.size))
                except OSError as error:
                    raise ForkServerError(f"the fork server stopped: {error}") from None
        except BaseException:
            parent_end.close()
            os.close(log_read)
            raise
        finally:
            child_end.close()
            os.close(log_write)
        return ForkedWorker(pid, parent_end, log_read)

    def _receive(self, size: int) -> bytes:
        assert self._channel is not None
        data = b""
        while len(data) < size:
            chunk = self._channel.recv(size - len(data))
            if not chunk:
                raise ForkServerError("the fork server closed its socket")
            data += chunk
        return data

    def stop(self) -> None:
        with self._lock:
            if self._channel is not None:
                self._channel.close()
                self._channel = None
        if self._process is not None:
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
            self._process = None


if __name__ == "__main__":
    main()
