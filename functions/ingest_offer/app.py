"""POST /offers: a need or an offer from the form or the JSON API, stored as pending."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.activation.activation_store import ActivationStore
from entraide.adapters.table import Table
from entraide.intake.post_store import PostStore
from entraide.intake.posting import submit_post
from entraide.kernel.errors import DomainError, InvalidInput, PlatformAsleep
from entraide.kernel.ids import new_id
from entraide.kernel.postcodes import PostcodeDirectory
from entraide.observability import logger, metrics, redacted_errors
from entraide.settings.intake import IntakeSettings
from entraide.web import api_doc, form_page, pages
from entraide.web.http import error_response, errors_of, html_response, json_response
from entraide.web.requests import BodyFormat, SubmittedBody, read_body
from entraide.wiring import pseudonyms

settings = IntakeSettings.from_environ(os.environ)
table = Table(settings.table_name)
posts = PostStore(table, pseudonyms=pseudonyms(settings), retention=settings.retention())
activations = ActivationStore(table)
app = APIGatewayRestResolver()


@app.post(
    "/offers",
    summary="Déposer un besoin ou une offre (en attente de modération)",
    openapi_extensions=api_doc.post_body(),
    responses={
        201: api_doc.json_or_page("enregistrée, en attente de modération", "PostCreated"),
        400: api_doc.json_or_page("champs à corriger (le formulaire à nouveau)", "ErrorList"),
        409: api_doc.json_or_page("aucune alerte en cours pour ce département", "ErrorList"),
        413: api_doc.json_or_page("trop volumineuse", "ErrorList"),
        415: api_doc.json_or_page("ni JSON ni formulaire", "ErrorList"),
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
    # Kept for the error page, which shows the form again with these values.
    app.context["submitted"] = submitted
    post = submit_post(
        submitted.fields,
        posts=posts,
        activations=activations,
        directory=PostcodeDirectory.default(),
        new_id=new_id,
    )
    metrics.add_metric(name="PostAccepted", unit=MetricUnit.Count, value=1)
    logger.info(
        "Post stored as pending",
        extra={"post_id": post.id, "departement": post.departement, "kind": post.kind.value},
    )
    if submitted.format is BodyFormat.FORM:
        page = form_page.render_confirmation_page(
            post, privacy_contact=settings.privacy_contact_email
        )
        return html_response(201, page)
    return json_response(201, {"id": post.id, "status": post.status.value})


def _error_page(error: DomainError) -> str:
    submitted: SubmittedBody | None = app.context.get("submitted")
    if isinstance(error, InvalidInput | PlatformAsleep) and submitted is not None:
        # The form again, as the person filled it, with what to change beside the field.
        return form_page.render_form_page(
            activations.open_activations(),
            values=submitted.form_values(),
            errors=errors_of(error),
            commune_choices=error.choices if isinstance(error, InvalidInput) else (),
        )
    return pages.render_message_page("Demande non enregistrée", error.message)


@app.exception_handler(DomainError)
def refuse(error: DomainError) -> Response[str]:
    metrics.add_metric(name="PostRefused", unit=MetricUnit.Count, value=1)
    logger.info("Post refused", extra={"reason": type(error).__name__})
    return error_response(error, app.current_event.headers, _error_page)


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
)
@metrics.log_metrics
@redacted_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
