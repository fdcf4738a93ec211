"""The run pipeline: layers, the start / infer / finalize functions and the state machine.

Start → Distributed Map (ItemReader over the run's manifest in S3, ItemBatcher, MaxConcurrency,
retries, ToleratedFailurePercentage) → Finalize; a Catch on each step marks the task Failed
with the error. Each run is one execution named ``<task id>-run-<n>`` (``autolabel.aws.executions``).
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

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
)
from infra.monitoring import Alerts
from infra.storage import Storage

# Errors worth retrying, as Step Functions names them. A function's own error is named by its
# exception class (errorType): Throttled (autolabel.aws.errors: throttling that outlasted
# botocore's retries, or batch items DynamoDB left unprocessed), Contended (an optimistic write
# that kept losing to other writers) and powertools' IdempotencyAlreadyInProgressError (a batch
# retried while its first attempt still runs). Domain errors (NotFound, ValidationError) are not.
TRANSIENT = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.TooManyRequestsException",
    "Throttled",
    "Contended",
    "IdempotencyAlreadyInProgressError",
]
# A function that timed out or ran out of memory: once more, in case a cold start or a slow
# dependency was the cause, but not four times over.
CRASHED = ["Sandbox.Timedout", "Lambda.Unknown"]


class Pipeline(Construct):
    def __init__(self, scope: Construct, id: str, config: Config, storage: Storage, alerts: Alerts) -> None:
        super().__init__(scope, id)
        layers_dir = Path(config.layers_dir)
        self.core_layer = self._layer(layers_dir, "core", "autolabel + pydantic + powertools (layers/build.py)")
        # Exports read image headers: the API carries Pillow, not the model runtime.
        self.imaging_layer = self._layer(layers_dir, "imaging", "pillow (layers/build.py)")
        self.inference_layer = self._layer(layers_dir, "inference", "onnxruntime + numpy (layers/build.py)")
        # What each kind of function imports: the run's bookkeeping steps load neither numpy,
        # Pillow nor onnxruntime (autolabel.app.runs.lifecycle), so they carry the core alone.
        self.model_layers = [self.core_layer, self.imaging_layer, self.inference_layer]
        bookkeeping = [self.core_layer]
        bucket, table = storage.bucket, storage.table
        self.environment = {
            "AUTOLABEL_TABLE": table.table_name,
            "AUTOLABEL_BUCKET": bucket.bucket_name,
            "AUTOLABEL_QUEUE_PREFIX": config.queue_prefix,
            "AUTOLABEL_IDEMPOTENCY_TABLE": storage.idempotency.table_name,
            "AUTOLABEL_UPLOAD_PREFIX": config.upload_prefix,
            "AUTOLABEL_INTRA_OP_THREADS": str(config.intra_op_threads),
            "AUTOLABEL_ALARM_PREFIX": config.alarm_prefix,
            "AUTOLABEL_ALARM_ACTION": alerts.topic.topic_arn,
        }
        queues = queue_arn(self, config.queue_prefix)

        self.start = function(
            self,
            "StartRun",
            layers=bookkeeping,
            environment=self.environment,
            timeout_s=300,
            description="Registers a task's inputs and writes the run manifest",
        )
        self.start.add_to_role_policy(table_statement(table.table_arn, RECORDS_READ + RECORDS_WRITE))
        self.start.add_to_role_policy(
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[bucket.arn_for_objects("runs/*")])
        )
        self.start.add_to_role_policy(iam.PolicyStatement(actions=QUEUE_SEND, resources=[queues]))
        self.start.add_to_role_policy(alarm_statement(self, config.alarm_prefix, ALARM_PUT))

        self.infer = function(
            self,
            "InferBatch",
            layers=self.model_layers,
            environment=self.environment,
            memory_mb=config.inference_memory_mb,
            timeout_s=config.inference_timeout_s,
            reserved_concurrency=config.inference_reserved_concurrency,
            description="Infers, routes and records one batch of a run",
        )
        self.infer.add_to_role_policy(table_statement(table.table_arn, RECORDS_READ + RECORDS_WRITE))
        self.infer.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:" + a for a in IDEMPOTENCY], resources=[storage.idempotency.table_arn]
            )
        )
        self.infer.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects("datasets/*"), bucket.arn_for_objects("models/*")],
            )
        )
        self.infer.add_to_role_policy(list_statement(bucket, ["datasets/", "models/"]))
        self.infer.add_to_role_policy(iam.PolicyStatement(actions=QUEUE_SEND, resources=[queues]))
        self.infer.add_to_role_policy(alarm_statement(self, config.alarm_prefix, ALARM_PUT))

        self.finalize = function(
            self,
            "FinalizeRun",
            layers=bookkeeping,
            environment=self.environment,
            timeout_s=300,
            description="Records unprocessed inputs and sets the task's final status",
        )
        self.finalize.add_to_role_policy(table_statement(table.table_arn, RECORDS_READ + RECORDS_WRITE))
        self.finalize.add_to_role_policy(iam.PolicyStatement(actions=QUEUE_SEND, resources=[queues]))
        self.finalize.add_to_role_policy(alarm_statement(self, config.alarm_prefix, ALARM_PUT))

        self.state_machine = self._state_machine(config, storage)

    def _invoke(
        self,
        id: str,
        fn: lambda_.IFunction,
        payload: dict[str, object] | None = None,
        result_path: str | None = None,
    ) -> tasks.LambdaInvoke:
        invoke = tasks.LambdaInvoke(
            self,
            id,
            lambda_function=fn,
            payload=sfn.TaskInput.from_object(payload) if payload else None,
            payload_response_only=True,
            result_path=result_path,
            retry_on_service_exceptions=False,  # the explicit policy below covers them
        )
        invoke.add_retry(
            errors=TRANSIENT,
            interval=Duration.seconds(2),
            backoff_rate=2.0,
            max_attempts=4,
            max_delay=Duration.seconds(30),
            jitter_strategy=sfn.JitterType.FULL,
        )
        invoke.add_retry(
            errors=CRASHED, interval=Duration.seconds(5), max_attempts=1, jitter_strategy=sfn.JitterType.FULL
        )
        return invoke

    def _state_machine(self, config: Config, storage: Storage) -> sfn.StateMachine:
        mark_failed = self._invoke(
            "MarkFailed",
            self.finalize,
            {"task_id": sfn.JsonPath.string_at("$.task_id"), "error": sfn.JsonPath.object_at("$.error")},
            # The state keeps $.error (finalize's output is dropped), so the execution fails with
            # the run's real error and cause, not States.Runtime for a path that is gone.
            result_path=sfn.JsonPath.DISCARD,
        )
        mark_failed.next(sfn.Fail(self, "RunFailed", cause_path="$.error.Cause", error_path="$.error.Error"))

        start = self._invoke("Start", self.start, {"task_id": sfn.JsonPath.string_at("$.task_id")})
        start.add_catch(mark_failed, result_path="$.error")

        infer = self._invoke("Infer", self.infer)
        fan_out = sfn.DistributedMap(
            self,
            "InferBatches",
            item_reader=sfn.S3JsonItemReader(bucket=storage.bucket, key=sfn.JsonPath.string_at("$.manifest_key")),
            item_batcher=sfn.ItemBatcher(
                max_items_per_batch=config.batch_size,
                # A raw ".$" key: CDK does not turn JsonPath tokens in BatchInput into paths.
                batch_input={"task_id.$": "$.task_id"},
            ),
            max_concurrency=config.max_concurrency,
            tolerated_failure_percentage=config.tolerated_failure_percentage,
            map_execution_type=sfn.StateMachineType.STANDARD,
            result_path=sfn.JsonPath.DISCARD,  # the state keeps the run's task_id for Finalize
        )
        fan_out.item_processor(infer)
        fan_out.add_catch(mark_failed, result_path="$.error")

        finalize = self._invoke("Finalize", self.finalize, {"task_id": sfn.JsonPath.string_at("$.task_id")})
        finalize.add_catch(mark_failed, result_path="$.error")

        log_group = logs.LogGroup(
            self, "RunsLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        return sfn.StateMachine(
            self,
            "Runs",
            definition_body=sfn.DefinitionBody.from_chainable(start.next(fan_out).next(finalize)),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            comment="One execution per task run, named <task id>-run-<n>",
        )

    def _layer(self, layers_dir: Path, name: str, description: str) -> lambda_.LayerVersion:
        return lambda_.LayerVersion(
            self,
            f"{name.capitalize()}Layer",
            code=lambda_.Code.from_asset(str(layers_dir / name)),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_12],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            description=description,
        )
