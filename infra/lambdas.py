"""How every function is built: Python 3.12 on arm64, the shared layers, X-Ray tracing, a log
group with retention, and a role that starts with nothing but its own log group."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import ROOT

RUNTIME = lambda_.Runtime.PYTHON_3_12


def function(
    scope: Construct,
    name: str,
    *,
    layers: Sequence[lambda_.ILayerVersion],
    environment: dict[str, str],
    memory_mb: int = 512,
    timeout_s: int = 60,
    reserved_concurrency: int = 0,
    description: str,
) -> lambda_.Function:
    log_group = logs.LogGroup(
        scope, f"{name}Logs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
    )
    role = iam.Role(scope, f"{name}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    # Instead of the managed AWSLambdaBasicExecutionRole (logs:* on every group): this group only.
    role.add_to_policy(
        iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn])
    )
    return lambda_.Function(
        scope,
        name,
        description=description,
        runtime=RUNTIME,
        architecture=lambda_.Architecture.ARM_64,
        handler="handler.handler",
        code=lambda_.Code.from_asset(str(ROOT / "functions" / snake(name))),
        layers=list(layers),
        memory_size=memory_mb,
        timeout=Duration.seconds(timeout_s),
        # Reserved: guaranteed to this function and its cap (infra/config.py); 0: the shared pool.
        reserved_concurrent_executions=reserved_concurrency or None,
        tracing=lambda_.Tracing.ACTIVE,
        log_group=log_group,
        role=role,
        environment={
            "POWERTOOLS_SERVICE_NAME": "autolabel",
            "POWERTOOLS_METRICS_NAMESPACE": "autolabel",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            **environment,
        },
    )


def work_queue(
    scope: Construct, name: str, *, function_timeout_s: int, max_receives: int
) -> tuple[sqs.Queue, sqs.Queue]:
    """An encrypted queue feeding a function, and its dead-letter queue (kept 14 days).

    Visibility is six times the function's timeout, as Lambda's SQS guidance says, so a message
    is not delivered again while its invocation still runs."""
    dlq = sqs.Queue(
        scope,
        f"{name}DLQ",
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    queue = sqs.Queue(
        scope,
        name,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        visibility_timeout=Duration.seconds(6 * function_timeout_s),
        dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=max_receives),
    )
    return queue, dlq


def snake(name: str) -> str:
    """CDK ids are CamelCase; function folders are snake_case (StartRun -> start_run)."""
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


def table_statement(table_arn: str, actions: Sequence[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        actions=[f"dynamodb:{a}" for a in actions], resources=[table_arn, f"{table_arn}/index/*"]
    )


def list_statement(bucket: s3.IBucket, prefixes: Sequence[str]) -> iam.PolicyStatement:
    """s3:ListBucket under the prefixes a function reads. Without it S3 answers a HeadObject or
    GetObject of a missing key with 403, not 404, so existence checks (an upload's content key,
    a model's file) would fail instead of answering "no"."""
    return iam.PolicyStatement(
        actions=["s3:ListBucket"],
        resources=[bucket.bucket_arn],
        conditions={"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}},
    )


def queue_arn(scope: Construct, prefix: str) -> str:
    stack = Stack.of(scope)
    return f"arn:{stack.partition}:sqs:{stack.region}:{stack.account}:{prefix}*"


def alarm_arn(scope: Construct, prefix: str) -> str:
    stack = Stack.of(scope)
    return f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:{prefix}*"


def alarm_statement(scope: Construct, prefix: str, actions: Sequence[str]) -> iam.PolicyStatement:
    """Functions that create (or delete) review queues put (or delete) their DLQ's alarm too."""
    return iam.PolicyStatement(actions=list(actions), resources=[alarm_arn(scope, prefix)])


RECORDS_READ = ["GetItem", "BatchGetItem", "Query"]
RECORDS_WRITE = ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "ConditionCheckItem"]
IDEMPOTENCY = ["GetItem", "PutItem", "UpdateItem", "DeleteItem"]
# What enqueue_review_items calls: send, and re-create a queue deleted by hand.
QUEUE_SEND = ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:CreateQueue", "sqs:GetQueueAttributes"]
# Creating a review queue puts its DLQ's alarm (autolabel.aws.alarms); deleting one deletes it.
# Publishing to the alarm topic is CloudWatch's (the topic's policy), not the functions'.
ALARM_PUT = ["cloudwatch:PutMetricAlarm"]
ALARM_DELETE = ["cloudwatch:DeleteAlarms"]
