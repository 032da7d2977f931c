"""Contact through the platform: a person in need writes to a helper from a signed link.

GET shows the form and changes nothing; POST sends the helper one email (the person's
address only if they agreed), at most once an hour per pair. On its schedule, the function
sends the messages accepted but not sent yet (the effects ledger's sweep).
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.adapters.table import Table
from entraide.effects.ledger import scheduled
from entraide.kernel.errors import ContactTooSoon, DomainError, InvalidInput
from entraide.matching.contact import CONTACT
from entraide.observability import count, logger, metrics_when_any, redacted_errors
from entraide.settings.matching import MatchSettings
from entraide.web import api_doc, pages
from entraide.web.contact_pages import (
    parse_contact_form,
    render_contact_page,
    render_contact_sent_page,
)
from entraide.web.http import errors_of, html_response, public_base_url, status_of
from entraide.web.refusals import describe_contact_refusal
from entraide.web.requests import read_form
from entraide.wiring import contact_desk

settings = MatchSettings.from_environ(os.environ)
desk = contact_desk(settings, Table(settings.table_name))
app = APIGatewayRestResolver()


def links_to_this_api(resolver: APIGatewayRestResolver, next_middleware: Any) -> Any:
    """Links in the helper's email point at this API unless a custom domain is set."""
    desk.links.base_url = public_base_url(settings.public_base_url, resolver.current_event)
    return next_middleware(resolver)


app.use(middlewares=[links_to_this_api])


_LINK_REFUSALS = api_doc.refused_pages(400, 403, 404, 410, 415, 429)


@app.get(
    "/contact/<offer_id>",
    summary="Le lien d'une mise en relation : écrire à la personne qui aide",
    openapi_extensions=api_doc.query("need", "token", required=["need", "token"]),
    responses={200: api_doc.page("le formulaire du message"), **_LINK_REFUSALS},
)
def contact_form(offer_id: str) -> Response[str]:
    query = app.current_event
    need_id = query.get_query_string_value("need") or ""
    token = query.get_query_string_value("token") or ""
    request = desk.open(offer_id, need_id, token)
    return html_response(200, render_contact_page(request, token=token, form_action=offer_id))


@app.post(
    "/contact/<offer_id>",
    summary="Envoyer le message (par la plateforme)",
    openapi_extensions=api_doc.form_body(
        "need", "token", "message", "share_email", required=["need", "token", "message"]
    ),
    responses={200: api_doc.page("message envoyé"), **_LINK_REFUSALS},
)
def send_message(offer_id: str) -> Response[str]:
    event = app.current_event
    fields = read_form(
        event.body,
        content_type=event.headers.get("content-type"),
        is_base64=bool(event.is_base64_encoded),
        max_bytes=settings.max_body_bytes,
    )
    form = parse_contact_form(fields)
    try:
        sent = desk.send(
            offer_id,
            form.need_id,
            form.token,
            message=form.message,
            share_email=form.share_email,
            deadline=desk.ledger.deadline_of(app.lambda_context),
        )
    except (InvalidInput, ContactTooSoon) as error:  # the form again, with what was written
        page = render_contact_page(
            desk.open(offer_id, form.need_id, form.token),
            token=form.token,
            form_action=offer_id,
            message=form.message,
            share_email=form.share_email,
            errors=errors_of(error),
        )
        return html_response(status_of(error), page)
    count("ContactSent")
    logger.info("Contact message sent", extra={"offer_id": offer_id, "need_id": form.need_id})
    return html_response(200, render_contact_sent_page(sent))


@app.exception_handler(DomainError)
def refuse(error: DomainError) -> Response[str]:
    title, message = describe_contact_refusal(error)
    logger.info("Contact refused", extra={"reason": type(error).__name__})
    return html_response(
        status_of(error), pages.render_message_page(title, message, back_link=False)
    )


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
)
@metrics_when_any
@redacted_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if scheduled(event):  # the messages accepted but not sent yet
        swept = desk.ledger.sweep(
            CONTACT, desk.performer_for, deadline=desk.ledger.deadline_of(context)
        )
        logger.info("Contact messages swept", extra=swept.as_dict())
        return {"swept": swept.as_dict()}
    return app.resolve(event, context)
