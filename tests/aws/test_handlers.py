"""The real Lambda handlers, in-process under moto: events in, records/queues/metrics out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from autolabel.app import datasets, jobs, tasks
from autolabel.app.review import queue_of
from autolabel.domain.errors import NotFound, ValidationError
from autolabel.domain.models import InputState, Reviewer, TaskStatus, Thresholds
from autolabel.domain.users import Actor
from autolabel.ports import BlobStore
from tests.aws.conftest import BUCKET, CLASSIFIER, CLASSIFIER_CONCEPTS, Account
from tests.conftest import SAMPLES, sample

OWNER = Actor.workspace_owner()


def make_task(account: Account, dataset: str = "street", name: str = "t1") -> Any:
    return tasks.create_task(
        account.world.backends,
        OWNER,
        name=name,
        dataset=dataset,
        model=CLASSIFIER,
        concepts=CLASSIFIER_CONCEPTS,
        thresholds=Thresholds.of(upper=0.5, lower=0.05),
        reviewers=[Reviewer(name="alice"), Reviewer(name="bob")],
    )


def batch_event(task_id: str, input_ids: list[str]) -> dict[str, Any]:
    return {"Items": [{"input_id": i} for i in input_ids], "BatchInput": {"task_id": task_id}}


def test_start_infer_finalize(account: Account, capsys: pytest.CaptureFixture[str]) -> None:
    backends = account.world.backends
    datasets.add_files(backends, OWNER, "street", [SAMPLES])
    task = make_task(account)
    started = account.handler("start_run")({"task_id": task.id})
    assert started["bucket"] == BUCKET and started["pending"] == started["total"] == 6
    manifest = json.loads(backends.blobs.get(started["manifest_key"]))
    ids = [m["input_id"] for m in manifest]
    assert backends.records.get_task(task.id).status == TaskStatus.IN_PROGRESS

    infer = account.handler("infer_batch")
    first = infer(batch_event(task.id, ids[:3]))
    second = infer(batch_event(task.id, ids[3:]))
    assert first["processed"] == 3 and second["processed"] == 3
    # One model load for the container, however many batches it serves.
    assert account.modules["infer_batch"].inference.loads == 1
    # A retried batch returns the stored outcome and records nothing twice.
    before = backends.records.counts(task.id)
    assert infer(batch_event(task.id, ids[:3])) == first
    assert backends.records.counts(task.id) == before

    done = account.handler("finalize_run")({"task_id": task.id})
    assert done["status"] == "Complete" and done["inputs_done"] == 6
    summary = tasks.summary(backends, OWNER, "t1")
    assert summary.review_items == before.review_items > 0
    assert sum(summary.queue_depth.values()) == summary.review_items
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    names = {m["Name"] for e in emitted for d in e["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"InputsProcessed", "InputsFailed", "PredictionsApproved", "InferenceMs", "RunsCompleted"} <= names


def test_empty_dataset_fails_the_run_with_a_reason(account: Account) -> None:
    backends = account.world.backends
    datasets.add_files(backends, OWNER, "street", [sample("chelsea")])
    task = make_task(account)
    backends.records.delete_input(backends.records.list_inputs(task.dataset_id).items[0].id)
    with pytest.raises(ValidationError):
        account.handler("start_run")({"task_id": task.id})
    # What the state machine's Catch passes on.
    error = {"Error": "ValidationError", "Cause": json.dumps({"errorMessage": "the task's dataset has no inputs"})}
    result = account.handler("finalize_run")({"task_id": task.id, "error": error})
    stored = backends.records.get_task(task.id)
    assert result["status"] == stored.status == TaskStatus.FAILED
    assert stored.failure_reason == "ValidationError: the task's dataset has no inputs"


def test_model_missing_from_s3_is_a_clear_error(account: Account) -> None:
    backends = account.world.backends
    datasets.add_files(backends, OWNER, "street", [sample("chelsea")])
    task = make_task(account)
    account.handler("start_run")({"task_id": task.id})
    backends.blobs.delete(f"models/{CLASSIFIER}/model.onnx")
    with pytest.raises(NotFound, match=r"model\.onnx"):
        account.handler("infer_batch")(batch_event(task.id, backends.records.task_inputs(task.id)))
    assert backends.records.task_inputs(task.id, InputState.PENDING) == backends.records.task_inputs(task.id)


def test_not_an_image_and_a_deleted_task(account: Account) -> None:
    backends = account.world.backends
    datasets.add_files(backends, OWNER, "street", [sample("coffee")])
    datasets.add_bytes(backends, OWNER, "street", [("notes.jpg", b"this is not a JPEG")])
    task = make_task(account)
    account.handler("start_run")({"task_id": task.id})
    ids = backends.records.task_inputs(task.id)
    outcome = account.handler("infer_batch")(batch_event(task.id, ids))
    assert outcome["failed"] == 1
    (failed,) = backends.records.failed_inputs(task.id)
    assert "image" in failed.reason
    jobs.submit_delete(backends, OWNER, "t1")
    account.run_jobs()
    # A batch that starts after the deletion (a new batch, not a retry of the first).
    assert account.handler("infer_batch")(batch_event(task.id, ids[:1]))["skipped"] == "task deleted"
    assert account.handler("finalize_run")({"task_id": task.id})["status"] == "Deleted"


def test_tolerated_batch_failures_leave_no_input_pending(account: Account) -> None:
    backends = account.world.backends
    datasets.add_files(backends, OWNER, "street", [SAMPLES])
    task = make_task(account)
    started = account.handler("start_run")({"task_id": task.id})
    ids = [m["input_id"] for m in json.loads(backends.blobs.get(started["manifest_key"]))]
    account.handler("infer_batch")(batch_event(task.id, ids[:4]))  # the other batch never succeeded
    result = account.handler("finalize_run")({"task_id": task.id})
    assert result["status"] == "Complete" and result["inputs_failed"] == 2
    assert {f.input_id for f in backends.records.failed_inputs(task.id)} == set(ids[4:])


def upload_event(key: str, event_id: str, size: int | None = 1) -> dict[str, Any]:
    body: dict[str, Any] = {
        "version": "0",
        "id": event_id,
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:s3:::{BUCKET}"],
        "detail": {
            "version": "0",
            "bucket": {"name": BUCKET},
            "object": {"key": key, "size": 1, "etag": "x", "sequencer": "1"},
            "request-id": "r",
            "requester": "123456789012",
            "source-ip-address": "127.0.0.1",
            "reason": "PutObject",
        },
    }
    found: dict[str, Any] = body["detail"]["object"]
    if size is None:
        del found["size"]
    else:
        found["size"] = size
    return {
        "messageId": event_id,
        "receiptHandle": "rh",
        "body": json.dumps(body),
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1700000000000",
            "SenderId": "s",
            "ApproximateFirstReceiveTimestamp": "1700000000000",
        },
        "messageAttributes": {},
        "md5OfBody": "x",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:uploads",
        "awsRegion": "us-east-1",
    }


def test_uploads_are_labeled_once_for_every_watching_task(account: Account) -> None:
    backends = account.world.backends
    datasets.add_files(backends, OWNER, "street", [sample("coffee")])
    watching = make_task(account, name="watching")
    other = make_task(account, name="also-watching")
    blobs = backends.blobs
    blobs.put("uploads/street/cat.png", sample("chelsea").read_bytes())
    blobs.put("uploads/street/readme.txt2", b"?")
    blobs.put("uploads/street/broken.jpg", b"not really")
    records = [
        upload_event("uploads/street/cat.png", "e1"),
        upload_event("uploads/street/cat.png", "e1"),  # the same event delivered twice
        upload_event("uploads/street/cat.png", "e2"),  # a second event for the same object
        upload_event("uploads/street/readme.txt2", "e3"),
        upload_event("uploads/street/broken.jpg", "e4"),
        upload_event("elsewhere/x.png", "e5"),
    ]
    response = account.handler("label_upload")({"Records": records})
    assert response == {"batchItemFailures": []}
    for task in (watching, other):
        counts = backends.records.counts(task.id)
        # cat.png labelled; readme.txt2 (not a kind autolabel takes) and broken.jpg failed inputs
        assert (counts.inputs_total, counts.inputs_done, counts.inputs_failed) == (3, 1, 2)
        assert any(p.concept in ("tiger cat", "Egyptian cat", "tabby") for p in backends.records.predictions(task.id))
        items = backends.records.review_items(task.id)
        depth = sum(backends.queues.depth(queue_of(backends, task, r)) for r in ("alice", "bob"))
        assert depth == len(items)


def test_uploads_that_cannot_be_inputs_become_failed_inputs_without_being_read(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOLABEL_UPLOAD_MAX_BYTES", "20000")
    backends = account.world.backends
    datasets.add_files(backends, OWNER, "street", [sample("coffee")])
    task = make_task(account)
    photo = sample("chelsea").read_bytes()
    assert len(photo) > 20000
    backends.blobs.put("uploads/street/huge.png", photo)
    backends.blobs.put("uploads/street/also-huge.png", photo)
    backends.blobs.put("uploads/street/manual.pdf", b"%PDF-1.7")
    handler = account.handler("label_upload")
    read: list[str] = []
    blobs: BlobStore = account.modules["label_upload"].world.backends.blobs
    real_get = blobs.get

    def get(key: str) -> bytes:
        read.append(key)
        return real_get(key)

    monkeypatch.setattr(blobs, "get", get)
    response = handler(
        {
            "Records": [
                upload_event("uploads/street/huge.png", "e1", size=len(photo)),  # the event's size
                upload_event("uploads/street/also-huge.png", "e2", size=None),  # HeadObject's
                upload_event("uploads/street/manual.pdf", "e3", size=8),
                upload_event("uploads/street/gone.png", "e4", size=10),  # deleted before labelling
            ]
        }
    )
    assert response == {"batchItemFailures": []}  # nothing is retried into the dead-letter queue
    assert [k for k in read if k.startswith("uploads/")] == ["uploads/street/gone.png"]
    reasons = sorted(f.reason for f in backends.records.failed_inputs(task.id))
    over = f"{len(photo):,} bytes, over the upload limit of 20,000"
    assert reasons == [
        f"upload uploads/street/also-huge.png refused: 'also-huge.png' is {over}",
        f"upload uploads/street/huge.png refused: 'huge.png' is {over}",
        "upload uploads/street/manual.pdf refused: 'manual.pdf' is not a kind of file autolabel labels"
        " (.bmp, .gif, .jpeg, .jpg, .png, .tif, .tiff, .txt, .webp)",
    ]
    counts = backends.records.counts(task.id)
    assert (counts.inputs_total, counts.inputs_failed) == (3, 3)
    # A repeated event (a new event id for the same object) records nothing twice.
    handler({"Records": [upload_event("uploads/street/huge.png", "e5", size=len(photo))]})
    assert backends.records.counts(task.id).inputs_failed == 3


def test_a_failing_record_is_reported_alone(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    backends = account.world.backends
    datasets.add_files(backends, OWNER, "street", [sample("coffee")])
    make_task(account)
    backends.blobs.put("uploads/street/a.png", sample("chelsea").read_bytes())
    module_handler = account.handler("label_upload")
    module = account.modules["label_upload"]

    def flaky(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("S3 is having a moment")

    monkeypatch.setattr(module, "label_upload", flaky)
    response = module_handler({"Records": [upload_event("uploads/street/a.png", "e9"), upload_event("x/y.png", "e8")]})
    assert response == {"batchItemFailures": [{"itemIdentifier": "e9"}]}


def test_api_health_and_status(account: Account) -> None:
    backends = account.world.backends
    datasets.add_files(backends, OWNER, "street", [sample("coffee")])
    make_task(account)

    def get(path: str, claims: dict[str, str] | None = None) -> dict[str, Any]:
        event = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": "",
            "headers": {},
            "requestContext": {
                "http": {
                    "method": "GET",
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "1.1.1.1",
                    "userAgent": "t",
                },
                "requestId": "id",
                # What API Gateway's JWT authorizer passes on once it has verified a Cognito token.
                "authorizer": {"jwt": {"claims": claims or {}, "scopes": None}},
                "routeKey": "$default",
                "stage": "$default",
            },
            "isBase64Encoded": False,
        }
        result: dict[str, Any] = account.handler("api")(event)
        return result

    admin = {"cognito:username": "ada", "cognito:groups": "[admin]"}
    assert get("/health")["statusCode"] == 200
    assert get("/tasks/t1")["statusCode"] == 401  # no verified identity
    status = get("/tasks/t1", admin)
    assert status["statusCode"] == 200 and json.loads(status["body"])["task"]["name"] == "t1"
    missing = get("/tasks/nope", admin)
    assert missing["statusCode"] == 404 and json.loads(missing["body"])["error"] == "not_found"
