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
import base64
import dataclasses
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
# A request's round trip from a Lambda in the same region, in ms: the Lambda waits (and is
# billed) for it, whatever its vCPU share. moto answers in-process, so its CPU time is taken
# out of the Lambda's and these stand in for it. Published figures are single-digit ms for
# DynamoDB and tens of ms to first byte for S3; these lean high.
LATENCY_MS: dict[tuple[str, str], float] = {
    ("dynamodb", "*"): 8,
    ("dynamodb", "GetItem"): 5,
    ("dynamodb", "BatchGetItem"): 12,
    ("dynamodb", "Query"): 12,
    ("dynamodb", "BatchWriteItem"): 20,
    ("dynamodb", "TransactWriteItems"): 40,
    ("s3", "*"): 40,
    ("s3", "GetObject"): 30,
    ("s3", "HeadObject"): 20,
    ("sqs", "*"): 20,
    ("cloudwatch", "*"): 20,  # PutMetricAlarm, once per review queue created (not per image)
}
VCPU_MB = 1769  # Lambda's memory per vCPU
CONCEPTS = {
    "ssd-mobilenet-v2-coco": ["person", "car", "cat", "dog", "cup", "motorcycle", "bicycle", "bowl"],
    "efficientnet-lite0-imagenet": ["tabby", "tiger cat", "Egyptian cat", "coffee mug", "cup", "crash helmet", "suit"],
}
HANDLERS = ("start_run", "infer_batch", "finalize_run", "label_upload", "api")


Item = dict[str, Any]


def item_bytes(item: Item) -> int:
    """DynamoDB's item size: attribute names plus values (close enough for whole units)."""
    total = 0
    for name, value in item.items():
        total += len(name.encode())
        for kind, raw in value.items():
            if kind == "B":
                total += len(raw) if isinstance(raw, bytes | bytearray) else len(base64.b64decode(raw))
            elif kind in ("S", "N"):
                total += len(str(raw).encode())
            elif kind == "BOOL":
                total += 1
            else:
                total += len(json.dumps(raw).encode())
    return total


def _kb(size: int) -> int:
    return max(1, math.ceil(size / 1024))


@dataclass(frozen=True)
class Index:
    """A GSI as DescribeTable reports it: what an item must carry to be in it, what it copies."""

    name: str
    keys: tuple[str, ...]
    projection: str  # ALL | KEYS_ONLY | INCLUDE
    included: frozenset[str]

    def entry(self, item: dict[str, Any] | None, table_keys: tuple[str, ...]) -> dict[str, Any] | None:
        """The index entry ``item`` has (None when the item lacks the index's key: sparse)."""
        if item is None or any(k not in item for k in self.keys):
            return None
        if self.projection == "ALL":
            return item
        wanted = set(table_keys) | set(self.keys) | (self.included if self.projection == "INCLUDE" else set())
        return {k: v for k, v in item.items() if k in wanted}

    def write_units(
        self, before: dict[str, Any] | None, after: dict[str, Any] | None, table_keys: tuple[str, ...]
    ) -> int:
        """DynamoDB's index writes for one item change: a put when an item enters the index, a
        delete when it leaves, both when its index key changes, one update when a projected
        attribute changes, none when nothing projected changes."""
        old, new = self.entry(before, table_keys), self.entry(after, table_keys)
        if old is None and new is None:
            return 0
        if old is None:
            return _kb(item_bytes(new or {}))
        if new is None:
            return _kb(item_bytes(old))
        if any(old.get(k) != new.get(k) for k in self.keys):
            return _kb(item_bytes(old)) + _kb(item_bytes(new))
        return _kb(max(item_bytes(old), item_bytes(new))) if old != new else 0


