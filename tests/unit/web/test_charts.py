"""Inline SVG charts: well-formed XML, accessible, values drawn to scale, text escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from entraide.web.charts import Bar, bar_chart, bars_and_line_chart, nice_step

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # noqa: S314 - our own output, parsed to check it is XML
    assert root.tag == f"{SVG}svg"
    return root


def bars_of(root: ET.Element) -> list[ET.Element]:
    return [rect for rect in root.iter(f"{SVG}rect") if rect.find(f"{SVG}title") is not None]


def texts(root: ET.Element) -> list[str]:
    return [element.text or "" for element in root.iter(f"{SVG}text")]


def test_a_bar_chart_is_accessible_xml_with_one_bar_per_value() -> None:
    svg = bar_chart(
        [
            Bar(str(day), value, f"{day} octobre : {value}")
            for day, value in [(1, 2), (2, 0), (3, 4)]
        ],
        chart_id="posts",
        title="Annonces par jour",
        description="7 annonces",
        axis_label="Jour du mois",
    )
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "posts-title posts-desc"
    assert root.findtext(f"{SVG}title") == "Annonces par jour"
    assert root.findtext(f"{SVG}desc") == "7 annonces"
    bars = bars_of(root)
    assert [bar.findtext(f"{SVG}title") for bar in bars] == [
        "1 octobre : 2",
        "2 octobre : 0",
        "3 octobre : 4",
    ]
    heights = [float(bar.get("height", "nan")) for bar in bars]
    assert heights[1] == 0
    assert heights[2] == pytest.approx(2 * heights[0])
    # the tallest bar reaches the top of the axis (4 is a round maximum)
    assert float(bars[2].get("y", "nan")) == pytest.approx(20)
    assert "Jour du mois" in texts(root)
    assert "Aucune donnée" not in texts(root)
    assert "<script" not in svg
    assert "href" not in svg


def test_text_is_escaped() -> None:
    nasty = "<script>alert('x')</script> & \"co\""
    svg = bar_chart([Bar(nasty, 1, nasty)], chart_id='a"b', title=nasty, description=nasty)
    root = parse(svg)
    assert root.findtext(f"{SVG}title") == nasty
    assert nasty in texts(root)
    assert "<script>" not in svg


def test_an_empty_chart_says_so() -> None:
    root = parse(
        bar_chart(
            [Bar(str(day), 0) for day in range(1, 29)],
            chart_id="empty",
            title="t",
            description="d",
            empty_text="Aucune annonce ce mois-ci",
        )
    )
    assert "Aucune annonce ce mois-ci" in texts(root)
    assert len(bars_of(root)) == 28
    root = parse(bar_chart([], chart_id="none", title="t", description="d"))
    assert "Aucune donnée" in texts(root)


def test_long_series_label_every_other_bar() -> None:
    root = parse(
        bar_chart(
            [Bar(str(n), n) for n in range(1, 61)],
            chart_id="many",
            title="t",
            description="d",
        )
    )
    labels = [text for text in texts(root) if text.isdigit() and int(text) <= 60]
    assert "1" in labels
    assert len(bars_of(root)) == 60


def test_bars_and_a_line_with_a_gap() -> None:
    svg = bars_and_line_chart(
        [Bar("S40", 3), Bar("S41", 0), Bar("S42", 3), Bar("S43", 1), Bar("S44", 2)],
        [0.0143, None, 0.0106, 0.02, 0.01],
        chart_id="weeks",
        title="Tweets et engagement",
        description="d",
        bar_legend="Tweets publiés",
        line_legend="Taux d'engagement",
        line_format=lambda rate: f"{rate * 100:.2f} %",
    )
    root = parse(svg)
    assert len(bars_of(root)) == 5
    circles = list(root.iter(f"{SVG}circle"))
    assert [circle.findtext(f"{SVG}title") for circle in circles] == [
        "Taux d'engagement : 1.43 %",
        "Taux d'engagement : 1.06 %",
        "Taux d'engagement : 2.00 %",
        "Taux d'engagement : 1.00 %",
    ]
    # the gap (no rate for S41) splits the line in two: a lone point, then three points
    polylines = list(root.iter(f"{SVG}polyline"))
    assert [len(line.get("points", "").split()) for line in polylines] == [3]
    assert "Tweets publiés" in texts(root)
    assert "Taux d'engagement" in texts(root)
    assert "2.00 %" in texts(root)  # the right axis reaches the highest rate


def test_bars_and_line_without_data() -> None:
    root = parse(
        bars_and_line_chart(
            [Bar("S1", 0)],
            [None],
            chart_id="w",
            title="t",
            description="d",
            bar_legend="Tweets",
            line_legend="Taux",
            line_format=str,
            empty_text="Aucun tweet ce mois-ci",
        )
    )
    assert "Aucun tweet ce mois-ci" in texts(root)
    assert list(root.iter(f"{SVG}polyline")) == []


def test_one_rate_per_bar() -> None:
    with pytest.raises(ValueError, match="One line value per bar"):
        bars_and_line_chart(
            [Bar("a", 1)],
            [],
            chart_id="x",
            title="t",
            description="d",
            bar_legend="b",
            line_legend="l",
            line_format=str,
        )


@pytest.mark.parametrize(
    ("maximum", "integer", "step"),
    [(0, True, 1), (1, True, 1), (4, True, 1), (7, True, 2), (12, True, 5), (100, True, 25),
     (0.02, False, 0.005), (0.0143, False, 0.005), (0.5, False, 0.2)],
)  # fmt: skip
def test_nice_steps(maximum: float, integer: bool, step: float) -> None:
    assert nice_step(maximum, integer=integer) == pytest.approx(step)
