"""People's journeys in a real browser (Debian's Chromium driven by Playwright), at a phone's
width and a desktop's, against the local stack as `make run` starts it.

A person posts a need and an offer (with mistakes first), a moderator approves each from the
emailed link, people see the public page and the near-me search, the person in need writes to
the helper, the helper withdraws the offer, the person in need erases their data from the link
they ask for, an operator reads the monthly report in its email. On every page of the site
axe-core (from the npm registry, ``node_modules/axe-core``) runs and no violation is allowed,
and no page is wider than the screen. Each page is kept as a screenshot
under ``var/browser/<width>/`` (git-ignored) for a person to look at.

The browser is Debian's package (``/usr/bin/chromium``, installed by ``.ci/run``); Playwright
never downloads one.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from entraide.cli import main as entraide
from tests.paths import ROOT

from .conftest import RunningStack

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "browser"
# What this machine's closed network needs (no background connections, no sandbox as root).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTHS = {"phone": (390, 844), "desktop": (1280, 900)}


@pytest.fixture(scope="module", autouse=True)
def aude(local_stack: RunningStack) -> None:
    argv = ["activation", "open", "-d", "11", "--state-dir", str(local_stack.state_dir)]
    assert entraide([*argv, "--hazard", "inondation"]) == 0


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is needed: apt-get install chromium (.ci/run does)")
    if not AXE.exists():
        pytest.fail("axe-core is needed: npm ci (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Person:
    """A browser tab at one width, checking every page it sees."""

    page: Any
    width: str
    stack: RunningStack
    pages_checked: list[str] = field(default_factory=list)

    def see(self, step: str, *, site: bool = True) -> None:
        """Screenshot the page; on a page of the site, run axe-core and check the width."""
        folder = SCREENSHOTS / self.width
        folder.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(folder / f"{len(self.pages_checked):02d}-{step}.png"))
        self.pages_checked.append(step)
        if not site:
            return
        assert self.page.evaluate("document.documentElement.lang") == "fr", step
        screen = self.page.viewport_size["width"]
        wide = self.page.evaluate("document.documentElement.scrollWidth")
        assert wide <= screen, f"{step}: the page is {wide} px wide on a {screen} px screen"
        violations = axe_violations(self.page)
        assert violations == [], f"{step}: {json.dumps(violations, ensure_ascii=False)}"

    def open(self, url: str, step: str, *, site: bool = True) -> Any:
        response = self.page.goto(url)
        self.see(step, site=site)
        return response

    def submit(self, button: str, step: str) -> int:
        """The status the form's own POST was answered with (a 303 is followed by the
        browser: the status is the POST's, not the page's it leads to)."""
        with self.page.expect_navigation() as navigation:
            self.page.get_by_role("button", name=button).click()
        request = navigation.value.request
        while request.redirected_from is not None:
            request = request.redirected_from
        answer = request.response()
        status = int(answer.status if answer is not None else navigation.value.status)
        self.see(step)
        return status

    def follow(self, link_text: str, step: str, *, site: bool = True) -> int:
        with self.page.expect_navigation() as navigation:
            self.page.get_by_role("link", name=link_text).first.click()
        self.see(step, site=site)
        return int(navigation.value.status)

    def read_email(self, to: str, tag: str, about: str, step: str) -> None:
        """Open, in the stack's outbox viewer, the email of ``tag`` to ``to`` about ``about``."""
        path = wait_for_email(self.stack, to=to, tag=tag, about=about)
        self.open(f"{self.stack.api_url}_local/outbox/{path.name}", step, site=False)


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the page (every rule axe runs by default)."""
    # Evaluated through the DevTools protocol: the pages' CSP (no script) does not apply.
    page.evaluate(AXE.read_text("utf-8") + ";0")
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "rule": violation["id"],
            "impact": violation["impact"],
            "where": [node["target"] for node in violation["nodes"]][:3],
        }
        for violation in results["violations"]
    ]


def test_axe_finds_what_it_should_in_this_browser(browser: Any) -> None:
    # Given a page with an image without text and an unlabelled field (our check's check)
    page = browser.new_page()
    page.set_content('<html lang="fr"><body><img src="data:,"><input type="text"></body></html>')
    # When axe-core runs / Then it reports both: a page of ours that passes was really checked
    rules = {violation["rule"] for violation in axe_violations(page)}
    page.close()
    assert {"image-alt", "label"} <= rules


def wait_for_email(stack: RunningStack, *, to: str, tag: str, about: str) -> Path:
    """The outbox file of the email ``tag`` sent to ``to`` whose text mentions ``about``."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        stack.stack.drain(timeout=15)
        for path in sorted(stack.outbox.glob(f"*-{tag}-*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(message, email.message.EmailMessage)
            text = message.get_body(preferencelist=("plain",))
            if message["To"] == to and text is not None and about in text.get_content():
                return path
        time.sleep(0.2)
    raise AssertionError(f"no {tag} email to {to} about {about!r}")


def fill_post(page: Any, *, kind: str, values: dict[str, str]) -> None:
    page.check("#field-kind" if kind == "need" else "#field-kind-offer")
    page.select_option("#field-category", values["category"])
    for name in ("title", "description", "postcode", "commune", "email", "phone"):
        if name in values:
            page.fill(f"#field-{name}", values[name])
    page.check("#field-consent")


def post_id_on(page: Any) -> str:
    found = re.search(r"01[0-9A-HJKMNP-TV-Z]{24}", page.inner_text("main"))
    assert found is not None, "the confirmation gives the post's reference"
    return found.group(0)


@pytest.mark.parametrize("width", list(WIDTHS))
def test_journeys_of_people_in_a_browser(
    browser: Any, local_stack: RunningStack, width: str
) -> None:
    started = time.monotonic()
    screen_width, screen_height = WIDTHS[width]
    context = browser.new_context(
        viewport={"width": screen_width, "height": screen_height}, locale="fr-FR"
    )
    person = Person(context.new_page(), width, local_stack)
    home = local_stack.api_url
    needy, helper = f"sinistre-{width}@example.org", f"aidant-{width}@example.org"
    need_title, offer_title = f"Toit pour deux ({width})", f"Chambre au sec ({width})"
    try:
        # A person in need opens the site: the form, and the near-me search one link away
        person.open(home, "accueil")
        assert person.page.get_by_role("link", name="Les annonces près de chez moi").count() == 1

        # They post a need with two mistakes: both are reported in one round, input kept
        fill_post(
            person.page,
            kind="need",
            values={
                "category": "hebergement",
                "title": need_title,
                "description": "Maison inondée, deux adultes et un chat.",
                "postcode": "11800",
                "commune": "Narbonne",
                "email": needy,
                "phone": "appelez-moi",
            },
        )
        assert person.submit("Envoyer mon annonce", "besoin-erreurs") == 400
        errors = person.page.inner_text(".error-summary")
        assert "Commune" in errors
        assert "Téléphone" in errors
        assert person.page.input_value("#field-title") == need_title
        # They pick their commune from the list now offered, clear the phone, and send
        person.page.select_option("#field-commune", "Trèbes")
        person.page.fill("#field-phone", "")
        assert person.submit("Envoyer mon annonce", "besoin-envoye") == 303
        assert urlsplit(person.page.url).path == "/offers/confirmation"
        need_id = post_id_on(person.page)

        # A helper first types a postal code where no alert is open: told at once, form kept
        person.open(home, "accueil-aidant")
        fill_post(
            person.page,
            kind="offer",
            values={
                "category": "hebergement",
                "title": offer_title,
                "description": "Une chambre à l'étage, au calme.",
                "postcode": "69001",
                "email": helper,
            },
        )
        assert person.submit("Envoyer mon annonce", "offre-sans-alerte") == 409
        assert "Rhône (69)" in person.page.inner_text("#field-postcode-error")
        assert person.page.input_value("#field-title") == offer_title
        person.page.fill("#field-postcode", "11000")
        person.page.fill("#field-commune", "Carcassonne")
        assert person.submit("Envoyer mon annonce", "offre-envoyee") == 303
        assert urlsplit(person.page.url).path == "/offers/confirmation"
        offer_id = post_id_on(person.page)

        # The moderator approves each post from the emailed link, after a confirmation
        for post_id, title in ((need_id, need_title), (offer_id, offer_title)):
            person.read_email(
                "moderation@shareentraide.example",
                "moderation-request",
                post_id,
                "e-mail-moderation",
            )
            person.follow("Approuver", "moderation-confirmer")
            assert title in person.page.inner_text("main")
            assert person.submit("Approuver l'annonce", "moderation-approuvee") == 200

        # The helper reads the approval and opens the public page from it
        person.read_email(helper, "decision-approved", offer_id, "e-mail-publiee")
        assert person.follow("Voir l'annonce", "page-publique") == 200
        assert offer_title in person.page.inner_text("h1")
        assert helper not in person.page.content()

        # The near-me search finds the offer near Trèbes
        person.open(home, "accueil-recherche")
        person.follow("Les annonces près de chez moi", "recherche")
        person.page.fill("#field-postcode", "11800")
        person.page.check("#field-kind-offer")
        assert person.submit("Rechercher", "recherche-resultats") == 200
        assert offer_title in person.page.inner_text("main")

        # The person in need writes to the helper from the emailed match notice
        person.read_email(needy, "match-notice", offer_title, "e-mail-mise-en-relation")
        person.follow("Contacter cette personne", "contact")
        person.page.fill("#input-message", "Bonjour, la chambre est-elle libre ce soir ?")
        assert person.submit("Envoyer le message", "contact-envoye") == 200
        person.read_email(helper, "contact-message", "libre ce soir", "e-mail-message-recu")
        # Opening the link again within the hour: told before typing anything
        person.read_email(needy, "match-notice", offer_title, "e-mail-mise-en-relation-2")
        person.follow("Contacter cette personne", "contact-deja-ecrit")
        assert "déjà écrit" in person.page.inner_text("main")

        # The helper withdraws the offer from the approval email; its page is gone
        person.read_email(helper, "decision-approved", offer_id, "e-mail-publiee-2")
        person.follow("Retirer mon annonce", "retrait-confirmer")
        assert person.submit("Retirer mon annonce", "retrait-fait") == 200
        # (the page was seen before: public pages may be cached a minute; a reload asks again)
        person.page.goto(f"{home}posts/{offer_id}")
        assert person.page.reload().status == 404
        person.see("page-retiree")

        # The person in need reads what is kept of them, asks for their posts, erases all
        person.open(home, "accueil-donnees")
        person.follow("Vos données personnelles", "donnees-personnelles")
        assert "Combien de temps" in person.page.inner_text("main")
        person.follow("Mes annonces", "mes-annonces")
        person.page.fill("#field-email", needy)
        assert person.submit("Recevoir le lien", "mes-annonces-demande") == 200
        person.read_email(needy, "my-posts", need_title, "e-mail-mes-annonces")
        assert person.follow("Voir mes annonces", "mes-annonces-liste") == 200
        assert need_title in person.page.inner_text("main")
        person.page.check("#field-confirm")
        assert person.submit("Tout effacer", "mes-annonces-effacees") == 200
        assert "Nous ne gardons plus aucune annonce" in person.page.inner_text("main")

        # An operator reads the monthly report in its email (the page itself, the CSV
        # attached: no link that could die), on this screen too
        month = datetime.now(UTC).strftime("%Y-%m")
        assert local_stack.stack.invoke("report", {"month": month}).ok
        person.read_email(
            "operateurs@shareentraide.example", "monthly-report", month[:4], "e-mail-rapport"
        )
        person.see("rapport")
        assert "Chiffres partiels" in person.page.inner_text("main")
        # the charts' smallest text stays readable (it once shrank to about 5 px on a phone)
        smallest = person.page.evaluate(
            "Math.min(...[...document.querySelectorAll('svg.chart text')]"
            ".map(text => text.getBoundingClientRect().height))"
        )
        assert smallest >= 9, f"chart text {smallest:.1f} px high"
    finally:
        context.close()
    print(
        f"\n{width}: {len(person.pages_checked)} pages, axe-core 0 violations, "
        f"{time.monotonic() - started:.1f} s"
    )
