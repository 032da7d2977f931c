"""Monthly (1st, 06:00 UTC): the previous month's KPI report, emailed to the operators
(the page as the body, the CSV attached) and archived on S3.

Fired with ``{"month": "2026-10"}`` it reports that month instead. Re-running a month
replaces the same three keys.
"""

from __future__ import annotations

import functools
import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.adapters.mail import Mailer
from entraide.adapters.table import Table
from entraide.observability import logger, metrics_when_any, redacted_errors
from entraide.reporting.delivery import deliver
from entraide.reporting.figures import report_month
from entraide.reporting.month_loader import monthly_report
from entraide.settings.reporting import ReportSettings
from entraide.web.emails import privacy_url
from entraide.web.report_page import render_all, report_email

settings = ReportSettings.from_environ(os.environ)
table = Table(settings.table_name)
mailer = Mailer(settings.sender_email, outbox_dir=settings.outbox_dir)


@logger.inject_lambda_context(clear_state=True)
@metrics_when_any
@redacted_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    import boto3

    now = datetime.now(UTC)
    month = event.get("month") or report_month(now)
    report = monthly_report(
        table, month, now=now, x_budget_usd=settings.x_monthly_budget_usd or None
    )
    delivery = deliver(
        report,
        render_all(report),
        compose=functools.partial(report_email, privacy_url=privacy_url(settings.public_base_url)),
        s3_client=boto3.client("s3"),
        bucket=settings.reports_bucket,
        mailer=mailer,
        recipients=settings.report_recipients,
    )
    logger.info(
        "Monthly report delivered",
        extra={"month": month, "archive": delivery.archive, "empty": report.empty},
    )
    return {"month": month, "bucket": settings.reports_bucket, "keys": delivery.keys}
