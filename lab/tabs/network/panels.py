"""Side panels of the network builder: the data, and the training extras beyond TrainingForm."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.datasets.points2d import DATASETS
from core.network.data import DataSettings
from core.network.model import INITS, LOSSES
from core.network.settings import NOISE_KINDS
from widgets.param_form import ErrorLabel, NumberField

__all__ = ["DataPanel", "ExtrasPanel", "ModelPanel"]


class DataPanel(QWidget):
    """Data set, noise, train share, size, seed; click mode; CSV in and out."""

    settings_changed = Signal(object)  # DataSettings
    regenerate_requested = Signal()
    load_requested = Signal()
    save_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.dataset = QComboBox()
        for key, (label, *_rest) in DATASETS.items():
            self.dataset.addItem(label, key)
        self.noise = NumberField("Noise (%)", 0, 0, 50, integer=True, tooltip="Playground's noise slider")
        self.train_percent = NumberField("Training data (%)", 50, 10, 90, integer=True,
                                         tooltip="The rest is test data, never trained on")
        self.n_points = NumberField("Points", 500, 10, 2000, integer=True)
        self.seed = NumberField("Data seed", 0, 0, 99999, integer=True)
        self.regenerate = QPushButton("Regenerate")
        self.regenerate.setToolTip("Draw new points with the next data seed")
        self.click_class = QComboBox()
        self.click_class.setToolTip("What a click on the map adds")
        self.erase = QCheckBox("Clicks remove points")
        self.target_value = NumberField("Value of added points", 0.5, -5, 5, tooltip="For regression data")
        self.load_csv = QPushButton("Load CSV…")
        self.save_csv = QPushButton("Save CSV…")
        self.error = ErrorLabel()

        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Data set", self.dataset)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(3)
        box.addLayout(form)
        for w in (self.noise, self.train_percent, self.n_points, self.seed):
            box.addWidget(w)
        box.addWidget(self.regenerate)
        click_form = QFormLayout()
        click_form.setContentsMargins(0, 0, 0, 0)
        click_form.addRow("Left click adds", self.click_class)
        box.addLayout(click_form)
        box.addWidget(self.target_value)
        box.addWidget(self.erase)
        row = QHBoxLayout()
        row.addWidget(self.load_csv)
        row.addWidget(self.save_csv)
        box.addLayout(row)
        box.addWidget(self.error)

        self.dataset.currentIndexChanged.connect(self._emit)
        for f in (self.noise, self.train_percent, self.n_points, self.seed):
            f.value_changed.connect(self._emit)
        self.regenerate.clicked.connect(self._regenerate)
        self.load_csv.clicked.connect(self.load_requested)
        self.save_csv.clicked.connect(self.save_requested)
        self._quiet = False
        self.set_task("classification", 2)

    def settings(self) -> DataSettings:
        return DataSettings(self.dataset.currentData(), int(self.n_points.value()), self.noise.value() / 50.0,
                            self.train_percent.value() / 100.0, int(self.seed.value()))

    def check_settings(self, s: DataSettings) -> None:
        """ValueError naming the control unless :meth:`set_settings` can show ``s``."""
        for field, v in ((self.noise, round(s.noise * 50)), (self.train_percent, round(s.train_fraction * 100)),
                         (self.n_points, s.n_points), (self.seed, s.seed)):
            try:
                field.check(v)
            except ValueError as exc:
                raise ValueError(f"{field.label.text()}: {exc}") from None

    def set_settings(self, s: DataSettings) -> None:
        self.check_settings(s)
        self._quiet = True
        try:
            self.dataset.setCurrentIndex(self.dataset.findData(s.dataset))
            self.noise.set_value(round(s.noise * 50))
            self.train_percent.set_value(round(s.train_fraction * 100))
            self.n_points.set_value(s.n_points)
            self.seed.set_value(s.seed)
        finally:
            self._quiet = False

    def set_task(self, task: str, n_classes: int) -> None:
        """Offer the classes of the current data (blue/orange by mouse button when two)."""
        self.click_class.blockSignals(True)
        self.click_class.clear()
        if task == "classification":
            if n_classes == 2:
                self.click_class.addItem("blue (class 1); right click: orange (class 0)", -1)
            for k in range(n_classes):
                self.click_class.addItem(f"class {k}", k)
        else:
            self.click_class.addItem("a point with the value below", -2)
        self.click_class.blockSignals(False)
        self.target_value.setVisible(task == "regression")

    @Slot()
    def _regenerate(self) -> None:
        self.seed.set_value((int(self.seed.value()) + 1) % 100000, emit=False)
        self.regenerate_requested.emit()

    @Slot()
    def _emit(self, *_):
        if not self._quiet:
            self.settings_changed.emit(self.settings())


class ExtrasPanel(QWidget):
    """Loss, initialization, label smoothing, noise injection, run length for exports."""

    changed = Signal()
    network_changed = Signal()  # loss or initialization: a new network

    def __init__(self, parent=None):
        super().__init__(parent)
        self.loss = QComboBox()
        for key, label in LOSSES.items():
            self.loss.addItem(label, key)
        self.init = QComboBox()
        for key, label in INITS.items():
            self.init.addItem(label, key)
        self.init.setToolTip("How the weights start; zeros shows why symmetry must be broken")
        self.label_smoothing = NumberField("Label smoothing", 0.0, 0.0, 0.5, decimals=2,
                                           tooltip="Cross-entropy against softened targets")
        self.noise = QComboBox()
        for key, label in NOISE_KINDS.items():
            self.noise.addItem(label, key)
        self.noise.setToolTip("Noise robustness: train on perturbed inputs or weights")
        self.noise_std = NumberField("Noise std", 0.1, 0.0, 3.0, decimals=2)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Loss", self.loss)
        form.addRow("Initialization", self.init)
        form.addRow("Noise", self.noise)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(3)
        box.addLayout(form)
        box.addWidget(self.noise_std)
        box.addWidget(self.label_smoothing)
        self.loss.currentIndexChanged.connect(self.network_changed)
        self.init.currentIndexChanged.connect(self.network_changed)
        self.noise.currentIndexChanged.connect(self.changed)
        self.noise_std.value_changed.connect(self.changed)
        self.label_smoothing.value_changed.connect(self.changed)


class ModelPanel(QWidget):
    """Files: the trained model, and a GIF of the boundary while training."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.save_model = QPushButton("Save model…")
        self.save_model.setToolTip("Folder or .zip: state_dict, JSON spec, metrics CSV, TorchScript, rebuild.py")
        self.load_model = QPushButton("Load model…")
        self.record_gif = QPushButton("Record GIF")
        self.record_gif.setCheckable(True)
        self.record_gif.setToolTip("Record the decision boundary while training; click again to save the GIF")
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.save_model)
        row.addWidget(self.load_model)
        box.addLayout(row)
        box.addWidget(self.record_gif)
