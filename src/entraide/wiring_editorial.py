"""The editorial functions' services: the scheduled run, the operators' weekly email and
the blog's reading, built from their settings (as :mod:`entraide.wiring` builds the others').
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from entraide.wiring import count_metric, effect_ledger

if TYPE_CHECKING:
    from entraide.adapters.mail import EmailMessage
    from entraide.adapters.table import Table
    from entraide.editorial.blog import Reading
    from entraide.editorial.desk import EditorialDesk
    from entraide.editorial.weekly import WeeklyEmail
    from entraide.settings.editorial import BlogFeedSettings, EditorialSettings


def editorial_desk(settings: EditorialSettings, table: Table) -> EditorialDesk:
    """The scheduled editorial run: the calendar, the activations that hold it, the rhythm,
    and the relay queue its items go to."""
    import json

    from entraide.activation.activation_store import ActivationStore
    from entraide.adapters.queue import Queue
    from entraide.editorial.calendar import Rhythm
    from entraide.editorial.calendar_store import EditorialStore
    from entraide.editorial.desk import EditorialDesk, held_by_activations

    rhythm = Rhythm(
        start=settings.window_start,
        end=settings.window_end,
        per_day=settings.per_day,
        gap=timedelta(minutes=settings.gap_minutes),
        quiet=timedelta(hours=settings.quiet_hours),
        too_late=timedelta(hours=settings.too_late_hours),
    )
    relay_queue = Queue(settings.relay_queue_url)

    def send(message: Mapping[str, Any]) -> None:
        relay_queue.send(json.dumps(message, ensure_ascii=False))

    return EditorialDesk(
        EditorialStore(table),
        send=send,
        held=held_by_activations(ActivationStore(table), rhythm.quiet),
        rhythm=rhythm,
        clock=lambda: datetime.now(UTC),
        metric=count_metric,
    )


def weekly_editorial_email(settings: EditorialSettings, desk: EditorialDesk) -> WeeklyEmail:
    """The operators' Monday email, through the effects ledger, on the desk's calendar."""
    from entraide.adapters.mail import Mailer
    from entraide.editorial.weekly import WeeklyDigest, WeeklyEmail
    from entraide.web.editorial_emails import weekly_editorial_email as compose_weekly
    from entraide.web.emails import privacy_url

    footer = privacy_url(settings.public_base_url)

    def compose(digest: WeeklyDigest, to: Sequence[str]) -> EmailMessage:
        return compose_weekly(digest, to, privacy_url=footer)

    return WeeklyEmail(
        desk.store,
        effect_ledger(settings, desk.store.table),
        mailer=Mailer(settings.sender_email, outbox_dir=settings.outbox_dir),
        compose=compose,
        recipients=settings.recipients,
        held=desk.held,
        clock=lambda: desk.clock(),
        from_time=desk.rhythm.start,
    )


def blog_reading(settings: BlogFeedSettings, table: Table) -> Callable[[], Reading]:
    """The hourly reading of the blog's feed, its articles checked against every enabled
    channel's rule as a calendar's rows are."""
    from entraide.editorial.blog import feed_fetcher
    from entraide.editorial.calendar_store import EditorialStore
    from entraide.editorial.desk import announce_blog
    from entraide.publishing.channels import parse_channels
    from entraide.publishing.text_rules import BLUESKY_RULE, X_RULE, mastodon_rule
    from entraide.publishing.tweets import editorial_tweet

    known = {
        "x": X_RULE,
        "bluesky": BLUESKY_RULE,
        "mastodon": mastodon_rule(settings.mastodon_max_characters),
    }
    channels = parse_channels(settings.relay_channels)

    def fits(text: str, link: str) -> bool:
        try:
            for channel in channels:
                editorial_tweet(text, link, rule=known[channel])
        except ValueError:
            return False
        return True

    store, fetch = EditorialStore(table), feed_fetcher(settings.blog_feed_url)

    def reading() -> Reading:
        return announce_blog(
            store,
            fetch,
            url=settings.blog_feed_url,
            channels=channels,
            fits=fits,
            max_new=settings.blog_max_new,
            clock=lambda: datetime.now(UTC),
            metric=count_metric,
        )

    return reading
