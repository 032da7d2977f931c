"""Contact through the platform: signed links, a read-only page, one escaped email an hour."""

from __future__ import annotations

import email
import functools
import html
from collections.abc import Callable
from datetime import datetime, timedelta
from email import policy
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from entraide.adapters.mail import ContactEmail, ContactMailer, EmailMessage
from entraide.adapters.table import Table
from entraide.effects.ledger import Ledger
from entraide.effects.ledger_store import DynamoDBLedgerStore
from entraide.intake.post_store import PostStore
from entraide.kernel.errors import InvalidInput, PostNotFound
from entraide.kernel.model import Category, Contact, Kind, Post, PostStatus
from entraide.kernel.times import utcnow
from entraide.matching.contact import (
    MESSAGE_MAX,
    ContactClosed,
    ContactDesk,
    ContactRequest,
    ContactSent,
    ContactTooSoon,
    ReplyToSender,
    clean_message,
)
from entraide.matching.contact_links import CONTACT_LINK_TTL, ContactLinks
from entraide.matching.slot_store import SlotStore
from entraide.moderation.links import LinkBook
from entraide.moderation.signing import POSTER, ExpiredLink, InvalidLink, LinkAction, LinkSigner
from entraide.web.contact_pages import (
    parse_contact_form,
    render_contact_page,
    render_contact_sent_page,
)
from entraide.web.http import errors_of
from entraide.web.match_emails import contact_message
from entraide.web.refusals import describe_contact_refusal
from tests.factories import (
    BASE,
    LINK_KEY,
    NOW,
    PRIVACY_URL,
    PSEUDONYMS,
    RETENTION,
    Clock,
    make_post,
)

NEEDY = "famille.martin@example.org"
HELPER = "jean.aidant@example.net"
SENDER = "alertes@shareentraide.example"

NEED = make_post(
    id="N1",
    kind=Kind.NEED,
    status=PostStatus.APPROVED,
    version=2,
    title="Besoin d'un toit <vite>",
)
OFFER = make_post(
    id="O1",
    kind=Kind.OFFER,
    category=Category.HEBERGEMENT,
    status=PostStatus.APPROVED,
    version=2,
    title="Chambre « au sec » & chaude",
    description="Une chambre à l'étage.\nAnimaux bienvenus.",
    commune="Trèbes",
    postcode="11800",
)


class RecordingMailer:
    writes_reply_to = True

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []
        self.fail_with: Exception | None = None

    def send(self, message: EmailMessage) -> str:
        if self.fail_with is not None:
            error, self.fail_with = self.fail_with, None
            raise error
        self.sent.append(message)
        return f"msg-{len(self.sent)}"


@pytest.fixture
def seeded(posts: PostStore, table: Table) -> Table:
    """The table with the need and the offer of this file, and their contact items."""
    posts.create_post(NEED, Contact(NEEDY, "06 12 34 56 78"))
    posts.create_post(OFFER, Contact(HELPER, "07 98 76 54 32"))
    return table


def desk_for(
    table: Table, mailer: ReplyToSender, links: ContactLinks, now: Callable[[], datetime] = utcnow
) -> ContactDesk:
    """The desk as wiring builds it, over ``table``."""
    return ContactDesk(
        posts=PostStore(table, pseudonyms=PSEUDONYMS, retention=RETENTION),
        slots=SlotStore(table),
        mailer=mailer,
        compose=functools.partial(contact_message, privacy_url=PRIVACY_URL),
        links=links,
        ledger=Ledger(DynamoDBLedgerStore(table), clock=now, pause=lambda seconds: None),
        now=now,
    )


@pytest.fixture
def mailer() -> RecordingMailer:
    return RecordingMailer()


@pytest.fixture
def desk(seeded: Table, mailer: RecordingMailer, links: ContactLinks, clock: Clock) -> ContactDesk:
    return desk_for(seeded, mailer, links, clock)


@pytest.fixture
def token(links: ContactLinks) -> str:
    return links.token(OFFER, NEED, asker=NEEDY)


def everything(table: Table) -> list[dict[str, Any]]:
    pages = table.client.get_paginator("scan").paginate(TableName=table.table_name)
    return sorted(
        (item for page in pages for item in page["Items"]),
        key=lambda item: (item["pk"]["S"], item["sk"]["S"]),
    )


