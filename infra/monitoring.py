"""Monitoring: one dashboard (throughput, bands, failures, Lambda duration and errors, DLQ depth,
running executions) and alarms (any dead-letter queue not empty, executions failed, function
errors)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_lambda as lambda_
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


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        config: Config,
        state_machine: sfn.StateMachine,
        functions: Sequence[lambda_.Function],
        dead_letter_queues: Sequence[sqs.IQueue],
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
        # Review queues are created per task at run time, so one alarm covers them all with a
        # metric-math SEARCH over the prefix's dead-letter queues.
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
