"""The emails of the moderation step: subjects, recipients, both parts, escaping, links.

HTML parts are parsed with the standard library's ``html.parser``: assertions are
about elements, attributes and visible text, not about the escaping's spelling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest

from entraide.adapters.mail import EmailMessage
from entraide.kernel.model import Category, Kind, Post
from entraide.privacy.detection import EMAIL_PATTERN, PHONE_PATTERN
from entraide.web import emails
from tests import factories

APPROVE_URL = "https://entraide.example/Prod/moderation/01JDZ8Q4ZQ?d=approve&t=abc.def"
REJECT_URL = "https://entraide.example/Prod/moderation/01JDZ8Q4ZQ?d=reject&t=ghi.jkl"
WITHDRAW_URL = "https://entraide.example/Prod/retrait/01JDZ8Q4ZQ?t=mno.pqr"
PUBLIC_URL = "https://entraide.example/Prod/annonces/01JDZ8Q4ZQ"
MODERATORS = ("moderation@entraide.example", "benevole@entraide.example")
POSTER = "marie@example.org"
NASTY = "<script>alert(1)</script> \"quotes\" & ampersands 'x'"

VOID_ELEMENTS = frozenset({"br", "hr", "img", "input", "link", "meta", "wbr", "col", "area"})


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


@dataclass
class Page:
    """What an HTML part shows: its elements, its visible text, its links."""

    tags: list[tuple[str, dict[str, str | None]]] = field(default_factory=list)
    chunks: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join("".join(self.chunks).replace("\u00a0", " ").split())

    @property
    def hrefs(self) -> list[str | None]:
        return [attrs.get("href") for tag, attrs in self.tags if tag == "a"]

    def has(self, tag: str) -> bool:
        return any(name == tag for name, _ in self.tags)

    def elements(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self.stack: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.page.tags.append((tag, dict(attrs)))
        if tag not in VOID_ELEMENTS:
            hidden = "display:none" in (dict(attrs).get("style") or "")
            self.stack.append((tag, hidden))

    def handle_endtag(self, tag: str) -> None:
        # The templates close every element: a mismatch is a broken email.
        assert self.stack, f"</{tag}> closes nothing"
        assert self.stack[-1][0] == tag, f"</{tag}> closes <{self.stack[-1][0]}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        # Visible text only: not the <head>, not the hidden preheader
        if not any(tag == "head" or hidden for tag, hidden in self.stack):
            self.page.chunks.append(data)


def parse(html: str) -> Page:
    parser = _Parser()
    parser.feed(html)
    parser.close()
    assert parser.stack == [], f"unclosed elements: {parser.stack}"
    return parser.page


def one_line(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").split())


@dataclass(frozen=True, slots=True)
class Flag:
    """Shaped like the pre-screen's Flag (a frozen dataclass): code, label, detail."""

    code: str
    label: str
    detail: str


def make_post(**changes: Any) -> Post:
    """An offer of lodging in Trèbes (11800), on the shared factory."""
    trebes: dict[str, Any] = {
        "id": "01JDZ8Q4ZQ3V7K2M9N5P6R8S0T",
        "kind": Kind.OFFER,
        "category": Category.HEBERGEMENT,
        "title": "Chambre pour 2 personnes",
        "description": "Au calme, au sec.\nAccès de plain-pied.",
        "postcode": "11800",
        "commune": "Trèbes",
        "insee": "11397",
        "activation_id": "act-1",
    }
    return factories.make_post(**{**trebes, **changes})


ACTIVATION = factories.make_activation(
    id="act-1", opened_at=datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
)
FLAGS = (
    Flag("phone", "Numéro de téléphone dans le texte", "dans la description"),
    Flag("shouting", "Titre en majuscules", "plus de 80 % de capitales"),
)


def moderation(post: Post | None = None, **changes: object) -> EmailMessage:
    arguments: dict[str, object] = {
        "activation": ACTIVATION,
        "flags": FLAGS,
        "approve_url": APPROVE_URL,
        "reject_url": REJECT_URL,
        "moderators": MODERATORS,
        "privacy_url": factories.PRIVACY_URL,
    }
    arguments.update(changes)
    return emails.moderation_request(post or make_post(), **arguments)  # type: ignore[arg-type]


def approval(post: Post | None = None, **changes: object) -> EmailMessage:
    arguments: dict[str, object] = {
        "to": POSTER,
        "approved": True,
        "reason": None,
        "withdraw_url": WITHDRAW_URL,
        "public_url": PUBLIC_URL,
        "privacy_url": factories.PRIVACY_URL,
    }
    arguments.update(changes)
    return emails.decision_notice(post or make_post(), **arguments)  # type: ignore[arg-type]


