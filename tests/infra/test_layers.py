"""The layers, built for real (pip, manylinux aarch64 wheels for CPython 3.12; ~20 s the first
time, then cached in build/layers until their requirements change): each function plus its
layers must unzip under Lambda's 250 MB, and hold nothing Lambda never imports."""

from __future__ import annotations

from pathlib import Path

import pytest

from layers.build import DEFAULT_OUT, LAMBDA_UNZIPPED_LIMIT, build, size_of

ROOT = Path(__file__).resolve().parents[2]
ELF_MACHINE_AARCH64 = 0xB7


@pytest.fixture(scope="module")
def layers() -> dict[str, Path]:
    return {name: build(name, DEFAULT_OUT) for name in ("core", "imaging", "inference")}


def test_each_function_with_its_layers_fits_lambda(layers: dict[str, Path]) -> None:
    total_layers = sum(size_of(path) for path in layers.values())
    for function in sorted((ROOT / "functions").glob("*/handler.py")):
        unzipped = size_of(function.parent) + total_layers
        assert unzipped < LAMBDA_UNZIPPED_LIMIT, f"{function.parent.name}: {unzipped / 1e6:.1f} MB"
    print({name: f"{size_of(path) / 1e6:.1f} MB" for name, path in layers.items()})


def test_layers_are_arm64_cpython_312_and_stripped(layers: dict[str, Path]) -> None:
    site = layers["inference"] / "python"
    extensions = list(site.rglob("*.cpython-312-aarch64-linux-gnu.so"))
    assert any("onnxruntime" in str(p) for p in extensions) and any("numpy" in str(p) for p in extensions)
    assert list((layers["imaging"] / "python").glob("PIL/_imaging.cpython-312-aarch64-linux-gnu.so"))
    header = extensions[0].read_bytes()[:20]
    assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == ELF_MACHINE_AARCH64
    core = layers["core"] / "python"
    assert (core / "autolabel" / "app" / "runs" / "lifecycle.py").is_file()
    assert (core / "aws_lambda_powertools").is_dir()
    assert (core / "pydantic_core").is_dir()
    for layer in layers.values():
        assert not list(layer.rglob("__pycache__"))
        assert not [p for p in layer.glob("python/boto*")] and not list(layer.glob("python/botocore*"))
        assert not [p for p in layer.rglob("tests") if p.is_dir()]
