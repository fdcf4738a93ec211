"""Label objects uploaded under ``uploads/<dataset>/``: EventBridge (S3 Object Created) → SQS →
this function, a batch of records at a time with partial batch failure reporting."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel, SqsRecordModel
from aws_lambda_powertools.utilities.parser.types import Json
from aws_lambda_powertools.utilities.typing import LambdaContext

from autolabel.aws.world import AwsWorld, Settings
from autolabel.domain.errors import ValidationError
from autolabel.runs import label_object

logger = Logger()
tracer = Tracer()
metrics = Metrics()
world = AwsWorld(Settings())
# EventBridge and SQS both deliver at least once: the event id keys the work, so a duplicate
# returns the first outcome. The store's conditions would prevent duplicates regardless.
idempotency = IdempotencyConfig(event_key_jmespath="event_id", expires_after_seconds=24 * 3600)
persistence = DynamoDBPersistenceLayer(table_name=world.settings.idempotency_table)


class UploadRecord(SqsRecordModel):
    body: Json[S3EventNotificationEventBridgeModel]


processor = BatchProcessor(event_type=EventType.SQS, model=UploadRecord)


def split(key: str) -> tuple[str, str] | None:
    """``uploads/<dataset>/<file>`` → (dataset, file); anything else is not ours."""
    prefix = world.settings.upload_prefix
    if not key.startswith(prefix):
        return None
    parts = key[len(prefix) :].split("/")
    if len(parts) < 2 or not parts[0] or not parts[-1]:
        return None
    return parts[0], parts[-1]


@idempotent_function(  # type: ignore[untyped-decorator]  # powertools ships it untyped
    data_keyword_argument="upload", persistence_store=persistence, config=idempotency
)
def label(upload: dict[str, Any]) -> dict[str, Any]:
    key = upload["key"]
    target = split(key)
    if target is None:
        return {"key": key, "ignored": "not under <upload prefix>/<dataset>/"}
    dataset, filename = target
    try:
        data = world.backends.blobs.get(key)
        outcomes = label_object(world.service, world.models, dataset, filename, data)
    except ValidationError as exc:
        # Not an image by its name, or a key S3 allows and autolabel does not: retrying cannot
        # help, so it is reported and dropped rather than looping into the DLQ.
        return {"key": key, "ignored": exc.message}
    return {"key": key, "tasks": [o.as_dict() for o in outcomes]}


def record_handler(record: UploadRecord) -> dict[str, Any]:
    event: S3EventNotificationEventBridgeModel = record.body
    upload = {"event_id": event.id, "bucket": event.detail.bucket.name, "key": event.detail.object.key}
    result: dict[str, Any] = label(upload=upload)
    if "ignored" in result:
        logger.warning("upload ignored", extra=result)
        metrics.add_metric(name="UploadsIgnored", unit=MetricUnit.Count, value=1)
    else:
        for outcome in result["tasks"]:
            metrics.add_metric(name="InputsProcessed", unit=MetricUnit.Count, value=outcome["processed"])
            metrics.add_metric(name="InputsFailed", unit=MetricUnit.Count, value=outcome["failed"])
    return result


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    idempotency.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
