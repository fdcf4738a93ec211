"""Jobs on AWS: their records in the records table (``JOB#<id>`` / ``META``, the job's JSON
next to its revision) and a launcher that puts the job's id on the jobs queue, which the
run_job function reads."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from autolabel.aws.errors import code_of
from autolabel.aws.records.codecs import N, S, text
from autolabel.aws.records.keys import META, key
from autolabel.aws.records.table import Table
from autolabel.domain.errors import Conflict, NotFound
from autolabel.domain.jobs import Job
from autolabel.ports import JobLauncher, JobStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient


def job_pk(job_id: str) -> str:
    return f"JOB#{job_id}"


class DynamoJobStore(JobStore):
    def __init__(self, client: DynamoDBClient, table: str, sleep: Any = time.sleep) -> None:
        self.table = Table(client, table, sleep)

    def _item(self, job: Job) -> dict[str, Any]:
        return {
            **key(job_pk(job.id), META),
            "task_id": S(job.task_id),
            "revision": N(job.revision),
            "body": S(job.model_dump_json()),
        }

    def create_job(self, job: Job) -> None:
        if not self.table.put_new(self._item(job)):
            raise Conflict(f"job {job.id} already exists", {"job_id": job.id})

    def get_job(self, job_id: str) -> Job:
        item = self.table.get(job_pk(job_id), META)
        if item is None:
            raise NotFound(f"no job {job_id}", {"job_id": job_id})
        return Job.model_validate_json(text(item, "body"))

    def save_job(self, job: Job) -> None:
        try:
            self.table.client.put_item(
                TableName=self.table.name,
                Item=self._item(job),
                ConditionExpression="revision = :previous",
                ExpressionAttributeValues={":previous": N(job.revision - 1)},
            )
        except ClientError as exc:
            if code_of(exc) != "ConditionalCheckFailedException":
                raise
            self.get_job(job.id)  # NotFound for an unknown job
            raise Conflict(f"job {job.id} was saved by another worker", {"job_id": job.id}) from None


class SQSJobLauncher(JobLauncher):
    """One message per launch; the run_job function runs chunks until its time is nearly up and
    launches the job again, so a job outlives any one invocation."""

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self.client = client
        self.queue_url = queue_url

    def launch(self, job_id: str) -> None:
        if not self.queue_url:
            raise RuntimeError("AUTOLABEL_JOBS_QUEUE_URL is not set: this function cannot start jobs")
        self.client.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps({"job_id": job_id}))
