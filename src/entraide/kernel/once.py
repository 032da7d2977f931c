"""What a process builds once, on first use, whatever its threads: a table read, an import.

Importing a module must cost a cold start nothing it can leave for later; what it needs
then is built by :class:`Once` on the first call, under a lock, and kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Once[T]:
    """``build()``'s result, built on the first :meth:`get` only."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._built: list[T] = []  # the value, once built
        self._lock = threading.Lock()

    def get(self) -> T:
        if not self._built:
            with self._lock:
                if not self._built:
                    self._built.append(self._build())
        return self._built[0]

    def forget(self) -> None:
        """Build again on the next :meth:`get` (a client whose credentials were refused)."""
        with self._lock:
            self._built.clear()
