"""The model spec: what sits next to each ONNX file as ``spec.json``.

It says how to feed the model (input tensor, layout, resize, normalisation) and how to read it
(which decoder, which outputs, class names), so adding a model is adding a folder, not code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from autolabel.domain import errors
from autolabel.domain.models import LabelType, ModelKind, ModelSpec


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Resize(_Strict):
    """``stretch`` resizes to width x height; ``shorter-crop`` scales the shorter side to
    ``shorter`` then centre-crops ``crop`` x ``crop`` (the ImageNet recipe); ``none`` keeps the
    image as it is (batch size 1)."""

    mode: Literal["stretch", "shorter-crop", "none"]
    width: int | None = None
    height: int | None = None
    shorter: int | None = None
    crop: int | None = None

    @model_validator(mode="after")
    def _complete(self) -> Resize:
        if self.mode == "stretch" and not (self.width and self.height):
            raise ValueError("stretch needs width and height")
        if self.mode == "shorter-crop" and not (self.shorter and self.crop):
            raise ValueError("shorter-crop needs shorter and crop")
        return self

    def source_size_needed(self) -> tuple[int, int] | None:
        """The smallest (width, height) a source may be decoded at without losing detail this
        resize keeps; ``None`` when every pixel counts."""
        if self.mode == "stretch":
            assert self.width and self.height
            return self.width, self.height
        if self.mode == "shorter-crop":
            assert self.shorter
            return self.shorter, self.shorter
        return None


class Normalize(_Strict):
    """(pixel - mean) / std per RGB channel, on 0..255 values."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]


class ImageInput(_Strict):
    name: str
    layout: Literal["NHWC", "NCHW"]
    dtype: Literal["uint8", "float32"]
    resize: Resize
    normalize: Normalize | None = None


class DetectionDecoder(_Strict):
    """TF Object Detection API outputs: normalised [ymin, xmin, ymax, xmax] boxes, scores,
    class ids (mapped through ``class_names``) and a detection count."""

    type: Literal["tf-detection"] = "tf-detection"
    boxes: str
    scores: str
    classes: str
    count: str
    class_names: dict[int, str]
    nms_iou: float = Field(default=0.5, gt=0, le=1)
    min_score: float = Field(default=0.05, ge=0, le=1)

    @property
    def reads(self) -> list[str]:
        """The model outputs this decoder needs."""
        return [self.boxes, self.scores, self.classes, self.count]


class SelectedDetectionDecoder(_Strict):
    """A detector whose graph ends in ONNX ``NonMaxSuppression``: boxes per anchor, scores per
    class and anchor, and the (image, class, box) rows the suppression kept. The decoder sorts
    each image's rows by score and keeps the best ``max_detections`` (rows are ragged per image,
    which a graph cannot return as a batch). Boxes are normalised [ymin, xmin, ymax, xmax];
    class index + ``class_offset`` is the key in ``class_names``."""

    type: Literal["nms-selected"] = "nms-selected"
    boxes: str
    scores: str
    selected: str
    class_names: dict[int, str]
    class_offset: int = 0
    max_detections: int = Field(default=100, ge=1)
    nms_iou: float = Field(default=0.5, gt=0, le=1)
    min_score: float = Field(default=0.05, ge=0, le=1)

    @property
    def reads(self) -> list[str]:
        return [self.boxes, self.scores, self.selected]


class ClassifierDecoder(_Strict):
    """One row of logits (or probabilities) per input; top-k concepts become predictions."""

    type: Literal["classifier"] = "classifier"
    output: str
    labels: list[str]
    softmax: bool = True
    top_k: int = Field(default=5, ge=1)
    min_score: float = Field(default=0.01, ge=0, le=1)

    @property
    def reads(self) -> list[str]:
        return [self.output]


Decoder = Annotated[DetectionDecoder | SelectedDetectionDecoder | ClassifierDecoder, Field(discriminator="type")]
BoxDecoder = DetectionDecoder | SelectedDetectionDecoder


class ModelPackage(_Strict):
    """A model on disk: ``spec.json`` plus the ONNX file it names."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    version: str
    kind: ModelKind
    description: str = ""
    license: str = ""
    file: str = "model.onnx"
    batch_size: int = Field(default=1, ge=1, le=256)
    input: ImageInput
    decoder: Decoder

    @property
    def labels(self) -> list[str]:
        if isinstance(self.decoder, BoxDecoder):
            return sorted(set(self.decoder.class_names.values()), key=list(self.decoder.class_names.values()).index)
        return list(self.decoder.labels)

    @property
    def label_type(self) -> LabelType:
        return LabelType.BOX if isinstance(self.decoder, BoxDecoder) else LabelType.CLASSIFICATION

    def spec(self) -> ModelSpec:
        return ModelSpec(
            id=self.id,
            version=self.version,
            kind=self.kind,
            description=self.description,
            labels=self.labels,
            label_type=self.label_type,
            batchable=self.batch_size > 1,
            file=self.file,
        )


def load_package(folder: Path) -> ModelPackage:
    """Read ``folder/spec.json``; a missing or bad spec is a ValidationError naming the file."""
    path = folder / "spec.json"
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise errors.ValidationError(f"model folder {folder} has no spec.json") from None
    except json.JSONDecodeError as exc:
        raise errors.ValidationError(f"{path} is not valid JSON: {exc}") from None
    if isinstance(raw, dict) and isinstance(raw.get("labels_file"), str):
        # Long label lists live in their own file next to the spec.
        labels = json.loads((folder / raw.pop("labels_file")).read_text())
        decoder = raw.setdefault("decoder", {})
        if isinstance(labels, dict):
            decoder["class_names"] = {int(k): v for k, v in labels.items()}
        else:
            decoder["labels"] = labels
    try:
        package = ModelPackage.model_validate(raw)
    except ValidationError as exc:
        raise errors.ValidationError(f"{path}: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from None
    if not package.labels:
        raise errors.ValidationError(f"{path}: the model outputs no concepts")
    return package
