"""The rooms of the domain package hold: read from the source, not from what it does.

- every item kind of ``docs/data-model.md`` is keyed by its owner alone: its key prefix is
  written nowhere else, and no other module borrows the owner's constant for it;
- only the table adapter calls the DynamoDB client;
- capabilities never import presentation (``entraide.web``) nor the composition roots;
- no import circle between modules (lazy and type-only imports count: a circle is one
  whether or not it bites at import time);
- a module over 400 lines says at its top why it stays whole.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from tests.paths import ROOT

PACKAGE = ROOT / "src" / "entraide"
DATA_MODEL = ROOT / "docs" / "data-model.md"
TABLE_ADAPTER = "entraide.adapters.table"

#: The rooms that hold rules, data access and adapters: none of them renders anything.
CAPABILITIES = (
    "kernel",
    "privacy",
    "adapters",
    "effects",
    "intake",
    "activation",
    "moderation",
    "publishing",
    "matching",
    "reporting",
    "watch",
)
#: Presentation and the composition roots: they import capabilities, never the reverse.
OUTER = ("entraide.web", "entraide.wiring", "entraide.cli", "entraide.settings")
#: What the kernel's neighbours may import (the kernel itself: only the kernel).
LOWER_ROOMS = {
    "kernel": ("entraide.kernel",),
    "privacy": ("entraide.kernel", "entraide.privacy"),
    "adapters": (
        "entraide.kernel",
        "entraide.privacy",
        "entraide.adapters",
        "entraide.observability",
    ),
    "effects": (
        "entraide.kernel",
        "entraide.privacy",
        "entraide.adapters",
        "entraide.effects",
        "entraide.observability",
    ),
}
#: The DynamoDB client's operations and (de)serialisers, by their boto3 names (and
#: ``query`` on anything called a client: the adapter has a ``query`` of its own).
CLIENT_CALLS = frozenset(
    {
        "get_item",
        "put_item",
        "update_item",
        "delete_item",
        "scan",
        "transact_write_items",
        "transact_get_items",
        "batch_write_item",
        "batch_get_item",
        "get_paginator",
        "TypeSerializer",
        "TypeDeserializer",
    }
)
#: Key prefixes that live in an index only (see the data model's index table).
INDEX_PREFIXES = {"CELL#": "entraide.intake.post_store", "NEAR#": "entraide.intake.post_store"}
LONG_MODULE = 400
REASON = "Why one module:"


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    tree: ast.Module

    @property
    def room(self) -> str:
        """``kernel`` for ``entraide.kernel.times``; ``cli`` for ``entraide.cli``."""
        parts = self.name.split(".")
        return parts[1] if len(parts) > 1 else ""


@cache
def modules() -> tuple[Module, ...]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(relative.parts).removesuffix(".__init__")
        found.append(Module(name, path, ast.parse(path.read_text("utf-8"))))
    return tuple(found)


def imports(module: Module) -> Iterator[tuple[str, int]]:
    """Every ``entraide`` module it imports, anywhere in the file, with the line."""
    known = {m.name for m in modules()}
    package = module.name if module.path.name == "__init__.py" else module.name.rpartition(".")[0]
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("entraide."):
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            if not base.startswith("entraide"):
                continue
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield (submodule if submodule in known else base), node.lineno


def docstrings(tree: ast.AST) -> set[int]:
    """``id`` of every docstring constant (module, class, function)."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def literals(module: Module) -> Iterator[tuple[str, int]]:
    """Every string literal of the code (not docstrings), and each f-string's first piece."""
    skipped = docstrings(module.tree)
    inside_fstrings = {
        id(value)
        for node in ast.walk(module.tree)
        if isinstance(node, ast.JoinedStr)
        for value in node.values
    }
    for node in ast.walk(module.tree):
        if isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield first.value, node.lineno
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skipped
            and id(node) not in inside_fstrings
        ):
            yield node.value, node.lineno


# --- the data model --------------------------------------------------------------------


