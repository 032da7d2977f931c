"""The public side of approved posts: query parsing, the public view, pagination, pages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from entraide.kernel.errors import InvalidInput, PostNotFound
from entraide.kernel.geo import haversine_km
from entraide.kernel.model import (
    Activation,
    AlertLevel,
    Category,
    Contact,
    Hazard,
    Kind,
    Post,
    PostStatus,
)
from entraide.kernel.postcodes import PostcodeDirectory
from entraide.matching.public import PublicPost, PublicPosts
from entraide.matching.public_query import (
    CURSOR_INVALID,
    POSTCODE_MISSING,
    RADIUS_NOT_INTEGER,
    NearbyQuery,
    parse_nearby_query,
)
from entraide.web import public_pages

CARCASSONNE = (43.20938, 2.34399)
BERRIAC = (43.2141, 2.40773)
TREBES = (43.20546, 2.45954)
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)

# ---------------------------------------------------------------------------
# Fakes: a store that holds contacts too, and a search over a list of posts
# ---------------------------------------------------------------------------


def make_post(
    post_id: str = "01JPOST0000000000000000001",
    *,
    kind: Kind = Kind.OFFER,
    category: Category = Category.HEBERGEMENT,
    status: PostStatus = PostStatus.APPROVED,
    where: tuple[float, float] = CARCASSONNE,
    commune: str = "Carcassonne",
    postcode: str = "11000",
    activation_id: str = "ACT-AUDE",
    title: str = "Chambre pour deux personnes",
    description: str = "Une chambre au calme, au sec, avec deux lits.",
    created_at: datetime = NOW,
) -> Post:
    return Post(
        id=post_id,
        kind=kind,
        category=category,
        title=title,
        description=description,
        postcode=postcode,
        commune=commune,
        insee="11069",
        departement="11",
        lat=where[0],
        lon=where[1],
        geohash="sp9tv64",
        activation_id=activation_id,
        status=status,
        created_at=created_at,
        decided_by="moderatrice@shareentraide.example" if status is PostStatus.APPROVED else None,
        decided_at=NOW if status is PostStatus.APPROVED else None,
    )


def activation(activation_id: str = "ACT-AUDE", *, closed: bool = False) -> Activation:
    return Activation(
        id=activation_id,
        hazard=Hazard.INONDATION,
        departements=("11",),
        level=AlertLevel.ROUGE,
        hashtag="#InondationsAude",
        opened_at=datetime(2026, 11, 25, tzinfo=UTC),
        closed_at=NOW if closed else None,
    )


@dataclass
class FakeStore:
    """Posts with their contact items, like the table; records what is read."""

    posts: dict[str, Post] = field(default_factory=dict)
    contacts: dict[str, Contact] = field(default_factory=dict)
    activations: list[Activation] = field(default_factory=lambda: [activation()])
    reads: list[str] = field(default_factory=list)

    def add(self, post: Post, contact: Contact | None = None) -> Post:
        self.posts[post.id] = post
        self.contacts[post.id] = contact or Contact("poster@example.org", "06 12 34 56 78")
        return post

    def get_post(self, post_id: str) -> Post | None:
        self.reads.append(f"post:{post_id}")
        return self.posts.get(post_id)

    def get_contact(self, post_id: str) -> Contact | None:
        self.reads.append(f"contact:{post_id}")
        return self.contacts.get(post_id)

    def open_activations(self) -> list[Activation]:
        self.reads.append("activations")
        return self.activations


@dataclass(frozen=True)
class FakeHit:
    post: Post
    distance_km: float


@dataclass(frozen=True)
class FakePage:
    items: tuple[FakeHit, ...]
    next_cursor: str | None
    cells_read: int
    items_read: int


@dataclass
class FakeSearch:
    """Nearest first over ``store``'s posts (whatever their status, to test the filter)."""

    store: FakeStore
    calls: list[dict[str, Any]] = field(default_factory=list)

    def search(
        self,
        *,
        lat: float,
        lon: float,
        radius_km: int,
        activation_ids: tuple[str, ...],
        kind: Kind | None,
        category: Category | None,
        limit: int,
        cursor: str | None,
    ) -> FakePage:
        self.calls.append(
            {
                "lat": lat,
                "lon": lon,
                "radius_km": radius_km,
                "activation_ids": activation_ids,
                "kind": kind,
                "category": category,
                "limit": limit,
                "cursor": cursor,
            }
        )
        if cursor is not None and not cursor.startswith("offset:"):
            raise ValueError("Curseur de pagination invalide.")
        start = int(cursor.removeprefix("offset:")) if cursor else 0
        hits = sorted(
            (
                FakeHit(post, haversine_km(lat, lon, post.lat, post.lon))
                for post in self.store.posts.values()
                if post.activation_id in activation_ids
                and (kind is None or post.kind is kind)
                and (category is None or post.category is category)
                and haversine_km(lat, lon, post.lat, post.lon) <= radius_km
            ),
            key=lambda hit: (hit.distance_km, hit.post.id),
        )
        page = tuple(hits[start : start + limit])
        more = start + limit < len(hits)
        return FakePage(page, f"offset:{start + limit}" if more else None, 1, len(hits))


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def finder(store: FakeStore) -> FakeSearch:
    return FakeSearch(store)


