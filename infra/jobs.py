"""Jobs: the work that grows with a task (exports, versions, deleting a task, rethreshold, bulk
accept). The API stores a job and puts its id on the jobs queue; the run_job function does the
job's chunks until little time is left and puts it back on the queue (autolabel.app.jobs).

Why an SQS-driven Lambda rather than a Step Functions execution: a job is a loop of chunks
with its checkpoint on the job's own record, so the queue only has to say "carry on with job
J": no state to pass between steps (nothing near the 256 KiB state limit), no per-transition
price, SQS's redelivery and dead-letter queue for a worker that crashes, and one function that
the embedded world mirrors with a thread."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct

from infra.config import Config
from infra.lambdas import (
    ALARM_DELETE,
    ALARM_PUT,
    QUEUE_SEND,
    RECORDS_READ,
    RECORDS_WRITE,
    alarm_statement,
    function,
    list_statement,
    queue_arn,
    table_statement,
    work_queue,
)
from infra.pipeline import Pipeline
from infra.storage import Storage

# functions/run_job stops starting chunks with 60 s left (MARGIN_MS) and re-enqueues the job.
RUN_JOB_TIMEOUT_S = 300
# functions/run_job fails a job on its last delivery (MAX_RECEIVES) rather than leaving it
# running forever in the dead-letter queue.
MAX_RECEIVES = 3
# Jobs are asked for by people, a few at a time; a burst of them (a script exporting every task)
# waits in the queue rather than taking the account's concurrency from inference and the API.
MAX_CONCURRENT_JOBS = 5


class Jobs(Construct):
    def __init__(self, scope: Construct, id: str, config: Config, storage: Storage, pipeline: Pipeline) -> None:
        super().__init__(scope, id)
        bucket, table = storage.bucket, storage.table
        self.queue, self.dlq = work_queue(self, "Jobs", function_timeout_s=RUN_JOB_TIMEOUT_S, max_receives=MAX_RECEIVES)
        self.function = function(
            self,
            "RunJob",
            # An export reads an image's header when its size was not recorded (Pillow).
            layers=[pipeline.core_layer, pipeline.imaging_layer],
            environment={**pipeline.environment, "AUTOLABEL_JOBS_QUEUE_URL": self.queue.queue_url},
            memory_mb=1024,
            timeout_s=RUN_JOB_TIMEOUT_S,
            description="Runs a job's chunks (export, version, delete, rethreshold, bulk accept) and re-enqueues it",
        )
        # One job per invocation: the function's own clock decides when to stop.
        self.function.add_event_source(
            sources.SqsEventSource(self.queue, batch_size=1, max_concurrency=MAX_CONCURRENT_JOBS)
        )
        self.function.add_to_role_policy(table_statement(table.table_arn, RECORDS_READ + RECORDS_WRITE))
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                # Working files and results (jobs/), version snapshots written and deleted
                # (versions/), images whose size was not recorded (datasets/).
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                resources=[bucket.arn_for_objects("jobs/*"), bucket.arn_for_objects("versions/*")],
            )
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[bucket.arn_for_objects("datasets/*")])
        )
        # A missing key is then NotFound, not AccessDenied (S3's rule without s3:ListBucket).
        self.function.add_to_role_policy(list_statement(bucket, ["jobs/", "versions/", "datasets/"]))
        # Review queues: deleted with their task; rethreshold sends new items (healing a
        # deleted queue and its alarm); bulk accept deletes an accepted item's lease.
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=[*QUEUE_SEND, "sqs:DeleteQueue", "sqs:DeleteMessage"],
                resources=[queue_arn(self, config.queue_prefix)],
            )
        )
        self.function.add_to_role_policy(alarm_statement(self, config.alarm_prefix, ALARM_PUT + ALARM_DELETE))
        # Carrying on with a job is sending its id again.
        self.queue.grant_send_messages(self.function)

    def grant_submit(self, submitter: lambda_.Function) -> None:
        """The API stores jobs and puts them on the queue (it reads jobs/ to presign results'
        URLs: infra/api.py, with its other reads)."""
        submitter.add_environment("AUTOLABEL_JOBS_QUEUE_URL", self.queue.queue_url)
        self.queue.grant_send_messages(submitter)