# -- links -----------------------------------------------------------------------------


def test_the_contact_url_names_the_offer_the_need_and_a_token(links: ContactLinks) -> None:
    url = links.contact_url(OFFER, NEED, asker=NEEDY)
    parts = urlsplit(url)
    assert url.startswith(f"{BASE}contact/O1?")
    query = parse_qs(parts.query)
    assert query["need"] == ["N1"]
    [token] = query["token"]
    assert NEEDY not in url
    assert HELPER not in url
    verified = links.verify(token, offer_id="O1", need_id="N1", asker=NEEDY)
    assert verified.expires_at == NOW + CONTACT_LINK_TTL
    assert links.post_url("N1") == f"{BASE}posts/N1"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # forged signature
        lambda t: "1." + t.split(".", 1)[1],  # another version
        lambda t: "",
        lambda t: "not.a.token",
    ],
)
def test_a_forged_token_is_refused(
    desk: ContactDesk, token: str, tamper: Callable[[str], str]
) -> None:
    with pytest.raises(InvalidLink):
        desk.open("O1", "N1", tamper(token))


def test_a_token_is_bound_to_its_pair_and_to_the_needs_poster(
    posts: PostStore, desk: ContactDesk, links: ContactLinks
) -> None:
    other_offer = make_post(id="O2", kind=Kind.OFFER, status=PostStatus.APPROVED)
    posts.create_post(other_offer, Contact("autre@example.net"))
    with pytest.raises(InvalidLink):  # the token of O1 does not open O2
        desk.open("O2", "N1", links.token(OFFER, NEED, asker=NEEDY))
    with pytest.raises(InvalidLink):  # signed for someone else than the need's poster
        desk.open("O1", "N1", links.token(OFFER, NEED, asker="intrus@example.org"))
    with pytest.raises(InvalidLink):  # an id that would make "<offer>:<need>" ambiguous
        desk.open("O1:N1", "N1", links.token(OFFER, NEED, asker=NEEDY))


def test_moderation_and_contact_tokens_never_pass_for_one_another(
    links: ContactLinks, desk: ContactDesk
) -> None:
    signer = LinkSigner(LINK_KEY, ttl=CONTACT_LINK_TTL, now=lambda: NOW)
    book = LinkBook(signer=lambda: signer, moderators=[NEEDY])
    contact = links.token(OFFER, NEED, asker=NEEDY)
    for action in (LinkAction.APPROVE, LinkAction.REJECT, LinkAction.WITHDRAW):
        with pytest.raises(InvalidLink):
            book.verify(contact, "O1:N1", action)
    withdraw = signer.sign("O1:N1", LinkAction.WITHDRAW, 2, NEEDY)
    approve = signer.sign("O1:N1", LinkAction.APPROVE, 2, NEEDY)
    poster = signer.sign("O1:N1", LinkAction.WITHDRAW, 2, POSTER)
    for other in (withdraw, approve, poster):
        with pytest.raises(InvalidLink):
            desk.open("O1", "N1", other)


def test_an_expired_token_is_refused_as_expired(
    desk: ContactDesk, token: str, clock: Clock
) -> None:
    clock.advance(days=7)
    with pytest.raises(ExpiredLink):
        desk.open("O1", "N1", token)
    with pytest.raises(ExpiredLink):
        desk.send("O1", "N1", token, message="Bonjour", share_email=False)
    title, _ = describe_contact_refusal(ExpiredLink(clock()))
    assert title == "Lien expiré"


def test_a_withdrawn_offer_can_no_longer_be_contacted(
    posts: PostStore, desk: ContactDesk, token: str, mailer: RecordingMailer
) -> None:
    posts.transition(OFFER, PostStatus.WITHDRAWN, at=NOW, by=POSTER)
    with pytest.raises(ContactClosed):
        desk.open("O1", "N1", token)
    with pytest.raises(ContactClosed):
        desk.send("O1", "N1", token, message="Bonjour", share_email=True)
    assert mailer.sent == []


