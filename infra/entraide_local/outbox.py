"""The outbox as pages: what the local stack "sent", readable and clickable in a browser.

Functions write every email they send to the outbox folder (parameter ``OutboxDir``) as an
``.eml`` file. ``GET /_local/outbox`` lists them, newest first (subject, recipients, time);
``GET /_local/outbox/<file>`` shows one as its recipient would see it: the HTML part, links
and buttons clickable (they point at this stack), or the text part with
``?part=text``. Nothing is sent anywhere: this is a developer's window on the folder.
"""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage
from html import escape
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote

from .api import HttpRequest, HttpResponse

PREFIX = "/_local/outbox"
_SAFE_NAME = re.compile(r"[0-9A-Za-z._-]+\.eml")
_URL = re.compile(r"https?://[^\s<>\"]+")
_PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem}}
table{{border-collapse:collapse;width:100%}}td,th{{text-align:left;padding:.375rem .5rem;
border-bottom:1px solid #dcdcdc;vertical-align:top}}pre{{white-space:pre-wrap}}</style>
</head><body><main>{body}</main></body></html>"""


def _page(title: str, body: str, status: int = 200) -> HttpResponse:
    document = _PAGE.format(title=escape(title), body=body).encode("utf-8")
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")]
    return HttpResponse(status, headers, document)


def _read(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


class OutboxViewer:
    """Serves ``/_local/outbox`` pages from ``folder`` (None: the stack has no outbox)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def handle(self, request: HttpRequest) -> HttpResponse:
        name = unquote(request.path.removeprefix(PREFIX).strip("/"))
        if not name:
            return self.listing()
        part = parse_qs(request.query).get("part", ["html"])[-1]
        return self.message(name, text=part == "text")

    def _files(self) -> list[Path]:
        if self.folder is None or not self.folder.is_dir():
            return []
        return sorted(self.folder.glob("*.eml"), reverse=True)  # names start with the time

    def listing(self) -> HttpResponse:
        rows = []
        for path in self._files():
            message = _read(path)
            href = f"{PREFIX}/{quote(path.name)}"
            rows.append(
                f"<tr><td>{escape(str(message['Date'] or ''))}</td>"
                f"<td>{escape(str(message['To'] or ''))}</td>"
                f'<td><a href="{href}">{escape(str(message["Subject"] or "(sans objet)"))}</a>'
                f' · <a href="{href}?part=text">texte</a></td></tr>'
            )
        where = escape(str(self.folder)) if self.folder else "aucun dossier (OutboxDir vide)"
        table = (
            "<table><thead><tr><th>Envoyé</th><th>À</th><th>Objet</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
            if rows
            else "<p>Aucun e-mail pour le moment.</p>"
        )
        body = (
            f"<h1>Boîte d'envoi de la pile locale</h1><p>{len(rows)} e-mail(s), dans {where}. "
            "Rechargez la page pour voir les nouveaux.</p>" + table
        )
        return _page("Boîte d'envoi – pile locale", body)

    def message(self, name: str, *, text: bool) -> HttpResponse:
        path = self.folder / name if self.folder and _SAFE_NAME.fullmatch(name) else None
        if path is None or not path.is_file():
            return _page("Introuvable", "<h1>Cet e-mail n'est pas dans la boîte d'envoi.</h1>", 404)
        message = _read(path)
        html_part = None if text else message.get_body(preferencelist=("html",))
        if html_part is not None:  # the email as its recipient sees it
            content = html_part.get_content()
            headers = [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")]
            return HttpResponse(200, headers, str(content).encode("utf-8"))
        text_part = message.get_body(preferencelist=("plain",))
        plain = str(text_part.get_content()) if text_part is not None else ""
        linked = re.sub(
            r"https?://[^\s<>\"]+",
            lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>',
            escape(plain),
        )
        subject = str(message["Subject"] or "")
        body = (
            f'<p><a href="{PREFIX}">← Boîte d\'envoi</a></p><h1>{escape(subject)}</h1>'
            f"<p>À : {escape(str(message['To'] or ''))}</p><pre>{linked}</pre>"
        )
        return _page(subject, body)
