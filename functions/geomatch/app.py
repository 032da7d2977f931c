"""Table stream → posts just approved: find counterparts nearby, record the pairs, tell people.

Each pair is recorded with its notices in one transaction, so a replayed batch records
nothing twice and emails nobody twice (see entraide.matching.counterparts and .notices).
The stream is the fast path. What makes a match sure is the approval's subject in the
effects ledger (``match:<post>:<version>``, written with the approval): on its schedule,
the function sweeps the subjects due (``DUE#geomatch``) and matches their posts — two
counterparts approved within the index's lag, a stream record given up, a run that failed
all come back until done — then sends the grouped notices whose hour has come, then gives
the posts approved before the place keys their new index keys (once, with the time left).
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.adapters.table import ReadsRetried, Table, changed_images, entity_of
from entraide.effects.ledger import scheduled
from entraide.intake.post_store import PostStore, post_from_item
from entraide.matching.counterparts import GEOMATCH, MatchDue, match_new_post
from entraide.matching.match_store import MatchStore
from entraide.matching.nearby import NearbySearch
from entraide.observability import batch_processor, count, logger, metrics_when_any, redacted_errors
from entraide.settings.matching import MatchSettings
from entraide.wiring import notice_book

# the schedule leaves this much of its run to what follows the move of former index keys
MOVE_MARGIN_MS = 10_000

settings = MatchSettings.from_environ(os.environ)
table = Table(settings.table_name)
# matching reads a lot before it writes: a failed read is made again rather than failing
# the whole attempt (the sweep's effect is given up after the ledger's attempts)
reads_retried = ReadsRetried(settings.table_name)
posts = PostStore(reads_retried)
search = NearbySearch(posts)
matches = MatchStore(reads_retried)
notices = notice_book(settings, table)
due = MatchDue(
    posts=posts,
    search=search,
    matches=matches,
    radius_km=settings.match_radius_km,
    now=notices.now,
    notices=notices.queue_writes,
)
processor = batch_processor(EventType.DynamoDBStreams)


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
    count("MatchRecorded", new)
    count("MatchNoticeSent", sent)
    logger.info("Post matched", extra={"post_id": post.id, "matches": len(found), "new": new})


def move_legacy_cells(context: LambdaContext) -> dict[str, Any]:
    """Posts approved before the place keys get them, until none is left (then the
    searches stop reading the former keys, see entraide.matching.nearby)."""
    if not posts.legacy_cells_remain():
        return {}
    moved = posts.move_legacy_cells(
        now=notices.now(),
        out_of_time=lambda: context.get_remaining_time_in_millis() < MOVE_MARGIN_MS,
    )
    logger.info("Former place keys moved", extra={"moved": moved.moved, "done": moved.done})
    return {"legacy_cells_moved": moved.moved, "legacy_cells_done": moved.done}


def on_schedule(context: LambdaContext) -> dict[str, Any]:
    """Match the approved posts whose subject is due, send the notices whose hour has come,
    then move former index keys with the time left."""
    deadline = notices.ledger.deadline_of(context)
    swept = notices.ledger.sweep(GEOMATCH, due.performer_for, deadline=deadline)
    sent = notices.flush(deadline=deadline)
    count("MatchSwept", swept.done)
    count("MatchNoticeSent", sent)
    logger.info("Matches swept", extra={"swept": swept.as_dict(), "notices_sent": sent})
    return {"swept": swept.as_dict(), "notices_sent": sent, **move_legacy_cells(context)}


@logger.inject_lambda_context(clear_state=True)
@metrics_when_any
@redacted_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    if scheduled(event):
        return on_schedule(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
