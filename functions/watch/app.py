"""Every hour: the watch collects (every few hours, or every hour during an activation) and
keeps what it read; each morning (every two hours during an activation) the community
managers get the digest, once per slot through the effects ledger, whose sweep finishes
any digest email a run left due.

The watch's file is the one packaged with the code, or an operator's copy in S3
(``WATCH_FILE_BUCKET``): a copy with a fault is refused whole and the run fails (kept in the
scheduled runs' failure queue, alarmed), never read in part.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.activation.activation_store import ActivationStore
from entraide.activation.source_health import SourceHealthStore, flag_if_failing
from entraide.adapters.mail import Mailer
from entraide.adapters.queue import Queue
from entraide.adapters.table import Table
from entraide.effects.ledger_store import DynamoDBLedgerStore
from entraide.kernel.times import utcnow
from entraide.observability import count, logger, metrics_when_any, redacted_errors
from entraide.publishing.bluesky import BlueskyCredentials
from entraide.settings.watch import WatchSettings
from entraide.watch.config import WatchConfig, load_watch_config, load_watch_file
from entraide.watch.digest import (
    DIGEST_LINK_TTL,
    OWNER,
    DigestLinks,
    DigestMail,
    digest_slot,
    slot_of,
)
from entraide.watch.item_store import WatchItemStore
from entraide.watch.ranking import ActivationContext
from entraide.watch.readers import readers
from entraide.watch.recorded import RecordedAnswers
from entraide.watch.relaying import DECISION, WatchDesk
from entraide.watch.run import WatchRunResult, collect_and_keep, collection_due
from entraide.web.emails import privacy_url
from entraide.web.watch_emails import digest_email
from entraide.wiring import effect_ledger, link_signer, secret_loader, x_credentials

settings = WatchSettings.from_environ(os.environ)
table = Table(settings.table_name)
activations = ActivationStore(table)
store = WatchItemStore(table)
ledger = effect_ledger(settings, table)
mailer = Mailer(settings.sender_email, outbox_dir=settings.outbox_dir)
links = DigestLinks(
    signer=link_signer(settings, DIGEST_LINK_TTL),
    recipients=settings.watch_digest_recipients,
    public_base_url=settings.public_base_url,
)
health = SourceHealthStore(table)
# Four failing collections in a row (12 hours while no activation is open) are a source to
# look at (SourceFailing, the one alarm of every source), not a blip.
FAILING_AFTER_COLLECTIONS = 4
decisions = WatchDesk(
    store, links, ledger, DynamoDBLedgerStore(table), Queue(settings.relay_queue_url), now=utcnow
)


def bluesky_credentials() -> Callable[[], BlueskyCredentials] | None:
    secret = settings.bluesky_credentials_secret
    return secret_loader(secret, BlueskyCredentials.from_secret_string) if secret else None


def recorded_answers() -> RecordedAnswers | None:
    folder = settings.watch_recorded_answers
    return RecordedAnswers(Path(folder)) if folder else None


def watch_config() -> WatchConfig:
    if not settings.watch_file_bucket:
        return load_watch_file()
    import boto3

    answer = boto3.client("s3").get_object(
        Bucket=settings.watch_file_bucket, Key=settings.watch_file_key
    )
    return load_watch_config(answer["Body"].read().decode("utf-8"))


@logger.inject_lambda_context(clear_state=True)
@metrics_when_any
@redacted_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, object]:
    now = utcnow()
    forced = bool(event.get("collect"))  # an operator's run: {"collect": true}
    open_now = activations.open_activations()
    activation_open = bool(open_now)
    due = forced or collection_due(
        now, activation_open=activation_open, every_hours=settings.watch_every_hours
    )
    # an operator's digest now: {"digest": true}
    slot = (
        slot_of(now) if event.get("digest") else digest_slot(now, activation_open=activation_open)
    )
    config = watch_config()
    result = WatchRunResult(collected=False)
    if due:
        result = collect_run(config, now)
    deadline = ledger.deadline_of(context)
    mail = DigestMail(
        store,
        config,
        links,
        mailer,
        partial(digest_email, privacy_url=privacy_url(settings.public_base_url)),
        now=utcnow,
        activation=ActivationContext.of(open_now),
        decided=decisions.decided,
    )
    if slot and links.recipients:
        ledger.run(mail.subject(slot), mail.perform, deadline=deadline)
    ledger.sweep(
        OWNER,
        lambda record: decisions.perform if record.key.startswith(DECISION) else mail.perform,
        deadline=deadline,
    )
    return {**result.as_log(), "digest": slot if links.recipients else None}


def collect_run(config: WatchConfig, now: datetime) -> WatchRunResult:
    run, skipped = collect_and_keep(
        config,
        readers(
            config,
            now,
            table,
            x_credentials=x_credentials(x) if (x := settings.x_credentials_secret) else None,
            bluesky_credentials=bluesky_credentials(),
            recorded=recorded_answers(),
        ),
        store,
        now,
    )
    for source_id, why in run.failures.items():
        logger.warning("Watch source failed", extra={"source": source_id, "error": why})
    count("WatchSourceFailed", len(run.failures))
    failures = "; ".join(f"{source_id}: {why}" for source_id, why in sorted(run.failures.items()))
    kept = health.failed("watch", failures, now) if failures else health.read_well("watch", now)
    flag_if_failing(kept, after=FAILING_AFTER_COLLECTIONS, metric=count)
    # What a run kept is in its log line ("Watch collected", ``kept``), not a metric: a
    # custom metric is billed for each hour it is emitted in, $0.30 a month for one emitted
    # at every healthy run; Logs Insights counts it from the lines when it is wanted.
    result = WatchRunResult(True, len(run.items), skipped, run.failures)
    logger.info("Watch collected", extra=result.as_log())
    return result
