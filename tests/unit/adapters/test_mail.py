"""The SES v2 adapter, against moto: raw MIME delivery, the outbox copy, the console line.

moto keeps a Raw send as a ``RawMessage`` in the SES backend's ``sent_messages``:
``raw_data`` is the whole MIME message (both parts, as a str), ``source`` the
FromEmailAddress and ``destinations`` the ToAddresses *plus* the addresses moto
reads again from the To header (so each recipient is listed twice). moto drops
``EmailTags``: the tag is checked on the request itself.
"""

from __future__ import annotations

import email
import io
import re
import subprocess
import sys
import traceback
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage as MimeMessage
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from entraide.adapters import mail
from entraide.adapters.mail import (
    Attachment,
    EmailMessage,
    Mailer,
    MailError,
    MailRejected,
    MailUnavailable,
)

REGION = "eu-west-3"
SENDER = "alertes@shareentraide.example"
RECIPIENT = "moderation@entraide.example"
SES_ENDPOINT = "https://email.eu-west-3.amazonaws.com"
SUBJECT = "[ShareEntraide] À modérer : Offre d'aide – Hébergement – Trèbes (11)"
APPROVE_URL = "https://entraide.example/Prod/moderation/01J?d=approve&t=abc"
REJECT_URL = "https://entraide.example/Prod/moderation/01J?d=reject&t=def"
TEXT = (
    "Annonce à modérer\n\nTitre : Chambre « au sec » & chaude\nApprouver :\n" + APPROVE_URL + "\n"
)
HTML = (
    '<!doctype html><html lang="fr"><body>'
    "<p>Chambre «&nbsp;au sec&nbsp;» &amp; chaude</p></body></html>\n"
)


def message(**changes: Any) -> EmailMessage:
    data: dict[str, Any] = {
        "to": (RECIPIENT,),
        "subject": SUBJECT,
        "text": TEXT,
        "html": HTML,
        "links": (("Approuver", APPROVE_URL), ("Refuser", REJECT_URL)),
        "tag": "moderation-request",
    }
    data.update(changes)
    return EmailMessage(**data)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SESV2"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        yield


@pytest.fixture
def ses(aws: None) -> Any:
    """A moto sesv2 client whose sender identity is verified."""
    client = boto3.client("sesv2", region_name=REGION)
    client.create_email_identity(EmailIdentity=SENDER)
    return client


def sent_messages() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def parse(raw: bytes | str) -> MimeMessage:
    if isinstance(raw, str):
        raw = raw.encode("ascii")
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, MimeMessage)
    return parsed


def parts(parsed: MimeMessage) -> list[tuple[str, str]]:
    """(content type, decoded content) of each part, line endings normalised."""
    found = []
    for part in parsed.iter_parts():
        assert isinstance(part, MimeMessage)
        content = part.get_content()
        assert isinstance(content, str)
        found.append((part.get_content_type(), content.replace("\r\n", "\n")))
    return found


def capture_requests(client: Any) -> list[dict[str, Any]]:
    """The parameters of each SendEmail call, as boto3 receives them."""
    calls: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        calls.append(dict(params))

    client.meta.events.register("provide-client-params.sesv2.SendEmail", record)
    return calls


# ---------------------------------------------------------------------------
# Sending
# ---------------------------------------------------------------------------


def test_an_unverified_sender_is_rejected_and_the_error_propagates(aws: None) -> None:
    # Given an SES sandbox where the sender is not verified
    client = boto3.client("sesv2", region_name=REGION)
    mailer = Mailer("inconnu@shareentraide.example", client=client)
    # When sending, Then the refusal reaches the caller (its batch is retried), typed
    with pytest.raises(MailRejected) as caught:
        mailer.send(message())
    assert caught.value.code == "MessageRejected"
    assert sent_messages() == []
    # and SES's own text, which names the address, is neither its message nor its cause
    assert "inconnu" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


#: SES's refusal of a sandbox recipient, as the real service words it (tests/fixtures/ses).
SANDBOX_REFUSAL = (
    "Email address is not verified. The following identities failed the check in region "
    "EU-WEST-3: {address}"
)


class RefusingSes:
    """An SES v2 client that refuses every send the way SES does (a botocore ClientError)."""

    def __init__(self, code: str, message: str) -> None:
        self.code, self.message = code, message

    def send_email(self, **params: Any) -> Any:
        address = params["Destination"]["ToAddresses"][0]
        error = {"Code": self.code, "Message": self.message.format(address=address)}
        raise ClientError(
            {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}, "SendEmail"
        )


