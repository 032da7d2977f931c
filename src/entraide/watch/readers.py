"""A reader per kind of source this deployment can read: institutional feeds and Mastodon's
public hashtag timelines always, X and Bluesky with the channels' own clients and secrets.
A kind without its reader is left out of the run (:func:`entraide.watch.run.collect_and_keep`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from entraide.watch import collect
from entraide.watch.config import (
    BlueskySearchSource,
    FeedSource,
    MastodonHashtagsSource,
    Source,
    WatchConfig,
    XSearchSource,
)
from entraide.watch.items import WatchItem
from entraide.watch.run import Reader

if TYPE_CHECKING:
    from entraide.adapters.table import Table
    from entraide.publishing.bluesky import BlueskyCredentials
    from entraide.publishing.xapi import XCredentials

#: Seconds a Mastodon instance may take to answer, as the channels' clients (20 s).
MASTODON_TIMEOUT = 20


def mastodon_client(instance: str) -> Any:
    """An anonymous client of the instance: hashtag timelines are public."""
    from mastodon import Mastodon

    return Mastodon(
        api_base_url=instance, version_check_mode="none", request_timeout=MASTODON_TIMEOUT
    )


def _of_kind[S](kind: type[S], read: Callable[[S], list[WatchItem]]) -> Reader:
    def reader(source: Source) -> list[WatchItem]:
        if not isinstance(source, kind):
            raise TypeError(f"{source.id} n'est pas une source {kind.__name__}")
        return read(source)

    return reader


def readers(
    config: WatchConfig,
    now: datetime,
    table: Table,
    *,
    x_credentials: Callable[[], XCredentials] | None,
    bluesky_credentials: Callable[[], BlueskyCredentials] | None,
) -> dict[str, Reader]:
    found: dict[str, Reader] = {
        "feed": _of_kind(FeedSource, collect.read_feed),
        "mastodon_hashtags": _of_kind(
            MastodonHashtagsSource,
            lambda source: collect.read_mastodon(source, mastodon_client(source.instance)),
        ),
    }
    if x_credentials is not None:
        from entraide.publishing.xapi import UserContextClient
        from entraide.watch.read_store import TableXReadState

        searcher = collect.TweepySearcher(UserContextClient(x_credentials))
        state = TableXReadState(table)
        found["x_search"] = _of_kind(
            XSearchSource, lambda source: collect.collect_x(source, config, searcher, state, now)
        )
    if bluesky_credentials is not None:
        from entraide.publishing.bluesky import atproto_client

        load = bluesky_credentials
        found["bluesky_search"] = _of_kind(
            BlueskySearchSource,
            lambda source: collect.read_bluesky(source, config, atproto_client(load())),
        )
    return found
