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
    from entraide.watch.recorded import RecordedAnswers

#: Seconds a Mastodon instance may take to answer, as the channels' clients (20 s).
MASTODON_TIMEOUT = 20


def mastodon_client(instance: str, *, session: Any | None = None) -> Any:
    """An anonymous client of the instance: hashtag timelines are public."""
    from mastodon import Mastodon

    return Mastodon(
        api_base_url=instance,
        version_check_mode="none",
        request_timeout=MASTODON_TIMEOUT,
        session=session,
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
    recorded: RecordedAnswers | None = None,
) -> dict[str, Reader]:
    """The readers of this run. With ``recorded`` (the read dry run), every network is read
    from its recorded answers through its real client, and needs no secret."""
    if recorded is not None:
        x_credentials, bluesky_credentials = _recorded_credentials()
    session = recorded.session() if recorded is not None else None
    found: dict[str, Reader] = {
        "feed": _of_kind(FeedSource, lambda source: collect.read_feed(source, session=session)),
        "mastodon_hashtags": _of_kind(
            MastodonHashtagsSource,
            lambda source: collect.read_mastodon(
                source, mastodon_client(source.instance, session=session)
            ),
        ),
    }
    if x_credentials is not None:
        from entraide.publishing.xapi import UserContextClient, tweepy_client
        from entraide.watch.read_store import TableXReadState

        client = UserContextClient(
            x_credentials,
            client_factory=(
                (lambda keys: recorded.mount_on(tweepy_client(keys))) if recorded else None
            ),
        )
        searcher = collect.TweepySearcher(client)
        state = TableXReadState(table)
        found["x_search"] = _of_kind(
            XSearchSource, lambda source: collect.collect_x(source, config, searcher, state, now)
        )
    if bluesky_credentials is not None:
        from atproto_client.request import Request

        from entraide.publishing.bluesky import atproto_client

        load = bluesky_credentials
        request = Request(transport=recorded.httpx_transport()) if recorded else None
        found["bluesky_search"] = _of_kind(
            BlueskySearchSource,
            lambda source: collect.read_bluesky(
                source, config, atproto_client(load(), request=request)
            ),
        )
    return found


def _recorded_credentials() -> tuple[Callable[[], XCredentials], Callable[[], BlueskyCredentials]]:
    """Keys that sign the requests the recorded answers answer (no network sees them)."""
    from entraide.publishing.bluesky import BlueskyCredentials
    from entraide.publishing.xapi import XCredentials

    x_keys = XCredentials.model_validate(
        dict.fromkeys(
            ("consumer_key", "consumer_secret", "access_token", "access_token_secret"),
            "recorded",
        )
    )
    bluesky = BlueskyCredentials.model_validate(
        {"handle": "veille.recorded.invalid", "app_password": "recorded"}
    )
    return (lambda: x_keys), (lambda: bluesky)
