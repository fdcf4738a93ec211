"""The AWS world's settings: environment variables ``AUTOLABEL_*`` set by the CDK stack, read
once at cold start; a missing one fails the cold start with pydantic's message naming it, not
the first request with a KeyError."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from autolabel.domain.inputs import MAX_UPLOAD_BYTES
from autolabel.domain.queues import PREFIX_PATTERN


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AUTOLABEL_", extra="ignore")

    table: str = Field(min_length=3)
    bucket: str = Field(min_length=3)
    queue_prefix: str = Field(default="al-", pattern=f"^{PREFIX_PATTERN}$")
    idempotency_table: str = ""
    region: str | None = None
    upload_prefix: str = "uploads/"
    upload_max_bytes: int = Field(default=MAX_UPLOAD_BYTES, ge=1)  # the stack's upload_max_mb
    # Shipped models are published to S3 at deploy time (`python -m autolabel.publish`) and read
    # from there; a folder of models is read only when one is named.
    models_dir: Path | None = None
    intra_op_threads: int = Field(default=0, ge=0)
    cache_dir: Path = Path("/tmp/autolabel-blobs")  # noqa: S108 - Lambda's only writable disk
    state_machine_arn: str = ""  # the API starts runs
    jobs_queue_url: str = ""  # the API and run_job launch jobs
    # Every review queue's DLQ gets an alarm named <alarm_prefix><dlq name> (IAM grants the
    # prefix); its action is the stack's SNS topic, or none when empty.
    alarm_prefix: str = Field(default="autolabel-", min_length=1)
    alarm_action: str = ""
