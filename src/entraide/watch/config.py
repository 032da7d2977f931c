"""Themes, reference accounts and sources of the watch, as data operators edit.

The file is YAML (``watch.yaml`` beside this module, or an operator's copy). It is taken
whole or refused whole: :func:`load_watch_config` raises :class:`WatchConfigError` listing
every fault with its line, so that an operator fixes them all in one go and a half-read file
never drives a collection.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from entraide.kernel.errors import DomainError

#: The watch's file in the repository (packaged with the domain).
DEFAULT_WATCH_FILE: Final = Path(__file__).with_name("watch.yaml")
#: A feed read whole in memory: no institutional feed is near this size.
MAX_FEED_BYTES: Final = 2_000_000

Network = Literal["x", "bluesky", "mastodon"]
Hashtag = Annotated[str, Field(pattern=r"^#\w+$", max_length=100)]
Keyword = Annotated[str, Field(min_length=2, max_length=60)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Theme(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]
    label: Annotated[str, Field(min_length=1)]
    keywords: Annotated[tuple[Keyword, ...], Field(min_length=1)]
    hashtags: tuple[Hashtag, ...] = ()


class Reference(_Strict):
    """An account whose word counts: a public body, forecaster, emergency service, newsroom."""

    network: Network
    account: Annotated[str, Field(pattern=r"^@?[\w.:@-]+$", max_length=120)]
    kind: Literal["public_body", "forecaster", "emergency", "newsroom", "association"]

    @property
    def handle(self) -> str:
        return self.account.removeprefix("@").lower()


class XSearchSource(_Strict):
    kind: Literal["x_search"]
    id: str
    #: What the day's reads may cost, in millidollars (see ``entraide.publishing.x_prices``).
    daily_read_budget_millidollars: Annotated[int, Field(ge=0, le=100_000)]
    themes: tuple[str, ...] = ()


class BlueskySearchSource(_Strict):
    kind: Literal["bluesky_search"]
    id: str
    themes: tuple[str, ...] = ()


class MastodonHashtagsSource(_Strict):
    kind: Literal["mastodon_hashtags"]
    id: str
    instance: Annotated[str, Field(pattern=r"^https://[^/\s]+/?$")]
    hashtags: Annotated[tuple[Hashtag, ...], Field(min_length=1)]


class FeedSource(_Strict):
    """An institutional site's RSS or Atom feed."""

    kind: Literal["feed"]
    id: str
    url: Annotated[str, Field(pattern=r"^https://\S+$")]
    max_bytes: Annotated[int, Field(ge=1_000, le=MAX_FEED_BYTES)] = 1_000_000


Source = Annotated[
    XSearchSource | BlueskySearchSource | MastodonHashtagsSource | FeedSource,
    Field(discriminator="kind"),
]


