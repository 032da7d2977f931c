"""Pseudonyms of email addresses: HMAC-SHA256 under a secret key, never a bare hash.

The table names a poster (their history, their match notices) by a pseudonym, never by
their address. A bare SHA-256 of an address can be recomputed by anyone who knows the
address and can read the table ("did jean@exemple.fr post?"); an HMAC cannot without
the key, a SecureString parameter of SSM (read by the functions that meet addresses).

**Rotation.** The parameter holds ``{"current": "…", "previous": "…"}`` (``previous`` only
after a rotation; :func:`keys_from_secret`). New records are keyed with the current key;
every lookup by address tries both, so that records written before a rotation are still
found (near-duplicate check, erasure on request) until they are gone. To rotate, write the
old ``current`` as ``previous`` and a new ``current``; drop ``previous`` once every post
older than the rotation has ended and its data expired. Dropping it earlier orphans those
records from lookups by address: they would still expire on time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Sequence

#: The shortest key accepted: HMAC-SHA256's block is 64 bytes, its output 32.
MIN_KEY_BYTES = 32


def keys_from_secret(secret: str) -> list[bytes]:
    """The keys a secret holds, current first: ``{"current": "…", "previous": "…"}``.

    The error never quotes the secret.
    """
    try:
        document = json.loads(secret)
        keys = [document["current"], *([document["previous"]] if document.get("previous") else [])]
    except (ValueError, TypeError, KeyError):
        raise ValueError('The pseudonym secret must be {"current": "…"} (JSON).') from None
    if not all(isinstance(key, str) for key in keys):
        raise ValueError("The pseudonym keys must be strings.")
    return [key.encode("utf-8") for key in keys]


def normalised_address(email: str) -> str:
    """One spelling per mailbox: surrounding spaces and case do not make another person."""
    return email.strip().lower()


class Pseudonyms:
    """The pseudonym of an address under each known key; ``keys`` is read on each use
    (its source caches it), so that a rotated key is picked up without a cold start."""

    def __init__(self, keys: Callable[[], Sequence[bytes]]) -> None:
        self._keys = keys

    def _checked_keys(self) -> Sequence[bytes]:
        keys = self._keys()
        if not keys or any(len(key) < MIN_KEY_BYTES for key in keys):
            raise ValueError(f"Pseudonym keys need at least {MIN_KEY_BYTES} bytes each.")
        return keys

    @staticmethod
    def _under(key: bytes, email: str) -> str:
        message = normalised_address(email).encode("utf-8")
        return hmac.new(key, message, hashlib.sha256).hexdigest()

    def of(self, email: str) -> str:
        """The pseudonym new records get: under the current key (64 hex digits)."""
        return self._under(self._checked_keys()[0], email)

    def candidates(self, email: str) -> list[str]:
        """The pseudonyms records of ``email`` may carry: one per known key, current first."""
        return list(dict.fromkeys(self._under(key, email) for key in self._checked_keys()))
