"""Reading an ONNX file's inputs and outputs from its protobuf: the same names onnxruntime sees
for the shipped models, and anything that is not a whole ONNX model refused."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort
import pytest

from autolabel.app.models import shipped_models_dir
from autolabel.inference.onnx_graph import NotOnnx, read_signature

MODELS = sorted(shipped_models_dir().glob("*/model.onnx"))


@pytest.mark.parametrize("path", MODELS, ids=[p.parent.name for p in MODELS])
def test_the_names_onnxruntime_sees(path: Path) -> None:
    signature = read_signature(path.read_bytes())
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert signature.inputs == tuple(i.name for i in session.get_inputs())
    assert set(signature.outputs) == {o.name for o in session.get_outputs()}


def test_a_cut_file_is_refused() -> None:
    data = MODELS[0].read_bytes()
    for length in (1, 100, len(data) // 2, len(data) - 1):
        with pytest.raises(NotOnnx):
            read_signature(data[:length])


@pytest.mark.parametrize("data", [b"", b"not onnx", b"\x00\x01", b"AAAA", b"\x08\x07"])
def test_what_is_not_onnx_is_refused(data: bytes) -> None:
    with pytest.raises(NotOnnx):
        read_signature(data)
