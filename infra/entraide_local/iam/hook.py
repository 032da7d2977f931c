"""Enforce a function's IAM policy on every AWS call of a process, through botocore's events.

Two ways in:

- `install(policy, principal)`: process-wide and for good; for a process that runs one
  function (its JSON-serialisable arguments travel to a worker process).
- `acting_as(policy, principal)`: only for calls made inside the `with` block (a context
  variable), for tests that call a handler in-process while their own set-up stays free.

The hook is registered on every botocore session and client of the process, present and
future (`entraide_local.botocore_events`). For each call, `before-parameter-build`
notes the caller's API parameters and `before-call` decides: the requests IAM would authorise
(`calls.authorisations`) are evaluated against the policy (`evaluate`), and a denied call gets
the service's own error response (`errors`) instead of reaching moto, so that botocore raises
the `ClientError` AWS would raise and nothing changes in moto. Each denial prints one line on
the `entraide_local` logger naming the function, the action and the resource.
"""

from __future__ import annotations

import collections
import contextvars
import functools
import itertools
import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from ..botocore_events import ProcessHook
from .calls import SERVICE_CONDITION_KEYS, Call, NotModelled, TableKeys, authorisations
from .conditions import PolicyError
from .errors import denial_response
from .evaluate import Decision, Outcome, Policy, Request, first_denial
from .patterns import ContextValue

log = logging.getLogger("entraide_local")

DEFAULT_ACCOUNT = "123456789012"  # moto's account, as the local stack's ARNs
GLOBAL_CONDITION_KEYS = frozenset(
    {
        "aws:principalarn",
        "aws:principalaccount",
        "aws:principaltype",
        "aws:requestedregion",
        "aws:securetransport",
        "aws:currenttime",
        "aws:epochtime",
    }
)
_STATE = "entraide_local.iam"  # key of a call's check in botocore's request context


@dataclass(frozen=True)
class Enforcement:
    """A policy and the principal it belongs to (an assumed role's session, as in Lambda).

    `denials` lists, in order, the calls refused under it (one line each, as printed).
    """

    policy: Policy
    principal: str  # arn:aws:sts::<account>:assumed-role/<role>/<function>
    denials: list[str] = field(default_factory=list, compare=False)

    @classmethod
    def create(cls, policy: Mapping[str, Any], principal: str) -> Enforcement:
        parsed = Policy(policy)
        unknown = parsed.condition_keys() - GLOBAL_CONDITION_KEYS - SERVICE_CONDITION_KEYS
        if unknown:
            raise PolicyError(
                f"the local IAM does not fill in the condition key(s) {', '.join(sorted(unknown))}"
                ": a condition on them would be judged on a missing value; model them in "
                "entraide_local/iam/calls.py"
            )
        if not principal.startswith("arn:"):
            principal = f"arn:aws:sts::{DEFAULT_ACCOUNT}:assumed-role/{principal}/{principal}"
        return cls(parsed, principal)

    @functools.cached_property
    def account(self) -> str:
        return self.principal.split(":")[4]

    @functools.cached_property
    def role_arn(self) -> str:
        role = self.principal.split(":", 5)[5].split("/")[1]
        return f"arn:aws:iam::{self.account}:role/{role}"

    @functools.cached_property
    def function_name(self) -> str:
        return self.principal.rsplit("/", 1)[-1]

    def global_keys(self, region: str) -> dict[str, ContextValue]:
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
        now = datetime.now(UTC)
        return {
            "aws:PrincipalArn": self.role_arn,
            "aws:PrincipalAccount": self.account,
            "aws:PrincipalType": "AssumedRole",
            "aws:RequestedRegion": region,
            "aws:SecureTransport": "true",  # Lambda reaches AWS over TLS
            "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "aws:EpochTime": str(int(now.timestamp())),
        }

    def decide(self, call: Call, lookups: Any) -> list[Outcome]:
        keys = self.global_keys(call.region)
        return [
            self.policy.evaluate(Request(r.action, r.resource, {**keys, **r.context}))
            for r in authorisations(call, lookups)
        ]


