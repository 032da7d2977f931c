"""Pre-screen of a new post: what the moderator must look at before deciding.

Every post is read by a person before it is published. :func:`prescreen` only points at
what deserves a closer look in the moderator email (contact details or links in the
public text, insults, text in capitals, a near-duplicate of the poster's recent posts,
a place far from the activation's départements); it decides nothing.

Each :class:`Flag` carries a stable machine ``code`` (one of :data:`FLAG_CODES`), a short
French ``label`` and a French ``detail`` with the evidence. A detail may quote the
post's own public text (links, insults) but never the contact details found in it.
Escaping is the email template's job.

Importing this module reads nothing: the list of insults (:mod:`.insults`) and the
communes of each département (:mod:`.distance`) are read on first use, once per process.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from types import MappingProxyType
from typing import Final

from entraide.kernel.departements import UnknownDepartement, departement_name
from entraide.kernel.model import Activation, Post
from entraide.kernel.text import fold
from entraide.moderation.distance import distance_to_departements
from entraide.moderation.insults import find_insults
from entraide.privacy.detection import EMAIL_PATTERN, PHONE_PATTERN, link_domains

__all__ = [
    "CAPITALS_MIN_LETTERS",
    "CAPITALS_MIN_SHARE",
    "DUPLICATE_THRESHOLD",
    "FLAG_CODES",
    "FLAG_LABELS",
    "Flag",
    "capitals_share",
    "prescreen",
    "similarity",
]

FLAG_CODES: Final = ("coordonnees", "lien", "insulte", "majuscules", "doublon", "eloigne")

FLAG_LABELS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "coordonnees": "Coordonnées dans le texte",
        "lien": "Lien dans le texte",
        "insulte": "Insulte ou grossièreté",
        "majuscules": "Texte en majuscules",
        "doublon": "Doublon probable",
        "eloigne": "Hors de la zone de l'activation",
    }
)

# A post as similar as this to one of the poster's recent posts is a probable duplicate.
DUPLICATE_THRESHOLD: Final = 0.85
# A title or description with at least this many letters, this share of them capitals.
CAPITALS_MIN_LETTERS: Final = 12
CAPITALS_MIN_SHARE: Final = 0.70


@dataclass(frozen=True, slots=True)
class Flag:
    """One thing the moderator must look at."""

    code: str  # stable machine code, one of FLAG_CODES
    label: str  # short French label for the moderator email
    detail: str  # French explanation with the evidence (may quote the post's text)


def _flag(code: str, detail: str) -> Flag:
    return Flag(code, FLAG_LABELS[code], detail)


def prescreen(
    post: Post,
    *,
    activation: Activation | None,
    recent_texts: Sequence[str],
    distance_limit_km: float = 50.0,
) -> list[Flag]:
    """What the moderator must look at in ``post``, in the order of :data:`FLAG_CODES`.

    ``activation`` is the activation the post is linked to (``None`` when unknown);
    ``recent_texts`` are the ``"title\\ndescription"`` texts of the same poster's recent
    other posts. A clean post gives ``[]``.
    """
    fields: tuple[_Field, ...] = (
        _Field("title", post.title),
        _Field("description", post.description),
    )
    flags = (
        _contact_flag(fields),
        _link_flag(fields),
        _insult_flag(fields),
        _capitals_flag(fields),
        _duplicate_flag(post, recent_texts),
        _distance_flag(post, activation, distance_limit_km),
    )
    return [flag for flag in flags if flag is not None]


# --- French phrasing --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Field:
    name: str  # "title" or "description"
    text: str


_IN_FIELD = {"title": "le titre", "description": "la description"}


def _where(names: Iterable[str]) -> str:
    """``["title", "description"]`` -> ``"dans le titre et la description"``."""
    return "dans " + " et ".join(_IN_FIELD[name] for name in dict.fromkeys(names))


def _quoted(items: Iterable[str]) -> str:
    return ", ".join(f"« {item} »" for item in items)


def _percent(share: float) -> str:
    """0.923 -> "92 %" (rounded down, so that 84.9 % never shows as 85 %)."""
    return f"{math.floor(share * 100 + 1e-9)} %"


def _km(distance: float) -> str:
    """French number of kilometres: 3.44 -> "3,4 km", 693.7 -> "694 km"."""
    if distance < 10:
        return f"{distance:.1f} km".replace(".", ",")
    return f"{round(distance)} km"


def _limit(distance: float) -> str:
    return f"{distance:g} km".replace(".", ",")


def _departement(code: str) -> str:
    """Display form of a département, "11" -> "Aude (11)"; an unknown code as it is."""
    try:
        return f"{departement_name(code)} ({code})"
    except UnknownDepartement:
        return f"« {code} »"


# --- coordonnees: email addresses and phone numbers -------------------------------------


def _contact_flag(fields: Sequence[_Field]) -> Flag | None:
    emails: dict[str, int] = {}
    phones: dict[str, int] = {}
    for field in fields:
        found = len(EMAIL_PATTERN.findall(field.text))
        if found:
            emails[field.name] = found
        # Digits of an address ("jean.0612345678@…") are not a second finding.
        found = len(PHONE_PATTERN.findall(EMAIL_PATTERN.sub(" ", field.text)))
        if found:
            phones[field.name] = found
    if not emails and not phones:
        return None

    email_count, phone_count = sum(emails.values()), sum(phones.values())
    email = "Une adresse e-mail" if email_count == 1 else "Des adresses e-mail"
    phone = "Un numéro de téléphone" if phone_count == 1 else "Des numéros de téléphone"
    if emails and phones and list(emails) == list(phones):
        sentences = [f"{email} et {phone[0].lower()}{phone[1:]} figurent {_where(emails)}."]
    else:
        sentences = [
            f"{subject} {'figure' if count == 1 else 'figurent'} {_where(names)}."
            for subject, count, names in (
                (email, email_count, emails),
                (phone, phone_count, phones),
            )
            if names
        ]
    sentences.append(
        "Les coordonnées doivent rester privées et une annonce ne se modifie pas : refusez-la "
        "en l'indiquant dans le motif, la personne pourra en déposer une nouvelle sans elles."
    )
    return _flag("coordonnees", " ".join(sentences))


# --- lien: web addresses -----------------------------------------------------------------


def _link_flag(fields: Sequence[_Field]) -> Flag | None:
    found: dict[str, None] = {}
    where: list[str] = []
    for field in fields:
        domains = link_domains(field.text)
        if domains:
            where.append(field.name)
            found.update(dict.fromkeys(domains))
    if not found:
        return None
    noun = "Lien vers" if len(found) == 1 else "Liens vers"
    return _flag("lien", f"{noun} {_quoted(found)} {_where(where)}.")


# --- insulte: the packaged list ------------------------------------------------------------


def _insult_flag(fields: Sequence[_Field]) -> Flag | None:
    found: dict[str, str] = {}  # folded -> as first written
    where: list[str] = []
    for field in fields:
        insults = find_insults(field.text)
        if insults:
            where.append(field.name)
            for insult in insults:
                found.setdefault(fold(insult), insult)
    if not found:
        return None
    noun = "Mot relevé" if len(found) == 1 else "Mots relevés"
    return _flag("insulte", f"{noun} {_where(where)} : {_quoted(found.values())}.")


# --- majuscules --------------------------------------------------------------------------


def capitals_share(text: str) -> tuple[int, float]:
    """``(letters, share of them in capitals)``; only cased letters count."""
    upper = lower = 0
    for ch in text:
        if ch.isupper():
            upper += 1
        elif ch.islower():
            lower += 1
    letters = upper + lower
    return letters, (upper / letters if letters else 0.0)


def _capitals_flag(fields: Sequence[_Field]) -> Flag | None:
    sentences: list[str] = []
    for field in fields:
        letters, share = capitals_share(field.text)
        if letters >= CAPITALS_MIN_LETTERS and share >= CAPITALS_MIN_SHARE:
            subject = "Le titre est écrit" if field.name == "title" else "La description est écrite"
            sentences.append(f"{subject} en majuscules ({_percent(share)} des lettres).")
    if not sentences:
        return None
    return _flag("majuscules", " ".join(sentences))


# --- doublon -----------------------------------------------------------------------------


def similarity(first: str, second: str, *, at_least: float = 0.0) -> float:
    """Similarity of two texts in [0, 1], case, accents and punctuation ignored.

    :class:`difflib.SequenceMatcher` ratio over the folded texts, without its "junk"
    heuristic (which makes long French texts look unrelated). When the cheap upper
    bounds show that the ratio is below ``at_least``, that bound is returned instead.
    """
    a, b = fold(first), fold(second)
    if not a or not b:
        return 1.0 if a == b else 0.0
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    for bound in (matcher.real_quick_ratio, matcher.quick_ratio):
        estimate = bound()
        if estimate < at_least:
            return estimate
    return matcher.ratio()


def _duplicate_flag(post: Post, recent_texts: Sequence[str]) -> Flag | None:
    text = f"{post.title}\n{post.description}"
    scores = [similarity(text, recent, at_least=DUPLICATE_THRESHOLD) for recent in recent_texts]
    scores = [score for score in scores if score >= DUPLICATE_THRESHOLD]
    if not scores:
        return None
    best = max(scores)
    adjective = "identique" if fold(text) in {fold(t) for t in recent_texts} else "semblable"
    detail = (
        f"Le texte est {adjective} à {_percent(best)} à celui d'une autre annonce récente "
        "du même auteur."
    )
    if len(scores) > 1:
        detail += f" {len(scores)} annonces récentes de cet auteur sont semblables."
    return _flag("doublon", detail)


# --- eloigne: distance to the activation's départements -----------------------------------


def _distance_flag(post: Post, activation: Activation | None, limit_km: float) -> Flag | None:
    place = f"{post.commune} ({post.postcode})"
    if activation is None:
        known = f" (« {post.activation_id} »)" if post.activation_id else ""
        return _flag(
            "eloigne",
            f"L'annonce n'est rattachée à aucune activation connue{known} : rien ne relie "
            f"{place} à une zone sinistrée.",
        )
    zone = ", ".join(_departement(code) for code in activation.departements) or "aucun"
    outside = post.departement not in activation.departements
    if not (math.isfinite(post.lat) and math.isfinite(post.lon)):
        return _flag("eloigne", f"La position de {place} est inconnue.")
    # Inside the zone, any commune within the limit settles it; outside, say how far.
    distance = distance_to_departements(
        post.lat,
        post.lon,
        activation.departements,
        stop_within_km=0.0 if outside else limit_km,
    )
    if distance is None:
        far = f"aucune commune connue dans les départements de l'activation ({zone})."
        return _flag("eloigne", f"Distance inconnue : {far}")
    if not outside and distance <= limit_km:
        return None
    how_far = (
        f"à environ {_km(distance)} de la commune la plus proche des départements de "
        f"l'activation ({zone} ; limite : {_limit(limit_km)})."
    )
    if outside:
        detail = (
            f"{place}, département {_departement(post.departement)}, n'est pas dans les "
            f"départements de l'activation ; elle est {how_far}"
        )
    else:
        detail = f"{place} est {how_far}"
    return _flag("eloigne", detail)
