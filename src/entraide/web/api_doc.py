"""The API described: what each route takes and answers, for its OpenAPI document.

The handlers' resolvers hold the routes; each route names here what powertools cannot see
(our handlers read their query strings and bodies themselves): its query parameters, its
request body and its answers. :func:`openapi_document` asks every resolver for its part
(``get_openapi_schema``) and joins them into the one document served at ``/openapi.json``
(``scripts/build_openapi.py`` writes it; a test checks the committed file is current).

The models below describe answers and bodies; the rules themselves stay in the rooms
(:mod:`entraide.intake.submission` and the search's parser), which accept more spellings
than the document names (French labels, "besoin"...), never less.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, get_args

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, ConfigDict, Field

from entraide.intake.fields import COMMUNE_MAX, DESCRIPTION_MAX, EMAIL_MAX, TITLE_MAX
from entraide.kernel.model import Category

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

TITLE = "ShareEntraide"
VERSION = "1"
DESCRIPTION = (
    "Entraide en cas de catastrophe naturelle : déposer un besoin ou une offre d'aide, "
    "chercher les annonces publiées près de chez soi. Les pages (text/html) sont en français "
    "et fonctionnent sans JavaScript ; les erreurs JSON ont la forme "
    '{"errors": [{"field": …, "message": …}]}.'
)

CategoryCode = Literal[
    "hebergement", "transport", "nettoyage", "materiel", "repas", "garde", "autre"
]
assert set(get_args(CategoryCode)) == {category.value for category in Category}


class FieldErrorOut(BaseModel):
    field: str = Field(description="le champ en cause, ou « body »")
    message: str = Field(description="en français, à montrer tel quel")


class ErrorList(BaseModel):
    """Every refusal of the JSON API."""

    errors: list[FieldErrorOut]


class PostCreated(BaseModel):
    id: str
    status: Literal["pending"]


class PostRequest(BaseModel):
    """A need or an offer (``POST /offers``), as JSON or as the form's urlencoded fields."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["need", "offer"]
    category: CategoryCode
    title: str = Field(min_length=3, max_length=TITLE_MAX)
    description: str = Field(min_length=1, max_length=DESCRIPTION_MAX)
    postcode: str = Field(pattern=r"^[0-9]{5}$", description="code postal (La Poste)")
    commune: str | None = Field(
        default=None,
        max_length=COMMUNE_MAX,
        description="obligatoire quand le code postal couvre plusieurs communes",
    )
    email: str = Field(max_length=EMAIL_MAX, description="jamais publiée")
    phone: str | None = Field(default=None, max_length=25, description="jamais publié")
    consent: bool


class Coded(BaseModel):
    code: str
    label: str


class Location(BaseModel):
    lat: float
    lon: float


class PublicPost(BaseModel):
    """An approved post as published (no contact detail; position rounded to about 1 km)."""

    id: str
    kind: Coded
    category: Coded
    title: str
    description: str
    commune: str
    postcode: str
    departement: str
    created_at: str
    location: Location
    url: str
    distance_km: float | None = None


class SearchResults(BaseModel):
    query: dict[str, Any]
    items: list[PublicPost]
    next_cursor: str | None
    asleep: bool
    message: str | None = None


# --- what routes declare ---------------------------------------------------------------

_QUERY = "x-entraide-query"  # moved into "parameters" by openapi_document


def query(*names: str, required: Iterable[str] = ()) -> dict[str, Any]:
    """The query parameters a route reads (strings; the room checks them)."""
    needed = set(required)
    parameters = [
        {"name": name, "in": "query", "required": name in needed, "schema": {"type": "string"}}
        for name in names
    ]
    return {_QUERY: parameters}


def form_body(*names: str, required: Iterable[str] = ()) -> dict[str, Any]:
    """The urlencoded form a page posts back."""
    schema = {
        "type": "object",
        "properties": {name: {"type": "string"} for name in names},
        "required": sorted(required),
    }
    return {
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": schema}},
        }
    }


def post_body() -> dict[str, Any]:
    """``POST /offers``: JSON, or the form's fields (``consent`` is then "on")."""
    schema = PostRequest.model_json_schema()
    form_schema = json.loads(json.dumps(schema))
    form_schema["properties"]["consent"] = {"type": "string", "enum": ["on"]}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "application/x-www-form-urlencoded": {"schema": form_schema},
            },
        }
    }


def page(description: str) -> OpenAPIResponse:
    """An answer that is a French page."""
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


def json_answer(description: str, model: type[BaseModel]) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": model}}}


def json_or_page(description: str, model: type[BaseModel]) -> OpenAPIResponse:
    """JSON for API callers, a French page for a form post or a browser (Accept)."""
    return {
        "description": description,
        "content": {
            "application/json": {"model": model},
            "text/html": {"schema": {"type": "string"}},
        },
    }


REFUSED_PAGE = page("refusée : une page en français dit pourquoi")


# --- the document ------------------------------------------------------------------------


def openapi_document(resolvers: Iterable[APIGatewayRestResolver]) -> dict[str, Any]:
    """Every resolver's routes in one OpenAPI document, paths and schemas sorted."""
    from aws_lambda_powertools.event_handler.openapi.models import Server

    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    document: dict[str, Any] = {}
    for resolver in resolvers:
        part = json.loads(
            resolver.get_openapi_json_schema(
                title=TITLE,
                version=VERSION,
                description=DESCRIPTION,
                # relative to the document: under an API Gateway stage prefix too
                servers=[Server(url="./")],
            )
        )
        document = {key: value for key, value in part.items() if key not in ("paths", "components")}
        for path, operations in part.get("paths", {}).items():
            for method, operation in operations.items():
                paths.setdefault(path, {})[method] = _with_query(operation)
        schemas.update(part.get("components", {}).get("schemas", {}))
    # powertools adds its validation errors' schemas for every route: ours are ErrorList.
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(unused, None)
    document["paths"] = {path: dict(sorted(paths[path].items())) for path in sorted(paths)}
    document["components"] = {"schemas": dict(sorted(schemas.items()))}
    return document


def _with_query(operation: Mapping[str, Any]) -> dict[str, Any]:
    operation = dict(operation)
    extra = operation.pop(_QUERY, [])
    parameters = [*operation.get("parameters", []), *extra]
    if parameters:
        operation["parameters"] = parameters
    return operation


def packaged_openapi() -> str:
    """The committed document, served at ``/openapi.json``."""
    from importlib import resources

    return (resources.files("entraide") / "web" / "openapi.json").read_text("utf-8")


def render_openapi(document: Mapping[str, Any]) -> str:
    """The document as committed: stable, readable, UTF-8."""
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False) + "\n"
