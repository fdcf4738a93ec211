"""HTTP API entry point. The routes of the HTTP API issue mount here; for now health and task
status, with domain errors mapped to their HTTP statuses."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from autolabel.aws import clients
from autolabel.aws.executions import start_run
from autolabel.aws.world import AwsWorld, Settings
from autolabel.domain.errors import AutolabelError

logger = Logger()
tracer = Tracer()
metrics = Metrics()
world = AwsWorld(Settings())
app = APIGatewayHttpResolver()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/tasks/<name>")
def task_status(name: str) -> dict[str, Any]:
    return world.service.summary(name).model_dump(mode="json")


@app.post("/tasks/<name>/run")
def run_task(name: str) -> dict[str, Any]:
    task = world.service.task(name)
    arn = start_run(clients.stepfunctions(world.settings.region), world.settings.state_machine_arn, task.id)
    return {"task_id": task.id, "execution_arn": arn}


@app.exception_handler(AutolabelError)  # type: ignore[untyped-decorator]  # powertools ships it untyped
def domain_error(error: AutolabelError) -> Response[str]:
    import json

    body = json.dumps({"error": error.code, "message": error.message, "details": error.details}, default=str)
    return Response(status_code=error.http_status, content_type="application/json", body=body)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
