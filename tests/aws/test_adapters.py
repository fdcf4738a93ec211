"""What the contract suites cannot see: request shapes and limits of the AWS adapters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

import pytest

from autolabel.aws import clients
from autolabel.aws.blobs import S3BlobStore
from autolabel.aws.metering import RequestMeter
from autolabel.aws.queues import SQSReviewQueues, dlq_name
from autolabel.aws.records import DynamoRecordStore, counters, create_table, registration
from autolabel.domain import ids
from autolabel.domain.errors import Conflict, NotFound
from autolabel.domain.models import Dataset, DecisionKind, Input, InputKind, ReviewState
from autolabel.ports import AnnotationQuery
from tests.contract import test_record_store as contract
from tests.contract.adapters import REGION, moto_aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@pytest.fixture
def meter() -> Iterator[RequestMeter]:
    with moto_aws():
        yield RequestMeter()


def records(meter: RequestMeter, client: Any = None) -> DynamoRecordStore:
    raw = meter.attach(clients.dynamodb(REGION))
    create_table(raw, "t")
    return DynamoRecordStore(client or raw, "t", sleep=lambda _s: None)


def use_client(store: DynamoRecordStore, client: object) -> None:
    """Put a test double (it forwards what it does not fake) in place of the store's client."""
    store.client = client  # type: ignore[assignment]  # a duck-typed double, not a DynamoDBClient


def inputs(dataset: Dataset, count: int) -> list[Input]:
    return [
        Input(
            id=ids.input_id(dataset.id, f"h{i}"),
            dataset_id=dataset.id,
            kind=InputKind.IMAGE,
            blob_key=f"d/{i}.jpg",
            sha256=f"h{i}",
            size_bytes=1,
        )
        for i in range(count)
    ]


def test_batch_writes_are_chunked_by_25_and_unprocessed_items_retried(meter: RequestMeter) -> None:
    class Flaky:
        """Leaves the last two items of the first BatchWriteItem unprocessed, like throttling does."""

        def __init__(self, real: Any) -> None:
            self.real, self.failed = real, False

        def __getattr__(self, name: str) -> Any:
            return getattr(self.real, name)

        def batch_write_item(self, RequestItems: Any) -> Any:
            if not self.failed:
                self.failed = True
                ((table, requests),) = RequestItems.items()
                self.real.batch_write_item(RequestItems={table: requests[:-2]})
                return {"UnprocessedItems": {table: requests[-2:]}}
            return self.real.batch_write_item(RequestItems=RequestItems)

    store = records(meter)
    use_client(store, Flaky(store.client))
    dataset = store.put_dataset(Dataset(id=ids.dataset_id("d"), name="d"))
    assert store.put_inputs(inputs(dataset, 60)) == 60
    sizes = [len(p["RequestItems"]["t"]) for p in meter.of("dynamodb", "BatchWriteItem")]
    assert sizes == [23, 2, 25, 10]  # first chunk: 23 written, its 2 unprocessed retried alone
    assert len(store.list_inputs(dataset.id, limit=100).items) == 60
    assert store.put_inputs(inputs(dataset, 61)) == 1


def test_counts_is_one_get_item_never_a_scan(meter: RequestMeter) -> None:
    store = records(meter)
    dataset, items = contract.make_dataset(store)
    task = contract.make_task(store, dataset)
    store.add_task_inputs(task.id, [i.id for i in items])
    store.commit_batch(task, [contract.result(task, i.id, [("cat", 0.9), ("dog", 0.5)]) for i in items])
    meter.reset()
    counts = store.counts(task.id)
    assert list(meter.counts) == [("dynamodb", "GetItem")]
    assert (counts.inputs_done, counts.approved, counts.review_items) == (6, 6, 6)