@pytest.fixture
def service(store: FakeStore, finder: FakeSearch) -> PublicPosts:
    return PublicPosts(store, store, finder)


DIRECTORY = PostcodeDirectory.default()


def parse(params: dict[str, str]) -> NearbyQuery:
    return parse_nearby_query(params, DIRECTORY)


def errors_of(params: dict[str, str]) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInput) as raised:
        parse(params)
    return [(error.field, error.message) for error in raised.value.errors]


# ---------------------------------------------------------------------------
# Query parsing
# ---------------------------------------------------------------------------


def test_a_postcode_alone_searches_20_km_around_the_centroid_of_its_communes() -> None:
    query = parse({"postcode": "11000"})
    # 11000 covers Berriac and Carcassonne: the search starts halfway
    assert query.place.lat == pytest.approx((CARCASSONNE[0] + BERRIAC[0]) / 2)
    assert query.place.lon == pytest.approx((CARCASSONNE[1] + BERRIAC[1]) / 2)
    assert (query.place.commune, query.place.label) == (None, "11000")
    assert query.place.communes == ("Berriac", "Carcassonne")
    assert (query.kind, query.category, query.radius_km, query.cursor) == (None, None, 20, None)


def test_a_commune_narrows_the_place_to_that_commune() -> None:
    query = parse({"postcode": " 11 000 ", "commune": "carcassonne"})
    assert (query.place.lat, query.place.lon) == CARCASSONNE
    assert (query.place.postcode, query.place.commune) == ("11000", "Carcassonne")
    assert query.place.label == "Carcassonne (11000)"


def test_a_postcode_across_two_departements_keeps_both() -> None:
    assert parse({"postcode": "05110"}).place.departements == ("04", "05")


def test_a_postcode_of_one_commune_is_labelled_with_it() -> None:
    assert parse({"postcode": "75001"}).place.label == "Paris 1er Arrondissement (75001)"


@pytest.mark.parametrize(
    ("value", "kind"),
    [("offer", Kind.OFFER), ("OFFRE", Kind.OFFER), ("need", Kind.NEED), ("besoin", Kind.NEED)],
)
def test_kind_is_need_or_offer_in_english_or_french(value: str, kind: Kind) -> None:
    assert parse({"postcode": "11000", "kind": value}).kind is kind


@pytest.mark.parametrize("value", ["hebergement", "Hébergement", "HEBERGEMENT", " hébergement "])
def test_category_is_a_code_or_its_french_label(value: str) -> None:
    assert parse({"postcode": "11000", "category": value}).category is Category.HEBERGEMENT


