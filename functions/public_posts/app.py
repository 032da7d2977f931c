"""Approved posts, in public: GET /posts (JSON search), /pres-de-chez-moi and /posts/{id}.

Read-only: approved posts near a postal code (every open activation is searched), and
one approved post's page. Nothing here reads a contact item (see entraide.matching.public).
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.activation.activation_store import ActivationStore
from entraide.adapters.table import Table
from entraide.intake.post_store import PostStore
from entraide.kernel.errors import DomainError, PostNotFound
from entraide.matching import public
from entraide.matching.nearby import NearbySearch
from entraide.observability import count, logger, metrics_when_any, redacted_errors
from entraide.settings.public import PublicSettings
from entraide.web import api_doc, pages, public_pages
from entraide.web.http import (
    html_response,
    json_error_response,
    json_response,
    public_base_url,
    status_of,
)

settings = PublicSettings.from_environ(os.environ)
table = Table(settings.table_name)
post_store = PostStore(table)
posts = public.PublicPosts(post_store, ActivationStore(table), NearbySearch(post_store))
app = APIGatewayRestResolver()


def _params() -> dict[str, str]:
    return dict(app.current_event.query_string_parameters)


def _cacheable(response: Response[str]) -> Response[str]:
    """Approved content is public: a minute in browsers and caches is fine."""
    response.headers["Cache-Control"] = public_pages.PUBLIC_CACHE_CONTROL
    return response


def _searched(results: public.NearbyResults) -> None:
    count("NearbySearch")
    logger.info(
        "Nearby search",
        extra={
            "radius_km": results.query.radius_km,
            "found": len(results.posts),
            "cells_read": results.cells_read,
            "items_read": results.items_read,
            "asleep": results.asleep,
        },
    )


@app.get(
    "/posts",
    summary="Les annonces publiées près d'un code postal",
    openapi_extensions=api_doc.query(
        "postcode", "commune", "kind", "category", "radius", "cursor", required=["postcode"]
    ),
    responses={
        200: api_doc.json_answer("les annonces, les plus proches d'abord", "SearchResults"),
        400: api_doc.json_answer("paramètres à corriger", "ErrorList"),
    },
)
def search_posts() -> Response[str]:
    results = posts.search(_params())
    _searched(results)
    base_url = public_base_url(settings.public_base_url, app.current_event)
    return _cacheable(json_response(200, results.to_json(base_url)))


@app.get(
    "/pres-de-chez-moi",
    summary="La recherche près de chez soi, en page",
    openapi_extensions=api_doc.query("postcode", "commune", "kind", "category", "radius", "cursor"),
    responses={200: api_doc.page("le formulaire et les annonces"), 400: api_doc.REFUSED_PAGE},
)
def nearby_page() -> Response[str]:
    view = posts.nearby_page(_params())
    if view.results is not None:
        _searched(view.results)
    response = html_response(view.status, public_pages.render_nearby_page(view))
    return _cacheable(response) if view.status == 200 else response


@app.get(
    "/posts/<post_id>",
    summary="La page publique d'une annonce",
    responses={200: api_doc.page("l'annonce"), 404: api_doc.page("annonce introuvable")},
)
def post_page(post_id: str) -> Response[str]:
    page = public_pages.render_post_page(posts.approved_post(post_id))
    count("PostPageServed")
    return _cacheable(html_response(200, page))


@app.exception_handler(DomainError)
def refuse(error: DomainError) -> Response[str]:
    logger.info("Public request refused", extra={"reason": type(error).__name__})
    if app.current_event.path == "/posts":
        return json_error_response(error)
    if isinstance(error, PostNotFound):
        return html_response(404, public_pages.render_not_found_page())
    return html_response(status_of(error), pages.render_message_page("Erreur", error.message))


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
)
@metrics_when_any
@redacted_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
