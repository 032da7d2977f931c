"""Contact details (email addresses, phone numbers) found in free text.

One definition serves every place that must keep them private: log lines, and
later the pre-screen of posts, tweets and reports.
"""

from __future__ import annotations

import re

# Local part: every character RFC 5322 allows unquoted.
EMAIL_PATTERN = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
# French numbers (0X XX XX XX XX, +33 / 0033 forms, any of " .-" between pairs) and
# international numbers written with a leading "+". Dates and epoch seconds do not match.
PHONE_PATTERN = re.compile(
    r"(?<![\w+])(?:"
    r"(?:(?:\+|00)33[ .-]?(?:\(0\)[ .-]?)?[1-9]|0[1-9])(?:[ .-]?\d{2}){4}"
    r"|\+\d{1,3}(?:[ .-]?\d){6,14}"
    r")(?!\w)"
)
REDACTED = "[masqué]"


def redact_contact(text: str) -> str:
    """``text`` with every email address and phone number replaced by a marker."""
    return PHONE_PATTERN.sub(REDACTED, EMAIL_PATTERN.sub(REDACTED, text))


def contains_contact(text: str) -> bool:
    return bool(EMAIL_PATTERN.search(text) or PHONE_PATTERN.search(text))
