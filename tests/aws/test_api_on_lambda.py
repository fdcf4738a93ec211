"""The API's Lambda handler, fed the events API Gateway sends, against the moto account under the
API role's synthesized policy: every call the routes make must be granted, and only those."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from autolabel.api.server import to_event
from autolabel.aws import clients
from autolabel.aws.queues import dlq_name
from autolabel.domain.queues import review_queue_name
from tests.aws.conftest import BUCKET, CLASSIFIER, Account
from tests.aws.test_state_machine import deployed  # noqa: F401 - the fixture
from tests.conftest import SAMPLES
from tests.contract.adapters import REGION

ADMIN = {"cognito:username": "ada", "cognito:groups": "[admin]"}
QUEUE_PREFIX = "al-"  # infra.config.Config's, which the API's synthesized environment carries
PHOTOS = sorted(p for p in SAMPLES.iterdir() if p.suffix in {".jpg", ".png"})

Call = Callable[..., Any]


def api(account: Account) -> Call:
    def call(method: str, path: str, body: object = None, claims: dict[str, str] = ADMIN, expect: int = 200) -> Any:
        raw = b"" if body is None else json.dumps(body).encode()
        headers = [("Content-Type", "application/json")] if body is not None else []
        event = to_event(method, path, headers, raw, "10.0.0.1")
        # What API Gateway's JWT authorizer passes on once it has verified a Cognito token.
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
        reply = account.handler("api")(event)
        if reply.get("isBase64Encoded"):
            answer: Any = base64.b64decode(reply["body"])
        else:
            answer = json.loads(reply["body"]) if reply.get("body") else None
        assert reply["statusCode"] == expect, (method, path, reply["statusCode"], answer)
        return answer

    return call


def job(account: Account, call: Call, method: str, path: str, body: object = None, **claims: Any) -> Any:
    """A route that answers 202 with a job: the run_job function (under its own role) does it,
    and ``GET /jobs/{id}`` — by the same caller — says how it ended."""
    started = call(method, path, body, expect=202, **claims)
    account.run_jobs()
    done = call("GET", f"/jobs/{started['id']}", **claims)
    assert done["state"] == "succeeded", done
    return done


def reviewer(name: str) -> dict[str, str]:
    return {"cognito:username": name, "cognito:groups": "[reviewer]"}


def create_and_run(call: Call) -> dict[str, Any]:
    call("POST", "/datasets", {"name": "samples"}, expect=201)
    files = [{"filename": p.name, "content_base64": base64.b64encode(p.read_bytes()).decode()} for p in PHOTOS]
    call("POST", "/datasets/samples/inputs", {"files": files}, expect=201)
    call("POST", "/datasets/samples/inputs", {"files": files[:1]}, expect=201)  # already there: exists() says so
    task: dict[str, Any] = call(
        "POST",
        "/tasks",
        {
            "name": "street",
            "dataset": "samples",
            "model": CLASSIFIER,
            "concepts": ["tiger cat", "Egyptian cat", "tabby", "coffee mug", "espresso", "cup"],
            "thresholds": {"upper": 0.5, "lower": 0.05},
            "reviewers": [{"name": "alice"}, {"name": "bob"}],
        },
        expect=201,
    )
    assert call("POST", f"/tasks/{task['id']}/runs", expect=202)["status"] == "In progress"
    wait_for_the_run(call, task["id"])
    return task


def wait_for_the_run(call: Call, task_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while (detail := call("GET", f"/tasks/{task_id}"))["summary"]["status"] == "In progress":
        assert time.monotonic() < deadline, detail
        time.sleep(0.3)
    summary: dict[str, Any] = detail["summary"]
    return summary


def dead_letter_one_of_alices_items(account: Account, task_id: str) -> None:
    """What SQS does to a message whose leases lapsed MAX_RECEIVES times, done by hand."""
    sqs = account.client("sqs")
    queue = review_queue_name(QUEUE_PREFIX, task_id, "alice")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    dead_letters = sqs.get_queue_url(QueueName=dlq_name(queue))["QueueUrl"]
    (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    sqs.send_message(QueueUrl=dead_letters, MessageBody=message["Body"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_the_api_under_its_own_role(deployed: tuple[Account, str]) -> None:  # noqa: F811
    account, _ = deployed
    call = api(account)
    assert call("GET", "/health") == {"status": "ok"}
    assert any(m["id"] == CLASSIFIER for m in call("GET", "/models")["items"])
    task = create_and_run(call)
    summary = call("GET", f"/tasks/{task['id']}")["summary"]
    assert summary["status"] == "Complete" and summary["inputs_done"] == len(PHOTOS)
    assert summary["review_items"] > 0

    dead_letter_one_of_alices_items(account, task["id"])
    # The task detail counts dead letters per reviewer (GetQueueAttributes on each DLQ, under the API's role).
    assert call("GET", f"/tasks/{task['id']}")["summary"]["dead_letters"] == {"alice": 1, "bob": 0}
    assert call("POST", f"/tasks/{task['id']}/review/redrive")["moved"] == 1
    decided = 0
    while (view := call("POST", f"/tasks/{task['id']}/review/next", claims=reviewer("alice"))["item"]) is not None:
        # Images go by presigned link, not through Lambda: the URL route, and content's redirect.
        link = call("GET", f"/inputs/{view['input']['id']}/url", claims=reviewer("alice"))
        assert "X-Amz-Signature=" in link["url"] and f"{BUCKET}" in link["url"]
        call("GET", f"/inputs/{view['input']['id']}/content", claims=reviewer("alice"), expect=307)
        call("POST", f"/review/items/{view['item']['id']}/accept", {}, claims=reviewer("alice"))
        decided += 1
    bob = reviewer("bob")
    bulk = job(account, call, "POST", f"/tasks/{task['id']}/review/bulk-accept", {"min_score": 0.0}, claims=bob)
    assert decided + bulk["result"]["accepted"] == summary["review_items"]
    for name in ("alice", "bob"):
        assert call("GET", f"/tasks/{task['id']}/review/progress", claims=reviewer(name))["pending"] == 0
    assert call("GET", f"/tasks/{task['id']}/review/items?labeler=alice")["items"]
    assert call("GET", f"/annotations?task={task['id']}")["items"]
    assert call("GET", "/me")["name"] == "ada"

    version = job(account, call, "POST", f"/tasks/{task['id']}/versions")["result"]
    snapshot = call("GET", f"/tasks/{task['id']}/versions/{version['number']}")
    assert snapshot["version"]["number"] == version["number"] and "X-Amz-Signature=" in snapshot["url"]
    exported = job(account, call, "POST", f"/tasks/{task['id']}/exports", {"format": "coco"})
    assert exported["result"]["images"] == len(PHOTOS) and "X-Amz-Signature=" in exported["result_url"]
    job(account, call, "POST", f"/tasks/{task['id']}/rethreshold", {"thresholds": {"upper": 0.4, "lower": 0.05}})
    missing = call("GET", "/tasks/nope", expect=404)
    assert missing["error"] == "not_found"
    job(account, call, "DELETE", f"/tasks/{task['id']}")
    call("GET", f"/tasks/{task['id']}", expect=404)
    inputs = call("GET", "/datasets/samples/inputs")["items"]
    assert call("POST", "/inputs/delete", {"input_ids": [inputs[0]["id"]]})["deleted"] == [inputs[0]["id"]]
    slowest = sorted(account.limits.route_s.items(), key=lambda r: -r[1])[:5]
    print("modelled seconds of the slowest routes:", [(route, round(s, 2)) for route, s in slowest])


def test_a_task_runs_again_through_the_api(deployed: tuple[Account, str]) -> None:  # noqa: F811
    account, _ = deployed
    call = api(account)
    task = create_and_run(call)
    # Before the lead's change: ExecutionAlreadyExists, then DescribeExecution → AccessDenied.
    call("POST", f"/tasks/{task['id']}/runs", expect=202)
    assert wait_for_the_run(call, task["id"])["status"] == "Complete"


def test_the_harness_refuses_what_the_role_lacks(deployed: tuple[Account, str]) -> None:  # noqa: F811
    """Take away the one statement of the API role that grants states:StartExecution: starting
    a run is refused with AccessDenied, so the harness cannot pass vacuously."""
    account, _ = deployed
    call = api(account)
    statements = account.identities["api"].statements
    (start,) = [i for i, s in enumerate(statements) if "states:StartExecution" in json.dumps(s["Action"])]
    account.revoke("api", start)
    call("POST", "/datasets", {"name": "samples"}, expect=201)
    files = [{"filename": PHOTOS[0].name, "content_base64": base64.b64encode(PHOTOS[0].read_bytes()).decode()}]
    call("POST", "/datasets/samples/inputs", {"files": files}, expect=201)
    task = call(
        "POST",
        "/tasks",
        {
            "name": "t",
            "dataset": "samples",
            "model": CLASSIFIER,
            "concepts": ["cup"],
            "thresholds": {"upper": 0.5, "lower": 0.05},
            "reviewers": [{"name": "alice"}],
        },
        expect=201,
    )
    with pytest.raises(ClientError, match="AccessDenied"):
        call("POST", f"/tasks/{task['id']}/runs", expect=202)
    # A client made without a container's keys is nobody: moto's placeholder keys are refused.
    with pytest.raises(ClientError, match=r"InvalidAccessKeyId|InvalidClientTokenId"):
        clients.s3(REGION).list_buckets()