@cache
def item_owners() -> dict[str, str]:
    """Key prefix -> owning module, from the items table of docs/data-model.md."""
    owners: dict[str, str] = {}
    rows = [line for line in DATA_MODEL.read_text("utf-8").splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    pk, owner = header.index("pk"), header.index("owner")
    for row in rows[2:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        if len(cells) != len(header):
            break  # the end of the items table
        key = re.search(r"`([^`]+)`", cells[pk])
        module = re.search(r"`src/(entraide/[\w/]+)\.py`", cells[owner])
        assert key, f"data-model.md: a row without a key: {row}"
        assert module, f"data-model.md: a row without an owner: {row}"
        prefix = key.group(1).split("<")[0]
        prefix = prefix[: prefix.index("#") + 1] if "#" in prefix else prefix
        owners[prefix] = module.group(1).replace("/", ".")
    return {**owners, **INDEX_PREFIXES}


def test_the_data_model_names_an_existing_owner_for_every_item_kind() -> None:
    owners = item_owners()
    names = {module.name for module in modules()}
    assert {"POST#", "ACTIVATION#", "TWEET#", "NOTICE-DUE", "CONTACT-REQUEST#"} <= set(owners)
    assert set(owners.values()) <= names


@pytest.mark.parametrize("prefix", sorted(item_owners()))
def test_an_item_kind_is_keyed_by_its_owner_alone(prefix: str) -> None:
    owner = item_owners()[prefix]
    found = [
        f"{module.name}:{line}: {text!r}"
        for module in modules()
        if module.name != owner
        for text, line in literals(module)
        if text.startswith(prefix)
    ]
    assert found == [], f"{prefix} keys written outside {owner}"


def test_no_module_borrows_an_owners_key_prefix() -> None:
    owned: dict[str, set[str]] = {}  # owner -> names of its prefix constants
    prefixes = tuple(item_owners())
    for module in modules():
        for node in module.tree.body:
            if (
                isinstance(node, ast.Assign | ast.AnnAssign)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
                and node.value.value.startswith(prefixes)
            ):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                owned.setdefault(module.name, set()).update(
                    t.id for t in targets if isinstance(t, ast.Name)
                )
    borrowed = [
        f"{module.name} imports {alias.name} from {node.module}"
        for module in modules()
        for node in ast.walk(module.tree)
        if isinstance(node, ast.ImportFrom) and node.module in owned
        for alias in node.names
        if alias.name in owned[node.module]
    ]
    assert borrowed == []


def test_only_the_table_adapter_calls_the_dynamodb_client() -> None:
    calls = [
        f"{module.name}:{getattr(node, 'lineno', 0)}: {_name(node)}"
        for module in modules()
        if module.name != TABLE_ADAPTER
        for node in ast.walk(module.tree)
        if _name(node) in CLIENT_CALLS
        or (
            isinstance(node, ast.Attribute)
            and node.attr == "query"
            and (_name(node.value) or "").lower().endswith("client")
        )
    ]
    assert calls == []


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


# --- rooms and imports -----------------------------------------------------------------


def test_capabilities_never_import_presentation_nor_the_composition_roots() -> None:
    found = [
        f"{module.name}:{line} imports {imported}"
        for module in modules()
        if module.room in CAPABILITIES
        for imported, line in imports(module)
        if imported.startswith(OUTER)
    ]
    assert found == []


def test_the_kernel_and_its_neighbours_import_nothing_above_them() -> None:
    found = [
        f"{module.name}:{line} imports {imported}"
        for module in modules()
        if module.room in LOWER_ROOMS
        for imported, line in imports(module)
        if not imported.startswith(LOWER_ROOMS[module.room])
    ]
    assert found == []


def test_no_import_circle() -> None:
    graph = {module.name: {name for name, _ in imports(module)} for module in modules()}
    graph = {
        name: {n for n in targets if n in graph and n != name} for name, targets in graph.items()
    }
    circles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                circles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert circles == []


def test_a_long_module_says_why_it_stays_whole() -> None:
    long = [
        f"{module.name} ({lines} lines)"
        for module in modules()
        if (lines := len(module.path.read_text("utf-8").splitlines())) > LONG_MODULE
        and REASON not in (ast.get_docstring(module.tree) or "")
    ]
    assert long == []