def refusal(post: Post | None = None, **changes: object) -> EmailMessage:
    arguments: dict[str, object] = {
        "to": POSTER,
        "approved": False,
        "reason": "Un numéro de téléphone figure dans la description.",
        "withdraw_url": None,
        "public_url": None,
        "privacy_url": factories.PRIVACY_URL,
    }
    arguments.update(changes)
    return emails.decision_notice(post or make_post(), **arguments)  # type: ignore[arg-type]


def awaiting(post: Post) -> EmailMessage:
    return emails.awaiting_moderation(
        post, to=POSTER, withdraw_url=WITHDRAW_URL, privacy_url=factories.PRIVACY_URL
    )


def all_messages() -> list[EmailMessage]:
    return [
        moderation(),
        moderation(flags=(), activation=None),
        awaiting(make_post()),
        approval(),
        refusal(),
        refusal(reason=None),
    ]


# ---------------------------------------------------------------------------
# Moderation request
# ---------------------------------------------------------------------------


def test_moderation_request_goes_to_the_moderators_with_a_subject_that_says_what_and_where() -> (
    None
):
    # Given a pending offer in Trèbes (Aude)
    # When the moderation request is built
    message = moderation()
    # Then it goes to every moderator, tagged, with kind, category, commune and département
    assert message.to == MODERATORS
    assert message.subject == (
        "[ShareEntraide] À modérer : Offre d'aide – Hébergement – Trèbes (11)"
    )
    assert message.tag == "moderation-request"


def test_moderation_request_shows_the_public_text_place_activation_reference_and_date() -> None:
    # Given a post created at 10:00 UTC on 26 November (11:00 in Paris)
    message = moderation()
    page = parse(message.html)
    # Then both parts show everything a moderator decides on
    expected = [
        "Offre d'aide",
        "Hébergement",
        "Chambre pour 2 personnes",
        "Au calme, au sec.",
        "Accès de plain-pied.",
        "Trèbes (11800), Aude (11)",
        "#InondationsAude",
        "inondations",
        "01JDZ8Q4ZQ3V7K2M9N5P6R8S0T",
        "26 novembre 2026 à 11 h 00",
    ]
    for value in expected:
        assert value in page.text, value
        assert value in one_line(message.text), value


def test_moderation_request_date_is_the_french_day_in_paris_time() -> None:
    # Given a post created at 23:05 UTC on 26 November: already the 27th in Paris
    message = moderation(make_post(created_at=datetime(2026, 11, 26, 23, 5, tzinfo=UTC)))
    # Then the date shown is the Paris one
    assert "27 novembre 2026 à 0 h 05" in parse(message.html).text
    assert "27 novembre 2026 à 0 h 05" in message.text


def test_moderation_request_keeps_the_description_line_breaks_in_html() -> None:
    # Given a description on two lines
    message = moderation()
    # Then the HTML keeps the line break, in an element that shows it (pre-line)
    assert "Au calme, au sec.\nAccès de plain-pied." in message.html
    parser_text = message.html.split("Au calme, au sec.")[0]
    opening_tag = parser_text[parser_text.rindex("<") :]
    assert "white-space:pre-line" in opening_tag


def test_moderation_request_lists_the_flags_first() -> None:
    # Given two flags from the pre-screen
    message = moderation()
    page = parse(message.html)
    # Then each flag's label and detail is shown, before the post itself, in both parts
    for part in (page.text, one_line(message.text)):
        assert "Points d'attention (2)" in part
        for flag in FLAGS:
            assert flag.label in part
            assert flag.detail in part
        assert part.index("Points d'attention") < part.index("Chambre pour 2 personnes")
        assert "Aucun point d'attention" not in part


def test_moderation_request_without_flags_says_so() -> None:
    # Given no flag and no activation
    message = moderation(flags=(), activation=None)
    page = parse(message.html)
    # Then both parts say that nothing was noticed, and that no activation is linked
    for part in (page.text, one_line(message.text)):
        assert "Aucun point d'attention relevé" in part
        assert "Points d'attention" not in part
        assert "Aucune activation associée" in part


