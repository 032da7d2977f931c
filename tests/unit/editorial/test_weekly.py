"""The operators' weekly email: due from Monday 08:00 Paris time, sent once through the
effects ledger (a replayed or repeated run sends nothing again), its four lists right."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from entraide.activation.activation_store import ActivationStore
from entraide.adapters.mail import EmailMessage, MailUnavailable
from entraide.adapters.table import Table
from entraide.editorial.calendar import EditorialItem
from entraide.editorial.calendar_store import EditorialStore
from entraide.editorial.desk import held_by_activations
from entraide.editorial.weekly import WeeklyEmail, week_of
from entraide.effects.ledger import Ledger
from entraide.effects.ledger_store import DynamoDBLedgerStore
from entraide.web.editorial_emails import weekly_editorial_email
from tests.factories import Clock, make_activation

OPERATORS = ("ops@example.org",)
ALL = ("x", "bluesky", "mastodon")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


class Outbox:
    """SES as the mailer sees it: the emails taken, a failure on demand."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []
        self.failures = 0

    def send(self, message: EmailMessage) -> str:
        if self.failures:
            self.failures -= 1
            raise MailUnavailable("Throttling")
        self.sent.append(message)
        return f"ses-{len(self.sent)}"


def weekly_for(table: Table, clock: Clock, outbox: Outbox) -> WeeklyEmail:
    store = EditorialStore(table)
    return WeeklyEmail(
        store,
        Ledger(DynamoDBLedgerStore(table), clock=clock, pause=lambda seconds: None),
        mailer=outbox,
        compose=lambda digest, to: weekly_editorial_email(
            digest, to, privacy_url="https://entraide.example.fr/donnees-personnelles"
        ),
        recipients=OPERATORS,
        held=held_by_activations(ActivationStore(table), timedelta(hours=24)),
        clock=clock,
    )


def a_calendar(store: EditorialStore) -> None:
    """Sent last week, planned this week and next, missed the week before."""
    last = EditorialItem("cal-last", "Retour sur la crue", "", ALL, at(1, 9), "récit", "Claire")
    store.add([last], created_at=at(1, 8))
    for channel, hour in zip(ALL, (9, 11, 13), strict=True):
        last = store.mark_sent(last, channel, at(1, hour))
    store.add(
        [
            EditorialItem(
                "cal-week", "Kit d'urgence", "https://b.fr/kit", ALL, at(9, 9), "prévention", "Lou"
            ),
            EditorialItem("cal-later", "Plus tard", "", ALL, at(16, 9), "prévention", "Lou"),
            EditorialItem("cal-missed", "Trop tard", "", ("x",), at(2, 9), "récit", "Claire"),
        ],
        created_at=at(1, 8),
    )
    store.mark_missed("cal-missed")


def test_the_week_is_the_paris_week_across_a_change_of_time() -> None:
    # Given moments just before and after midnight in Paris, in winter and in summer
    # Then the week starts on Monday at midnight Paris time, in UTC
    assert week_of(datetime(2026, 12, 6, 23, 30, tzinfo=UTC)).label == "2026-W50"
    assert week_of(datetime(2026, 12, 6, 22, 30, tzinfo=UTC)).label == "2026-W49"
    summer = week_of(datetime(2026, 3, 30, 12, 0, tzinfo=UTC))
    assert summer.start == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
    assert summer.end == datetime(2026, 4, 5, 22, 0, tzinfo=UTC)


