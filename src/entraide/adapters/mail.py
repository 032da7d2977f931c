"""Sending email through Amazon SES v2, with an *outbox* copy for the local stack.

The adapter builds a real MIME message (multipart/alternative: a text/plain part,
then a text/html part, both UTF-8 and quoted-printable so that the message is
7-bit clean) and sends it as *Raw* content, so that SES delivers exactly the
bytes built here.

When ``outbox_dir`` is given (the local stack does so, production never), every
sent message is also written there as an ``.eml`` file, and a short line naming
the file and the message's links is printed, so that a developer can click a
moderation link from the console. Recipient addresses are never printed nor
logged: only their count.

boto3 is imported, and the ``sesv2`` client created, on the first send only.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from entraide.adapters.aws import AwsClient
from entraide.observability import logger
from entraide.privacy.detection import redact_contact

if TYPE_CHECKING:
    from email.message import EmailMessage as MimeMessage

__all__ = [
    "SENDER_NAME",
    "Attachment",
    "ContactEmail",
    "ContactMailer",
    "EmailMessage",
    "MailError",
    "MailRejected",
    "MailUnavailable",
    "Mailer",
    "Sender",
    "reply_to_line",
]

#: The display name of every message's From header.
SENDER_NAME = "ShareEntraide"

# SES message tag values: letters, digits, "_" and "-" (also a safe file-name part).
_TAG_PATTERN = re.compile(r"[A-Za-z0-9_-]{0,64}")


#: SES v2 takes a message of 40 MB at most, attachments included, after base64 encoding
#: ("Service quotas in Amazon SES", message quotas): a monthly report is a few hundred KB.
MAX_MESSAGE_BYTES = 40 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file joined to an email (``text/csv``...)."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class EmailMessage:
    """One email, ready to send: recipients, subject and both parts, and attachments.

    ``links`` are the (label, url) pairs worth printing on a developer console;
    ``tag`` says what the mail is ("moderation-request"): it becomes the SES
    message tag ``kind`` and a part of the outbox file name.
    """

    to: tuple[str, ...]
    subject: str
    text: str
    html: str
    links: tuple[tuple[str, str], ...] = ()
    tag: str = ""
    attachments: tuple[Attachment, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.to, str) or not self.to:
            raise ValueError("An email needs a tuple of one recipient or more.")
        if not _TAG_PATTERN.fullmatch(self.tag):
            raise ValueError(f"Invalid email tag {self.tag!r}: letters, digits, '_' and '-'.")


def _one_line(text: str) -> str:
    """Header-safe: no line break can reach a header (no header injection)."""
    return " ".join(text.split())


def _ascii_domain(address: str) -> str:
    """``marie@bücher.fr`` -> ``marie@xn--bcher-kva.fr``: SES wants ASCII domains."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        raise ValueError("Invalid email address.")  # the address itself is not repeated
    if domain.isascii():
        return address.strip()
    return f"{local}@{domain.encode('idna').decode('ascii')}"


def _short_id(message_id: str) -> str:
    """A short, file-name-safe part of the SES MessageId.

    SES ids look like ``0100018c1a2b3c4d-5e6f7a8b-...-000000``: the first group is
    mostly a clock, so the second (random) group is the distinctive one.
    """
    groups = [g for g in re.split(r"[^A-Za-z0-9]+", message_id) if g]
    if len(groups) >= 2:
        return groups[1][:12]
    return (groups[0] if groups else "sans-id")[:12]


# -- SES's refusals, without the address they name -------------------------------------

#: SendEmail (SES v2) errors that the same message meets again ("Errors" of SendEmail in
#: the SES API v2 reference): sandbox recipients and unverified senders (MessageRejected:
#: "Email address is not verified. The following identities failed the check in region
#: …: <addresses>"), a paused or suspended account, a bad request. Others (throttling,
#: TooManyRequestsException, LimitExceededException, 5xx, the network) may pass later.
PERMANENT_SES_ERRORS = frozenset(
    {
        "MessageRejected",
        "MailFromDomainNotVerifiedException",
        "AccountSuspendedException",
        "SendingPausedException",
        "NotFoundException",
        "BadRequestException",
    }
)


