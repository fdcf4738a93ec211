"""What moto 5.2.5's IAM enforcement leaves out, added so that it refuses what AWS refuses.

* **Resources.** moto checks DynamoDB, Step Functions and CloudWatch actions against the
  resource ``*`` (and SQS's CreateQueue/GetQueueUrl of a queue that does not exist yet too), so
  a statement scoped to a table, state machine, alarm or queue ARN never matches and every
  least-privilege policy is refused. Here each request is checked against the ARNs AWS checks:
  the table (``/index/<name>`` for an index read), every table of a batch, each item of a
  transaction under its own action (AWS has no ``TransactWriteItems`` permission: it needs
  PutItem/UpdateItem/DeleteItem/ConditionCheckItem per item), the state machine or execution,
  each alarm, the queue (whose batch calls need the single call's permission, as on AWS), the
  function a state machine invokes (``lambda:InvokeFunction``).
  CloudWatch signs as ``monitoring`` but its IAM prefix is ``cloudwatch``.
* **S3's missing key.** AWS answers HeadObject/GetObject of a key that does not exist with 403
  AccessDenied, not 404, unless the caller may ``s3:ListBucket`` the bucket (evaluated with
  ``s3:prefix`` = the key); moto always answers 404.

Both apply only while IAM is enforced (``enforcing_iam``); without enforcement moto is as it was.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock
from urllib.parse import unquote, urlparse

ACCOUNT = "123456789012"


def enforcing() -> bool:
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    return bool(ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT)


def _dynamodb_checks(response: Any) -> list[tuple[str, str]]:
    action = response._get_action()
    region, account = response.region, response.current_account

    def table(name: str, index: str | None = None) -> str:
        arn = f"arn:aws:dynamodb:{region}:{account}:table/{name}"
        return f"{arn}/index/{index}" if index else arn

    if action in ("BatchGetItem", "BatchWriteItem"):
        return [(action, table(name)) for name in response._get_param("RequestItems", {})]
    if action == "TransactWriteItems":
        kinds = {
            "Put": "PutItem",
            "Update": "UpdateItem",
            "Delete": "DeleteItem",
            "ConditionCheck": "ConditionCheckItem",
        }
        return [
            (kinds[kind], table(body["TableName"]))
            for item in response._get_param("TransactItems", [])
            for kind, body in item.items()
        ]
    if action == "TransactGetItems":
        return [("GetItem", table(i["Get"]["TableName"])) for i in response._get_param("TransactItems", [])]
    name = response._get_param("TableName")
    return [(action, table(name, response._get_param("IndexName")) if name else "*")]


# SQS authorizes a batch call with the single call's permission; there is no IAM action for it.
SQS_BATCHES = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}


def _sqs_checks(response: Any) -> list[tuple[str, str]]:
    name = response._get_param("QueueName") or response._get_queue_name()
    action = response._get_action()
    return [(SQS_BATCHES.get(action, action), f"arn:aws:sqs:{response.region}:{response.current_account}:{name}")]


def _states_checks(response: Any) -> list[tuple[str, str]]:
    body = json.loads(response.body or "{}")
    arn = body.get("executionArn") or body.get("stateMachineArn") or "*"
    return [(response._get_action(), arn)]


def _cloudwatch_checks(response: Any) -> list[tuple[str, str]]:
    action = response._get_action()
    alarm = f"arn:aws:cloudwatch:{response.region}:{response.current_account}:alarm:"
    if action == "PutMetricAlarm":
        return [(action, alarm + response._get_param("AlarmName"))]
    if action == "DeleteAlarms":
        return [(action, alarm + name) for name in response._get_param("AlarmNames", [])]
    return [(action, "*")]


def _lambda_checks(response: Any) -> list[tuple[str, str]]:
    action = response._get_action()
    if action != "Invoke":
        return [(action, "*")]
    name = unquote(response.path.rsplit("/", 2)[-2])
    arn = (
        name
        if name.startswith("arn:")
        else f"arn:aws:lambda:{response.region}:{response.current_account}:function:{name}"
    )
    qualifier = response._get_param("qualifier")
    return [("InvokeFunction", f"{arn}:{qualifier}" if qualifier else arn)]


# moto's response class name → (IAM service prefix, the (action, resource) pairs of a request)
CHECKS = {
    "LambdaResponse": ("lambda", _lambda_checks),
    "DynamoHandler": ("dynamodb", _dynamodb_checks),
    "SQSResponse": ("sqs", _sqs_checks),
    "StepFunctionResponse": ("states", _states_checks),
    "CloudWatchResponse": ("cloudwatch", _cloudwatch_checks),
}


@contextmanager
def iam_fidelity() -> Iterator[None]:
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.access_control import IAMRequest
    from moto.s3.exceptions import BucketAccessDeniedError, MissingKey
    from moto.s3.responses import S3Response

    authorize = ActionAuthenticatorMixin._authenticate_and_authorize_normal_action

    def authorize_each(self: Any, resource: str = "*") -> None:
        found = CHECKS.get(type(self).__name__)
        if found is None or not enforcing():
            authorize(self, resource)
            return
        prefix, checks = found
        query = urlparse(self.uri).query
        for action, arn in checks(self):
            request = IAMRequest(
                account_id=self.current_account,
                method=self.method,
                path=self.raw_path + (f"?{query}" if query else ""),
                data=self.data,
                body=self.raw_body,
                headers=self.headers,
                action=action,
            )
            request._action = f"{prefix}:{action}"
            request.check_signature()
            request.check_action_permitted(arn)

    head, get = S3Response.head_object, S3Response._key_response_get

    def refuse_unless_listable(response: Any, bucket: str, key: str) -> None:
        if enforcing() and not may_list(response, bucket, key):
            raise BucketAccessDeniedError(bucket=bucket)

    def head_object(self: Any, bucket_name: str, query: Any, key_name: str, headers: Any) -> Any:
        result = head(self, bucket_name, query, key_name, headers)
        if result[0] == 404:
            refuse_unless_listable(self, bucket_name, key_name)
        return result

    def key_response_get(self: Any, query: Any, key_name: str) -> Any:
        try:
            return get(self, query, key_name)
        except MissingKey:
            refuse_unless_listable(self, self.bucket_name, key_name)
            raise

    with (
        mock.patch.object(ActionAuthenticatorMixin, "_authenticate_and_authorize_normal_action", authorize_each),
        mock.patch.object(S3Response, "head_object", head_object),
        mock.patch.object(S3Response, "_key_response_get", key_response_get),
    ):
        yield


def may_list(response: Any, bucket: str, key: str) -> bool:
    """Whether the request's caller holds s3:ListBucket on the bucket for ``s3:prefix`` = key."""
    from moto.iam.access_control import IAMPolicy, create_access_key

    access_key_id = response.headers["Authorization"].partition("Credential=")[2].partition("/")[0]
    caller = create_access_key(ACCOUNT, "aws", access_key_id, response.headers)
    context = {"s3:prefix": key}
    allowed = False
    for policy in caller.collect_policies():
        statements = IAMPolicy(policy)._policy_json["Statement"]
        for statement in statements if isinstance(statements, list) else [statements]:
            if not (
                _matches(statement.get("Action"), "s3:ListBucket")
                and _matches(statement.get("Resource"), f"arn:aws:s3:::{bucket}")
                and _conditions_hold(statement.get("Condition", {}), context)
            ):
                continue
            if statement["Effect"] == "Deny":
                return False
            allowed = True
    return allowed


def _matches(patterns: str | list[str] | None, value: str) -> bool:
    if patterns is None:
        return False
    candidates = [patterns] if isinstance(patterns, str) else patterns
    return any(re.fullmatch(fnmatch.translate(p), value, re.IGNORECASE) for p in candidates)


def _conditions_hold(conditions: dict[str, dict[str, Any]], context: dict[str, str]) -> bool:
    """StringLike / StringEquals on keys of the request's context; any other operator is a
    question this model cannot answer, so it fails the test rather than guess."""
    for operator, tests in conditions.items():
        for name, expected in tests.items():
            values = [expected] if isinstance(expected, str) else expected
            actual = context.get(name)
            if actual is None:
                return False
            if operator == "StringLike":
                if not any(fnmatch.fnmatchcase(actual, v) for v in values):
                    return False
            elif operator == "StringEquals":
                if actual not in values:
                    return False
            else:
                raise AssertionError(f"the S3 missing-key model does not evaluate {operator}")
    return True