def test_from_monday_eight_the_email_goes_once_whatever_the_runs(table: Table) -> None:
    # Given a calendar, and a run every quarter hour from Monday 07:30 Paris time
    a_calendar(EditorialStore(table))
    clock, outbox = Clock(at(7, 6, 30)), Outbox()
    weekly = weekly_for(table, clock, outbox)
    # When the runs before 08:00 Paris time fire
    assert weekly.run(deadline=clock() + timedelta(seconds=60)) is None
    clock.advance(minutes=15)
    assert weekly.run(deadline=clock() + timedelta(seconds=60)) is None
    # Then nothing went; from 08:00, one email
    clock.advance(minutes=15)
    first = weekly.run(deadline=clock() + timedelta(seconds=60))
    assert first is not None
    assert first.done == 1
    # And the same run redelivered, and every later run of the week, send nothing again
    again = weekly.run(deadline=clock() + timedelta(seconds=60))
    assert again is not None
    assert again.done == 0
    for _ in range(4 * 24 * 3):
        clock.advance(minutes=15)
        weekly.run(deadline=clock() + timedelta(seconds=60))
    assert len(outbox.sent) == 1
    # Until the next Monday's
    clock.moment = at(14, 7, 15)
    weekly.run(deadline=clock() + timedelta(seconds=60))
    assert len(outbox.sent) == 2


def test_the_email_tells_last_week_this_week_and_the_missed_in_french(table: Table) -> None:
    # Given the calendar on Monday 09:00 Paris time
    a_calendar(EditorialStore(table))
    clock, outbox = Clock(at(7, 8)), Outbox()
    # When the week's email goes
    weekly_for(table, clock, outbox).run(deadline=clock() + timedelta(seconds=60))
    # Then it says, in French first, each list with its items
    [email] = outbox.sent
    assert email.to == OPERATORS
    assert email.subject == "[ShareEntraide] Calendrier éditorial – semaine du 7 décembre 2026"
    text = email.text
    published = text.index("Publiés la semaine dernière")
    planned = text.index("Prévus cette semaine")
    held = text.index("En attente pendant l'activation")
    missed = text.index("Moment passé, non publiés")
    assert published < text.index("Retour sur la crue") < planned
    assert "x le 1er décembre 2026 à 10 h 00" in text  # when each channel got it, Paris time
    assert planned < text.index("Kit d'urgence") < held
    assert "Plus tard" not in text  # next week's
    assert missed < text.index("Trop tard")
    assert "cal-missed" in text
    assert "entraide editorial move|cancel" in text
    assert "activation est en cours" not in text
    assert "Kit d&#39;urgence" in email.html
    assert "https://b.fr/kit" in email.html


def test_during_an_activation_the_due_items_are_listed_as_held(table: Table) -> None:
    # Given an item due Monday 08:30 and an activation open since the day before
    store = EditorialStore(table)
    store.add(
        [EditorialItem("cal-due", "Due ce matin", "", ALL, at(7, 7, 30), "conseil", "Lou")],
        created_at=at(1, 8),
    )
    ActivationStore(table).create_activation(make_activation(opened_at=at(6, 12)))
    clock, outbox = Clock(at(7, 8)), Outbox()
    # When the week's email goes
    weekly_for(table, clock, outbox).run(deadline=clock() + timedelta(seconds=60))
    # Then the item is listed as held, and the email says why
    text = outbox.sent[0].text
    assert "activation est en cours" in text
    assert text.index("En attente pendant l'activation") < text.index("Due ce matin")
    assert text.index("Moment passé") > text.index("Due ce matin")


def test_an_email_ses_did_not_take_goes_on_a_later_run_once(table: Table) -> None:
    # Given SES failing the first time
    clock, outbox = Clock(at(7, 7)), Outbox()
    outbox.failures = 1
    weekly = weekly_for(table, clock, outbox)
    # When the first run fails to send, then runs go on every quarter hour for two hours
    first = weekly.run(deadline=clock() + timedelta(seconds=60))
    assert first is not None
    assert first.done == 0
    for _ in range(8):
        clock.advance(minutes=15)
        weekly.run(deadline=clock() + timedelta(seconds=60))
    # Then the email went once, on a later run
    assert len(outbox.sent) == 1


@pytest.mark.parametrize("recipients", [()])
def test_without_recipients_no_email_and_nothing_recorded(
    table: Table, recipients: tuple[str, ...]
) -> None:
    clock, outbox = Clock(at(7, 8)), Outbox()
    weekly = weekly_for(table, clock, outbox)
    weekly.recipients = recipients
    assert weekly.run(deadline=clock() + timedelta(seconds=60)) is None
    assert outbox.sent == []
