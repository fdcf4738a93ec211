"""Review and uploads: the upload path (S3 Object Created → EventBridge → SQS → label_upload)
and the per-reviewer queues' permissions (the queues themselves are created per task at run
time, with names under the configured prefix)."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct

from autolabel.domain.inputs import IMAGE_EXTENSIONS, TEXT_EXTENSIONS
from infra.config import Config
from infra.lambdas import (
    ALARM_PUT,
    IDEMPOTENCY,
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

UPLOAD_TIMEOUT_S = 120


def upload_key_patterns(upload_prefix: str) -> list[Any]:
    """Keys under the prefix that end in an extension autolabel takes (domain.inputs), lower or
    upper case. EventBridge matches a field against a list as "any of", and one condition
    cannot hold both a prefix and a suffix, hence a wildcard per extension; label_upload checks
    the name again (case-insensitively) for events that come another way."""
    extensions = sorted(IMAGE_EXTENSIONS | TEXT_EXTENSIONS)
    return [{"wildcard": f"{upload_prefix}*.{ext}"} for ext in extensions] + [
        {"wildcard": f"{upload_prefix}*.{ext.upper()}"} for ext in extensions
    ]


def upload_size(config: Config) -> list[Any]:
    """Objects of 1 byte to ``upload_max_mb``: no empty "folder" objects, nothing too large."""
    return [{"numeric": [">", 0, "<=", config.upload_max_bytes]}]


class Review(Construct):
    def __init__(self, scope: Construct, id: str, config: Config, storage: Storage, pipeline: Pipeline) -> None:
        super().__init__(scope, id)
        bucket, table = storage.bucket, storage.table
        self.uploads, self.uploads_dlq = work_queue(
            self, "Uploads", function_timeout_s=UPLOAD_TIMEOUT_S, max_receives=5
        )
        self.rule = events.Rule(
            self,
            "UploadCreated",
            description="New objects under the upload prefix are labeled by every watching task",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [bucket.bucket_name]},
                    "object": {"key": upload_key_patterns(config.upload_prefix), "size": upload_size(config)},
                },
            ),
            targets=[targets.SqsQueue(self.uploads)],
        )
        self.label = function(
            self,
            "LabelUpload",
            layers=pipeline.model_layers,
            environment={**pipeline.environment, "AUTOLABEL_UPLOAD_MAX_BYTES": str(config.upload_max_bytes)},
            memory_mb=config.inference_memory_mb,
            timeout_s=UPLOAD_TIMEOUT_S,
            description="Labels an uploaded object for every task that watches its dataset",
        )
        self.label.add_event_source(
            sources.SqsEventSource(
                self.uploads,
                batch_size=10,
                report_batch_item_failures=True,
                max_concurrency=config.upload_max_concurrency,
            )
        )
        self.label.add_to_role_policy(table_statement(table.table_arn, RECORDS_READ + RECORDS_WRITE))
        self.label.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:" + a for a in IDEMPOTENCY], resources=[storage.idempotency.table_arn]
            )
        )
        self.label.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[
                    bucket.arn_for_objects(f"{config.upload_prefix}*"),
                    bucket.arn_for_objects("datasets/*"),
                    bucket.arn_for_objects("models/*"),
                ],
            )
        )
        self.label.add_to_role_policy(list_statement(bucket, [config.upload_prefix, "datasets/", "models/"]))
        self.label.add_to_role_policy(
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[bucket.arn_for_objects("datasets/*")])
        )
        self.label.add_to_role_policy(
            iam.PolicyStatement(actions=QUEUE_SEND, resources=[queue_arn(self, config.queue_prefix)])
        )
        self.label.add_to_role_policy(alarm_statement(self, config.alarm_prefix, ALARM_PUT))

    @property
    def functions(self) -> list[lambda_.Function]:
        return [self.label]