@pytest.mark.parametrize(
    ("code", "typed"),
    [
        ("MessageRejected", MailRejected),
        ("SendingPausedException", MailRejected),
        ("TooManyRequestsException", MailUnavailable),
        ("InternalFailure", MailUnavailable),
    ],
)
def test_an_ses_refusal_becomes_a_typed_error_without_the_address(
    code: str, typed: type[MailError]
) -> None:
    # Given SES refusing the recipient, naming it as SES does
    mailer = Mailer(SENDER, client=RefusingSes(code, SANDBOX_REFUSAL))
    # When sending
    with pytest.raises(typed) as caught:
        mailer.send(message())
    # Then the error says what SES answered, never whom to, and that nothing was sent
    assert caught.value.code == code
    assert caught.value.unsent
    assert RECIPIENT not in str(caught.value)
    assert RECIPIENT not in "".join(traceback.format_exception(caught.value))


@pytest.mark.parametrize(
    ("failure", "unsent"),
    [
        (EndpointConnectionError(endpoint_url=SES_ENDPOINT), True),  # never reached
        (ConnectTimeoutError(endpoint_url=SES_ENDPOINT), True),
        (ReadTimeoutError(endpoint_url=SES_ENDPOINT), False),  # sent, its answer lost
        (ConnectionClosedError(endpoint_url=SES_ENDPOINT), False),
    ],
)
def test_a_network_failure_is_unavailable_and_says_whether_the_email_may_have_gone(
    failure: Exception, unsent: bool
) -> None:
    # Given SES out of reach, or its answer lost on the way back
    class Network:
        def send_email(self, **params: Any) -> Any:
            raise failure

    # When sending
    with pytest.raises(MailUnavailable, match=type(failure).__name__) as caught:
        Mailer(SENDER, client=Network()).send(message())
    # Then the error says whether the email was surely not sent (the ledger then tries it
    # again after its backoff) or may have gone (left to its claim's lease)
    assert caught.value.unsent is unsent


def test_attachments_turn_the_message_into_mixed_parts(ses: Any) -> None:
    # Given a message with a CSV attached
    csv = Attachment("rapport.csv", "text/csv", b"Indicateur;Valeur\nAnnonces;12\n")
    Mailer(SENDER, client=ses).send(message(attachments=(csv,)))
    # Then SES got multipart/mixed: the two parts first, then the file, named and typed
    [sent] = sent_messages()
    parsed = parse(sent.raw_data)
    assert parsed.get_content_type() == "multipart/mixed"
    body = parsed.get_body(preferencelist=("html", "plain"))
    assert body is not None
    [joined] = list(parsed.iter_attachments())
    assert joined.get_filename() == "rapport.csv"
    assert joined.get_content_type() == "text/csv"
    assert joined.get_content() == "Indicateur;Valeur\nAnnonces;12\n"


def test_send_delivers_one_raw_mime_message_with_both_parts(ses: Any) -> None:
    # Given a verified sender
    mailer = Mailer(SENDER, client=ses)
    # When a message is sent
    message_id = mailer.send(message())
    # Then SES got exactly one raw message, from the sender, to the recipient
    [sent] = sent_messages()
    assert sent.id == message_id
    assert sent.source == SENDER
    assert set(sent.destinations) == {RECIPIENT}
    # And the raw MIME is 7-bit clean, multipart/alternative, text/plain then text/html
    assert sent.raw_data.isascii()
    parsed = parse(sent.raw_data)
    assert parsed.get_content_type() == "multipart/alternative"
    assert parts(parsed) == [("text/plain", TEXT), ("text/html", HTML)]
    for part in parsed.iter_parts():
        assert part.get_content_charset() == "utf-8"
        assert part["MIME-Version"] is None


def test_headers_carry_the_display_name_the_french_subject_a_date_and_an_id(ses: Any) -> None:
    Mailer(SENDER, client=ses).send(message())
    [sent] = sent_messages()
    parsed = parse(sent.raw_data)
    # The subject is encoded for transport, and decodes back to the French original
    raw_subject = next(line for line in sent.raw_data.splitlines() if line.startswith("Subject:"))
    assert "=?utf-8?" in raw_subject
    assert parsed["Subject"] == SUBJECT
    assert parsed["From"].addresses[0].display_name == "ShareEntraide"
    assert parsed["From"].addresses[0].addr_spec == SENDER
    assert [a.addr_spec for a in parsed["To"].addresses] == [RECIPIENT]
    assert parsed["Date"].datetime is not None
    assert re.fullmatch(r"<[^<>@\s]+@shareentraide\.example>", parsed["Message-ID"])
    assert parsed["MIME-Version"] == "1.0"
    assert parsed["Auto-Submitted"] == "auto-generated"


