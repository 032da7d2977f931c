"""Builds each function's services from its validated settings: the one place rooms meet.

Capabilities never import presentation: here the emails of :mod:`entraide.web` are handed
to the capabilities that send them, and each data-access module gets the table.
Nothing here does I/O when called: clients and the signing key are fetched on first use;
what only some functions need is imported when they build it (cold start).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from entraide.adapters.secrets import secret_reader

if TYPE_CHECKING:  # each function imports its own settings: a pydantic model costs cold start
    from entraide.adapters.mail import EmailMessage
    from entraide.adapters.queue import Queue
    from entraide.adapters.table import Table
    from entraide.effects.ledger import Ledger
    from entraide.intake.post_store import PostStore
    from entraide.matching.contact import ContactDesk
    from entraide.matching.contact_links import ContactLinks
    from entraide.matching.notices import NoticeBook
    from entraide.moderation.desk import ModerationDesk
    from entraide.moderation.effects import ModerationEffects, ModerationEmails
    from entraide.moderation.links import LinkBook
    from entraide.moderation.signing import LinkSigner
    from entraide.privacy.erasure import Erasure
    from entraide.privacy.my_posts import MyPostsDesk
    from entraide.privacy.pseudonyms import Pseudonyms
    from entraide.publishing.channels import Channels
    from entraide.publishing.quota import Budget
    from entraide.publishing.retraction import Retractor
    from entraide.publishing.xapi import XCredentials
    from entraide.publishing.xapi import XPoster as Poster
    from entraide.reporting.snapshots import AccountReader
    from entraide.settings.matching import MatchSettings
    from entraide.settings.moderation import ModerationSettings
    from entraide.settings.publishing import ChannelAccounts, RelaySettings, SnapshotSettings
    from entraide.settings.shared import (
        EffectSettings,
        LinkSettings,
        PersonalDataSettings,
        PseudonymSettings,
        SigningSettings,
    )


def count_metric(name: str, value: float) -> None:
    """A count added to the invocation's metrics (namespace ShareEntraide), when not zero."""
    from entraide.observability import count

    count(name, value)


def effect_ledger(settings: EffectSettings, table: Table) -> Ledger:
    """The effects ledger of a function, in the table, its counts as metrics."""
    from entraide.effects.ledger import Ledger
    from entraide.effects.ledger_store import DynamoDBLedgerStore

    return Ledger(
        DynamoDBLedgerStore(table),
        lease_margin=timedelta(seconds=settings.effect_lease_margin_seconds),
        retry_base=timedelta(seconds=settings.effect_retry_base_seconds),
        retry_cap=timedelta(seconds=settings.effect_retry_cap_seconds),
        metric=count_metric,
    )


def pseudonyms(settings: PseudonymSettings) -> Pseudonyms:
    """The posters' pseudonyms, keyed by the secret (read on first use, cached five minutes)."""
    from entraide.privacy.pseudonyms import Pseudonyms, keys_from_secret

    read = secret_reader()
    return Pseudonyms(lambda: keys_from_secret(read(settings.pseudonym_secret)))


def link_signer(settings: SigningSettings, ttl: timedelta) -> Callable[[], LinkSigner]:
    from entraide.moderation.signing import LinkSigner

    read = secret_reader()

    def signer() -> LinkSigner:
        return LinkSigner(read(settings.link_signing_secret).encode("utf-8"), ttl=ttl)

    return signer


def link_book(settings: LinkSettings, public_base_url: str = "") -> LinkBook:
    from entraide.moderation.links import LinkBook

    signer = link_signer(settings, timedelta(hours=settings.link_ttl_hours))
    return LinkBook(
        signer=signer, moderators=settings.moderator_emails, public_base_url=public_base_url
    )


