"""Jobs on the AWS world, under moto: the API's use cases submit them to the jobs queue and the
real run_job handler does them, a chunk per invocation when its time runs short, re-enqueuing
the job until it is done."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from autolabel.app import jobs, tasks
from autolabel.app.review import queue_of
from autolabel.app.runs.lifecycle import enqueue_review_items
from autolabel.domain import ids
from autolabel.domain.jobs import JobKind, JobState
from autolabel.domain.models import Box, Dataset, Input, InputKind, Prediction, Reviewer, ReviewState, Thresholds
from autolabel.domain.routing import route_input
from autolabel.domain.users import Actor
from autolabel.ports import Backends, InputResult
from tests.aws.conftest import CLASSIFIER, CLASSIFIER_CONCEPTS, JOBS_QUEUE, TABLE, Account, sqs_record

OWNER = Actor.workspace_owner()
INPUTS = 40


def seeded_task(backends: Backends, name: str = "t1") -> Any:
    """A task over 40 inputs 'run' without a model: each input one flagged (0.5) and one
    approved (0.95) prediction, recorded and enqueued as a run records a batch."""
    dataset = backends.records.put_dataset(Dataset(id=ids.dataset_id(f"{name}-set"), name=f"{name}-set"))
    inputs = []
    for n in range(INPUTS):
        digest = hashlib.sha256(f"{name}-{n}".encode()).hexdigest()
        inputs.append(
            Input(
                id=ids.input_id(dataset.id, digest),
                dataset_id=dataset.id,
                kind=InputKind.IMAGE,
                blob_key=f"datasets/{dataset.id}/{digest}.png",
                source=f"{n}.png",
                sha256=digest,
                size_bytes=1,
                width=320,
                height=240,
            )
        )
    backends.records.put_inputs(inputs)
    task = tasks.create_task(
        backends,
        OWNER,
        name=name,
        dataset=dataset.name,
        model=CLASSIFIER,
        concepts=CLASSIFIER_CONCEPTS[:2],
        thresholds=Thresholds.of(upper=0.9, lower=0.4),
        reviewers=[Reviewer(name="alice"), Reviewer(name="bob")],
    )
    backends.records.add_task_inputs(task.id, [i.id for i in inputs])
    results = []
    for item in inputs:
        predictions = tuple(
            Prediction(
                id=ids.prediction_id(task.id, item.id, k),
                task_id=task.id,
                input_id=item.id,
                concept=CLASSIFIER_CONCEPTS[0],
                score=score,
                geometry=Box(x=1 + k, y=2, w=10, h=10),
                model_id=task.model_id,
                model_version=task.model_version,
            )
            for k, score in enumerate((0.5, 0.95))
        )
        results.append(InputResult(item.id, predictions, route_input(task, item.id, predictions)))
    created = backends.records.commit_batch(task, results)
    enqueue_review_items(backends, backends.records.get_task(task.id), created)
    return task


@pytest.fixture
def one_chunk_per_invocation(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 8, and a function that always finds its time short: one chunk per invocation."""
    for kind in JobKind:
        monkeypatch.setitem(jobs.CHUNK, kind, 8)
    account.handler("run_job")  # loads the module, as the container's cold start
    monkeypatch.setattr(account.modules["run_job"], "MARGIN_MS", 10**9)


def partition(account: Account, task_id: str) -> list[str]:
    items = account.client("dynamodb").query(
        TableName=TABLE, KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": f"TASK#{task_id}"}}
    )["Items"]
    return [i["SK"]["S"] for i in items]


def test_an_export_spans_invocations_and_its_url_is_presigned(account: Account, one_chunk_per_invocation: None) -> None:
    backends = account.world.backends
    task = seeded_task(backends)
    job = jobs.submit_export(backends, OWNER, task.id, "coco")
    invocations = account.run_jobs()
    done = jobs.get_job(backends, OWNER, job.id)
    assert done.state == JobState.SUCCEEDED and done.done == done.total == INPUTS
    # 1 start + list, 5 pages of sizes, 5 pages of annotations, the file, the clean-up
    assert invocations == 13
    view = jobs.JobView.of(backends, done)
    assert view.result_url is not None and "X-Amz-Signature=" in view.result_url and "/jobs/" in view.result_url
    coco = json.loads(backends.blobs.get(str(done.result_key)))
    assert len(coco["images"]) == INPUTS and {(i["width"], i["height"]) for i in coco["images"]} == {(320, 240)}
    assert list(backends.blobs.list(f"jobs/{job.id}/")) == [f"jobs/{job.id}/coco.json"]


