"""`make smoke-aws`: does a deployed stack work end to end? Run it after `cdk deploy` and
`python -m autolabel.publish`, with credentials for the account (it is never run in CI).

It reads the stack's outputs (CloudFormation DescribeStacks), creates two Cognito users for the
run (an admin and a reviewer, signed in with ADMIN_USER_PASSWORD_AUTH and TOTP, which the pool
requires), and then, through the HTTP API as a person would: uploads two sample photos, creates
a task, runs it, waits for it, reviews one item as the reviewer, exports, and deletes the task
and the photos.
Each step prints PASS or FAIL; the exit status is 1 if any failed. The users are deleted at the
end, whatever happened.

    python scripts/smoke_aws.py [--stack Autolabel] [--region eu-west-1] [--keep-users]

The steps speak HTTP only (``Api``), so tests/api/test_smoke_aws.py runs them against the
embedded API. Answers that may become asynchronous jobs (202 + ``GET /jobs/{id}``) go through
one function, ``finished``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import secrets
import struct
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = (ROOT / "samples" / "images" / "chelsea.png", ROOT / "samples" / "images" / "coffee.png")
MODEL = "ssd-mobilenet-v2-coco"
CONCEPTS = ["cat", "cup", "bowl", "spoon", "person"]
# Wide review band: with these thresholds a detector's cat or cup lands in review for sure.
THRESHOLDS = {"upper": 0.99, "lower": 0.05}
RUN_TIMEOUT_S = 600.0  # a cold start loads the model from S3; two photos take seconds after
JOB_TIMEOUT_S = 300.0
POLL_S = 2.0


class StepFailed(Exception):
    """A step's check did not hold; the message says what was expected and what came."""


# --------------------------------------------------------------------------- HTTP


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any


@dataclass(frozen=True)
class Api:
    """The HTTP API as one caller: base URL and bearer token."""

    base: str
    token: str

    def call(self, method: str, path: str, body: Any = None) -> Reply:
        data = None if body is None else json.dumps(body).encode()
        url = self.base.rstrip("/") + path
        if not url.startswith(("https://", "http://")):
            raise StepFailed(f"not an HTTP URL: {url}")
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - checked just above
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - the stack's own https URL
                return Reply(response.status, _json(response.read()))
        except urllib.error.HTTPError as error:
            return Reply(error.code, _json(error.read()))

    def expect(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200, 201, 202)) -> Reply:
        reply = self.call(method, path, body)
        if reply.status not in ok:
            raise StepFailed(f"{method} {path} answered {reply.status}: {reply.body}")
        return reply


def _json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")[:500]


def finished(api: Api, reply: Reply, timeout_s: float = JOB_TIMEOUT_S) -> Any:
    """The result of a request that may be answered now (200) or as a job (202 with its id,
    then ``GET /jobs/{id}`` until it is done; a finished job may name a presigned URL for its
    result, which is fetched without the token). The one place that knows the jobs API."""
    if reply.status != 202 or not isinstance(reply.body, dict):
        return reply.body
    job_id = reply.body.get("job_id") or reply.body.get("id") or (reply.body.get("job") or {}).get("id")
    if not job_id:
        return reply.body  # an accepted request without a job (a run: its task says how it goes)
    deadline = time.monotonic() + timeout_s
    while True:
        job = api.expect("GET", f"/jobs/{job_id}", ok=(200,)).body
        state = str(job.get("state") or job.get("status") or "").lower()
        if state in ("succeeded", "done", "complete", "completed"):
            url = job.get("result_url") or job.get("url")
            if not url:
                return job
            with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - a presigned S3 URL
                return _json(response.read())
        if state in ("failed", "error", "cancelled"):
            raise StepFailed(f"job {job_id} {state}: {job}")
        if time.monotonic() > deadline:
            raise StepFailed(f"job {job_id} still {state or 'unknown'} after {timeout_s:.0f} s")
        time.sleep(POLL_S)