def test_moderation_request_links_approve_and_reject_in_both_parts() -> None:
    message = moderation()
    page = parse(message.html)
    # Then the HTML has exactly the two links, as plain <a href> (the & unescaped back)
    assert page.hrefs == [APPROVE_URL, REJECT_URL, factories.PRIVACY_URL]
    assert {"Approuver", "Refuser"} <= set(page.text.split())
    # And the text part has both URLs, each on its own line
    lines = message.text.splitlines()
    assert APPROVE_URL in lines
    assert REJECT_URL in lines
    # And the console links name them
    assert message.links == (("Approuver", APPROVE_URL), ("Refuser", REJECT_URL))


def test_moderation_request_explains_the_confirmation_page_and_the_72_hours() -> None:
    message = moderation()
    for part in (parse(message.html).text, one_line(message.text)):
        assert "page de confirmation" in part
        assert "rien n'est décidé par le simple clic" in part
        assert "72 h" in part


def test_moderation_request_states_the_configured_link_lifetime() -> None:
    message = moderation(link_ttl_hours=24)
    for part in (parse(message.html).text, one_line(message.text)):
        assert "expirent au bout de 24 h" in part
        assert "72 h" not in part


def test_moderation_request_carries_no_contact_detail() -> None:
    # Given a normal post (a Post has no contact field) and two moderators
    message = moderation()
    # Then no email address or phone number appears in either part, not even a moderator's
    for part in (message.text, message.html, message.subject):
        assert EMAIL_PATTERN.search(part) is None, EMAIL_PATTERN.search(part)
        assert PHONE_PATTERN.search(part) is None, PHONE_PATTERN.search(part)


def test_moderation_request_needs_a_moderator() -> None:
    with pytest.raises(ValueError, match="recipient"):
        moderation(moderators=())


@pytest.mark.parametrize("bad", ["javascript:alert(1)", "/relative/path", "ftp://x.example/a"])
def test_moderation_links_must_be_absolute_http_urls(bad: str) -> None:
    with pytest.raises(ValueError, match="URL"):
        moderation(approve_url=bad)


# ---------------------------------------------------------------------------
# Escaping: HTML escaped, text verbatim
# ---------------------------------------------------------------------------


def test_user_text_is_escaped_in_html_and_verbatim_in_text() -> None:
    # Given a post whose every free-text field is hostile
    post = make_post(title=NASTY, description=f"{NASTY}\n{NASTY}", commune=NASTY)
    built = [
        moderation(post),
        awaiting(post),
        approval(post),
        refusal(post, reason=NASTY),
    ]
    for message in built:
        page = parse(message.html)
        # Then the HTML has no script element and shows the text as text
        assert not page.has("script")
        assert "<script>" not in message.html
        assert NASTY in page.text
        # And the plain-text part shows it exactly as typed, not HTML-escaped
        assert NASTY in message.text
        assert "&lt;" not in message.text
        assert "&amp;" not in message.text
        assert "&#" not in message.text


def test_text_parts_are_not_html_escaped_even_for_our_own_apostrophes() -> None:
    for message in all_messages():
        assert "&#39;" not in message.text
        assert "&quot;" not in message.text
        assert "&nbsp;" not in message.text


def test_refusal_reason_is_escaped_and_keeps_its_line_breaks() -> None:
    message = refusal(reason="Ligne 1 <b>\nLigne 2 & fin")
    page = parse(message.html)
    assert not page.has("b")
    assert "Ligne 1 <b> Ligne 2 & fin" in page.text
    assert "Ligne 1 &lt;b&gt;\nLigne 2 &amp; fin" in message.html
    assert "Ligne 1 <b>\nLigne 2 & fin" in message.text


# ---------------------------------------------------------------------------
# Awaiting moderation
# ---------------------------------------------------------------------------


def test_awaiting_moderation_thanks_the_poster_and_recalls_the_title() -> None:
    # Given a post just received
    message = awaiting(make_post())
    page = parse(message.html)
    # Then it goes to the poster only, and says a moderator will read it
    assert message.to == (POSTER,)
    assert message.subject == "Votre annonce est en attente de modération"
    assert message.tag == "awaiting-moderation"
    for part in (page.text, one_line(message.text)):
        assert "Merci" in part
        assert "« Chambre pour 2 personnes »" in part
        assert "équipe de modération va la lire" in part
        assert "01JDZ8Q4ZQ3V7K2M9N5P6R8S0T" in part
        assert "même avant sa publication" in part
    # and it carries the link to withdraw the post, valid as long as the post is
    assert page.hrefs == [WITHDRAW_URL, factories.PRIVACY_URL]
    assert WITHDRAW_URL in message.text.splitlines()
    assert message.links == (("Retirer mon annonce", WITHDRAW_URL),)


# ---------------------------------------------------------------------------
# Decision notice
# ---------------------------------------------------------------------------


