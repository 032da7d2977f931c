"""``entraide editorial``: import, list, move and cancel against the table."""

from __future__ import annotations

from pathlib import Path

import pytest

from entraide.adapters.table import Table
from entraide.cli import main as entraide
from entraide.editorial.calendar import ItemState
from entraide.editorial.calendar_store import EditorialStore

SAMPLE = Path(__file__).parents[2] / "fixtures" / "editorial" / "HANDMADE_calendrier.csv"


def editorial(table: Table, *args: str) -> int:
    return entraide(["editorial", "--table", table.table_name, *args])


def test_import_list_move_and_cancel(table: Table, capsys: pytest.CaptureFixture[str]) -> None:
    # Given the sample calendar imported, then imported again
    assert editorial(table, "import", str(SAMPLE)) == 0
    assert "3 élément(s) ajouté(s) au calendrier, 0 déjà là." in capsys.readouterr().out
    assert editorial(table, "import", str(SAMPLE)) == 0
    assert "0 élément(s) ajouté(s) au calendrier, 3 déjà là." in capsys.readouterr().out
    store = EditorialStore(table)
    first, second, third = store.in_state(ItemState.PLANNED)
    # When one is moved and another cancelled
    assert editorial(table, "move", first.id, "2026-12-09 10:00") == 0
    assert editorial(table, "cancel", second.id) == 0
    # Then the list shows the moved one at its new Paris time and not the cancelled one
    capsys.readouterr()
    assert editorial(table, "list") == 0
    out = capsys.readouterr().out
    assert f"{first.id}  2026-12-09 10:00  planned" in out
    assert second.id not in out
    assert third.id in out
    # and a cancelled item cannot be moved back: a French refusal, nothing changed
    assert editorial(table, "move", second.id, "2026-12-10 10:00") == 1
    assert "n'est plus prévu (état : cancelled)" in capsys.readouterr().err


def test_a_bad_file_stores_nothing_and_prints_every_error(
    table: Table, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a file with one good row and one with an unknown channel
    bad = tmp_path / "calendrier.csv"
    bad.write_text(
        "date;texte;lien;canaux;theme;auteur\n"
        "2026-12-07 09:30;Bon;;;t;a\n"
        "2026-12-07 10:30;Mauvais;;tiktok;t;a\n",
        encoding="utf-8",
    )
    # When it is imported
    assert editorial(table, "import", str(bad)) == 1
    # Then the error is printed with its line, and nothing is stored
    assert "ligne 3 : canal inconnu : tiktok" in capsys.readouterr().err
    assert EditorialStore(table).in_state(ItemState.PLANNED) == []