@pytest.mark.parametrize(("value", "radius"), [("1", 1), ("100", 100), ("35 km", 35), ("", 20)])
def test_radius_is_whole_km_from_1_to_100(value: str, radius: int) -> None:
    assert parse({"postcode": "11000", "radius": value}).radius_km == radius


def test_empty_optional_fields_mean_no_filter_and_unknown_params_are_ignored() -> None:
    query = parse(
        {"postcode": "11000", "kind": "", "category": "", "cursor": "", "utm_source": "x"}
    )
    assert (query.kind, query.category, query.cursor) == (None, None, None)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [("postcode", POSTCODE_MISSING)]),
        ({"postcode": "  "}, [("postcode", POSTCODE_MISSING)]),
        (
            {"postcode": "1100"},
            [
                (
                    "postcode",
                    "« 1100 » n'est pas un code postal valide : il doit comporter 5 chiffres "
                    "(par exemple 11000).",
                )
            ],
        ),
        (
            {"postcode": "99999"},
            [("postcode", "Le code postal 99999 est inconnu : vérifiez-le.")],
        ),
        (
            {"postcode": "97133"},
            [
                (
                    "postcode",
                    "Nous ne savons pas encore situer Saint-Barthélemy (97133) sur la carte. "
                    "Indiquez le code postal d'une commune voisine.",
                )
            ],
        ),
        (
            {"postcode": "11000", "commune": "Narbonne"},
            [
                (
                    "commune",
                    "La commune « Narbonne » ne correspond pas au code postal 11000 "
                    "(communes : Berriac, Carcassonne). Vérifiez la commune ou le code postal.",
                )
            ],
        ),
        (
            {"postcode": "11000", "kind": "dons"},
            [
                (
                    "kind",
                    "Type d'annonce inconnu : « dons ». Choisissez « offer » (offres d'aide) "
                    "ou « need » (besoins d'aide), ou rien pour voir les deux.",
                )
            ],
        ),
        (
            {"postcode": "11000", "category": "piscine"},
            [
                (
                    "category",
                    "Catégorie inconnue : « piscine ». Valeurs possibles : hebergement, "
                    "transport, nettoyage, materiel, repas, garde, autre.",
                )
            ],
        ),
        (
            {"postcode": "11000", "radius": "0"},
            [("radius", "La distance doit être comprise entre 1 et 100 km (0 km demandés).")],
        ),
        (
            {"postcode": "11000", "radius": "101"},
            [("radius", "La distance doit être comprise entre 1 et 100 km (101 km demandés).")],
        ),
        (
            {"postcode": "11000", "radius": "-5"},
            [("radius", "La distance doit être comprise entre 1 et 100 km (-5 km demandés).")],
        ),
        ({"postcode": "11000", "radius": "2.5"}, [("radius", RADIUS_NOT_INTEGER)]),
        ({"postcode": "11000", "radius": "loin"}, [("radius", RADIUS_NOT_INTEGER)]),
        ({"postcode": "11000", "radius": "9" * 40}, [("radius", RADIUS_NOT_INTEGER)]),
        ({"postcode": "11000", "cursor": "x" * 2000}, [("cursor", CURSOR_INVALID)]),
        ({"postcode": "11000", "cursor": "été"}, [("cursor", CURSOR_INVALID)]),
    ],
)
def test_every_bad_input_has_its_french_message(
    params: dict[str, str], expected: list[tuple[str, str]]
) -> None:
    assert errors_of(params) == expected


def test_every_problem_is_reported_at_once() -> None:
    fields = [name for name, _ in errors_of({"kind": "x", "category": "y", "radius": "500"})]
    assert fields == ["postcode", "kind", "category", "radius"]


def test_a_long_bad_value_is_shortened_in_the_message() -> None:
    [(_, message)] = errors_of({"postcode": "11000", "kind": "k" * 200})
    assert "k" * 30 + "…" in message
    assert "k" * 31 not in message


