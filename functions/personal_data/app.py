"""Personal data: the privacy page, a person's posts from their address, erasure on request.

- ``GET /donnees-personnelles``: what is kept, why, for how long, who sees it, whom to write to.
- ``GET /mes-annonces``: a form, the address; ``POST`` emails a signed link to the page of
  that address's posts, and answers the same whether or not it posted.
- ``GET /mes-annonces/{person}?token=…``: the person's posts (changes nothing); ``POST``
  withdraws one of them, or erases everything (entraide.privacy.my_posts).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qsl

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.adapters.mail import MailError
from entraide.adapters.table import Table
from entraide.kernel.errors import DomainError, ExpiredLink, InvalidInput, InvalidLink
from entraide.observability import count, logger, metrics_when_any, redacted_errors
from entraide.settings.shared import PersonalDataSettings
from entraide.web import api_doc, pages, privacy_pages
from entraide.web.http import html_response, public_base_url, status_of
from entraide.web.refusals import describe_refusal
from entraide.web.requests import body_format
from entraide.wiring import my_posts_desk

settings = PersonalDataSettings.from_environ(os.environ)
desk = my_posts_desk(settings, Table(settings.table_name))
facts = privacy_pages.PrivacyFacts(
    retention_days=settings.retention_days,
    pending_max_days=settings.pending_post_max_days,
    backup_days=settings.backup_retention_days,
    log_days=settings.log_retention_days,
    contact_email=settings.privacy_contact_email,
    region=settings.aws_region,
)
app = APIGatewayRestResolver()


def links_to_this_api(resolver: APIGatewayRestResolver, next_middleware: Any) -> Any:
    """Links in the email point at this API unless a custom domain is set."""
    desk.links.base_url = public_base_url(settings.public_base_url, resolver.current_event)
    return next_middleware(resolver)


app.use(middlewares=[links_to_this_api])


def _form() -> dict[str, str]:
    event = app.current_event
    body_format(event.headers.get("content-type"))  # 415 unless a form (or JSON)
    return dict(parse_qsl(event.decoded_body or "", keep_blank_values=True))


_LINK_REFUSALS = api_doc.refused_pages(400, 403, 404, 409, 410, 415)


@app.get(
    "/donnees-personnelles",
    summary="Ce que la plateforme garde de vos données, pourquoi, combien de temps",
    responses={200: api_doc.page("la page des données personnelles")},
)
def privacy_page() -> Response[str]:
    return html_response(200, privacy_pages.render_privacy_page(facts))


@app.get(
    "/mes-annonces",
    summary="Demander par e-mail le lien de ses annonces",
    responses={200: api_doc.page("le formulaire de l'adresse")},
)
def my_posts_form() -> Response[str]:
    return html_response(200, privacy_pages.render_my_posts_form())


@app.post(
    "/mes-annonces",
    summary="Recevoir par e-mail le lien de ses annonces (même réponse pour toute adresse)",
    openapi_extensions=api_doc.form_body("email", required=["email"]),
    responses={
        200: api_doc.page("demande prise en compte"),
        400: api_doc.page("adresse à corriger (le formulaire à nouveau)"),
        415: api_doc.REFUSED_PAGE,
        503: api_doc.page("l'e-mail n'a pas pu partir"),
    },
)
def request_links() -> Response[str]:
    email = _form().get("email", "")
    try:
        sent = desk.request_links(email)
    except InvalidInput as error:
        page = privacy_pages.render_my_posts_form(
            email=email, errors=[e.message for e in error.errors]
        )
        return html_response(400, page)
    # counted, never said: the page is the same whether or not the address posted
    count("MyPostsLinksSent", int(sent))
    return html_response(200, privacy_pages.render_links_requested_page())


@app.get(
    "/mes-annonces/<person>",
    summary="Le lien reçu par e-mail : ses annonces, les retirer, tout effacer",
    openapi_extensions=api_doc.query("token", required=["token"]),
    responses={200: api_doc.page("ses annonces"), **_LINK_REFUSALS},
)
def my_posts(person: str) -> Response[str]:
    token = app.current_event.get_query_string_value("token") or ""
    page = desk.open(person, token)
    return html_response(200, privacy_pages.render_my_posts_page(page, token=token))


@app.post(
    "/mes-annonces/<person>",
    summary="Retirer une de ses annonces, ou effacer toutes ses données",
    openapi_extensions=api_doc.form_body(
        "token", "action", "post", "confirm", required=["token", "action"]
    ),
    responses={200: api_doc.page("fait : ses annonces à nouveau"), **_LINK_REFUSALS},
)
def act_on_my_posts(person: str) -> Response[str]:
    form = _form()
    token = form.get("token", "")
    if form.get("action") == "erase":
        if form.get("confirm") != "on":
            page = privacy_pages.render_my_posts_page(
                desk.open(person, token),
                token=token,
                notice="Cochez « Je veux effacer toutes mes données » pour confirmer.",
            )
            return html_response(400, page)
        report = desk.erase(person, token)
        count("PersonErased")
        logger.info(
            "Personal data erased on request",
            extra={"posts": len(report.posts), "withdrawn": len(report.withdrawn)},
        )
        notice = privacy_pages.erased_notice(report)
    else:
        post = desk.withdraw(person, token, form.get("post", ""))
        count("Post.withdrawn")
        logger.info("Post withdrawn from its author's page", extra={"post_id": post.id})
        notice = f"Votre annonce « {post.title} » est retirée."
    page = privacy_pages.render_my_posts_page(desk.open(person, token), token=token, notice=notice)
    return html_response(200, page)


@app.exception_handler(DomainError)
def refuse(error: DomainError) -> Response[str]:
    title, message = describe_refusal(error)
    if isinstance(error, InvalidLink | ExpiredLink):
        message = privacy_pages.NEW_LINK
    logger.info("Personal data request refused", extra={"reason": type(error).__name__})
    page = pages.render_message_page(title, message, back_link=False)
    return html_response(status_of(error), page)


@app.exception_handler(MailError)
def mail_failed(error: MailError) -> Response[str]:
    logger.warning("My posts email not sent", extra={"code": error.code})
    message = "L'e-mail n'a pas pu partir. Réessayez dans quelques minutes."
    return html_response(503, pages.render_message_page("Envoi impossible", message))


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
)
@metrics_when_any
@redacted_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
