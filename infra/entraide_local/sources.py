"""The event sources of a deployment: stream and queue pollers plus the scheduler.

`EventSources` reads every function's events from the template (no other list of triggers
exists): `DynamoDB` → `streams.StreamPoller`, `SQS` → `queues.QueuePoller`, `Schedule` and
`ScheduleV2` → `schedules.Scheduler`. Other event types are reported as not emulated.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from .asynchronous import AsyncInvocations
from .clients import ClientFactory
from .invoke import Invoker
from .mappings import EventSourceMapping, EventSourceMappings
from .polling import Poller, PollerSettings
from .provision import DeployedFunction, Deployment
from .queues import QueuePoller
from .schedules import Clock, Scheduler
from .streams import StreamPoller
from .template import ApiEvent, EventSpec, QueueEvent, ScheduleEvent, StreamEvent

log = logging.getLogger("entraide_local")


def _where(function: DeployedFunction, event: EventSpec) -> str:
    return f"Resources.{function.logical_id}.Properties.Events.{event.name}.Properties"


def _events(deployment: Deployment) -> Iterator[tuple[DeployedFunction, EventSpec]]:
    for function in deployment.functions.values():
        for event in function.spec.events:
            yield function, event


class EventSources:
    """Starts, stops and watches every poller and the scheduler of a deployment."""

    def __init__(
        self,
        deployment: Deployment,
        invoker: Invoker,
        clients: ClientFactory,
        *,
        settings: PollerSettings,
        clock: Clock,
        asynchronous: AsyncInvocations,
        mappings: EventSourceMappings,
    ) -> None:
        self.deployment = deployment
        self.mappings = mappings
        self.pollers: list[Poller] = []
        for function, event in _events(deployment):
            poller = self._poller(function, event, invoker, clients, settings)
            if poller is not None:
                self.pollers.append(poller)
        self.scheduler = Scheduler(deployment, invoker, clock, asynchronous)
        mappings.listeners.append(self._mapping_changed)

    def _mapping_changed(self, mapping: EventSourceMapping) -> None:
        for poller in self.pollers:
            if isinstance(poller, QueuePoller) and poller.mapping is mapping:
                poller.kick()  # enabled: poll at once, as Lambda resumes polling

    def _poller(
        self,
        function: DeployedFunction,
        event: EventSpec,
        invoker: Invoker,
        clients: ClientFactory,
        settings: PollerSettings,
    ) -> Poller | None:
        where, resolve = _where(function, event), self.deployment.resolve
        region = self.deployment.region
        if isinstance(event, StreamEvent) and event.enabled:
            destination = event.on_failure_destination
            return StreamPoller(
                function,
                event,
                stream_arn=str(resolve(event.stream, f"{where}.Stream")),
                destination_arn=None
                if destination is None
                else str(resolve(destination, f"{where}.DestinationConfig.OnFailure.Destination")),
                invoker=invoker,
                clients=clients,
                region=region,
                settings=settings,
            )
        if isinstance(event, QueueEvent):  # disabled or not: it can be enabled at run time
            return QueuePoller(
                function,
                event,
                queue_arn=str(resolve(event.queue, f"{where}.Queue")),
                mapping=self.mappings.of(function.logical_id, event.name),
                invoker=invoker,
                clients=clients,
                region=region,
                settings=settings,
            )
        return None

    def start(self) -> None:
        for poller in self.pollers:
            poller.start()
        self.scheduler.start()

    def request_stop(self) -> None:
        """Tell every poller to stop, without waiting (invocations may still be running)."""
        for poller in self.pollers:
            poller.stop()

    def stop(self) -> None:
        self.scheduler.stop()
        self.request_stop()
        for poller in self.pollers:
            poller.join(timeout=5)

    def kick(self) -> None:
        for poller in self.pollers:
            poller.kick()

    def busy_pollers(self, deadline: float) -> list[str]:
        """Names of the pollers that did not find their source idle before `deadline`."""
        for poller in self.pollers:
            poller.kick(flush=True)
        return [poller.name for poller in self.pollers if not poller.wait_until_idle(deadline)]

    def stream_iterators(self) -> set[str]:
        return set().union(
            *(p.current_iterators() for p in self.pollers if isinstance(p, StreamPoller))
        )

    def describe(self, function: DeployedFunction) -> list[str]:
        """The triggers of a function, one short phrase each, for the banner."""
        return [self._describe_event(function, event) for event in function.spec.events]

    def _describe_event(self, function: DeployedFunction, event: EventSpec) -> str:
        if isinstance(event, ApiEvent):
            return f"{event.method} {event.path}"
        poller = next((p for p in self.pollers if getattr(p, "event", None) is event), None)
        if isinstance(poller, StreamPoller):
            return f"DynamoDB stream {poller.table_name}"
        if isinstance(poller, QueuePoller):
            state = "" if poller.mapping.enabled else " (disabled)"
            return f"SQS {poller.queue_name}{state}"
        if isinstance(event, ScheduleEvent):
            state = "" if event.enabled else " (disabled)"
            return f"{event.expression}{state}"
        if isinstance(event, StreamEvent | QueueEvent):
            return f"{event.name} (disabled)"
        return f"{event.type} event {event.name}: not emulated"
