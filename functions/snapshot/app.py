"""Daily: the account's followers and the public metrics of the last 30 days' tweets.

Without X credentials it records nothing and says so; the monthly report then says the
figures are missing.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.adapters.table import Table
from entraide.observability import logger, metrics_when_any, redacted_errors
from entraide.reporting.daily import daily_snapshot
from entraide.settings.publishing import SnapshotSettings
from entraide.wiring import x_reader

settings = SnapshotSettings.from_environ(os.environ)
table = Table(settings.table_name)
reader = x_reader(settings)


@logger.inject_lambda_context(clear_state=True)
@metrics_when_any
@redacted_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = daily_snapshot(table, reader)
    logger.info("Daily snapshot", extra=result.as_log())
    return result.as_log()