def test_the_tag_is_sent_as_the_ses_message_tag_kind(ses: Any) -> None:
    # moto does not keep EmailTags: the request itself is checked
    requests = capture_requests(ses)
    Mailer(SENDER, client=ses).send(message(tag="decision-approved"))
    [params] = requests
    assert params["EmailTags"] == [{"Name": "kind", "Value": "decision-approved"}]
    assert params["FromEmailAddress"] == SENDER
    assert params["Destination"] == {"ToAddresses": [RECIPIENT]}
    assert set(params["Content"]) == {"Raw"}


def test_an_untagged_message_is_sent_without_tags(ses: Any) -> None:
    requests = capture_requests(ses)
    Mailer(SENDER, client=ses).send(message(tag=""))
    [params] = requests
    assert "EmailTags" not in params


def test_a_line_break_in_the_subject_cannot_add_a_header(ses: Any) -> None:
    # Given a subject built from a commune typed with a line break and a header after it
    Mailer(SENDER, client=ses).send(message(subject="À modérer : Trèbes\r\nBcc: x@evil.example"))
    parsed = parse(sent_messages()[0].raw_data)
    # Then it stays one Subject header; no Bcc reaches the message
    assert parsed["Bcc"] is None
    assert parsed["Subject"] == "À modérer : Trèbes Bcc: x@evil.example"


def test_an_internationalised_recipient_domain_is_sent_in_ascii(ses: Any) -> None:
    Mailer(SENDER, client=ses).send(message(to=("marie@bücher.example",)))
    [sent] = sent_messages()
    assert set(sent.destinations) == {"marie@xn--bcher-kva.example"}


