"""The public_posts handler under mock_aws, with the table built from template.yaml.

The search is the real one (``entraide.matching.nearby``) over the ``by_cell`` index; one test
injects a fake search to check that the handler passes the cursor through untouched.
"""

from __future__ import annotations

import html
import io
import json
import logging
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from entraide.activation.activation_store import ActivationStore
from entraide.intake.post_store import PostStore
from entraide.kernel.model import (
    Activation,
    Category,
    Contact,
    Kind,
    Post,
    PostStatus,
)
from entraide.matching.public import PublicPosts
from entraide.web.public_pages import PUBLIC_CACHE_CONTROL
from entraide_local.provision import Deployment
from entraide_local.template import ApiEvent
from tests.events import api_request
from tests.unit.conftest import (
    FakeContext,
    PolicedHandler,
    UnderPolicy,
    load_handler,
    use_function_environment,
)

FUNCTION = "public_posts"
CONTACT = Contact(email="sinistre@example.org", phone="06 12 34 56 78")
MODERATOR = "moderatrice@shareentraide.example"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
CARCASSONNE = (43.20938, 2.34399)
TREBES = (43.20546, 2.45954)
NARBONNE = (43.18396, 3.00141)  # 54 km from Carcassonne
# The URL of the API that received the recorded request (tests/events/apigw_rest_post_offers)
SAMPLE_API_URL = "https://a1b2c3d4e5.execute-api.eu-west-3.amazonaws.com/prod/"


def _in_template(deployment: Deployment) -> bool:
    try:
        deployment.function(FUNCTION)
    except KeyError:
        return False
    return True


@pytest.fixture
def handler(
    monkeypatch: pytest.MonkeyPatch, deployment: Deployment, under_policy: UnderPolicy
) -> PolicedHandler:
    if _in_template(deployment):
        use_function_environment(monkeypatch, deployment, FUNCTION)
    else:  # until template.yaml declares the function: what it will give it
        monkeypatch.setenv("TABLE_NAME", deployment.outputs["TableName"])
        monkeypatch.setenv("PUBLIC_BASE_URL", "https://example.org/prod/")
    return PolicedHandler(load_handler(FUNCTION, "public_posts_app"), under_policy, FUNCTION)


def store_post(
    posts: PostStore,
    post_id: str,
    *,
    status: PostStatus = PostStatus.APPROVED,
    kind: Kind = Kind.OFFER,
    where: tuple[float, float] = CARCASSONNE,
    commune: str = "Carcassonne",
    postcode: str = "11000",
    title: str = "Chambre pour deux personnes",
    description: str = "Au sec, deux lits, pour quelques nuits.",
) -> Post:
    """A post written as ingest does (with its contact item), then moved to ``status``."""
    from entraide.kernel.geo import geohash

    post = Post(
        id=post_id,
        kind=kind,
        category=Category.HEBERGEMENT,
        title=title,
        description=description,
        postcode=postcode,
        commune=commune,
        insee="11069",
        departement="11",
        lat=where[0],
        lon=where[1],
        geohash=geohash(*where),
        activation_id="ACT-AUDE",
        status=PostStatus.PENDING,
        created_at=NOW,
    )
    posts.create_post(post, CONTACT)
    if status is PostStatus.PENDING:
        return post
    decided = PostStatus.REJECTED if status is PostStatus.REJECTED else PostStatus.APPROVED
    post = posts.transition(post, decided, at=NOW, by=MODERATOR, reason="MOTIF-PRIVÉ")
    if status in (PostStatus.WITHDRAWN, PostStatus.EXPIRED):
        post = posts.transition(post, status, at=NOW, by="poster")
    return post


def get(
    handler: ModuleType,
    path: str,
    params: dict[str, str] | None = None,
    *,
    html: bool = False,
) -> tuple[dict[str, Any], str]:
    """The handler's response to ``GET path?params``, and every log line it wrote."""
    from entraide.observability import logger

    accept = "text/html,application/xhtml+xml;q=0.9" if html else "application/json"
    event = api_request("GET", path, content_type=None, accept=accept)
    event["queryStringParameters"] = params or None
    event["multiValueQueryStringParameters"] = (
        {key: [value] for key, value in params.items()} if params else None
    )
    log_handler = logger.registered_handler
    assert isinstance(log_handler, logging.StreamHandler)
    logs = io.StringIO()
    previous = log_handler.setStream(logs)
    try:
        response: dict[str, Any] = handler.lambda_handler(event, FakeContext("public-posts"))
    finally:
        log_handler.setStream(previous)
    return response, logs.getvalue()