def test_an_unknown_offer_is_not_found(seeded: Table, links: ContactLinks) -> None:
    desk = desk_for(seeded, RecordingMailer(), links)
    ghost = make_post(id="O9", kind=Kind.OFFER)
    with pytest.raises(PostNotFound):
        desk.open("O9", "N1", links.token(ghost, NEED, asker=NEEDY))


# -- GET: the page ---------------------------------------------------------------------


def test_opening_the_page_changes_nothing(
    seeded: Table, desk: ContactDesk, token: str, mailer: RecordingMailer
) -> None:
    before = everything(seeded)
    for _ in range(3):  # a mail scanner, a preview, the person
        request = desk.open("O1", "N1", token)
    assert everything(seeded) == before
    assert mailer.sent == []
    assert request == ContactRequest(OFFER, NEED, NOW + CONTACT_LINK_TTL)


def test_the_page_shows_the_offer_and_a_form_never_an_address(
    desk: ContactDesk, token: str
) -> None:
    page = render_contact_page(desk.open("O1", "N1", token), token=token, form_action="O1")
    assert '<form method="post" action="O1"' in page
    assert f'name="token" value="{token}"' in page
    assert 'name="need" value="N1"' in page
    assert f'maxlength="{MESSAGE_MAX}"' in page
    assert 'type="checkbox" id="input-share" name="share_email" value="on">' in page  # unticked
    assert "Je transmets mon adresse e-mail pour qu'elle puisse me répondre" in page
    assert "Chambre « au sec » &amp; chaude" in page
    assert "Besoin d&#39;un toit &lt;vite&gt;" in page
    for private in (HELPER, NEEDY, "07 98 76 54 32", "06 12 34 56 78"):
        assert private not in page


