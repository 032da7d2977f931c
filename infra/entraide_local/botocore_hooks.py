"""Handlers of botocore's events on every session and client of the process.

botocore copies its built-in handlers into each session it makes; sessions and clients made
before a handler is added keep their own emitters. A handler that must see every AWS call of
the process (the IAM enforcement, a count of the calls) is added to both.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from typing import Any

Handlers = Iterable[tuple[str, Callable[..., Any]]]


def register_everywhere(handlers: Handlers, key: str) -> None:
    """Add ``handlers`` (event, handler) to botocore's built-ins and to every session and
    client alive; ``key`` makes their registration on the live ones unique."""
    import botocore.handlers
    from botocore.client import BaseClient
    from botocore.session import Session

    handlers = list(handlers)
    botocore.handlers.BUILTIN_HANDLERS.extend(handlers)
    for thing in gc.get_objects():
        if isinstance(thing, Session):
            emitter = thing.get_component("event_emitter")
        elif isinstance(thing, BaseClient):
            emitter = thing.meta.events
        else:
            continue
        for event, handler in handlers:
            emitter.register(event, handler, unique_id=f"{key}.{event}")
