"""Destinations of records Lambda gives up on (or reports): an SQS queue or an SNS topic.

Shared by the stream event sources (`OnFailure` of a mapping) and asynchronous invocations
(`EventInvokeConfig.DestinationConfig`). Lambda function and EventBridge bus destinations are
not emulated: the record is logged instead.
"""

from __future__ import annotations

import logging

from .clients import ClientFactory

log = logging.getLogger("entraide_local")


def send_to_destination(clients: ClientFactory, destination_arn: str, message: str) -> None:
    """Send a message to a destination: an SQS queue or an SNS topic ARN."""
    service, name = destination_arn.split(":")[2], destination_arn.split(":")[5]
    if service == "sqs":
        sqs = clients("sqs")
        queue_url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        sqs.send_message(QueueUrl=queue_url, MessageBody=message)
    elif service == "sns":
        clients("sns").publish(TopicArn=destination_arn, Message=message)
    else:
        log.warning("destination %s is not emulated; the record was: %s", destination_arn, message)
