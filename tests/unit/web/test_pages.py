"""Public HTML pages: structure, accessibility, escaping and the form contract.

Pages are parsed with the standard library's ``html.parser`` into a tiny tree, so
the assertions are about elements and attributes, not about text patterns.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from importlib import resources
from typing import Any
from urllib.parse import urljoin

import pytest

from entraide.kernel.errors import FieldError
from entraide.kernel.model import Activation, AlertLevel, Category, Hazard, Kind, Post
from entraide.web import form_page, pages
from tests import factories

# ---------------------------------------------------------------------------
# A tiny DOM built with html.parser
# ---------------------------------------------------------------------------

VOID_ELEMENTS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    parent: Element | None = field(default=None, repr=False)
    children: list[Element | str] = field(default_factory=list, repr=False)

    def iter(self) -> Iterator[Element]:
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        wanted = {name.rstrip("_").replace("_", "-"): value for name, value in attrs.items()}
        return [
            el
            for el in self.iter()
            if (tag is None or el.tag == tag)
            and all(el.attrs.get(name) == value for name, value in wanted.items())
        ]

    def find(self, tag: str | None = None, **attrs: str) -> Element:
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"expected one <{tag} {attrs}>, found {len(found)}"
        return found[0]

    def text(self) -> str:
        parts: list[str] = []
        for child in self.children:
            parts.append(child.text() if isinstance(child, Element) else child)
        return " ".join(" ".join(parts).replace("\u00a0", " ").split())

    def ancestors(self) -> Iterator[Element]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def has(self, name: str) -> bool:
        return name in self.attrs


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs), parent=self.stack[-1])
        self.stack[-1].children.append(element)
        if tag not in VOID_ELEMENTS:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Element(tag, dict(attrs), parent=self.stack[-1]))

    def handle_endtag(self, tag: str) -> None:
        # The templates close every element explicitly: a mismatch is a broken page.
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(page: str) -> Element:
    builder = _TreeBuilder()
    builder.feed(page)
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements"
    return builder.root


def controls(doc: Element) -> list[Element]:
    return [el for el in doc.iter() if el.tag in {"input", "select", "textarea"}]


def control(doc: Element, name: str) -> Element:
    found = [el for el in controls(doc) if el.attrs.get("name") == name]
    assert len(found) == 1, f"expected one control named {name!r}, found {len(found)}"
    return found[0]


def radios(doc: Element, name: str) -> list[Element]:
    return [el for el in controls(doc) if el.attrs.get("name") == name]


def label_of(doc: Element, element: Element) -> Element:
    return doc.find("label", for_=element.attrs["id"] or "")


def selected_values(select: Element) -> list[str | None]:
    return [opt.attrs.get("value") for opt in select.find_all("option") if opt.has("selected")]


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------

CONTRACT_FIELDS = {
    "kind",
    "category",
    "title",
    "description",
    "postcode",
    "commune",
    "email",
    "phone",
    "consent",
}
NASTY = '<script>alert(1)</script> " onfocus="alert(2)" \'x\''


def activation(**changes: object) -> Activation:
    data: dict[str, object] = {
        "id": "act-1",
        "hazard": Hazard.INONDATION,
        "departements": ("11", "34"),
        "level": AlertLevel.ROUGE,
        "hashtag": "#InondationsAude",
        "opened_at": datetime(2026, 11, 26, 9, 30, tzinfo=UTC),
    }
    data.update(changes)
    return Activation(**data)  # type: ignore[arg-type]


def post(**changes: Any) -> Post:
    """An offer of lodging in Trèbes (11800), on the shared factory."""
    trebes: dict[str, Any] = {
        "id": "01JDZ8Q4ZQ3V7K2M9N5P6R8S0T",
        "kind": Kind.OFFER,
        "category": Category.HEBERGEMENT,
        "title": "Chambre pour 2 personnes",
        "description": "Au calme, au sec.",
        "postcode": "11800",
        "commune": "Trèbes",
        "insee": "11397",
        "activation_id": "act-1",
    }
    return factories.make_post(**{**trebes, **changes})


FULL_VALUES = {
    "kind": "offer",
    "category": "transport",
    "title": "Voiture 5 places",
    "description": "Je peux conduire des personnes à Carcassonne.",
    "postcode": "11000",
    "commune": "Carcassonne",
    "email": "marie@example.org",
    "phone": "06 12 34 56 78",
    "consent": "on",
}


#: Whom people write to about their data (the template's PrivacyContactEmail).
PRIVACY_CONTACT = "donnees@shareentraide.example"


def all_pages() -> dict[str, str]:
    return {
        "form": form_page.render_form_page([activation()]),
        "asleep": form_page.render_form_page([]),
        "errors": form_page.render_form_page(
            [activation()],
            values=FULL_VALUES,
            errors=[FieldError("title", "3 caractères au minimum."), FieldError("body", "Oups.")],
            commune_choices=["Carcassonne", "Berriac"],
        ),
        "confirmation": form_page.render_confirmation_page(post(), privacy_contact=PRIVACY_CONTACT),
        "message": pages.render_message_page("Page introuvable", "Cette page n'existe pas."),
    }


# ---------------------------------------------------------------------------
# Every page
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(all_pages()))
def test_given_any_page_when_rendered_then_it_is_accessible_french_html(name: str) -> None:
    # Given / When
    doc = parse(all_pages()[name])

    # Then: French, one main, one h1, a viewport for phones, unique ids
    assert doc.find("html").attrs["lang"] == "fr"
    assert len(doc.find_all("main")) == 1
    assert len(doc.find_all("h1")) == 1
    assert doc.find("h1").text()
    assert doc.find("title").text().endswith("ShareEntraide")
    assert "width=device-width" in (doc.find("meta", name="viewport").attrs["content"] or "")
    ids = [el.attrs["id"] for el in doc.iter() if el.has("id")]
    assert len(ids) == len(set(ids)), "duplicate id"
    # and every in-page link points at an existing element
    for link in doc.find_all("a"):
        href = link.attrs.get("href") or ""
        if href.startswith("#"):
            assert href[1:] in ids, f"dangling link {href}"


@pytest.mark.parametrize("name", list(all_pages()))
def test_given_any_page_when_rendered_then_it_loads_no_external_resource(name: str) -> None:
    # Given / When
    doc = parse(all_pages()[name])

    # Then: no script at all, no image, no external stylesheet or font
    assert doc.find_all("script") == []
    assert doc.find_all("img") == []
    assert doc.find_all("iframe") == []
    for link in doc.find_all("link"):
        assert link.attrs.get("rel") != "stylesheet"
    for element in doc.iter():
        for attr in ("src", "href", "action", "srcset", "poster", "data"):
            value = (element.attrs.get(attr) or "").strip().lower()
            assert not value.startswith(("http://", "https://", "//")), (element.tag, value)
    style = "".join(el.text() for el in doc.find_all("style"))
    assert "@import" not in style
    assert "url(" not in style


def test_given_the_base_layout_when_rendered_then_focus_is_visible() -> None:
    # Given / When
    doc = parse(pages.render_message_page("Titre", "Message"))
    style = doc.find("style").text()

    rules = {}
    for rule in style.split("}"):
        if "{" in rule:
            selectors, declarations = rule.split("{", 1)
            for selector in selectors.split(","):
                rules[selector.strip()] = declarations

    # Then: every focused element gets a visible outline, never removed
    assert "outline:3px solid" in rules[":focus"]
    assert "outline:none" not in style
    assert "outline:0" not in style


# ---------------------------------------------------------------------------
# The form: contract and accessibility
# ---------------------------------------------------------------------------


def test_given_an_open_activation_when_the_form_is_rendered_then_fields_match_the_contract() -> (
    None
):
    # Given / When
    doc = parse(form_page.render_form_page([activation()]))

    # Then: exactly the contract's names, plus the honeypot
    names = {el.attrs.get("name") for el in controls(doc)}
    assert names == CONTRACT_FIELDS | {"website"}
    assert set(form_page.FORM_FIELDS) == CONTRACT_FIELDS
    form = doc.find("form")
    assert form.attrs["action"] == "offers"
    assert form.attrs["method"] == "post"
    assert form.attrs["enctype"] == "application/x-www-form-urlencoded"
    button = form.find("button", type="submit")
    assert "annonce" in button.text()


def test_given_a_stage_prefix_when_links_are_resolved_then_they_stay_under_the_stage() -> None:
    # Given: pages served at /Prod/ and /Prod/offers
    doc = parse(form_page.render_form_page([activation()]))
    action = doc.find("form").attrs["action"] or ""
    back = parse(pages.render_message_page("Erreur", "Oups")).find("main").find("a")
    back_href = back.attrs["href"] or ""

    # Then: the form posts to /Prod/offers and the way back leads to /Prod/ from both pages
    assert urljoin("https://x.example/Prod/", action) == "https://x.example/Prod/offers"
    assert urljoin("https://x.example/Prod/offers", back_href) == "https://x.example/Prod/"
    assert urljoin("https://x.example/Prod/", back_href) == "https://x.example/Prod/"
    assert "formulaire" in back.text()


def test_given_the_form_when_rendered_then_every_control_has_a_label() -> None:
    # Given / When
    doc = parse(form_page.render_form_page([activation()], commune_choices=["A", "B"]))

    # Then
    for element in controls(doc):
        assert element.attrs.get("id"), f"{element.attrs.get('name')} has no id"
        assert label_of(doc, element).text(), f"{element.attrs.get('name')} has an empty label"


def test_given_the_form_when_rendered_then_fields_are_typed_for_phones() -> None:
    # Given / When
    doc = parse(form_page.render_form_page([activation()]))

    # Then
    assert control(doc, "title").attrs["maxlength"] == "120"
    description = control(doc, "description")
    assert description.tag == "textarea"
    assert description.attrs["maxlength"] == "1000"
    hint = doc.find(id=(description.attrs["aria-describedby"] or "").split()[0])
    assert "1 000 caractères au maximum" in hint.text()
    postcode = control(doc, "postcode")
    assert postcode.attrs["inputmode"] == "numeric"
    assert postcode.attrs["pattern"] == "[0-9]{5}"
    assert postcode.attrs["autocomplete"] == "postal-code"
    email = control(doc, "email")
    assert (email.attrs["type"], email.attrs["autocomplete"]) == ("email", "email")
    assert email.has("required")
    phone = control(doc, "phone")
    assert phone.attrs["type"] == "tel"
    assert not phone.has("required")
    consent = control(doc, "consent")
    assert (consent.attrs["type"], consent.attrs["value"]) == ("checkbox", "on")
    consent_label = label_of(doc, consent).text()
    for promise in ("modération", "coordonnées restent privées", "effacées automatiquement"):
        assert promise in consent_label
    # and the consent box links to the privacy page, which says what "effacées" means
    form = doc.find("form")
    [privacy] = [a for a in form.find_all("a") if "Vos données personnelles" in a.text()]
    assert urljoin("https://x.example/Prod/", privacy.attrs["href"] or "") == (
        "https://x.example/Prod/donnees-personnelles"
    )


def test_given_the_form_when_rendered_then_contact_fields_say_they_are_never_published() -> None:
    # Given / When
    doc = parse(form_page.render_form_page([activation()]))

    # Then: each contact field is described by a privacy hint
    for name in ("email", "phone"):
        hint_id = (control(doc, name).attrs["aria-describedby"] or "").split()[0]
        hint = doc.find(id=hint_id).text()
        assert "Jamais publié" in hint
        assert "modération" in hint


def test_given_the_form_when_rendered_then_kind_and_category_offer_the_known_choices() -> None:
    # Given / When
    doc = parse(form_page.render_form_page([activation()]))

    # Then: two radios with plain French labels
    kinds = radios(doc, "kind")
    assert [r.attrs["type"] for r in kinds] == ["radio", "radio"]
    labels = {r.attrs["value"]: label_of(doc, r).text() for r in kinds}
    assert labels == {"need": "J'ai besoin d'aide", "offer": "Je propose mon aide"}
    # and every category, by code, with its French label
    options = control(doc, "category").find_all("option")
    choices = {opt.attrs["value"]: opt.text() for opt in options if opt.attrs["value"]}
    assert choices == {c.value: c.label for c in Category}


def test_given_the_form_when_rendered_then_related_fields_are_grouped() -> None:
    # Given / When
    doc = parse(form_page.render_form_page([activation()]))

    def fieldset_of(element: Element) -> Element:
        return next(a for a in element.ancestors() if a.tag == "fieldset")

    # Then: the radios share a fieldset whose legend asks the question
    need, offer = radios(doc, "kind")
    kind_group = fieldset_of(need)
    assert fieldset_of(offer) is kind_group
    assert "Que souhaitez-vous faire" in kind_group.find("legend").text()
    # and the contact details are grouped together
    assert fieldset_of(control(doc, "email")) is fieldset_of(control(doc, "phone"))
    assert fieldset_of(control(doc, "postcode")) is fieldset_of(control(doc, "commune"))
    assert fieldset_of(control(doc, "title")) is fieldset_of(control(doc, "category"))
    for group in doc.find_all("fieldset"):
        first = next(child for child in group.children if isinstance(child, Element))
        assert first.tag == "legend", "a fieldset starts with its legend"


def test_given_the_form_when_rendered_then_required_fields_are_marked_in_text() -> None:
    # Given / When
    doc = parse(form_page.render_form_page([activation()]))

    # Then
    for name in ("category", "title", "description", "postcode", "email", "consent"):
        assert "(obligatoire)" in label_of(doc, control(doc, name)).text(), name
    kind_legend = next(a for a in radios(doc, "kind")[0].ancestors() if a.tag == "fieldset")
    assert "(obligatoire)" in kind_legend.find("legend").text()
    assert "(facultatif)" in label_of(doc, control(doc, "phone")).text()
    assert "(facultatif)" in label_of(doc, control(doc, "commune")).text()


def test_given_the_form_when_rendered_then_the_honeypot_is_hidden_from_people() -> None:
    # Given: a robot's value from a previous attempt
    doc = parse(form_page.render_form_page([activation()], values={"website": "http://spam"}))

    # When
    honeypot = control(doc, "website")
    wrapper = honeypot.parent
    assert wrapper is not None

    # Then: never refilled, out of the tab order, hidden from screen readers and from view
    assert honeypot.attrs["value"] == ""
    assert honeypot.attrs["tabindex"] == "-1"
    assert honeypot.attrs["autocomplete"] == "off"
    assert wrapper.attrs["aria-hidden"] == "true"
    assert label_of(doc, honeypot).text() == "Ne pas remplir ce champ"
    hidden_class = wrapper.attrs["class"] or ""
    style = doc.find("style").text()
    rule = next(line for line in style.splitlines() if f".{hidden_class}" in line)
    assert "position:absolute" in rule
    assert "clip:rect(0 0 0 0)" in rule


# ---------------------------------------------------------------------------
# Showing the form again: values and errors
# ---------------------------------------------------------------------------


def test_given_previous_values_when_the_form_is_shown_again_then_every_field_is_refilled() -> None:
    # Given / When
    doc = parse(form_page.render_form_page([activation()], values=FULL_VALUES))

    # Then: radio checked, select selected, checkbox checked, texts kept
    checked = [el.attrs["value"] for el in controls(doc) if el.has("checked")]
    assert checked == ["offer", "on"]
    assert selected_values(control(doc, "category")) == ["transport"]
    for name in ("title", "postcode", "commune", "email", "phone"):
        assert control(doc, name).attrs["value"] == FULL_VALUES[name]
    assert control(doc, "description").text() == FULL_VALUES["description"]


def test_given_no_values_when_the_form_is_rendered_then_nothing_is_preselected() -> None:
    # Given / When
    doc = parse(form_page.render_form_page([activation()]))

    # Then
    assert [el for el in controls(doc) if el.has("checked")] == []
    assert selected_values(control(doc, "category")) == [""]
    assert control(doc, "title").attrs["value"] == ""


def test_given_french_aliases_when_the_form_is_shown_again_then_choices_are_recognised() -> None:
    # Given: values as the JSON API accepts them (alias, label, "oui")
    values = {"kind": "Besoin", "category": "Hébergement", "consent": "oui"}

    # When
    doc = parse(form_page.render_form_page([activation()], values=values))

    # Then
    kind = [el.attrs["value"] for el in controls(doc) if el.has("checked") and el.tag == "input"]
    assert kind == ["need", "on"]
    assert selected_values(control(doc, "category")) == ["hebergement"]


def test_given_consent_refused_when_the_form_is_shown_again_then_the_box_is_unchecked() -> None:
    # Given / When
    doc = parse(form_page.render_form_page([activation()], values={**FULL_VALUES, "consent": ""}))

    # Then
    assert not control(doc, "consent").has("checked")


def test_given_field_errors_when_the_form_is_shown_again_then_they_are_summarised_and_linked() -> (
    None
):
    # Given
    errors = [
        FieldError("postcode", "Le code postal doit comporter 5 chiffres."),
        FieldError("title", "3 caractères au minimum."),
        FieldError("body", "Le corps de la requête est illisible."),
    ]

    # When
    doc = parse(form_page.render_form_page([activation()], values=FULL_VALUES, errors=errors))

    # Then: a summary comes first in <main>, before the h1, general errors first
    main = doc.find("main")
    first = next(child for child in main.children if isinstance(child, Element))
    assert "error-summary" in (first.attrs.get("class") or "")
    assert first.attrs.get("role") == "alert"
    items = first.find_all("li")
    assert [li.text() for li in items] == [
        "Le corps de la requête est illisible.",
        "Titre : 3 caractères au minimum.",
        "Code postal : Le code postal doit comporter 5 chiffres.",
    ]
    assert items[0].find_all("a") == []
    assert [li.find("a").attrs["href"] for li in items[1:]] == ["#field-title", "#field-postcode"]
    assert doc.find("title").text().startswith("Erreur")


@pytest.mark.parametrize("name", ["title", "description", "postcode", "email", "phone", "category"])
def test_given_a_field_error_when_shown_again_then_it_is_beside_the_field(name: str) -> None:
    # Given
    message = f"Message pour {name}."

    # When
    doc = parse(form_page.render_form_page([activation()], errors=[FieldError(name, message)]))

    # Then: the summary links to the field itself
    element = control(doc, name)
    link = doc.find("a", href=f"#{element.attrs['id']}")
    assert message in link.text()
    # and the message beside it is announced with the field
    assert element.attrs.get("aria-invalid") == "true"
    described = (element.attrs.get("aria-describedby") or "").split()
    error = doc.find(id=f"field-{name}-error")
    assert error.attrs["id"] in described
    assert message in error.text()
    # and no other control is marked invalid
    invalid = [el.attrs["name"] for el in controls(doc) if el.has("aria-invalid")]
    assert invalid == [name]


def test_given_a_kind_error_when_shown_again_then_the_radio_group_describes_it() -> None:
    # Given / When
    doc = parse(
        form_page.render_form_page([activation()], errors=[FieldError("kind", "Choisissez.")])
    )

    # Then: the link reaches the first radio and the fieldset announces the message
    first_radio = radios(doc, "kind")[0]
    assert doc.find("a", href=f"#{first_radio.attrs['id']}")
    group = next(a for a in first_radio.ancestors() if a.tag == "fieldset")
    assert group.attrs["aria-describedby"] == "field-kind-error"
    assert "Choisissez." in doc.find(id="field-kind-error").text()


def test_given_a_consent_error_when_shown_again_then_the_checkbox_is_invalid() -> None:
    # Given / When
    errors = [FieldError("consent", "Vous devez accepter les conditions d'utilisation.")]
    doc = parse(form_page.render_form_page([activation()], errors=errors))

    # Then
    consent = control(doc, "consent")
    assert consent.attrs["aria-invalid"] == "true"
    assert consent.attrs["aria-describedby"] == "field-consent-error"
    assert doc.find("a", href="#field-consent")


def test_given_no_error_when_the_form_is_rendered_then_there_is_no_summary() -> None:
    # Given / When
    doc = parse(form_page.render_form_page([activation()], values=FULL_VALUES))

    # Then
    assert doc.find_all(role="alert") == []
    assert [el for el in controls(doc) if el.has("aria-invalid")] == []
    assert not doc.find("title").text().startswith("Erreur")


def test_given_a_hostile_title_when_the_form_is_shown_again_then_it_is_escaped() -> None:
    # Given
    values = {**FULL_VALUES, "title": NASTY, "description": NASTY, "commune": NASTY}

    # When
    page = form_page.render_form_page([activation()], values=values)
    doc = parse(page)

    # Then: the values come back intact as values, and never as markup
    assert control(doc, "title").attrs["value"] == NASTY
    assert control(doc, "commune").attrs["value"] == NASTY
    assert control(doc, "description").text() == " ".join(NASTY.split())
    assert doc.find_all("script") == []
    assert all(not el.has("onfocus") for el in doc.iter())
    assert "<script>alert(1)" not in page


def test_given_a_hostile_error_message_when_shown_then_it_is_escaped() -> None:
    # Given: a message quoting the person's input, and an unknown field name
    errors = [FieldError("title", NASTY), FieldError("<b>x</b>", "Champ inconnu.")]

    # When
    doc = parse(form_page.render_form_page([activation()], errors=errors))

    # Then
    assert doc.find_all("script") == []
    assert doc.find_all("b") == []
    assert "<b>x</b> : Champ inconnu." in [li.text() for li in doc.find_all("li")]


# ---------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------


def test_given_no_activation_when_the_form_page_is_rendered_then_the_platform_is_asleep() -> None:
    # Given / When
    doc = parse(form_page.render_form_page([]))
    text = doc.find("main").text()

    # Then: said in words, and there is no form to fill in for nothing
    assert "La plateforme est en veille" in text
    assert "aucune alerte n'est en cours" in text
    assert "Les annonces sont fermées pour le moment" in text
    assert doc.find_all("form") == []


def test_given_only_closed_activations_when_rendered_then_the_platform_is_asleep() -> None:
    # Given
    closed = activation(closed_at=datetime(2026, 12, 10, tzinfo=UTC))

    # When
    doc = parse(form_page.render_form_page([closed]))

    # Then
    assert "La plateforme est en veille" in doc.find("main").text()
    assert doc.find_all("form") == []


def test_given_no_activation_but_a_rejected_post_when_shown_again_then_input_is_kept() -> None:
    # Given: the caller shows the form again without reloading activations
    errors = [FieldError("title", "3 caractères au minimum.")]

    # When
    doc = parse(form_page.render_form_page([], values=FULL_VALUES, errors=errors))

    # Then: the person's input is not lost
    assert control(doc, "email").attrs["value"] == FULL_VALUES["email"]


def test_given_open_activations_when_rendered_then_they_are_listed_in_french() -> None:
    # Given
    aude = activation()
    var = activation(
        id="act-2",
        hazard=Hazard.VENT_VIOLENT,
        departements=("83",),
        level=AlertLevel.ORANGE,
        hashtag="TempeteVar",
        opened_at=datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
    )

    # When
    doc = parse(form_page.render_form_page([aude, var]))
    items = doc.find("ul", class_="activations").find_all("li")

    # Then
    assert len(items) == 2
    first, second = (li.text() for li in items)
    assert "Inondations" in first
    assert "vigilance rouge" in first
    assert "Départements : Aude (11), Hérault (34)" in first
    assert "#InondationsAude" in first
    assert "26 novembre 2026" in first
    assert "Vent violent" in second
    assert "Département : Var (83)" in second
    assert "#TempeteVar" in second
    assert "1er décembre 2026" in second
    assert "en veille" not in doc.find("main").text()


# ---------------------------------------------------------------------------
# Communes sharing a postal code
# ---------------------------------------------------------------------------


def test_given_commune_choices_when_shown_again_then_a_list_keeps_the_previous_choice() -> None:
    # Given
    choices = ["Carcassonne", "Berriac", "Pennautier"]

    # When
    doc = parse(
        form_page.render_form_page(
            [activation()],
            values={**FULL_VALUES, "commune": "Berriac"},
            commune_choices=choices,
        )
    )

    # Then: a select instead of a text input, with a message explaining why
    commune = control(doc, "commune")
    assert commune.tag == "select"
    options = [opt.attrs["value"] for opt in commune.find_all("option")]
    assert options == ["", *choices]
    assert selected_values(commune) == ["Berriac"]
    hint = doc.find(id="field-commune-hint").text()
    assert "plusieurs communes" in hint
    assert "(obligatoire)" in label_of(doc, commune).text()


def test_given_commune_choices_and_no_previous_choice_then_nothing_is_preselected() -> None:
    # Given / When
    doc = parse(form_page.render_form_page([activation()], commune_choices=["A", "B"]))

    # Then
    assert selected_values(control(doc, "commune")) == [""]


def test_given_no_commune_choices_when_rendered_then_commune_is_free_text() -> None:
    # Given / When
    doc = parse(form_page.render_form_page([activation()]))

    # Then
    commune = control(doc, "commune")
    assert (commune.tag, commune.attrs["type"]) == ("input", "text")


# ---------------------------------------------------------------------------
# Confirmation and message pages
# ---------------------------------------------------------------------------


def test_given_a_post_when_confirmed_then_the_page_recaps_it_and_says_what_happens_next() -> None:
    # Given / When
    doc = parse(form_page.render_confirmation_page(post(), privacy_contact=PRIVACY_CONTACT))
    main = doc.find("main").text()

    # Then
    assert "Merci" in doc.find("h1").text()
    assert "01JDZ8Q4ZQ3V7K2M9N5P6R8S0T" in main
    assert "Chambre pour 2 personnes" in main
    assert "Trèbes (11800)" in main
    assert Kind.OFFER.label in main
    assert Category.HEBERGEMENT.label in main
    assert "modération relit votre annonce" in main
    assert "e-mail" in main
    assert f"si vous nous écrivez, à {PRIVACY_CONTACT}" in main
    again = next(a for a in doc.find("main").find_all("a") if "autre annonce" in a.text())
    assert "autre annonce" in again.text()
    assert urljoin("https://x.example/Prod/offers", again.attrs["href"] or "") == (
        "https://x.example/Prod/"
    )


def test_given_a_hostile_title_when_confirmed_then_it_is_escaped() -> None:
    # Given / When
    page = form_page.render_confirmation_page(
        post(title=NASTY, commune='Saint-"X"'), privacy_contact=PRIVACY_CONTACT
    )
    doc = parse(page)

    # Then
    assert doc.find_all("script") == []
    assert " ".join(NASTY.split()) in doc.find("main").text()
    assert 'Saint-"X" (11800)' in doc.find("main").text()
    assert "<script>alert(1)" not in page


def test_given_the_confirmation_template_then_it_cannot_show_contact_details() -> None:
    # Given: the template's source, parsed by Jinja
    import jinja2
    from jinja2 import nodes

    source = (
        resources.files("entraide.web").joinpath("templates/confirmation.html").read_text("utf-8")
    )
    tree = jinja2.Environment(autoescape=True).parse(source)

    # When: every variable and attribute the template reads
    read = {n.name for n in tree.find_all(nodes.Name)}
    read |= {n.attr for n in tree.find_all(nodes.Getattr)}

    # Then: nothing about contacts, and the rendered page holds no address
    assert "title" in read  # the walk does see what the template reads
    assert read.isdisjoint({"email", "phone", "contact"})
    page = form_page.render_confirmation_page(post(), privacy_contact=PRIVACY_CONTACT)
    assert "@" not in page.replace(PRIVACY_CONTACT, "")  # the one address: whom to write to


def test_given_a_message_when_rendered_then_title_message_and_way_back_are_shown() -> None:
    # Given / When
    doc = parse(pages.render_message_page("Trop volumineux", 'Votre <texte> "fait" 2 Mo.'))

    # Then
    assert doc.find("h1").text() == "Trop volumineux"
    assert doc.find("title").text() == "Trop volumineux – ShareEntraide"
    assert 'Votre <texte> "fait" 2 Mo.' in doc.find("main").text()
    assert doc.find_all("texte") == []
    assert doc.find("main").find("a").attrs["href"] == "./"


def test_given_no_back_link_when_a_message_is_rendered_then_main_has_no_link() -> None:
    # Given / When
    doc = parse(pages.render_message_page("Erreur", "Oups", back_link=False))

    # Then
    assert doc.find("main").find_all("a") == []


# ---------------------------------------------------------------------------
# The environment
# ---------------------------------------------------------------------------


def test_given_the_environment_when_used_then_it_is_built_once_and_escapes_everything() -> None:
    # Given / When
    env = pages.page_environment()

    # Then
    assert env is pages.page_environment()
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"
    assert env.get_template("message.html").is_up_to_date
    with pytest.raises(Exception, match="undefined"):
        env.from_string("{{ missing }}").render()


def test_given_a_fresh_process_when_web_is_imported_then_jinja2_is_not_loaded() -> None:
    # Given / When
    code = "import sys, entraide.web.pages; print('jinja2' in sys.modules)"
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    # Then
    assert result.stdout.strip() == "False"


def test_given_any_page_then_the_near_me_search_is_one_link_away() -> None:
    # Given the home page / Then it links to the near-me search, relative to the stage
    page = form_page.render_form_page([activation()])
    assert 'href="./pres-de-chez-moi"' in page


def test_given_open_activations_then_the_postcode_hint_says_where_posts_are_open() -> None:
    page = form_page.render_form_page([factories.make_activation(departements=("11", "34"))])
    hint = page.split('id="field-postcode-hint">', 1)[1].split("</p>", 1)[0]
    assert "Aude (11), Hérault (34)" in hint
    assert "50&nbsp;km" in hint
