"""Logger and Metrics, built once per process and shared by every handler.

The Tracer is left out on purpose: it costs about 400 ms of cold start for
little more than what Lambda's active tracing already records.
"""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger, Metrics

from entraide.privacy.detection import redact_contact

_STANDARD_RECORD_ATTRS = frozenset(vars(logging.makeLogRecord({})))


class ContactRedactingFilter(logging.Filter):
    """Last line of defence: a contact detail that slips into a log line is masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Format first so that %-style arguments are masked too.
        record.msg = redact_contact(record.getMessage())
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_RECORD_ATTRS and isinstance(value, str):
                setattr(record, key, redact_contact(value))
        return True


# Service and namespace are the project's, whatever the environment says.
SERVICE = "shareentraide"
METRICS_NAMESPACE = "ShareEntraide"

logger = Logger(service=SERVICE)
logger.addFilter(ContactRedactingFilter())
metrics = Metrics(service=SERVICE, namespace=METRICS_NAMESPACE)