# --------------------------------------------------------------------------- the steps


@dataclass
class Smoke:
    """What the steps share: the two callers, the names this run uses and what earlier steps made."""

    admin: Api
    reviewer: Api
    reviewer_name: str
    dataset: str = field(default_factory=lambda: f"smoke-{secrets.token_hex(3)}")
    task_name: str = ""
    task_id: str = ""
    photos: tuple[Path, ...] = PHOTOS
    run_timeout_s: float = RUN_TIMEOUT_S

    def __post_init__(self) -> None:
        self.task_name = self.task_name or f"{self.dataset}-task"


def upload_photos(smoke: Smoke) -> str:
    smoke.admin.expect("POST", "/datasets", {"name": smoke.dataset})
    files = [{"filename": p.name, "content_base64": base64.b64encode(p.read_bytes()).decode()} for p in smoke.photos]
    smoke.admin.expect("POST", f"/datasets/{smoke.dataset}/inputs", {"files": files})
    listed = smoke.admin.expect("GET", f"/datasets/{smoke.dataset}/inputs?limit=10").body
    if len(listed["items"]) != len(smoke.photos):
        raise StepFailed(f"expected {len(smoke.photos)} inputs, the dataset lists {len(listed['items'])}")
    return f"{len(smoke.photos)} photos in dataset {smoke.dataset}"


def create_task(smoke: Smoke) -> str:
    models = {m["id"] for m in smoke.admin.expect("GET", "/models").body["items"]}
    if MODEL not in models:
        raise StepFailed(f"model {MODEL} is not registered: run `python -m autolabel.publish` after deploying")
    task = smoke.admin.expect(
        "POST",
        "/tasks",
        {
            "name": smoke.task_name,
            "dataset": smoke.dataset,
            "model": MODEL,
            "concepts": CONCEPTS,
            "thresholds": THRESHOLDS,
            "reviewers": [{"name": smoke.reviewer_name}],
        },
    ).body
    smoke.task_id = task["id"]
    return f"task {smoke.task_name} ({smoke.task_id})"


def run_task(smoke: Smoke) -> str:
    smoke.admin.expect("POST", f"/tasks/{smoke.task_id}/runs", ok=(202,))
    return "run started"


def wait_for_task(smoke: Smoke) -> str:
    deadline = time.monotonic() + smoke.run_timeout_s
    while True:
        summary = smoke.admin.expect("GET", f"/tasks/{smoke.task_id}").body["summary"]
        if summary["status"] not in ("Pending", "In progress"):
            break
        if time.monotonic() > deadline:
            raise StepFailed(f"still {summary['status']} after {smoke.run_timeout_s:.0f} s")
        time.sleep(POLL_S)
    if summary["status"] != "Complete" or summary["inputs_done"] != len(smoke.photos):
        raise StepFailed(f"expected Complete with {len(smoke.photos)} inputs done, got {summary}")
    if summary["review_items"] < 1:
        raise StepFailed(f"expected at least one item for review, got {summary}")
    return f"Complete: {summary['inputs_done']} inputs, {summary['review_items']} for review"


def review_one(smoke: Smoke) -> str:
    # Review items reach the reviewer's list through an eventually consistent index on DynamoDB.
    deadline = time.monotonic() + 30
    while (view := smoke.reviewer.expect("POST", f"/tasks/{smoke.task_id}/review/next").body["item"]) is None:
        if time.monotonic() > deadline:
            raise StepFailed("the reviewer's queue stayed empty")
        time.sleep(POLL_S)
    item_id = view["item"]["id"]
    decided = smoke.reviewer.expect("POST", f"/review/items/{item_id}/accept", {}).body
    accepted = [a for a in decided["annotations"] if a["status"] == "SUCCESS"]
    if not accepted:
        raise StepFailed(f"accepting {item_id} accepted nothing: {decided}")
    return f"{smoke.reviewer_name} accepted item {item_id} ({len(accepted)} annotation(s))"


