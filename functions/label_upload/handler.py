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
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from aws_lambda_powertools.utilities.parser import BaseModel
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel, SqsRecordModel
from aws_lambda_powertools.utilities.parser.types import Json
from aws_lambda_powertools.utilities.typing import LambdaContext

from autolabel import bootstrap
from autolabel.app.runs.inference import BatchInference
from autolabel.app.runs.uploads import UploadOutcome, label_upload
from autolabel.domain.errors import NotFound, ValidationError

logger = Logger()
tracer = Tracer()
metrics = Metrics()
world = bootstrap.aws()
inference = BatchInference(world.backends, world.settings.intra_op_threads)
# EventBridge and SQS both deliver at least once: the event id keys the work, so a duplicate
# returns the first outcome. The store's conditions would prevent duplicates regardless.
idempotency = IdempotencyConfig(event_key_jmespath="event_id", expires_after_seconds=24 * 3600)
persistence = DynamoDBPersistenceLayer(table_name=world.settings.idempotency_table, boto3_session=world.boto3_session())


class UploadRecord(SqsRecordModel):
    body: Json[S3EventNotificationEventBridgeModel]


class Upload(BaseModel):
    event_id: str
    bucket: str
    key: str
    size: int | None = None  # from the event; without it label_upload asks S3 (HeadObject)


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
    data_keyword_argument="upload",
    persistence_store=persistence,
    config=idempotency,
    output_serializer=PydanticSerializer(UploadOutcome),
)
def label(upload: Upload) -> UploadOutcome:
    target = split(upload.key)
    if target is None:
        return UploadOutcome(key=upload.key, ignored="not under <upload prefix>/<dataset>/")
    dataset, filename = target
    try:
        return label_upload(
            world.backends,
            inference,
            upload.key,
            dataset,
            filename,
            size=upload.size,
            max_bytes=world.settings.upload_max_bytes,
        )
    except ValidationError as exc:
        # A dataset or file name S3 allows and autolabel does not: retrying cannot help, so it
        # is reported and dropped rather than looping into the DLQ.
        return UploadOutcome(key=upload.key, ignored=exc.message)
    except NotFound:
        # Deleted (or expired) before it was labelled: no retry can bring it back.
        return UploadOutcome(key=upload.key, ignored="the object is no longer in the bucket")


def record_handler(record: UploadRecord) -> UploadOutcome:
    event: S3EventNotificationEventBridgeModel = record.body
    found = event.detail.object
    size = None if found.size is None else int(found.size)
    upload = Upload(event_id=event.id, bucket=event.detail.bucket.name, key=found.key, size=size)
    result: UploadOutcome = label(upload=upload)
    if result.ignored is not None:
        logger.warning("upload ignored", extra=result.model_dump())
        metrics.add_metric(name="UploadsIgnored", unit=MetricUnit.Count, value=1)
    else:
        if result.refused is not None:
            logger.warning("upload refused", extra=result.model_dump())
            metrics.add_metric(name="UploadsRefused", unit=MetricUnit.Count, value=1)
        for outcome in result.tasks:
            metrics.add_metric(name="InputsProcessed", unit=MetricUnit.Count, value=outcome.processed)
            metrics.add_metric(name="InputsFailed", unit=MetricUnit.Count, value=outcome.failed)
    return result


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    idempotency.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
