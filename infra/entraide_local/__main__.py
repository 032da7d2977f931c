"""`python -m entraide_local …` is `entraide local …` (run by default)."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from entraide.cli import main as entraide

    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0].startswith("-"):
        arguments.insert(0, "run")
    return entraide(["local", *arguments])


if __name__ == "__main__":
    sys.exit(main())