def test_an_ambiguous_commune_offers_its_choices() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse({"postcode": "11000", "commune": "Paris"})
    assert raised.value.choices == ("Berriac", "Carcassonne")


# ---------------------------------------------------------------------------
# The public view of a post
# ---------------------------------------------------------------------------

PUBLIC_KEYS = {
    "id",
    "kind",
    "category",
    "title",
    "description",
    "commune",
    "postcode",
    "departement",
    "created_at",
    "location",
    "url",
}


def test_the_json_view_is_the_allow_list() -> None:
    view = PublicPost.of(make_post(), distance_km=2.6).to_json("https://example.org/prod/")
    assert set(view) == PUBLIC_KEYS | {"distance_km"}
    assert view["kind"] == {"code": "offer", "label": "Offre d'aide"}
    assert view["category"] == {"code": "hebergement", "label": "Hébergement"}
    assert view["created_at"] == "2026-11-26T10:00:00Z"
    assert view["location"] == {"lat": 43.21, "lon": 2.34}
    assert view["distance_km"] == 3
    assert view["url"] == "https://example.org/prod/posts/01JPOST0000000000000000001"


def test_without_a_search_there_is_no_distance() -> None:
    assert set(PublicPost.of(make_post()).to_json("https://example.org")) == PUBLIC_KEYS


@pytest.mark.parametrize(
    ("distance", "whole", "text"),
    [(0.0, 0, "à moins d'1\u00a0km"), (0.49, 0, "à moins d'1\u00a0km"), (0.5, 1, "à 1\u00a0km"),
     (2.5, 3, "à 3\u00a0km"), (19.4, 19, "à 19\u00a0km")],
)  # fmt: skip
def test_distances_are_whole_kilometres(distance: float, whole: int, text: str) -> None:
    post = PublicPost.of(make_post(), distance_km=distance)
    assert (post.distance_km, post.distance_text) == (whole, text)


_WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéèàç ABCDEFGHIJ", min_size=3, max_size=80)
_PHONES = st.from_regex(r"\A0[67]( [0-9]{2}){4}\Z") | st.from_regex(r"\A\+33 [67]( [0-9]{2}){4}\Z")


@st.composite
def stored_posts(draw: st.DrawFn) -> tuple[Post, Contact]:
    post = make_post(
        post_id=draw(
            st.text(alphabet="0123456789ABCDEFGHJKMNPQRSTVWXYZ", min_size=26, max_size=26)
        ),
        kind=draw(st.sampled_from(Kind)),
        category=draw(st.sampled_from(Category)),
        title=draw(_WORDS),
        description=draw(_WORDS),
        where=(draw(st.floats(42.0, 51.0)), draw(st.floats(-4.0, 8.0))),
    )
    post = replace(
        post,
        decided_by=draw(st.emails()),
        reason="MOTIF-" + draw(_WORDS),
        version=draw(st.integers(1, 9)),
    )
    contact = Contact(email=draw(st.emails()), phone=draw(st.none() | _PHONES))
    return post, contact


