"""The network builder's files and pictures: experiment state, model archives, CSV, GIF,
and the small images every node of the diagram shows.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog

from core.model_io import load_model_archive, save_model_archive
from core.network.data import load_points_csv, save_points_csv
from core.network.model import FEATURES, FeatureMap, NetworkSpec, build_network
from core.network.settings import TrainSettings
from core.network.state import read_state
from core.network.training import grid_points
from widgets.export import save_gif
from widgets.heatmap import class_probability_rgba, field_to_rgba, rgba_to_qimage

if TYPE_CHECKING:
    from lab.tabs.network.tab import NetworkTab

__all__ = ["read_state", "apply_state", "feature_images", "network_images", "NetworkFiles"]


# -- pictures --------------------------------------------------------------------------------


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


# -- experiment state ----------------------------------------------------------------------------


def apply_state(tab: "NetworkTab", parsed: dict[str, Any]) -> None:
    """Put a parsed state on screen and show its fresh network (paused)."""
    tab.runner.stop()
    if parsed["data_settings"] is not None:
        tab.data_panel.set_settings(parsed["data_settings"])
    tab.data_settings = parsed["data_settings"]
    tab.points = parsed["points"]
    tab.spec = parsed["spec"]
    tab.render_epochs = parsed["render_epochs"]
    training: TrainSettings = parsed["training"]
    form_keys = set(tab.training.values())
    tab.training.set_values({k: v for k, v in training.to_dict().items() if k in form_keys}, emit=False)
    ex = tab.extras
    for w in (ex.noise, ex.noise_std, ex.label_smoothing):
        w.blockSignals(True)
    ex.noise.setCurrentIndex(ex.noise.findData(training.noise))
    ex.noise_std.set_value(training.noise_std, emit=False)
    ex.label_smoothing.set_value(training.label_smoothing, emit=False)
    for w in (ex.noise, ex.noise_std, ex.label_smoothing):
        w.blockSignals(False)
    tab._sync_controls_from_spec()
    mults = training.multipliers(len(tab.spec.hidden) + 1)
    s = tab.spec
    for i, c in enumerate(tab.layer_row.controls):
        c.set_values(s.activations[i], s.dropout[i], s.batchnorm[i], mults[i])
    tab.layer_row.output_control.set_values("linear", 0.0, False, mults[-1])
    tab.discretize.setChecked(parsed["view"]["discretize"])
    tab.show_test.setChecked(parsed["view"]["show_test"])
    tab._points_changed(restart=False)
    tab.files.initial_state = None
    tab.start(paused=True)


# -- files ------------------------------------------------------------------------------------------


class NetworkFiles(QObject):
    """Model archives, CSV points and GIFs for one tab; dialogs call the path methods."""

    def __init__(self, tab: "NetworkTab"):
        super().__init__(tab)
        self.tab = tab
        self.initial_state: dict | None = None  # weights of a loaded model, for the next start
        tab.model_panel.save_model.clicked.connect(self._save_model_dialog)
        tab.model_panel.load_model.clicked.connect(self._load_model_dialog)
        tab.data_panel.load_requested.connect(self._load_csv_dialog)
        tab.data_panel.save_requested.connect(self._save_csv_dialog)

    def current_model(self):
        snap = self.tab.snapshot
        if snap is None:
            raise ValueError("There is no network yet: press Play or Step first")
        model = build_network(self.tab.spec)
        model.load_state_dict({k: torch.tensor(v) for k, v in snap["state_dict"].items()})
        model.eval()
        return model

    def save_model(self, path: str | Path) -> Path:
        tab = self.tab
        model = self.current_model()
        extra = {"training": tab.training_settings().to_dict(), "epoch": tab.epoch,
                 "data": dataclasses.asdict(tab.data_settings) if tab.data_settings else None}
        metrics = {k: v for k, v in tab.metrics.items()}
        return save_model_archive(path, model, tab.spec.model_spec(), metrics, extra=extra)

    def load_model(self, path: str | Path) -> None:
        """Show a saved network with its weights (paused); ValueError if it does not fit the data."""
        tab = self.tab
        spec_dict, state, _metrics, _extra = load_model_archive(path)
        if spec_dict.get("kind") != "network2d":
            raise ValueError(f"{Path(path).name} holds a {spec_dict.get('kind')!r} model, not a network of this tab")
        spec = NetworkSpec.from_dict(spec_dict)
        p = tab.points
        if (spec.task, spec.n_classes) != (p.task, p.n_classes if p.task == "classification" else 0):
            raise ValueError(f"This model is for {spec.task} with {spec.n_classes} classes; the current data is "
                             f"{p.task} with {p.n_classes} classes. Load matching data first.")
        build_network(spec).load_state_dict(state)  # refuses weights of another shape, before anything changes
        tab.runner.stop()
        tab.spec = spec
        tab._sync_controls_from_spec()
        self.initial_state = {k: v.numpy() for k, v in state.items()}
        tab.start(paused=True)

    def save_csv(self, path: str | Path) -> Path:
        return save_points_csv(path, self.tab.points)

    def load_csv(self, path: str | Path) -> None:
        points = load_points_csv(path, self.tab.data_panel.settings().train_fraction)
        self.tab.data_settings = None
        self.tab.set_points(points)

    def save_gif(self, path: str | Path) -> Path:
        return save_gif(self.tab.gif_frames, path, fps=15)

    # -- dialogs ----------------------------------------------------------------------------------
    def _ask(self, what: str, save: bool, default: str, filters: str) -> str:
        dialog = QFileDialog.getSaveFileName if save else QFileDialog.getOpenFileName
        path, _ = dialog(self.tab, what, default, filters)
        return path

    def _run(self, action, *args) -> None:
        try:
            action(*args)
        except (ValueError, OSError) as exc:
            self.tab.banner.show_message(str(exc), "warning")

    @Slot()
    def _save_model_dialog(self) -> None:
        path = self._ask("Save model (a name ending in .zip gives an archive)", True, "network_model.zip",
                         "Zip archive (*.zip);;Folder (*)")
        if path:
            self._run(self.save_model, path)

    @Slot()
    def _load_model_dialog(self) -> None:
        path = self._ask("Load model (.zip, or spec.json inside a model folder)", False, "", "Model (*.zip spec.json)")
        if path:
            p = Path(path)
            self._run(self.load_model, p.parent if p.name == "spec.json" else p)

    @Slot()
    def _load_csv_dialog(self) -> None:
        path = self._ask("Load points", False, "", "CSV (*.csv *.txt)")
        if path:
            try:
                self.load_csv(path)
                self.tab.data_panel.error.clear_error()
            except ValueError as exc:
                self.tab.data_panel.error.show_error(str(exc))

    @Slot()
    def _save_csv_dialog(self) -> None:
        path = self._ask("Save points", True, "points.csv", "CSV (*.csv)")
        if path:
            self._run(self.save_csv, path)
