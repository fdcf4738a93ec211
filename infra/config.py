"""Deployment parameters, read from CDK context (`cdk deploy -c batch_size=32`) or defaults."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Config:
    batch_size: int = 32  # images per infer_batch invocation (ItemBatcher MaxItemsPerBatch)
    max_concurrency: int = 20  # Distributed Map children running at once
    tolerated_failure_percentage: int = 5  # failed batches a run tolerates before it fails
    inference_memory_mb: int = 2048  # more memory, more vCPU: 1769 MB is one full vCPU
    inference_timeout_s: int = 300
    queue_prefix: str = "al-"  # review queues are created at run time; IAM grants this prefix
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
