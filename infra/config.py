"""Deployment parameters, read from CDK context (`cdk deploy -c batch_size=32`) or defaults."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from autolabel.domain.queues import check_prefix

ROOT = Path(__file__).resolve().parents[1]


UNRESERVED_MINIMUM = 100  # Lambda refuses a reservation that leaves less of the quota unreserved


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
    # Review queues are created at run time, named <queue_prefix><task id>-…; IAM grants
    # <queue_prefix>* only, so two stacks in one account and region need prefixes of which
    # neither starts the other (e.g. "al-prod-" and "al-test-", not "al-" and "al-test-").
    queue_prefix: str = "al-"
    # Their dead-letter queues' alarms, put at run time too, are named <alarm_prefix><dlq name>;
    # IAM grants alarm:<alarm_prefix>*. Give each stack in one account its own prefix.
    alarm_prefix: str = "autolabel-"
    upload_prefix: str = "uploads/"
    # Uploads larger than this are not labelled: the EventBridge rule does not pass them on, and
    # label_upload refuses one that reaches it anyway (a failed input with the reason) before
    # reading it. A 48-megapixel phone JPEG is 10–20 MB; 25 MB of bytes plus the decoded image
    # fit the inference memory with room for the model.
    upload_max_mb: int = 25
    # Objects under upload_prefix expire after this many days (their bytes are copied into the
    # dataset when labelled). Longer than the uploads' dead-letter queue keeps a message (14
    # days), so an event redriven from there still finds its object.
    upload_expiry_days: int = 30
    # Concurrency. Lambda functions share the account's concurrent-executions quota per region
    # (1,000 by default; new accounts may have 10: `aws lambda get-account-settings`), and
    # reserving concurrency must leave at least 100 of it unreserved. Reserved concurrency both
    # guarantees and caps a function; 0 reserves none.
    account_concurrency: int = 1000  # the quota of the account and region you deploy to
    # infer_batch: the Distributed Map runs max_concurrency batches at once, so reserve as many
    # and a burst of uploads or API calls can never throttle a run's batches.
    inference_reserved_concurrency: int = 20
    # The API: about 50–200 ms per request, so 20 serve 100–400 requests/s (50 reviewers
    # clicking every half second make ~100), whatever runs and uploads do meanwhile.
    api_reserved_concurrency: int = 20
    # label_upload: at most this many invocations at once (the SQS event source's
    # MaximumConcurrency, 2–1000), so a bulk upload queues instead of taking the account's
    # unreserved concurrency; each invocation labels up to 10 uploads.
    upload_max_concurrency: int = 5
    retain_data: bool = True  # False: `cdk destroy` also deletes the bucket and tables
    layers_dir: str = str(ROOT / "build" / "layers")
    # The review web app on S3 + CloudFront with Cognito's hosted UI (infra/web.py). On by
    # default: the app is how people review. `web=false` deploys the API alone (scripts, CLI).
    web: bool = True
    web_dir: str = str(ROOT / "src" / "autolabel" / "web" / "static")  # `make web` builds it
    sign_in_domain_prefix: str = ""  # <prefix>.auth.<region>.amazoncognito.com; "" = autolabel-<account>

    def __post_init__(self) -> None:
        check_prefix(self.queue_prefix)
        if not 2 <= self.upload_max_concurrency <= 1000:
            raise ValueError(
                f"upload_max_concurrency must be 2–1000 (SQS event sources), got {self.upload_max_concurrency}"
            )
        # It becomes part of EventBridge wildcards, where * and \\ would mean something else.
        if not re.fullmatch(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/", self.upload_prefix):
            raise ValueError(
                f"upload_prefix is folder names (letters, digits, _ . -) ending in /, got {self.upload_prefix!r}"
            )
        if self.upload_max_mb < 1 or self.upload_expiry_days < 1:
            raise ValueError("upload_max_mb and upload_expiry_days must be at least 1")
        reserved = self.inference_reserved_concurrency + self.api_reserved_concurrency
        if min(self.inference_reserved_concurrency, self.api_reserved_concurrency) < 0:
            raise ValueError("reserved concurrency cannot be negative (0 reserves none)")
        if reserved and reserved > self.account_concurrency - UNRESERVED_MINIMUM:
            raise ValueError(
                f"reserving {reserved} concurrent executions (inference {self.inference_reserved_concurrency}"
                f" + API {self.api_reserved_concurrency}) would leave fewer than the {UNRESERVED_MINIMUM} Lambda"
                f" keeps unreserved of an account quota of {self.account_concurrency}: ask for a higher quota"
                " (Service Quotas, Lambda 'Concurrent executions'), or deploy with smaller reservations or"
                " none (-c inference_reserved_concurrency=0 -c api_reserved_concurrency=0)"
            )
        if 0 < self.inference_reserved_concurrency < self.max_concurrency:
            raise ValueError(
                f"max_concurrency {self.max_concurrency} exceeds inference_reserved_concurrency"
                f" {self.inference_reserved_concurrency}: the extra batches would only be throttled"
            )
        if not reserved and self.max_concurrency + self.upload_max_concurrency >= self.account_concurrency:
            raise ValueError(
                f"max_concurrency {self.max_concurrency} + upload_max_concurrency {self.upload_max_concurrency}"
                f" leave no concurrency for the API in an account quota of {self.account_concurrency}:"
                " lower them (or raise the quota)"
            )

    @property
    def upload_max_bytes(self) -> int:
        return self.upload_max_mb * 1024 * 1024

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
