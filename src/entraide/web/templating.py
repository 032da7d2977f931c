"""The Jinja2 environments of pages, emails and reports: one set of rules for all.

HTML templates are autoescaped (every user-supplied string), plain-text ones are not;
an undefined variable is an error. Built once per folder, on first render (importing
jinja2 costs cold start to handlers that render nothing).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jinja2


@functools.cache
def environment(folder: str = "templates") -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("entraide.web", folder),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html",),
            disabled_extensions=("txt",),
            default_for_string=True,
            default=True,
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
