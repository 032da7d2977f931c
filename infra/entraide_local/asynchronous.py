"""Asynchronous invocations: Lambda's event queue, its retries and its destinations.

What Lambda does with an `Event` invocation (the Invoke API's, EventBridge schedules'), from
"How Lambda handles errors and retries with asynchronous invocation"
(https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html):

- the event is queued and the caller gets 202 at once;
- "If the function returns an error, by default Lambda attempts to run it two more times, with
  a one-minute wait between the first two attempts, and two minutes between the second and
  third attempts. Function errors include errors returned by the function's code and errors
  returned by the function's runtime, such as timeouts." The function's `EventInvokeConfig`
  sets `MaximumRetryAttempts` (0-2) and `MaximumEventAgeInSeconds` (60-21600, default six
  hours); the delays are shortened for tests (`retry_delays`);
- while the function is at its concurrency the event waits in the queue (no attempt is used);
- when attempts run out or the event gets too old, Lambda discards it, or sends an invocation
  record to the `OnFailure` destination; a success goes to `OnSuccess` if there is one. The
  record's shape is that of "Capturing records of Lambda asynchronous invocations"
  (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html):
  `version`, `timestamp`, `requestContext` (requestId, functionArn, condition:
  `Success` / `RetriesExhausted` / `EventAgeExceeded`, approximateInvokeCount),
  `requestPayload`, `responseContext` (statusCode, executedVersion, functionError) and
  `responsePayload` (the result, or the error document).
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .clients import ClientFactory
from .destinations import send_to_destination
from .invoke import Invocation, Invoker
from .provision import DeployedFunction, Deployment

log = logging.getLogger("entraide_local")

AWS_RETRY_DELAYS = (60.0, 120.0)  # seconds before the second and the third attempt


@dataclass
class AsyncEvent:
    function: DeployedFunction
    payload: Any
    trigger: str
    request_id: str
    received: float  # time.time() when queued
    attempts: int = 0


@dataclass(frozen=True)
class _Destinations:
    maximum_retry_attempts: int
    maximum_event_age_seconds: int
    on_success: str | None
    on_failure: str | None


def invocation_record(event: AsyncEvent, condition: str, last: Invocation | None) -> dict[str, Any]:
    """The record Lambda sends to an asynchronous invocation's destination."""
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {
            "requestId": event.request_id,
            "functionArn": f"{event.function.arn}:$LATEST",
            "condition": condition,
            "approximateInvokeCount": event.attempts,
        },
        "requestPayload": event.payload,
    }
    if last is not None:
        response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        error = last.lambda_error
        if error is not None:
            response_context["functionError"] = "Unhandled"
        record["responseContext"] = response_context
        record["responsePayload"] = (
            last.value if error is None else error.document(event.request_id)
        )
    return record


