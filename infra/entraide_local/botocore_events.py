"""Handlers on every botocore call of the process: the one way the local stack hooks botocore.

The IAM enforcement (:mod:`entraide_local.iam.hook`), the fault plan
(:mod:`entraide_local.faults`) and a fault run's capacity meter
(:mod:`entraide_local.faultrun.meter`) watch each AWS call through botocore's events. A
handler is registered on ``botocore.handlers.BUILTIN_HANDLERS``, which every botocore
session created afterwards registers (powertools makes its own ``boto3.session.Session()``),
and on the sessions and clients that already exist (a handler's module is often imported
after the first client was made).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Sequence
from typing import Any

Handler = Callable[..., Any]


class ProcessHook:
    """``handlers`` ((event, handler) pairs) registered once per process, under ``key``;
    ``first``: handlers that run before the others of their event (one that prices a
    call's answer before another makes it lost)."""

    def __init__(
        self,
        key: str,
        handlers: Sequence[tuple[str, Handler]],
        *,
        first: Sequence[tuple[str, Handler]] = (),
    ) -> None:
        self.key = key
        self.handlers = tuple(handlers)
        self.first = tuple(first)
        self._installed = False
        self._lock = threading.Lock()

    def install(self) -> None:
        """Register the handlers on future and existing botocore objects (once)."""
        with self._lock:
            if self._installed:
                return
            import botocore.handlers
            from botocore.client import BaseClient
            from botocore.session import Session

            botocore.handlers.BUILTIN_HANDLERS.extend(self.handlers)
            botocore.handlers.BUILTIN_HANDLERS.extend(
                (event, handler, botocore.handlers.REGISTER_FIRST) for event, handler in self.first
            )
            for thing in gc.get_objects():
                if isinstance(thing, Session):
                    emitter = thing.get_component("event_emitter")
                elif isinstance(thing, BaseClient):
                    emitter = thing.meta.events
                else:
                    continue
                for event, handler in self.handlers:
                    emitter.register(event, handler, unique_id=f"{self.key}.{event}")
                for event, handler in self.first:
                    emitter.register_first(event, handler, unique_id=f"{self.key}.{event}")
            self._installed = True
