"""Each function's IAM role, as the CDK app synthesizes it, made into a moto IAM user.

The statements are read from the synthesized template (every ``AWS::IAM::Policy`` attached to
the function's role) with their intrinsics resolved to the moto resources' names and ARNs. A
resource the tests do not create (a log group, the alarm topic) resolves to an ARN that matches
nothing, so a grant on it allows nothing here: the harness can only be stricter than the stack.
The function's environment is resolved the same way, so the code runs with the names its
policy was written for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from autolabel.aws.clients import AccessKey
from tests.infra.conftest import Synthesized

ACCOUNT = "123456789012"
PSEUDO = {"AWS::Partition": "aws", "AWS::AccountId": ACCOUNT, "AWS::URLSuffix": "amazonaws.com"}


@dataclass(frozen=True)
class Physical:
    """What ``Ref`` and ``Fn::GetAtt <id>.Arn`` of one template resource resolve to in moto."""

    ref: str
    arn: str


class Resolver:
    def __init__(self, region: str, resources: dict[str, Physical]) -> None:
        self.region = region
        self.resources = resources

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, argument),) = value.items()
            if name == "Ref":
                if argument == "AWS::Region":
                    return self.region
                return PSEUDO.get(argument) or self._physical(argument).ref
            if name == "Fn::GetAtt":
                logical, attribute = argument
                assert attribute == "Arn", f"no model of {logical}.{attribute}"
                return self._physical(logical).arn
            if name == "Fn::Join":
                separator, parts = argument
                return separator.join(str(self(p)) for p in parts)
            if name == "Fn::Select":
                index, items = argument
                return self(items)[int(index)]
            if name == "Fn::Split":
                separator, text = argument
                return str(self(text)).split(separator)
            assert not name.startswith("Fn::"), f"no model of {name}"
        return {k: self(v) for k, v in value.items()}

    def _physical(self, logical: str) -> Physical:
        unmapped = f"arn:aws:unmapped:{self.region}:{ACCOUNT}:{logical}"
        return self.resources.get(logical, Physical(ref=unmapped, arn=unmapped))


def role_statements(synthesized: Synthesized, function: Any) -> list[dict[str, Any]]:
    """Every statement of every policy CloudFormation attaches to the function's role."""
    role_id = synthesized.logical_id(function.role)
    role = synthesized.template["Resources"][role_id]["Properties"]
    # Managed policies would be granted outside the template; the stack's roles have none.
    assert not role.get("ManagedPolicyArns") and not role.get("Policies"), role_id
    statements: list[dict[str, Any]] = []
    for policy in synthesized.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"].get("Roles", []):
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    assert statements, f"no policy attached to {role_id}"
    return statements


def environment(synthesized: Synthesized, construct: Any, resolve: Resolver) -> dict[str, str]:
    """A function's environment variables (none for a state machine)."""
    properties = synthesized.template["Resources"][synthesized.logical_id(construct)]["Properties"]
    return {k: str(v) for k, v in resolve(properties.get("Environment", {}).get("Variables", {})).items()}


def create_user(iam: Any, name: str, statements: list[dict[str, Any]]) -> AccessKey:
    """A user holding exactly these statements, one inline policy each (so a test can take one
    away by name: ``s<index>``)."""
    iam.create_user(UserName=name)
    for index, statement in enumerate(statements):
        document = {"Version": "2012-10-17", "Statement": [statement]}
        iam.put_user_policy(UserName=name, PolicyName=f"s{index}", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return AccessKey(key["AccessKeyId"], key["SecretAccessKey"])


ADMIN = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
