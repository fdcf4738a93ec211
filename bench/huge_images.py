"""Peak memory of `autolabel task run` over huge images: 16 PNGs of 9000 x 9000 (81 megapixels,
each legal: under Pillow's decompression-bomb limit), side by side in one invocation:

(old) decoding as before the pixel budget: every worker decodes its image at full size at once;
(new) decoding admitted by ``imaging.decode.DECODE_BUDGET`` and shrunk as soon as it is loaded.

Each variant runs in a process of its own on its own copy of the workspace; the peak resident
set size is the kernel's (``wait4``'s ``ru_maxrss``). Prints both with the run times and saves
JSON in bench/results/huge_images.json. Target: new ≤ 600 MB (the inference Lambda has 1,024 MB).

    python -m bench.huge_images [--count 16] [--side 9000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "huge_images.json"


def make_pngs(folder: Path, count: int, side: int) -> list[Path]:
    """``count`` distinct RGB PNGs of ``side`` x ``side``: gradients with a shape that moves."""
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    red = Image.linear_gradient("L").resize((side, side))
    green = red.transpose(Image.Transpose.ROTATE_90)
    blue = Image.radial_gradient("L").resize((side, side))
    base = Image.merge("RGB", (red, green, blue))
    del red, green, blue
    paths = []
    for n in range(count):
        image = base.copy()
        step = side // (count + 2)
        ImageDraw.Draw(image).rectangle(
            (n * step, n * step, n * step + side // 4, n * step + side // 5), fill=(200, 40, 40)
        )
        path = folder / f"huge{n:02d}.png"
        image.save(path, compress_level=1)
        paths.append(path)
        del image
    return paths


def prepare_workspace(home: Path, images: list[Path]) -> None:
    from autolabel import bootstrap
    from autolabel.app import datasets, tasks
    from autolabel.domain.models import Reviewer, Thresholds
    from autolabel.domain.users import Actor

    owner = Actor.workspace_owner()
    backends = bootstrap.embedded(home)
    datasets.add_files(backends, owner, "huge", images)
    tasks.create_task(
        backends,
        owner,
        name="huge",
        dataset="huge",
        model="ssd-mobilenet-v2-coco",
        concepts=["person", "car", "cat"],
        thresholds=Thresholds.of(0.7, 0.3),
        concept_thresholds={},
        reviewers=[Reviewer(name="alice")],
    )


def child(home: Path, variant: str) -> None:
    """One run, in this process; ``old`` switches the pixel budget and early shrinking off."""
    from autolabel import bootstrap
    from autolabel.app.runs.local import run_task
    from autolabel.domain.users import Actor
    from autolabel.imaging import decode

    if variant == "old":
        decode.DECODE_BUDGET = decode.PixelBudget(10**15)
        decode.SHRINK_ABOVE_PIXELS = 10**15
    started = time.perf_counter()
    report = run_task(bootstrap.embedded(home), Actor.workspace_owner(), "huge")
    print(
        json.dumps({"seconds": time.perf_counter() - started, "processed": report.processed, "failed": report.failed})
    )


def measure(home: Path, variant: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.huge_images", "--child", variant, "--home", str(home)],
        stdout=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"{variant} run failed (status {status})")
    result: dict[str, float] = json.loads(output)
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # Linux reports kilobytes
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--side", type=int, default=9000)
    parser.add_argument("--child", choices=["old", "new"], help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.home, args.child)
        return
    with tempfile.TemporaryDirectory(prefix="huge-") as scratch:
        root = Path(scratch)
        t0 = time.perf_counter()
        images = make_pngs(root / "images", args.count, args.side)
        size_mb = sum(p.stat().st_size for p in images) / 2**20
        print(
            f"{args.count} PNGs of {args.side}x{args.side} ({size_mb:.0f} MB) made in {time.perf_counter() - t0:.0f}s"
        )
        results = {}
        for variant in ("old", "new"):
            prepare_workspace(root / variant, images)
            results[variant] = measure(root / variant, variant)
    print(f"{'':6}{'peak RSS':>12}{'time':>10}{'failed':>8}")
    for variant, found in results.items():
        print(f"{variant:6}{found['peak_rss_mb']:>9.0f} MB{found['seconds']:>9.1f}s{found['failed']:>8.0f}")
    print(f"new / old peak: {results['new']['peak_rss_mb'] / results['old']['peak_rss_mb']:.2f} (target: new ≤ 600 MB)")
    RESULTS.write_text(
        json.dumps(
            {
                "images": args.count,
                "side": args.side,
                "png_mb": round(size_mb, 1),
                "cpus": os.cpu_count(),
                "machine": platform.machine(),
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