def test_rethreshold_version_and_bulk_accept_as_jobs(account: Account, one_chunk_per_invocation: None) -> None:
    backends = account.world.backends
    task = seeded_task(backends)
    jobs.submit_rethreshold(backends, OWNER, task.id, Thresholds.of(upper=0.45, lower=0.3), None)
    account.run_jobs()
    assert tasks.summary(backends, OWNER, task.id).predictions_approved == 2 * INPUTS  # 0.5 >= the new upper
    assert backends.records.get_task(task.id).thresholds == Thresholds.of(upper=0.45, lower=0.3)
    jobs.submit_rethreshold(backends, OWNER, task.id, Thresholds.of(upper=0.9, lower=0.4), None)
    account.run_jobs()
    assert len(backends.records.review_items(task.id, state=ReviewState.PENDING)) == INPUTS  # the same items again
    alice = Actor.reviewer("alice")
    accepted = jobs.submit_bulk_accept(backends, alice, task.id, 0.5)
    account.run_jobs()
    result = jobs.get_job(backends, alice, accepted.id).result
    alices = backends.records.review_items(task.id, reviewer="alice")
    assert result == {"accepted": len(alices), "skipped_below_score": 0, "skipped_decided_meanwhile": 0}
    assert all(i.state == ReviewState.DECIDED for i in alices)
    version = jobs.submit_version(backends, OWNER, task.id)
    account.run_jobs()
    made = jobs.get_job(backends, OWNER, version.id)
    assert made.result["number"] == 1 and made.result["annotations"] == INPUTS + len(alices)
    assert json.loads(backends.blobs.get(str(made.result_key)))["version"] == 1


def test_a_delete_spans_invocations_and_leaves_nothing(account: Account, one_chunk_per_invocation: None) -> None:
    backends = account.world.backends
    task, kept = seeded_task(backends), seeded_task(backends, "kept")
    version = jobs.submit_version(backends, OWNER, task.id)
    account.run_jobs()
    snapshot = str(jobs.get_job(backends, OWNER, version.id).result_key)
    before = len(partition(account, task.id))
    job = jobs.submit_delete(backends, OWNER, task.id)
    assert backends.records.get_task(task.id).status == "Deleting"
    invocations = account.run_jobs()
    done = jobs.get_job(backends, OWNER, job.id)
    assert done.state == JobState.SUCCEEDED
    # queues, snapshots, the records 8 at a time (~the partition and the review items), the task, the clean-up
    assert invocations >= 3 + before // 8
    assert partition(account, task.id) == [] and backends.records.find_task("t1") is None
    assert backends.records.review_items(task.id) == [] and not backends.blobs.exists(snapshot)
    sqs = account.client("sqs")
    assert not [u for u in sqs.list_queues().get("QueueUrls", []) if task.id in u]
    assert len(backends.records.review_items(kept.id)) == INPUTS
    assert backends.queues.exists(queue_of(backends, kept, "alice"))


def test_a_crashing_worker_retries_then_fails_the_job_and_asking_again_resumes_it(
    account: Account, one_chunk_per_invocation: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    backends = account.world.backends
    task = seeded_task(backends)
    job = jobs.submit_delete(backends, OWNER, task.id)
    worker = account.modules["run_job"].world.backends.records  # the function container's own store
    real, chunks, broken = worker.delete_task_records, [], [False]

    def drops_the_connection_while_broken(task_id: str, limit: int) -> int:
        chunks.append(task_id)
        if broken[0]:
            raise RuntimeError("the connection dropped")
        return int(real(task_id, limit))

    monkeypatch.setattr(worker, "delete_task_records", drops_the_connection_while_broken)
    sqs = account.client("sqs")
    url = sqs.get_queue_url(QueueName=JOBS_QUEUE)["QueueUrl"]
    run_job = account.handler("run_job")

    def deliver(receive_count: str) -> Any:
        """The next message, delivered for the receive_count-th time (and taken off the queue:
        the test plays SQS's redelivery itself)."""
        (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        record = sqs_record(url, message)
        record["attributes"]["ApproximateReceiveCount"] = receive_count
        return run_job({"Records": [record]})

    while not chunks:
        deliver("1")  # the queues, the snapshots, the first chunk of records
    broken[0] = True
    with pytest.raises(RuntimeError):
        deliver("1")  # an early delivery: the error goes back to SQS, the checkpoint stays
    assert jobs.get_job(backends, OWNER, job.id).state == JobState.RUNNING
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"job_id": job.id}))  # SQS delivers it again…
    deliver("3")  # …for the last time: the job fails with the reason instead of waiting in the DLQ
    failed = jobs.get_job(backends, OWNER, job.id)
    assert failed.state == JobState.FAILED and failed.failure_reason == "RuntimeError: the connection dropped"
    assert backends.records.get_task(task.id).status == "Deleting"  # still there to resume from
    broken[0] = False
    again = jobs.submit_delete(backends, OWNER, task.id)
    assert again.id == job.id
    account.run_jobs()
    assert jobs.get_job(backends, OWNER, job.id).state == JobState.SUCCEEDED and partition(account, task.id) == []
