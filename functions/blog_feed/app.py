"""Every hour: the blog's feed read with a conditional request; each new article becomes an
editorial item, announced once on every channel on the calendar's rhythm.

A feed that fails, is hostile or changed shape is a source failure (``BlogFeedFailed``):
nothing is announced (``entraide.editorial.blog``). Its health is kept as a source's
(``blog``): three failed readings in a row add ``SourceFailing``, the one alarm of every
source.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.activation.source_health import SourceHealthStore, flag_if_failing
from entraide.adapters.table import Table
from entraide.kernel.times import utcnow
from entraide.observability import count, logger, metrics_when_any
from entraide.settings.editorial import BlogFeedSettings
from entraide.wiring_editorial import blog_reading

# A blog briefly down is not an alarm; a feed broken for three hourly readings is.
FAILING_AFTER_READINGS = 3

settings = BlogFeedSettings.from_environ(os.environ)
table = Table(settings.table_name)
reading = blog_reading(settings, table) if settings.blog_feed_url else None
health = SourceHealthStore(table)


@logger.inject_lambda_context(clear_state=True)
@metrics_when_any
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if reading is None:
        return {"announced": [], "failure": "", "note": "no blog feed configured"}
    result = reading()
    now = utcnow()
    kept = (
        health.failed("blog", result.failure, now)
        if result.failure
        else health.read_well("blog", now)
    )
    flag_if_failing(kept, after=FAILING_AFTER_READINGS, metric=count)
    outcome = {
        "announced": [item.text for item in result.announced],
        "failure": result.failure,
        "unchanged": result.unchanged,
    }
    logger.info("Blog feed read", extra=outcome)
    return outcome
