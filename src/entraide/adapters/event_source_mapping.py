"""An SQS event source mapping switched on and off, and the depth of the queue it reads.

- GetEventSourceMapping / UpdateEventSourceMapping (``Enabled`` only), Lambda API reference
  (https://docs.aws.amazon.com/lambda/latest/api/API_UpdateEventSourceMapping.html): IAM
  actions ``lambda:GetEventSourceMapping`` / ``lambda:UpdateEventSourceMapping`` on the
  ``eventSourceMapping`` resource, ``arn:${Partition}:lambda:${Region}:${Account}:
  event-source-mapping:${UUID}`` (Service Authorization Reference, "Actions, resources, and
  condition keys for AWS Lambda",
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html;
  the ``lambda:FunctionArn`` condition key it also lists is not needed: the grant names the
  one mapping).
- GetQueueAttributes with the three approximate counts (SQS developer guide, "Resources
  required to process Amazon SQS messages",
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-resources-required-process-messages.html):
  visible, in flight (``NotVisible``) and delayed ("sent with a delay parameter").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from entraide.adapters.aws import AwsClient

QUEUE_COUNTS = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)

#: The states in which Lambda polls, or is about to (GetEventSourceMapping's ``State``:
#: Creating, Enabling, Enabled, Disabling, Disabled, Updating, Deleting).
POLLING_STATES = frozenset({"Creating", "Enabling", "Enabled", "Updating"})


@dataclass(frozen=True)
class MappingState:
    """What GetEventSourceMapping says: polling or not, and since when."""

    polling: bool
    last_modified: datetime


class EventSourceMapping(AwsClient):
    """One mapping by UUID (what ``!Ref <Function><Event>`` gives in the template)."""

    service = "lambda"

    def __init__(self, uuid: str, client: Any | None = None) -> None:
        super().__init__(client)
        self.uuid = uuid

    def state(self) -> MappingState:
        found = self.client.get_event_source_mapping(UUID=self.uuid)
        last_modified = found.get("LastModified") or datetime.fromtimestamp(0, UTC)
        return MappingState(
            polling=str(found["State"]) in POLLING_STATES,
            last_modified=last_modified.astimezone(UTC),
        )

    def set_enabled(self, enabled: bool) -> None:
        self.client.update_event_source_mapping(UUID=self.uuid, Enabled=enabled)


class QueueCounts(AwsClient):
    """The approximate number of messages a queue holds, whatever their state."""

    service = "sqs"

    def __init__(self, url: str, client: Any | None = None) -> None:
        super().__init__(client)
        self.url = url

    def messages(self) -> int:
        attributes = self.client.get_queue_attributes(
            QueueUrl=self.url, AttributeNames=list(QUEUE_COUNTS)
        )["Attributes"]
        return sum(int(attributes.get(name, 0)) for name in QUEUE_COUNTS)
