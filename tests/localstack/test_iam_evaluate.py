"""The local IAM evaluator on AWS's documented examples.

Each policy below is (or follows) an example of the IAM User Guide or the DynamoDB
Developer Guide; the expected answers are the ones those pages give.
"""

from __future__ import annotations

from typing import Any

import pytest

from entraide_local.iam.conditions import PolicyError
from entraide_local.iam.evaluate import Decision, Policy, Request
from entraide_local.iam.patterns import ContextValue

TABLE = "arn:aws:dynamodb:us-west-2:123456789012:table/GameScores"


def decide(
    statements: list[dict[str, Any]],
    action: str,
    resource: str = "*",
    **context: ContextValue,
) -> Decision:
    policy = Policy({"Version": "2012-10-17", "Statement": statements})
    keys = {key.replace("__", ":").replace("_", "/"): value for key, value in context.items()}
    return policy.evaluate(Request(action, resource, keys)).decision


def condition(block: dict[str, Any], **context: ContextValue) -> bool:
    statement = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": block}
    return decide([statement], "s3:GetObject", **context) is Decision.ALLOWED


ALLOWED, EXPLICIT, IMPLICIT = Decision.ALLOWED, Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY


# -- evaluation logic -------------------------------------------------------------------------

# reference_policies_evaluation-logic_AccessPolicyLanguage_Interplay.html: AllowGetList and
# DenyReports.
REPORTS = [
    {
        "Sid": "AllowGetList",
        "Effect": "Allow",
        "Action": ["iam:Get*", "iam:List*"],
        "Resource": "*",
    },
    {"Sid": "DenyReports", "Effect": "Deny", "Action": "iam:*Report", "Resource": "*"},
]


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("iam:GetUser", ALLOWED),  # allowed by AllowGetList
        ("iam:CreatePolicy", IMPLICIT),  # "All other actions in IAM [...] are implicitly denied"
        ("iam:GetOrganizationsAccessReport", EXPLICIT),  # the Deny trumps the Allow
        ("iam:GenerateCredentialReport", EXPLICIT),
    ],
)
def test_an_explicit_deny_wins_over_an_allow_and_anything_unallowed_is_implicitly_denied(
    action: str, expected: Decision
) -> None:
    # Given the documented AllowGetList + DenyReports policy, When an action is asked
    # Then the documented answer comes back
    assert decide(REPORTS, action) is expected


def test_the_deciding_statement_is_named() -> None:
    # Given the documented policy, When a report action is denied
    outcome = Policy({"Statement": REPORTS}).evaluate(Request("iam:GetCredentialReport", "*"))
    # Then the denial names the statement that denied it
    assert (outcome.decision, outcome.statement) == (EXPLICIT, "DenyReports")


def test_actions_are_case_insensitive_and_take_wildcards() -> None:
    # Given statements written in another case, with * and ?
    statements = [
        {"Effect": "Allow", "Action": ["DynamoDB:getitem", "sqs:?endMessage"], "Resource": "*"}
    ]
    # Then the API's spelling matches, and ? is one character
    assert decide(statements, "dynamodb:GetItem") is ALLOWED
    assert decide(statements, "sqs:SendMessage") is ALLOWED
    assert decide(statements, "sqs:SendMessageBatch") is IMPLICIT


