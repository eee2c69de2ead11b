"""The network builder's model archives: the network on screen to a folder or .zip, and back.

The archive is core.model_io's (state_dict, JSON spec, metrics); these functions add what
the tab checks: that there is a network yet, and that a loaded one fits the data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from core.model_io import load_model_archive, save_model_archive
from core.network.data import PointSet
from core.network.model import NetworkSpec, build_network

__all__ = ["save_network_model", "read_network_model"]


def save_network_model(path: str | Path, spec: NetworkSpec, snapshot: dict | None, metrics: dict[str, list[float]],
                       extra: dict) -> Path:
    """Save the network of ``snapshot`` (the latest the job sent) with its metrics and ``extra``."""
    if snapshot is None:
        raise ValueError("There is no network yet: press Play or Step first")
    model = build_network(spec)
    model.load_state_dict({k: torch.tensor(v) for k, v in snapshot["state_dict"].items()})
    model.eval()
    return save_model_archive(path, model, spec.model_spec(), dict(metrics), extra=extra)


def read_network_model(path: str | Path, points: PointSet) -> tuple[NetworkSpec, dict[str, np.ndarray]]:
    """A saved network and its weights; ValueError if it is not a network of this tab, does
    not fit ``points`` (task and classes), or its weights do not fit its spec."""
    spec_dict, state, _metrics, _extra = load_model_archive(path)
    if spec_dict.get("kind") != "network2d":
        raise ValueError(f"{Path(path).name} holds a {spec_dict.get('kind')!r} model, not a network of this tab")
    spec = NetworkSpec.from_dict(spec_dict)
    p = points
    if (spec.task, spec.n_classes) != (p.task, p.n_classes if p.task == "classification" else 0):
        raise ValueError(f"This model is for {spec.task} with {spec.n_classes} classes; the current data is "
                         f"{p.task} with {p.n_classes} classes. Load matching data first.")
    build_network(spec).load_state_dict(state)  # refuses weights of another shape
    return spec, {k: v.numpy() for k, v in state.items()}
