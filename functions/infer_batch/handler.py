"""Infer one Distributed Map batch: decode → model → route → record → enqueue."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from aws_lambda_powertools.utilities.parser import BaseModel, parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from autolabel import bootstrap
from autolabel.app.runs import lifecycle
from autolabel.app.runs.inference import BatchInference

logger = Logger()
tracer = Tracer()
metrics = Metrics()
world = bootstrap.aws()
# The model is loaded once per container, whatever the number of batches it serves.
inference = BatchInference(world.backends, world.settings.intra_op_threads)
# A retry of a batch that already finished (Lambda timeout after the commit, a Step Functions
# retry) returns the stored outcome instead of running the model again; the store's
# conditional writes would record nothing twice anyway, this saves the compute.
idempotency = IdempotencyConfig(event_key_jmespath="[task_id, input_ids]", expires_after_seconds=24 * 3600)
persistence = DynamoDBPersistenceLayer(table_name=world.settings.idempotency_table, boto3_session=world.boto3_session())


class Item(BaseModel):
    input_id: str


class BatchInput(BaseModel):
    task_id: str


class Batch(BaseModel):
    """What ItemBatcher hands each child: the manifest's items plus the run's BatchInput."""

    Items: list[Item]
    BatchInput: BatchInput


class Work(BaseModel):
    task_id: str
    input_ids: list[str]


@tracer.capture_method
@idempotent_function(  # type: ignore[untyped-decorator]  # powertools ships it untyped
    data_keyword_argument="work",
    persistence_store=persistence,
    config=idempotency,
    output_serializer=PydanticSerializer(lifecycle.BatchOutcome),
)
def process(work: Work) -> lifecycle.BatchOutcome:
    return lifecycle.process_batch(world.backends, inference, work.task_id, work.input_ids)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse(event=event, model=Batch)
    task_id = request.BatchInput.task_id
    logger.set_correlation_id(task_id)
    logger.append_keys(task_id=task_id)
    idempotency.register_lambda_context(context)
    outcome: lifecycle.BatchOutcome = process(work=Work(task_id=task_id, input_ids=[i.input_id for i in request.Items]))
    if outcome.skipped:
        logger.warning("batch skipped", extra={"reason": outcome.skipped})
        return outcome.model_dump()
    metrics.add_metric(name="InputsProcessed", unit=MetricUnit.Count, value=outcome.processed)
    metrics.add_metric(name="InputsFailed", unit=MetricUnit.Count, value=outcome.failed)
    for band, count in outcome.bands.items():
        metrics.add_metric(name=f"Predictions{band.capitalize()}", unit=MetricUnit.Count, value=count)
    metrics.add_metric(name="ReviewItemsCreated", unit=MetricUnit.Count, value=outcome.review_items)
    metrics.add_metric(name="InferenceMs", unit=MetricUnit.Milliseconds, value=outcome.inference_ms)
    logger.info("batch recorded", extra=outcome.model_dump())
    return outcome.model_dump()
