"""The one place that builds a world: the adapters behind the ports, wired into ``Backends``.

Entry points (the CLI, the API, the Lambda handlers, the demo) get their ``Backends`` here and
hand it to the use cases in ``autolabel.app``; they never build or call an adapter themselves.

* ``embedded(home)``: the workspace folder — blobs as files, records, review queues and users in
  one SQLite database, runs on a background thread;
* ``aws()``: S3, DynamoDB, SQS (with dead-letter alarms), runs as Step Functions executions;
  built once per Lambda container from the environment the CDK stack sets.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from autolabel.app.models import shipped_models_dir
from autolabel.domain.errors import ValidationError, WorkspaceUnavailable
from autolabel.ports import Backends

if TYPE_CHECKING:
    # Installed with the [aws] extra only: the embedded world never imports it.
    from autolabel.aws.clients import AccessKey, Session
    from autolabel.aws.settings import Settings


def default_home() -> Path:
    return Path(os.environ.get("AUTOLABEL_HOME", ".autolabel")).resolve()


def lock_timeout_s() -> float:
    """How long a write waits for another process's lock (``AUTOLABEL_LOCK_TIMEOUT_S``, 30 s)."""
    from autolabel.embedded.sqlite import DEFAULT_LOCK_TIMEOUT_S

    text = os.environ.get("AUTOLABEL_LOCK_TIMEOUT_S", "")
    try:
        value = float(text) if text else DEFAULT_LOCK_TIMEOUT_S
    except ValueError:
        raise ValidationError(f"AUTOLABEL_LOCK_TIMEOUT_S={text!r} is not a number of seconds") from None
    if not 0 <= value <= 3600:
        raise ValidationError(f"AUTOLABEL_LOCK_TIMEOUT_S={text!r}: give 0 to 3600 seconds")
    return value


def prepare_home(home: Path) -> None:
    """Create the workspace folder, or say in one sentence why it cannot be one."""
    if home.exists() and not home.is_dir():
        raise WorkspaceUnavailable(
            f"the workspace {home} is a file, not a folder: point AUTOLABEL_HOME at a folder (created if missing)",
            {"path": str(home)},
        )
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkspaceUnavailable(
            f"cannot create the workspace folder {home}: {exc.strerror or exc}"
            + (f" ({exc.filename})" if exc.filename and str(exc.filename) != str(home) else ""),
            {"path": str(home)},
        ) from None


def embedded(home: Path | None = None, serving: bool = False, models_dir: Path | None = None) -> Backends:
    """The workspace's backends; ``serving`` keeps WAL checkpoints off the request path."""
    from autolabel.embedded.blobs import FileBlobStore
    from autolabel.embedded.jobs import SQLiteJobStore, ThreadJobLauncher
    from autolabel.embedded.launcher import ThreadRunLauncher
    from autolabel.embedded.queues import SQLiteReviewQueues
    from autolabel.embedded.records import SQLiteRecordStore
    from autolabel.embedded.sqlite import SQLiteDatabase
    from autolabel.embedded.users import SQLiteUserStore

    home = home or default_home()
    prepare_home(home)
    database = SQLiteDatabase(
        home / "autolabel.sqlite3", checkpoint_every_s=1.0 if serving else None, lock_timeout_s=lock_timeout_s()
    )

    def run_in_background(task_id: str) -> None:
        # Loaded with the first run: an API that never runs a task never loads the model runtime.
        from autolabel.app.runs.local import run_to_end

        run_to_end(backends, task_id)

    blobs = FileBlobStore(home / "blobs")

    def job_in_background(job_id: str) -> None:
        from autolabel.app.jobs import run_in_background

        run_in_background(backends, job_id)

    job_store, job_launcher = SQLiteJobStore(database), ThreadJobLauncher(job_in_background)
    backends = Backends(
        records=SQLiteRecordStore(database),
        blobs=blobs,
        queues=SQLiteReviewQueues(database),
        launcher=ThreadRunLauncher(run_in_background),
        jobs=job_store,
        job_launcher=job_launcher,
        users=SQLiteUserStore(database),
        models_dir=models_dir or shipped_models_dir(),
        signed_blobs=blobs.signer,
    )
    if serving:
        # A server that stopped mid-job left it queued or running, with its checkpoint: carry on.
        for job_id in job_store.unfinished_job_ids():
            job_launcher.launch(job_id)
    return backends


@dataclass(frozen=True)
class AwsWorld:
    backends: Backends
    settings: Settings
    credentials: AccessKey | None = None  # None: the function's role (boto3's chain)

    def boto3_session(self) -> Session:
        """For libraries that make their own clients (powertools' idempotency store)."""
        from autolabel.aws import clients

        return clients.session(self.settings.region, self.credentials)


@cache
def aws() -> AwsWorld:
    """The AWS world of this container (one per process, like its clients and model session)."""
    from autolabel.aws.settings import Settings

    return aws_world(Settings())


def aws_world(settings: Settings, credentials: AccessKey | None = None) -> AwsWorld:
    from autolabel.aws import clients
    from autolabel.aws.alarms import DeadLetterAlarms
    from autolabel.aws.blobs import S3BlobStore
    from autolabel.aws.executions import StepFunctionsRunLauncher
    from autolabel.aws.jobs import DynamoJobStore, SQSJobLauncher
    from autolabel.aws.queues import SQSReviewQueues
    from autolabel.aws.records import DynamoRecordStore

    s, keys = settings, credentials
    # One client per service (making one costs milliseconds of a cold start), shared by adapters.
    dynamodb, sqs = clients.dynamodb(s.region, keys), clients.sqs(s.region, keys)
    backends = Backends(
        records=DynamoRecordStore(dynamodb, s.table),
        blobs=S3BlobStore(clients.s3(s.region, keys), s.bucket, cache_dir=s.cache_dir),
        queues=SQSReviewQueues(
            sqs,
            alarms=DeadLetterAlarms(clients.lazy_cloudwatch(s.region, keys), s.alarm_prefix, s.alarm_action),
        ),
        launcher=StepFunctionsRunLauncher(clients.lazy_stepfunctions(s.region, keys), s.state_machine_arn),
        jobs=DynamoJobStore(dynamodb, s.table),
        job_launcher=SQSJobLauncher(sqs, s.jobs_queue_url),
        queue_prefix=s.queue_prefix,
        models_dir=s.models_dir,
    )
    return AwsWorld(backends, s, keys)


def on_aws() -> bool:
    """Whether this process runs in the AWS world (the stack sets ``AUTOLABEL_TABLE``)."""
    return bool(os.environ.get("AUTOLABEL_TABLE"))
