"""Monitoring: one dashboard (throughput, bands, failures, Lambda duration and errors, DLQ depth,
running executions) and alarms (any dead-letter queue not empty, executions failed, function
errors), all notifying one encrypted SNS topic people subscribe to.

The review queues' dead-letter queues are created per task at run time, so their alarms are too
(``autolabel.aws.alarms``, put by the functions that create the queues, with the topic as their
action); the stack defines the alarms of the queues it owns."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.config import Config

NAMESPACE = "autolabel"  # powertools' EMF namespace (POWERTOOLS_METRICS_NAMESPACE)


def emf(name: str, statistic: str = "Sum") -> cw.Metric:
    return cw.Metric(
        namespace=NAMESPACE,
        metric_name=name,
        dimensions_map={"service": "autolabel"},
        statistic=statistic,
        period=Duration.minutes(1),
    )


class Alerts(Construct):
    """The alarm topic. Built before the functions, which pass its ARN to the alarms they put.

    Encrypted with a customer-managed key because CloudWatch cannot publish to a topic under the
    AWS-managed aws/sns key; the key and topic policies let CloudWatch alarms of this account
    (and nobody else's) use them."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        cloudwatch = iam.ServicePrincipal("cloudwatch.amazonaws.com")
        from_our_alarms = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {"aws:SourceArn": f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:*"},
        }
        self.key = kms.Key(
            self,
            "TopicKey",
            enable_key_rotation=True,
            description="Encrypts the alarm topic",
            # It guards notifications in flight, no stored data: `cdk destroy` schedules its deletion.
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[cloudwatch],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
                conditions=from_our_alarms,
            )
        )
        self.topic = sns.Topic(
            self, "AlarmTopic", display_name="autolabel alarms", master_key=self.key, enforce_ssl=True
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[cloudwatch],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=from_our_alarms,
            )
        )


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        config: Config,
        state_machine: sfn.StateMachine,
        functions: Sequence[lambda_.Function],
        dead_letter_queues: Sequence[sqs.IQueue],
        alerts: Alerts,
    ) -> None:
        super().__init__(scope, id)
        self.alarms: list[cw.Alarm] = []
        self.alarms.append(
            state_machine.metric_failed(period=Duration.minutes(5)).create_alarm(
                self,
                "ExecutionsFailed",
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                alarm_description="A task run failed; the task's failure_reason says why",
            )
        )
        for n, queue in enumerate(dead_letter_queues):
            self.alarms.append(
                queue.metric_approximate_number_of_messages_visible(period=Duration.minutes(5)).create_alarm(
                    self,
                    f"DeadLetters{n}",
                    threshold=1,
                    evaluation_periods=1,
                    comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                    treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                    alarm_description="Messages were dead-lettered after every retry",
                )
            )
        # Review queues are created per task at run time, each with its own alarm; the dashboard
        # graphs them all with a metric-math SEARCH over the prefix's dead-letter queues (a
        # SEARCH can be graphed but not alarmed on).
        review_dlqs = cw.MathExpression(
            expression=(
                f'MAX(SEARCH(\'{{AWS/SQS,QueueName}} MetricName="ApproximateNumberOfMessagesVisible" '
                f'QueueName="{config.queue_prefix}" QueueName="-dlq"\', \'Maximum\', 300))'
            ),
            label="review dead letters",
            period=Duration.minutes(5),
        )
        for fn in functions:
            self.alarms.append(
                fn.metric_errors(period=Duration.minutes(5)).create_alarm(
                    self,
                    f"{fn.node.id}Errors",
                    threshold=1,
                    evaluation_periods=1,
                    treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                    alarm_description=f"{fn.node.id} raised errors",
                )
            )
        # The same action as the run-time DLQ alarms (AUTOLABEL_ALARM_ACTION).
        notify = cw_actions.SnsAction(alerts.topic)
        for alarm in self.alarms:
            alarm.add_alarm_action(notify)
        self.dashboard = cw.Dashboard(self, "Dashboard", default_interval=Duration.hours(3))
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Inputs processed / failed", left=[emf("InputsProcessed"), emf("InputsFailed")]),
            cw.GraphWidget(
                title="Predictions by band",
                left=[emf("PredictionsApproved"), emf("PredictionsReview"), emf("PredictionsDiscarded")],
            ),
            cw.GraphWidget(
                title="Inference ms (p50, p99)", left=[emf("InferenceMs", "p50"), emf("InferenceMs", "p99")]
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Lambda duration (p99)", left=[fn.metric_duration(statistic="p99") for fn in functions]
            ),
            cw.GraphWidget(title="Lambda errors", left=[fn.metric_errors() for fn in functions]),
            cw.GraphWidget(
                title="Dead-letter queue depth",
                left=[q.metric_approximate_number_of_messages_visible() for q in dead_letter_queues] + [review_dlqs],
            ),
            cw.GraphWidget(
                title="Executions",
                left=[state_machine.metric_started(), state_machine.metric_failed(), state_machine.metric_succeeded()],
                right=[
                    cw.Metric(
                        namespace="AWS/States",
                        metric_name="ExecutionsStarted",
                        dimensions_map={"StateMachineArn": state_machine.state_machine_arn},
                        statistic="Sum",
                    ).with_(label="started")
                ],
            ),
        )