def test_approval_says_the_post_is_public_and_gives_the_withdraw_link() -> None:
    # Given an approved offer
    message = approval()
    page = parse(message.html)
    # Then the subject says it is published, and both parts link the post and its withdrawal
    assert message.to == (POSTER,)
    assert message.subject == "Votre annonce a été publiée"
    assert message.tag == "decision-approved"
    assert page.hrefs == [PUBLIC_URL, WITHDRAW_URL, factories.PRIVACY_URL]
    assert "Retirer mon annonce" in page.text
    assert "Voir l'annonce" in page.text
    lines = message.text.splitlines()
    assert PUBLIC_URL in lines
    assert WITHDRAW_URL in lines
    assert "Retirer mon annonce :" in lines
    assert message.links == (("Voir l'annonce", PUBLIC_URL), ("Retirer mon annonce", WITHDRAW_URL))
    for part in (page.text, one_line(message.text)):
        assert "« Chambre pour 2 personnes »" in part
        assert "publiée" in part


def test_approval_of_a_need_speaks_of_help_no_longer_needed() -> None:
    message = approval(make_post(kind=Kind.NEED, category=Category.REPAS))
    for part in (parse(message.html).text, one_line(message.text).upper()):
        assert "PLUS BESOIN D'AIDE" in part.upper()


def test_approval_without_urls_has_no_link_but_the_privacy_page() -> None:
    message = approval(withdraw_url=None, public_url=None)
    assert parse(message.html).hrefs == [factories.PRIVACY_URL]
    assert "Retirer mon annonce" not in message.text
    assert re.findall(r"https://\S+", message.text) == [factories.PRIVACY_URL]
    assert message.links == ()


def test_refusal_gives_the_reason_and_how_to_post_again_but_no_withdraw_link() -> None:
    # Given a refusal, even if a caller passes URLs by mistake
    message = refusal(withdraw_url=WITHDRAW_URL, public_url=PUBLIC_URL)
    page = parse(message.html)
    # Then it says so, gives the reason and the way to post again, and links nothing
    assert message.to == (POSTER,)
    assert message.subject == "Votre annonce n'a pas été retenue"
    assert message.tag == "decision-rejected"
    for part in (page.text, one_line(message.text)):
        assert "Un numéro de téléphone figure dans la description." in part
        assert "déposer une nouvelle annonce" in part
        assert "« Chambre pour 2 personnes »" in part
        assert "Retirer mon annonce" not in part
    assert page.hrefs == [factories.PRIVACY_URL]
    assert WITHDRAW_URL not in message.text
    assert PUBLIC_URL not in message.text
    assert message.links == ()


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_refusal_without_reason_says_none_was_given(reason: str | None) -> None:
    message = refusal(reason=reason)
    for part in (parse(message.html).text, one_line(message.text)):
        assert "Aucun motif n'a été précisé." in part
        assert "Motif indiqué" not in part


def test_withdraw_link_is_only_in_the_posters_emails_while_the_post_lives() -> None:
    for message in all_messages():
        has_link = WITHDRAW_URL in message.text or WITHDRAW_URL in parse(message.html).hrefs
        expected = message.tag in ("awaiting-moderation", "decision-approved")
        assert has_link == expected, message.tag


def test_every_email_footer_links_the_privacy_page() -> None:
    for message in all_messages():
        assert factories.PRIVACY_URL in parse(message.html).hrefs, message.tag
        footer = message.text.rpartition("\n-- \n")[2]
        assert factories.PRIVACY_URL in footer, message.tag


# ---------------------------------------------------------------------------
# Every email
# ---------------------------------------------------------------------------


def test_every_html_part_is_email_safe() -> None:
    for message in all_messages():
        page = parse(message.html)
        # No script, no stylesheet, no external resource, no form
        for tag in ("script", "link", "style", "img", "iframe", "form", "object", "embed"):
            assert not page.has(tag), (message.tag, tag)
        assert "url(" not in message.html
        assert all(href and href.startswith("https://") for href in page.hrefs)
        # A single column at most 600 px wide, in French
        assert "max-width:600px" in message.html
        assert page.elements("html") == [{"lang": "fr"}]


def words(text: str) -> set[str]:
    return set(re.findall(r"[\w'’#-]+", text.casefold()))


def test_every_text_part_says_what_the_html_part_says() -> None:
    for message in all_messages():
        # Every word the HTML part shows is in the text part (headings may be capitalised)
        missing = words(parse(message.html).text) - words(message.text)
        assert not missing, (message.tag, sorted(missing))
