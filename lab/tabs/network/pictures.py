"""The small pictures every node of the network builder's diagram shows: what each input
feature, each hidden neuron and the output compute over the plane.
"""

from __future__ import annotations

import numpy as np
import torch
from PySide6.QtGui import QImage

from core.network.model import FEATURES, FeatureMap, NetworkSpec
from core.network.training import grid_points
from widgets.heatmap import class_probability_rgba, field_to_rgba, rgba_to_qimage

__all__ = ["feature_images", "network_images"]


def _images(rgba: np.ndarray) -> list[QImage]:
    """(n, r, r, 4) with row 0 at the bottom (x2 min) → QImages with row 0 at the top."""
    return [rgba_to_qimage(a[::-1]) for a in rgba]


def feature_images(extent, resolution: int) -> list[QImage]:
    """What each input feature is over the plane, by the network's own FeatureMap."""
    with torch.no_grad():
        grid = grid_points(extent, resolution, "cpu")
        values = FeatureMap(list(FEATURES))(grid).t().reshape(len(FEATURES), resolution, resolution).numpy()
    scale = np.abs(values).reshape(len(FEATURES), -1).max(1)[:, None, None]
    return _images(field_to_rgba(values / np.maximum(scale, 1e-9)))


def _output_field(values: np.ndarray, spec: NetworkSpec, value_scale: float) -> tuple[np.ndarray, float, bool]:
    if spec.task == "regression":
        return values, value_scale, False
    if spec.n_outputs > 1:
        return values, 1.0, True
    return 2 * values - 1, 1.0, False


def network_images(snap: dict, inputs: list[QImage], spec: NetworkSpec, value_scale: float, discrete: bool):
    """Node pictures per diagram column: inputs, each hidden layer, the output."""
    if "neurons" not in snap:
        return None
    columns: list[list[QImage]] = [inputs]
    for layer in snap["neurons"]:
        columns.append(_images(field_to_rgba(layer, discrete=discrete)))
    field, scale, classes = _output_field(snap["output_small"], spec, value_scale)
    if classes:  # one output node per class: its probability in the class's colour
        k = field.shape[-1]
        columns.append(_images(np.stack([class_probability_rgba(field[..., c], c, k) for c in range(k)])))
    else:
        columns.append(_images(field_to_rgba(field[None], scale=scale, discrete=discrete)))
    return columns
