"""CloudWatch alarms on the dead-letter queues created at run time.

A stack-defined alarm cannot cover queues that do not exist at deploy time (and alarms cannot use
a metric SEARCH), so the queue adapter puts one alarm per dead-letter queue when it creates the
queue and deletes it with the queue. Names start with ``prefix`` so IAM can grant
``alarm:<prefix>*`` only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from autolabel.aws.errors import code_of, is_not_found

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

PERIOD_S = 300  # SQS publishes its metrics every 5 minutes; a shorter period only sees gaps
MAX_NAME = 255  # CloudWatch's limit on alarm names


class DeadLetterAlarms:
    """``action`` is an SNS topic ARN (or any alarm action); empty puts alarms without actions,
    which still show in the console and in ``describe-alarms --state-value ALARM``."""

    def __init__(self, client: CloudWatchClient, prefix: str, action: str = "") -> None:
        self.client = client
        self.prefix = prefix
        self.action = action

    def name(self, dead_letter_queue: str) -> str:
        return f"{self.prefix}{dead_letter_queue}"[:MAX_NAME]

    def put(self, dead_letter_queue: str, description: str) -> None:
        """Create or overwrite (PutMetricAlarm replaces an alarm of the same name, so this is
        idempotent) the alarm that fires when the queue holds any visible message."""
        actions = [self.action] if self.action else []
        self.client.put_metric_alarm(
            AlarmName=self.name(dead_letter_queue),
            AlarmDescription=description,
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": dead_letter_queue}],
            Statistic="Maximum",
            Period=PERIOD_S,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
            # No data = an idle or new queue, not dead letters.
            TreatMissingData="notBreaching",
            ActionsEnabled=bool(actions),
            AlarmActions=actions,
        )

    def delete(self, dead_letter_queue: str) -> None:
        """Delete the queue's alarm; one already gone is fine (a retried task deletion)."""
        try:
            self.client.delete_alarms(AlarmNames=[self.name(dead_letter_queue)])
        except ClientError as exc:
            if code_of(exc) != "ResourceNotFound" and not is_not_found(exc):
                raise
