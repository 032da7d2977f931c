"""Every 15 minutes: read the official alert feeds and open, extend or close activations.

The sources are read at the same time, all by one deadline: the function's remaining
time less what planning and writing take (``RESERVED_SECONDS``). A source that fails (an
error, a document that is not what it promises, out of time) is logged, counted with the
metric ``AlertSourceFailed`` (dimension ``source``), kept in its health record (an hour of
failures in a row adds ``SourceFailing``, the one alarm of every source), and
skipped: it is never taken as "all clear" (the rules then close nothing that depends on
it). What time is left then goes to the expiry of closed activations' posts that a
closing could not finish.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.activation.activation_store import ActivationStore
from entraide.activation.alerts.model import SourceError
from entraide.activation.alerts.sources import (
    alerts_of,
    build_sources,
    parse_source_configs,
    read_all,
)
from entraide.activation.events import finish_expiries
from entraide.activation.feed import run_feeds
from entraide.activation.rules import ActivationRules
from entraide.activation.source_health import SourceHealthStore, flag_if_failing
from entraide.adapters.table import Table
from entraide.intake.post_store import PostStore
from entraide.kernel.ids import new_id
from entraide.observability import count, count_for, logger, metrics_when_any, redacted_errors
from entraide.settings.activation import ActivateSettings

# Planning, the activations' writes and the sources' health take a few seconds; this much
# of the function's time is kept for them, the rest is the sources' reading window.
RESERVED_SECONDS = 30.0
# Margin before the function's timeout, when expiring posts left by a closing.
EXPIRY_MARGIN_SECONDS = 10.0
# A source is failing (SourceFailing, its alarm) after an hour of failed quarter-hourly
# reads; one failed read, a blip, is only logged and counted.
FAILING_AFTER_READS = 4

settings = ActivateSettings.from_environ(os.environ)
rules = ActivationRules.from_environ(os.environ)
sources = build_sources(parse_source_configs(settings.alert_sources))
table = Table(settings.table_name)
activations = ActivationStore(table)
health = SourceHealthStore(table)
posts = PostStore(table, retention=settings.retention())


@logger.inject_lambda_context(clear_state=True)
@metrics_when_any
@redacted_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = datetime.now(UTC)
    end = time.monotonic() + context.get_remaining_time_in_millis() / 1000
    readings = read_all(sources, now, by=end - RESERVED_SECONDS)
    run = run_feeds(activations, alerts_of(readings), rules=rules, now=now, new_id=new_id)
    for name, outcome in readings.items():
        kept = health.record(name, outcome, now)
        if isinstance(outcome, SourceError):
            logger.warning(
                "Alert source failed, skipped",
                extra={
                    "source": name,
                    "error": str(outcome),
                    "consecutive_failures": kept.consecutive_failures,
                },
            )
            count_for("AlertSourceFailed", "source", name)
            flag_if_failing(kept, after=FAILING_AFTER_READS, metric=count)
    for note in run.plan.notes:
        logger.info(note)
    expiries = finish_expiries(
        posts,
        activations,
        now=lambda: datetime.now(UTC),
        time_left=lambda: end - time.monotonic() - EXPIRY_MARGIN_SECONDS,
    )
    counts = {
        "opened": len(run.plan.opens),
        "extended": len(run.plan.extends),
        "refreshed": len(run.plan.refreshes),
        "closed": len(run.plan.closes),
    }
    for name, value in counts.items():
        count(f"Activation.{name}", value)
    unfinished = [job.activation_id for job in expiries if job.status is not None]
    logger.info(
        "Alert feeds read",
        extra={**counts, "failed_sources": list(run.failed_sources), "expiring": unfinished},
    )
    return {
        **counts,
        "opened_ids": list(run.opened),
        "failed_sources": list(run.failed_sources),
        "expiring": unfinished,
    }
