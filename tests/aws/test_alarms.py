"""Every review queue's dead-letter queue has a CloudWatch alarm that lives and dies with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autolabel.app import datasets, jobs, tasks
from autolabel.aws import clients
from autolabel.aws.queues import dlq_name
from autolabel.aws.settings import Settings
from autolabel.bootstrap import AwsWorld, aws_world
from autolabel.domain.models import Reviewer
from autolabel.domain.queues import review_queue_name
from tests.aws.conftest import Account
from tests.aws.test_handlers import OWNER, make_task
from tests.conftest import sample
from tests.contract.adapters import REGION

TOPIC = "arn:aws:sns:us-east-1:123456789012:autolabel-alarms"
PREFIX = "autolabel-"  # Settings' default, as in infra.config.Config


def alarms(account: Account) -> dict[str, Any]:
    found = clients.cloudwatch(REGION, account.admin).describe_alarms(AlarmNamePrefix=PREFIX)["MetricAlarms"]
    return {a["AlarmName"]: a for a in found}


def alarmed_world(account: Account, tmp_path: Path) -> AwsWorld:
    """A second container of the same account, deployed with the stack's alarm topic."""
    world = aws_world(Settings(alarm_action=TOPIC, cache_dir=tmp_path / "alarmed-cache"), account.admin)
    assert world.settings.table == account.world.settings.table
    return world


def task_with_alice_and_bob(account: Account, name: str = "t1") -> Any:
    datasets.add_files(account.world.backends, OWNER, "street", [sample("coffee")])
    return make_task(account, name=name)


def dlq_of(task_id: str, reviewer: str) -> str:
    return dlq_name(review_queue_name("al-", task_id, reviewer))  # Settings' default queue prefix


def test_a_task_s_queues_each_get_an_alarm_on_their_dlq(account: Account, tmp_path: Path) -> None:
    world = alarmed_world(account, tmp_path)
    account.world = world
    task = task_with_alice_and_bob(account)
    found = alarms(account)
    expected = {f"{PREFIX}{dlq_of(task.id, r)}": dlq_of(task.id, r) for r in ("alice", "bob")}
    assert set(found) == set(expected)
    sqs = clients.sqs(REGION, account.admin)
    for name, dlq in expected.items():
        alarm = found[name]
        sqs.get_queue_url(QueueName=dlq)  # the dimension names a queue that exists
        assert alarm["Namespace"] == "AWS/SQS"
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": dlq}]
        assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == ("Maximum", 300, 1)
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0.0)
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["AlarmActions"] == [TOPIC] and alarm["ActionsEnabled"] is True


def test_re_creating_queues_re_puts_the_same_alarms(account: Account, tmp_path: Path) -> None:
    account.world = alarmed_world(account, tmp_path)
    backends = account.world.backends
    task = task_with_alice_and_bob(account)
    before = alarms(account)
    cloudwatch = clients.cloudwatch(REGION, account.admin)
    bob = f"{PREFIX}{dlq_of(task.id, 'bob')}"
    cloudwatch.delete_alarms(AlarmNames=[bob])  # lost by hand
    # Changing the reviewers re-creates every reviewer's queue: carol's is new, alice's and
    # bob's exist already and get their alarm put again (bob's healed), never a second one.
    tasks.update_task(
        backends, OWNER, "t1", reviewers=[Reviewer(name="alice"), Reviewer(name="bob"), Reviewer(name="carol")]
    )
    backends.queues.create(review_queue_name("al-", task.id, "alice"))
    after = alarms(account)
    assert set(after) == set(before) | {f"{PREFIX}{dlq_of(task.id, 'carol')}"}

    def config(alarm: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in alarm.items() if not k.startswith(("AlarmConfigurationUpdated", "State"))}

    for name, alarm in before.items():
        assert config(after[name]) == config(alarm)


def test_deleting_a_task_deletes_its_alarms_and_only_its_alarms(account: Account, tmp_path: Path) -> None:
    account.world = alarmed_world(account, tmp_path)
    backends = account.world.backends
    kept = task_with_alice_and_bob(account, "kept")
    task_with_alice_and_bob(account)
    assert len(alarms(account)) == 4
    jobs.submit_delete(backends, OWNER, "t1")
    account.run_jobs()
    assert set(alarms(account)) == {f"{PREFIX}{dlq_of(kept.id, r)}" for r in ("alice", "bob")}
    # A retried deletion finds neither queue nor alarm, and is fine with that.
    backends.queues.delete_queue(review_queue_name("al-", kept.id, "alice"))
    backends.queues.delete_queue(review_queue_name("al-", kept.id, "alice"))
    assert set(alarms(account)) == {f"{PREFIX}{dlq_of(kept.id, 'bob')}"}


def test_without_an_alarm_action_the_alarms_exist_without_actions(account: Account) -> None:
    assert account.world.settings.alarm_action == ""
    task = task_with_alice_and_bob(account)
    found = alarms(account)
    assert set(found) == {f"{PREFIX}{dlq_of(task.id, r)}" for r in ("alice", "bob")}
    for alarm in found.values():
        assert alarm["AlarmActions"] == [] and alarm["ActionsEnabled"] is False
