"""The AWS world: settings read once at cold start, and the adapters built from them.

Each Lambda handler builds one ``AwsWorld`` at import time, so clients, the model cache and the
onnxruntime session live as long as the container.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from autolabel.aws import clients
from autolabel.aws.alarms import DeadLetterAlarms
from autolabel.aws.blobs import S3BlobStore
from autolabel.aws.queues import SQSReviewQueues
from autolabel.aws.records import DynamoRecordStore
from autolabel.inference.catalog import ModelCatalog
from autolabel.inference.spec import load_package
from autolabel.runs import ModelCache
from autolabel.service import Autolabel
from autolabel.workspace import Backends


class Settings(BaseSettings):
    """Environment variables ``AUTOLABEL_*`` set by the CDK stack; a missing one fails the cold
    start with pydantic's message naming it, not the first request with a KeyError."""

    model_config = SettingsConfigDict(env_prefix="AUTOLABEL_", extra="ignore")

    table: str = Field(min_length=3)
    bucket: str = Field(min_length=3)
    queue_prefix: str = "al-"
    idempotency_table: str = ""
    region: str | None = None
    upload_prefix: str = "uploads/"
    # Shipped models are published to S3 (`python -m autolabel.aws.publish`); the Lambda reads
    # them from there, so no folder of models is looked for unless one is named.
    models_dir: Path = Path("/nonexistent-models")
    intra_op_threads: int = Field(default=0, ge=0)
    cache_dir: Path = Path("/tmp/autolabel-blobs")  # noqa: S108 - Lambda's only writable disk
    state_machine_arn: str = ""  # the API starts runs
    # Every review queue's DLQ gets an alarm named <alarm_prefix><dlq name> (IAM grants the
    # prefix); its action is the stack's SNS topic, or none when empty.
    alarm_prefix: str = Field(default="autolabel-", min_length=1)
    alarm_action: str = ""


@dataclass
class AwsWorld:
    settings: Settings

    @cached_property
    def backends(self) -> Backends:
        s = self.settings
        return Backends(
            records=DynamoRecordStore(clients.dynamodb(s.region), s.table),
            blobs=S3BlobStore(clients.s3(s.region), s.bucket, cache_dir=s.cache_dir),
            queues=SQSReviewQueues(
                clients.sqs(s.region),
                prefix=s.queue_prefix,
                alarms=DeadLetterAlarms(clients.cloudwatch(s.region), s.alarm_prefix, s.alarm_action),
            ),
        )

    @cached_property
    def service(self) -> Autolabel:
        b = self.backends
        svc = Autolabel(b.records, b.blobs, b.queues)
        svc.catalog = ModelCatalog(b.records, b.blobs, self.settings.models_dir)
        return svc

    @cached_property
    def models(self) -> ModelCache:
        return ModelCache(self.service.catalog, self.settings.intra_op_threads)


def publish_models(svc: Autolabel, models_dir: Path, only: set[str] | None = None) -> list[str]:
    """Upload the model folders under ``models_dir`` (or those whose ids are in ``only``) to the
    blob store and register them."""
    published = []
    for spec in sorted(models_dir.glob("*/spec.json")):
        package = load_package(spec.parent)
        if only is not None and package.id not in only:
            continue
        svc.catalog.register(package, (spec.parent / package.file).read_bytes())
        published.append(package.id)
    return published


def main() -> None:  # pragma: no cover - a deploy step, run by hand against a real account
    from autolabel.inference.catalog import shipped_models_dir

    world = AwsWorld(Settings())
    print(json.dumps(publish_models(world.service, shipped_models_dir())))


if __name__ == "__main__":  # pragma: no cover
    main()