def export(smoke: Smoke) -> str:
    reply = smoke.admin.expect("POST", f"/tasks/{smoke.task_id}/exports", {"format": "coco"})
    result = finished(smoke.admin, reply)
    coco = result.get("coco", result) if isinstance(result, dict) else None
    if not isinstance(coco, dict) or len(coco.get("images", [])) != len(smoke.photos):
        raise StepFailed(f"expected a COCO document with {len(smoke.photos)} images, got {str(result)[:300]}")
    return f"COCO: {len(coco['images'])} images, {len(coco.get('annotations', []))} annotations"


def delete_task(smoke: Smoke) -> str:
    if not smoke.task_id:
        return "no task to delete"
    finished(smoke.admin, smoke.admin.expect("DELETE", f"/tasks/{smoke.task_id}"))
    gone = smoke.admin.call("GET", f"/tasks/{smoke.task_id}")
    if gone.status != 404:
        raise StepFailed(f"the task still answers {gone.status} after its deletion")
    return f"task {smoke.task_id} deleted"


def delete_photos(smoke: Smoke) -> str:
    """The uploaded inputs and their bytes (the API deletes no datasets: its empty record stays)."""
    listed = smoke.admin.call("GET", f"/datasets/{smoke.dataset}/inputs?limit=10")
    if listed.status == 404:
        return "no dataset to empty"
    for item in listed.body["items"]:
        smoke.admin.expect("DELETE", f"/datasets/{smoke.dataset}/inputs/{item['id']}")
    return f"{len(listed.body['items'])} input(s) deleted from {smoke.dataset}"


Step = Callable[[Smoke], str]
STEPS: tuple[Step, ...] = (upload_photos, create_task, run_task, wait_for_task, review_one, export)
CLEANUP: tuple[Step, ...] = (delete_task, delete_photos)  # run even after a failure: nothing is left behind


@dataclass(frozen=True)
class Outcome:
    step: str
    passed: bool | None  # None: skipped after an earlier failure
    detail: str


def run_steps(smoke: Smoke, out: Callable[[str], None] = print) -> list[Outcome]:
    """Every step in order (skipping the rest after a failure), then the clean-up; each prints
    its line as it ends."""
    outcomes: list[Outcome] = []
    failed = False
    for step in STEPS + CLEANUP:
        name = step.__name__.replace("_", " ")
        if failed and step not in CLEANUP:
            outcome = Outcome(name, None, "skipped")
        else:
            started = time.monotonic()
            try:
                outcome = Outcome(name, True, f"{step(smoke)} ({time.monotonic() - started:.1f} s)")
            except (StepFailed, KeyError, TypeError, OSError) as error:
                outcome = Outcome(name, False, f"{type(error).__name__}: {error}")
        failed = failed or outcome.passed is False
        outcomes.append(outcome)
        mark = {True: "PASS", False: "FAIL", None: "SKIP"}[outcome.passed]
        out(f"{mark}  {outcome.step}: {outcome.detail}")
    return outcomes


# --------------------------------------------------------------------------- the deployment


def stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def totp(secret_base32: str, at: float | None = None, step_s: int = 30, digits: int = 6) -> str:
    """RFC 6238 time-based one-time password (HMAC-SHA1), as an authenticator app computes it."""
    key = base64.b32decode(secret_base32.upper() + "=" * (-len(secret_base32) % 8))
    counter = int((time.time() if at is None else at) // step_s)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return str(code).zfill(digits)


@dataclass
class CognitoUser:
    name: str
    password: str
    totp_secret: str = ""


def create_user(cognito: Any, pool_id: str, group: str) -> CognitoUser:
    user = CognitoUser(f"smoke-{group}-{secrets.token_hex(3)}", f"Sm0ke!{secrets.token_urlsafe(18)}")
    cognito.admin_create_user(
        UserPoolId=pool_id, Username=user.name, TemporaryPassword=user.password, MessageAction="SUPPRESS"
    )
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=user.name, Password=user.password, Permanent=True)
    cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=user.name, GroupName=group)
    return user


