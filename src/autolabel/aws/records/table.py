"""The retrying client of the records table: reads, paged queries, chunked batch operations and
transactions, retried with backoff (full jitter) where DynamoDB leaves work undone. It knows
the ``PK``/``SK`` and index key names, nothing of what the items mean."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from autolabel.aws.errors import Throttled, code_of
from autolabel.aws.records.codecs import Item, S, text
from autolabel.aws.records.keys import key
from autolabel.domain.errors import Contended

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

WRITE_CHUNK = 25  # BatchWriteItem's limit
GET_CHUNK = 100  # BatchGetItem's limit
TRANSACT_LIMIT = 100  # TransactWriteItems' limit


class Cancelled(Exception):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__(reasons)
        self.reasons = reasons


class Table:
    """One table through one client; ``sleep`` waits between retries (tests pass a no-op)."""

    def __init__(self, client: DynamoDBClient, name: str, sleep: Any = time.sleep) -> None:
        self.client = client
        self.name = name
        self._sleep = sleep

    def get(self, pk: str, sk: str) -> Item | None:
        response = self.client.get_item(TableName=self.name, Key=key(pk, sk), ConsistentRead=True)
        item: Item | None = response.get("Item")
        return item

    def query(
        self,
        index: str | None,
        condition: str,
        values: Item,
        names: dict[str, str] | None = None,
        forward: bool = True,
        filter_expression: str | None = None,
    ) -> Iterator[Item]:
        params: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": forward,
        }
        if names:
            params["ExpressionAttributeNames"] = names
        if filter_expression:
            params["FilterExpression"] = filter_expression
        if index:
            params["IndexName"] = index
        else:
            params["ConsistentRead"] = True
        while True:
            response = self.client.query(**params)
            yield from response.get("Items", [])
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            params["ExclusiveStartKey"] = last

    def partition(self, pk: str, prefix: str, after: str | None = None, state: str | None = None) -> Iterator[Item]:
        """Items of one partition whose sort key starts with ``prefix`` (after ``after``), only
        those in ``state`` if given (filtered server-side: read units still count every item)."""
        # "$" is the character after "#", so [prefix, prefix-with-# -> $) spans the prefix.
        if not prefix and after is None:
            yield from self.query(None, "PK = :pk", {":pk": S(pk)})
            return
        upper = prefix[:-1] + "$" if prefix.endswith("#") else prefix + "\uffff"
        values = {":pk": S(pk), ":lo": S(after or prefix), ":hi": S(upper)}
        names: dict[str, str] | None = None
        condition: str | None = None
        if state is not None:
            values[":state"] = S(state)
            names, condition = {"#state": "state"}, "#state = :state"
        for item in self.query(
            None, "PK = :pk AND SK BETWEEN :lo AND :hi", values, names=names, filter_expression=condition
        ):
            if after is None or text(item, "SK") != after:
                yield item

    def index(self, index: str, pk: str, after: str | None = None, prefix: str = "") -> Iterator[Item]:
        values = {":pk": S(pk), ":lo": S(after or prefix or " "), ":hi": S(prefix + "\uffff")}
        condition = f"{index}PK = :pk AND {index}SK BETWEEN :lo AND :hi"
        for item in self.query(index, condition, values):
            if after is None or text(item, f"{index}SK") != after:
                yield item

    def batch_get(self, keys: Sequence[Item]) -> list[Item]:
        found: list[Item] = []
        for start in range(0, len(keys), GET_CHUNK):
            request: Any = {self.name: {"Keys": list(keys[start : start + GET_CHUNK]), "ConsistentRead": True}}
            for attempt in range(10):
                response = self.client.batch_get_item(RequestItems=request)
                found.extend(response.get("Responses", {}).get(self.name, []))
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                self.backoff(attempt)
            else:
                raise unprocessed("BatchGetItem", "keys")
        return found

    def batch_write(self, requests: Sequence[Item]) -> None:
        for start in range(0, len(requests), WRITE_CHUNK):
            pending: Any = {self.name: list(requests[start : start + WRITE_CHUNK])}
            for attempt in range(10):
                response = self.client.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}
                if not pending:
                    break
                self.backoff(attempt)
            else:
                raise unprocessed("BatchWriteItem", "writes")

    def backoff(self, attempt: int) -> None:
        # Full jitter: concurrent Lambdas throttled together do not retry together.
        self._sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))  # noqa: S311

    def transact(self, items: Sequence[Item]) -> None:
        """TransactWriteItems; raises Cancelled with one reason code per item."""
        for attempt in range(8):
            try:
                self.client.transact_write_items(TransactItems=list(items))  # type: ignore[arg-type]
                return
            except ClientError as exc:
                if code_of(exc) != "TransactionCanceledException":
                    raise
                reasons = [str(r.get("Code", "None")) for r in exc.response.get("CancellationReasons", [])]
                if not reasons:
                    raise
                if "ConditionalCheckFailed" in reasons:
                    raise Cancelled(reasons) from None
                # TransactionConflict / throttling on one item: the whole transaction may retry.
                self.backoff(attempt)
        raise Contended("a DynamoDB transaction kept conflicting with other writers; try again")

    def put_new(self, item: Item) -> bool:
        """PutItem unless the key exists; False when it did."""
        try:
            self.client.put_item(TableName=self.name, Item=item, ConditionExpression="attribute_not_exists(PK)")
        except ClientError as exc:
            if code_of(exc) != "ConditionalCheckFailedException":
                raise
            return False
        return True


def unprocessed(operation: str, what: str) -> Throttled:
    """DynamoDB leaves batch items unprocessed when it throttles them: the same condition as a
    throttled call, under the name the state machine retries."""
    code, message = "ProvisionedThroughputExceededException", f"DynamoDB left {what} unprocessed"
    return Throttled({"Error": {"Code": code, "Message": message}}, operation)
