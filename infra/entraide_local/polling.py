"""What event source pollers share: the polling thread, idleness for `drain`, batch results.

A poller runs `poll_once()` in a loop in its own thread. `poll_once` says whether it delivered
something (poll again at once), is waiting (records inside a batching window, messages not
visible yet) or found the source idle; in both latter cases it backs off, up to
`idle_interval`. Only an idle poll counts as settled for `drain`.
`kick()` wakes it at once: the stack kicks every poller after each invocation, since a handler's
write usually feeds another source, so the idle back-off costs no latency.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .invoke import Invocation

log = logging.getLogger("entraide_local")


@dataclass(frozen=True)
class PollerSettings:
    idle_interval: float = 1.0  # longest wait between two polls of a source with nothing to do
    first_interval: float = 0.05  # first wait after a delivery, doubled up to idle_interval
    retry_delay: float = 0.5  # first wait before retrying a failed batch; doubles each time
    max_retry_delay: float = 10.0


class PollResult(enum.Enum):
    DELIVERED = "delivered"
    WAITING = "waiting"
    IDLE = "idle"


class Poller(ABC):
    """One event source mapping: a thread that polls a source and invokes one function."""

    def __init__(self, name: str, settings: PollerSettings) -> None:
        self.name = name
        self.settings = settings
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._flush_requested = False
        self._cycles = threading.Condition()
        self._started_cycles = 0
        self._completed_cycles = 0
        self._last_result = PollResult.WAITING
        self._thread = threading.Thread(target=self._run, name=f"poller {name}", daemon=True)

    # -- lifecycle ------------------------------------------------------------------------

    def prepare(self) -> None:  # noqa: B027 - optional hook, not abstract
        """Synchronous setup before the thread starts (e.g. a stream's LATEST position)."""

    @abstractmethod
    def poll_once(self) -> PollResult: ...

    def start(self) -> None:
        self.prepare()
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def join(self, timeout: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def kick(self, *, flush: bool = False) -> None:
        """Poll now; `flush` also delivers records held back by a batching window."""
        if flush:
            self._flush_requested = True
        self._wake.set()

    def take_flush_request(self) -> bool:
        requested, self._flush_requested = self._flush_requested, False
        return requested

    def pause(self, seconds: float) -> bool:
        """Sleep unless stopping; False when the stack is stopping."""
        return not self._stopping.wait(seconds)

    def retry_delay(self, attempt: int) -> float:
        delay = self.settings.retry_delay * 2 ** max(0, attempt - 1)
        return float(min(delay, self.settings.max_retry_delay))

    def _run(self) -> None:
        wait = self.settings.first_interval
        while not self.stopping:
            self._wake.clear()  # before polling: a kick during the poll means "poll again"
            with self._cycles:
                self._started_cycles += 1
            result = self._poll_safely()
            with self._cycles:
                self._completed_cycles = self._started_cycles
                self._last_result = result
                self._cycles.notify_all()
            if result is PollResult.DELIVERED:
                wait = self.settings.first_interval
                continue
            # Back off while nothing is deliverable (an idle source, or messages waiting for
            # their visibility timeout); a kick (an invocation, drain) polls at once anyway.
            self._wake.wait(wait)
            wait = min(wait * 2, self.settings.idle_interval)

    def _poll_safely(self) -> PollResult:
        try:
            return self.poll_once()
        except Exception:
            if not self.stopping:  # the moto server goes away first when stopping
                log.exception("%s: polling failed; retrying in 1 s", self.name)
                self.pause(1.0)
            return PollResult.WAITING

    # -- drain ----------------------------------------------------------------------------

    def wait_until_idle(self, deadline: float) -> bool:
        """Wait for a poll that starts after this call and finds the source idle."""
        with self._cycles:
            target = self._started_cycles + 1
        while True:
            self.kick(flush=True)
            with self._cycles:
                if self._completed_cycles >= target:
                    if self._last_result is PollResult.IDLE:
                        return True
                    target = self._completed_cycles + 1
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._thread.is_alive():
                    return False
                self._cycles.wait(min(remaining, 0.1))


def failed_item_ids(
    invocation: Invocation, item_ids: Sequence[str], reports_item_failures: bool
) -> set[str] | None:
    """The items Lambda would consider failed, or None when the whole batch failed.

    Lambda's rules for ReportBatchItemFailures: no response or an empty `batchItemFailures`
    is full success; an identifier that is missing, empty or not in the batch fails it all.
    """
    if not invocation.ok:
        return None
    value: Any = invocation.value
    if not reports_item_failures or value is None:
        return set()
    if not isinstance(value, dict):
        return None
    failed = set()
    for failure in value.get("batchItemFailures") or ():
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in item_ids:
            log.warning("%s: invalid batchItemFailures entry %r", invocation.trigger, failure)
            return None
        failed.add(str(identifier))
    return failed