def sign_in(cognito: Any, pool_id: str, client_id: str, user: CognitoUser) -> str:
    """The user's ID token. The pool requires TOTP: a new user sets it up (MFA_SETUP), with a
    code computed here from the secret Cognito hands out."""
    answer = cognito.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user.name, "PASSWORD": user.password},
    )
    for _ in range(3):
        if "AuthenticationResult" in answer:
            return str(answer["AuthenticationResult"]["IdToken"])
        challenge, session = answer["ChallengeName"], answer["Session"]
        responses = {"USERNAME": user.name}
        if challenge == "MFA_SETUP":
            associated = cognito.associate_software_token(Session=session)
            user.totp_secret = associated["SecretCode"]
            verified = cognito.verify_software_token(Session=associated["Session"], UserCode=totp(user.totp_secret))
            session = verified["Session"]
        elif challenge == "SOFTWARE_TOKEN_MFA":
            responses["SOFTWARE_TOKEN_MFA_CODE"] = totp(user.totp_secret)
        else:
            raise StepFailed(f"unexpected Cognito challenge {challenge}")
        answer = cognito.admin_respond_to_auth_challenge(
            UserPoolId=pool_id,
            ClientId=client_id,
            ChallengeName=challenge,
            Session=session,
            ChallengeResponses=responses,
        )
    raise StepFailed("Cognito kept asking for more challenges")


@contextmanager
def smoke_users(cognito: Any, pool_id: str, keep: bool) -> Iterator[tuple[CognitoUser, CognitoUser]]:
    made: list[CognitoUser] = []
    try:
        made.append(create_user(cognito, pool_id, "admin"))
        made.append(create_user(cognito, pool_id, "reviewer"))
        yield made[0], made[1]
    finally:
        for user in made if not keep else []:
            cognito.admin_delete_user(UserPoolId=pool_id, Username=user.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stack", default="Autolabel", help="the CloudFormation stack (default: Autolabel)")
    parser.add_argument("--region", default=None, help="default: the AWS CLI's region")
    parser.add_argument("--keep-users", action="store_true", help="leave the two Cognito users in the pool")
    args = parser.parse_args(argv)
    import boto3  # only here: the steps above run without AWS (tests/api/test_smoke_aws.py)

    session = boto3.Session(region_name=args.region)
    outputs = stack_outputs(session.client("cloudformation"), args.stack)
    missing = {"ApiUrl", "UserPoolId", "UserPoolClientId"} - set(outputs)
    if missing:
        print(f"FAIL  stack outputs: {args.stack} has no {', '.join(sorted(missing))}")
        return 1
    print(f"PASS  stack outputs: API {outputs['ApiUrl']}")
    cognito = session.client("cognito-idp")
    pool, client = outputs["UserPoolId"], outputs["UserPoolClientId"]
    with smoke_users(cognito, pool, args.keep_users) as (admin, reviewer):
        try:
            admin_token = sign_in(cognito, pool, client, admin)
            reviewer_token = sign_in(cognito, pool, client, reviewer)
        except Exception as error:  # noqa: BLE001 - any failure here is this step's FAIL line
            print(f"FAIL  sign in: {type(error).__name__}: {error}")
            return 1
        print(f"PASS  sign in: {admin.name} (admin), {reviewer.name} (reviewer)")
        smoke = Smoke(Api(outputs["ApiUrl"], admin_token), Api(outputs["ApiUrl"], reviewer_token), reviewer.name)
        outcomes = run_steps(smoke)
    failed = [o.step for o in outcomes if o.passed is False]
    print(f"smoke-aws: {'FAILED: ' + ', '.join(failed) if failed else 'every step passed'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
