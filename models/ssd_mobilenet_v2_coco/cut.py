r"""Make model v3 from model v2: cut off the graph's per-image post-processing loop.

Run once, by hand, by a developer; neither setup nor CI runs it. Its output ``model.onnx`` (v3)
is committed, and so is ``tests/e2e/ssd_v2_reference.json``, the v2 graph's detections on the
sample photos that ``tests/e2e/test_ssd_v3.py`` compares v3 against.

Why
---
tf2onnx turns TensorFlow's ``BatchMultiClassNonMaxSuppression`` into an ONNX ``Loop`` over the
images of a batch whose body holds 5,488 nodes (the 90 per-class branches, unrolled). It runs
one image at a time on one thread and costs about 12 ms per image, a sixth of the whole model.
The ``Preprocessor`` is a second ``Loop`` that resizes each image to 300x300, which autolabel
has already done. v3 keeps everything in between (MobileNet-v2, the box predictors, box decoding
with the graph's own anchors, the sigmoid) and replaces the two loops with batched ops:

* in front: ``image_tensor:0`` uint8 ``[N, 300, 300, 3]`` -> NCHW -> float -> ``x * 2/255 - 1``,
  the same constants the ``Preprocessor`` used (its resize of a 300x300 image is the identity);
* behind: what ``MultiClassNonMaxSuppression`` did per image and class, for the whole batch at
  once: clip the decoded boxes to the window [0, 0, 1, 1], drop boxes left with no area, and one
  ONNX ``NonMaxSuppression`` over all images and classes (score > 0.05, IoU > 0.6, at most 100
  per class). Sorting each image's survivors by score and keeping the best 100 is left to
  autolabel's ``ssd-nms`` decoder, because the survivors are ragged per image.

Outputs of v3: ``detection_boxes`` float32 ``[N, 1917, 4]`` (ymin, xmin, ymax, xmax, normalised,
clipped), ``detection_scores`` float32 ``[N, 90, 1917]`` (class index c is COCO id c + 1) and
``selected_indices`` int64 ``[K, 3]`` rows of (image, class index, box).

Recipe (onnx only; onnxruntime and autolabel come from the project venv)::

    .venv/bin/pip install onnx
    git show 0de6b46:models/ssd_mobilenet_v2_coco/model.onnx > /tmp/ssd_v2.onnx
    .venv/bin/python models/ssd_mobilenet_v2_coco/cut.py /tmp/ssd_v2.onnx
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# The sibling script (run from this folder, so it is importable): one score floor, one file hash.
from convert import SCORE_FLOOR, sha256

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "model.onnx"
REFERENCE = HERE.parents[1] / "tests" / "e2e" / "ssd_v2_reference.json"
SAMPLES = HERE.parents[1] / "samples" / "images"

# model.onnx v2 as committed in 0de6b46 (convert.py's output with the 0.05 score floor).
V2_SHA256 = "eca6fabf24d4c8dbf4b2cd964b1af988a1f4b53904e246fad4de63b1427577c8"

# Tensors of the v2 graph where v3 starts and ends.
NORMALISED_INPUT = "Preprocessor/sub:0"  # float32 [N, 3, 300, 300], pixels scaled to [-1, 1]
PIXEL_SCALE = "Preprocessor/mul/x:0"  # 2/255
DECODED_BOXES = "Postprocessor/Reshape_2:0"  # float32 [N, 1917, 4], anchors applied
CLASS_SCORES = "Postprocessor/Slice:0"  # float32 [N, 1917, 90], sigmoid, background dropped
ANCHORS = 1917
CLASSES = 90
SIZE = 300

# The zoo's pipeline config, with convert.py's score floor.
IOU_THRESHOLD = 0.6
MAX_PER_CLASS = 100


def cut(v2_path: Path, output: Path) -> None:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from onnx.utils import Extractor

    v2 = onnx.load(str(v2_path))
    scale = next(i for i in v2.graph.initializer if i.name == PIXEL_SCALE)
    # The loops' outputs have no inferred shapes, so the extractor needs them spelled out.
    v2.graph.value_info.extend(
        [
            helper.make_tensor_value_info(NORMALISED_INPUT, TensorProto.FLOAT, ["N", 3, SIZE, SIZE]),
            helper.make_tensor_value_info(DECODED_BOXES, TensorProto.FLOAT, ["N", ANCHORS, 4]),
            helper.make_tensor_value_info(CLASS_SCORES, TensorProto.FLOAT, ["N", ANCHORS, CLASSES]),
        ]
    )
    core = Extractor(v2).extract_model([NORMALISED_INPUT], [DECODED_BOXES, CLASS_SCORES])
    graph = core.graph
    if any(node.op_type in ("Loop", "If", "Scan") for node in graph.node):
        sys.exit("the cut still contains a loop: the v2 graph is not the one this script expects")

    def const(name: str, value: object, dtype: type) -> str:
        graph.initializer.append(numpy_helper.from_array(np.array(value, dtype=dtype), name))
        return name

    front = [
        helper.make_node("Transpose", ["image_tensor:0"], ["v3/nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Cast", ["v3/nchw"], ["v3/float"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["v3/float", PIXEL_SCALE], ["v3/scaled"]),
        helper.make_node("Sub", ["v3/scaled", const("v3/one", 1.0, np.float32)], [NORMALISED_INPUT]),
    ]
    back = [
        # clip_to_window([0, 0, 1, 1]) with filter_nonoverlapping: clip, then drop empty boxes.
        helper.make_node("Clip", [DECODED_BOXES, const("v3/zero", 0.0, np.float32), "v3/one"], ["detection_boxes"]),
        helper.make_node("Split", ["detection_boxes"], ["v3/ymin", "v3/xmin", "v3/ymax", "v3/xmax"], axis=2),
        helper.make_node("Sub", ["v3/ymax", "v3/ymin"], ["v3/height"]),
        helper.make_node("Sub", ["v3/xmax", "v3/xmin"], ["v3/width"]),
        helper.make_node("Mul", ["v3/height", "v3/width"], ["v3/area"]),
        helper.make_node("Greater", ["v3/area", "v3/zero"], ["v3/has_area"]),
        helper.make_node("Where", ["v3/has_area", CLASS_SCORES, "v3/zero"], ["v3/scores"]),
        helper.make_node("Transpose", ["v3/scores"], ["detection_scores"], perm=[0, 2, 1]),
        helper.make_node(
            "NonMaxSuppression",
            [
                "detection_boxes",
                "detection_scores",
                const("v3/max_per_class", [MAX_PER_CLASS], np.int64),
                const("v3/iou_threshold", [IOU_THRESHOLD], np.float32),
                const("v3/score_floor", [SCORE_FLOOR], np.float32),
            ],
            ["selected_indices"],
            center_point_box=0,  # boxes are (y1, x1, y2, x2), TensorFlow's order
        ),
    ]
    nodes = front + list(graph.node) + back
    del graph.node[:]
    graph.node.extend(nodes)
    if not any(i.name == PIXEL_SCALE for i in graph.initializer):
        graph.initializer.append(scale)
    del graph.input[:]
    graph.input.append(helper.make_tensor_value_info("image_tensor:0", TensorProto.UINT8, ["N", SIZE, SIZE, 3]))
    del graph.output[:]
    graph.output.extend(
        [
            helper.make_tensor_value_info("detection_boxes", TensorProto.FLOAT, ["N", ANCHORS, 4]),
            helper.make_tensor_value_info("detection_scores", TensorProto.FLOAT, ["N", CLASSES, ANCHORS]),
            helper.make_tensor_value_info("selected_indices", TensorProto.INT64, ["K", 3]),
        ]
    )
    graph.name = "ssd_mobilenet_v2_coco_v3"
    # Keep v2's IR version and opsets so every onnxruntime that loads v2 loads v3.
    core.ir_version = v2.ir_version
    del core.opset_import[:]
    core.opset_import.extend(v2.opset_import)
    onnx.checker.check_model(core, full_check=True)
    onnx.save(core, str(output))


def reference_detections(v2_path: Path) -> dict[str, list[dict[str, object]]]:
    """The v2 graph's detections on every sample photo, through autolabel's own v2 decoder."""
    import numpy as np
    import onnxruntime as ort

    from autolabel.imaging.decode import decode_image
    from autolabel.inference.processing import decode_detections, prepare
    from autolabel.inference.spec import DetectionDecoder, ImageInput, Resize

    labels = {int(k): v for k, v in json.loads((HERE / "labels.json").read_text()).items()}
    decoder = DetectionDecoder(
        boxes="detection_boxes:0",
        scores="detection_scores:0",
        classes="detection_classes:0",
        count="num_detections:0",
        class_names=labels,
        nms_iou=0.6,
        min_score=SCORE_FLOOR,
    )
    spec = ImageInput(
        name="image_tensor:0", layout="NHWC", dtype="uint8", resize=Resize(mode="stretch", width=SIZE, height=SIZE)
    )
    session = ort.InferenceSession(str(v2_path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    found: dict[str, list[dict[str, object]]] = {}
    for photo in sorted(SAMPLES.iterdir()):
        if photo.suffix.lower() not in {".jpg", ".png"}:
            continue
        prepared = prepare(decode_image(photo.read_bytes()), spec)
        outputs = dict(zip(names, session.run(names, {spec.name: np.stack([prepared.tensor])}), strict=True))
        found[photo.name] = [
            {"concept": p.concept, "score": p.score, "box": p.geometry.model_dump(exclude={"type"})}
            for p in decode_detections(outputs, 0, prepared, decoder)
        ]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("v2", type=Path, help="model.onnx v2 (see the recipe in this file)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    actual = sha256(args.v2)
    if actual != V2_SHA256:
        sys.exit(f"{args.v2}: sha256 {actual} is not model v2 {V2_SHA256}")
    REFERENCE.write_text(json.dumps(reference_detections(args.v2), indent=1) + "\n")
    print(f"wrote {REFERENCE}")
    cut(args.v2, args.output)
    print(f"wrote {args.output} ({args.output.stat().st_size / 1e6:.1f} MB, sha256 {sha256(args.output)})")


if __name__ == "__main__":
    main()