def _private_values(post: Post, contact: Contact) -> list[str]:
    values = [contact.email, post.decided_by or "", post.reason or "", post.insee]
    values.append(post.activation_id)
    if contact.phone:
        values.append(contact.phone)
    return values


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(stored_posts(), min_size=1, max_size=5, unique_by=lambda pair: pair[0].id))
def test_the_json_never_carries_a_contact_or_the_moderation(
    stored: list[tuple[Post, Contact]],
) -> None:
    # Given a store that holds every post with its contact item
    store = FakeStore(activations=[activation()])
    for post, contact in stored:
        store.add(post, contact)
    service = PublicPosts(store, store, FakeSearch(store))
    # When anyone searches (everywhere: 100 km around several places) or opens a post
    documents = [
        json.dumps(service.search({"postcode": code, "radius": "100"}).to_json("https://x.org"))
        for code in ("11000", "75001", "69001", "33000")
    ]
    documents += [
        json.dumps(service.approved_post(post.id).to_json("https://x.org")) for post, _ in stored
    ]
    # Then no document holds a contact detail, the moderator or the reason
    text = "\n".join(documents)
    for post, contact in stored:
        for value in _private_values(post, contact):
            assert value not in text
    # and positions are rounded to about a kilometre
    by_id = {post.id: post for post, _ in stored}
    for document in map(json.loads, documents):
        for item in document.get("items", [document]):
            post = by_id[item["id"]]
            assert item["location"] == {"lat": round(post.lat, 2), "lon": round(post.lon, 2)}
    # and the contact items were never even read
    assert not [read for read in store.reads if read.startswith("contact:")]


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(stored_posts())
def test_the_post_page_never_carries_a_contact_or_the_moderation(
    stored: tuple[Post, Contact],
) -> None:
    post, contact = stored
    page = public_pages.render_post_page(PublicPost.of(post))
    for value in [contact.email, contact.phone or "@@", post.decided_by or "@@", "MOTIF-"]:
        assert value not in page


# ---------------------------------------------------------------------------
# The search: activations, pagination, results
# ---------------------------------------------------------------------------


def test_every_open_activation_is_searched_and_closed_ones_are_not(
    store: FakeStore, finder: FakeSearch, service: PublicPosts
) -> None:
    store.activations = [activation("ACT-AUDE"), activation("ACT-OLD", closed=True),
                         activation("ACT-GARD")]  # fmt: skip
    service.search({"postcode": "11000"})
    [call] = finder.calls
    assert call["activation_ids"] == ("ACT-AUDE", "ACT-GARD")


def test_the_query_reaches_the_search_as_typed_values(
    finder: FakeSearch, service: PublicPosts
) -> None:
    service.search(
        {"postcode": "11000", "commune": "Carcassonne", "kind": "offre",
         "category": "Repas", "radius": "35", "cursor": "offset:20"}
    )  # fmt: skip
    [call] = finder.calls
    assert call == {
        "lat": CARCASSONNE[0],
        "lon": CARCASSONNE[1],
        "radius_km": 35,
        "activation_ids": ("ACT-AUDE",),
        "kind": Kind.OFFER,
        "category": Category.REPAS,
        "limit": 20,
        "cursor": "offset:20",
    }


def test_pages_follow_the_cursor_of_the_search(store: FakeStore, finder: FakeSearch) -> None:
    for number in range(5):
        store.add(make_post(f"01JPOST{number:019d}", where=(43.21 + number / 100, 2.34399)))
    service = PublicPosts(store, store, finder, page_size=2)
    seen: list[str] = []
    params = {"postcode": "11000", "commune": "Carcassonne"}
    cursors: list[str | None] = []
    while True:
        results = service.search(params)
        seen += [post.id for post in results.posts]
        cursors.append(results.next_cursor)
        if results.next_cursor is None:
            break
        params = results.query.params(cursor=results.next_cursor)
    assert seen == [f"01JPOST{number:019d}" for number in range(5)]
    assert cursors == ["offset:2", "offset:4", None]
    assert [call["cursor"] for call in finder.calls] == [None, "offset:2", "offset:4"]


def test_a_cursor_the_search_refuses_is_a_400_on_the_cursor(service: PublicPosts) -> None:
    with pytest.raises(InvalidInput) as raised:
        service.search({"postcode": "11000", "cursor": "forged"})
    assert [(e.field, e.message) for e in raised.value.errors] == [("cursor", CURSOR_INVALID)]


def test_a_search_failure_without_a_cursor_is_not_blamed_on_the_person(
    store: FakeStore,
) -> None:
    class Broken(FakeSearch):
        def search(self, **kwargs: Any) -> FakePage:
            raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        PublicPosts(store, store, Broken(store)).search({"postcode": "11000"})


