"""Finalize a run: record inputs no batch recorded, send unsent review items, set the status."""

from __future__ import annotations

import json
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


class RunError(BaseModel):
    """What a Step Functions Catch puts at ResultPath: the error name and its cause."""

    Error: str
    Cause: str | None = None


class Finalize(BaseModel):
    task_id: str
    error: RunError | None = None


def reason(error: RunError) -> str:
    """A person-readable reason: a Lambda's cause is JSON with errorType and errorMessage."""
    try:
        cause = json.loads(error.Cause or "")
        message = cause.get("errorMessage") if isinstance(cause, dict) else None
    except ValueError:
        message = None
    return f"{error.Error}: {message or error.Cause or 'no details'}"


@logger.inject_lambda_context(correlation_id_path="task_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse(event=event, model=Finalize)
    logger.append_keys(task_id=request.task_id)
    # Idempotent by nature: a repeat finds nothing pending and sets the same status.
    result = lifecycle.finalize(world.backends, request.task_id, reason(request.error) if request.error else None)
    metrics.add_metric(
        name="RunsFailed" if result.status == "Failed" else "RunsCompleted", unit=MetricUnit.Count, value=1
    )
    logger.info("run finalized", extra=result.model_dump())
    return result.model_dump()
