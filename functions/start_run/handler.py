"""Start a task run: register inputs and write the manifest the Distributed Map reads."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import BaseModel, parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from autolabel.aws.world import AwsWorld, Settings
from autolabel.runs import start_run

logger = Logger()
tracer = Tracer()
metrics = Metrics()
world = AwsWorld(Settings())


class StartRun(BaseModel):
    task_id: str


@logger.inject_lambda_context(correlation_id_path="task_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse(event=event, model=StartRun)
    logger.append_keys(task_id=request.task_id)
    # Domain errors (NotFound, ValidationError for an empty dataset) propagate by class name:
    # the state machine's Catch sends them to finalize_run, which marks the task Failed.
    started = start_run(world.backends, request.task_id)
    metrics.add_metric(name="RunsStarted", unit=MetricUnit.Count, value=1)
    logger.info("run started", extra={"total": started.total, "pending": started.pending})
    return {
        "task_id": started.task_id,
        "bucket": world.settings.bucket,
        "manifest_key": started.manifest_key,
        "total": started.total,
        "pending": started.pending,
    }