_ACTING_AS: contextvars.ContextVar[Enforcement | None] = contextvars.ContextVar(
    "entraide_local_iam_acting_as", default=None
)
_BYPASS: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "entraide_local_iam_bypass", default=False
)
_process_wide: Enforcement | None = None
# The latest denials of the process, and how many there were: a running local stack keeps a
# bounded memory of them; tests compare counts before and after.
_recent_denials: collections.deque[str] = collections.deque(maxlen=1000)
_denial_counter = itertools.count(1)
_denial_total = 0


def denial_count() -> int:
    """How many calls were denied in this process so far."""
    return _denial_total


def recent_denials() -> list[str]:
    """The latest denials of the process (at most 1000), oldest first."""
    return list(_recent_denials)


def install(policy: Mapping[str, Any], principal: str) -> None:
    """Enforce `policy` on every AWS call of this process from now on.

    `principal`: the assumed-role ARN of the function (`FunctionPolicy.principal`), or a bare
    function name. Both arguments are JSON, so that a worker process can be told them.
    """
    global _process_wide
    enforcement = Enforcement.create(policy, principal)
    _HOOK.install()
    _process_wide = enforcement


def register() -> None:
    """Register the hook on every botocore object of the process, with no policy yet: a
    hook that answers calls itself (`mapping_hook`) registers after it, so that IAM decides
    first."""
    _HOOK.install()


def uninstall() -> None:
    """Stop the process-wide enforcement (`acting_as` blocks keep theirs)."""
    global _process_wide
    _process_wide = None


@contextmanager
def acting_as(policy: Mapping[str, Any], principal: str) -> Iterator[Enforcement]:
    """Enforce `policy` on the AWS calls made inside the block (this thread or task only)."""
    enforcement = Enforcement.create(policy, principal)
    _HOOK.install()
    token = _ACTING_AS.set(enforcement)
    try:
        yield enforcement
    finally:
        _ACTING_AS.reset(token)


def current() -> Enforcement | None:
    if _BYPASS.get():
        return None
    return _ACTING_AS.get() or _process_wide


# -- the botocore side ---------------------------------------------------------------------


@dataclass
class _Check:
    enforcement: Enforcement
    params: Mapping[str, Any]
    denial: tuple[Any, Any] | None = None
    decided: bool = False


def _on_parameters(params: Any, model: Any, context: Any = None, **kwargs: Any) -> None:
    enforcement = current()
    if enforcement is None or context is None or _STATE in context:
        return
    check = _Check(enforcement, params)
    context[_STATE] = check
    if context.get("is_presign_request"):
        # A presigned URL is made locally; whoever uses it is checked with the signer's
        # permissions. Say now that it will be refused.
        denied = _decide(check, model, context, request_url="", signer=None)
        if denied is not None:
            log.warning("IAM: the URL was presigned all the same; AWS refuses it when it is used")


def _on_call(
    model: Any, params: Any, context: Any = None, request_signer: Any = None, **kwargs: Any
) -> Any:
    check = context.get(_STATE) if context else None
    if not isinstance(check, _Check):
        return None
    if not check.decided:
        url = params.get("url", "") if isinstance(params, Mapping) else ""
        check.denial = _decide(check, model, context, request_url=url, signer=request_signer)
        check.decided = True
    return check.denial


def _decide(
    check: _Check, model: Any, context: Mapping[str, Any], *, request_url: str, signer: Any
) -> tuple[Any, Any] | None:
    enforcement = check.enforcement
    service = model.service_model.service_name
    region = context.get("client_region") or "us-east-1"
    call = Call(service, model.name, check.params, region, enforcement.account)
    try:
        outcomes = enforcement.decide(call, _Lookups(request_url, region, signer))
    except (NotModelled, KeyError, TypeError, AttributeError, ValueError) as error:
        reason = error if isinstance(error, NotModelled) else NotModelled(service, model.name)
        action = f"{service}:{model.name}"
        _record(enforcement, f"{action}  ({reason})")
        message = (
            f"User: {enforcement.principal} is not authorized to perform: {action} because {reason}"
        )
        return denial_response(model, message, request_url)
    denial = first_denial(outcomes)
    if denial is None:
        return None
    request = denial.request
    _record(enforcement, f"{request.action} on {request.resource}  ({_reason(denial)})")
    return denial_response(model, denial_message(enforcement.principal, denial), request_url)


DENIAL_PREFIX = "IAM DENIED  "