@dataclass
class Meter:
    """botocore event hooks on every client: request counts and DynamoDB capacity units.

    Write units follow DynamoDB's billing from the items themselves: before each write the meter
    reads the items it touches, after it reads them again (with an unmetered client), and bills
    the larger image per KB — twice inside TransactWriteItems — plus every GSI write the change
    causes (entering, leaving, re-keying or changing a projected attribute; see ``Index``). GSI
    writes made by a transaction are billed at the transactional rate too: AWS does not say
    otherwise, and the higher figure is the safe side of a cost target.
    """

    reader: Any = None  # an unmetered DynamoDB client (the same moto backend)
    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    write_units: float = 0.0
    read_units: float = 0.0
    write_units_by: Counter[str] = field(default_factory=Counter)  # operation or "GSI1 (Op)" -> units
    overhead_s: float = 0.0  # CPU time spent metering, taken out of the Lambda's
    service_s: float = 0.0  # CPU time moto spent answering requests in-process
    latency_s: float = 0.0  # the modeled round trips of those requests (LATENCY_MS)
    _tables: dict[str, tuple[tuple[str, ...], tuple[Index, ...]]] = field(default_factory=dict)

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-parameter-build.*.*", self._before)
        client.meta.events.register("before-call.dynamodb.*", self._before_call)
        client.meta.events.register("before-call.*.*", self._start_clock)
        client.meta.events.register("after-call.*.*", self._stop_clock)
        client.meta.events.register("after-call.dynamodb.*", self._after_dynamodb)
        return client

    # ------------------------------------------------------------------ time

    def _start_clock(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        service = model.service_model.service_id.hyphenize()
        self.latency_s += LATENCY_MS.get((service, model.name), LATENCY_MS[(service, "*")]) / 1000
        context["meter_clock"] = time.process_time()

    def _stop_clock(self, context: dict[str, Any], **_: Any) -> None:
        # moto answers in-process: its CPU time is the service's work, not the Lambda's.
        if "meter_clock" in context:
            self.service_s += time.process_time() - context.pop("meter_clock")

    def _before(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        service = model.service_model.service_id.hyphenize()
        self.requests[(service, model.name)] += 1
        if service == "dynamodb":
            context["meter_params"] = params

    # ------------------------------------------------------------------ writes

    def _table(self, name: str) -> tuple[tuple[str, ...], tuple[Index, ...]]:
        if name not in self._tables:
            table = self.reader.describe_table(TableName=name)["Table"]
            keys = tuple(k["AttributeName"] for k in table["KeySchema"])
            indexes = tuple(
                Index(
                    name=index["IndexName"],
                    keys=tuple(k["AttributeName"] for k in index["KeySchema"]),
                    projection=index["Projection"]["ProjectionType"],
                    included=frozenset(index["Projection"].get("NonKeyAttributes", [])),
                )
                for index in table.get("GlobalSecondaryIndexes", [])
            )
            self._tables[name] = (keys, indexes)
        return self._tables[name]

    @staticmethod
    def _targets(
        operation: str, params: dict[str, Any]
    ) -> list[tuple[str, dict[str, Any] | None, dict[str, Any] | None]]:
        """(table, key, item written by a put) for every item a write request touches."""
        if operation == "PutItem":
            return [(params["TableName"], None, params["Item"])]
        if operation in ("UpdateItem", "DeleteItem"):
            return [(params["TableName"], params["Key"], None)]
        found: list[tuple[str, Item | None, Item | None]] = []
        if operation == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        found.append((table, None, request["PutRequest"]["Item"]))
                    else:
                        found.append((table, request["DeleteRequest"]["Key"], None))
        elif operation == "TransactWriteItems":
            for entry in params["TransactItems"]:
                ((kind, body),) = entry.items()
                found.append((body["TableName"], body.get("Key"), body.get("Item") if kind == "Put" else None))
        return found

    def _read_item(self, table: str, item_key: dict[str, Any]) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.reader.get_item(TableName=table, Key=item_key, ConsistentRead=True).get(
            "Item"
        )
        return found

    def _before_call(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        params = context.get("meter_params")
        if params is None or self.reader is None:
            return
        targets = self._targets(model.name, params)
        if not targets:
            return
        started = time.process_time()
        befores = []
        for table, item_key, put in targets:
            keys = self._table(table)[0]
            item_key = item_key or {k: put[k] for k in keys if put is not None}
            befores.append((table, item_key, self._read_item(table, item_key)))
        context["meter_before"] = befores
        self.overhead_s += time.process_time() - started

    def _bill_writes(self, operation: str, context: dict[str, Any]) -> None:
        befores = context.get("meter_before")
        if not befores:
            return
        started = time.process_time()
        rate = 2 if operation == "TransactWriteItems" else 1
        for table, item_key, before in befores:
            keys, indexes = self._table(table)
            after = self._read_item(table, item_key)
            base = rate * _kb(max(item_bytes(before or {}), item_bytes(after or {})))
            self.write_units += base
            self.write_units_by[operation] += base
            for index in indexes:
                units = rate * index.write_units(before, after, keys)
                self.write_units += units
                self.write_units_by[f"{index.name} ({operation})"] += units
        self.overhead_s += time.process_time() - started

    # ------------------------------------------------------------------ reads

    def _after_dynamodb(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        # Writes whose condition fails are billed too; malformed requests are not.
        error = parsed.get("Error", {}).get("Code")
        if error in (None, "ConditionalCheckFailedException", "TransactionCanceledException"):
            self._bill_writes(model.name, context)
        params = context.get("meter_params") or {}
        # Strongly consistent reads cost a unit per 4 KB, eventually consistent ones (every GSI
        # query) half a unit; a query bills the items it reads together, a get bills each item.
        if model.name == "GetItem":
            size = item_bytes(parsed.get("Item", {}))
            self.read_units += max(1, math.ceil(size / 4096)) * (1 if params.get("ConsistentRead") else 0.5)
        elif model.name == "BatchGetItem":
            for table, items in parsed.get("Responses", {}).items():
                consistent = params.get("RequestItems", {}).get(table, {}).get("ConsistentRead", False)
                for item in items:
                    self.read_units += math.ceil(item_bytes(item) / 4096) * (1 if consistent else 0.5)
        elif model.name == "Query":
            size = sum(item_bytes(i) for i in parsed.get("Items", []))
            self.read_units += max(1, math.ceil(size / 4096)) * (1 if params.get("ConsistentRead") else 0.5)


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
    memory_limit_in_mb = Config().inference_memory_mb
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def environment(workdir: Path, config: Config) -> dict[str, str]:
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
        "AUTOLABEL_INTRA_OP_THREADS": str(config.intra_op_threads),  # as the stack sets it
    }


def run(images: int, model: str, config: Config, workdir: Path) -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    from autolabel import bootstrap
    from autolabel.app import datasets, tasks
    from autolabel.app.models import publish_shipped, shipped_models_dir
    from autolabel.aws import clients
    from autolabel.aws.records import create_table
    from autolabel.aws.settings import Settings
    from autolabel.domain.models import Reviewer, Thresholds
    from autolabel.domain.users import Actor

    os.environ.update(environment(workdir, config))
    meter = Meter()
    original_client = boto3.session.Session.client

    def metered_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        return meter.attach(original_client(self, *args, **kwargs))

    with mock_aws(), mock.patch.object(boto3.session.Session, "client", metered_client):
        meter.reader = original_client(boto3.session.Session(), "dynamodb", region_name=REGION)
        create_table(clients.dynamodb(REGION), "autolabel-bench")
        clients.dynamodb(REGION).create_table(
            TableName="autolabel-bench-idempotency",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )
        clients.s3(REGION).create_bucket(Bucket="autolabel-bench")
        seed = bootstrap.aws_world(Settings(cache_dir=workdir / "seed-cache"))
        publish_shipped(seed.backends, shipped_models_dir(), only={model})
        owner = Actor.workspace_owner()
        datasets.add_files(seed.backends, owner, "bench", bench_images(workdir / "images", images))
        task = tasks.create_task(
            seed.backends,
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

        cpu: dict[str, float] = defaultdict(float)  # the handlers' own CPU time
        cpu_with_moto: dict[str, float] = defaultdict(float)  # plus moto's in-process answers
        waits: dict[str, float] = defaultdict(float)  # modeled request round trips
        invocations: Counter[str] = Counter()

        def invoke(name: str, event: dict[str, Any]) -> Any:
            started, metering, service, latency = (
                time.process_time(),
                meter.overhead_s,
                meter.service_s,
                meter.latency_s,
            )
            result = handlers[name].handler(event, Context())
            spent = time.process_time() - started - (meter.overhead_s - metering)
            cpu[name] += spent - (meter.service_s - service)
            cpu_with_moto[name] += spent
            waits[name] += meter.latency_s - latency
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
            "cpu_with_moto": dict(cpu_with_moto),
            "waits": dict(waits),
            "invocations": dict(invocations),
            "batches": len(batches),
            "final": final,
            "wall_s": wall,
        }


OTHER_MEMORY_MB = 512  # start_run and finalize_run (infra/lambdas.py's default)


def billed_seconds(cpu_s: float, memory_mb: float, threads: int, waits_s: float = 0.0) -> float:
    """The scaling rule: Lambda gives memory/1,769 vCPU (CPU time is throttled in proportion
    below one vCPU) and code can only use as many vCPUs as it has threads, so the CPU time
    measured here becomes cpu / min(memory/1769, threads) seconds of duration; time spent
    waiting for AWS requests is added as it is."""
    return cpu_s / min(memory_mb / VCPU_MB, max(1, threads)) + waits_s


def lambda_gb_s(cpu: dict[str, float], waits: dict[str, float], config: Config) -> float:
    gb_s = 0.0
    for name, cpu_s in cpu.items():
        if name == "infer_batch":
            mb, threads = config.inference_memory_mb, config.intra_op_threads
        else:
            mb, threads = OTHER_MEMORY_MB, 1
        gb_s += billed_seconds(cpu_s, mb, threads, waits.get(name, 0.0)) * mb / 1024
    return gb_s


def costs(measured: dict[str, Any], config: Config, images: int) -> list[tuple[str, str, float, float]]:
    """(service, what, quantity, dollars) rows for the run."""
    requests: Counter[tuple[str, str]] = measured["requests"]
    rows: list[tuple[str, str, float, float]] = []
    gb_s = lambda_gb_s(measured["cpu"], measured.get("waits", {}), config)
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
    env = {**os.environ, **environment(Path(tempfile.gettempdir()), Config())}
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
    parser.add_argument("--memory", type=int, help="inference memory in MB (default: infra/config.py)")
    parser.add_argument("--batch-size", type=int, help="images per batch (default: infra/config.py)")
    parser.add_argument("--label", default="", help="suffix of the saved JSON's name")
    args = parser.parse_args()
    config = Config()
    if args.memory:
        config = dataclasses.replace(config, inference_memory_mb=args.memory)
    if args.batch_size:
        config = dataclasses.replace(config, batch_size=args.batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        measured = run(args.images, args.model, config, Path(tmp))
    rows = costs(measured, config, args.images)
    scale = 1000 / args.images
    total = sum(r[3] for r in rows) * scale
    print(
        f"\n{args.images} images, model {args.model}, batch size {config.batch_size}, "
        f"inference memory {config.inference_memory_mb} MB, {config.intra_op_threads} intra-op thread(s); "
        f"run took {measured['wall_s']:.1f} s here"
    )
    print(
        f"Lambda duration = the handler's own CPU seconds here / min(memory / {VCPU_MB} MB, threads) + the modeled "
        f"round trip of each AWS request it made ({', '.join(f'{s} {o} {ms:g}' for (s, o), ms in LATENCY_MS.items())}"
        f" ms); GB-s = duration x memory / 1024 (infer_batch: {config.inference_memory_mb} MB, "
        f"{config.intra_op_threads} thread(s); start_run, finalize_run: {OTHER_MEMORY_MB} MB, 1 thread).\n"
        "DynamoDB write units: each written item's larger image (before/after) per KB, x2 in transactions, "
        "plus the GSI writes the change causes."
    )
    print(f"final: {measured['final']}\n")
    print(f"{'service':<15} {'what':<22} {'per 1,000 images':>18} {'$ per 1,000':>12}")
    for service, what, quantity, dollars in rows:
        print(f"{service:<15} {what:<22} {quantity * scale:>18,.2f} {dollars * scale:>12.6f}")
    print(f"{'total':<15} {'':<22} {'':>18} {total:>12.6f}")
    verdict = "within" if total <= TARGET_PER_1000 else "OVER"
    print(f"target <= ${TARGET_PER_1000:.2f} per 1,000 images: {verdict}\n")
    with_moto = lambda_gb_s(measured["cpu_with_moto"], {}, config) * scale
    print(
        f"Lambda: handlers' own CPU {sum(measured['cpu'].values()) * scale:,.1f} s + modeled request waits "
        f"{sum(measured['waits'].values()) * scale:,.1f} s per 1,000 images; counting moto's in-process CPU "
        f"instead of the waits (the old rule) would bill {with_moto:,.1f} GB-s "
        f"(${with_moto * PRICE['lambda_gb_s']:.6f})"
    )
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
    out = RESULTS / f"aws_cost-{args.model}{args.label}.json"
    out.write_text(
        json.dumps(
            {
                "images": args.images,
                "model": args.model,
                "batch_size": config.batch_size,
                "inference_memory_mb": config.inference_memory_mb,
                "intra_op_threads": config.intra_op_threads,
                "run_wall_s": measured["wall_s"],
                "cpu_s": measured["cpu"],
                "cpu_with_moto_s": measured["cpu_with_moto"],
                "modeled_waits_s": measured["waits"],
                "latency_ms": {f"{s}:{o}": ms for (s, o), ms in LATENCY_MS.items()},
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