def moderation_effects(settings: ModerationSettings, table: Table) -> ModerationEffects:
    from entraide.activation.activation_store import ActivationStore
    from entraide.adapters.mail import Mailer
    from entraide.intake.post_store import PostStore
    from entraide.moderation.announce import ApprovedTopic
    from entraide.moderation.effects import ModerationEffects

    def emails() -> ModerationEmails:
        # on the first email: Jinja2's helpers, départements
        from entraide.web.emails import ModerationMails, privacy_url

        return ModerationMails(privacy_url(settings.public_base_url))

    return ModerationEffects(
        store=PostStore(table, pseudonyms=pseudonyms(settings)),
        activations=ActivationStore(table),
        mailer=Mailer(settings.sender_email, outbox_dir=settings.outbox_dir),
        emails=emails,
        announcer=ApprovedTopic(settings.approved_topic_arn),
        links=link_book(settings, settings.public_base_url),
        link_ttl_hours=settings.link_ttl_hours,
    )


def moderation_desk(settings: LinkSettings, table: Table) -> ModerationDesk:
    from entraide.activation.activation_store import ActivationStore
    from entraide.intake.post_store import PostStore
    from entraide.moderation.desk import ModerationDesk

    return ModerationDesk(
        store=PostStore(table, retention=settings.retention()),
        links=link_book(settings),
        activations=ActivationStore(table),
    )


# Where dry-run tweets go in AWS when no outbox is set: the log keeps them (printed).
DRY_RUN_OUTBOX = Path("/tmp/outbox")  # noqa: S108 - Lambda's only writable folder


def secret_loader[T](secret_id: str, parse: Callable[[str], T]) -> Callable[[], T]:
    """Loads a network's credentials from Secrets Manager (cached five minutes)."""
    read = secret_reader()

    def load() -> T:
        return parse(read(secret_id))

    return load


def x_credentials(secret_id: str) -> Callable[[], XCredentials]:
    """Loads the X user-context keys from Secrets Manager (cached five minutes)."""
    from entraide.publishing.xapi import XCredentials

    return secret_loader(secret_id, XCredentials.from_secret_string)


def channel_poster(settings: RelaySettings, channel: str) -> Poster:
    """A channel's poster: the network's client with its secret, else its dry run."""
    outbox = settings.outbox_dir or DRY_RUN_OUTBOX
    if channel == "bluesky":
        from entraide.publishing import bluesky

        if not settings.bluesky_credentials_secret:
            return bluesky.dry_run_poster(outbox)
        return bluesky.BlueskyPoster(
            secret_loader(
                settings.bluesky_credentials_secret,
                bluesky.BlueskyCredentials.from_secret_string,
            )
        )
    if channel == "mastodon":
        from entraide.publishing import mastodon

        if not settings.mastodon_credentials_secret:
            return mastodon.dry_run_poster(outbox, max_characters=settings.mastodon_max_characters)
        return mastodon.MastodonPoster(
            secret_loader(
                settings.mastodon_credentials_secret,
                mastodon.MastodonCredentials.from_secret_string,
            ),
            max_characters=settings.mastodon_max_characters,
        )
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
            load_activation=activations.get_activation,
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


def contact_links(settings: MatchSettings) -> ContactLinks:
    from entraide.matching.contact_links import CONTACT_LINK_TTL, ContactLinks

    return ContactLinks(
        signer=link_signer(settings, CONTACT_LINK_TTL), public_base_url=settings.public_base_url
    )


def notice_book(settings: MatchSettings, table: Table) -> NoticeBook:
    from entraide.adapters.mail import Mailer
    from entraide.intake.post_store import PostStore
    from entraide.matching.notice_store import NoticeStore
    from entraide.matching.notices import NoticeBook

    links = contact_links(settings)

    def compose(**notice: Any) -> EmailMessage:
        # on the first email (cold start)
        from entraide.web.emails import privacy_url
        from entraide.web.match_emails import match_notice

        return match_notice(**notice, links=links, privacy_url=privacy_url(links.base_url))

    return NoticeBook(
        NoticeStore(table, memory=settings.retention().after_end),
        PostStore(table),
        Mailer(settings.sender_email, outbox_dir=settings.outbox_dir),
        compose,
        ledger=effect_ledger(settings, table),
        min_interval=timedelta(minutes=settings.notice_interval_minutes),
        grouping_delay=timedelta(minutes=settings.notice_grouping_minutes),
    )


