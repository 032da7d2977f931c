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


def count_for(name: str, dimension: str, value: str, count: float = 1) -> None:
    """Emit ``name`` with one more dimension than the others (``source`` = "vigicrues"):
    its own EMF document, printed at once, so that an alarm can watch each value apart."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=count,
        namespace=METRICS_NAMESPACE,
        default_dimensions={"service": SERVICE},
    ) as metric:
        metric.add_dimension(name=dimension, value=value)
