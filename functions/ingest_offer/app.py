"""POST /offers: a need or an offer from the form or the JSON API, stored as pending, once.

A JSON request may carry an ``Idempotency-Key`` header, the form carries a one-time token:
the same request sent again (a retry after a timeout, a second click) gets the post it
created and stores nothing (see entraide.intake.posting). The form answers with
Post/Redirect/Get: 303 to ``GET /offers/confirmation?jeton=<token>``, the confirmation,
which a reload shows again without storing anything.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.activation.activation_store import ActivationStore
from entraide.adapters.table import Table
from entraide.intake.post_store import PostStore
from entraide.intake.posting import submit_post
from entraide.kernel.errors import DomainError, InvalidInput, PlatformAsleep, PostNotFound
from entraide.kernel.ids import new_id
from entraide.kernel.model import Post
from entraide.kernel.postcodes import PostcodeDirectory
from entraide.observability import count, logger, metrics_when_any, redacted_errors
from entraide.settings.intake import IntakeSettings
from entraide.web import api_doc, form_page, pages
from entraide.web.http import (
    SECURITY_HEADERS,
    error_response,
    errors_of,
    html_response,
    json_response,
)
from entraide.web.requests import (
    BodyFormat,
    SubmittedBody,
    form_token_key,
    read_body,
    request_key,
)
from entraide.wiring import pseudonyms

settings = IntakeSettings.from_environ(os.environ)
table = Table(settings.table_name)
posts = PostStore(table, pseudonyms=pseudonyms(settings), retention=settings.retention())
activations = ActivationStore(table)
app = APIGatewayRestResolver()
#: Where the form's answer sends the browser (relative to ``…/offers``: the route below).
CONFIRMATION = "offers/confirmation?jeton="


@app.post(
    "/offers",
    summary="Déposer un besoin ou une offre (en attente de modération)",
    openapi_extensions={
        **api_doc.post_body(),
        **api_doc.header(
            "Idempotency-Key",
            "la même clé renvoyée avec la même demande rend l'annonce déjà enregistrée",
        ),
    },
    responses={
        201: api_doc.json_or_page("enregistrée, en attente de modération", "PostCreated"),
        303: {
            "description": "formulaire : vers la confirmation (GET /offers/confirmation?jeton=…)"
        },
        400: api_doc.json_or_page("champs à corriger (le formulaire à nouveau)", "ErrorList"),
        409: api_doc.json_or_page("aucune alerte en cours pour ce département", "ErrorList"),
        413: api_doc.json_or_page("trop volumineuse", "ErrorList"),
        415: api_doc.json_or_page("ni JSON ni formulaire", "ErrorList"),
        422: api_doc.json_or_page("clé déjà servie à une autre demande", "ErrorList"),
    },
)
def create_post() -> Response[str]:
    event = app.current_event
    submitted = read_body(
        event.body,
        content_type=event.headers.get("content-type"),
        is_base64=bool(event.is_base64_encoded),
        max_bytes=settings.max_body_bytes,
    )
    key, token = request_key(submitted, event.headers)
    # Kept for the error page, which shows the form again with these values.
    app.context["submitted"] = submitted
    app.context["form_token"] = token
    intake = submit_post(
        submitted.fields,
        posts=posts,
        activations=activations,
        directory=PostcodeDirectory.default(),
        new_id=new_id,
        key=key,
    )
    post = intake.post
    count("PostReplayed" if intake.replayed else "PostAccepted")
    logger.info(
        "Post stored as pending" if not intake.replayed else "Post request sent again",
        extra={"post_id": post.id, "departement": post.departement, "kind": post.kind.value},
    )
    if submitted.format is BodyFormat.FORM:
        if token:  # Post/Redirect/Get: a reload of the answer stores nothing
            headers = {**SECURITY_HEADERS, "Location": CONFIRMATION + quote(token)}
            return Response(status_code=303, body="", headers=headers)
        return html_response(201, confirmation_page(post))
    response = json_response(201, {"id": post.id, "status": post.status.value})
    if intake.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def confirmation_page(post: Post) -> str:
    return form_page.render_confirmation_page(post, privacy_contact=settings.privacy_contact_email)


@app.get(
    "/offers/confirmation",
    summary="La confirmation d'une annonce envoyée par le formulaire",
    openapi_extensions=api_doc.query("jeton", required=["jeton"]),
    responses={
        200: api_doc.page("la confirmation"),
        404: api_doc.json_or_page("confirmation introuvable", "ErrorList"),
    },
)
def confirmation() -> Response[str]:
    """The confirmation the form's answer redirects to (a GET: it changes nothing)."""
    key = form_token_key(app.current_event.get_query_string_value("jeton") or "")
    known = posts.keyed_post(key) if key else None
    post = posts.get_post(known.post_id) if known else None
    if post is None:
        raise PostNotFound("?")
    return html_response(200, confirmation_page(post))


def _error_page(error: DomainError) -> str:
    submitted: SubmittedBody | None = app.context.get("submitted")
    if isinstance(error, InvalidInput | PlatformAsleep) and submitted is not None:
        # The form again, as the person filled it, with what to change beside the field.
        return form_page.render_form_page(
            activations.open_activations(),
            values=submitted.form_values(),
            errors=errors_of(error),
            commune_choices=error.choices if isinstance(error, InvalidInput) else (),
            form_token=app.context.get("form_token") or form_page.new_form_token(),
        )
    if isinstance(error, PostNotFound):
        return pages.render_message_page(
            "Demande introuvable",
            "Cette confirmation n'existe pas ou plus. Votre annonce a peut-être été envoyée "
            "depuis un autre formulaire.",
        )
    return pages.render_message_page("Demande non enregistrée", error.message)


@app.exception_handler(DomainError)
def refuse(error: DomainError) -> Response[str]:
    count("PostRefused")
    logger.info("Post refused", extra={"reason": type(error).__name__})
    return error_response(error, app.current_event.headers, _error_page)


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
)
@metrics_when_any
@redacted_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
