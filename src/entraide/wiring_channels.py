"""Builds the channels' services: each network's poster, the relays, the retraction over
every channel, the snapshot's readers and X's budget (what ``relay`` and ``snapshot`` use).

As :mod:`entraide.wiring`: nothing here does I/O when called, and each network's client
is imported when it is built (cold start).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, cast

from entraide.wiring import DRY_RUN_OUTBOX, count_metric, secret_loader, x_credentials

if TYPE_CHECKING:
    from entraide.adapters.table import Table
    from entraide.publishing.bluesky import BlueskyPoster
    from entraide.publishing.channels import Channels
    from entraide.publishing.mastodon import MastodonPoster
    from entraide.publishing.quota import Budget
    from entraide.publishing.retraction import Retractor
    from entraide.publishing.xapi import XPoster as Poster
    from entraide.reporting.snapshots import AccountReader
    from entraide.settings.publishing import ChannelAccounts, RelaySettings, SnapshotSettings


def bluesky_poster(settings: ChannelAccounts) -> BlueskyPoster:
    """The Bluesky account's client, its app password read from its secret on first use."""
    from entraide.publishing import bluesky

    return bluesky.BlueskyPoster(
        secret_loader(
            settings.bluesky_credentials_secret, bluesky.BlueskyCredentials.from_secret_string
        )
    )


def mastodon_poster(settings: ChannelAccounts) -> MastodonPoster:
    """The Mastodon account's client, its token read from its secret on first use."""
    from entraide.publishing import mastodon

    return mastodon.MastodonPoster(
        secret_loader(
            settings.mastodon_credentials_secret, mastodon.MastodonCredentials.from_secret_string
        ),
        max_characters=settings.mastodon_max_characters,
    )


def channel_poster(settings: RelaySettings, channel: str) -> Poster:
    """A channel's poster: the network's client with its secret, else its dry run."""
    outbox = settings.outbox_dir or DRY_RUN_OUTBOX
    if channel == "bluesky":
        from entraide.publishing import bluesky

        if not settings.bluesky_credentials_secret:
            return bluesky.dry_run_poster(outbox)
        return bluesky_poster(settings)
    if channel == "mastodon":
        from entraide.publishing import mastodon

        if not settings.mastodon_credentials_secret:
            return mastodon.dry_run_poster(outbox, max_characters=settings.mastodon_max_characters)
        return mastodon_poster(settings)
    from entraide.publishing.xapi import DryRunPoster, TweepyPoster

    if settings.x_credentials_secret:
        return TweepyPoster(x_credentials(settings.x_credentials_secret))
    return DryRunPoster(outbox)


