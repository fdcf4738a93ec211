"""What a run costs on AWS, per 1,000 images, at the default settings (infra/config.py).

Runs the real handlers in-process under moto on N images (default 1,000): start_run, one
infer_batch per ItemBatcher batch, finalize_run — what the state machine invokes. Every AWS
request is counted by service and operation with botocore event hooks (each client the handlers
create gets the hooks), DynamoDB capacity units are estimated from the items written and read,
and Lambda compute comes from the CPU time each invocation took here, scaled to the configured
memory (Lambda gives 1 vCPU per 1,769 MB). Prices: us-east-1, as published (issue 3).

    python -m bench.aws_cost [--images 1000] [--model ssd-mobilenet-v2-coco]

Prints the table, the total, the target check (<= $0.01 per 1,000 images) and each handler
module's import time (a cold-start proxy). Saves bench/results/aws_cost-<model>.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

from infra.config import Config

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
REGION = "us-east-1"

PRICE = {
    "lambda_gb_s": 0.0000133334,  # arm64
    "lambda_request": 0.20 / 1e6,
    "sfn_transition": 0.025 / 1000,  # standard
    "ddb_write_unit": 0.625 / 1e6,  # on-demand
    "ddb_read_unit": 0.125 / 1e6,
    "sqs_request": 0.40 / 1e6,
    "s3_get": 0.0004 / 1000,  # GET, HEAD
    "s3_put": 0.005 / 1000,  # PUT, COPY, POST, LIST
}
TARGET_PER_1000 = 0.01
VCPU_MB = 1769  # Lambda's memory per vCPU
CONCEPTS = {
    "ssd-mobilenet-v2-coco": ["person", "car", "cat", "dog", "cup", "motorcycle", "bicycle", "bowl"],
    "efficientnet-lite0-imagenet": ["tabby", "tiger cat", "Egyptian cat", "coffee mug", "cup", "crash helmet", "suit"],
}
HANDLERS = ("start_run", "infer_batch", "finalize_run", "label_upload", "api")


def item_bytes(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (close enough for whole units)."""
    total = 0
    for name, value in item.items():
        total += len(name.encode())
        for kind, raw in value.items():
            if kind in ("S", "N", "B"):
                total += len(str(raw).encode())
            elif kind == "BOOL":
                total += 1
            else:
                total += len(json.dumps(raw).encode())
    return total


def gsis_of(item: dict[str, Any]) -> int:
    return sum(1 for index in ("GSI1PK", "GSI2PK") if index in item)


