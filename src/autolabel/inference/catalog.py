"""Where models come from: the folders shipped in ``models/`` and models registered by users
(stored in the blob store under ``models/<id>/``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from autolabel.domain.concepts import not_found
from autolabel.domain.errors import ValidationError
from autolabel.domain.models import ModelSpec
from autolabel.inference.spec import ModelPackage, load_package
from autolabel.ports import BlobStore, RecordStore

REPO_MODELS = Path(__file__).resolve().parents[3] / "models"


def shipped_models_dir() -> Path:
    return Path(os.environ.get("AUTOLABEL_MODELS", REPO_MODELS))


class ModelCatalog:
    def __init__(self, records: RecordStore, blobs: BlobStore, shipped_dir: Path | None = None) -> None:
        self.records = records
        self.blobs = blobs
        self.shipped_dir = shipped_dir or shipped_models_dir()

    def _shipped(self) -> dict[str, Path]:
        if not self.shipped_dir.is_dir():
            return {}
        found: dict[str, Path] = {}
        for spec in sorted(self.shipped_dir.glob("*/spec.json")):
            package = load_package(spec.parent)
            found[package.id] = spec.parent
        return found

    def specs(self) -> list[ModelSpec]:
        shipped = [load_package(folder).spec() for folder in self._shipped().values()]
        names = {s.id for s in shipped}
        return shipped + [s for s in self.records.list_models() if s.id not in names]

    def package(self, model_id: str) -> tuple[ModelPackage, Path]:
        """The model's spec and a local path to its ONNX file."""
        shipped = self._shipped()
        if model_id in shipped:
            folder = shipped[model_id]
            package = load_package(folder)
            return package, folder / package.file
        if any(s.id == model_id for s in self.records.list_models()):
            raw = json.loads(self.blobs.get(f"models/{model_id}/spec.json"))
            package = ModelPackage.model_validate(raw)
            return package, self.blobs.local_path(f"models/{model_id}/{package.file}")
        raise not_found("model", model_id, [s.id for s in self.specs()])

    def register(self, package: ModelPackage, onnx_bytes: bytes) -> ModelSpec:
        if not onnx_bytes:
            raise ValidationError("the ONNX file is empty")
        if not package.labels:
            raise ValidationError("the model outputs no concepts")
        self.blobs.put(f"models/{package.id}/{package.file}", onnx_bytes)
        self.blobs.put(f"models/{package.id}/spec.json", package.model_dump_json(indent=2).encode())
        spec = package.spec()
        self.records.put_model(spec)
        return spec
