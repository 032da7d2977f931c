"""Identifiers: ULIDs sort by creation time, which keeps index ranges readable."""

from __future__ import annotations


def new_id() -> str:
    from ulid import ULID

    return str(ULID())
