"""Image networks: MLPs and CNNs on image data, layer by layer, with models to take away.

Left: the data, the layer stack (with live shapes, parameters, multiply-adds and the
"as fully connected" comparison), the training settings and the model files. Right:
curves, confusion matrix, predictions and what the first layer and the feature maps
show. Training runs ``core.images.training.train_images`` on the tab's runner.
"""

from __future__ import annotations

import json

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QScrollArea, QSplitter, QTabWidget, QVBoxLayout, QWidget

from core.datasets.images import DOWNLOADABLE, SOURCES, input_signature, is_downloaded
from core.engine import Event, Finished, History, Message, Metrics, Snapshot
from core.images.models import LAYER_TYPES, PRESETS, infer_stack, normalize_layer, preset_layers
from core.images.training import ImageTrainConfig, train_images
from lab.tabs.base import LabTab
from lab.tabs.images.data import DataPanel
from lab.tabs.images.export import ModelPanel
from lab.tabs.images.views import ResultsView
from lab.tabs.training_form import TrainingForm
from widgets.control_panel import FittedScrollArea, fit_narrow
from widgets.layer_stack import LayerStackEditor
from widgets.param_form import NumberField
from widgets.play_controls import PlayControls

__all__ = ["ImagesTab", "DEFAULT_TRAINING"]

DEFAULT_TRAINING = {"optimizer": "adam", "lr": 0.003, "batch_size": 64, "patience": 0, "seed": 0}


def _scrolled(widget: QWidget) -> QScrollArea:
    area = FittedScrollArea(least=0, most=10_000)
    area.setFrameShape(QScrollArea.NoFrame)
    area.setWidget(widget)
    return area


