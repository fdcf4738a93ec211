"""AWS's size and time limits, which moto does not enforce, checked on everything the AWS tests
do. ``enforced()`` hooks three choke points for its duration:

* every botocore API call (``BaseClient._make_api_call``, so every client in the process,
  powertools' too): SQS message and batch sizes, DynamoDB batch and transaction sizes before the
  call, the size of each DynamoDB item a write leaves behind after it (read from moto's table);
* every event moto's Step Functions interpreter records: a state's input, output, parameters
  or a task's result;
* every Lambda handler invocation the AWS harness makes (``invoke``): request and response
  payloads, and for API routes the modelled duration (below).

A breach raises ``LimitExceeded`` where AWS would refuse (so the code sees an error, as on AWS)
and is also recorded, so that a breach the code swallows, or one inside moto's interpreter
thread, still fails the test when ``enforced()`` exits.

**Modelled time of an API route** = the handler's own wall time (measured, minus the time spent
inside AWS calls, which is moto's in-process work) + for each AWS call the latency in
``LATENCY_S`` (+ its bytes at ``S3_BYTES_PER_S`` for S3 transfers). The table leans high: the
cost bench's round trips (DynamoDB 5-40 ms, S3 GET 30 ms, SQS 20 ms, docs/ARCHITECTURE.md
"Cost") rounded up to a slow p99, control-plane calls (queues, alarms, executions) at 100 ms, and
~50 MB/s for one S3 stream from Lambda. API Gateway's HTTP API gives an integration 30 s; a route
must end within 29 s of it, so a cold start or a retry still fits. The handler's own time is
measured on this shared, loaded machine, so it is pessimistic too.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from unittest import mock

KIB = 1024
STATE_DATA = 256 * KIB  # a state's input, output, parameters, a task's result
LAMBDA_PAYLOAD = 6 * KIB * KIB  # synchronous invocation: request and response
SQS_MESSAGE = 256 * KIB  # one message, and one SendMessageBatch in total
DYNAMODB_ITEM = 400 * 1000  # "400 KB"; read as 1,000-byte KB, the stricter reading
TRANSACTION_ITEMS = 100
TRANSACTION_BYTES = 4 * 1000 * 1000
BATCH_WRITE_ITEMS = 25
BATCH_WRITE_BYTES = 16 * 1000 * 1000
API_ROUTE_S = 29.0

# (service, operation) → modelled latency of one call, seconds; services default to their "*".
LATENCY_S: dict[tuple[str, str], float] = {
    ("dynamodb", "*"): 0.015,
    ("dynamodb", "Query"): 0.025,
    ("dynamodb", "BatchGetItem"): 0.030,
    ("dynamodb", "BatchWriteItem"): 0.040,
    ("dynamodb", "TransactWriteItems"): 0.050,
    ("s3", "*"): 0.030,
    ("s3", "PutObject"): 0.050,
    ("sqs", "*"): 0.020,
    ("sqs", "CreateQueue"): 0.100,
    ("sqs", "DeleteQueue"): 0.100,
    ("sqs", "SetQueueAttributes"): 0.100,
    ("sfn", "*"): 0.100,
    ("cloudwatch", "*"): 0.100,
    ("*", "*"): 0.100,
}
S3_BYTES_PER_S = 50e6


class LimitExceeded(Exception):
    """What AWS would have refused (a ValidationException, a 413, a States.DataLimitExceeded, a
    gateway timeout)."""


def latency(service: str, operation: str, transferred: int = 0) -> float:
    base = LATENCY_S.get((service, operation)) or LATENCY_S.get((service, "*")) or LATENCY_S[("*", "*")]
    return base + (transferred / S3_BYTES_PER_S if service == "s3" else 0.0)


@dataclass
class Watch:
    violations: list[str] = field(default_factory=list)
    route_s: dict[str, float] = field(default_factory=dict)  # API route → its longest modelled time
    _local: threading.local = field(default_factory=threading.local)

    def breach(self, message: str) -> None:
        self.violations.append(message)
        raise LimitExceeded(message)

    def check(self) -> None:
        assert not self.violations, self.violations

    # -- a handler invocation -------------------------------------------------------------
    def invoke(self, function: str, handler: Callable[[Any], Any], event: Any, api: bool = False) -> Any:
        request = len(json.dumps(event, default=str).encode())
        if request > LAMBDA_PAYLOAD:
            self.breach(f"{function}: request payload {request} B > {LAMBDA_PAYLOAD} B")
        clock = self._local.clock = Clock()
        started = time.perf_counter()
        try:
            result = handler(event)
        finally:
            self._local.clock = None
        clock.own_s = time.perf_counter() - started - clock.in_aws_s
        response = len(json.dumps(result, default=str).encode())
        if response > LAMBDA_PAYLOAD:
            self.breach(f"{function}: response {response} B > {LAMBDA_PAYLOAD} B")
        route = f"{event.get('requestContext', {}).get('http', {}).get('method')} {event.get('rawPath')}"
        if api:
            self.route_s[route] = max(self.route_s.get(route, 0.0), clock.modelled_s)
        if api and clock.modelled_s > API_ROUTE_S:
            self.breach(f"{route}: {clock.modelled_s:.1f} s modelled > {API_ROUTE_S} s ({clock.describe()})")
        return result

    # -- an AWS call ----------------------------------------------------------------------
    def call(self, client: Any, operation: str, params: dict[str, Any], send: Callable[[], Any]) -> Any:
        service = client.meta.service_model.service_name
        if service == "states":
            service = "sfn"
        self._before(service, operation, params)
        started = time.perf_counter()
        try:
            result = send()
        finally:
            clock: Clock | None = getattr(self._local, "clock", None)
            if clock is not None:
                clock.add(service, operation, time.perf_counter() - started, transferred(operation, params))
        if service == "dynamodb":
            self._items_after(client, operation, params)
        return result

    def _before(self, service: str, operation: str, params: dict[str, Any]) -> None:
        if (service, operation) == ("sqs", "SendMessage"):
            self._sqs([params])
        elif (service, operation) == ("sqs", "SendMessageBatch"):
            self._sqs(params["Entries"])
        elif (service, operation) == ("dynamodb", "TransactWriteItems"):
            items = params["TransactItems"]
            size = sum(request_size(body) for item in items for body in item.values())
            if len(items) > TRANSACTION_ITEMS or size > TRANSACTION_BYTES:
                self.breach(f"TransactWriteItems of {len(items)} items, {size} B")
        elif (service, operation) == ("dynamodb", "BatchWriteItem"):
            requests = [r for table in params["RequestItems"].values() for r in table]
            size = sum(request_size(r) for r in requests)
            if len(requests) > BATCH_WRITE_ITEMS or size > BATCH_WRITE_BYTES:
                self.breach(f"BatchWriteItem of {len(requests)} items, {size} B")

    def _sqs(self, entries: list[dict[str, Any]]) -> None:
        sizes = [message_size(e) for e in entries]
        if max(sizes) > SQS_MESSAGE or sum(sizes) > SQS_MESSAGE:
            self.breach(f"SQS message(s) of {sizes} B (each and all together ≤ {SQS_MESSAGE} B)")

    def _items_after(self, client: Any, operation: str, params: dict[str, Any]) -> None:
        """Every item a write leaves behind, as moto stores it (an update can grow an item
        its request does not show)."""
        written: list[tuple[str, dict[str, Any]]] = []
        if operation in ("PutItem", "UpdateItem"):
            written.append((params["TableName"], params.get("Key") or params["Item"]))
        elif operation == "TransactWriteItems":
            for item in params["TransactItems"]:
                for kind, body in item.items():
                    if kind in ("Put", "Update"):
                        written.append((body["TableName"], body.get("Key") or body["Item"]))
        elif operation == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                written.extend((table, r["PutRequest"]["Item"]) for r in requests if "PutRequest" in r)
        for table, item in written:
            size = stored_size(client.meta.region_name, table, item)
            if size > DYNAMODB_ITEM:
                self.breach(f"DynamoDB item in {table} of {size} B > {DYNAMODB_ITEM} B")

    # -- a Step Functions history event ---------------------------------------------------
    def state_event(self, details: Any) -> None:
        for kind, values in (details or {}).items():
            for name in ("input", "output", "parameters"):
                value = values.get(name) if isinstance(values, dict) else None
                if isinstance(value, str) and len(value.encode()) > STATE_DATA:
                    self.violations.append(f"Step Functions {kind}.{name} of {len(value.encode())} B > {STATE_DATA} B")


@dataclass
class Clock:
    """The AWS calls of one handler invocation and the time modelled for them."""

    in_aws_s: float = 0.0
    own_s: float = 0.0
    modelled_aws_s: float = 0.0
    calls: dict[str, int] = field(default_factory=dict)

    def add(self, service: str, operation: str, measured_s: float, transferred: int) -> None:
        self.in_aws_s += measured_s
        self.modelled_aws_s += latency(service, operation, transferred)
        key = f"{service}:{operation}"
        self.calls[key] = self.calls.get(key, 0) + 1

    @property
    def modelled_s(self) -> float:
        return self.own_s + self.modelled_aws_s

    def describe(self) -> str:
        return f"own {self.own_s:.2f} s + AWS {self.modelled_aws_s:.2f} s over {self.calls}"


def transferred(operation: str, params: dict[str, Any]) -> int:
    body = params.get("Body")
    return len(body) if operation == "PutObject" and isinstance(body, bytes | str) else 0


def message_size(entry: dict[str, Any]) -> int:
    """SQS counts the body and every attribute's name, type and value."""
    size = len(str(entry.get("MessageBody", "")).encode())
    for name, attribute in entry.get("MessageAttributes", {}).items():
        value = attribute.get("StringValue") or attribute.get("BinaryValue") or b""
        size += len(name.encode()) + len(attribute.get("DataType", "").encode()) + len(value)
    return size


