"""Cold-start time of the Lambda handlers, this tree against a baseline revision, side by side in
one run.

Each round imports a handler in a fresh interpreter (as a new Lambda container does) for both
trees, interleaved, with the AWS world's environment set, and builds its world's backends (the
baseline built them on first use, this tree at import); it reports the median time and which
of numpy, Pillow and onnxruntime were loaded. The baseline is
checked out with `git archive` into a temporary folder and runs on the same virtualenv.

    python -m bench.import_time [--baseline dacb970] [--rounds 15] [--handlers api start_run]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
HEAVY = ("onnxruntime", "numpy", "PIL")
# The commit before the application layer: autolabel.service imported inference in every function.
DEFAULT_BASELINE = "dacb970"
ENVIRONMENT = {
    "AUTOLABEL_TABLE": "autolabel-records",
    "AUTOLABEL_BUCKET": "autolabel-data",
    "AUTOLABEL_IDEMPOTENCY_TABLE": "autolabel-idempotency",
    "AUTOLABEL_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "autolabel",
    "POWERTOOLS_METRICS_NAMESPACE": "autolabel",
}
# Import the handler, then build its world if the import has not (the baseline's AwsWorld built
# its clients on first use): what a cold start pays before the first event.
PROBE = f"""
import importlib.util, json, sys, time
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("handler", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
getattr(getattr(module, "world", None), "backends", None)
seconds = time.perf_counter() - started
print(json.dumps({{"seconds": seconds, "heavy": [m for m in {HEAVY!r} if m in sys.modules]}}))
"""


def checkout(revision: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "archive", "--format=tar", revision, "src", "functions"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def measure(tree: Path, handler: str) -> dict[str, object]:
    env = {**os.environ, **ENVIRONMENT, "PYTHONPATH": f"{tree / 'src'}{os.pathsep}{tree}"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(tree / "functions" / handler / "handler.py")],
        env=env,
        cwd=tree,
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default=DEFAULT_BASELINE)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--handlers", nargs="+", default=["api", "start_run", "finalize_run", "infer_batch"])
    args = parser.parse_args()
    report: dict[str, object] = {"baseline": args.baseline, "rounds": args.rounds, "handlers": {}}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"baseline": checkout(args.baseline, Path(tmp)), "this tree": ROOT}
        for handler in args.handlers:
            times: dict[str, list[float]] = {name: [] for name in trees}
            heavy: dict[str, object] = {}
            for _ in range(args.rounds):
                for name, tree in trees.items():  # interleaved: both see the same machine load
                    result = measure(tree, handler)
                    times[name].append(float(str(result["seconds"])))
                    heavy[name] = result["heavy"]
            medians = {name: statistics.median(values) for name, values in times.items()}
            ratio = medians["this tree"] / medians["baseline"]
            report["handlers"][handler] = {  # type: ignore[index]
                "median_s": {k: round(v, 3) for k, v in medians.items()},
                "ratio": round(ratio, 2),
                "loads": heavy,
            }
            print(
                f"{handler:13s} baseline {medians['baseline'] * 1000:6.0f} ms {heavy['baseline']}"
                f"  this tree {medians['this tree'] * 1000:6.0f} ms {heavy['this tree']}  ratio {ratio:.2f}"
            )
    report["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(f"load average {report['load_average']}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "import_time.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
