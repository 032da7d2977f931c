"""Pseudonyms of addresses: keyed (HMAC), one spelling per mailbox, found across a rotation."""

from __future__ import annotations

import hashlib
import json

import pytest

from entraide.privacy.pseudonyms import Pseudonyms, keys_from_secret

OLD, NEW = "o" * 40, "n" * 40
ADDRESS = "Jean.Dupont@Exemple.fr"


def under(secret: dict[str, str]) -> Pseudonyms:
    text = json.dumps(secret)
    return Pseudonyms(lambda: keys_from_secret(text))


def test_a_pseudonym_is_not_the_bare_hash_of_the_address() -> None:
    # Given someone who knows the address and reads the table, but not the key
    bare = hashlib.sha256(ADDRESS.lower().encode()).hexdigest()
    # Then what they can compute is not what the table holds
    pseudonym = under({"current": NEW}).of(ADDRESS)
    assert len(pseudonym) == 64
    assert pseudonym != bare
    # and another key gives another pseudonym
    assert under({"current": OLD}).of(ADDRESS) != pseudonym


def test_case_and_surrounding_spaces_are_the_same_mailbox() -> None:
    keys = under({"current": NEW})
    assert keys.of(f"  {ADDRESS.upper()} ") == keys.of(ADDRESS.lower())


def test_after_a_rotation_records_of_both_keys_are_found() -> None:
    # Given records written under the old key, then the key rotated
    before = under({"current": OLD}).of(ADDRESS)
    rotated = under({"current": NEW, "previous": OLD})
    # Then new records get the new key, and a lookup tries both, the current first
    assert rotated.of(ADDRESS) == under({"current": NEW}).of(ADDRESS)
    assert rotated.candidates(ADDRESS) == [rotated.of(ADDRESS), before]


@pytest.mark.parametrize("secret", ["", "{}", '{"current": 12}', "pas du json"])
def test_a_malformed_secret_is_refused_without_quoting_it(secret: str) -> None:
    with pytest.raises(ValueError, match="pseudonym") as caught:
        Pseudonyms(lambda: keys_from_secret(secret)).of(ADDRESS)
    assert secret not in str(caught.value) or secret == ""


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        under({"current": "court"}).of(ADDRESS)