def test_not_action_and_not_resource_apply_to_everything_else() -> None:
    # Given an Allow of everything but IAM, and a Deny of everything but one bucket
    statements = [
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::reports/*"},
    ]
    # Then IAM is not allowed, S3 only on that bucket, the rest allowed
    assert decide(statements, "iam:GetUser") is IMPLICIT
    assert decide(statements, "s3:GetObject", "arn:aws:s3:::reports/2026-11.json") is ALLOWED
    assert decide(statements, "s3:GetObject", "arn:aws:s3:::other/x") is EXPLICIT
    assert decide(statements, "sns:Publish", "arn:aws:sns:eu-west-3:1:t") is ALLOWED


@pytest.mark.parametrize(
    ("pattern", "arn", "matches"),
    [
        ("arn:aws:dynamodb:*:*:table/table04", "arn:aws:dynamodb:eu-west-3:1:table/table04", True),
        ("arn:aws:s3:::reports/*", "arn:aws:s3:::reports/2026-11/report.html", True),
        ("arn:aws:dynamodb:eu-west-?:1:table/T", "arn:aws:dynamodb:eu-west-3:1:table/T", True),
        # a secret's ARN carries six random characters after the name
        (
            "arn:aws:secretsmanager:eu-west-3:1:secret:x-*",
            "arn:aws:secretsmanager:eu-west-3:1:secret:x-AbCdEf",
            True,
        ),
        (
            "arn:aws:secretsmanager:eu-west-3:1:secret:x",
            "arn:aws:secretsmanager:eu-west-3:1:secret:x-AbCdEf",
            False,
        ),
        # an index is a resource of its own
        (
            "arn:aws:dynamodb:eu-west-3:1:table/T",
            "arn:aws:dynamodb:eu-west-3:1:table/T/index/by_cell",
            False,
        ),
        # within a segment * stops at colons...
        ("arn:aws:sqs:eu-*3:1:q", "arn:aws:sqs:eu-west-3:1:q", True),
        ("arn:aws:sqs:*3:1:q", "arn:aws:sqs:eu-west-1:3:1:q", False),
        # ...unless it ends the segment: then it expands beyond the colons
        ("arn:aws:sqs:eu-*", "arn:aws:sqs:eu-west-3:123456789012:q", True),
        # ARNs are case-sensitive
        ("arn:aws:dynamodb:eu-west-3:1:table/t", "arn:aws:dynamodb:eu-west-3:1:table/T", False),
    ],
)
def test_resource_arns_match_segment_by_segment(pattern: str, arn: str, matches: bool) -> None:
    # Given an Allow on a resource pattern, When a request names an ARN
    statements = [{"Effect": "Allow", "Action": "*", "Resource": pattern}]
    # Then it matches as IAM's Resource element page says
    assert (decide(statements, "dynamodb:GetItem", arn) is ALLOWED) is matches


def test_a_policy_variable_in_a_resource_is_the_requests_value() -> None:
    # Given a per-user home folder (reference_policies_variables.html)
    statements = [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::home/${aws:username}/*"}
    ]
    # Then alice reaches her folder only, and a request without the key reaches nothing
    alice = "arn:aws:s3:::home/alice/notes.txt"
    assert decide(statements, "s3:GetObject", alice, aws__username="alice") is ALLOWED
    assert (
        decide(statements, "s3:GetObject", "arn:aws:s3:::home/bob/x", aws__username="alice")
        is IMPLICIT
    )
    assert decide(statements, "s3:GetObject", alice) is IMPLICIT


# -- conditions ---------------------------------------------------------------------------


def test_for_all_values_is_true_when_the_key_is_absent_and_for_any_value_false() -> None:
    # Given ForAllValues / ForAnyValue conditions on a multivalued key
    # (reference_policies_condition-single-vs-multi-valued-context-keys.html:
    # ForAllValues "also returns true if there are no context keys in the request")
    all_values = {"ForAllValues:StringLike": {"aws:TagKeys": "Created*"}}
    any_value = {"ForAnyValue:StringLike": {"aws:TagKeys": "Created*"}}
    # When the request has no such key, Then ForAllValues holds and ForAnyValue does not
    assert condition(all_values) is True
    assert condition(any_value) is False
    # When the request holds an empty set, Then the same
    assert condition(all_values, aws__TagKeys=()) is True
    assert condition(any_value, aws__TagKeys=()) is False


def test_for_all_values_wants_every_request_value_and_for_any_value_one() -> None:
    # Given the documented ForAllValues:StringLike aws:TagKeys "Created*"
    all_values = {"ForAllValues:StringLike": {"aws:TagKeys": "Created*"}}
    any_value = {"ForAnyValue:StringLike": {"aws:TagKeys": "Created*"}}
    both = ("CreatedBy", "CreatedAt")
    mixed = ("CreatedBy", "Owner")
    # Then ["CreatedBy", "CreatedAt"] satisfies both, a stranger only ForAnyValue
    assert condition(all_values, aws__TagKeys=both) is True
    assert condition(all_values, aws__TagKeys=mixed) is False
    assert condition(any_value, aws__TagKeys=mixed) is True
    assert condition(any_value, aws__TagKeys=("Owner",)) is False


def test_the_values_of_a_key_are_or_ed_and_negated_operators_nor_them() -> None:
    # Given several values for one key (reference_policies_multi-value-conditions.html)
    equals = {"StringEquals": {"aws:PrincipalTag/dept": ["finance", "legal"]}}
    not_equals = {"StringNotEquals": {"aws:PrincipalTag/dept": ["finance", "legal"]}}
    # Then StringEquals holds for any of them, StringNotEquals for none of them
    assert condition(equals, aws__PrincipalTag_dept="legal") is True
    assert condition(equals, aws__PrincipalTag_dept="ops") is False
    assert condition(not_equals, aws__PrincipalTag_dept="legal") is False
    assert condition(not_equals, aws__PrincipalTag_dept="ops") is True


def test_a_missing_key_fails_a_positive_operator_and_passes_a_negated_one() -> None:
    # Given conditions on a key the request does not carry (condition operators page:
    # "If the policy condition requires that the key is not matched, such as StringNotLike
    # or ArnNotLike, and the right key is not present, the condition is true")
    assert condition({"StringLike": {"aws:PrincipalTag/dept": "*"}}) is False
    assert condition({"StringNotLike": {"aws:PrincipalTag/dept": "x"}}) is True
    assert condition({"ArnNotLike": {"aws:SourceArn": "arn:aws:sns:*"}}) is True
    # ...and IfExists makes a missing key pass, a present one is still tested
    if_exists = {"StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"}}
    assert condition(if_exists) is True
    assert condition(if_exists, dynamodb__Select="ALL_ATTRIBUTES") is False
    assert condition(if_exists, dynamodb__Select="SPECIFIC_ATTRIBUTES") is True


def test_operators_keys_and_values_combine_as_documented() -> None:
    # Given two operators, one with two keys: all must hold
    block = {
        "StringEquals": {"aws:PrincipalTag/dept": "legal", "aws:PrincipalTag/role": "audit"},
        "Bool": {"aws:SecureTransport": "true"},
    }
    full = {"aws__PrincipalTag_dept": "legal", "aws__PrincipalTag_role": "audit"}
    assert condition(block, aws__SecureTransport="true", **full) is True
    assert condition(block, aws__SecureTransport="false", **full) is False
    assert condition(block, aws__SecureTransport="true", aws__PrincipalTag_dept="legal") is False


@pytest.mark.parametrize(
    ("block", "context", "holds"),
    [
        (
            {"StringEqualsIgnoreCase": {"ses:FromAddress": "Moi@Example.org"}},
            {"ses__FromAddress": "moi@example.org"},
            True,
        ),
        (
            {"StringEquals": {"ses:FromAddress": "Moi@Example.org"}},
            {"ses__FromAddress": "moi@example.org"},
            False,
        ),
        (
            {"StringLike": {"ses:FromAddress": "invoicing*@example.com"}},
            {"ses__FromAddress": "invoicing-fr@example.com"},
            True,
        ),
        ({"StringLike": {"ses:FromAddress": "a?c"}}, {"ses__FromAddress": "abbc"}, False),
        ({"Bool": {"aws:SecureTransport": "false"}}, {"aws__SecureTransport": "false"}, True),
        ({"Null": {"aws:TokenIssueTime": "true"}}, {}, True),
        (
            {"Null": {"aws:TokenIssueTime": "true"}},
            {"aws__TokenIssueTime": "2026-12-01T00:00:00Z"},
            False,
        ),
        (
            {"Null": {"aws:TokenIssueTime": "false"}},
            {"aws__TokenIssueTime": "2026-12-01T00:00:00Z"},
            True,
        ),
        ({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3__max-keys": "9"}, True),
        ({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3__max-keys": "10"}, False),
        ({"NumericGreaterThanEquals": {"s3:max-keys": "10"}}, {"s3__max-keys": "ten"}, False),
        (
            {"DateGreaterThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}},
            {"aws__CurrentTime": "2026-12-06T10:00:00Z"},
            True,
        ),
        (
            {"DateLessThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}},
            {"aws__CurrentTime": "2026-12-06T10:00:00Z"},
            False,
        ),
        (
            {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:*"}},
            {"aws__SourceArn": "arn:aws:sns:eu-west-3:123456789012:approved"},
            True,
        ),
        (
            {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:*:123456789012:*"}},
            {"aws__SourceArn": "arn:aws:sns:eu-west-3:999999999999:approved"},
            False,
        ),
        ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws__SourceIp": "203.0.113.7"}, True),
        (
            {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
            {"aws__SourceIp": "203.0.113.7"},
            False,
        ),
        # `${*}` is a literal star, not a wildcard
        ({"StringLike": {"s3:prefix": "a${*}"}}, {"s3__prefix": "a*"}, True),
        ({"StringLike": {"s3:prefix": "a${*}"}}, {"s3__prefix": "ab"}, False),
    ],
)
def test_condition_operators(block: dict[str, Any], context: dict[str, str], holds: bool) -> None:
    # Given one condition, When a request carries the key's value, Then the operator decides
    assert condition(block, **context) is holds


def test_condition_key_names_are_case_insensitive() -> None:
    assert condition({"StringEquals": {"SES:FROMADDRESS": "x@y"}}, ses__fromaddress="x@y") is True


# -- DynamoDB's documented fine-grained access examples ----------------------------------------


def test_leading_keys_limit_a_user_to_items_of_their_partition() -> None:
    # Given example 1 of specifying-conditions.html (FullAccessToUserItems)
    statements = [
        {
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"],
            "Resource": [TABLE],
            "Condition": {
                "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${www.amazon.com:user_id}"]}
            },
        }
    ]
    user = {"www.amazon.com:user_id": "amzn1.account.ALICE"}
    # Then Alice reads her items, not Bob's, and a batch touching both is refused
    own = Request(
        "dynamodb:GetItem", TABLE, {**user, "dynamodb:LeadingKeys": ("amzn1.account.ALICE",)}
    )
    other = Request(
        "dynamodb:GetItem", TABLE, {**user, "dynamodb:LeadingKeys": ("amzn1.account.BOB",)}
    )
    both = Request(
        "dynamodb:PutItem",
        TABLE,
        {**user, "dynamodb:LeadingKeys": ("amzn1.account.ALICE", "amzn1.account.BOB")},
    )
    policy = Policy({"Statement": statements})
    assert [policy.evaluate(r).decision for r in (own, other, both)] == [
        ALLOWED,
        IMPLICIT,
        IMPLICIT,
    ]


def test_only_transactional_operations_when_the_enclosing_operation_is_required() -> None:
    # Given example 2 of transaction-apis-iam.html (allow only transactional operations)
    statements = [
        {
            "Effect": "Allow",
            "Action": ["dynamodb:ConditionCheckItem", "dynamodb:PutItem", "dynamodb:GetItem"],
            "Resource": [TABLE],
            "Condition": {
                "ForAnyValue:StringEquals": {
                    "dynamodb:EnclosingOperation": ["TransactWriteItems", "TransactGetItems"]
                }
            },
        }
    ]
    # Then a Put inside TransactWriteItems is allowed, a plain PutItem is not
    inside = decide(
        statements, "dynamodb:PutItem", TABLE, dynamodb__EnclosingOperation="TransactWriteItems"
    )
    assert inside is ALLOWED
    assert decide(statements, "dynamodb:PutItem", TABLE) is IMPLICIT


# -- what IAM would refuse -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        ({"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Principal": "*"}, "Principal"),
        (
            {"Effect": "Allow", "Action": "s3:*", "NotAction": "s3:Get*", "Resource": "*"},
            "exactly one",
        ),
        ({"Effect": "Allow", "Action": "s3:*"}, "exactly one of Resource"),
        ({"Effect": "Permit", "Action": "s3:*", "Resource": "*"}, "Effect"),
        ({"Effect": "Allow", "Action": "GetObject", "Resource": "*"}, "service:Action"),
        (
            {
                "Effect": "Allow",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"StringSortOf": {"a:b": "c"}},
            },
            "unknown condition operator",
        ),
    ],
)
def test_a_malformed_policy_is_refused(statement: dict[str, Any], problem: str) -> None:
    with pytest.raises(PolicyError, match=problem):
        Policy({"Statement": [statement]})