class WatchConfig(_Strict):
    themes: Annotated[tuple[Theme, ...], Field(min_length=1)]
    references: tuple[Reference, ...] = ()
    sources: Annotated[tuple[Source, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _coherent(self) -> WatchConfig:
        faults: list[str] = []
        theme_ids = [theme.id for theme in self.themes]
        faults += [f"thème {dup!r} déclaré deux fois" for dup in _duplicates(theme_ids)]
        faults += [
            f"source {dup!r} déclarée deux fois"
            for dup in _duplicates([source.id for source in self.sources])
        ]
        faults += [
            f"référence {network}:{handle} déclarée deux fois"
            for network, handle in _duplicates([(r.network, r.handle) for r in self.references])
        ]
        for source in self.sources:
            if isinstance(source, XSearchSource | BlueskySearchSource):
                faults += [
                    f"la source {source.id!r} cite un thème inconnu : {theme!r}"
                    for theme in source.themes
                    if theme not in theme_ids
                ]
        if faults:
            raise ValueError(" ; ".join(faults))
        return self

    def themes_of(self, source: XSearchSource | BlueskySearchSource) -> tuple[Theme, ...]:
        """The themes a search source asks about (all of them when it names none)."""
        wanted = set(source.themes)
        return tuple(t for t in self.themes if not wanted or t.id in wanted)

    def is_reference(self, network: Network, account: str) -> bool:
        handle = account.removeprefix("@").lower()
        return any(r.network == network and r.handle == handle for r in self.references)


def _duplicates[T](values: Sequence[T]) -> list[T]:
    seen: set[T] = set()
    twice: list[T] = []
    for value in values:
        if value in seen and value not in twice:
            twice.append(value)
        seen.add(value)
    return twice


@dataclass(frozen=True)
class Fault:
    line: int
    message: str

    def __str__(self) -> str:
        return f"ligne {self.line} : {self.message}"


class WatchConfigError(DomainError):
    """The watch's file, refused whole: every fault with its line (1-based)."""

    def __init__(self, faults: Sequence[Fault]) -> None:
        self.faults = tuple(sorted(faults, key=lambda fault: fault.line))
        super().__init__(
            "fichier de veille refusé :\n" + "\n".join(f"  {fault}" for fault in self.faults)
        )


def load_watch_config(text: str) -> WatchConfig:
    """The watch's configuration from its YAML text, or :class:`WatchConfigError`."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise WatchConfigError([Fault(line, f"YAML illisible : {exc.problem}")]) from None
    if root is None:
        raise WatchConfigError([Fault(1, "le fichier est vide")])
    faults = list(_duplicate_keys(root))
    data = yaml.SafeLoader(text).get_single_data()
    try:
        config = WatchConfig.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        locs = [error["loc"] for error in errors]
        for error in errors:
            if any(
                len(other) > len(error["loc"]) and other[: len(error["loc"])] == error["loc"]
                for other in locs
            ):
                continue  # a list too short because an item failed: the item says why
            path = _key_path(error["loc"])
            where = ".".join(str(part) for part in path) or "(racine)"
            faults.append(Fault(_line_of(root, path), f"{where} : {_in_french(error)}"))
        raise WatchConfigError(faults) from None
    if faults:
        raise WatchConfigError(faults)
    return config


def load_watch_file(path: Path = DEFAULT_WATCH_FILE) -> WatchConfig:
    return load_watch_config(path.read_text("utf-8"))


#: pydantic's messages in French, by error type (the others as pydantic says them).
_MESSAGES: Final = {
    "missing": "champ obligatoire absent",
    "extra_forbidden": "clé inconnue",
    "literal_error": "valeur non admise (attendu : {expected})",
    "too_short": "au moins {min_length} élément(s)",
    "string_too_short": "au moins {min_length} caractère(s)",
    "string_too_long": "au plus {max_length} caractères",
    "string_pattern_mismatch": "forme non admise (attendu : {pattern})",
    "union_tag_invalid": "type de source inconnu {tag} (attendu : {expected_tags})",
    "union_tag_not_found": "type de source (kind) absent",
    "int_parsing": "un nombre entier est attendu",
    "int_type": "un nombre entier est attendu",
    "string_type": "un texte est attendu",
    "greater_than_equal": "au moins {ge}",
    "less_than_equal": "au plus {le}",
    "model_type": "un dictionnaire (clé: valeur) est attendu",
    "tuple_type": "une liste est attendue",
}


def _in_french(error: ErrorDetails) -> str:
    template = _MESSAGES.get(error["type"])
    if template is None:
        return error["msg"].removeprefix("Value error, ")
    return template.format(**error.get("ctx", {}))


#: pydantic names a discriminated union's variant in an error's path (``feed``): not a key.
_VARIANTS: Final = frozenset({"x_search", "bluesky_search", "mastodon_hashtags", "feed"})


def _key_path(loc: tuple[str | int, ...]) -> list[str | int]:
    return [
        part
        for index, part in enumerate(loc)
        if not (index > 0 and isinstance(loc[index - 1], int) and part in _VARIANTS)
    ]


def _line_of(node: yaml.Node, path: Sequence[str | int]) -> int:
    """The line of the deepest node of ``path`` that the file has (a missing key: its map)."""
    for part in path:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            child = next(
                (value for key, value in node.value if getattr(key, "value", None) == part), None
            )
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if part < len(node.value) else None
        if child is None:
            break
        node = child
    return int(node.start_mark.line) + 1


def _duplicate_keys(node: yaml.Node) -> Iterator[Fault]:
    """YAML keeps the last of two equal keys silently: here that is a fault."""
    if isinstance(node, yaml.MappingNode):
        seen: set[object] = set()
        for key, value in node.value:
            if key.value in seen:
                yield Fault(key.start_mark.line + 1, f"clé {key.value!r} répétée")
            seen.add(key.value)
            yield from _duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _duplicate_keys(item)
