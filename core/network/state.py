"""Experiment states of the network builder, without Qt: parse, check, and turn into a job.

The tab saves ``{"data", "network", "training", "view", "render_epochs"}``; presets in
assets/presets/network use the same state. :func:`read_state` checks a state completely
(ValueError before anything changes); :func:`config_from_state` gives the job config
that ``dllab render`` and the preset tests run.
"""

from __future__ import annotations

from typing import Any

from core.network.data import DataSettings, PointSet, generate_points
from core.network.model import NetworkSpec
from core.network.settings import TrainSettings
from core.network.training import TrainConfig
from core.state_values import check_field_kinds, require_mapping, require_number

__all__ = ["read_state", "config_from_state"]


def read_state(state: dict) -> dict[str, Any]:
    """Parse and check a saved state completely; ValueError before anything changes."""
    if not isinstance(state, dict):
        raise ValueError("The experiment state must be an object")
    data = state.get("data", {"generator": {}})
    if not isinstance(data, dict):
        raise ValueError("'data' must be an object")
    if "points" in data:
        points, data_settings = PointSet.from_state(data["points"]), None
    else:
        gen = require_mapping(data.get("generator", {}), "'data' 'generator'")
        check_field_kinds(DataSettings, gen, "data setting")
        try:
            data_settings = DataSettings(**gen)
        except TypeError as exc:
            raise ValueError(f"Bad data settings: {exc}") from None
        points = generate_points(data_settings)
    net = dict(require_mapping(state.get("network", {}), "'network'"))
    check_field_kinds(NetworkSpec, net, "network")
    net.setdefault("task", points.task)
    net.setdefault("n_classes", points.n_classes if points.task == "classification" else 0)
    if points.task == "regression":
        net.setdefault("loss", "mse")
    spec = NetworkSpec.from_dict(net)
    if (spec.task, spec.n_classes) != (points.task, points.n_classes if points.task == "classification" else 0):
        raise ValueError(f"The network is for {spec.task} with {spec.n_classes} classes, "
                         f"but the data is {points.task} with {points.n_classes} classes")
    training_values = require_mapping(state.get("training", {}), "'training'")
    check_field_kinds(TrainSettings, training_values, "training setting")
    training = TrainSettings.from_dict(training_values)
    training.check(int(points.is_train.sum()), len(spec.hidden) + 1, spec.task)
    view = state.get("view", {})
    if not isinstance(view, dict):
        raise ValueError("'view' must be an object")
    render_epochs = state.get("render_epochs", 300)
    require_number(render_epochs, "render_epochs", 1, 100_000, integer=True)
    render_epochs = int(render_epochs)
    return {"points": points, "data_settings": data_settings, "spec": spec, "training": training,
            "view": {"discretize": bool(view.get("discretize", False)), "show_test": bool(view.get("show_test", False))},
            "render_epochs": render_epochs}


def config_from_state(state: dict, **overrides) -> TrainConfig:
    """The job a state describes, run for its ``render_epochs`` (headless, no live changes)."""
    parsed = read_state(state)
    points: PointSet = parsed["points"]
    Xtr, ytr, Xte, yte = points.split()
    kwargs = {"max_epochs": parsed["render_epochs"], "extent": points.extent()}
    kwargs.update(overrides)
    return TrainConfig(parsed["spec"], parsed["training"], Xtr, ytr, Xte, yte, **kwargs)
