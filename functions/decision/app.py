"""Signed links: a moderator approves or refuses a post, a poster withdraws theirs.

GET shows a confirmation page and changes nothing; the POST from that page makes the
change with one conditional write. Refusals are French pages with 400/403/404/409/410.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from entraide.adapters.queue import Queue
from entraide.adapters.table import Table
from entraide.effects.ledger_store import DynamoDBLedgerStore
from entraide.kernel.errors import DomainError, WrongPostStatus
from entraide.kernel.model import PostStatus
from entraide.kernel.times import utcnow
from entraide.moderation.desk import parse_action
from entraide.moderation.signing import LinkAction
from entraide.observability import count, logger, metrics_when_any, redacted_errors
from entraide.settings.moderation import DecisionSettings
from entraide.settings.watch import WatchLinkSettings
from entraide.watch.digest import DIGEST_LINK_TTL, DigestLinks
from entraide.watch.item_store import WatchItemStore
from entraide.watch.relaying import WatchDesk, parse_watch_action
from entraide.web import api_doc, pages
from entraide.web.http import html_response, status_of
from entraide.web.refusals import describe_refusal
from entraide.web.requests import read_form
from entraide.wiring import effect_ledger, link_signer, moderation_desk

settings = DecisionSettings.from_environ(os.environ)
table = Table(settings.table_name)
desk = moderation_desk(settings, table)
watch_settings = WatchLinkSettings.from_environ(os.environ)
watch_desk = WatchDesk(  # the digest's links: moderation's signer, the ledger, the relay
    WatchItemStore(table),
    DigestLinks(
        signer=link_signer(watch_settings, DIGEST_LINK_TTL),
        recipients=watch_settings.watch_digest_recipients,
        public_base_url=watch_settings.public_base_url,
    ),
    effect_ledger(watch_settings, table),
    DynamoDBLedgerStore(table),
    Queue(watch_settings.relay_queue_url),
    now=utcnow,
)
app = APIGatewayRestResolver()


def _form() -> dict[str, str]:
    event = app.current_event
    return read_form(
        event.body,
        content_type=event.headers.get("content-type"),
        is_base64=bool(event.is_base64_encoded),
        max_bytes=settings.max_body_bytes,
    )


def _query(name: str) -> str:
    return app.current_event.get_query_string_value(name) or ""


_LINK_REFUSALS = api_doc.refused_pages(400, 403, 404, 409, 410, 415)


@app.get(
    "/moderation/<post_id>",
    summary="Le lien d'un e-mail de modération : une page de confirmation",
    openapi_extensions=api_doc.query("decision", "token", required=["decision", "token"]),
    responses={200: api_doc.page("confirmer la décision"), **_LINK_REFUSALS},
)
def confirm_decision(post_id: str) -> Response[str]:
    action = parse_action(_query("decision"))
    token = _query("token")
    post, _ = desk.check_link(post_id, action, token, expected=PostStatus.PENDING)
    page = pages.render_link_confirmation_page(
        post, action=action.value, token=token, form_action=post_id
    )
    return html_response(200, page)


@app.post(
    "/moderation/<post_id>",
    summary="Approuver ou refuser une annonce",
    openapi_extensions=api_doc.form_body(
        "decision", "token", "reason", required=["decision", "token"]
    ),
    responses={200: api_doc.page("décision enregistrée"), **_LINK_REFUSALS},
)
def decide(post_id: str) -> Response[str]:
    form = _form()
    post = desk.decide(
        post_id, parse_action(form.get("decision")), form.get("token", ""), form.get("reason")
    )
    count(f"Post.{post.status.value}")
    logger.info("Post decided", extra={"post_id": post.id, "status": post.status.value})
    title = "Annonce approuvée" if post.status is PostStatus.APPROVED else "Annonce refusée"
    message = (
        "Merci. L'annonce est publiée ; la personne qui l'a déposée est prévenue par e-mail."
        if post.status is PostStatus.APPROVED
        else "Merci. L'annonce ne sera pas publiée ; la personne est prévenue par e-mail."
    )
    return html_response(200, pages.render_message_page(title, message, back_link=False))


@app.get(
    "/posts/<post_id>/withdraw",
    summary="Le lien de retrait d'une annonce : une page de confirmation",
    openapi_extensions=api_doc.query("token", required=["token"]),
    responses={200: api_doc.page("confirmer le retrait"), **_LINK_REFUSALS},
)
def confirm_withdrawal(post_id: str) -> Response[str]:
    token = _query("token")
    post = desk.check_withdrawal(post_id, token)
    page = pages.render_link_confirmation_page(
        post, action=LinkAction.WITHDRAW.value, token=token, form_action="withdraw"
    )
    return html_response(200, page)


@app.post(
    "/posts/<post_id>/withdraw",
    summary="Retirer son annonce",
    openapi_extensions=api_doc.form_body("token", required=["token"]),
    responses={200: api_doc.page("annonce retirée"), **_LINK_REFUSALS},
)
def withdraw(post_id: str) -> Response[str]:
    post = desk.withdraw(post_id, _form().get("token", ""))
    count("Post.withdrawn")
    logger.info("Post withdrawn", extra={"post_id": post.id})
    message = "Votre annonce n'est plus visible. Merci d'avoir utilisé ShareEntraide."
    return html_response(
        200, pages.render_message_page("Annonce retirée", message, back_link=False)
    )


@app.get(
    "/veille/<reference>",
    summary="Le lien Relayer ou Ignorer d'une veille : une page de confirmation",
    openapi_extensions=api_doc.query("decision", "token", required=["decision", "token"]),
    responses={200: api_doc.page("confirmer"), **_LINK_REFUSALS},
)
def confirm_watch(reference: str) -> Response[str]:
    action = parse_watch_action(_query("decision"))
    token = _query("token")
    item = watch_desk.check(reference, action, token)
    page = pages.render_watch_confirmation_page(
        item, action=action.value, token=token, form_action=reference
    )
    return html_response(200, page)


@app.post(
    "/veille/<reference>",
    summary="Relayer ou ignorer un message de la veille",
    openapi_extensions=api_doc.form_body("decision", "token", required=["decision", "token"]),
    responses={200: api_doc.page("décision enregistrée"), **_LINK_REFUSALS},
)
def decide_watch(reference: str) -> Response[str]:
    form = _form()
    action = parse_watch_action(form.get("decision"))
    item = watch_desk.decide(
        reference,
        action,
        form.get("token", ""),
        deadline=watch_desk.ledger.deadline_of(app.lambda_context),
    )
    logger.info("Watch item decided", extra={"network": item.network, "decision": action.value})
    if action is LinkAction.RELAY:
        title, message = "Message relayé", "Merci. Il sera partagé une fois sur son réseau."
    else:
        title, message = "Message ignoré", "Merci. Il ne sera plus proposé dans la veille."
    return html_response(200, pages.render_message_page(title, message, back_link=False))


@app.exception_handler(DomainError)
def refuse(error: DomainError) -> Response[str]:
    title, message = describe_refusal(error)
    logger.info("Link refused", extra={"reason": type(error).__name__})
    if isinstance(error, WrongPostStatus):
        count("LinkReused")
    return html_response(
        status_of(error), pages.render_message_page(title, message, back_link=False)
    )


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
)
@metrics_when_any
@redacted_errors
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
