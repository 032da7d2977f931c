"""Table stream → posts just approved: find counterparts nearby, record the pairs, tell people.

Each pair is recorded with its notices in one transaction, so a replayed batch records
nothing twice and emails nobody twice (see entraide.matching.counterparts and .notices).
On its schedule, the function sends the grouped notices whose hour has come, and matches
again the posts approved in the last hour: two counterparts approved within the index's lag
never saw each other, and a record given up by the stream never came.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.adapters.table import Table, changed_images, entity_of
from entraide.effects.ledger import scheduled
from entraide.intake.post_store import PostStore, post_from_item
from entraide.kernel.model import PostStatus
from entraide.matching.counterparts import RECONCILE_WINDOW, match_new_post, reconcile_matches
from entraide.matching.match_store import MatchStore
from entraide.matching.nearby import NearbySearch
from entraide.observability import logger, metrics
from entraide.settings.matching import MatchSettings
from entraide.wiring import notice_book

settings = MatchSettings.from_environ(os.environ)
table = Table(settings.table_name)
posts = PostStore(table)
search = NearbySearch(posts)
matches = MatchStore(table)
notices = notice_book(settings, table)
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def record_handler(record: DynamoDBRecord, lambda_context: LambdaContext) -> None:
    if entity_of(record) != "post":  # a redrive sends every record of a range
        return
    _, post = changed_images(record, post_from_item)
    found = match_new_post(
        post,
        search=search,
        matches=matches,
        radius_km=settings.match_radius_km,
        now=notices.now(),
        notices=notices.queue_writes,
    )
    # everyone concerned, not only by new pairs: a run that died after recording a pair
    # left its notices queued, unsent
    sent = notices.flush_for(found, deadline=notices.ledger.deadline_of(lambda_context))
    new = sum(1 for match in found if match.new)
    metrics.add_metric(name="MatchRecorded", unit=MetricUnit.Count, value=new)
    metrics.add_metric(name="MatchNoticeSent", unit=MetricUnit.Count, value=sent)
    logger.info("Post matched", extra={"post_id": post.id, "matches": len(found), "new": new})


def on_schedule(context: LambdaContext) -> dict[str, Any]:
    """Match again the last hour's approvals, then send the notices whose hour has come."""
    now = notices.now()
    deadline = notices.ledger.deadline_of(context)
    recorded = reconcile_matches(
        posts.entered_since(PostStatus.APPROVED, now - RECONCILE_WINDOW),
        search=search,
        matches=matches,
        radius_km=settings.match_radius_km,
        now=now,
        notices=notices.queue_writes,
    )
    sent = notices.flush(deadline=deadline)
    metrics.add_metric(name="MatchReconciled", unit=MetricUnit.Count, value=len(recorded))
    metrics.add_metric(name="MatchNoticeSent", unit=MetricUnit.Count, value=sent)
    return {"matches_reconciled": len(recorded), "notices_sent": sent}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    if scheduled(event):
        return on_schedule(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