def test_a_batch_is_a_small_transaction_then_batch_writes(meter: RequestMeter) -> None:
    store = records(meter)
    dataset, items = contract.make_dataset(store)
    task = contract.make_task(store, dataset)
    store.add_task_inputs(task.id, [i.id for i in items])
    meter.reset()
    store.commit_batch(task, [contract.result(task, i.id, [("cat", 0.5)]) for i in items])
    (transaction,) = meter.of("dynamodb", "TransactWriteItems")
    writes = transaction["TransactItems"]
    assert len(writes) == 6 + 3  # task inputs, counters, reviewer check, open-commit marker
    assert "review_seq = :old" in writes[-3]["Update"]["ConditionExpression"]
    assert writes[-2]["ConditionCheck"]["ConditionExpression"] == "reviewers_from = :from"
    marker = writes[-1]["Put"]["Item"]["SK"]["S"]
    annotations, review_items = meter.of("dynamodb", "BatchWriteItem")  # annotations first, items last
    assert [r["PutRequest"]["Item"]["SK"]["S"][:3] for r in annotations["RequestItems"]["t"]] == ["AN#"] * 6
    assert [r["PutRequest"]["Item"]["PK"]["S"][:3] for r in review_items["RequestItems"]["t"]] == ["RI#"] * 6
    (closed,) = meter.of("dynamodb", "DeleteItem")
    assert closed["Key"]["SK"]["S"] == marker


class CrashAt:
    """Lets the first ``skip`` calls of one operation through, then fails one: a Lambda that
    dies there (timeout, out of memory) after its earlier writes landed."""

    def __init__(self, real: Any, operation: str, skip: int = 0) -> None:
        self.real, self.operation, self.skip, self.crashed = real, operation, skip, False

    def __getattr__(self, name: str) -> Any:
        call = getattr(self.real, name)
        if name != self.operation or self.crashed:
            return call

        def crashing(**kwargs: Any) -> Any:
            if self.skip:
                self.skip -= 1
                return call(**kwargs)
            self.crashed = True
            raise RuntimeError(f"crash in {name}")

        return crashing


def _batch(task: Any, items: Any) -> list[Any]:
    return [
        contract.result(task, items[0].id, [("cat", 0.9), ("dog", 0.5)]),  # approved + review
        contract.result(task, items[1].id, [("dog", 0.45)]),  # review
        contract.result(task, items[2].id, [("cat", 0.95)]),  # approved only
    ]


def _clean_run(client: DynamoDBClient) -> tuple[Any, Any]:
    """The records and counts of an uninterrupted commit, to compare a repaired one with."""
    store = DynamoRecordStore(client, "t")
    dataset, items = contract.make_dataset(store, name="clean")
    task = contract.make_task(store, dataset, name="clean")
    store.add_task_inputs(task.id, [i.id for i in items])
    created = store.commit_batch(task, _batch(task, items))
    return store, (task, created)


def _snapshot(store: DynamoRecordStore, task_id: str) -> tuple[Any, ...]:
    annotations = store.annotations(AnnotationQuery(task_id=task_id)).items
    return (
        sorted((a.input_id, a.prediction_id, a.status.value) for a in annotations),
        [(i.input_id, i.sequence, i.reviewer, i.prediction_ids) for i in store.review_items(task_id)],
        store.counts(task_id),
    )


@pytest.mark.parametrize("crash", ["after the transaction", "between annotations and review items"])
def test_a_crash_between_the_steps_is_repaired_by_the_retry(meter: RequestMeter, crash: str) -> None:
    store = records(meter)
    dataset, items = contract.make_dataset(store)
    task = contract.make_task(store, dataset)
    store.add_task_inputs(task.id, [i.id for i in items])
    batch = _batch(task, items)
    real = store.client
    use_client(store, CrashAt(real, "batch_write_item", skip=0 if crash == "after the transaction" else 1))
    with pytest.raises(RuntimeError, match="crash"):
        store.commit_batch(task, batch)
    assert store.review_items(task.id) == []  # review items are written last
    # The retry (Step Functions re-invokes the batch) finds the open commit and finishes it.
    repaired = store.commit_batch(task, batch)
    assert [(i.input_id, i.sequence) for i in repaired] == [(items[0].id, 0), (items[1].id, 1)]
    assert store.commit_batch(task, batch) == []  # closed: a third attempt writes nothing
    assert not list(store.table.partition(f"TASK#{task.id}", "OPEN#"))
    clean_store, (clean_task, clean_created) = _clean_run(real)
    ours, theirs = _snapshot(store, task.id), _snapshot(clean_store, clean_task.id)
    assert ours[2] == theirs[2]  # counters
    assert sorted(a[2] for a in ours[0]) == sorted(a[2] for a in theirs[0])
    assert [(s, r, len(p)) for _i, s, r, p in ours[1]] == [(s, r, len(p)) for _i, s, r, p in theirs[1]]
    assert len(clean_created) == len(repaired)


