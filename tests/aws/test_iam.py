"""The IAM harness itself: moto made to refuse what AWS refuses (tests/contract/moto_iam.py),
and S3BlobStore's existence check under the permissions a role really has."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.core.authorization import enable_iam_authentication

from autolabel.aws import clients
from autolabel.aws.blobs import S3BlobStore
from autolabel.domain.errors import NotFound
from tests.aws.iam import ADMIN, create_user
from tests.contract.adapters import REGION, moto_aws

BUCKET = "autolabel-iam-test"
GET = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/datasets/*"}


def listing(*prefixes: str) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": f"arn:aws:s3:::{BUCKET}",
        "Condition": {"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}},
    }


@pytest.fixture
def store_for(tmp_path: Any) -> Iterator[Any]:
    """S3BlobStore under a user holding the given statements (IAM enforced)."""
    with moto_aws():
        admin = create_user(clients.session(REGION).client("iam"), "admin", ADMIN)
        iam = clients.session(REGION, admin).client("iam")  # users are made while IAM is enforced
        clients.s3(REGION).create_bucket(Bucket=BUCKET)
        clients.s3(REGION).put_object(Bucket=BUCKET, Key="datasets/d/there.png", Body=b"x")
        users = iter(range(100))

        def make(*statements: dict[str, Any]) -> S3BlobStore:
            keys = create_user(iam, f"u{next(users)}", list(statements))
            return S3BlobStore(clients.s3(REGION, keys), BUCKET, cache_dir=tmp_path / "cache")

        with enable_iam_authentication():
            yield make


def test_exists_answers_no_with_list_bucket_on_the_prefix(store_for: Any) -> None:
    store = store_for(GET, listing("datasets/"))
    assert store.exists("datasets/d/there.png")
    assert not store.exists("datasets/d/missing.png")
    with pytest.raises(NotFound):
        store.get("datasets/d/missing.png")


def test_without_list_bucket_a_missing_key_is_access_denied(store_for: Any) -> None:
    """What S3 does, and what moto did not: 403 instead of 404."""
    store = store_for(GET)
    assert store.exists("datasets/d/there.png")
    with pytest.raises(ClientError) as head:
        store.exists("datasets/d/missing.png")
    assert head.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError, match="AccessDenied"):
        store.get("datasets/d/missing.png")


def test_list_bucket_on_another_prefix_does_not_help(store_for: Any) -> None:
    store = store_for(GET, listing("models/"))
    with pytest.raises(ClientError):
        store.exists("datasets/d/missing.png")


def test_scoped_grants_match_their_resources_and_nothing_else() -> None:
    """moto checks DynamoDB against '*' unless taught the table's ARN: a grant on one table
    allows that table (and its index when the grant names it), not another one; a transaction
    needs each item's own action."""
    from autolabel.aws.records import create_table

    with moto_aws():
        iam = clients.session(REGION).client("iam")
        dynamodb = clients.dynamodb(REGION)
        for name in ("ours", "theirs"):
            create_table(dynamodb, name)
        table = "arn:aws:dynamodb:us-east-1:123456789012:table/ours"
        keys = create_user(
            iam,
            "reader",
            [
                {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"], "Resource": table},
                {"Effect": "Allow", "Action": "dynamodb:Query", "Resource": f"{table}/index/GSI1"},
            ],
        )
        client = clients.dynamodb(REGION, keys)
        key = {"PK": {"S": "a"}, "SK": {"S": "b"}}
        with enable_iam_authentication():
            client.put_item(TableName="ours", Item=key)
            assert client.get_item(TableName="ours", Key=key)["Item"] == key
            condition: dict[str, Any] = {
                "KeyConditionExpression": "GSI1PK = :p",
                "ExpressionAttributeValues": {":p": {"S": "x"}},
            }
            client.query(TableName="ours", IndexName="GSI1", **condition)
            with pytest.raises(ClientError, match="AccessDenied"):
                client.get_item(TableName="theirs", Key=key)
            with pytest.raises(ClientError, match="AccessDenied"):
                client.query(TableName="ours", IndexName="GSI2", **condition)
            put: Any = {"Put": {"TableName": "ours", "Item": key}}
            client.transact_write_items(TransactItems=[put])
            update: Any = {
                "Update": {
                    "TableName": "ours",
                    "Key": key,
                    "UpdateExpression": "SET x = :x",
                    "ExpressionAttributeValues": {":x": {"S": "1"}},
                }
            }
            with pytest.raises(ClientError, match=r"dynamodb:UpdateItem"):
                client.transact_write_items(TransactItems=[put, update])
