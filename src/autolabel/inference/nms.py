"""Class-agnostic non-maximum suppression in numpy.

SSD's graph suppresses duplicates per class only, so one object can come back as "cup" and
"bowl" on the same box. Twenty lines of numpy fix that without shipping torchvision (hundreds
of MB) into a Lambda layer.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def iou_matrix(boxes: NDArray[np.float32]) -> NDArray[np.float32]:
    """Pairwise IoU of [N, 4] boxes given as (x0, y0, x1, y1)."""
    x0 = np.maximum(boxes[:, None, 0], boxes[None, :, 0])
    y0 = np.maximum(boxes[:, None, 1], boxes[None, :, 1])
    x1 = np.minimum(boxes[:, None, 2], boxes[None, :, 2])
    y1 = np.minimum(boxes[:, None, 3], boxes[None, :, 3])
    intersection = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area[:, None] + area[None, :] - intersection
    return np.where(union > 0, intersection / np.maximum(union, 1e-12), 0.0).astype(np.float32)


def nms(boxes: NDArray[np.float32], scores: NDArray[np.float32], iou_threshold: float) -> list[int]:
    """Indices of the boxes kept, highest score first (ties keep the earlier index)."""
    order = np.argsort(-scores, kind="stable")
    if order.size == 0:
        return []
    overlaps = iou_matrix(boxes[order])
    suppressed = np.zeros(order.size, dtype=bool)
    keep: list[int] = []
    for rank in range(order.size):
        if suppressed[rank]:
            continue
        keep.append(int(order[rank]))
        suppressed |= overlaps[rank] > iou_threshold
    return keep
