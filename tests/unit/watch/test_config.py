"""The watch's file: taken whole, or refused whole with every fault's line."""

from __future__ import annotations

from pathlib import Path

import pytest

from entraide.cli import main
from entraide.watch.config import (
    DEFAULT_WATCH_FILE,
    FeedSource,
    WatchConfigError,
    XSearchSource,
    load_watch_config,
    load_watch_file,
)

GOOD = """\
themes:
  - id: vigilance
    label: Vigilance météo
    keywords: [crue, inondation]
    hashtags: ["#Vigicrues"]
references:
  - {network: x, account: "@Vigicrues", kind: forecaster}
sources:
  - kind: x_search
    id: x
    daily_read_budget_millidollars: 1000
  - kind: feed
    id: meteoalarm
    url: https://feeds.meteoalarm.org/feeds/meteoalarm-legacy-atom-france
"""


def test_the_repositorys_file_is_valid() -> None:
    # Given the file operators edit in the repository
    # When it is read
    config = load_watch_file()
    # Then it names themes, references and one source of each kind
    assert len(config.themes) >= 5
    assert {source.kind for source in config.sources} == {
        "x_search",
        "bluesky_search",
        "mastodon_hashtags",
        "feed",
    }


def test_a_good_file_gives_its_themes_sources_and_references() -> None:
    config = load_watch_config(GOOD)
    assert [theme.id for theme in config.themes] == ["vigilance"]
    x_search, feed = config.sources
    assert isinstance(x_search, XSearchSource)
    assert x_search.daily_read_budget_millidollars == 1000
    assert isinstance(feed, FeedSource)
    assert feed.max_bytes == 1_000_000
    # a reference is found whatever its case and leading @
    assert config.is_reference("x", "vigicrues")
    assert not config.is_reference("mastodon", "vigicrues")


def faults_of(text: str) -> list[str]:
    with pytest.raises(WatchConfigError) as refused:
        load_watch_config(text)
    return [str(fault) for fault in refused.value.faults]


def test_every_fault_is_listed_with_its_line() -> None:
    # Given a file with four faults on lines 4, 7, 9 and 11
    text = GOOD.replace("keywords: [crue, inondation]", "keywords: []")
    text = text.replace("{network: x,", "{network: myspace,")
    text = text.replace("daily_read_budget_millidollars: 1000", "daily_read_budget: 1000")
    # When it is checked, Then it is refused whole and each fault names its line
    faults = faults_of(text)
    assert [fault.split(" : ")[0] for fault in faults] == [
        "ligne 4",
        "ligne 7",
        "ligne 9",
        "ligne 11",
    ]
    assert "themes.0.keywords" in faults[0]
    assert "references.0.network" in faults[1]
    # the missing key is placed on its source's map, the unknown one on its own line
    assert "sources.0.daily_read_budget_millidollars" in faults[2]
    assert "sources.0.daily_read_budget : clé inconnue" in faults[3]
    assert "champ obligatoire absent" in faults[2]


def test_a_source_of_an_unknown_kind_is_refused_on_its_line() -> None:
    faults = faults_of(GOOD.replace("kind: feed", "kind: telegram"))
    assert len(faults) == 1
    assert faults[0].startswith("ligne 12")


def test_an_unknown_theme_and_a_duplicate_id_are_faults() -> None:
    text = GOOD.replace(
        "    daily_read_budget_millidollars: 1000\n",
        "    daily_read_budget_millidollars: 1000\n    themes: [meteo]\n",
    ).replace("id: meteoalarm", "id: x")
    faults = faults_of(text)
    assert len(faults) == 1
    assert "source 'x' déclarée deux fois" in faults[0]
    assert "thème inconnu : 'meteo'" in faults[0]


def test_a_repeated_key_is_a_fault_not_a_silent_override() -> None:
    text = GOOD.replace(
        "    label: Vigilance météo\n", "    label: Vigilance météo\n    label: Y\n"
    )
    assert faults_of(text) == ["ligne 4 : clé 'label' répétée"]


def test_broken_yaml_is_refused_with_its_line() -> None:
    faults = faults_of(GOOD.replace('hashtags: ["#Vigicrues"]', 'hashtags: ["#Vigicrues"'))
    assert len(faults) == 1
    assert faults[0].startswith("ligne ")
    assert "YAML illisible" in faults[0]


def test_an_empty_file_is_refused() -> None:
    assert faults_of("") == ["ligne 1 : le fichier est vide"]


def test_watch_check_says_what_a_collection_would_do(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["watch", "check", "--file", str(DEFAULT_WATCH_FILE)]) == 0
    out = capsys.readouterr().out
    assert "Fichier de veille valable" in out
    assert "requête : (#RisquesMajeurs OR" in out
    assert "première requête : 66 posts au plus" in out  # 1000 // 15


def test_watch_check_refuses_a_bad_file_with_its_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "watch.yaml"
    bad.write_text(GOOD.replace("kind: feed", "kind: telegram"), "utf-8")
    assert main(["watch", "check", "--file", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "fichier de veille refusé" in err
    assert "ligne 12" in err
