"""Every hour: the blog's feed read with a conditional request; each new article becomes an
editorial item, announced once on every channel on the calendar's rhythm.

A feed that fails, is hostile or changed shape is a source failure (``BlogFeedFailed``):
nothing is announced (``entraide.editorial.blog``).
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.adapters.table import Table
from entraide.observability import logger, metrics_when_any
from entraide.settings.editorial import BlogFeedSettings
from entraide.wiring_editorial import blog_reading

settings = BlogFeedSettings.from_environ(os.environ)
reading = blog_reading(settings, Table(settings.table_name)) if settings.blog_feed_url else None


@logger.inject_lambda_context(clear_state=True)
@metrics_when_any
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if reading is None:
        return {"announced": [], "failure": "", "note": "no blog feed configured"}
    result = reading()
    outcome = {
        "announced": [item.text for item in result.announced],
        "failure": result.failure,
        "unchanged": result.unchanged,
    }
    logger.info("Blog feed read", extra=outcome)
    return outcome