def contact_desk(settings: MatchSettings, table: Table) -> ContactDesk:
    from entraide.adapters.mail import ContactMailer
    from entraide.intake.post_store import PostStore
    from entraide.matching.contact import ContactDesk
    from entraide.matching.slot_store import SlotStore

    links = contact_links(settings)

    def compose(**message: Any) -> EmailMessage:
        # on the first message; the base of links is the request's (see functions/contact)
        from entraide.web.emails import privacy_url
        from entraide.web.match_emails import contact_message

        return contact_message(**message, privacy_url=privacy_url(links.base_url))

    return ContactDesk(
        posts=PostStore(table),
        slots=SlotStore(table),
        mailer=ContactMailer(settings.sender_email, outbox_dir=settings.outbox_dir),
        compose=compose,
        links=links,
        ledger=effect_ledger(settings, table),
    )


def snapshot_readers(settings: SnapshotSettings) -> dict[str, AccountReader | None]:
    """Each enabled channel's reader for the daily snapshot, None where the channel has no
    credentials (nothing read nor recorded for it). Bluesky and Mastodon read through their
    posters (one login, the same typed errors)."""
    from entraide.publishing.channels import parse_channels

    readers: dict[str, AccountReader | None] = {}
    for channel in parse_channels(settings.relay_channels):
        if channel == "bluesky" and settings.bluesky_credentials_secret:
            from entraide.publishing import bluesky
            from entraide.reporting.channel_readers import BlueskyReader

            readers[channel] = BlueskyReader(
                bluesky.BlueskyPoster(
                    secret_loader(
                        settings.bluesky_credentials_secret,
                        bluesky.BlueskyCredentials.from_secret_string,
                    )
                )
            )
        elif channel == "mastodon" and settings.mastodon_credentials_secret:
            from entraide.publishing import mastodon
            from entraide.reporting.channel_readers import MastodonReader

            readers[channel] = MastodonReader(
                mastodon.MastodonPoster(
                    secret_loader(
                        settings.mastodon_credentials_secret,
                        mastodon.MastodonCredentials.from_secret_string,
                    )
                )
            )
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


def erasure(
    posts: PostStore, table: Table, relay_queue: Queue, *, now: Callable[[], datetime]
) -> Erasure:
    """Erasure on request over the table: the posts' store given (with its pseudonyms), the
    person's notices, and the relay's queue to take their posts down from X."""
    from entraide.matching.notice_store import NoticeStore
    from entraide.privacy.erasure import Erasure
    from entraide.publishing.retraction import RetractionQueue

    return Erasure(posts, NoticeStore(table), RetractionQueue(relay_queue), now=now)


def my_posts_desk(settings: PersonalDataSettings, table: Table) -> MyPostsDesk:
    from entraide.adapters.mail import Mailer
    from entraide.adapters.queue import Queue
    from entraide.intake.post_store import PostStore
    from entraide.moderation.links import MY_POSTS_LINK_TTL, MyPostsLinks
    from entraide.privacy.my_posts import MyPostsDesk

    keys = pseudonyms(settings)
    posts = PostStore(table, pseudonyms=keys, retention=settings.retention())
    links = MyPostsLinks(
        signer=link_signer(settings, MY_POSTS_LINK_TTL), public_base_url=settings.public_base_url
    )

    def compose(**message: Any) -> EmailMessage:
        # on the first email; the base of links is the request's (see functions/personal_data)
        from entraide.web.emails import privacy_url
        from entraide.web.privacy_pages import my_posts_email

        return my_posts_email(**message, privacy_url=privacy_url(links.base_url))

    def now() -> datetime:
        return datetime.now(UTC)

    return MyPostsDesk(
        posts=posts,
        pseudonyms=keys,
        links=links,
        mailer=Mailer(settings.sender_email, outbox_dir=settings.outbox_dir),
        compose=compose,
        erasure=erasure(posts, table, Queue(settings.relay_queue_url), now=now),
        now=now,
    )
