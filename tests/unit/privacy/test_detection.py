"""Contact details are found in free text and masked in log lines."""

from __future__ import annotations

import io
import json
import logging

from hypothesis import given
from hypothesis import strategies as st

from entraide.privacy.detection import REDACTED, contains_contact, redact_contact

EMAILS = st.emails()
FRENCH_PHONES = st.builds(
    lambda first, rest, sep: "0" + str(first) + "".join(sep + f"{n:02d}" for n in rest),
    st.integers(1, 9),
    st.lists(st.integers(0, 99), min_size=4, max_size=4),
    st.sampled_from(["", " ", ".", "-"]),
)
SAFE_TEXT = st.text(alphabet=st.characters(categories=["L", "Zs"]), max_size=40)


@given(before=SAFE_TEXT, email=EMAILS, phone=FRENCH_PHONES, after=SAFE_TEXT)
def test_emails_and_phones_never_survive_redaction(
    before: str, email: str, phone: str, after: str
) -> None:
    text = f"{before} {email} {after} {phone} {after}"
    redacted = redact_contact(text)
    assert email not in redacted
    assert phone not in redacted
    assert not contains_contact(redacted)


def test_dates_postcodes_and_ids_are_left_alone() -> None:
    text = "2026-11-26 11:26:27 post 01M8BSMHBGJTQCRK0BFB3198QB in 11000, epoch 1764158787"
    assert redact_contact(text) == text


def test_international_numbers_are_masked() -> None:
    assert redact_contact("call +44 20 7946 0958 now") == f"call {REDACTED} now"


def test_logger_masks_contact_in_message_arguments_and_extras() -> None:
    from entraide.observability import logger

    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        logger.info("from %s", "jean@example.org", extra={"phone": "06 12 34 56 78"})
    finally:
        handler.setStream(previous)
    line = stream.getvalue()
    assert "jean@example.org" not in line
    assert "06 12 34 56 78" not in line
    assert json.loads(line)["message"] == f"from {REDACTED}"
