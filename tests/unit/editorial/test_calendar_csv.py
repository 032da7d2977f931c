"""The calendar file: read as a spreadsheet writes it, or refused whole with every error."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from entraide.editorial.calendar_csv import CalendarRefused, read_calendar
from entraide.publishing.text_rules import BLUESKY_RULE, X_RULE, mastodon_rule

RULES = {"x": X_RULE, "bluesky": BLUESKY_RULE, "mastodon": mastodon_rule(500)}
SAMPLE = Path(__file__).parents[2] / "fixtures" / "editorial" / "HANDMADE_calendrier.csv"
HEADER = "date,texte,lien,canaux,theme,auteur\n"


def refused(data: bytes) -> list[str]:
    with pytest.raises(CalendarRefused) as caught:
        read_calendar(data, RULES)
    return list(caught.value.errors)


def test_a_semicolon_file_with_a_byte_order_mark_reads_in_paris_time() -> None:
    # Given the sample calendar, saved by a spreadsheet with a BOM and ";"
    data = b"\xef\xbb\xbf" + SAMPLE.read_bytes()
    # When it is read
    items = read_calendar(data, RULES)
    # Then every row is an item, its Paris time in UTC (winter: UTC+1), its channels
    assert [item.at for item in items] == [
        datetime(2026, 12, 7, 8, 30, tzinfo=UTC),
        datetime(2026, 12, 7, 13, 0, tzinfo=UTC),
        datetime(2026, 12, 8, 9, 15, tzinfo=UTC),
    ]
    assert [item.channels for item in items] == [
        ("x", "bluesky", "mastodon"),
        ("x", "bluesky"),
        ("mastodon",),
    ]
    assert items[0].link == "https://blog.shareentraide.fr/sac-urgence/"
    assert (items[1].theme, items[1].author) == ("témoignage", "Marc")


def test_a_comma_file_with_quoted_channels_and_a_summer_date() -> None:
    # Given a comma-separated row whose channels are quoted, in summer time
    data = (HEADER + '2027-07-01 08:00,Bonjour,,"x, mastodon",vie du site,Ana\n').encode()
    # When it is read
    [item] = read_calendar(data, RULES)
    # Then Paris is UTC+2 and both channels are kept
    assert item.at == datetime(2027, 7, 1, 6, 0, tzinfo=UTC)
    assert item.channels == ("x", "mastodon")


def test_every_bad_row_is_reported_with_its_line_and_the_file_refused_whole() -> None:
    # Given a file with a good row, a bad date, an unknown channel, a text too long for X
    # but not for Mastodon, a duplicate row and a text with a phone number
    long_text = "Prévention " * 30
    data = (
        HEADER
        + "2026-12-07 09:30,Bon texte,,,t,a\n"
        + "2026-13-07 09:30,Mauvaise date,,,t,a\n"
        + "2026-12-07 10:30,Canal inconnu,,facebook,t,a\n"
        + f"2026-12-07 11:30,{long_text},,x mastodon,t,a\n"
        + "2026-12-07 09:30,Bon texte,,,t,a\n"
        + "2026-12-07 12:30,Appelez le 06 12 34 56 78,,,t,a\n"
    ).encode()
    # When it is read
    errors = refused(data)
    # Then each bad row has its French message with its line, and no item comes out
    assert errors == [
        "ligne 3 : date « 2026-13-07 09:30 » invalide (attendu AAAA-MM-JJ HH:MM, heure de Paris).",
        "ligne 4 : canal inconnu : facebook (canaux : x, bluesky, mastodon).",
        "ligne 5 : texte trop long pour X (280 weighted characters (twitter-text), lien compris).",
        "ligne 6 : doublon de la ligne 2.",
        "ligne 7 : le texte contient une adresse e-mail ou un numéro de téléphone.",
    ]


def test_a_link_that_makes_the_text_too_long_for_bluesky_is_refused() -> None:
    # Given a text that fits alone on Bluesky but not with its long link
    text = "a" * 280
    link = "https://blog.shareentraide.fr/" + "b" * 40
    data = f"{HEADER}2026-12-07 09:30,{text},{link},bluesky,t,a\n".encode()
    # Then the row is refused for Bluesky
    assert refused(data) == [
        "ligne 2 : texte trop long pour Bluesky (300 graphemes, 3,000 bytes, lien compris)."
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"date,texte\n2026-12-07 09:30,x\n", "ligne 1 : colonnes manquantes : lien"),
        (HEADER.encode() + "2026-12-07 09:30,é,,,t,a\n".encode("latin-1"), "pas en UTF-8"),
        (HEADER.encode(), "aucune ligne"),
        (HEADER.encode() + b"2026-03-29 02:30,Heure qui n'existe pas,,,t,a\n", "invalide"),
        (HEADER.encode() + b"2026-12-07 09:30,Lien,ftp://x.fr,,t,a\n", "lien « ftp://x.fr »"),
    ],
)
def test_a_file_that_is_not_a_calendar_is_refused(data: bytes, message: str) -> None:
    # Given a file without the columns, not in UTF-8, empty, with a Paris time that does
    # not exist, or a link that is no web address: Then it is refused with its reason
    [error] = refused(data)
    assert message in error