class AsyncInvocations:
    """The asynchronous event queue of every function of a deployment."""

    def __init__(
        self,
        deployment: Deployment,
        invoker: Invoker,
        clients: ClientFactory,
        *,
        retry_delays: Sequence[float] = AWS_RETRY_DELAYS,
    ) -> None:
        self.invoker = invoker
        self.clients = clients
        self.retry_delays = tuple(retry_delays)
        self.settings = {
            logical_id: self._settings(deployment, function)
            for logical_id, function in deployment.functions.items()
        }
        self._executors = {
            logical_id: ThreadPoolExecutor(
                max_workers=max(1, invoker.concurrency.limits[logical_id]),
                thread_name_prefix=f"async {function.display_name}",
            )
            for logical_id, function in deployment.functions.items()
        }
        self._due: list[tuple[float, int, AsyncEvent]] = []
        self._sequence = itertools.count()
        self._pending = 0  # queued, waiting for a retry, or running
        self._changed = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="async invocations", daemon=True)

    @staticmethod
    def _settings(deployment: Deployment, function: DeployedFunction) -> _Destinations:
        spec = function.spec.event_invoke
        where = f"Resources.{function.logical_id}.Properties.EventInvokeConfig.DestinationConfig"

        def arn(value: Any, key: str) -> str | None:
            return None if value is None else str(deployment.resolve(value, f"{where}.{key}"))

        return _Destinations(
            maximum_retry_attempts=spec.maximum_retry_attempts,
            maximum_event_age_seconds=spec.maximum_event_age_seconds,
            on_success=arn(spec.on_success, "OnSuccess.Destination"),
            on_failure=arn(spec.on_failure, "OnFailure.Destination"),
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        for executor in self._executors.values():
            executor.shutdown(wait=False, cancel_futures=True)

    @property
    def pending(self) -> int:
        """Events not yet done with: queued, waiting for a retry, or running."""
        with self._changed:
            return self._pending

    def wait(self, timeout: float) -> None:
        """Return when an event is done with, or after `timeout`."""
        with self._changed:
            self._changed.wait(timeout)

    def submit(self, function: DeployedFunction, payload: Any, *, trigger: str) -> str:
        """Queue an event for the function (what Invoke with `Event` does); its request id."""
        event = AsyncEvent(
            function,
            json.loads(json.dumps(payload)),
            trigger,
            str(uuid.uuid4()),
            received=time.time(),
        )
        with self._changed:
            self._pending += 1
        self._schedule(event, delay=0.0)
        return event.request_id

    def _schedule(self, event: AsyncEvent, delay: float) -> None:
        with self._changed:
            heapq.heappush(self._due, (time.monotonic() + delay, next(self._sequence), event))
            self._changed.notify_all()

    def _run(self) -> None:
        while True:
            with self._changed:
                if self._stopping:
                    return
                now = time.monotonic()
                if not self._due or self._due[0][0] > now:
                    wait = (self._due[0][0] - now) if self._due else 1.0
                    self._changed.wait(min(wait, 1.0))
                    continue
                _, _, event = heapq.heappop(self._due)
            executor = self._executors[event.function.logical_id]
            executor.submit(self._attempt, event)

    def _attempt(self, event: AsyncEvent) -> None:
        settings = self.settings[event.function.logical_id]
        if time.time() - event.received > settings.maximum_event_age_seconds:
            self._give_up(event, "EventAgeExceeded", None)
            return
        event.attempts += 1
        retry = event.attempts - 1
        trigger = f"{event.trigger} (retry {retry})" if retry else event.trigger
        invocation = self.invoker.invoke(
            event.function.logical_id,
            event.payload,
            trigger=trigger,
            request_id=event.request_id,
        )
        if invocation.ok:
            if settings.on_success is not None:
                self._send(settings.on_success, invocation_record(event, "Success", invocation))
            self._done()
            return
        retries_left = settings.maximum_retry_attempts - (event.attempts - 1)
        if retries_left > 0 and not invocation.throttled:
            delay = self.retry_delays[min(event.attempts, len(self.retry_delays)) - 1]
            log.info(
                "%s: asynchronous invocation failed, attempt %d in %.0f s",
                event.function.display_name,
                event.attempts + 1,
                delay,
            )
            self._schedule(event, delay)
            return
        self._give_up(event, "RetriesExhausted", invocation)

    def _give_up(self, event: AsyncEvent, condition: str, last: Invocation | None) -> None:
        destination = self.settings[event.function.logical_id].on_failure
        if destination is None:
            log.warning(
                "%s: asynchronous event dropped (%s, %d attempts)",
                event.function.display_name,
                condition,
                event.attempts,
            )
        else:
            self._send(destination, invocation_record(event, condition, last))
            log.warning(
                "%s: asynchronous event sent to %s (%s, %d attempts)",
                event.function.display_name,
                destination.rsplit(":", 1)[-1],
                condition,
                event.attempts,
            )
        self._done()

    def _send(self, destination: str, record: dict[str, Any]) -> None:
        try:
            send_to_destination(self.clients, destination, json.dumps(record))
        except Exception:  # Lambda counts a DestinationDeliveryFailures metric and moves on
            log.exception("cannot deliver an invocation record to %s", destination)

    def _done(self) -> None:
        with self._changed:
            self._pending -= 1
            self._changed.notify_all()
