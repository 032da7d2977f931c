"""Contact details (email addresses, phone numbers) and links found in free text.

One definition serves every place that must keep them private or out of public text:
log lines, the pre-screen of posts, tweets, reports, and every public view of a post
(:func:`mask_public_text`: whatever a moderator decided, a title or a description never
shows an address, a number or a link in public).
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


# Top-level domains recognised without "http://" or "www." ("exemple.fr/truc"): the
# common generic ones, France and its overseas territories, neighbours, shorteners. A
# short list on purpose, so that "3.5 km", "M. Dupont" or "11000" are no links; and the
# top-level domain must be lower case (or the whole name upper case), so that a missing
# space after a full stop ("à Narbonne.Fr…") is no link either.
_BARE_TLDS = (
    *("fr", "com", "org", "net", "eu", "info", "io", "be", "ch", "lu", "uk", "bzh", "paris"),
    *("alsace", "corsica", "gp", "mq", "gf", "yt", "pm", "nc", "pf", "wf", "app", "dev"),
    *("xyz", "shop", "biz", "ly", "gl", "tv", "gg"),
)
# Top-level domains that are also French words or abbreviations ("inondée.de plus",
# "merci.ca va", "chez.me"): a link only when a path follows ("clicanoo.re/article").
_BARE_TLDS_WITH_PATH = ("re", "de", "es", "it", "us", "me", "co", "to", "ca", "site", "link")

_URL = re.compile(
    r"\bhttps?://(?:[^\s/?#@<>\"«»]*@)?(?P<host>[^\s/?#:<>\"'«»]+)[^\s<>\"«»]*",
    re.IGNORECASE,
)
# What may follow a bare domain and still belong to the link: a path, a query.
_PATH = re.compile(r"(?:[/?#][^\s<>\"«»]*)?")
_SENTENCE_END = ".,;:!?)»"
_BARE_LINK = re.compile(
    r"(?<![\w.@/-])(?:"
    r"(?P<www>www\.[\w-]+(?:\.[\w-]+)+)"
    r"|(?P<bare>(?:[\w-]+\.)+(?P<tld>" + "|".join(_BARE_TLDS) + r"))(?![\w-])"
    r"|(?P<pathed>(?:[\w-]+\.)+(?P<ptld>" + "|".join(_BARE_TLDS_WITH_PATH) + r"))/(?=\w)"
    r")",
    re.IGNORECASE,
)


def _trimmed(text: str, floor: int, end: int) -> int:
    """``end`` moved back over the punctuation that ends a sentence ("voir exemple.fr/a.")."""
    while end > floor and text[end - 1] in _SENTENCE_END:
        end -= 1
    return end


def _link_spans(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, domain)`` of every link in ``text``, in order of appearance."""
    found: list[tuple[int, int, str]] = []
    for match in _URL.finditer(text):
        found.append((match.start(), _trimmed(text, match.end("host"), match.end()), match["host"]))
    # Blank out the URLs, then the email addresses ("jean@exemple.fr" is no link).
    rest = _URL.sub(lambda match: " " * len(match[0]), text)
    rest = EMAIL_PATTERN.sub(lambda match: " " * len(match[0]), rest)
    for match in _BARE_LINK.finditer(rest):
        domain = match["www"] or match["bare"] or match["pathed"]
        tld = match["tld"] or match["ptld"]
        if tld is not None:
            labels = domain.split(".")
            if not (tld.islower() or domain.isupper()):
                continue  # "Narbonne.Fr…": a missing space after a full stop
            if len(labels[-2]) < 2 or not any(ch.isalpha() for ch in "".join(labels[:-1])):
                continue  # "a.fr", "12.com": punctuation between words or numbers
        # the path after a bare domain ("clicanoo.re/article/123") belongs to the link
        path_start = match.end() - 1 if rest[match.end() - 1] == "/" else match.end()
        path = _PATH.match(rest, path_start)
        end = _trimmed(rest, match.end(), path.end() if path else match.end())
        found.append((match.start(), end, domain))
    return sorted(found)


def link_domains(text: str) -> list[str]:
    """The domains of the links in ``text``, lower-cased, in order of appearance."""
    domains = (domain.rstrip(".-").lower() for _, _, domain in _link_spans(text))
    return [domain for domain in domains if domain]


def mask_public_text(text: str) -> str:
    """``text`` as the public may read it: email addresses, phone numbers and links masked.

    Line breaks and everything else are kept (a description stays a description); each
    address, number or link becomes :data:`REDACTED`.
    """
    spans = _link_spans(text)
    if spans:
        pieces: list[str] = []
        position = 0
        for start, end, _ in spans:
            if start < position:  # overlapping finds: the first one covers it
                continue
            pieces += [text[position:start], REDACTED]
            position = end
        text = "".join([*pieces, text[position:]])
    return redact_contact(text)
