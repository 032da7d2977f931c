"""GET /: the French form to post a need or an offer, with the open activations."""

from __future__ import annotations

import json
import os
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.activation.activation_store import ActivationStore
from entraide.adapters.table import Table
from entraide.observability import count, logger, metrics_when_any, redacted_errors
from entraide.settings.base import Settings
from entraide.web import api_doc
from entraide.web.form_page import new_form_token, render_form_page
from entraide.web.http import html_response, json_response

settings = Settings.from_environ(os.environ)
activations = ActivationStore(Table(settings.table_name))
app = APIGatewayRestResolver()


@app.get("/", summary="Le formulaire", responses={200: api_doc.page("le formulaire")})
def form_page() -> Response[str]:
    count("FormPageServed")
    page = render_form_page(activations.open_activations(), form_token=new_form_token())
    return html_response(200, page)


@app.get(
    "/openapi.json",
    summary="Ce document : l'API décrite (OpenAPI)",
    responses={200: {"description": "le document OpenAPI", "content": {"application/json": {}}}},
)
def openapi_document() -> Response[str]:
    response = json_response(200, json.loads(api_doc.packaged_openapi()))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
)
@metrics_when_any
@redacted_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
