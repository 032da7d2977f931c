"""The API described: what each route takes and answers, for its OpenAPI document.

The handlers' resolvers hold the routes; each route names here what powertools cannot see
(our handlers read their query strings and bodies themselves): its query parameters, its
request body and its answers. :func:`openapi_document` asks every resolver for its part
(``get_openapi_schema``) and joins them into the one document served at ``/openapi.json``
(``scripts/build_openapi.py`` writes it; a test checks the committed file is current).

Routes name the models of :mod:`.api_models` by reference; those are built only with the
document, so that importing this module at a cold start builds no pydantic model.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

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


def header(name: str, description: str) -> dict[str, Any]:
    """A request header a route reads (optional)."""
    parameter = {
        "name": name,
        "in": "header",
        "required": False,
        "description": description,
        "schema": {"type": "string", "maxLength": 255},
    }
    return {_QUERY: [parameter]}


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


def _ref(model: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model}"}


def post_body() -> dict[str, Any]:
    """``POST /offers``: JSON, or the form's fields (``consent`` is then "on")."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _ref("PostRequest")},
                "application/x-www-form-urlencoded": {"schema": _ref("PostRequestForm")},
            },
        }
    }


def page(description: str) -> OpenAPIResponse:
    """An answer that is a French page."""
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


def json_answer(description: str, model: str) -> OpenAPIResponse:
    """JSON shaped as ``model`` (a name of :data:`.api_models.MODELS`)."""
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def json_or_page(description: str, model: str) -> OpenAPIResponse:
    """JSON for API callers, a French page for a form post or a browser (Accept)."""
    return {
        "description": description,
        "content": {
            "application/json": {"schema": _ref(model)},
            "text/html": {"schema": {"type": "string"}},
        },
    }


REFUSED_PAGE = page("refusée : une page en français dit pourquoi")


def refused_pages(*statuses: int) -> dict[int, OpenAPIResponse]:
    """The statuses a page behind a link may be refused with, each a French page."""
    return dict.fromkeys(statuses, REFUSED_PAGE)


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
    schemas.update(_model_schemas())
    document["paths"] = {path: dict(sorted(paths[path].items())) for path in sorted(paths)}
    document["components"] = {"schemas": dict(sorted(schemas.items()))}
    return document


def _model_schemas() -> dict[str, Any]:
    """The JSON schemas of the models routes refer to, and the ones they use."""
    from pydantic.json_schema import models_json_schema

    from entraide.web.api_models import MODELS

    _, top = models_json_schema(
        [(model, "validation") for model in MODELS], ref_template="#/components/schemas/{model}"
    )
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    form = json.loads(json.dumps(schemas["PostRequest"]))
    form["properties"]["consent"] = {"type": "string", "enum": ["on"]}
    form["title"] = "PostRequestForm"
    schemas["PostRequestForm"] = form
    return schemas


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