def _record(enforcement: Enforcement, what: str) -> None:
    line = f"{DENIAL_PREFIX}{enforcement.function_name}: {what}"
    log.warning("%s", line)
    enforcement.denials.append(line)
    _count_denial(line)


def note_reported_denial(line: str) -> bool:
    """Count a denial that another process (a function's worker) printed; False if `line`
    is not one. The local stack relays its workers' output here, so that `denial_count`
    in the stack's process sees every function's refused calls."""
    start = line.find(DENIAL_PREFIX)
    if start < 0:
        return False
    _count_denial(line[start:])
    return True


def _count_denial(line: str) -> None:
    global _denial_total
    _recent_denials.append(line)
    _denial_total = next(_denial_counter)


def _reason(outcome: Outcome) -> str:
    if outcome.decision is Decision.EXPLICIT_DENY:
        return f"explicitly denied by statement {outcome.statement}"
    return "no statement of its policy allows it"


def denial_message(principal: str, outcome: Outcome) -> str:
    """AWS's wording of an access denial."""
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
    action, resource = outcome.request.action, outcome.request.resource
    head = f"User: {principal} is not authorized to perform: {action} on resource: {resource}"
    if outcome.decision is Decision.EXPLICIT_DENY:
        return f"{head} with an explicit deny in an identity-based policy"
    return f"{head} because no identity-based policy allows the {action} action"


_HOOK = ProcessHook(
    _STATE,
    (
        ("before-parameter-build", _on_parameters),
        ("before-call", _on_call),
    ),
)


# -- facts the request does not carry ------------------------------------------------------

_lookup_lock = threading.Lock()
# A table's key schema never changes once created; a secret's ARN changes when the secret is
# created again, so it is asked each time (powertools caches the secret's value anyway).
_table_keys: dict[tuple[str, str, str], TableKeys] = {}
_lookup_clients: dict[tuple[str, str, str], Any] = {}


@dataclass
class _Lookups:
    """Asks the service itself (moto) what IAM knows: key schemas, secrets' full ARNs."""

    request_url: str
    region: str
    signer: Any
    endpoint: str = field(init=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.request_url)
        self.endpoint = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""

    def _client(self, service: str) -> Any:
        key = (service, self.endpoint, self.region)
        with _lookup_lock:
            if key not in _lookup_clients:
                import botocore.session

                credentials = getattr(self.signer, "_credentials", None)
                frozen = credentials.get_frozen_credentials() if credentials else None
                _lookup_clients[key] = botocore.session.Session().create_client(
                    service,
                    region_name=self.region,
                    endpoint_url=self.endpoint or None,
                    aws_access_key_id=frozen.access_key if frozen else "testing",
                    aws_secret_access_key=frozen.secret_key if frozen else "testing",
                    aws_session_token=frozen.token if frozen else None,
                )
            return _lookup_clients[key]

    def _ask(self, service: str, operation: str, **params: Any) -> Any:
        """The service's answer, asked outside any enforcement; None for an error answer."""
        from botocore.exceptions import ClientError

        client = self._client(service)
        token = _BYPASS.set(True)
        try:
            return getattr(client, operation)(**params)
        except ClientError:
            return None
        finally:
            _BYPASS.reset(token)

    def table_keys(self, table_name: str) -> TableKeys:
        key = (self.endpoint, self.region, table_name)
        if key not in _table_keys:
            answer = self._ask("dynamodb", "describe_table", TableName=table_name)
            if answer is None:
                return TableKeys("")  # no such table: the call fails on its own, as in AWS
            table = answer["Table"]
            indexes = table.get("GlobalSecondaryIndexes", []) + table.get(
                "LocalSecondaryIndexes", []
            )
            _table_keys[key] = TableKeys(
                _hash_key(table["KeySchema"]),
                {index["IndexName"]: _hash_key(index["KeySchema"]) for index in indexes},
            )
        return _table_keys[key]

    def secret_arn(self, secret_id: str) -> str | None:
        answer = self._ask("secretsmanager", "describe_secret", SecretId=secret_id)
        return None if answer is None else str(answer["ARN"])


def _hash_key(schema: list[Mapping[str, str]]) -> str:
    return next(key["AttributeName"] for key in schema if key["KeyType"] == "HASH")
