"""Sending to an SQS queue (re-sending a deferred message, dead-lettering a refused one)."""

from __future__ import annotations

from typing import Any


class Queue:
    """One queue by URL; the boto3 client is created on first use."""

    def __init__(self, url: str, client: Any | None = None) -> None:
        self.url = url
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("sqs")
        return self._client

    def send(
        self, body: str, *, delay_seconds: int = 0, attributes: dict[str, str] | None = None
    ) -> str:
        response = self.client.send_message(
            QueueUrl=self.url,
            MessageBody=body,
            DelaySeconds=delay_seconds,
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value}
                for name, value in (attributes or {}).items()
            },
        )
        return str(response["MessageId"])
