"""Inference for a run: decode → prepare → model → predictions → routing, one batch at a time.

The only module of the core (with ``local``, which drives it) that loads numpy, Pillow and
onnxruntime: the API and the run's bookkeeping steps never import it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from autolabel.app import models
from autolabel.domain import ids
from autolabel.domain.models import Input, InputKind, Prediction, Task
from autolabel.domain.routing import route_input
from autolabel.imaging.decode import ImageDecodeError, decode_image, decode_image_at_least
from autolabel.inference.processing import Prepared, RawPrediction, prepare
from autolabel.inference.runtime import ModelRunner
from autolabel.inference.spec import ModelPackage
from autolabel.ports import Backends, BlobStore, InputResult


class BatchInference:
    """Runs batches of a task's inputs through its model.

    One (spec, session) per model for the life of the process: a Lambda container loads its
    model once, whatever the number of batches it serves, and the embedded run's worker threads
    share one session (onnxruntime sessions may run concurrently).
    """

    def __init__(self, backends: Backends, intra_op_threads: int = 0) -> None:
        self.backends = backends
        self.intra_op_threads = intra_op_threads
        self._loaded: dict[tuple[str, str], tuple[ModelPackage, ModelRunner]] = {}
        self._lock = threading.Lock()
        self.loads = 0

    def model(self, task: Task) -> tuple[ModelPackage, ModelRunner]:
        cache_key = (task.model_id, task.model_version)
        with self._lock:
            loaded = self._loaded.get(cache_key)
            if loaded is None:
                package, path = models.resolve(self.backends, task.model_id)
                loaded = (package, ModelRunner(package, path, self.intra_op_threads))
                self._loaded[cache_key] = loaded
                self.loads += 1
        return loaded

    def infer(self, task: Task, inputs: Sequence[Input]) -> list[InputResult]:
        """Decode, infer and route one batch; an input that cannot be used gets its reason."""
        package, runner = self.model(task)
        prepared = [prepare_input(self.backends.blobs, item, package) for item in inputs]
        ready = [p for p in prepared if isinstance(p, Prepared)]
        outputs = iter(runner.run(ready))
        results: list[InputResult] = []
        for item, p in zip(inputs, prepared, strict=True):
            if isinstance(p, str):
                results.append(InputResult(item.id, failure=p))
                continue
            predictions = to_predictions(task, item.id, next(outputs))
            results.append(InputResult(item.id, predictions, route_input(task, item.id, predictions)))
        return results


def prepare_input(blobs: BlobStore, item: Input, package: ModelPackage) -> Prepared | str:
    """Read and prepare one input; a string is the reason it cannot be used."""
    if item.kind != InputKind.IMAGE:
        return f"model '{package.id}' takes images; this input is {item.kind.value}"
    needed = package.input.resize.source_size_needed()
    try:
        data = blobs.get(item.blob_key)
        if needed is None:
            image, full_size = decode_image(data), None
        else:
            image, full_size = decode_image_at_least(data, needed)
    except ImageDecodeError as exc:
        return exc.reason
    except Exception as exc:  # noqa: BLE001 - one unreadable input must never sink its batch
        return f"cannot read input: {exc}"
    return prepare(image, package.input, full_size)


def to_predictions(task: Task, input_id: str, raw: Sequence[RawPrediction]) -> tuple[Prediction, ...]:
    """Keep the task's concepts; ids come from the model's output order, so a rerun matches."""
    wanted = set(task.concepts)
    return tuple(
        Prediction(
            id=ids.prediction_id(task.id, input_id, index),
            task_id=task.id,
            input_id=input_id,
            concept=p.concept,
            score=p.score,
            geometry=p.geometry,
            model_id=task.model_id,
            model_version=task.model_version,
        )
        for index, p in enumerate(raw)
        if p.concept in wanted
    )
