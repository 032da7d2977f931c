"""Every 15 minutes: read the official alert feeds and open, extend or close activations.

A source that fails is logged with a metric and skipped; it is never taken as "all
clear" (the rules then close nothing that depends on it).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.activation.activation_store import ActivationStore
from entraide.activation.alerts.sources import build_sources, parse_source_configs, read_all
from entraide.activation.feed import run_feeds
from entraide.activation.rules import ActivationRules
from entraide.adapters.table import Table
from entraide.kernel.ids import new_id
from entraide.observability import logger, metrics, redacted_errors
from entraide.settings.activation import ActivateSettings

settings = ActivateSettings.from_environ(os.environ)
rules = ActivationRules.from_environ(os.environ)
sources = build_sources(parse_source_configs(settings.alert_sources))
activations = ActivationStore(Table(settings.table_name))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@redacted_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = datetime.now(UTC)
    readings = read_all(sources, now)
    run = run_feeds(activations, dict(readings), rules=rules, now=now, new_id=new_id)
    for name in run.failed_sources:
        error = readings[name]
        logger.warning("Alert source failed, skipped", extra={"source": name, "error": str(error)})
        metrics.add_metric(name="AlertSourceFailed", unit=MetricUnit.Count, value=1)
    for note in run.plan.notes:
        logger.info(note)
    counts = {
        "opened": len(run.plan.opens),
        "extended": len(run.plan.extends),
        "refreshed": len(run.plan.refreshes),
        "closed": len(run.plan.closes),
    }
    for name, value in counts.items():
        metrics.add_metric(name=f"Activation.{name}", unit=MetricUnit.Count, value=value)
    logger.info("Alert feeds read", extra={**counts, "failed_sources": list(run.failed_sources)})
    return {**counts, "opened_ids": list(run.opened), "failed_sources": list(run.failed_sources)}
