"""Models: the folders shipped in ``models/`` and the ones users register (stored in the blob
store under ``models/<id>/``), listed together; registering checks the file against its spec."""

from __future__ import annotations

import json
import os
from pathlib import Path

from autolabel.domain.concepts import not_found
from autolabel.domain.errors import Conflict, ValidationError
from autolabel.domain.models import ModelSpec
from autolabel.domain.users import Actor, require_admin
from autolabel.inference.onnx_graph import NotOnnx, read_signature
from autolabel.inference.spec import ModelPackage, load_package
from autolabel.ports import Backends, validate_key

REPO_MODELS = Path(__file__).resolve().parents[3] / "models"


def shipped_models_dir() -> Path:
    """Where the embedded world reads its shipped models (``AUTOLABEL_MODELS`` overrides)."""
    return Path(os.environ.get("AUTOLABEL_MODELS", REPO_MODELS))


def _shipped(backends: Backends) -> dict[str, Path]:
    folder = backends.models_dir
    if folder is None or not folder.is_dir():
        return {}
    return {load_package(spec.parent).id: spec.parent for spec in sorted(folder.glob("*/spec.json"))}


def list_models(backends: Backends) -> list[ModelSpec]:
    """Every model with its concepts; any authenticated caller may list them."""
    shipped = [load_package(folder).spec() for folder in _shipped(backends).values()]
    names = {s.id for s in shipped}
    return shipped + [s for s in backends.records.list_models() if s.id not in names]


def package_of(backends: Backends, model_id: str) -> ModelPackage:
    """The model's spec (for a registered model, without fetching its ONNX file)."""
    shipped = _shipped(backends)
    if model_id in shipped:
        return load_package(shipped[model_id])
    if any(s.id == model_id for s in backends.records.list_models()):
        return ModelPackage.model_validate(json.loads(backends.blobs.get(f"models/{model_id}/spec.json")))
    raise not_found("model", model_id, [s.id for s in list_models(backends)])


def resolve(backends: Backends, model_id: str) -> tuple[ModelPackage, Path]:
    """The model's spec and a local path to its ONNX file (downloaded and cached on AWS)."""
    package = package_of(backends, model_id)
    shipped = _shipped(backends)
    if model_id in shipped:
        return package, shipped[model_id] / package.file
    return package, backends.blobs.local_path(f"models/{model_id}/{package.file}")


def register_model(
    backends: Backends, actor: Actor, spec: object, *, onnx_bytes: bytes | None = None, onnx_key: str | None = None
) -> ModelSpec:
    """Register an ONNX model with its spec, after checking the file matches the spec.

    The file comes inline, or as the key of a blob already in the store (large models are
    uploaded to the store directly rather than through a JSON request).
    """
    require_admin(actor, "register models")
    if (onnx_bytes is None) == (onnx_key is None):
        raise ValidationError("give the ONNX file either inline or as the key of a stored blob, not both")
    try:
        package = ModelPackage.model_validate(spec)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise ValidationError(f"invalid model spec: {exc}") from None
    if not package.labels:
        raise ValidationError("the model outputs no concepts: its decoder names no classes or labels")
    if any(s.id == package.id for s in list_models(backends)):
        raise Conflict(f"a model with id '{package.id}' already exists", {"model": package.id})
    data = onnx_bytes if onnx_bytes is not None else backends.blobs.get(validate_key(str(onnx_key)))
    check_onnx_matches(package, data)
    return store_model(backends, package, data)


def store_model(backends: Backends, package: ModelPackage, onnx_bytes: bytes) -> ModelSpec:
    backends.blobs.put(f"models/{package.id}/{package.file}", onnx_bytes)
    backends.blobs.put(f"models/{package.id}/spec.json", package.model_dump_json(indent=2).encode())
    spec = package.spec()
    backends.records.put_model(spec)
    return spec


def publish_shipped(backends: Backends, models_dir: Path, only: set[str] | None = None) -> list[str]:
    """Upload the model folders under ``models_dir`` (or those whose ids are in ``only``) to the
    blob store and register them: the AWS deployment's step that makes shipped models usable."""
    published = []
    for spec in sorted(models_dir.glob("*/spec.json")):
        package = load_package(spec.parent)
        if only is not None and package.id not in only:
            continue
        store_model(backends, package, (spec.parent / package.file).read_bytes())
        published.append(package.id)
    return published


def check_onnx_matches(package: ModelPackage, onnx_bytes: bytes) -> None:
    """The file is an ONNX model with the input and the outputs the spec names."""
    if not onnx_bytes:
        raise ValidationError("the ONNX file is empty")
    try:
        signature = read_signature(onnx_bytes)
    except NotOnnx as exc:
        raise ValidationError(f"not a loadable ONNX model: {exc}") from None
    if package.input.name not in signature.inputs:
        raise ValidationError(f"the model has no input '{package.input.name}'", {"inputs": sorted(signature.inputs)})
    missing = [name for name in package.decoder.reads if name not in signature.outputs]
    if missing:
        raise ValidationError(
            f"the model has no output(s) {', '.join(missing)}", {"outputs": sorted(signature.outputs)}
        )