def header(response: dict[str, Any], name: str) -> str:
    headers = {k.lower(): v for k, v in (response.get("multiValueHeaders") or {}).items()}
    values = headers.get(name.lower()) or [
        v for k, v in (response.get("headers") or {}).items() if k.lower() == name.lower()
    ]
    return str(values[0]) if values else ""


def assert_private(body: str) -> None:
    """No contact detail, no moderator, no reason: in JSON (escaped or not) or HTML."""
    for secret in (CONTACT.email, CONTACT.phone or "", MODERATOR, "MOTIF-PRIV"):
        assert secret not in body


# ---------------------------------------------------------------------------
# GET /posts
# ---------------------------------------------------------------------------


def test_posts_returns_approved_offers_nearby_as_json(
    posts: PostStore, handler: ModuleType, aude: Activation
) -> None:
    store_post(posts, "01JOFFERCARCASSONNE0000001")
    store_post(posts, "01JOFFERTREBES000000000001", where=TREBES, commune="Trèbes",
               postcode="11800")  # fmt: skip
    store_post(posts, "01JNEED0000000000000000001", kind=Kind.NEED)
    store_post(posts, "01JPENDING0000000000000001", status=PostStatus.PENDING)
    store_post(posts, "01JREJECTED000000000000001", status=PostStatus.REJECTED)
    store_post(posts, "01JWITHDRAWN00000000000001", status=PostStatus.WITHDRAWN)
    store_post(posts, "01JFARAWAY0000000000000001", where=NARBONNE, commune="Narbonne")

    response, logs = get(
        handler, "/posts", {"postcode": "11000", "commune": "Carcassonne", "kind": "offer"}
    )

    assert response["statusCode"] == 200
    assert header(response, "Content-Type").startswith("application/json")
    assert header(response, "Cache-Control") == PUBLIC_CACHE_CONTROL
    document = json.loads(response["body"])
    assert [(item["id"], item["distance_km"]) for item in document["items"]] == [
        ("01JOFFERCARCASSONNE0000001", 0),
        ("01JOFFERTREBES000000000001", 9),
    ]
    # no custom domain in the template: the link is on the API that served the request
    assert os.environ["PUBLIC_BASE_URL"] == ""
    assert document["items"][0]["url"] == f"{SAMPLE_API_URL}posts/01JOFFERCARCASSONNE0000001"
    assert document["next_cursor"] is None
    assert document["asleep"] is False
    # the public text is what the moderator approved; nothing else is private
    assert "contact" not in response["body"]
    assert_private(response["body"])
    assert "sinistre@example.org" not in logs
    assert '"cells_read"' in logs


def test_posts_links_point_at_the_custom_domain_when_one_is_set(
    monkeypatch: pytest.MonkeyPatch, handler: ModuleType, posts: PostStore, aude: Activation
) -> None:
    # Given a custom domain in the function's environment (parameter PublicBaseUrl)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://entraide.example.fr")
    behind_custom_domain = load_handler(FUNCTION, "public_posts_custom_domain_app")
    store_post(posts, "01JOFFERCARCASSONNE0000001")

    # When someone searches through the API
    response, _ = get(behind_custom_domain, "/posts", {"postcode": "11000"})

    # Then the post's link is on the custom domain, not on the API's own URL
    [item] = json.loads(response["body"])["items"]
    assert item["url"] == "https://entraide.example.fr/posts/01JOFFERCARCASSONNE0000001"


def test_posts_pages_through_the_real_search(
    posts: PostStore, handler: ModuleType, aude: Activation
) -> None:
    for number in range(3):
        store_post(posts, f"01JOFFER{number:018d}", where=(43.21 + number / 100, 2.34399))
    handler.posts.page_size = 2
    params = {"postcode": "11000", "commune": "Carcassonne"}

    first, _ = get(handler, "/posts", params)
    page = json.loads(first["body"])
    assert [item["id"] for item in page["items"]] == ["01JOFFER000000000000000000",
                                                      "01JOFFER000000000000000001"]  # fmt: skip
    assert page["next_cursor"]

    second, _ = get(handler, "/posts", {**params, "cursor": page["next_cursor"]})
    page = json.loads(second["body"])
    assert [item["id"] for item in page["items"]] == ["01JOFFER000000000000000002"]
    assert page["next_cursor"] is None


