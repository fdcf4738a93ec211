"""Build the Lambda layers without Docker: pip resolves manylinux aarch64 wheels for CPython
3.12 (what the functions run on) into ``<out>/<layer>/python``, then the layer is stripped of
what Lambda never imports (tests, caches, boto*: the runtime ships its own boto3).

    python layers/build.py [--out build/layers] [--layer core --layer inference]

A layer is rebuilt only when its requirements (or, for core, the autolabel sources) change.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "build" / "layers"
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024  # function code + all its layers, unzipped

LAYERS: dict[str, list[str]] = {
    # The core library's Lambda needs; the CLI's typer/rich stay out.
    "core": ["pydantic>=2.7,<3", "pydantic-settings>=2.3,<3", "aws-lambda-powertools[tracer]>=3.0,<4"],
    # Image headers and decoding: the API (exports) and the functions that run a model.
    "imaging": ["pillow>=10.3"],
    # The model runtime: only the functions that run a model carry it.
    "inference": ["onnxruntime>=1.18", "numpy>=1.26"],
}
PLATFORMS = ["manylinux_2_28_aarch64", "manylinux2014_aarch64"]
STRIP_DIRS = {"__pycache__", "tests", "test", "testing"}
STRIP_PACKAGES = ("boto3", "botocore", "s3transfer")  # provided by the Lambda runtime
KEEP_TEST_DIRS = {"numpy/testing"}  # numpy imports numpy.testing at import time in some paths


def fingerprint(layer: str) -> str:
    digest = hashlib.sha256(json.dumps([LAYERS[layer], PLATFORMS, "3.12"]).encode())
    if layer == "core":
        for path in sorted((ROOT / "src" / "autolabel").rglob("*.py")):
            digest.update(path.relative_to(ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def pip_install(requirements: list[str], target: Path) -> None:
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    command += [f"--platform={p}" for p in PLATFORMS]
    command += ["--only-binary=:all:", "--python-version=3.12", "--implementation=cp", "--target", str(target)]
    subprocess.run([*command, *requirements], check=True)  # noqa: S603 - fixed argv, no shell


def strip(site: Path) -> None:
    for name in STRIP_PACKAGES:
        for found in site.glob(f"{name}*"):
            shutil.rmtree(found, ignore_errors=True) if found.is_dir() else found.unlink()
    for path in sorted(site.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        relative = path.relative_to(site).as_posix()
        if path.is_dir() and path.name in STRIP_DIRS and relative not in KEEP_TEST_DIRS:
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file() and path.suffix in (".pyc", ".pyi"):
            path.unlink()
    for binary in site.rglob("*.so*"):
        # Debug symbols are most of some wheels' weight; strip them if this host can.
        if shutil.which("strip") and binary.is_file():
            subprocess.run(["strip", "--strip-unneeded", str(binary)], check=False, capture_output=True)  # noqa: S603,S607


def build(layer: str, out: Path = DEFAULT_OUT) -> Path:
    destination = out / layer
    stamp = destination / ".fingerprint"
    wanted = fingerprint(layer)
    if stamp.is_file() and stamp.read_text() == wanted:
        return destination
    staging = out / f".{layer}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    site = staging / "python"
    site.mkdir(parents=True)
    pip_install(LAYERS[layer], site)
    if layer == "core":
        shutil.copytree(ROOT / "src" / "autolabel", site / "autolabel", ignore=shutil.ignore_patterns("__pycache__"))
    strip(site)
    (staging / ".fingerprint").write_text(wanted)
    shutil.rmtree(destination, ignore_errors=True)
    staging.rename(destination)
    return destination


def size_of(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--layer", action="append", choices=sorted(LAYERS))
    args = parser.parse_args()
    sizes = {}
    for layer in args.layer or sorted(LAYERS):
        sizes[layer] = size_of(build(layer, args.out))
    print(json.dumps({name: f"{size / 1e6:.1f} MB" for name, size in sizes.items()}))
    total = sum(sizes.values())
    if total > LAMBDA_UNZIPPED_LIMIT:
        raise SystemExit(f"layers unzip to {total / 1e6:.1f} MB, over Lambda's 250 MB")


if __name__ == "__main__":
    main()
