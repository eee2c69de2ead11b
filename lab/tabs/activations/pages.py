"""The activation explorer's experiment pages: each a job with its controls and plots."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Slot
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from core.activation_functions import ACTIVATIONS
from core.activations.experiments import (
    INIT_SCHEMES,
    DeadReluConfig,
    DepthConfig,
    ZeroCentredConfig,
    dead_relu,
    gradients_through_depth,
    zero_centred,
)
from core.datasets.points2d import DATASETS
from core.engine import Diverged, Event, History, Snapshot
from core.state_values import require_choice, require_list
from lab.tabs.activations.common import ActivationChecklist, Page, activation_color
from widgets.control_panel import ControlPanel, fit_narrow, keyed_combo, select_key
from widgets.live_plot import LivePlot
from widgets.param_form import NumberField
from widgets.play_controls import PlayControls
from widgets.theme import theme

__all__ = ["DepthPage", "DeadReluPage", "ZeroCentredPage"]


def _fields_state(fields: dict[str, NumberField]) -> dict:
    return {k: f.value() for k, f in fields.items()}


def check_fields(fields: dict[str, NumberField], state: dict) -> None:
    """ValueError naming the field unless every value in ``state`` fits its field."""
    for k, v in state.items():
        if k in fields:
            f = fields[k]
            try:
                f.check(v)
            except ValueError as exc:
                raise ValueError(f"{f.label.text()}: {exc}") from None


def check_activation_keys(state: dict, default: list[str]) -> list[str]:
    keys = require_list(state.get("activations", default), "'activations'", max_len=len(ACTIVATIONS))
    for i, k in enumerate(keys):
        require_choice(k, ACTIVATIONS, f"activation {i + 1}")
    return keys


def _apply_fields(fields: dict[str, NumberField], state: dict) -> None:
    """Check every value first, then set them all: a bad file changes nothing."""
    check_fields(fields, state)
    for k, v in state.items():
        if k in fields:
            fields[k].set_value(v, emit=False)


class DepthPage(Page):
    key = "depth"
    title = "Gradients through depth"

    def __init__(self, tab):
        super().__init__()
        self.tab = tab
        panel = ControlPanel()
        self.checklist = ActivationChecklist(checked=("sigmoid", "tanh", "relu"))
        panel.group("Activations").addRow(self.checklist)
        net = panel.group("Deep chain")
        self.fields = {
            "depth": NumberField("Depth (layers)", 20, 1, 50, integer=True),
            "width": NumberField("Width", 64, 2, 512, integer=True),
            "trials": NumberField("Random draws averaged", 20, 1, 200, integer=True),
        }
        for f in self.fields.values():
            net.addRow(f)
        self.init_box = keyed_combo(INIT_SCHEMES, "recommended")
        net.addRow("Initialization", self.init_box)
        fit_narrow(panel.widget())  # "Kaiming for the ReLU family, …" made the column scroll sideways
        self.controls = PlayControls(with_speed=False)
        panel.add(self.controls)
        panel.note(
            "Each layer is x ← f(x W) with W drawn by the chosen initialization. The plot shows "
            "‖∂L/∂W‖ per layer (geometric mean over the draws): layer 1 is farthest from the loss. "
            "Sigmoid's f′ ≤ 0.25 multiplies the gradient down at every layer; ReLU passes it on "
            "unchanged where it is active."
        )
        self.plot = LivePlot("Gradient norm per layer", "layer (1 = input side)", "‖∂L/∂W‖", log_y=True)
        self.plot.set_hint("Play (Space) sends random inputs through the chain and draws each layer's gradient here")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(panel)
        layout.addWidget(self.plot, 1)
        tab.bind_play_controls(self.controls)
        # Changing the chain while results are on screen recomputes at once (the old,
        # stale job is dropped by the runner).
        for f in self.fields.values():
            f.value_changed.connect(self._rerun_if_shown)
        self.checklist.selection_changed.connect(self._rerun_if_shown)
        self.init_box.currentIndexChanged.connect(self._rerun_if_shown)

    @Slot()
    def _rerun_if_shown(self) -> None:
        if self.plot.names() and self.tab.page() is self:
            self.tab.start()

    def job(self):
        v = _fields_state(self.fields)
        cfg = DepthConfig(
            activations=self.checklist.checked(),
            depth=int(v["depth"]),
            width=int(v["width"]),
            trials=int(v["trials"]),
            init=self.init_box.currentData(),
            device=self.tab.device,
        )
        cfg.validate()
        return gradients_through_depth, cfg

    def on_event(self, event: Event) -> None:
        if isinstance(event, Snapshot) and event.kind == "depth":
            for key, logs in event.data["log10_norms"].items():
                layers = np.arange(1, len(logs) + 1)
                self.plot.set_data(ACTIVATIONS[key].label, layers, 10.0**logs, color=activation_color(key), symbol="o")
            self.plot.set_title(f"Gradient norm per layer (mean of {event.data['trials']} draws)")

    def reset(self) -> None:
        self.plot.clear_series()

    def plots(self) -> dict:
        return {"gradient_norm_per_layer": self.plot}

    def state(self) -> dict:
        return {"activations": list(self.checklist.checked()), "init": self.init_box.currentData(), **_fields_state(self.fields)}

    def check_state(self, state: dict) -> None:
        require_choice(state.get("init", "recommended"), INIT_SCHEMES, "'init'")
        check_activation_keys(state, ["sigmoid", "tanh", "relu"])
        check_fields(self.fields, state)

    def apply_state(self, state: dict) -> None:
        self.check_state(state)
        keys = state.get("activations", ["sigmoid", "tanh", "relu"])
        _apply_fields(self.fields, state)
        self.checklist.blockSignals(True)
        self.checklist.set_checked(keys)
        self.checklist.blockSignals(False)
        self.init_box.blockSignals(True)
        select_key(self.init_box, state.get("init", "recommended"), "initialization")
        self.init_box.blockSignals(False)


class DeadReluPage(Page):
    key = "dead_relu"
    title = "Dead ReLU"

    def __init__(self, tab):
        super().__init__()
        self.tab = tab
        panel = ControlPanel()
        self.checklist = ActivationChecklist(checked=("relu", "leaky_relu", "elu"))
        panel.group("Compare").addRow(self.checklist)
        train = panel.group("Training")
        classification = {k: v[0] for k, v in DATASETS.items() if v[1] == "classification"}
        self.dataset_box = keyed_combo(classification, "moons")
        train.addRow("Data", self.dataset_box)
        self.fields = {
            "learning_rate": NumberField("Learning rate", 1.0, 1e-3, 20.0, log=True),
            "initial_bias": NumberField("Initial bias of hidden units", 0.0, -3.0, 3.0, decimals=2),
            "width": NumberField("Units per layer", 16, 1, 64, integer=True),
            "depth": NumberField("Hidden layers", 3, 1, 6, integer=True),
            "epochs": NumberField("Epochs", 600, 10, 5000, integer=True),
            "batch_size": NumberField("Batch size (0 = full batch)", 0, 0, 200, integer=True),
            "negative_slope": NumberField("Leaky ReLU slope", 0.01, 0.0, 1.0),
        }
        for f in self.fields.values():
            train.addRow(f)
        self.controls = PlayControls()
        panel.add(self.controls)
        panel.note(
            "A unit is <b>dead</b> when its pre-activation is ≤ 0 for every training point: "
            "a ReLU unit there gets zero gradient and never comes back. A large learning rate "
            "or a negative initial bias kills many; Leaky ReLU and ELU units still learn. "
            "All networks start from the same weights."
        )
        self.layers_plot = LivePlot("ReLU: dead units per layer", "epoch", "fraction dead")
        self.dead_plot = LivePlot("Dead fraction (all hidden units)", "epoch", "fraction dead")
        self.loss_plot = LivePlot("Training loss", "epoch", "cross-entropy", log_y=True)
        self.dead_plot.set_hint("Play (Space) trains one network per activation and counts its dead units here")
        grid = QGridLayout()
        grid.addWidget(self.layers_plot, 0, 0)
        grid.addWidget(self.dead_plot, 0, 1)
        grid.addWidget(self.loss_plot, 1, 0, 1, 2)
        plots = QWidget()
        plots.setLayout(grid)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(panel)
        layout.addWidget(plots, 1)
        tab.bind_play_controls(self.controls)
        self.diverged: dict[str, int] = {}

    def job(self):
        v = _fields_state(self.fields)
        cfg = DeadReluConfig(
            activations=self.checklist.checked(),
            dataset=self.dataset_box.currentData(),
            learning_rate=v["learning_rate"],
            initial_bias=v["initial_bias"],
            width=int(v["width"]),
            depth=int(v["depth"]),
            epochs=int(v["epochs"]),
            batch_size=int(v["batch_size"]),
            params={"negative_slope": v["negative_slope"]},
            device=self.tab.device,
        )
        cfg.validate()
        for plot in (self.layers_plot, self.dead_plot, self.loss_plot):
            plot.expect_x_range(0, cfg.epochs)  # the curves fill the run's full width
        return dead_relu, cfg

    def on_event(self, event: Event) -> None:
        if isinstance(event, History):
            key = event.series
            label, color = ACTIVATIONS[key].label, activation_color(key)
            self.dead_plot.series(label, color=color).extend(event.steps, event.values["dead"])
            self.loss_plot.series(label, color=color).extend(event.steps, event.values["loss"])
            if key == "relu":
                for name, values in event.values.items():
                    if name.startswith("dead_layer"):
                        self.layers_plot.series(f"layer {name[10:]}").extend(event.steps, values)
        elif isinstance(event, Diverged) and event.series:
            self.diverged[event.series] = event.step
            text = "; ".join(f"{ACTIVATIONS[k].label} diverged at epoch {s}" for k, s in self.diverged.items())
            self.tab.banner.show_message(f"{text} (loss became NaN/∞). Lower the learning rate.", "warning")

    def reset(self) -> None:
        self.diverged = {}
        for p in (self.layers_plot, self.dead_plot, self.loss_plot):
            p.clear_series()

    def plots(self) -> dict:
        return {"dead_units_per_layer": self.layers_plot, "dead_fraction": self.dead_plot, "training_loss": self.loss_plot}

    def state(self) -> dict:
        return {"activations": list(self.checklist.checked()), "dataset": self.dataset_box.currentData(), **_fields_state(self.fields)}

    def check_state(self, state: dict) -> None:
        choices = [self.dataset_box.itemData(i) for i in range(self.dataset_box.count())]
        require_choice(state.get("dataset", "moons"), choices, "classification data set")
        check_activation_keys(state, ["relu", "leaky_relu", "elu"])
        check_fields(self.fields, state)

    def apply_state(self, state: dict) -> None:
        self.check_state(state)
        dataset = state.get("dataset", "moons")
        keys = state.get("activations", ["relu", "leaky_relu", "elu"])
        _apply_fields(self.fields, state)
        self.checklist.set_checked(keys)
        select_key(self.dataset_box, dataset, "data set")


class _WeightPlane(pg.PlotWidget):
    """Loss landscape over (w1, w2) with a weight path drawn on it."""

    def __init__(self, title: str, color: str):
        super().__init__(background=theme().style.background)
        self.setMinimumSize(260, 260)
        item = self.getPlotItem()
        item.setTitle(title)
        item.setLabel("bottom", "w₁")
        item.setLabel("left", "w₂")
        item.setAspectLocked(True)
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("CET-L17"))
        item.addItem(self.image)
        self.path = item.plot([], [], pen=pg.mkPen(color, width=theme().style.line_width))
        self.start = item.plot([], [], pen=None, symbol="o", symbolBrush="#ffffff", symbolSize=10)
        self.target = item.plot([], [], pen=None, symbol="star", symbolBrush="#ffd000", symbolSize=16)

    def set_landscape(self, loss: np.ndarray, extent: float, target) -> None:
        self.image.setImage(np.log10(loss.T + 1e-6))
        self.image.setRect(pg.QtCore.QRectF(-extent, -extent, 2 * extent, 2 * extent))
        self.target.setData([target[0]], [target[1]])

    def set_path(self, xy: np.ndarray) -> None:
        self.path.setData(xy[:, 0], xy[:, 1])
        self.start.setData([xy[0, 0]], [xy[0, 1]])


class ZeroCentredPage(Page):
    key = "zero_centred"
    title = "Zero-centred inputs"

    def __init__(self, tab):
        super().__init__()
        self.tab = tab
        panel = ControlPanel()
        neuron = panel.group("Sigmoid neuron, per-example SGD")
        self.fields = {
            "learning_rate": NumberField("Learning rate", 1.0, 0.01, 20.0, log=True),
            "steps": NumberField("Steps", 400, 10, 5000, integer=True),
        }
        for f in self.fields.values():
            neuron.addRow(f)
        self.controls = PlayControls()
        panel.add(self.controls)
        panel.note(
            "Loss ½(σ(w·x) − t)² with t from a teacher at the star. The gradient is δ·x: when every "
            "input x is positive (as the outputs of a sigmoid layer are), both components of every "
            "update share one sign, so the path can only move towards ↗ or ↙ and must zig-zag to "
            "reach (2, −2). Zero-centred inputs allow any direction."
        )
        self.stats = QLabel()
        self.stats.setWordWrap(True)
        panel.add(self.stats)
        self.positive = _WeightPlane("inputs in (0, 1): all positive", theme().style.series_color(4))
        self.centred = _WeightPlane("inputs in (−1, 1): zero-centred", theme().style.series_color(0))
        self.distance_plot = LivePlot("Distance to the teacher's weights", "step", "‖w − w*‖")
        self.distance_plot.set_hint("Play (Space) runs SGD on both kinds of input and draws the distance here")
        planes = QHBoxLayout()
        planes.addWidget(self.positive)
        planes.addWidget(self.centred)
        right = QVBoxLayout()
        right.addLayout(planes, 3)
        right.addWidget(self.distance_plot, 2)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(panel)
        layout.addLayout(right, 1)
        tab.bind_play_controls(self.controls)

    def job(self):
        v = _fields_state(self.fields)
        cfg = ZeroCentredConfig(learning_rate=v["learning_rate"], steps=int(v["steps"]), device=self.tab.device)
        cfg.validate()
        self.distance_plot.expect_x_range(0, cfg.steps)
        return zero_centred, cfg

    def on_event(self, event: Event) -> None:
        if not isinstance(event, Snapshot):
            return
        if event.kind == "landscape":
            d = event.data
            self.positive.set_landscape(d["loss"]["positive"], d["extent"], d["target"])
            self.centred.set_landscape(d["loss"]["centred"], d["extent"], d["target"])
        elif event.kind == "paths":
            d = event.data
            self.positive.set_path(d["paths"]["positive"])
            self.centred.set_path(d["paths"]["centred"])
            colors = theme().style
            self.distance_plot.series("all-positive inputs", color=colors.series_color(4)).append(event.step, d["distance"]["positive"])
            self.distance_plot.series("zero-centred inputs", color=colors.series_color(0)).append(event.step, d["distance"]["centred"])
            f = d["same_sign_fraction"]
            self.stats.setText(
                f"Step {event.step}: updates whose two components share a sign — "
                f"<b>{f['positive']:.0%}</b> with positive inputs, <b>{f['centred']:.0%}</b> with zero-centred inputs."
            )

    def reset(self) -> None:
        self.distance_plot.clear_series()
        self.stats.setText("")

    def plots(self) -> dict:
        return {"path_positive_inputs": self.positive, "path_zero_centred_inputs": self.centred, "distance_to_target": self.distance_plot}

    def state(self) -> dict:
        return _fields_state(self.fields)

    def check_state(self, state: dict) -> None:
        check_fields(self.fields, state)

    def apply_state(self, state: dict) -> None:
        _apply_fields(self.fields, state)
