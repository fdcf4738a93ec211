"""Pre-processing (image -> tensor) and decoding (tensors -> predictions) for each spec.

Pre-processing runs on decode threads (Pillow releases the GIL), decoding right after the
session, so the model's core never waits on Python work it does not need.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from autolabel.domain.models import Box, Classification
from autolabel.inference.nms import nms
from autolabel.inference.spec import ClassifierDecoder, DetectionDecoder, ImageInput, SelectedDetectionDecoder


@dataclass(frozen=True)
class Prepared:
    """One input's tensor (without the batch axis) plus the size of the oriented original."""

    tensor: NDArray[np.generic]
    width: int
    height: int


@dataclass(frozen=True)
class RawPrediction:
    concept: str
    score: float
    geometry: Box | Classification


def prepare(image: Image.Image, spec: ImageInput, full_size: tuple[int, int] | None = None) -> Prepared:
    """Resize and lay out an RGB image as the model expects.

    ``full_size`` is the original's (width, height) when ``image`` was decoded at reduced
    scale; boxes are mapped back to it.
    """
    width, height = image.size
    resize = spec.resize
    if resize.mode == "stretch":
        assert resize.width and resize.height
        image = image.resize((resize.width, resize.height), Image.Resampling.BILINEAR)
    elif resize.mode == "shorter-crop":
        assert resize.shorter and resize.crop
        scale = resize.shorter / min(width, height)
        scaled = (max(resize.crop, round(width * scale)), max(resize.crop, round(height * scale)))
        image = image.resize(scaled, Image.Resampling.BILINEAR)
        left = (scaled[0] - resize.crop) // 2
        top = (scaled[1] - resize.crop) // 2
        image = image.crop((left, top, left + resize.crop, top + resize.crop))
    array: NDArray[np.generic] = np.asarray(image, dtype=np.uint8)
    if spec.dtype == "float32":
        floats: NDArray[np.float32] = array.astype(np.float32)
        if spec.normalize is not None:
            floats -= np.asarray(spec.normalize.mean, np.float32)
            floats /= np.asarray(spec.normalize.std, np.float32)
        array = floats
    if spec.layout == "NCHW":
        array = np.ascontiguousarray(array.transpose(2, 0, 1))
    return Prepared(array, *(full_size or (width, height)))


def decode_detections(
    outputs: Mapping[str, NDArray[np.generic]], index: int, prepared: Prepared, decoder: DetectionDecoder
) -> list[RawPrediction]:
    """Boxes of one batch row, in pixels of the original image, after class-agnostic NMS."""
    count = int(np.asarray(outputs[decoder.count])[index])
    boxes = np.asarray(outputs[decoder.boxes], dtype=np.float32)[index, :count]
    scores = np.asarray(outputs[decoder.scores], dtype=np.float32)[index, :count]
    classes = np.asarray(outputs[decoder.classes])[index, :count].astype(np.int64)
    return _boxes_to_predictions(boxes, scores, classes, prepared, decoder)


def decode_selected(
    outputs: Mapping[str, NDArray[np.generic]], index: int, prepared: Prepared, decoder: SelectedDetectionDecoder
) -> list[RawPrediction]:
    """The best ``max_detections`` rows NonMaxSuppression kept for one image, then as above."""
    selected = np.asarray(outputs[decoder.selected], dtype=np.int64).reshape(-1, 3)
    rows = selected[selected[:, 0] == index]
    scores = np.asarray(outputs[decoder.scores], dtype=np.float32)[index, rows[:, 1], rows[:, 2]]
    # Rows come class by class; a stable sort keeps the lower class first on equal scores, as
    # TensorFlow's top_k over the concatenated classes does.
    best = np.argsort(-scores, kind="stable")[: decoder.max_detections]
    rows, scores = rows[best], scores[best]
    boxes = np.asarray(outputs[decoder.boxes], dtype=np.float32)[index, rows[:, 2]]
    return _boxes_to_predictions(boxes, scores, rows[:, 1] + decoder.class_offset, prepared, decoder)


def _boxes_to_predictions(
    boxes: NDArray[np.float32],
    scores: NDArray[np.float32],
    classes: NDArray[np.int64],
    prepared: Prepared,
    decoder: DetectionDecoder | SelectedDetectionDecoder,
) -> list[RawPrediction]:
    """Normalised (ymin, xmin, ymax, xmax) boxes by descending score -> pixel boxes of known
    classes above the floor, after class-agnostic NMS."""
    known = np.array([int(c) in decoder.class_names for c in classes], dtype=bool)
    mask = (scores >= decoder.min_score) & known
    boxes, scores, classes = boxes[mask], scores[mask], classes[mask]
    if boxes.size == 0:
        return []
    # Stretch-resizing keeps normalised coordinates valid for the original image.
    scale = np.array([prepared.width, prepared.height, prepared.width, prepared.height], np.float32)
    corners = np.clip(boxes[:, [1, 0, 3, 2]], 0.0, 1.0) * scale
    results: list[RawPrediction] = []
    for i in nms(corners, scores, decoder.nms_iou):
        x0, y0, x1, y1 = (float(v) for v in corners[i])
        if x1 - x0 < 1.0 or y1 - y0 < 1.0:
            continue
        results.append(
            RawPrediction(
                concept=decoder.class_names[int(classes[i])],
                score=round(float(scores[i]), 6),
                geometry=Box(x=round(x0, 2), y=round(y0, 2), w=round(x1 - x0, 2), h=round(y1 - y0, 2)),
            )
        )
    return results


def decode_classes(
    outputs: Mapping[str, NDArray[np.generic]], index: int, decoder: ClassifierDecoder
) -> list[RawPrediction]:
    row = np.asarray(outputs[decoder.output], dtype=np.float64)[index].reshape(-1)
    if decoder.softmax:
        shifted = np.exp(row - row.max())
        row = shifted / shifted.sum()
    top = np.argsort(-row, kind="stable")[: decoder.top_k]
    return [
        RawPrediction(concept=decoder.labels[int(i)], score=round(float(row[i]), 6), geometry=Classification())
        for i in top
        if row[i] >= decoder.min_score
    ]