def test_a_retry_after_a_crash_never_overwrites_a_decision(meter: RequestMeter) -> None:
    store = records(meter)
    dataset, items = contract.make_dataset(store)
    task = contract.make_task(store, dataset)
    store.add_task_inputs(task.id, [i.id for i in items])
    batch = _batch(task, items)
    # Everything is written, the marker is still open: the crash came just before closing it.
    use_client(store, CrashAt(store.client, "delete_item"))
    with pytest.raises(RuntimeError, match="crash"):
        store.commit_batch(task, batch)
    item = store.review_items(task.id)[0]
    contract._decide(store, task, item.id, item.reviewer, DecisionKind.REJECT)
    decided = _snapshot(store, task.id)
    assert store.commit_batch(task, batch) == []  # the repair finds every record in place
    assert _snapshot(store, task.id) == decided
    assert store.get_review_item(item.id).state == ReviewState.DECIDED


def test_finalize_repairs_a_commit_whose_retries_all_failed(meter: RequestMeter) -> None:
    store = records(meter)
    dataset, items = contract.make_dataset(store)
    task = contract.make_task(store, dataset)
    store.add_task_inputs(task.id, [i.id for i in items])
    use_client(store, CrashAt(store.client, "batch_write_item"))
    with pytest.raises(RuntimeError, match="crash"):
        store.commit_batch(task, _batch(task, items))
    repaired = store.repair_open_commits(task.id)
    assert len(repaired) == 2 and not any(i.enqueued for i in repaired)
    assert store.repair_open_commits(task.id) == []
    assert len(store.annotations(AnnotationQuery(task_id=task.id)).items) == 4


def test_a_task_deleted_during_a_commit_leaves_no_records(meter: RequestMeter) -> None:
    store = records(meter)
    dataset, items = contract.make_dataset(store)
    task = contract.make_task(store, dataset)
    store.add_task_inputs(task.id, [i.id for i in items])

    class DeleteMidway:
        def __init__(self, real: Any) -> None:
            self.real, self.done = real, False

        def __getattr__(self, name: str) -> Any:
            return getattr(self.real, name)

        def batch_write_item(self, **kwargs: Any) -> Any:
            if not self.done:  # the task is deleted between the transaction and the records
                self.done = True
                DynamoRecordStore(self.real, "t").delete_task(task.id)
            return self.real.batch_write_item(**kwargs)

    use_client(store, DeleteMidway(store.client))
    with pytest.raises(NotFound):
        store.commit_batch(task, _batch(task, items))
    leftovers = store.client.scan(TableName="t")["Items"]
    assert [i for i in leftovers if task.id in json.dumps(i)] == []


def test_conditional_failure_becomes_conflict(meter: RequestMeter) -> None:
    store = records(meter)
    dataset, _ = contract.make_dataset(store)
    contract.make_task(store, dataset, name="same")
    with pytest.raises(Conflict):
        contract.make_task(store, dataset, name="same")


