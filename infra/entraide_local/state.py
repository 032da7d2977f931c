"""The state file through which other commands find a running local stack.

`var/local-stack.json` holds the endpoint URLs, the pid, and the physical names and resolved
environment of every function. This module imports neither moto nor boto3, so that CLI
commands such as `entraide local fire activate` start fast.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

STATE_FILE_NAME = "local-stack.json"


class LocalStackError(RuntimeError):
    """The local stack is not running, or refused a request; the message says why."""


def state_file(state_path: Path | str) -> Path:
    """The state file itself, given either it or the folder that holds it."""
    path = Path(state_path)
    return path / STATE_FILE_NAME if path.is_dir() or not path.suffix else path


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Write atomically, so that a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(state, indent=2, default=str), encoding="utf-8")
    partial.replace(path)


def remove_state(path: Path) -> None:
    """Remove the state file if it is this process's."""
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def read_state(state_path: Path | str) -> dict[str, Any]:
    """The state of the running stack; LocalStackError when none is running."""
    path = state_file(state_path)
    try:
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LocalStackError(f"no local stack is running ({path} does not exist)") from None
    if not _process_alive(int(state.get("pid", 0))):
        raise LocalStackError(f"the local stack of {path} is gone (pid {state.get('pid')})")
    return state


def running_state(state_path: Path | str) -> dict[str, Any] | None:
    """The state of a live stack using this state file, or None."""
    try:
        return read_state(state_path)
    except (LocalStackError, ValueError):
        return None


def _process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fire_from_state(
    state_path: Path | str,
    name: str,
    *,
    timeout: float = 900.0,
    fields: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Fire a scheduled function of the running stack now: `{"function": ..., "result": ...}`.

    `name` is the function's logical id or code folder name (`activate`), case-insensitive.
    `timeout` defaults to Lambda's maximum run time. `fields` are added to the schedule's
    event (an operator's run, e.g. the watch's `{"collect": true, "digest": true}`).
    """
    state = read_state(state_path)
    url = f"{state['api_url'].rstrip('/')}/_local/fire/{quote(name)}"
    data = json.dumps(dict(fields)).encode() if fields else b""
    request = urllib.request.Request(url, data=data, method="POST")  # noqa: S310 - our own URL
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return {
                "function": response.headers.get("X-Local-Function", name),
                "result": json.loads(response.read() or b"null"),
            }
    except urllib.error.HTTPError as error:
        detail = _error_detail(error.read())
        raise LocalStackError(f"fire {name}: {detail}") from None
    except urllib.error.URLError as error:
        raise LocalStackError(f"fire {name}: cannot reach {url}: {error.reason}") from None


def _error_detail(body: bytes) -> str:
    try:
        payload = json.loads(body)
    except ValueError:
        return body.decode(errors="replace")
    if isinstance(payload, dict):
        return str(payload.get("errorMessage") or payload.get("message") or payload)
    return str(payload)
