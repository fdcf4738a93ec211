"""onnxruntime sessions, created once per model file and reused for every batch."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from autolabel.inference.processing import (
    Prepared,
    RawPrediction,
    decode_classes,
    decode_detections,
    decode_selected,
)
from autolabel.inference.spec import DetectionDecoder, ModelPackage, SelectedDetectionDecoder

_sessions: dict[tuple[str, int], ort.InferenceSession] = {}
_lock = threading.Lock()


def session_for(path: Path, intra_op_threads: int = 0) -> ort.InferenceSession:
    """One session per (file, thread setting) for the life of the process (or Lambda container)."""
    key = (str(path), intra_op_threads)
    with _lock:
        session = _sessions.get(key)
        if session is None:
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            if intra_op_threads:
                options.intra_op_num_threads = intra_op_threads
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            _sessions[key] = session
        return session


class ModelRunner:
    """Runs prepared inputs through a model in batches and decodes the outputs."""

    def __init__(self, package: ModelPackage, model_path: Path, intra_op_threads: int = 0) -> None:
        self.package = package
        self.session = session_for(model_path, intra_op_threads)
        self.output_names = [o.name for o in self.session.get_outputs()]

    @property
    def batch_size(self) -> int:
        # Without a fixed resize, inputs differ in shape and cannot share a batch.
        return self.package.batch_size if self.package.input.resize.mode != "none" else 1

    def run(self, prepared: Sequence[Prepared]) -> list[list[RawPrediction]]:
        results: list[list[RawPrediction]] = []
        step = self.batch_size
        for start in range(0, len(prepared), step):
            chunk = prepared[start : start + step]
            batch = np.stack([p.tensor for p in chunk])
            values = self.session.run(self.output_names, {self.package.input.name: batch})
            outputs = dict(zip(self.output_names, values, strict=True))
            decoder = self.package.decoder
            for index, item in enumerate(chunk):
                if isinstance(decoder, SelectedDetectionDecoder):
                    results.append(decode_selected(outputs, index, item, decoder))
                elif isinstance(decoder, DetectionDecoder):
                    results.append(decode_detections(outputs, index, item, decoder))
                else:
                    results.append(decode_classes(outputs, index, decoder))
        return results
