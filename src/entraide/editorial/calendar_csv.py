"""A calendar file, as a spreadsheet writes it, read into editorial items — or refused whole.

Columns ``date`` (``2026-12-07 09:30``, Paris time), ``texte``, ``lien``, ``canaux`` (empty:
every channel; several separated by spaces, ``,``, ``;``, ``+`` or ``|``), ``theme``,
``auteur``; UTF-8 (with or without the byte-order mark a spreadsheet adds), ``,`` or ``;``
between fields. Every row is checked, and every error reported with its line, in French,
before anything is stored: a file with one bad row stores nothing.

Each text is checked against the rule of each channel it goes to, *with* its link (the
longest form it may take: :func:`entraide.publishing.tweets.editorial_tweet`), so that a
text that fits at import fits at publication. A text with an e-mail address or a phone
number is refused: no contact detail ever reaches a network.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from entraide.editorial.calendar import FROM_CALENDAR, EditorialItem, paris
from entraide.kernel.errors import DomainError
from entraide.privacy.detection import contains_contact
from entraide.publishing.text_rules import TextRule
from entraide.publishing.tweets import editorial_tweet

COLUMNS: Final = ("date", "texte", "lien", "canaux", "theme", "auteur")
DATE_FORMAT: Final = "%Y-%m-%d %H:%M"
#: A calendar is a few hundred rows; a file larger than this is not a calendar.
MAX_BYTES: Final = 1_000_000
_CHANNEL_SEPARATORS: Final = str.maketrans({",": " ", ";": " ", "+": " ", "|": " "})
CHANNEL_NAMES: Final = {"x": "X", "bluesky": "Bluesky", "mastodon": "Mastodon"}


class CalendarRefused(DomainError):
    """The file is refused whole; ``errors`` has one French line per problem."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("Calendrier refusé, rien n'a été enregistré :\n" + "\n".join(errors))
        self.errors = tuple(errors)


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    fields: Mapping[str, str]


def item_id(at: datetime, text: str, link: str) -> str:
    """The same row imported twice is the same item (its moment, text and link)."""
    digest = hashlib.sha256(f"{at.isoformat()}\x1f{text}\x1f{link}".encode()).hexdigest()
    return f"cal-{digest[:20]}"


def _rows(data: bytes) -> list[Row]:
    if len(data) > MAX_BYTES:
        raise CalendarRefused([f"fichier trop gros ({len(data)} octets, au plus {MAX_BYTES})."])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CalendarRefused(
            [f"le fichier n'est pas en UTF-8 (octet {exc.start + 1}) : enregistrez-le en UTF-8."]
        ) from exc
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [name.strip().lower() for name in reader.fieldnames or ()]
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        wanted = ", ".join(COLUMNS)
        raise CalendarRefused(
            [f"ligne 1 : colonnes manquantes : {', '.join(missing)} (attendu : {wanted})."]
        )
    reader.fieldnames = header
    rows: list[Row] = []
    end = reader.line_num
    for raw in reader:
        # the row's first line (a quoted text may span several)
        line, end = end + 1, reader.line_num
        if not any((value or "").strip() for key, value in raw.items() if key is not None):
            continue  # a blank line a spreadsheet leaves at the end
        fields = {column: (raw.get(column) or "").strip() for column in COLUMNS}
        rows.append(Row(line, fields))
    return rows


def parse_paris(text: str) -> datetime:
    """``2026-12-07 09:30`` in Paris time, as UTC."""
    local = datetime.strptime(text, DATE_FORMAT).replace(tzinfo=paris())
    # A Paris time that does not exist (the spring change) or exists twice is refused
    # rather than guessed.
    if (
        local.astimezone(UTC).astimezone(paris()).replace(tzinfo=None) != local.replace(tzinfo=None)
        or local.replace(fold=1).utcoffset() != local.utcoffset()
    ):
        raise ValueError("ambiguous")
    return local.astimezone(UTC)


def _channels(text: str, rules: Mapping[str, TextRule]) -> tuple[tuple[str, ...], list[str]]:
    names = [name.lower() for name in text.translate(_CHANNEL_SEPARATORS).split()]
    unknown = [name for name in names if name not in rules]
    chosen = tuple(name for name in rules if not names or name in names)
    return chosen, unknown


def read_calendar(data: bytes, rules: Mapping[str, TextRule]) -> list[EditorialItem]:
    """Every row as an item, or :class:`CalendarRefused` with every error of the file.

    ``rules``: each enabled channel's text rule, in the channels' order.
    """
    errors: list[str] = []
    items: list[EditorialItem] = []
    seen: dict[str, int] = {}
    for row in _rows(data):
        problems: list[str] = []
        fields = row.fields
        at: datetime | None = None
        try:
            at = parse_paris(fields["date"])
        except ValueError:
            problems.append(
                f"date « {fields['date']} » invalide (attendu AAAA-MM-JJ HH:MM, heure de Paris)"
            )
        text, link = fields["texte"], fields["lien"]
        if not text:
            problems.append("texte vide")
        if link and not link.startswith(("https://", "http://")):
            problems.append(f"lien « {link} » invalide (attendu https://…)")
        if contains_contact(text):
            problems.append("le texte contient une adresse e-mail ou un numéro de téléphone")
        channels, unknown = _channels(fields["canaux"], rules)
        if unknown:
            problems.append(f"canal inconnu : {', '.join(unknown)} (canaux : {', '.join(rules)})")
        if text and not problems:
            for channel in channels:
                try:
                    editorial_tweet(text, link, rule=rules[channel])
                except ValueError:
                    name = CHANNEL_NAMES.get(channel, channel)
                    problems.append(
                        f"texte trop long pour {name} ({rules[channel].describe}, lien compris)"
                    )
        if at is not None and not problems:
            key = item_id(at, text, link)
            if key in seen:
                problems.append(f"doublon de la ligne {seen[key]}")
            else:
                seen[key] = row.line
                items.append(
                    EditorialItem(
                        id=key,
                        text=text,
                        link=link,
                        channels=channels,
                        at=at,
                        theme=fields["theme"],
                        author=fields["auteur"],
                        origin=FROM_CALENDAR,
                    )
                )
        errors.extend(f"ligne {row.line} : {problem}." for problem in problems)
    if errors:
        raise CalendarRefused(errors)
    if not items:
        raise CalendarRefused(["le fichier ne contient aucune ligne."])
    return items
