"""IAM in the local stack and the handler tests: each function's calls, checked as AWS would.

moto accepts every call whatever the caller's policy, and its own access control checks
actions only, not resource ARNs or condition keys; no maintained Python library evaluates IAM
policies offline. This package supplies what is missing:

- `policies`: each function's role policy as the template resolves it (SAM's transform, then
  the deployment's physical names and ARNs) -> `FunctionPolicy` (`function_policies`).
- `evaluate`, `conditions`, `patterns`: AWS's evaluation logic (explicit deny, allow, implicit
  deny), Action/Resource wildcards and the condition operators.
- `calls`: what IAM sees of each modelled API call (actions, resources, condition keys);
  anything else is refused as not modelled.
- `hook`: enforcement through botocore's events: `install(policy, principal)` for a whole
  process, `acting_as(policy, principal)` for calls inside a `with` block; a denied call
  raises the `ClientError` AWS would raise, and one console line names function, action and
  resource (logger `entraide_local`).

Importing this package imports neither botocore nor samtranslator.
"""

from __future__ import annotations

from typing import Any

__all__ = ["acting_as", "install", "uninstall"]


def install(policy: dict[str, Any], principal: str) -> None:
    """Enforce `policy` on every AWS call of this process (JSON arguments, for workers)."""
    from .hook import install as _install

    _install(policy, principal)


def uninstall() -> None:
    from .hook import uninstall as _uninstall

    _uninstall()


def __getattr__(name: str) -> Any:
    if name == "acting_as":
        from .hook import acting_as

        return acting_as
    raise AttributeError(name)
