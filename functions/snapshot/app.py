"""Daily: each channel's followers and the public metrics of its last 30 days' messages.

A channel without credentials records nothing and says so; the monthly report then says
its figures are missing. X's reads are paid from X's budget (entraide.reporting.daily).
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.adapters.table import Table
from entraide.observability import logger, metrics_when_any, redacted_errors
from entraide.reporting.daily import daily_snapshots
from entraide.settings.publishing import SnapshotSettings
from entraide.wiring_channels import snapshot_readers, x_budget

settings = SnapshotSettings.from_environ(os.environ)
table = Table(settings.table_name)
readers = snapshot_readers(settings)
budget = x_budget(settings, table)


@logger.inject_lambda_context(clear_state=True)
@metrics_when_any
@redacted_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    results = daily_snapshots(table, readers, x_budget=budget)
    for channel, result in results.items():
        logger.info("Daily snapshot", extra={"channel": channel, **result.as_log()})
    return {channel: result.as_log() for channel, result in results.items()}