def test_queue_batches_of_10_and_a_dlq_with_redrive(meter: RequestMeter) -> None:
    client = meter.attach(clients.sqs(REGION))
    queues = SQSReviewQueues(client)
    queues.create("al-q", max_receives=3)
    queues.send("al-q", [(f"ri_{i}", f"ri_{i}") for i in range(25)])
    sizes = [len(p["Entries"]) for p in meter.of("sqs", "SendMessageBatch")]
    assert sizes == [10, 10, 5]
    url = client.get_queue_url(QueueName="al-q")["QueueUrl"]
    attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert '"maxReceiveCount": 3' in attributes["RedrivePolicy"]
    assert dlq_name("al-q") in attributes["RedrivePolicy"]
    assert attributes["SqsManagedSseEnabled"] == "true"
    assert queues.receive("al-q", visibility_s=30)[0].message_id.startswith("ri_")
    queues.delete_queue("al-q")
    assert not queues.exists("al-q")
    with pytest.raises(client.exceptions.QueueDoesNotExist):
        client.get_queue_url(QueueName=dlq_name("al-q"))


def test_long_queue_names_keep_a_unique_dlq_within_80_characters() -> None:
    a, b = "x" * 79 + "a", "x" * 79 + "b"
    assert len(dlq_name(a)) <= 80 and dlq_name(a) != dlq_name(b)


def test_local_path_downloads_once_and_url_is_presigned(meter: RequestMeter, tmp_path: Path) -> None:
    client = meter.attach(clients.s3(REGION))
    client.create_bucket(Bucket="bucket-b")
    blobs = S3BlobStore(client, "bucket-b", cache_dir=tmp_path)
    blobs.put("models/m/model.onnx", b"v1")
    assert blobs.local_path("models/m/model.onnx").read_bytes() == b"v1"
    assert blobs.local_path("models/m/model.onnx").read_bytes() == b"v1"
    assert len(meter.of("s3", "GetObject")) == 1  # the second call only HEADs
    blobs.put("models/m/model.onnx", b"v2")  # a changed object is fetched again
    assert blobs.local_path("models/m/model.onnx").read_bytes() == b"v2"
    url = urlparse(blobs.url("models/m/model.onnx", expires_s=600))
    assert url.path.endswith("/models/m/model.onnx")
    query = parse_qs(url.query)
    assert query["X-Amz-Expires"] == ["600"] and "X-Amz-Signature" in query


def test_compact_predictions_round_trip_exactly() -> None:
    from autolabel.aws.records import decode_predictions, encode_predictions
    from autolabel.domain.models import Band, Box, Classification, Prediction

    pairs = [
        (
            Prediction(
                id=ids.prediction_id("task_x", "in_y", n),
                task_id="task_x",
                input_id="in_y",
                concept=concept,
                score=score,
                geometry=geometry,
                model_id="ssd",
                model_version="3",
            ),
            band,
        )
        for n, (concept, score, geometry, band) in enumerate(
            [
                ("cat", 0.912345678901, Box(x=1.5, y=2, w=3, h=4), Band.APPROVED),
                ("dog", 0.5, Classification(), Band.REVIEW),
                ("cup", 0.0001, Box(x=0, y=0, w=1, h=1), Band.DISCARDED),
            ]
        )
    ]
    # A prediction whose id is not derived from its output index keeps its id.
    pairs.append((pairs[0][0].model_copy(update={"id": "pr_made_elsewhere"}), Band.REVIEW))
    raw = encode_predictions(pairs)
    assert decode_predictions(raw, "task_x", "in_y") == pairs
    assert len(raw) < 0.3 * sum(len(p.model_dump_json()) for p, _ in pairs)
    assert decode_predictions(encode_predictions([]), "task_x", "in_y") == []
    # Items written by the earlier encoding (JSON text, id suffixes) still read.
    legacy = '{"m":["ssd","3"],"p":[["abc","cat",0.5,{"type":"box","x":1.0,"y":2.0,"w":3.0,"h":4.0},"r"]]}'
    ((prediction, band),) = decode_predictions(legacy, "task_x", "in_y")
    assert (prediction.id, prediction.geometry, band) == ("pr_abc", Box(x=1, y=2, w=3, h=4), Band.REVIEW)


