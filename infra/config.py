"""Deployment parameters, read from CDK context (`cdk deploy -c batch_size=32`) or defaults."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Config:
    # Images per infer_batch invocation (ItemBatcher MaxItemsPerBatch). Each batch costs a Step
    # Functions transition, an invocation and a transaction's fixed items; 64 halves those per
    # image against 32 and still ends in ~15 s at the default memory.
    batch_size: int = 64
    max_concurrency: int = 20  # Distributed Map children running at once
    tolerated_failure_percentage: int = 5  # failed batches a run tolerates before it fails
    # Lambda gives memory/1769 of a vCPU, so below 1769 MB the CPU work of a batch costs the
    # same GB-seconds at any memory (half the vCPU, twice the seconds, half the GB), while the
    # time spent waiting for S3 and DynamoDB costs in proportion to memory; above, a
    # single-threaded session pays for a vCPU share it cannot use. A batch of 64 peaks at ~450 MB.
    inference_memory_mb: int = 1024
    inference_timeout_s: int = 300
    queue_prefix: str = "al-"  # review queues are created at run time; IAM grants this prefix
    # Their dead-letter queues' alarms, put at run time too, are named <alarm_prefix><dlq name>;
    # IAM grants alarm:<alarm_prefix>*. Give each stack in one account its own prefix.
    alarm_prefix: str = "autolabel-"
    upload_prefix: str = "uploads/"
    retain_data: bool = True  # False: `cdk destroy` also deletes the bucket and tables
    layers_dir: str = str(ROOT / "build" / "layers")
    # The review web app on S3 + CloudFront with Cognito's hosted UI (infra/web.py). On by
    # default: the app is how people review. `web=false` deploys the API alone (scripts, CLI).
    web: bool = True
    web_dir: str = str(ROOT / "src" / "autolabel" / "web" / "static")  # `make web` builds it
    sign_in_domain_prefix: str = ""  # <prefix>.auth.<region>.amazoncognito.com; "" = autolabel-<account>

    @property
    def intra_op_threads(self) -> int:
        """onnxruntime threads for the memory's vCPU share: more threads than vCPUs spin on a
        throttled CPU and bill the spinning as duration."""
        return max(1, self.inference_memory_mb // 1769)

    @classmethod
    def from_context(cls, get: Any) -> Config:
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = get(f.name)
            if raw is None:
                continue
            default = getattr(cls, f.name)
            if isinstance(default, bool):
                values[f.name] = str(raw).lower() in ("1", "true", "yes")
            elif isinstance(default, int):
                values[f.name] = int(raw)
            else:
                values[f.name] = str(raw)
        return cls(**values)
