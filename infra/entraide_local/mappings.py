"""The SQS event source mappings of a deployment, each enabled or disabled at run time.

In AWS an `SQS` event of a function is an event source mapping with a UUID; its `Enabled`
flag says whether Lambda polls the queue: UpdateEventSourceMapping can "pause invocation and
resume later from the same location" (https://docs.aws.amazon.com/lambda/latest/api/
API_UpdateEventSourceMapping.html); a disabled mapping stops polling, so the messages stay in
the queue until it is enabled again. The template's `Enabled` is the first state; the Lambda
API of the local stack (`lambda_api.py`) flips it, and a disabled mapping's poller receives
nothing, so a message sent meanwhile waits in the queue as it does in AWS.

A mapping's UUID is derived from the stack, the function and the event, so it is the same at
every start of the same stack; `!Ref <function><event>` (SAM's name for the generated
mapping) gives it in the template (`provision.Deployment`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .provision import Deployment, mapping_uuid
from .template import QueueEvent


@dataclass
class EventSourceMapping:
    """One `SQS` event of one function, as Lambda's GetEventSourceMapping describes it."""

    uuid: str
    function_logical_id: str
    event_name: str
    function_arn: str
    event_source_arn: str
    batch_size: int
    #: when the mapping was created or last switched (epoch seconds): GetEventSourceMapping's
    #: LastModified
    last_modified: float = field(default_factory=time.time)
    _enabled: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def enabled(self) -> bool:
        return self._enabled.is_set()

    @property
    def arn(self) -> str:
        """arn:aws:lambda:region:account:event-source-mapping:UUID (the IAM resource)."""
        region_account = ":".join(self.function_arn.split(":")[3:5])
        return f"arn:aws:lambda:{region_account}:event-source-mapping:{self.uuid}"

    def document(self, state: str | None = None) -> dict[str, object]:
        return {
            "UUID": self.uuid,
            "EventSourceMappingArn": self.arn,
            "EventSourceArn": self.event_source_arn,
            "FunctionArn": self.function_arn,
            "BatchSize": self.batch_size,
            "State": state or ("Enabled" if self.enabled else "Disabled"),
            "LastModified": self.last_modified,
        }


@dataclass(frozen=True)
class MappingAnswer:
    """Lambda's answer to GetEventSourceMapping or UpdateEventSourceMapping: the status,
    the mapping's document, or an error's code and message."""

    status: int
    document: dict[str, object] = field(default_factory=dict)
    error: str = ""
    message: str = ""


class EventSourceMappings:
    """Every SQS mapping of a deployment, by UUID; listeners hear of each change."""

    def __init__(self, deployment: Deployment) -> None:
        self.by_uuid: dict[str, EventSourceMapping] = {}
        self.listeners: list[Callable[[EventSourceMapping], None]] = []
        self._lock = threading.Lock()
        for function in deployment.functions.values():
            for event in function.spec.events:
                if not isinstance(event, QueueEvent):
                    continue
                where = f"Resources.{function.logical_id}.Properties.Events.{event.name}"
                mapping = EventSourceMapping(
                    uuid=mapping_uuid(deployment.stack_name, function.logical_id, event.name),
                    function_logical_id=function.logical_id,
                    event_name=event.name,
                    function_arn=function.arn,
                    event_source_arn=str(deployment.resolve(event.queue, f"{where}.Queue")),
                    batch_size=event.batch_size,
                )
                if event.enabled:
                    mapping._enabled.set()
                self.by_uuid[mapping.uuid] = mapping

    def __iter__(self) -> Iterator[EventSourceMapping]:
        return iter(self.by_uuid.values())

    def of(self, function_logical_id: str, event_name: str) -> EventSourceMapping:
        return next(
            mapping
            for mapping in self
            if (mapping.function_logical_id, mapping.event_name)
            == (function_logical_id, event_name)
        )

    def set_enabled(self, mapping: EventSourceMapping, enabled: bool) -> None:
        with self._lock:
            if enabled:
                mapping._enabled.set()
            else:
                mapping._enabled.clear()
            mapping.last_modified = time.time()
        for listener in list(self.listeners):
            listener(mapping)

    def answer(self, uuid: str, update: Mapping[str, Any] | None) -> MappingAnswer:
        """GetEventSourceMapping (``update`` None) or UpdateEventSourceMapping, as Lambda
        answers them: 200 and the mapping; 202 and ``Enabling``/``Disabling``; an unknown
        UUID 404 ``ResourceNotFoundException``; any other field than ``Enabled`` 400
        ``InvalidParameterValueException`` (not emulated, so refused rather than ignored).
        The one answer of the local stack's Lambda API and of the in-process hook."""
        mapping = self.by_uuid.get(uuid)
        if mapping is None:
            return MappingAnswer(
                404,
                error="ResourceNotFoundException",
                message="The resource you requested does not exist. "
                f"(Service: Lambda; UUID: {uuid})",
            )
        if update is None:
            return MappingAnswer(200, mapping.document())
        unsupported = sorted(set(update) - {"Enabled"})
        if unsupported or not isinstance(update.get("Enabled"), bool):
            got = ", ".join(unsupported) or "no Enabled"
            return MappingAnswer(
                400,
                error="InvalidParameterValueException",
                message=f"Only Enabled is emulated locally (got {got})",
            )
        enabled = bool(update["Enabled"])
        self.set_enabled(mapping, enabled)
        return MappingAnswer(202, mapping.document("Enabling" if enabled else "Disabling"))
