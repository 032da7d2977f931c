"""Publishing to an SNS topic: JSON messages with string attributes that subscribers filter on."""

from __future__ import annotations

import json
from typing import Any

from entraide.adapters.aws import AwsClient


class Topic(AwsClient):
    """Publishes JSON messages with string attributes; the client is created on first use."""

    service = "sns"

    def __init__(self, topic_arn: str, client: Any | None = None) -> None:
        super().__init__(client)
        self.topic_arn = topic_arn

    def publish(self, message: dict[str, Any], attributes: dict[str, str]) -> str:
        response = self.client.publish(
            TopicArn=self.topic_arn,
            Message=json.dumps(message, ensure_ascii=False),
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value}
                for name, value in attributes.items()
            },
        )
        return str(response["MessageId"])
