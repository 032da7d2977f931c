"""``entraide effects``: what an operator gets for bad input and for a subject not held."""

from __future__ import annotations

import boto3
import pytest

from entraide.cli import main as entraide
from entraide.cli_target import Target
from entraide_local.provision import Deployment


@pytest.mark.parametrize(
    "argv",
    [
        ["effects", "rearm"],  # neither subjects nor --all
        ["effects", "rearm", "moderation:P1:v1", "--all"],  # both
        ["effects", "rearm", "moderation:P1:v1", "--owner", "moderate"],  # --owner alone
    ],
)
def test_a_rearm_without_a_clear_choice_is_refused_in_french_before_reading_anything(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given no stack to reach at all
    def unreachable(args: object) -> Target:
        raise AssertionError("the command read the ledger")

    monkeypatch.setattr("entraide.cli_effects.resolve_target", unreachable)
    # When the operator's command line says neither subjects nor --all, or says both
    code = entraide(argv)
    # Then it is refused with a French message, and nothing was read or written
    assert code == 1
    assert "erreur : " in capsys.readouterr().err


def test_a_subject_the_ledger_does_not_hold_is_named_and_the_command_fails(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a deployed table without the subject an operator copied from a log line
    target = Target(dict(deployment.outputs), boto3.client, "test stack")
    monkeypatch.setattr("entraide.cli_effects.resolve_target", lambda args: target)
    # When they show it, then rearm it
    shown = entraide(["effects", "show", "moderation:P404:v1"])
    rearmed = entraide(["effects", "rearm", "moderation:P404:v1"])
    # Then both say it is not in the ledger, and exit 1
    out = capsys.readouterr().out
    assert (shown, rearmed) == (1, 1)
    assert out.count("moderation:P404:v1 : absent du registre") == 2
    assert "0 sujet(s) relancé(s)" in out
