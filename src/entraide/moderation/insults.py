"""Insults and rude words of the packaged list (``data/insultes.txt``), found in free text.

Whole words only, case and accents ignored, with simple plural and feminine forms;
harmless expressions of the list ("chili con carne") shield the words they contain. The
list is read on first use, once per process.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

from entraide.kernel.once import Once
from entraide.kernel.text import fold, strip_accents

_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class _Lexicon:
    """The list of insults and of harmless expressions, as tuples of folded words."""

    insults: Mapping[str, tuple[tuple[str, ...], ...]]  # first word's form -> entries
    harmless: Mapping[str, tuple[tuple[str, ...], ...]]


def _variants(word: str) -> tuple[str, ...]:
    """Forms matched for a folded word: itself, plural, and feminine when long enough."""
    endings = ("", "s", "x", "e", "es") if len(word) >= 4 else ("", "s", "x")
    return tuple(word + ending for ending in endings)


def _index(entries: Iterable[tuple[str, ...]]) -> Mapping[str, tuple[tuple[str, ...], ...]]:
    """Entries by each form of their first word, longest entry first."""
    index: dict[str, list[tuple[str, ...]]] = {}
    for entry in entries:
        for form in _variants(entry[0]):
            index.setdefault(form, []).append(entry)
    return MappingProxyType(
        {form: tuple(sorted(found, key=len, reverse=True)) for form, found in index.items()}
    )


def parse_lexicon(text: str) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """``(insults, harmless expressions)`` of a list in the format of ``insultes.txt``."""
    insults: list[tuple[str, ...]] = []
    harmless: list[tuple[str, ...]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        target = harmless if line.startswith("!") else insults
        words = tuple(fold(line.removeprefix("!")).split())
        if not words:
            raise ValueError(f"insultes.txt, line {number}: no word in {raw!r}")
        target.append(words)
    return insults, harmless


def _read_lexicon() -> _Lexicon:
    data = resources.files("entraide") / "data" / "insultes.txt"
    insults, harmless = parse_lexicon(data.read_text("utf-8"))
    return _Lexicon(_index(insults), _index(harmless))


_lexicon = Once(_read_lexicon)


def _match_at(
    words: Sequence[str], start: int, index: Mapping[str, tuple[tuple[str, ...], ...]]
) -> int:
    """Number of words of the longest entry of ``index`` found at ``start`` (0 if none)."""
    for entry in index.get(words[start], ()):
        end = start + len(entry)
        if end <= len(words) and all(
            words[start + i] in _variants(word) for i, word in enumerate(entry[1:], start=1)
        ):
            return len(entry)
    return 0


def find_insults(text: str) -> list[str]:
    """The insults of the packaged list found in ``text``, as written there, in order.

    Whole words only, case and accents ignored, with simple plural and feminine forms;
    words covered by a harmless expression of the list ("chili con carne") are skipped.
    """
    lexicon = _lexicon.get()
    spans = [match.span() for match in _WORD.finditer(text)]
    words = [strip_accents(text[start:end]).lower() for start, end in spans]
    found: list[str] = []
    position = 0
    while position < len(words):
        harmless = _match_at(words, position, lexicon.harmless)
        if harmless:
            position += harmless
            continue
        length = _match_at(words, position, lexicon.insults)
        if length:
            found.append(text[spans[position][0] : spans[position + length - 1][1]])
            position += length
        else:
            position += 1
    return found
