"""Start a task run: register inputs and write the manifest the Distributed Map reads."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import BaseModel, parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from autolabel import bootstrap
from autolabel.app.runs import lifecycle

logger = Logger()
tracer = Tracer()
metrics = Metrics()
world = bootstrap.aws()


class StartRun(BaseModel):
    task_id: str


class Started(BaseModel):
    """What the state machine passes on: where the manifest is, for the Map's ItemReader."""

    task_id: str
    bucket: str
    manifest_key: str
    total: int
    pending: int


@logger.inject_lambda_context(correlation_id_path="task_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse(event=event, model=StartRun)
    logger.append_keys(task_id=request.task_id)
    # Domain errors (NotFound, ValidationError for an empty dataset) propagate by class name:
    # the state machine's Catch sends them to finalize_run, which marks the task Failed.
    plan = lifecycle.start(world.backends, request.task_id)
    key = lifecycle.write_manifest(world.backends, plan)
    started = Started(
        task_id=plan.task_id,
        bucket=world.settings.bucket,
        manifest_key=key,
        total=plan.total,
        pending=len(plan.pending),
    )
    metrics.add_metric(name="RunsStarted", unit=MetricUnit.Count, value=1)
    logger.info("run started", extra={"total": started.total, "pending": started.pending})
    return started.model_dump()