@dataclass
class RecordingSearch:
    calls: list[dict[str, Any]] = field(default_factory=list)

    def search(self, **kwargs: Any) -> Any:
        from entraide.matching.nearby import Page

        self.calls.append(kwargs)
        return Page(items=(), next_cursor="opaque-next", cells_read=0, items_read=0)


def test_the_cursor_passes_through_untouched(
    activations: ActivationStore,
    posts: PostStore,
    monkeypatch: pytest.MonkeyPatch,
    handler: ModuleType,
    aude: Activation,
) -> None:
    fake = RecordingSearch()
    monkeypatch.setattr(handler, "posts", PublicPosts(posts, activations, fake))
    response, _ = get(handler, "/posts", {"postcode": "11000", "cursor": "opaque-previous"})
    assert json.loads(response["body"])["next_cursor"] == "opaque-next"
    [call] = fake.calls
    assert (call["cursor"], call["activation_ids"], call["limit"]) == (
        "opaque-previous",
        ("ACT-AUDE",),
        20,
    )


@pytest.mark.parametrize(
    ("params", "field_name"),
    [
        ({}, "postcode"),
        ({"postcode": "00000"}, "postcode"),
        ({"postcode": "11000", "radius": "0"}, "radius"),
        ({"postcode": "11000", "radius": "101"}, "radius"),
        ({"postcode": "11000", "kind": "gift"}, "kind"),
        ({"postcode": "11000", "category": "piscine"}, "category"),
        ({"postcode": "11000", "cursor": "forged"}, "cursor"),
        ({"postcode": "11000", "commune": "Lyon"}, "commune"),
    ],
)
def test_bad_input_is_a_400_with_a_clear_message(
    handler: ModuleType,
    aude: Activation,
    params: dict[str, str],
    field_name: str,
) -> None:
    response, _ = get(handler, "/posts", params)
    assert response["statusCode"] == 400
    assert header(response, "Cache-Control") == "no-store"
    [error] = json.loads(response["body"])["errors"]
    assert error["field"] == field_name
    assert error["message"].endswith(".")


def test_asleep_everywhere_the_json_says_so(handler: ModuleType) -> None:
    response, _ = get(handler, "/posts", {"postcode": "11000"})
    document = json.loads(response["body"])
    assert (response["statusCode"], document["asleep"], document["items"]) == (200, True, [])


# ---------------------------------------------------------------------------
# GET /pres-de-chez-moi
# ---------------------------------------------------------------------------


def test_the_page_shows_results_and_follows_page_suivante(
    posts: PostStore, handler: ModuleType, aude: Activation
) -> None:
    for number in range(3):
        store_post(posts, f"01JOFFER{number:018d}", where=(43.21 + number / 100, 2.34399),
                   title=f"Offre numéro {number}")  # fmt: skip
    handler.posts.page_size = 2

    response, _ = get(handler, "/pres-de-chez-moi", {"postcode": "11000", "kind": "offer"},
                      html=True)  # fmt: skip

    assert response["statusCode"] == 200
    assert header(response, "Content-Type").startswith("text/html")
    assert header(response, "Cache-Control") == PUBLIC_CACHE_CONTROL
    assert header(response, "X-Content-Type-Options") == "nosniff"
    body = response["body"]
    assert body.count("<h1>") == 1
    assert 'href="posts/01JOFFER000000000000000000"' in body
    assert "Offre numéro 2" not in body
    assert_private(body)
    found = re.search(r'<a href="([^"]+)" rel="next">', body)
    assert found is not None
    next_href = html.unescape(found.group(1))
    assert urlsplit(next_href).path == "pres-de-chez-moi"
    query = {key: value for key, [value] in parse_qs(urlsplit(next_href).query).items()}
    assert query["cursor"]

    second, _ = get(handler, "/pres-de-chez-moi", query, html=True)
    assert second["statusCode"] == 200
    assert "Offre numéro 2" in second["body"]
    assert 'rel="next"' not in second["body"]


def test_the_empty_page_says_nothing_was_found(handler: ModuleType, aude: Activation) -> None:
    response, _ = get(handler, "/pres-de-chez-moi", {"postcode": "11000", "kind": "offer"},
                      html=True)  # fmt: skip
    assert "Aucune offre d'aide à moins de 20\u00a0km de 11000 pour le moment." in html.unescape(
        response["body"]
    )


def test_the_page_with_bad_input_is_a_400_page(handler: ModuleType, aude: Activation) -> None:
    response, _ = get(handler, "/pres-de-chez-moi", {"postcode": "11000", "radius": "500"},
                      html=True)  # fmt: skip
    assert response["statusCode"] == 400
    assert header(response, "Content-Type").startswith("text/html")
    assert header(response, "Cache-Control") == "no-store"
    assert (
        "La distance doit être comprise entre 1 et 100 km (500 km demandés)." in (response["body"])
    )