class MailError(Exception):
    """SES did not take an email. The text names SES's error code, never an address:
    SES's own message names the refused recipients, and would reach logs and errors.

    ``unsent``: SES answered with this error, or was never reached, so the email was not
    sent and may be sent again at once; False when the answer was lost on the way back (a
    read timeout, a connection cut after sending): it may have gone."""

    def __init__(self, code: str, *, unsent: bool = True) -> None:
        super().__init__(f"SES did not send the email ({code}).")
        self.code = code
        self.unsent = unsent


class MailRejected(MailError):
    """Refused for good: sending the same message again fails the same way."""


class MailUnavailable(MailError):
    """Not sent this time (throttled, SES or the network down): it may pass later."""


def _mail_error(error: Exception) -> MailError | None:
    """The typed error for what the SES client raised; None for anything else."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
    )

    if isinstance(error, ClientError):  # SES answered: nothing was sent
        code = str(error.response.get("Error", {}).get("Code") or "ClientError")
        return (MailRejected if code in PERMANENT_SES_ERRORS else MailUnavailable)(code)
    if isinstance(error, BotoCoreError):  # timeouts, connection errors
        never_reached = isinstance(error, EndpointConnectionError | ConnectTimeoutError)
        return MailUnavailable(type(error).__name__, unsent=never_reached)
    return None


class Sender(Protocol):
    """What sends an email: a :class:`Mailer`, or a test double."""

    def send(self, message: EmailMessage) -> str: ...


class Mailer(AwsClient):
    """Sends :class:`EmailMessage` through SES v2 from ``sender``.

    ``sender`` is an address ("alertes@shareentraide.fr"), optionally with its own
    display name; without one, the From header shows "ShareEntraide". The boto3
    ``sesv2`` client is created on first use.
    """

    service = "sesv2"

    def __init__(
        self,
        sender: str,
        *,
        client: Any | None = None,
        outbox_dir: Path | None = None,
        console: TextIO | None = None,
    ) -> None:
        name, address = parseaddr(sender)
        if "@" not in address:
            raise ValueError(f"Invalid sender address {sender!r}.")
        self.sender_address = _ascii_domain(address)
        self.sender_name = name or SENDER_NAME
        super().__init__(client)
        self.outbox_dir = Path(outbox_dir) if outbox_dir is not None else None
        self._console = console

    def build_mime(self, message: EmailMessage, *, now: datetime | None = None) -> bytes:
        """The exact bytes sent: headers, a text/plain part, then a text/html part."""
        from email.headerregistry import Address

        moment = (now or datetime.now(UTC)).astimezone(UTC)
        domain = self.sender_address.rpartition("@")[2]
        mime = _smtp_message()
        mime["From"] = Address(display_name=self.sender_name, addr_spec=self.sender_address)
        mime["To"] = ", ".join(_ascii_domain(address) for address in message.to)
        mime["Subject"] = _one_line(message.subject)
        mime["Date"] = format_datetime(moment)
        mime["Message-ID"] = make_msgid(domain=domain)
        # An automatic message: out-of-office robots must not answer it (RFC 3834).
        mime["Auto-Submitted"] = "auto-generated"
        mime["MIME-Version"] = "1.0"
        mime.make_alternative()
        # The last part is the preferred one: text/plain first, then text/html.
        for subtype, body in (("plain", message.text), ("html", message.html)):
            part = _smtp_message()
            # Quoted-printable keeps the message 7-bit clean, as SES asks of raw mail.
            part.set_content(body, subtype=subtype, charset="utf-8", cte="quoted-printable")
            del part["MIME-Version"]  # a top-level header only
            mime.attach(part)
        for attachment in message.attachments:
            # the first one turns the message into multipart/mixed around the two parts
            maintype, _, subtype = attachment.content_type.partition("/")
            mime.add_attachment(
                attachment.data,
                maintype=maintype,
                subtype=subtype,
                filename=attachment.filename,
                params={"charset": "utf-8"} if maintype == "text" else {},
            )
            *_, joined = mime.iter_attachments()
            del joined["MIME-Version"]  # a top-level header only
        mime["Content-Language"] = "fr"
        data = mime.as_bytes()
        if len(data) > MAX_MESSAGE_BYTES:
            raise ValueError(f"An email of {len(data)} bytes is over SES's 40 MB.")
        return data

    def send(self, message: EmailMessage) -> str:
        """Send ``message``; return the SES MessageId.

        SES errors are raised as :class:`MailRejected` or :class:`MailUnavailable`,
        without SES's text (which names the recipients) and without chaining it: the
        caller's batch is retried, and nothing of the address reaches a log or an error.
        With an outbox, a failure to write the copy is logged and does not hide the send.
        """
        data = self.build_mime(message)
        params: dict[str, Any] = {
            "FromEmailAddress": self.sender_address,
            "Destination": {"ToAddresses": [_ascii_domain(a) for a in message.to]},
            "Content": {"Raw": {"Data": data}},
        }
        if message.tag:
            params["EmailTags"] = [{"Name": "kind", "Value": message.tag}]
        try:
            response = self.client.send_email(**params)
        except Exception as error:
            typed = _mail_error(error)
            if typed is None:
                raise
        else:
            typed = None
        if typed is not None:
            raise typed  # outside the except clause: SES's error is not even its context
        message_id = str(response["MessageId"])
        logger.info(
            "Email sent",
            extra={"tag": message.tag, "message_id": message_id, "recipients": len(message.to)},
        )
        if self.outbox_dir is not None:
            try:
                path = self._write_outbox(self.outbox_dir, data, message, message_id)
                self._announce(message, path)
            except Exception:
                logger.warning(
                    "Email sent but its outbox copy failed",
                    extra={"tag": message.tag, "message_id": message_id},
                    exc_info=True,
                )
        return message_id

    @staticmethod
    def _write_outbox(outbox: Path, data: bytes, message: EmailMessage, message_id: str) -> Path:
        outbox.mkdir(parents=True, exist_ok=True)
        now = datetime.now(UTC)
        stamp = f"{now:%Y%m%dT%H%M%S}.{now.microsecond // 1000:03d}Z"  # sorts in sending order
        target = outbox / f"{stamp}-{message.tag or 'mail'}-{_short_id(message_id)}.eml"
        # Temp file in the same folder, then rename: a reader never sees half a file.
        import tempfile

        fd, temp_name = tempfile.mkstemp(dir=outbox, prefix=".", suffix=".eml.tmp")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            os.replace(temp_name, target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        return target

    def _announce(self, message: EmailMessage, path: Path) -> None:
        console = self._console if self._console is not None else sys.stdout
        try:
            shown: Path | str = path.resolve().relative_to(Path.cwd().resolve())
        except ValueError:
            shown = path
        count = len(message.to)
        # The subject quotes a commune typed by a person: mask any contact detail.
        subject = redact_contact(_one_line(message.subject))
        lines = [f"✉  {subject} → {count} destinataire(s)  {shown}"]
        lines += [f"   {_one_line(label)}: {_one_line(url)}" for label, url in message.links]
        console.write("\n".join(lines) + "\n")
        console.flush()


# -- Reply-To: a contact message the sender agreed to answer directly -------------------


@dataclass(frozen=True, slots=True)
class ContactEmail(EmailMessage):
    """An email with an optional ``Reply-To`` (an address the sender agreed to share)."""

    reply_to: str = ""


def _smtp_message() -> MimeMessage:
    """An empty MIME message with SMTP's line endings. The ``email`` package's MIME
    machinery is imported on the first message, not at cold start."""
    from email import policy
    from email.message import EmailMessage as MimeMessage

    return MimeMessage(policy=policy.SMTP)


def reply_to_line(address: str) -> bytes | None:
    """``Reply-To: <address>`` as header bytes, or None if the address cannot be one."""
    if any(char in address for char in "\r\n"):
        return None
    from email.headerregistry import Address

    try:
        header = _smtp_message()
        header["Reply-To"] = Address(addr_spec=_ascii_domain(address))
        line = header.as_bytes().partition(b"\r\n\r\n")[0]
    except (ValueError, TypeError):  # header defects too: a local part SMTP cannot carry
        return None
    return line if line.startswith(b"Reply-To: ") else None


class ContactMailer(Mailer):
    """A :class:`Mailer` that writes the ``Reply-To`` of a :class:`ContactEmail`.

    (Until :class:`EmailMessage` has a ``reply_to`` of its own.)
    """

    writes_reply_to = True

    def build_mime(self, message: EmailMessage, *, now: datetime | None = None) -> bytes:
        data = super().build_mime(message, now=now)
        if not isinstance(message, ContactEmail) or not message.reply_to:
            return data
        line = reply_to_line(message.reply_to)
        if line is None:
            raise ValueError("The Reply-To address cannot be written in a header.")
        head, separator, body = data.partition(b"\r\n\r\n")
        return head + b"\r\n" + line + separator + body