@dataclass
class Meter:
    """botocore event hooks on every client: request counts and DynamoDB capacity units."""

    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    write_units: float = 0.0
    read_units: float = 0.0
    write_units_by: Counter[str] = field(default_factory=Counter)  # operation/kind -> units

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-parameter-build.*.*", self._before)
        client.meta.events.register("after-call.dynamodb.*", self._after_dynamodb)
        return client

    def _before(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        service = model.service_model.service_id.hyphenize()
        self.requests[(service, model.name)] += 1
        if service == "dynamodb":
            units = self._writes(model.name, params)
            self.write_units += units
            self.write_units_by[model.name] += units

    @staticmethod
    def _put_units(item: dict[str, Any], transactional: bool) -> float:
        units = math.ceil(max(item_bytes(item), 1) / 1024)
        return units * (2 if transactional else 1) + units * gsis_of(item)

    def _writes(self, operation: str, params: dict[str, Any]) -> float:
        if operation == "PutItem":
            return self._put_units(params["Item"], False)
        if operation in ("UpdateItem", "DeleteItem"):
            return self._update_units(params, False)
        if operation == "BatchWriteItem":
            units = 0.0
            for requests in params["RequestItems"].values():
                for request in requests:
                    if "PutRequest" in request:
                        units += self._put_units(request["PutRequest"]["Item"], False)
                    else:
                        units += 1
            return units
        if operation == "TransactWriteItems":
            units = 0.0
            for entry in params["TransactItems"]:
                if "Put" in entry:
                    units += self._put_units(entry["Put"]["Item"], True)
                else:
                    units += self._update_units(next(iter(entry.values())), True)
            return units
        return 0.0

    @staticmethod
    def _update_units(params: dict[str, Any], transactional: bool) -> float:
        # The whole item is billed; an update names only what changes, so the rest of the item
        # (keys, body) is estimated at 300 bytes. A changed GSI key writes the index too.
        values = params.get("ExpressionAttributeValues", {})
        size = 300 + sum(len(json.dumps(v)) for v in values.values())
        units = math.ceil(size / 1024) * (2 if transactional else 1)
        expression = params.get("UpdateExpression", "")
        return units + sum(1 for index in ("GSI1", "GSI2") if index in expression)

    def _after_dynamodb(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        request_items: list[dict[str, Any]] = []
        consistent = True
        if model.name == "GetItem" and "Item" in parsed:
            request_items = [parsed["Item"]]
        elif model.name == "BatchGetItem":
            request_items = [i for items in parsed.get("Responses", {}).values() for i in items]
        elif model.name == "Query":
            size = sum(item_bytes(i) for i in parsed.get("Items", []))
            # GSI queries are eventually consistent: half a unit per 4 KB.
            self.read_units += max(1, math.ceil(size / 4096)) * (0.5 if not parsed.get("ConsumedCapacity") else 1)
            return
        for item in request_items:
            self.read_units += math.ceil(max(item_bytes(item), 1) / 4096) * (1 if consistent else 0.5)


def bench_images(folder: Path, count: int) -> list[Path]:
    """``count`` distinct JPEGs: bench.images' 200 variants, re-encoded at other qualities for more
    (its crops run out of pixels past a few hundred)."""
    from PIL import Image

    from bench.images import make_images

    base = make_images(folder / "base", min(count, 200))
    paths = list(base)
    round_ = 1
    while len(paths) < count:
        for source in base[: count - len(paths)]:
            with Image.open(source) as image:
                path = folder / f"{source.stem}-q{round_}.jpg"
                image.save(path, quality=90 - round_)
                paths.append(path)
        round_ += 1
    return paths


def load_handler(name: str) -> ModuleType:
    module_name = f"autolabel_bench_{name}"
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "functions" / name / "handler.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


class Context:
    function_name = "bench"
    memory_limit_in_mb = 2048
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def environment(workdir: Path) -> dict[str, str]:
    return {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AUTOLABEL_TABLE": "autolabel-bench",
        "AUTOLABEL_BUCKET": "autolabel-bench",
        "AUTOLABEL_IDEMPOTENCY_TABLE": "autolabel-bench-idempotency",
        "AUTOLABEL_REGION": REGION,
        "AUTOLABEL_CACHE_DIR": str(workdir / "lambda-tmp"),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "autolabel",
        "POWERTOOLS_METRICS_NAMESPACE": "autolabel",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "AUTOLABEL_INTRA_OP_THREADS": str(Config().intra_op_threads),  # as the stack sets it
    }


def run(images: int, model: str, config: Config, workdir: Path) -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    from autolabel.aws import clients
    from autolabel.aws.records import create_table
    from autolabel.aws.world import AwsWorld, Settings, publish_models
    from autolabel.domain.models import Reviewer, Thresholds
    from autolabel.domain.users import Actor
    from autolabel.inference.catalog import shipped_models_dir

    os.environ.update(environment(workdir))
    meter = Meter()
    original_client = boto3.session.Session.client

    def metered_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        return meter.attach(original_client(self, *args, **kwargs))

    with mock_aws(), mock.patch.object(boto3.session.Session, "client", metered_client):
        create_table(clients.dynamodb(REGION), "autolabel-bench")
        clients.dynamodb(REGION).create_table(
            TableName="autolabel-bench-idempotency",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )
        clients.s3(REGION).create_bucket(Bucket="autolabel-bench")
        seed = AwsWorld(Settings(cache_dir=workdir / "seed-cache"))
        publish_models(seed.service, shipped_models_dir(), only={model})
        owner = Actor.workspace_owner()
        seed.service.add_files(owner, "bench", bench_images(workdir / "images", images))
        task = seed.service.create_task(
            owner,
            name="bench",
            dataset="bench",
            model=model,
            concepts=CONCEPTS.get(model, CONCEPTS["ssd-mobilenet-v2-coco"]),
            thresholds=Thresholds(upper=0.8, lower=0.4),
            reviewers=[Reviewer(name="alice"), Reviewer(name="bob")],
        )
        handlers = {name: load_handler(name) for name in ("start_run", "infer_batch", "finalize_run")}
        meter.requests.clear()
        meter.write_units = meter.read_units = 0.0  # count the run, not the set-up
        meter.write_units_by.clear()

        cpu: dict[str, float] = defaultdict(float)
        invocations: Counter[str] = Counter()

        def invoke(name: str, event: dict[str, Any]) -> Any:
            started = time.process_time()
            result = handlers[name].handler(event, Context())
            cpu[name] += time.process_time() - started
            invocations[name] += 1
            return result

        wall = time.perf_counter()
        started = invoke("start_run", {"task_id": task.id})
        manifest = json.loads(seed.backends.blobs.get(started["manifest_key"]))
        batches = [manifest[i : i + config.batch_size] for i in range(0, len(manifest), config.batch_size)]
        for batch in batches:
            invoke("infer_batch", {"Items": batch, "BatchInput": {"task_id": task.id}})
        final = invoke("finalize_run", {"task_id": task.id})
        wall = time.perf_counter() - wall
        return {
            "requests": meter.requests,
            "write_units": meter.write_units,
            "write_units_by": dict(meter.write_units_by),
            "read_units": meter.read_units,
            "cpu": dict(cpu),
            "invocations": dict(invocations),
            "batches": len(batches),
            "final": final,
            "wall_s": wall,
        }


def costs(measured: dict[str, Any], config: Config, images: int) -> list[tuple[str, str, float, float]]:
    """(service, what, quantity, dollars) rows for the run."""
    requests: Counter[tuple[str, str]] = measured["requests"]
    memory = {"infer_batch": config.inference_memory_mb}
    rows: list[tuple[str, str, float, float]] = []
    gb_s = 0.0
    for name, cpu_s in measured["cpu"].items():
        mb = memory.get(name, 512)
        duration = cpu_s / min(mb / VCPU_MB, 6.0)  # CPU work spread over the vCPUs Lambda gives
        gb_s += duration * mb / 1024
    invocations = sum(measured["invocations"].values())
    rows.append(("Lambda", "GB-seconds (arm64)", gb_s, gb_s * PRICE["lambda_gb_s"]))
    rows.append(("Lambda", "requests", invocations, invocations * PRICE["lambda_request"]))
    # Billed state transitions: parent Start, InferBatches, Finalize; each batch is a child
    # execution entering Infer once (retries would add one each).
    transitions = 3 + measured["batches"]
    rows.append(("Step Functions", "state transitions", transitions, transitions * PRICE["sfn_transition"]))
    rows.append(("DynamoDB", "write units", measured["write_units"], measured["write_units"] * PRICE["ddb_write_unit"]))
    rows.append(("DynamoDB", "read units", measured["read_units"], measured["read_units"] * PRICE["ddb_read_unit"]))
    sqs = sum(n for (service, _op), n in requests.items() if service == "sqs")
    rows.append(("SQS", "requests", sqs, sqs * PRICE["sqs_request"]))
    gets = sum(n for (s, op), n in requests.items() if s == "s3" and op in ("GetObject", "HeadObject"))
    puts = sum(n for (s, op), n in requests.items() if s == "s3" and op in ("PutObject", "CopyObject", "ListObjectsV2"))
    rows.append(("S3", "GET/HEAD", gets, gets * PRICE["s3_get"]))
    rows.append(("S3", "PUT/LIST", puts, puts * PRICE["s3_put"]))
    return rows


def import_times() -> dict[str, dict[str, Any]]:
    """Each handler module imported in a fresh interpreter (-X importtime): total and heaviest."""
    found: dict[str, dict[str, Any]] = {}
    env = {**os.environ, **environment(Path(tempfile.gettempdir()))}
    for name in HANDLERS:
        path = ROOT / "functions" / name / "handler.py"
        code = (
            "import importlib.util,time;t=time.perf_counter();"
            f"s=importlib.util.spec_from_file_location('h',{str(path)!r});m=importlib.util.module_from_spec(s);"
            "s.loader.exec_module(m);print(round((time.perf_counter()-t)*1000,1))"
        )
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, env=env, check=True
        )
        heaviest: list[tuple[int, str]] = []
        for line in done.stderr.splitlines():
            parts = line.split("|")
            if len(parts) == 3 and parts[1].strip().isdigit():
                package = parts[2].strip()
                if "." not in package:
                    heaviest.append((int(parts[1]), package))
        heaviest.sort(reverse=True)
        found[name] = {
            "total_ms": float(done.stdout.strip().splitlines()[-1]),
            "heaviest_ms": {p: round(us / 1000, 1) for us, p in heaviest[:4]},
        }
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--model", default="ssd-mobilenet-v2-coco")
    args = parser.parse_args()
    config = Config()
    with tempfile.TemporaryDirectory() as tmp:
        measured = run(args.images, args.model, config, Path(tmp))
    rows = costs(measured, config, args.images)
    scale = 1000 / args.images
    total = sum(r[3] for r in rows) * scale
    print(
        f"\n{args.images} images, model {args.model}, batch size {config.batch_size}, "
        f"inference memory {config.inference_memory_mb} MB; run took {measured['wall_s']:.1f} s here"
    )
    print(f"final: {measured['final']}\n")
    print(f"{'service':<15} {'what':<22} {'per 1,000 images':>18} {'$ per 1,000':>12}")
    for service, what, quantity, dollars in rows:
        print(f"{service:<15} {what:<22} {quantity * scale:>18,.2f} {dollars * scale:>12.6f}")
    print(f"{'total':<15} {'':<22} {'':>18} {total:>12.6f}")
    verdict = "within" if total <= TARGET_PER_1000 else "OVER"
    print(f"target <= ${TARGET_PER_1000:.2f} per 1,000 images: {verdict}\n")
    print("DynamoDB write units by operation, per 1,000 images:")
    for operation, units in sorted(measured["write_units_by"].items(), key=lambda kv: -kv[1]):
        print(f"  {operation:<22} {units * scale:>10,.0f}")
    print("requests by operation (whole run):")
    for (service, operation), count in sorted(measured["requests"].items()):
        print(f"  {service:<10} {operation:<22} {count:>7}")
    imports = import_times()
    print("\nhandler import time (cold-start proxy, this machine):")
    for name, info in imports.items():
        print(f"  {name:<14} {info['total_ms']:>8.1f} ms   heaviest: {info['heaviest_ms']}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"aws_cost-{args.model}.json"
    out.write_text(
        json.dumps(
            {
                "images": args.images,
                "model": args.model,
                "batch_size": config.batch_size,
                "inference_memory_mb": config.inference_memory_mb,
                "rows_per_1000": [
                    {"service": s, "what": w, "quantity": q * scale, "dollars": d * scale} for s, w, q, d in rows
                ],
                "total_per_1000": total,
                "requests": {f"{s}:{o}": n for (s, o), n in sorted(measured["requests"].items())},
                "write_units_by_operation_per_1000": {k: v * scale for k, v in measured["write_units_by"].items()},
                "import_ms": imports,
            },
            indent=2,
        )
    )
    print(f"\nsaved {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