def relay_channels(settings: RelaySettings, table: Table) -> Channels:
    """One relay per enabled channel, each with its poster, texts, budget and memory."""
    from entraide.activation.activation_store import ActivationStore
    from entraide.intake.post_store import PostStore
    from entraide.publishing.channels import Channels, parse_channels
    from entraide.publishing.quota import QuotaLimits
    from entraide.publishing.quota_store import DynamoDBBudget
    from entraide.publishing.relay import Relay, TweetTexts
    from entraide.publishing.relay_store import DynamoDBRelayStore

    def texts_of(channel: str) -> Callable[[], TweetTexts]:
        def texts() -> TweetTexts:
            from entraide.publishing import text_rules, tweets

            if channel == "bluesky":
                return tweets.ChannelTexts(text_rules.BLUESKY_RULE)
            if channel == "mastodon":
                return tweets.ChannelTexts(
                    text_rules.mastodon_rule(settings.mastodon_max_characters)
                )
            return tweets.ChannelTexts(text_rules.X_RULE, settings.x_link_kinds())

        return texts

    def x_price(kind: str) -> int:
        """A tweet's price, by whether the link policy puts a URL in its kind."""
        from entraide.publishing.x_prices import create_price

        return create_price(with_url=kind in settings.x_link_kinds())

    limits = {
        "x": settings.x_limits(),
        "bluesky": QuotaLimits.parse(settings.bluesky_quota),
        "mastodon": QuotaLimits.parse(settings.mastodon_quota),
    }
    posts, activations = PostStore(table), ActivationStore(table)
    relays: dict[str, Relay] = {}
    for channel in parse_channels(settings.relay_channels):
        budget_name = "x-posting" if channel == "x" else f"{channel}-posting"
        relays[channel] = Relay(
            DynamoDBRelayStore(table, channel),
            x_budget(settings, table)
            if channel == "x"
            else DynamoDBBudget(table, limits[channel], budget_name),
            channel_poster(settings, channel),
            clock=lambda: datetime.now(UTC),
            public_base_url=settings.public_base_url,
            load_post=posts.get_post,
            # Eventually consistent (half a unit): the activation is older than the approval
            # (whose transaction checked it open), and what the text takes of it (hashtag,
            # départements) may lag a second behind a change as it would by being read a
            # second earlier ("DynamoDB read consistency", DynamoDB Developer Guide).
            load_activation=lambda activation_id: activations.get_activation(
                activation_id, consistent=False
            ),
            digest_threshold=settings.digest_threshold,
            texts=texts_of(channel),
            metric=count_metric,
            lease_margin=timedelta(seconds=settings.effect_lease_margin_seconds),
            price=x_price if channel == "x" else lambda kind: 0,  # Bluesky, Mastodon: free
        )
    return Channels(relays)


def retractor(table: Table, channels: Channels) -> Retractor:
    """Takes ended posts down from every enabled channel, each through its relay's memory
    and poster; the deletions' own claims are kept with X's publications."""
    from entraide.intake.post_store import PostStore
    from entraide.publishing.relay_store import DynamoDBRelayStore
    from entraide.publishing.retraction import Deleter, RelayedChannel, Retractor, XChannel

    relayed: list[RelayedChannel] = []
    for name, relay in channels.relays.items():
        # the relay's own poster (one login per network): every poster channel_poster builds
        # deletes too (TweepyPoster, BlueskyPoster, MastodonPoster, DryRunPoster)
        poster = cast("Deleter", relay.poster)
        relayed.append(
            XChannel(relay.store, poster, relay.budget)
            if name == "x"
            else RelayedChannel(relay.store, poster)
        )
    return Retractor(
        DynamoDBRelayStore(table),
        relayed,
        clock=lambda: datetime.now(UTC),
        load_post=PostStore(table).get_post,
        metric=count_metric,
    )


def snapshot_readers(settings: SnapshotSettings) -> dict[str, AccountReader | None]:
    """Each enabled channel's reader for the daily snapshot, None where the channel has no
    credentials (nothing read nor recorded for it). Bluesky and Mastodon read through their
    posters (one login, the same typed errors)."""
    from entraide.publishing.channels import parse_channels

    readers: dict[str, AccountReader | None] = {}
    for channel in parse_channels(settings.relay_channels):
        if channel == "bluesky" and settings.bluesky_credentials_secret:
            from entraide.reporting.channel_readers import BlueskyReader

            readers[channel] = BlueskyReader(bluesky_poster(settings))
        elif channel == "mastodon" and settings.mastodon_credentials_secret:
            from entraide.reporting.channel_readers import MastodonReader

            readers[channel] = MastodonReader(mastodon_poster(settings))
        elif channel == "x" and settings.x_credentials_secret:
            from entraide.reporting.x_reader import TweepyReader

            readers[channel] = TweepyReader(x_credentials(settings.x_credentials_secret))
        else:
            readers[channel] = None
    return readers


def x_budget(settings: ChannelAccounts, table: Table) -> Budget:
    """X's budget shared by every relay instance (and the snapshot's paid reads)."""
    from entraide.publishing.quota_store import DynamoDBBudget

    return DynamoDBBudget(table, settings.x_limits(), "x-posting")
