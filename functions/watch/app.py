"""Every hour: the watch collects (every few hours, or every hour during an activation) and
keeps what it read for the digest.

The watch's file is the one packaged with the code, or an operator's copy in S3
(``WATCH_FILE_BUCKET``): a copy with a fault is refused whole and the run fails (kept in the
scheduled runs' failure queue, alarmed), never read in part.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.activation.activation_store import ActivationStore
from entraide.adapters.table import Table
from entraide.kernel.times import utcnow
from entraide.observability import logger, metrics, redacted_errors
from entraide.publishing.bluesky import BlueskyCredentials
from entraide.settings.watch import WatchSettings
from entraide.watch.config import WatchConfig, load_watch_config, load_watch_file
from entraide.watch.item_store import WatchItemStore
from entraide.watch.readers import readers
from entraide.watch.run import WatchRunResult, collect_and_keep, collection_due
from entraide.wiring import secret_loader, x_credentials

settings = WatchSettings.from_environ(os.environ)
table = Table(settings.table_name)
activations = ActivationStore(table)
store = WatchItemStore(table)


def bluesky_credentials() -> Callable[[], BlueskyCredentials] | None:
    secret = settings.bluesky_credentials_secret
    return secret_loader(secret, BlueskyCredentials.from_secret_string) if secret else None


def watch_config() -> WatchConfig:
    if not settings.watch_file_bucket:
        return load_watch_file()
    import boto3

    answer = boto3.client("s3").get_object(
        Bucket=settings.watch_file_bucket, Key=settings.watch_file_key
    )
    return load_watch_config(answer["Body"].read().decode("utf-8"))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@redacted_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, object]:
    now = utcnow()
    forced = bool(event.get("collect"))  # an operator's run: {"collect": true}
    activation_open = bool(activations.open_activations())
    if not (
        forced
        or collection_due(
            now, activation_open=activation_open, every_hours=settings.watch_every_hours
        )
    ):
        return WatchRunResult(collected=False).as_log()
    config = watch_config()
    run, skipped = collect_and_keep(
        config,
        readers(
            config,
            now,
            table,
            x_credentials=x_credentials(x) if (x := settings.x_credentials_secret) else None,
            bluesky_credentials=bluesky_credentials(),
        ),
        store,
        now,
    )
    for source_id, why in run.failures.items():
        logger.warning("Watch source failed", extra={"source": source_id, "error": why})
    metrics.add_metric(name="WatchSourceFailed", unit=MetricUnit.Count, value=len(run.failures))
    metrics.add_metric(name="WatchItemsKept", unit=MetricUnit.Count, value=len(run.items))
    result = WatchRunResult(True, len(run.items), skipped, run.failures)
    logger.info("Watch collected", extra=result.as_log())
    return result.as_log()