def test_a_run_registers_its_inputs_without_transactions(meter: RequestMeter) -> None:
    store = records(meter)
    dataset, items = contract.make_dataset(store, count=30)
    task = contract.make_task(store, dataset)
    assert store.add_task_inputs(task.id, [i.id for i in items[:2]]) == 2  # an upload's: one transaction
    meter.reset()
    assert store.add_task_inputs(task.id, [i.id for i in items]) == 28
    assert not meter.of("dynamodb", "TransactWriteItems")
    assert len(meter.of("dynamodb", "PutItem")) == 28
    assert store.task_inputs(task.id) == [i.id for i in items]
    assert store.counts(task.id).inputs_total == 30


def test_a_crash_before_the_recount_is_healed_by_the_next_registration(meter: RequestMeter) -> None:
    store = records(meter)
    dataset, items = contract.make_dataset(store, count=30)
    task = contract.make_task(store, dataset)
    real = store.client
    use_client(store, CrashAt(real, "query"))
    with pytest.raises(RuntimeError, match="crash"):
        store.add_task_inputs(task.id, [i.id for i in items])
    assert store.counts(task.id).inputs_total == 0  # the puts landed, the total did not
    store.client = real
    assert store.add_task_inputs(task.id, [i.id for i in items]) == 0  # start_run's retry
    assert store.counts(task.id).inputs_total == 30
    # A registration landing between the recount's count and its write (another upload) makes
    # it count again instead of overwriting the total with a stale number.
    extra = contract.make_dataset(store, name="more", count=1)[1]
    store.put_inputs(extra)

    class UploadDuringCount:
        def __init__(self) -> None:
            self.done = False

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def query(self, **kwargs: Any) -> Any:
            page = real.query(**kwargs)
            if kwargs.get("Select") == "COUNT" and not self.done:
                self.done = True
                upload = DynamoRecordStore(real, "t")  # its transaction alone, not its own recount
                registration._register_in_transactions(
                    upload.table, task.id, [extra[0].id], counters.counts_item(upload.table, task.id)
                )
            return page

    uploading = UploadDuringCount()
    use_client(store, uploading)
    more = contract.make_dataset(store, name="even-more", count=25)[1]
    assert store.add_task_inputs(task.id, [i.id for i in more]) == 25
    assert uploading.done
    assert store.counts(task.id).inputs_total == 30 + 1 + 25


def test_throttling_that_outlasts_the_retries_is_raised_by_a_name_the_state_machine_retries() -> None:
    """A Lambda's errorType is its exception's class name: the run's Retry names Throttled, so
    throttling must not surface as a ClientError like AccessDenied (which is not retried)."""
    from botocore.exceptions import ClientError
    from botocore.stub import Stubber

    from autolabel.aws.errors import Throttled

    client = clients.dynamodb(REGION)
    with Stubber(client) as stub:
        stub.add_client_error("get_item", "ProvisionedThroughputExceededException", http_status_code=400)
        stub.add_client_error("get_item", "AccessDeniedException", http_status_code=400)
        with pytest.raises(Throttled) as throttled:
            client.get_item(TableName="t", Key={"PK": {"S": "x"}})
        assert isinstance(throttled.value, ClientError)  # code that reads error codes still can
        with pytest.raises(ClientError) as denied:
            client.get_item(TableName="t", Key={"PK": {"S": "x"}})
        assert type(denied.value) is not Throttled


def test_unprocessed_batch_items_after_every_retry_are_throttling(meter: RequestMeter) -> None:
    from autolabel.aws.errors import Throttled

    class Saturated:
        def __init__(self, real: Any) -> None:
            self.real = real

        def __getattr__(self, name: str) -> Any:
            return getattr(self.real, name)

        def batch_write_item(self, RequestItems: Any) -> Any:
            return {"UnprocessedItems": RequestItems}

    store = records(meter)
    dataset = store.put_dataset(Dataset(id=ids.dataset_id("d"), name="d"))
    use_client(store, Saturated(store.client))
    with pytest.raises(Throttled, match="unprocessed"):
        store.put_inputs(inputs(dataset, 3))
