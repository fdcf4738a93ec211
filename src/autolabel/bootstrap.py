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
from autolabel.ports import Backends

if TYPE_CHECKING:
    # Installed with the [aws] extra only: the embedded world never imports it.
    from autolabel.aws.clients import AccessKey, Session
    from autolabel.aws.settings import Settings


def default_home() -> Path:
    return Path(os.environ.get("AUTOLABEL_HOME", ".autolabel")).resolve()


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
    home.mkdir(parents=True, exist_ok=True)
    database = SQLiteDatabase(home / "autolabel.sqlite3", checkpoint_every_s=1.0 if serving else None)

    def run_in_background(task_id: str) -> None:
        # Loaded with the first run: an API that never runs a task never loads the model runtime.
        from autolabel.app.runs.local import run_to_end

        run_to_end(backends, task_id)

    def job_in_background(job_id: str) -> None:
        from autolabel.app.jobs import run_in_background

        run_in_background(backends, job_id)

    job_store, job_launcher = SQLiteJobStore(database), ThreadJobLauncher(job_in_background)
    backends = Backends(
        records=SQLiteRecordStore(database),
        blobs=FileBlobStore(home / "blobs"),
        queues=SQLiteReviewQueues(database),
        launcher=ThreadRunLauncher(run_in_background),
        jobs=job_store,
        job_launcher=job_launcher,
        users=SQLiteUserStore(database),
        models_dir=models_dir or shipped_models_dir(),
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
    backends = Backends(
        records=DynamoRecordStore(clients.dynamodb(s.region, keys), s.table),
        blobs=S3BlobStore(clients.s3(s.region, keys), s.bucket, cache_dir=s.cache_dir),
        queues=SQSReviewQueues(
            clients.sqs(s.region, keys),
            alarms=DeadLetterAlarms(clients.lazy_cloudwatch(s.region, keys), s.alarm_prefix, s.alarm_action),
        ),
        launcher=StepFunctionsRunLauncher(clients.lazy_stepfunctions(s.region, keys), s.state_machine_arn),
        jobs=DynamoJobStore(clients.dynamodb(s.region, keys), s.table),
        job_launcher=SQSJobLauncher(clients.sqs(s.region, keys), s.jobs_queue_url),
        queue_prefix=s.queue_prefix,
        models_dir=s.models_dir,
    )
    return AwsWorld(backends, s, keys)


def on_aws() -> bool:
    """Whether this process runs in the AWS world (the stack sets ``AUTOLABEL_TABLE``)."""
    return bool(os.environ.get("AUTOLABEL_TABLE"))
