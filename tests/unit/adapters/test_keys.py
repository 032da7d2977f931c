"""The platform's keys put as SecureString parameters, once, never over a key in use."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from entraide.adapters.keys import PLATFORM_KEYS, put_missing_keys
from entraide.adapters.secrets import key_reader
from entraide.cli import main
from entraide.cli_keys import DEFAULT_PARAMETERS
from entraide.privacy.pseudonyms import MIN_KEY_BYTES, keys_from_secret
from entraide_local.template import load_template
from tests.paths import ROOT

REGION = "eu-west-3"
NAMES = {"LinkSigningKeyParameter": "/t/link", "PseudonymKeyParameter": "/t/pseudonyms"}


@pytest.fixture
def ssm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield boto3.client("ssm", region_name=REGION)


def test_missing_keys_are_put_as_secure_strings_that_the_functions_can_use(ssm: Any) -> None:
    # Given no key yet
    # When the keys are put
    put = put_missing_keys(ssm, NAMES)
    # Then both are new SecureString parameters (encrypted with the default key aws/ssm),
    # long enough for HMAC-SHA256, the pseudonyms' one in the rotation's format
    assert put == {"/t/link": True, "/t/pseudonyms": True}
    for name in NAMES.values():
        parameter = ssm.get_parameter(Name=name)["Parameter"]
        assert parameter["Type"] == "SecureString"
        assert ssm.describe_parameters()["Parameters"][0]["Tier"] == "Standard"
    read = key_reader()
    assert len(read("/t/link").encode()) >= 32
    [current] = keys_from_secret(read("/t/pseudonyms"))
    assert len(current) >= MIN_KEY_BYTES


def test_a_key_that_exists_is_kept_as_it_is(ssm: Any) -> None:
    # Given a pseudonym key already rotated once, and no link key
    rotated = json.dumps({"current": "n" * 64, "previous": "o" * 64})
    ssm.put_parameter(Name="/t/pseudonyms", Value=rotated, Type="SecureString")
    # When the keys are put again
    put = put_missing_keys(ssm, NAMES)
    # Then the existing one is untouched (its previous key too), the missing one is put
    assert put == {"/t/link": True, "/t/pseudonyms": False}
    value = ssm.get_parameter(Name="/t/pseudonyms", WithDecryption=True)["Parameter"]["Value"]
    assert value == rotated
    assert ssm.get_parameter(Name="/t/pseudonyms")["Parameter"]["Version"] == 1


def test_keys_init_uses_the_templates_names_and_can_run_twice(
    ssm: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the template's defaults for the two parameters
    parameters = load_template(ROOT / "template.yaml").parameters
    assert {name: parameters[name].default for name in PLATFORM_KEYS} == DEFAULT_PARAMETERS
    # When the operator runs keys init twice
    assert main(["keys", "init"]) == 0
    first = {
        name: ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
        for name in DEFAULT_PARAMETERS.values()
    }
    assert main(["keys", "init"]) == 0
    # Then the second run keeps the first run's keys, and nothing printed shows a key
    again = {
        name: ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
        for name in DEFAULT_PARAMETERS.values()
    }
    assert again == first
    printed = capsys.readouterr().out
    assert printed.count("créée") == 2
    assert printed.count("gardée") == 2
    assert not any(value in printed for value in first.values())


def test_a_stack_that_kept_its_keys_in_secrets_manager_keeps_them(
    ssm: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the two secrets a stack kept its keys in until now (the pseudonyms' rotated)
    secrets = boto3.client("secretsmanager", region_name=REGION)
    signing = "s" * 64
    pseudonyms = json.dumps({"current": "c" * 64, "previous": "p" * 64})
    secrets.create_secret(Name="old-signing", SecretString=signing)
    secrets.create_secret(Name="old-pseudonyms", SecretString=pseudonyms)
    # When the keys are put from them
    argv = ["keys", "init", "--link-signing-from-secret", "old-signing"]
    assert main([*argv, "--pseudonym-from-secret", "old-pseudonyms"]) == 0
    # Then the parameters hold the same keys: links sent and pseudonyms written stay valid
    read = key_reader()
    assert read(DEFAULT_PARAMETERS["LinkSigningKeyParameter"]) == signing
    assert keys_from_secret(read(DEFAULT_PARAMETERS["PseudonymKeyParameter"])) == [
        b"c" * 64,
        b"p" * 64,
    ]
    assert signing not in capsys.readouterr().out


def test_a_secret_the_functions_could_not_read_is_refused(ssm: Any) -> None:
    # Given an old pseudonym secret that is not {"current": …}
    secrets = boto3.client("secretsmanager", region_name=REGION)
    secrets.create_secret(Name="old-pseudonyms", SecretString="not json")
    # When the keys are put from it
    status = main(["keys", "init", "--pseudonym-from-secret", "old-pseudonyms"])
    # Then nothing is put for it, and the command fails
    assert status != 0
    names = [p["Name"] for p in ssm.describe_parameters()["Parameters"]]
    assert DEFAULT_PARAMETERS["PseudonymKeyParameter"] not in names