def test_the_page_shown_again_keeps_the_message_and_says_what_is_wrong(
    desk: ContactDesk, token: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        desk.send("O1", "N1", token, message=" " * 3, share_email=True)
    page = render_contact_page(
        desk.open("O1", "N1", token),
        token=token,
        form_action="O1",
        message="<b>bonjour</b>",
        share_email=True,
        errors=caught.value.errors,
    )
    assert "Écrivez votre message." in page
    assert "&lt;b&gt;bonjour&lt;/b&gt;</textarea>" in page
    assert 'value="on" checked>' in page


# -- POST: the message -----------------------------------------------------------------


def test_posting_sends_the_helper_one_email_with_the_message_escaped(
    desk: ContactDesk, token: str, mailer: RecordingMailer
) -> None:
    text = 'Bonjour, <script>alert("x")</script> & merci !\r\nÀ bientôt'
    opened = desk.open("O1", "N1", token)  # what the page showed before sending
    sent = desk.send("O1", "N1", token, message=text, share_email=False)

    [message] = mailer.sent
    assert isinstance(message, ContactEmail)
    assert message.to == (HELPER,)
    assert message.tag == "contact-message"
    assert message.subject == "Message au sujet de votre offre « Chambre « au sec » & chaude »"
    assert "<script>" not in message.html
    assert (
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; merci !\nÀ bientôt" in message.html
    )
    assert 'Bonjour, <script>alert("x")</script> & merci !\nÀ bientôt' in message.text
    assert f"{BASE}posts/N1" in message.text
    assert sent == ContactSent(request=opened, shared_email=False)
    page = render_contact_sent_page(sent)
    assert "Votre message est envoyé" in page
    assert HELPER not in page


def test_reply_to_only_with_consent(
    desk: ContactDesk, token: str, mailer: RecordingMailer, clock: Clock
) -> None:
    desk.send("O1", "N1", token, message="Sans mon adresse", share_email=False)
    clock.advance(hours=1)
    desk.send("O1", "N1", token, message="Avec mon adresse", share_email=True)

    without, with_consent = mailer.sent
    assert isinstance(without, ContactEmail)
    assert isinstance(with_consent, ContactEmail)
    assert without.reply_to == ""
    for part in (without.subject, without.text, without.html):
        assert NEEDY not in part
        assert "06 12 34 56 78" not in part
    assert with_consent.reply_to == NEEDY
    assert NEEDY in with_consent.text
    assert "répondez simplement à ce message" in with_consent.text
    assert "merci de ne pas y répondre" in without.text
    assert "merci de ne pas y répondre" not in with_consent.text
    assert "merci de ne pas y répondre" not in with_consent.html


def test_one_message_per_pair_and_hour(
    desk: ContactDesk, token: str, mailer: RecordingMailer, clock: Clock
) -> None:
    desk.send("O1", "N1", token, message="Premier", share_email=False)
    clock.advance(minutes=59)
    with pytest.raises(ContactTooSoon) as caught:
        desk.send("O1", "N1", token, message="Deuxième", share_email=False)
    assert caught.value.retry_at == NOW + timedelta(hours=1)
    assert "moins d'une heure" in caught.value.message
    clock.advance(minutes=1)
    desk.send("O1", "N1", token, message="Une heure après", share_email=False)
    assert [m.text.count("Une heure après") for m in mailer.sent] == [0, 1]


def test_the_page_says_before_typing_that_a_message_went_within_the_hour(
    desk: ContactDesk, token: str, clock: Clock
) -> None:
    # Given a message sent for this pair
    desk.send("O1", "N1", token, message="Premier", share_email=False)
    clock.advance(minutes=20)
    # When the link is opened again within the hour
    request = desk.open("O1", "N1", token)
    page = render_contact_page(request, token=token, form_action="O1")
    # Then the page says when writing is possible again, and offers no form to type in
    assert request.retry_at == NOW + timedelta(hours=1)
    assert "Vous avez déjà écrit à cette personne il y a moins d'une heure" in page
    assert "<textarea" not in page
    # and after the hour, the form is back
    clock.advance(minutes=40)
    assert desk.open("O1", "N1", token).retry_at is None


def test_a_message_refused_as_too_soon_comes_back_in_the_form(
    desk: ContactDesk, token: str, clock: Clock
) -> None:
    desk.send("O1", "N1", token, message="Premier", share_email=False)
    with pytest.raises(ContactTooSoon) as caught:
        desk.send("O1", "N1", token, message="Mon second message", share_email=False)
    page = render_contact_page(
        desk.open("O1", "N1", token),
        token=token,
        form_action="O1",
        message="Mon second message",
        errors=errors_of(caught.value),
    )
    assert "Mon second message</textarea>" in page
    assert "moins d&#39;une heure" in page


def test_a_send_refused_by_ses_is_kept_and_sent_by_the_schedule_once(
    desk: ContactDesk, token: str, mailer: RecordingMailer, clock: Clock
) -> None:
    # Given SES refusing the first send (throttled: nothing went)
    mailer.fail_with = ClientError({"Error": {"Code": "TooManyRequestsException"}}, "SendEmail")
    # When the person sends the message, then sends it again (a reload)
    first = desk.send("O1", "N1", token, message="Bonjour", share_email=False)
    again = desk.send("O1", "N1", token, message="Bonjour", share_email=False)
    # Then it is accepted, not sent yet, and the second post sends nothing
    assert (first.sent, again.sent, mailer.sent) == (False, True, [])
    # When the schedule runs after the retry's wait, twice
    clock.advance(minutes=2)
    for _ in range(2):
        desk.ledger.sweep("contact", desk.performer_for, deadline=clock() + timedelta(seconds=30))
    # Then the helper got the message once
    assert len(mailer.sent) == 1
    assert "Bonjour" in mailer.sent[0].text


def test_a_send_whose_answer_was_lost_is_not_repeated_by_a_second_click(
    desk: ContactDesk, token: str, mailer: RecordingMailer, clock: Clock
) -> None:
    # Given a send that went but whose answer was lost, then the person clicking again
    class Lost(Exception):
        pass

    mailer.fail_with = Lost("read timeout")
    desk.send("O1", "N1", token, message="Bonjour", share_email=False)
    desk.send("O1", "N1", token, message="Bonjour", share_email=False)
    desk.ledger.sweep("contact", desk.performer_for, deadline=clock() + timedelta(seconds=30))
    # Then nothing is sent again while the claim's lease runs
    assert mailer.sent == []


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "Écrivez votre message."),
        ("  \r\n\t ", "Écrivez votre message."),
        ("x" * (MESSAGE_MAX + 1), "1000 caractères au maximum (1001 saisis)."),
    ],
)
def test_an_empty_or_too_long_message_is_refused_and_nothing_is_claimed(
    desk: ContactDesk, token: str, mailer: RecordingMailer, text: str, error: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        desk.send("O1", "N1", token, message=text, share_email=False)
    assert [(e.field, e.message) for e in caught.value.errors] == [("message", error)]
    desk.send("O1", "N1", token, message="x" * MESSAGE_MAX, share_email=False)
    assert len(mailer.sent) == 1


def test_messages_lose_control_characters_and_keep_line_breaks() -> None:
    assert clean_message(" a\x00b\r\nc\rd\u202ee\t ") == "ab\nc\nde"


def test_the_form_is_read_as_typed() -> None:
    form = parse_contact_form(
        {"need": "N1", "token": "t", "message": "Bonjour", "share_email": "on"}
    )
    assert (form.need_id, form.token, form.message, form.share_email) == (
        "N1",
        "t",
        "Bonjour",
        True,
    )
    assert parse_contact_form({}).share_email is False


def test_the_desk_refuses_a_mailer_that_drops_reply_to(seeded: Table, links: ContactLinks) -> None:
    class Plain:
        writes_reply_to = False

        def send(self, message: EmailMessage) -> str:
            return "x"

    with pytest.raises(TypeError):
        desk_for(seeded, Plain(), links)


# -- through SES -----------------------------------------------------------------------


def sent_through_ses(
    seeded: Table, links: ContactLinks, clock: Clock, *, share: bool, asker: str = NEEDY
) -> email.message.EmailMessage:
    client = boto3.client("sesv2")
    client.create_email_identity(EmailIdentity=SENDER)
    desk = desk_for(seeded, ContactMailer(SENDER, client=client), links, clock)
    desk.send(
        "O1", "N1", links.token(OFFER, NEED, asker=asker), message="Bonjour", share_email=share
    )
    [sent] = ses_backends[DEFAULT_ACCOUNT_ID][client.meta.region_name].sent_messages
    parsed = email.message_from_string(sent.raw_data, policy=policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


def test_through_ses_the_reply_to_header_is_set_with_consent(
    seeded: Table, links: ContactLinks, clock: Clock
) -> None:
    parsed = sent_through_ses(seeded, links, clock, share=True)
    assert parsed["Reply-To"].addresses[0].addr_spec == NEEDY
    assert [a.addr_spec for a in parsed["To"].addresses] == [HELPER]
    assert parsed["From"].addresses[0].addr_spec == SENDER
    text = parsed.get_body(("plain",))
    assert text is not None
    assert "Bonjour" in text.get_content()


def test_through_ses_no_reply_to_and_no_address_without_consent(
    seeded: Table, links: ContactLinks, clock: Clock
) -> None:
    parsed = sent_through_ses(seeded, links, clock, share=False)
    assert parsed["Reply-To"] is None
    assert NEEDY not in parsed.as_string()


def test_an_address_no_header_can_carry_is_written_in_the_email_only() -> None:
    message = ContactMailer(SENDER)
    fancy = "élodie@example.org"
    built = message.build_mime(
        ContactEmail(to=(HELPER,), subject="s", text="t", html="<p>h</p>", reply_to=""),
    )
    assert b"Reply-To" not in built
    from entraide.web.match_emails import contact_message

    mail = contact_message(
        to=HELPER,
        offer=OFFER,
        need=NEED,
        message="Bonjour",
        shared_address=fancy,
        need_url=f"{BASE}posts/N1",
        privacy_url=PRIVACY_URL,
    )
    assert mail.reply_to == ""
    assert fancy in mail.text


def test_refusals_read_in_french() -> None:
    assert describe_contact_refusal(InvalidLink())[0] == "Lien invalide"
    assert describe_contact_refusal(ContactTooSoon(NOW))[0] == "Message déjà envoyé"
    assert describe_contact_refusal(ContactClosed("x")) == ("Offre indisponible", "x")
    assert describe_contact_refusal(PostNotFound("O1"))[0] == "Annonce introuvable"


def test_a_post_made_of_public_text_only_reaches_the_page(desk: ContactDesk, token: str) -> None:
    post: Post = desk.open("O1", "N1", token).offer
    assert html.escape(post.title) in render_contact_page(
        desk.open("O1", "N1", token), token=token, form_action="O1"
    )
