"""Every 15 minutes: due editorial items to the relay queue, on rhythm, once per channel.

Held while an activation is open and for a quiet period after; items that missed their
moment are marked and reported (``entraide.editorial.desk``). The relay publishes each
message on its channel, within that channel's budget, once (``publish:<channel>:editorial:
<id>`` in the effects ledger). From Monday 08:00 Paris time, the week's email to the
operators goes once (``entraide.editorial.weekly``).
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.adapters.table import Table
from entraide.observability import logger, metrics_when_any
from entraide.settings.editorial import EditorialSettings
from entraide.wiring_editorial import editorial_desk, weekly_editorial_email

settings = EditorialSettings.from_environ(os.environ)
desk = editorial_desk(settings, Table(settings.table_name))
weekly = weekly_editorial_email(settings, desk)


@logger.inject_lambda_context(clear_state=True)
@metrics_when_any
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = desk.run()
    result = {
        "held": report.held,
        "sent": [f"{item}:{channel}" for item, channel in report.sent],
        "missed": report.missed,
    }
    # after the items: the email then tells the sends of this very run
    week = weekly.run(deadline=weekly.ledger.deadline_of(context))
    result["weekly_email"] = week.as_dict() if week else {}
    logger.info("Editorial run", extra=result)
    return result
