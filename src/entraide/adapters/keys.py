"""The platform's two generated keys, put once as SecureString parameters of SSM.

CloudFormation cannot create a SecureString parameter (see the template's
``LinkSigningKeyParameter``), so the keys are put before the stack is deployed, by
``entraide keys init`` (and by the local stack when it provisions): each one is generated
only when its parameter does not exist yet (``PutParameter`` without ``Overwrite`` refuses
an existing name, ``ParameterAlreadyExists``), so running it again, or after a rotation,
never replaces a key in use. Standard tier, AWS managed key ``aws/ssm``: both are
PutParameter's defaults.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from typing import Any


def new_link_signing_key() -> str:
    """64 hexadecimal characters: 32 random bytes, HMAC-SHA256's output size."""
    return secrets.token_hex(32)


def new_pseudonym_keys() -> str:
    """The pseudonyms' keys as ``keys_from_secret`` reads them: ``{"current": "…"}``; a
    rotation writes the old ``current`` as ``previous`` (``entraide.privacy.pseudonyms``)."""
    return json.dumps({"current": secrets.token_hex(32)})


#: Each key by the template parameter that names it: what it holds and how it is made.
PLATFORM_KEYS: Mapping[str, tuple[str, Callable[[], str]]] = {
    "LinkSigningKeyParameter": (
        "HMAC key of the signed moderation and withdrawal links",
        new_link_signing_key,
    ),
    "PseudonymKeyParameter": (
        'HMAC keys of the pseudonyms of posters\' addresses ({"current", "previous"})',
        new_pseudonym_keys,
    ),
}


def put_missing_keys(
    ssm: Any,
    names: Mapping[str, str],
    *,
    initial: Mapping[str, Callable[[], str]] | None = None,
) -> dict[str, bool]:
    """Puts each key whose parameter does not exist yet; ``names`` maps a template
    parameter of :data:`PLATFORM_KEYS` to its parameter's name. A key is generated, unless
    ``initial`` gives its value (by template parameter: a key kept until now elsewhere, so
    that links already sent and pseudonyms already written stay valid). Returns, per
    parameter name, whether it was put now (False: it existed and was kept as it is)."""
    put: dict[str, bool] = {}
    for template_parameter, name in names.items():
        description, generate = PLATFORM_KEYS[template_parameter]
        value = (initial or {}).get(template_parameter, generate)
        try:
            ssm.put_parameter(
                Name=name,
                Value=value(),
                Type="SecureString",
                Description=description,
                Overwrite=False,
            )
        except ssm.exceptions.ParameterAlreadyExists:
            put[name] = False
        else:
            put[name] = True
    return put
