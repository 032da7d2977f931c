"""Table stream → posts just approved: find counterparts nearby, record the pairs, tell people.

Also on a schedule: send the grouped match notices that waited for the hourly cap, then
give the posts approved before the place keys their new index keys (once, with the time
left). Matches are conditional writes and notices are queued idempotently, so a replayed
batch records nothing twice and emails nobody twice.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.adapters.table import Table, changed_images
from entraide.intake.post_store import PostStore, post_from_item
from entraide.matching.counterparts import match_new_post
from entraide.matching.match_store import MatchStore
from entraide.matching.nearby import NearbySearch
from entraide.observability import batch_processor, logger, metrics, redacted_errors
from entraide.settings.matching import MatchSettings
from entraide.wiring import notice_book

# the schedule leaves this much of its run to what follows the move of former index keys
MOVE_MARGIN_MS = 10_000

settings = MatchSettings.from_environ(os.environ)
table = Table(settings.table_name)
posts = PostStore(table)
search = NearbySearch(posts)
matches = MatchStore(table)
notices = notice_book(settings, table)
processor = batch_processor(EventType.DynamoDBStreams)


def record_handler(record: DynamoDBRecord) -> None:
    _, post = changed_images(record, post_from_item)
    found = match_new_post(
        post,
        search=search,
        matches=matches,
        radius_km=settings.match_radius_km,
        now=datetime.now(UTC),
    )
    # every match, not only new ones: a crash after recording must not lose the notice
    # (queueing is idempotent)
    sent = notices.notify(found)
    new = sum(1 for match in found if match.new)
    metrics.add_metric(name="MatchRecorded", unit=MetricUnit.Count, value=new)
    metrics.add_metric(name="MatchNoticeSent", unit=MetricUnit.Count, value=sent)
    logger.info("Post matched", extra={"post_id": post.id, "matches": len(found), "new": new})


def move_legacy_cells(context: LambdaContext) -> dict[str, Any]:
    """Posts approved before the place keys get them, until none is left (then the
    searches stop reading the former keys, see entraide.matching.nearby)."""
    if not posts.legacy_cells_remain():
        return {}
    moved = posts.move_legacy_cells(
        now=datetime.now(UTC),
        out_of_time=lambda: context.get_remaining_time_in_millis() < MOVE_MARGIN_MS,
    )
    logger.info("Former place keys moved", extra={"moved": moved.moved, "done": moved.done})
    return {"legacy_cells_moved": moved.moved, "legacy_cells_done": moved.done}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@redacted_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    if event.get("source") == "aws.events":  # the schedule: notices whose hour has come
        sent = notices.flush()
        metrics.add_metric(name="MatchNoticeSent", unit=MetricUnit.Count, value=sent)
        return {"notices_sent": sent, **move_legacy_cells(context)}
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