def test_only_approved_posts_come_out_of_a_search(store: FakeStore, service: PublicPosts) -> None:
    store.add(make_post("01JAPPROVED000000000000001"))
    store.add(make_post("01JPENDING0000000000000001", status=PostStatus.PENDING))
    results = service.search({"postcode": "11000"})
    assert [post.id for post in results.posts] == ["01JAPPROVED000000000000001"]


def test_asleep_everywhere_nothing_is_searched(
    store: FakeStore, finder: FakeSearch, service: PublicPosts
) -> None:
    store.activations = [activation(closed=True)]
    results = service.search({"postcode": "11000"})
    assert (results.asleep, results.posts, results.next_cursor) == (True, (), None)
    assert finder.calls == []
    document = results.to_json("https://x.org")
    assert document["asleep"] is True
    assert "veille" in document["message"]


def test_bad_input_is_refused_before_anything_is_read(
    store: FakeStore, finder: FakeSearch, service: PublicPosts
) -> None:
    with pytest.raises(InvalidInput):
        service.search({"postcode": "11000", "radius": "1000"})
    assert (store.reads, finder.calls) == ([], [])


def test_the_json_of_a_search_echoes_the_query(store: FakeStore, service: PublicPosts) -> None:
    store.add(make_post(where=TREBES, commune="Trèbes", postcode="11800"))
    document = service.search({"postcode": "11000", "kind": "offer"}).to_json("https://x.org/")
    assert document["query"] == {
        "postcode": "11000",
        "commune": None,
        "kind": "offer",
        "category": None,
        "radius_km": 20,
        "center": {"lat": 43.21, "lon": 2.38},
    }
    [item] = document["items"]
    assert (item["commune"], item["distance_km"], item["url"]) == (
        "Trèbes",
        7,
        "https://x.org/posts/01JPOST0000000000000000001",
    )
    assert document["next_cursor"] is None
    assert document["asleep"] is False


# ---------------------------------------------------------------------------
# One post
# ---------------------------------------------------------------------------


def test_an_approved_post_is_public(store: FakeStore, service: PublicPosts) -> None:
    post = store.add(make_post())
    assert service.approved_post(post.id) == PublicPost.of(post)


@pytest.mark.parametrize(
    "status",
    [PostStatus.PENDING, PostStatus.REJECTED, PostStatus.WITHDRAWN, PostStatus.EXPIRED],
)
def test_a_post_that_is_not_approved_is_not_found(
    store: FakeStore, service: PublicPosts, status: PostStatus
) -> None:
    post = store.add(make_post(status=status))
    with pytest.raises(PostNotFound):
        service.approved_post(post.id)


@pytest.mark.parametrize("post_id", ["", "../etc", "a" * 65, "01J POST", "01J%2F"])
def test_a_malformed_id_is_not_found_without_reading_the_table(
    store: FakeStore, service: PublicPosts, post_id: str
) -> None:
    with pytest.raises(PostNotFound):
        service.approved_post(post_id)
    assert store.reads == []


def test_an_unknown_post_is_not_found(service: PublicPosts) -> None:
    with pytest.raises(PostNotFound):
        service.approved_post("01JUNKNOWN0000000000000000")


# ---------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------