class ImagesTab(LabTab):
    name = "images"
    title = "Image networks"

    def __init__(self, context=None, parent=None):
        super().__init__(context, parent)
        self.results = ResultsView()
        self.data_panel = DataPanel(self.banner)
        self.stack = LayerStackEditor(LAYER_TYPES)
        self.preset = QComboBox()
        self.preset.addItem("Load a preset network…", "")
        for key, (label, _layers) in PRESETS.items():
            self.preset.addItem(label, key)
        self.training = TrainingForm(max_batch=4096, values=DEFAULT_TRAINING)
        self.epochs = NumberField("Epochs", 5, 1, 200, integer=True, tooltip="Passes over the training split")
        self.model_panel = ModelPanel(self)
        self.controls = PlayControls()
        self.bind_play_controls(self.controls)
        self.run_note = QLabel()
        self.run_note.setWordWrap(True)

        network = QWidget()
        nl = QVBoxLayout(network)
        nl.addWidget(self.preset)
        nl.addWidget(self.stack, 1)
        training = QWidget()
        tl = QVBoxLayout(training)
        tl.addWidget(self.epochs)
        tl.addWidget(self.training)
        tl.addStretch(1)
        self.pages = QTabWidget()
        self.pages.addTab(_scrolled(self.data_panel), "Data")
        self.pages.addTab(network, "Network")
        self.pages.addTab(_scrolled(training), "Training")
        self.pages.addTab(_scrolled(self.model_panel), "Model")
        self.pages.setCurrentIndex(1)

        fit_narrow(self.pages)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.controls)
        ll.addWidget(self.run_note)
        ll.addWidget(self.pages, 1)
        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.results)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([520, 880])
        container = QWidget()
        cl = QHBoxLayout(container)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(splitter)
        self.set_content(container)

        self._running_layers: list[dict] = []
        self._signature_memo: tuple | None = None
        self._running_device = self.device
        self.trained: dict | None = None
        self.preset.activated.connect(self._on_preset)
        self.stack.changed.connect(self._update_report)
        self.data_panel.changed.connect(self._update_report)
        self.data_panel.downloaded.connect(self._on_downloaded)
        self.runner.state_changed.connect(lambda _s: self.model_panel.update_buttons())
        self.stack.set_layers(preset_layers("small_cnn"), emit=False)
        self._update_report()

    # -- the network -------------------------------------------------------------------
    @Slot(int)
    def _on_preset(self, index: int) -> None:
        key = self.preset.itemData(index)
        if key:
            self.stack.set_layers(preset_layers(key))
        self.preset.setCurrentIndex(0)

    def _signature(self):
        """Input shape and classes of the chosen data (remembered: a folder is scanned once)."""
        cfg = self.data_panel.config()
        if self._signature_memo is None or self._signature_memo[0] != cfg:
            self._signature_memo = (cfg, input_signature(cfg))
        return self._signature_memo[1]

    @Slot()
    def _update_report(self, *_args):
        """Recompute shapes, parameters and multiply-adds of every row (closed form, fast)."""
        try:
            shape, classes = self._signature()
        except ValueError as exc:
            self.stack.set_report([], "", f"Data: {exc}")
            return None
        report = infer_stack(self.stack.layers(), shape, len(classes))
        rows = [
            {
                "label": r.label,
                "shape": "×".join(map(str, r.out_shape)) if r.out_shape else "",
                "params": r.params,
                "macs": r.macs,
                "rf": r.receptive_field,
                "fc": r.fc_equivalent,
                "error": r.error,
            }
            for r in report.rows
        ]
        if report.ok:
            fc = report.total_fc_equivalent
            ratio = f" ({fc / report.total_params:,.0f}× as many)" if report.total_params and fc > report.total_params * 1.05 else ""
            totals = (
                f"Input {'×'.join(map(str, shape))}, {len(classes)} classes · <b>{report.total_params:,} parameters</b> · "
                f"{report.total_macs:,} multiply-adds per image<br>"
                f"With every convolution replaced by a fully connected layer doing the same mapping: "
                f"<b>{fc:,} parameters</b>{ratio}."
            )
        else:
            totals = ""
        self.stack.set_report(rows, totals, report.error, report.error_index)
        return report

    @Slot(str)
    def _on_downloaded(self, _dataset: str) -> None:
        self._signature_memo = None
        self._update_report()

    # -- running ----------------------------------------------------------------------
    def current_job(self):
        values = self.training.values()
        data = self.data_panel.config(seed=values["seed"])
        if data.source in DOWNLOADABLE and not is_downloaded(data.source, data.data_dir or None):
            self.pages.setCurrentIndex(0)
            raise ValueError(f"{SOURCES[data.source]} is not downloaded yet: press Download on the Data page, or use the built-in shapes")
        report = self._update_report()
        if report is None:
            shape_error = self.stack.error.text()
            raise ValueError(shape_error or "The data source is not ready")
        if not report.ok:
            self.pages.setCurrentIndex(1)
            raise ValueError(f"The network cannot be built — {report.error}")
        layers = self.stack.layers()
        cfg = ImageTrainConfig(
            data=data,
            layers_json=json.dumps(layers),
            optimizer=values["optimizer"],
            lr=values["lr"],
            batch_size=values["batch_size"],
            epochs=int(self.epochs.value()),
            regularization=values["regularization"],
            reg_rate=values["reg_rate"],
            weight_decay=values["weight_decay"],
            schedule=values["schedule"],
            patience=values["patience"],
            seed=values["seed"],
            device=self.device,
            augment_json=self.data_panel.augment_json(),
        )
        cfg.validate()
        self._running_layers = layers
        self._running_device = cfg.device
        return train_images, cfg

    def reset_view(self) -> None:
        self.results.reset()
        self.trained = None
        self.run_note.setText("")
        self.model_panel.update_buttons()

    @Slot(object)
    def on_event(self, ev: Event) -> None:
        if isinstance(ev, History):
            self.results.on_history(ev)
        elif isinstance(ev, Metrics):
            self.results.on_metrics(ev)
        elif isinstance(ev, Snapshot) and ev.kind == "eval":
            self.results.on_eval(ev.data)
        elif isinstance(ev, Snapshot) and ev.kind == "data":
            self.results.on_data(ev.data, self._running_layers)
            skipped = f" · {ev.data['skipped']} unreadable file(s) skipped" if ev.data["skipped"] else ""
            self.run_note.setText(f"{ev.data['description']}{skipped} · {ev.data['params']:,} parameters · on {self._running_device}")
        elif isinstance(ev, Message):
            if "Preparing" in ev.text:
                self.run_note.setText(ev.text)
            else:
                self.banner.show_message(ev.text, "info")
        elif isinstance(ev, Finished):
            self.trained = dict(ev.summary)
            self.results.on_finished(ev.summary)
            self.results.redraw()
            self.model_panel.update_buttons()

    def plots(self) -> dict:
        return self.results.plots()

    def run_to_end(self, job_spec=None, max_events=None) -> int:
        n = super().run_to_end(job_spec, max_events)
        self.results.setCurrentIndex(3)  # draw the Inside page too, for export
        self.results.redraw()
        self.results.setCurrentIndex(0)
        return n

    # -- experiment files ---------------------------------------------------------------
    def experiment_state(self) -> dict:
        return {
            "data": self.data_panel.state(),
            "layers": self.stack.layers(),
            "training": self.training.values(),
            "epochs": int(self.epochs.value()),
        }

    def apply_experiment_state(self, state: dict) -> None:
        if not isinstance(state, dict):
            raise ValueError("The experiment state must be an object")
        for key in ("data", "training"):
            if not isinstance(state.get(key, {}), dict):
                raise ValueError(f"{key}: must be an object of settings")
        data = self.data_panel.check_state(state.get("data", {}))
        layers = state.get("layers", self.stack.layers())
        if not isinstance(layers, list):
            raise ValueError("layers: must be a list of layer objects")
        layers = [normalize_layer(layer, i) for i, layer in enumerate(layers)]
        epochs = state.get("epochs", int(self.epochs.value()))
        if isinstance(epochs, bool) or not isinstance(epochs, int) or not 1 <= epochs <= 200:
            raise ValueError("epochs: must be a whole number between 1 and 200")
        self.training.set_values(state.get("training", {}))  # checks all first; changes nothing when bad
        self.data_panel.apply_state(data)
        self.epochs.set_value(epochs)
        self.stack.set_layers(layers)

    def shutdown(self) -> None:
        self.data_panel.shutdown()
        super().shutdown()
