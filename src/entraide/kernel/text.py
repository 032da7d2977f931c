"""Comparing what people type with what the data says: accents and case ignored."""

from __future__ import annotations

import re
import unicodedata

_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE"})
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def strip_accents(text: str) -> str:
    """``text`` without accents or ligatures: "Œuvre à Pézenas" -> "Oeuvre a Pezenas"."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold(text: str) -> str:
    """Lower-case ASCII words of ``text``, single-spaced: "Hébergement !" -> "hebergement"."""
    return _NOT_ALNUM.sub(" ", strip_accents(text).lower()).strip()


def utf16_length(text: str) -> int:
    """Length as browsers count it for ``maxlength`` (UTF-16 code units: an emoji is 2), so
    that a form and the server agree on what fits."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2
