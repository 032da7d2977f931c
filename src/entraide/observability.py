"""Logger and Metrics, built once per process and shared by every handler; and the rule
that no contact detail ever leaves a function in a log line or an error.

- :class:`RedactingFormatter`: every log line is masked as it is written, whatever its
  source: the message and its arguments, every extra (nested ones too), the exception and
  its traceback. A provider's error (SES names the refused recipient) may reach a
  traceback: the line still holds no address.
- :func:`batch_processor`: powertools' batch processor that logs each failed record
  through that logger and reports a batch whose every record failed as failures, instead
  of raising ``BatchProcessingError``, whose text is every record's traceback and which
  the Lambda runtime prints as it is, past any formatter.
- :func:`redacted_errors`: what escapes a handler is logged (masked) and replaced by an
  error that names its type only, for the same reason.

The Tracer is left out on purpose: it costs about 400 ms of cold start for little more
than what Lambda's active tracing already records.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from entraide.privacy.detection import redact_contact

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType


def redacted(value: Any) -> Any:
    """``value`` with every email address and phone number masked, at any depth; what JSON
    cannot hold as such (an exception object...) becomes its masked text."""
    if isinstance(value, str):
        return redact_contact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {redacted(str(key)): redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redacted(item) for item in value]
    return redact_contact(str(value))


#: Keys of the Lambda context that would repeat the same value on every line of a function's
#: log group: the group names the function (each has its own), and Lambda's REPORT line
#: closes each invocation with its memory size. CloudWatch Logs bills every byte ingested
#: ($0.53 per GB in eu-west-3, src/entraide/costs/prices.py): about a third of a short
#: line. The request id and the cold start stay: they tell invocations apart.
SAME_ON_EVERY_LINE = ("function_name", "function_arn", "function_memory_size")


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON lines, masked field by field before they are serialised (masking
    the JSON text instead would miss a number after an escaped line break), without what
    the log group already says."""

    def serialize(self, log: Any) -> str:
        kept = {key: value for key, value in log.items() if key not in SAME_ON_EVERY_LINE}
        return super().serialize(redacted(kept))


# Service and namespace are the project's, whatever the environment says.
SERVICE = "shareentraide"
METRICS_NAMESPACE = "ShareEntraide"

logger = Logger(service=SERVICE, logger_formatter=RedactingFormatter())
metrics = Metrics(service=SERVICE, namespace=METRICS_NAMESPACE)


def batch_processor(event_type: EventType) -> BatchProcessor:
    """A batch processor whose failures carry no record contents out of the function."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor

    return BatchProcessor(
        event_type=event_type,
        raise_on_entire_batch_failure=False,
        # the logging.Logger that powertools' Logger writes through (same name, same
        # handler and formatter)
        logger=logging.getLogger(SERVICE),
    )


class InvocationFailed(Exception):
    """What a handler raises in place of any error: its type only (details in the log)."""


def redacted_errors[Handler: Callable[..., Any]](handler: Handler) -> Handler:
    """The Lambda runtime prints an escaping error (message, traceback) past every
    formatter: log it masked here, and let only its type escape."""

    @functools.wraps(handler)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except Exception as error:
            logger.exception("Invocation failed")
            raise InvocationFailed(type(error).__name__) from None

    return guarded  # type: ignore[return-value]


def count(name: str, value: float = 1) -> None:
    """Add ``name`` to this invocation's metrics when it counts something. A custom metric
    is billed for every hour it is emitted in ("All custom metrics charges are prorated by
    the hour", https://aws.amazon.com/cloudwatch/pricing/: $0.30 a month each), zero or
    not: a zero every 15 minutes costs its whole month. The template's alarms treat a
    missing value as not breaching."""
    if value:
        from aws_lambda_powertools.metrics import MetricUnit

        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def metrics_when_any[Handler: Callable[..., Any]](handler: Handler) -> Handler:
    """powertools' ``log_metrics``, that flushes only an invocation that added a metric:
    an idle sweep prints no empty document and no "No application metrics to publish"."""

    @functools.wraps(handler)
    def flushing(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        finally:
            if metrics.metric_set:
                metrics.flush_metrics()
            else:
                metrics.clear_metrics()

    return flushing  # type: ignore[return-value]


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