def request_size(request: Any) -> int:
    item = request.get("Item") or request.get("PutRequest", {}).get("Item") if isinstance(request, dict) else None
    return item_size(item) if item else len(json.dumps(request, default=str).encode())


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: each attribute's name in UTF-8 plus its value's size."""
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def value_size(value: Any) -> int:
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return len(str(Decimal(inner)).lstrip("-").replace(".", "")) // 2 + 2  # ≤ 21 bytes
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: v}) for v in inner)
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in inner.items())
    raise AssertionError(f"no size rule for {kind}")


def stored_size(region: str, table: str, key_or_item: dict[str, Any]) -> int:
    """The size moto's table holds for the item (its own rendering of DynamoDB's rule); 0 when
    the write left none (a failed condition, a delete)."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType

    found = dynamodb_backends[DEFAULT_ACCOUNT_ID][region].get_table(table)
    hash_key, range_key = found.hash_key_attr, found.range_key_attr
    stored = found.get_item(
        DynamoType(key_or_item[hash_key]), DynamoType(key_or_item[range_key]) if range_key else None
    )
    return int(stored.size()) if stored is not None else 0


@contextmanager
def enforced() -> Iterator[Watch]:
    from botocore.client import BaseClient
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager

    watch = Watch()
    make_api_call = BaseClient._make_api_call  # type: ignore[attr-defined]  # every client's one door
    add_event = EventManager.add_event

    def api_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
        return watch.call(client, operation, params, lambda: make_api_call(client, operation, params))

    def history_event(manager: Any, context: Any, event_type: Any, event_details: Any = None, *a: Any, **k: Any) -> Any:
        watch.state_event(event_details)
        return add_event(manager, context, event_type, event_details, *a, **k)

    with (
        mock.patch.object(BaseClient, "_make_api_call", api_call),
        mock.patch.object(EventManager, "add_event", history_event),
    ):
        yield watch
