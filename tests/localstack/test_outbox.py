"""The outbox as pages, and the console's one line per invocation."""

from __future__ import annotations

import json
from pathlib import Path

from entraide.adapters.mail import EmailMessage, Mailer
from entraide_local.api import HttpRequest
from entraide_local.outbox import OutboxViewer
from entraide_local.workers import console_line

APPROVE = "http://127.0.0.1:3000/moderation/01K?decision=approve&token=1.2.a.b"


def request(target: str) -> HttpRequest:
    return HttpRequest("GET", target, [], b"", "127.0.0.1", "127.0.0.1:3000")


def write_email(folder: Path) -> Path:
    """An email as the functions write it (the mail adapter's own MIME and file name)."""
    mailer = Mailer("alertes@shareentraide.example", outbox_dir=folder)
    message = EmailMessage(
        to=("moderation@shareentraide.example",),
        subject="[ShareEntraide] À modérer : Trèbes",
        text=f"Approuver :\n{APPROVE}\n",
        html=f'<p><a href="{APPROVE.replace("&", "&amp;")}">Approuver</a></p>',
        tag="moderation-request",
    )
    data = mailer.build_mime(message)
    return Mailer._write_outbox(folder, data, message, "0000000000000001-abc")


def test_the_outbox_lists_the_emails_and_shows_each_with_its_links(tmp_path: Path) -> None:
    # Given an email written to the outbox
    path = write_email(tmp_path)
    viewer = OutboxViewer(tmp_path)
    # When the outbox page is opened
    listing = viewer.handle(request("/_local/outbox"))
    # Then it lists the email by subject and recipient, linking to it
    page = listing.body.decode()
    assert listing.status == 200
    assert "[ShareEntraide] À modérer : Trèbes" in page
    assert "moderation@shareentraide.example" in page
    assert f'href="/_local/outbox/{path.name}"' in page
    # and the email opens as its recipient sees it, its button a link to the stack
    shown = viewer.handle(request(f"/_local/outbox/{path.name}")).body.decode()
    assert 'href="http://127.0.0.1:3000/moderation/01K?decision=approve&amp;token=' in shown
    # and its text part with its links made clickable
    text = viewer.handle(request(f"/_local/outbox/{path.name}?part=text")).body.decode()
    assert '<a href="http://127.0.0.1:3000/moderation/01K?decision=approve&amp;token=' in text


def test_only_files_of_the_outbox_are_served(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("x")
    viewer = OutboxViewer(tmp_path / "outbox")
    for name in ("..%2Fsecret.txt", "../secret.txt", "nothing.eml"):
        assert viewer.handle(request(f"/_local/outbox/{name}")).status == 404


def test_the_console_keeps_plain_lines_and_warnings_only() -> None:
    info = json.dumps({"level": "INFO", "message": "Post stored as pending"})
    metrics = json.dumps({"_aws": {"CloudWatchMetrics": []}, "PostAccepted": [1.0]})
    failure = json.dumps({"level": "ERROR", "message": "Effect failed", "exception_name": "E"})
    assert console_line("✉  Votre annonce est en attente → 1 destinataire(s)") is not None
    assert console_line(info) is None
    assert console_line(metrics) is None
    assert console_line(failure) == "ERROR: Effect failed (E)"
    assert console_line("Traceback (most recent call last):") is not None