VOID = frozenset({"br", "hr", "img", "input", "link", "meta"})


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list[Node | str] = field(default_factory=list)

    def iter(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def all(self, tag: str, **attrs: str) -> list[Node]:
        wanted = {name.rstrip("_"): value for name, value in attrs.items()}
        return [
            node
            for node in self.iter()
            if node.tag == tag and all(node.attrs.get(k) == v for k, v in wanted.items())
        ]

    def one(self, tag: str, **attrs: str) -> Node:
        found = self.all(tag, **attrs)
        assert len(found) == 1, f"expected one <{tag} {attrs}>, found {len(found)}"
        return found[0]

    def text(self) -> str:
        parts = [child.text() if isinstance(child, Node) else child for child in self.children]
        return " ".join(" ".join(parts).replace("\u00a0", " ").split())


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack = [Node("#document", {})]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def dom(page: str) -> Node:
    builder = _Builder()
    builder.feed(page)
    builder.close()
    assert len(builder.stack) == 1, "unclosed elements"
    return builder.stack[0]


def nearby_page(service: PublicPosts, params: dict[str, str]) -> tuple[int, Node]:
    view = service.nearby_page(params)
    return view.status, dom(public_pages.render_nearby_page(view))


def assert_accessible_form(doc: Node) -> None:
    assert len(doc.all("h1")) == 1
    form = doc.one("form")
    assert (form.attrs["method"], form.attrs["action"]) == ("get", "pres-de-chez-moi")
    for control in form.all("input") + form.all("select"):
        label = doc.one("label", for_=control.attrs["id"] or "")
        assert label.text()
    assert [legend.text() for legend in form.all("legend")] == ["Où ?", "Quelles annonces ?"]


def test_a_first_visit_shows_the_form_only(service: PublicPosts) -> None:
    status, doc = nearby_page(service, {})
    assert status == 200
    assert_accessible_form(doc)
    assert doc.all("ul", class_="results") == []
    assert "veille" not in doc.text()


def test_results_list_title_labels_place_distance_date_and_link(
    store: FakeStore, service: PublicPosts
) -> None:
    store.add(make_post(title="Chambre <b>au sec</b>", where=TREBES, commune="Trèbes",
                        postcode="11800"))  # fmt: skip
    status, doc = nearby_page(service, {"postcode": "11000", "commune": "Carcassonne"})
    assert status == 200
    assert_accessible_form(doc)
    [item] = doc.one("ul", class_="results").all("li")
    link = item.one("a")
    assert link.attrs["href"] == "posts/01JPOST0000000000000000001"
    assert link.text() == "Chambre <b>au sec</b>"  # escaped: text, not markup
    assert item.all("b") == []
    assert "Offre d'aide · Hébergement" in item.text()
    assert "Trèbes (11800), à 9 km" in item.text()
    assert item.one("time").attrs["datetime"] == "2026-11-26T10:00:00Z"
    assert "Déposée le 26 novembre 2026" in item.text()
    assert (
        doc.one("h2", id="resultats").text() == "Annonces à moins de 20 km de Carcassonne (11000)"
    )


def test_the_empty_state_says_what_was_not_found_where(service: PublicPosts) -> None:
    _, doc = nearby_page(service, {"postcode": "11000", "kind": "offer"})
    assert "Aucune offre d'aide à moins de 20 km de 11000 pour le moment." in doc.text()
    _, doc = nearby_page(service, {"postcode": "11000", "kind": "need", "category": "repas"})
    assert (
        "Aucun besoin d'aide dans la catégorie « Repas » à moins de 20 km de 11000 pour le moment."
        in doc.text()
    )


def test_page_suivante_carries_the_search_and_the_cursor(
    store: FakeStore, finder: FakeSearch
) -> None:
    for number in range(3):
        store.add(make_post(f"01JPOST{number:019d}"))
    service = PublicPosts(store, store, finder, page_size=2)
    _, doc = nearby_page(service, {"postcode": "11000", "kind": "offer", "radius": "30"})
    link = doc.one("a", rel="next")
    assert link.text() == "Page suivante"
    url = urlsplit(link.attrs["href"] or "")
    assert url.path == "pres-de-chez-moi"
    assert parse_qs(url.query) == {
        "postcode": ["11000"],
        "kind": ["offer"],
        "radius": ["30"],
        "cursor": ["offset:2"],
    }
    # Following it gives the last post, a way back to the first page and no next link
    params = {key: value for key, [value] in parse_qs(url.query).items()}
    _, doc = nearby_page(service, params)
    assert len(doc.one("ul", class_="results").all("li")) == 1
    assert doc.all("a", rel="next") == []
    assert "cursor" not in (
        doc.one("nav", **{"aria-label": "Pages de résultats"}).one("a").attrs["href"] or ""
    )


def test_asleep_everywhere_the_page_says_so(store: FakeStore, service: PublicPosts) -> None:
    store.activations = []
    for params in ({}, {"postcode": "11000"}):
        _, doc = nearby_page(service, params)
        assert "La plateforme est en veille : aucune alerte n'est en cours." in doc.text()
        assert doc.all("ul", class_="results") == []


def test_bad_input_shows_the_page_again_with_the_messages(service: PublicPosts) -> None:
    status, doc = nearby_page(
        service, {"postcode": "99999", "radius": "500", "kind": "offer", "category": "Repas"}
    )
    assert status == 400
    assert doc.one("title").text().startswith("Erreur")
    summary = doc.one("div", class_="error-summary")
    assert summary.attrs["role"] == "alert"
    assert [a.attrs["href"] for a in summary.all("a")] == ["#field-postcode", "#field-radius"]
    assert "Le code postal 99999 est inconnu" in summary.text()
    postcode = doc.one("input", name="postcode")
    assert (postcode.attrs["value"], postcode.attrs["aria-invalid"]) == ("99999", "true")
    assert "field-postcode-error" in (postcode.attrs["aria-describedby"] or "")
    assert doc.one("p", id="field-radius-error").text().startswith("Erreur :")
    # the person's choices are kept
    assert "checked" in doc.one("input", id="field-kind-offer").attrs
    assert "selected" in doc.one("option", value="repas").attrs


def test_a_postcode_of_several_communes_offers_them_in_the_form(service: PublicPosts) -> None:
    _, doc = nearby_page(service, {"postcode": "11000"})
    select = doc.one("select", name="commune")
    options = [option.attrs["value"] for option in select.all("option")]
    assert options == ["", "Berriac", "Carcassonne"]


def test_a_digest_tweet_link_invites_to_give_a_postcode(service: PublicPosts) -> None:
    status, doc = nearby_page(service, {"activation": "ACT-AUDE", "departement": "11"})
    assert status == 200
    assert "De nouvelles annonces sont publiées dans l'Aude." in doc.text()
    assert doc.all("div", class_="error-summary") == []


def test_the_post_page_of_an_offer(store: FakeStore) -> None:
    post = PublicPost.of(store.add(make_post(title="Chambre <script>x</script>")))
    doc = dom(public_pages.render_post_page(post))
    assert doc.one("h1").text() == "Chambre <script>x</script>"
    assert doc.all("script") == []
    text = doc.text()
    assert "Offre d'aide · Hébergement" in text
    assert "Carcassonne (11000), département Aude (11)" in text
    assert "26 novembre 2026" in text
    hrefs = [a.attrs["href"] for a in doc.all("a")]
    assert not [href for href in hrefs if "contact" in (href or "")]  # signed links only
    assert "Publiez votre besoin d'aide" in text
    assert "../pres-de-chez-moi?postcode=11000&commune=Carcassonne" in hrefs
    assert doc.one("p", class_="site-name").one("a").attrs["href"] == "../"


def test_the_post_page_of_a_need_invites_to_offer_help(store: FakeStore) -> None:
    post = PublicPost.of(store.add(make_post(kind=Kind.NEED)))
    doc = dom(public_pages.render_post_page(post))
    assert not [a for a in doc.all("a") if "contact" in (a.attrs["href"] or "")]
    assert "Vous pouvez aider ?" in doc.text()


def test_the_not_found_page_is_french_and_links_home() -> None:
    doc = dom(public_pages.render_not_found_page())
    assert doc.one("h1").text() == "Annonce introuvable"
    assert {a.attrs["href"] for a in doc.all("a")} >= {"../"}