def test_the_client_is_created_on_the_first_send_only(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a verified sender, and boto3.client counted from now on
    real = boto3.client("sesv2", region_name=REGION)
    real.create_email_identity(EmailIdentity=SENDER)
    created: list[tuple[Any, ...]] = []

    def counting_client(*args: Any, **kwargs: Any) -> Any:
        created.append(args)
        return real

    monkeypatch.setattr(boto3, "client", counting_client)
    # When a mailer is built, Then no client exists yet
    mailer = Mailer(SENDER)
    assert created == []
    # When it sends twice, Then one sesv2 client was created, on the first send
    mailer.send(message())
    assert created == [("sesv2",)]
    mailer.send(message())
    assert created == [("sesv2",)]
    assert len(sent_messages()) == 2


def test_importing_the_mail_modules_loads_neither_boto3_nor_jinja2() -> None:
    # A handler that never sends mail pays nothing for it at cold start
    code = (
        "import sys, entraide.adapters.mail, entraide.web.emails; "
        "print(sorted(m for m in ('boto3', 'jinja2') if m in sys.modules))"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


# ---------------------------------------------------------------------------
# Outbox (local stack)
# ---------------------------------------------------------------------------


def test_outbox_keeps_the_exact_bytes_and_the_console_shows_subject_and_links(
    ses: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the local stack's outbox under var/outbox, and a console
    monkeypatch.chdir(tmp_path)
    outbox = tmp_path / "var" / "outbox"
    console = io.StringIO()
    mailer = Mailer(SENDER, client=ses, outbox_dir=outbox, console=console)
    # When a message is sent
    message_id = mailer.send(message())
    # Then one .eml file holds exactly the bytes SES received, both parts kept
    [sent] = sent_messages()
    [eml] = list(outbox.iterdir())
    short_id = message_id.split("-")[1]
    assert re.fullmatch(
        rf"\d{{8}}T\d{{6}}\.\d{{3}}Z-moderation-request-{short_id}\.eml", eml.name
    ), eml.name
    assert eml.read_bytes() == sent.raw_data.encode("ascii")
    assert parts(parse(eml.read_bytes())) == [("text/plain", TEXT), ("text/html", HTML)]
    # And the console names the subject, the count of recipients, the file and the links
    assert console.getvalue().splitlines() == [
        f"✉  {SUBJECT} → 1 destinataire(s)  var/outbox/{eml.name}",
        f"   Approuver: {APPROVE_URL}",
        f"   Refuser: {REJECT_URL}",
    ]


def test_the_console_never_shows_a_recipient_address(
    ses: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    console = io.StringIO()
    others = ("benevole@entraide.example", "coordination@entraide.example")
    mailer = Mailer(SENDER, client=ses, outbox_dir=tmp_path / "outbox", console=console)
    mailer.send(message(to=(RECIPIENT, *others)))
    shown = console.getvalue()
    assert "→ 3 destinataire(s)" in shown
    for address in (RECIPIENT, *others):
        assert address not in shown
    assert "@" not in shown


def test_the_console_masks_a_contact_detail_typed_into_the_subject(
    ses: Any, tmp_path: Path
) -> None:
    console = io.StringIO()
    mailer = Mailer(SENDER, client=ses, outbox_dir=tmp_path, console=console)
    mailer.send(message(subject="À modérer : Trèbes marie@example.org 06 12 34 56 78"))
    shown = console.getvalue()
    assert "marie@example.org" not in shown
    assert "06 12 34 56 78" not in shown
    assert "[masqué]" in shown


def test_the_console_defaults_to_stdout(
    ses: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Mailer(SENDER, client=ses, outbox_dir=tmp_path).send(message())
    out = capsys.readouterr().out
    assert f"✉  {SUBJECT} → 1 destinataire(s)" in out
    assert f"   Approuver: {APPROVE_URL}" in out


def test_without_outbox_nothing_is_written_nor_printed(
    ses: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given production: no outbox
    monkeypatch.chdir(tmp_path)
    console = io.StringIO()
    Mailer(SENDER, client=ses, console=console).send(message())
    # Then the message is sent, and no file and no console line exist
    assert len(sent_messages()) == 1
    assert list(tmp_path.rglob("*")) == []
    assert console.getvalue() == ""
    assert "✉" not in capsys.readouterr().out


def test_a_failed_send_writes_no_outbox_copy(aws: None, tmp_path: Path) -> None:
    client = boto3.client("sesv2", region_name=REGION)  # sender not verified
    console = io.StringIO()
    mailer = Mailer(SENDER, client=client, outbox_dir=tmp_path, console=console)
    with pytest.raises(MailRejected):
        mailer.send(message())
    assert list(tmp_path.iterdir()) == []
    assert console.getvalue() == ""


class RecordingLogger:
    def __init__(self) -> None:
        self.records: list[tuple[str, str, dict[str, Any]]] = []

    def info(self, msg: str, **kwargs: Any) -> None:
        self.records.append(("info", msg, kwargs))

    def warning(self, msg: str, **kwargs: Any) -> None:
        self.records.append(("warning", msg, kwargs))


def test_an_outbox_failure_does_not_hide_a_successful_send(
    ses: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an outbox path that cannot be a folder (a file is in the way)
    blocker = tmp_path / "outbox"
    blocker.write_text("not a folder")
    recorder = RecordingLogger()
    monkeypatch.setattr(mail, "logger", recorder)
    console = io.StringIO()
    mailer = Mailer(SENDER, client=ses, outbox_dir=blocker, console=console)
    # When sending, Then the message id comes back and SES has the message
    message_id = mailer.send(message())
    assert [m.id for m in sent_messages()] == [message_id]
    # And a warning was logged, naming the message but never an address
    warnings = [r for r in recorder.records if r[0] == "warning"]
    assert len(warnings) == 1
    assert warnings[0][2]["extra"] == {"tag": "moderation-request", "message_id": message_id}
    assert RECIPIENT not in repr(recorder.records)
    assert console.getvalue() == ""


def test_an_outbox_write_leaves_no_temporary_file(ses: Any, tmp_path: Path) -> None:
    mailer = Mailer(SENDER, client=ses, outbox_dir=tmp_path, console=io.StringIO())
    mailer.send(message())
    mailer.send(message(tag="awaiting-moderation"))
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 2
    assert all(name.endswith(".eml") and not name.startswith(".") for name in names)
    assert sum("-awaiting-moderation-" in name for name in names) == 1


# ---------------------------------------------------------------------------
# The message and the mailer refuse what cannot be sent
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("to", [(), "moderation@entraide.example"])
def test_a_message_needs_a_tuple_of_recipients(to: Any) -> None:
    with pytest.raises(ValueError, match="recipient"):
        message(to=to)


@pytest.mark.parametrize("tag", ["with space", "../../etc", "é"])
def test_a_tag_is_letters_digits_dashes(tag: str) -> None:
    with pytest.raises(ValueError, match="tag"):
        message(tag=tag)


def test_a_sender_needs_an_address() -> None:
    with pytest.raises(ValueError, match="sender"):
        Mailer("ShareEntraide")


def test_a_sender_with_its_own_display_name_keeps_it() -> None:
    mailer = Mailer(f"Équipe ShareEntraide <{SENDER}>")
    parsed = parse(mailer.build_mime(message()))
    assert parsed["From"].addresses[0].display_name == "Équipe ShareEntraide"
    assert parsed["From"].addresses[0].addr_spec == SENDER