def test_the_page_without_a_search_shows_the_form(handler: ModuleType) -> None:
    response, _ = get(handler, "/pres-de-chez-moi", html=True)
    assert response["statusCode"] == 200
    assert 'action="pres-de-chez-moi"' in response["body"]
    assert "La plateforme est en veille" in response["body"]


# ---------------------------------------------------------------------------
# GET /posts/{id}
# ---------------------------------------------------------------------------


def test_an_approved_post_has_its_page(
    posts: PostStore, handler: ModuleType, aude: Activation
) -> None:
    store_post(posts, "01JOFFER000000000000000000", title="Chambre <b>au sec</b>")
    response, _ = get(handler, "/posts/01JOFFER000000000000000000", html=True)
    assert response["statusCode"] == 200
    assert header(response, "Cache-Control") == PUBLIC_CACHE_CONTROL
    body = response["body"]
    assert "<h1>Chambre &lt;b&gt;au sec&lt;/b&gt;</h1>" in body
    assert 'href="../pres-de-chez-moi?postcode=11000&amp;commune=Carcassonne"' in body
    assert_private(body)


def test_contact_details_typed_into_an_approved_post_show_in_no_public_output(
    posts: PostStore, handler: ModuleType, aude: Activation
) -> None:
    # Given a post a moderator approved although its text holds an address, a number and
    # a link (the pre-screen only flags them)
    typed = ("jean.dupont@exemple.fr", "07 11 22 33 44", "+33 6 98 76 54 32", "wa.me/33711223344")
    store_post(
        posts,
        "01JOFFER000000000000000000",
        title="Chambre, appelez le 07 11 22 33 44",
        description=(
            "Écrivez à jean.dupont@exemple.fr ou au +33 6 98 76 54 32,\n"
            "ou sur wa.me/33711223344. Deux lits."
        ),
    )
    search = {"postcode": "11000", "kind": "offer"}
    # When the public reads it: its page, the search page, the JSON
    outputs = {
        "page": get(handler, "/posts/01JOFFER000000000000000000", html=True)[0],
        "search page": get(handler, "/pres-de-chez-moi", search, html=True)[0],
        "json": get(handler, "/posts", search)[0],
    }
    # Then each shows the post, and none of what was typed
    for name, response in outputs.items():
        assert response["statusCode"] == 200, name
        body = html.unescape(response["body"])
        assert "Chambre" in body, name
        for detail in typed:
            assert detail not in body, (name, detail)
        assert_private(body)
    [item] = json.loads(outputs["json"]["body"])["items"]
    assert item["description"].endswith("Deux lits.")
    assert "@" not in item["title"] + item["description"]


@pytest.mark.parametrize(
    "status",
    [PostStatus.PENDING, PostStatus.REJECTED, PostStatus.WITHDRAWN, PostStatus.EXPIRED],
)
def test_a_post_that_is_not_approved_is_a_french_404(
    posts: PostStore, handler: ModuleType, aude: Activation, status: PostStatus
) -> None:
    store_post(posts, "01JPOST0000000000000000001", status=status)
    response, _ = get(handler, "/posts/01JPOST0000000000000000001", html=True)
    assert response["statusCode"] == 404
    assert header(response, "Content-Type").startswith("text/html")
    assert header(response, "Cache-Control") == "no-store"
    assert "Annonce introuvable" in response["body"]
    assert "Chambre pour deux personnes" not in response["body"]


@pytest.mark.parametrize("post_id", ["01JUNKNOWN0000000000000000", "x" * 300])
def test_an_unknown_post_is_a_french_404(handler: ModuleType, post_id: str) -> None:
    response, _ = get(handler, f"/posts/{post_id}", html=True)
    assert response["statusCode"] == 404
    assert "Annonce introuvable" in response["body"]


# ---------------------------------------------------------------------------
# template.yaml
# ---------------------------------------------------------------------------


def test_the_template_routes_the_three_paths_here(deployment: Deployment) -> None:
    if not _in_template(deployment):
        pytest.skip(f"template.yaml does not declare the {FUNCTION} function yet")
    events = deployment.function(FUNCTION).spec.events_of(ApiEvent)
    routes = {(event.method, event.path) for event in events}
    assert routes == {("GET", "/posts"), ("GET", "/posts/{id}"), ("GET", "/pres-de-chez-moi")}
