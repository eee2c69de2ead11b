"""The image lab's data page: source, download with progress and cancel, folder, split.

Downloads run on a runner of their own, so the student can build the network while a
data set arrives. A failed download says why and offers the built-in shapes.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QEvent, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core.datasets.images import DOWNLOADABLE, SOURCES, DataConfig, DownloadConfig, default_data_dir, download_job, is_downloaded
from core.engine import Finished, Snapshot
from core.state_values import require_flag, require_mapping, require_text, shown
from lab.runner import JobRunner, JobState
from widgets.banner import MessageBanner

__all__ = ["DataPanel", "SUBSETS", "augmentation_available"]

SUBSETS = [(0, "all"), (500, "500"), (1000, "1,000"), (5000, "5,000"), (10000, "10,000")]
NORMALIZE_NOTE = (
    "Mean and standard deviation per channel are computed on the training split only, "
    "so nothing about the validation images leaks into training."
)


def augmentation_available() -> bool:
    try:
        import core.transforms  # noqa: F401
    except ImportError:
        return False
    return True



def _plain_number(v) -> bool:
    """A number that may be looked up among numeric choices (a list or dict cannot be hashed)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)

class DataPanel(QWidget):
    changed = Signal()
    downloaded = Signal(str)

    def __init__(self, banner: MessageBanner, parent: QWidget | None = None):
        super().__init__(parent)
        self.banner = banner
        self.data_dir = ""  # "" = the per-user default; tests point it elsewhere
        self.runner = JobRunner(self)
        self.runner.event.connect(self._on_download_event)
        self.runner.failed.connect(self._on_download_failed)
        self.runner.state_changed.connect(self._on_download_state)
        self._augment_spec: dict | None = None

        self.source = QComboBox()
        for key, label in SOURCES.items():
            self.source.addItem(label, key)
        self.source.setToolTip("Where the images come from")

        # built-in
        self.n_per_class = QSpinBox()
        self.n_per_class.setRange(20, 5000)
        self.n_per_class.setSingleStep(100)
        self.n_per_class.setValue(600)
        self.size = QSpinBox()
        self.size.setRange(16, 64)
        self.size.setValue(28)
        self.size.setSuffix(" px")
        self.size.setToolTip("Built-in and folder images are made or resized to size×size")
        builtin = QWidget()
        f = QFormLayout(builtin)
        f.setContentsMargins(0, 0, 0, 0)
        f.addRow("Images per class", self.n_per_class)
        # Two lines of its own: the page is fitted to its size hint, where a wrapping label counts one line.
        f.addRow(QLabel("8 shapes at random position, size and rotation,\nwith noise and specks."))

        # torchvision
        self.download_status = QLabel()
        self.download_status.setWordWrap(True)
        self.download_button = QPushButton("Download")
        self.cancel_button = QPushButton("Cancel")
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.download_button.clicked.connect(self.start_download)
        self.cancel_button.clicked.connect(self.runner.stop)
        tv = QWidget()
        tvl = QVBoxLayout(tv)
        tvl.setContentsMargins(0, 0, 0, 0)
        tvl.addWidget(self.download_status)
        row = QHBoxLayout()
        row.addWidget(self.download_button)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        tvl.addLayout(row)

        # folder
        self.folder = QLineEdit()
        self.folder.setReadOnly(True)
        self.folder.setPlaceholderText("a folder with one sub-folder per class")
        choose = QPushButton("Choose…")
        choose.clicked.connect(self._choose_folder)
        self.channels = QComboBox()
        for value, label in ((0, "automatic"), (1, "grayscale"), (3, "colour")):
            self.channels.addItem(label, value)
        folder = QWidget()
        ff = QFormLayout(folder)
        ff.setContentsMargins(0, 0, 0, 0)
        frow = QHBoxLayout()
        frow.addWidget(self.folder, 1)
        frow.addWidget(choose)
        ff.addRow("Folder", frow)
        ff.addRow("Channels", self.channels)
        ff.addRow(QLabel("Unreadable image files are skipped and counted."))

        self.pages = QStackedWidget()
        for w in (builtin, tv, folder):
            self.pages.addWidget(w)

        self.subset = QComboBox()
        for value, label in SUBSETS:
            self.subset.addItem(label, value)
        self.subset.setToolTip("How many images to use before the split (all = the whole set)")
        self.val_percent = QSpinBox()
        self.val_percent.setRange(5, 50)
        self.val_percent.setValue(20)
        self.val_percent.setSuffix(" %")
        self.normalize = QCheckBox("Normalize per channel")
        self.normalize.setChecked(True)
        note = QLabel(NORMALIZE_NOTE)
        note.setWordWrap(True)
        note.setStyleSheet("color: gray;")

        self.augment_label = QLabel("none")
        self.augment_label.setWordWrap(True)
        self.augment_load = QPushButton("Load JSON…")
        self.augment_clear = QPushButton("Clear")
        self.augment_load.clicked.connect(self._load_augmentation)
        self.augment_clear.clicked.connect(lambda: self.set_augmentation(None))
        arow = QHBoxLayout()
        arow.addWidget(self.augment_load)
        arow.addWidget(self.augment_clear)
        arow.addStretch(1)
        if not augmentation_available():
            self.augment_load.setEnabled(False)
            self.augment_label.setText("the augmentation lab is not installed")

        form = QFormLayout()
        form.addRow("Source", self.source)
        form.addRow(self.pages)
        form.addRow("Image size", self.size)
        form.addRow("Subset", self.subset)
        form.addRow("Validation share", self.val_percent)
        form.addRow(self.normalize)
        form.addRow(note)
        form.addRow("Augmentation pipeline\n(from the augmentation lab)", arow)
        form.addRow(self.augment_label)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addStretch(1)

        self.source.currentIndexChanged.connect(self._on_source)
        for w in (self.n_per_class, self.size, self.val_percent):
            w.valueChanged.connect(self.changed)
        for w in (self.subset, self.channels):
            w.currentIndexChanged.connect(self.changed)
        self.normalize.toggled.connect(self.changed)
        self._on_source()

    # -- config and state ---------------------------------------------------------------
    def config(self, seed: int = 0) -> DataConfig:
        return DataConfig(
            source=self.source.currentData(),
            folder=self.folder.text(),
            size=self.size.value(),
            channels=self.channels.currentData(),
            n_per_class=self.n_per_class.value(),
            subset=self.subset.currentData(),
            val_fraction=self.val_percent.value() / 100,
            seed=seed,
            normalize=self.normalize.isChecked(),
            data_dir=self.data_dir,
        )

    def augment_json(self) -> str:
        return json.dumps(self._augment_spec) if self._augment_spec else ""

    def state(self) -> dict:
        return {
            "source": self.source.currentData(),
            "folder": self.folder.text(),
            "size": self.size.value(),
            "channels": self.channels.currentData(),
            "n_per_class": self.n_per_class.value(),
            "subset": self.subset.currentData(),
            "val_percent": self.val_percent.value(),
            "normalize": self.normalize.isChecked(),
            "augmentation": self._augment_spec,
        }

    def check_state(self, state: dict) -> dict:
        """The state with defaults filled in; ValueError when a value is bad."""
        require_mapping(state, "data")
        s = {**self.state(), **state}
        if not (isinstance(s["source"], str) and s["source"] in SOURCES):
            raise ValueError(f"data.source: {shown(s['source'])} is not one of {', '.join(SOURCES)}")
        require_text(s["folder"], "data.folder", max_len=4096)
        require_flag(s["normalize"], "data.normalize")
        if not _plain_number(s["subset"]) or s["subset"] not in [v for v, _ in SUBSETS]:
            raise ValueError(f"data.subset: choose one of {', '.join(str(v) for v, _ in SUBSETS)}")
        for key, widget in (("size", self.size), ("n_per_class", self.n_per_class), ("val_percent", self.val_percent)):
            v = s[key]
            if isinstance(v, bool) or not isinstance(v, int) or not widget.minimum() <= v <= widget.maximum():
                raise ValueError(f"data.{key}: must be a whole number between {widget.minimum()} and {widget.maximum()}")
        if not _plain_number(s["channels"]) or s["channels"] not in (0, 1, 3):
            raise ValueError("data.channels: must be 0 (automatic), 1 or 3")
        if s["augmentation"] is not None:
            from core.transforms import normalize_spec

            s["augmentation"] = normalize_spec(s["augmentation"])
        return s

    def apply_state(self, state: dict) -> None:
        s = self.check_state(state)
        widgets = (self.source, self.subset, self.channels, self.n_per_class, self.size, self.val_percent, self.normalize)
        for w in widgets:
            w.blockSignals(True)
        try:
            self.source.setCurrentIndex(self.source.findData(s["source"]))
            self.folder.setText(str(s["folder"]))
            self.size.setValue(s["size"])
            self.channels.setCurrentIndex(self.channels.findData(s["channels"]))
            self.n_per_class.setValue(s["n_per_class"])
            self.subset.setCurrentIndex(self.subset.findData(s["subset"]))
            self.val_percent.setValue(s["val_percent"])
            self.normalize.setChecked(bool(s["normalize"]))
        finally:
            for w in widgets:
                w.blockSignals(False)
        self._augment_spec = s["augmentation"]
        self._show_augmentation()
        self._on_source()

    # -- source pages --------------------------------------------------------------------
    @Slot()
    @Slot()
    def _fit_page(self) -> None:
        # A stacked widget is as tall as its tallest page; fit the page shown instead.
        self.pages.setFixedHeight(self.pages.currentWidget().sizeHint().height())

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.FontChange:  # presentation mode: the page shown grows
            QTimer.singleShot(0, self, self._fit_page)

    def _on_source(self) -> None:
        key = self.source.currentData()
        self.pages.setCurrentIndex(0 if key == "builtin" else 1 if key in DOWNLOADABLE else 2)
        self._fit_page()
        self.size.setEnabled(key in ("builtin", "folder"))
        if key in DOWNLOADABLE:
            self._refresh_download_status()
        self.changed.emit()

    def _refresh_download_status(self) -> None:
        key = self.source.currentData()
        if key not in DOWNLOADABLE:
            return  # the download page is not shown; it refreshes when it is
        where = Path(self.data_dir or default_data_dir())
        busy = self.runner.is_active
        have = not busy and is_downloaded(key, where)
        self.download_status.setText(
            f"Downloaded: {SOURCES[key]} is in {where} and works offline."
            if have
            else f"Not downloaded yet. Download saves it in {where}; afterwards it works offline."
        )
        self.download_button.setEnabled(not have and not busy)
        self.cancel_button.setEnabled(busy)
        self.progress.setVisible(busy)

    @Slot()
    def start_download(self) -> None:
        key = self.source.currentData()
        if key not in DOWNLOADABLE:
            return
        self.progress.setRange(0, 0)
        self.runner.start(download_job, DownloadConfig(key, self.data_dir))
        self._refresh_download_status()

    @Slot(object)
    def _on_download_event(self, ev) -> None:
        if isinstance(ev, Snapshot) and ev.kind == "download":
            total, done = ev.data["total"], ev.data["done"]
            if total:
                self.progress.setRange(0, 1000)
                self.progress.setValue(round(1000 * done / total))
                self.progress.setFormat(f"{ev.data['file']}: {done / 2**20:.1f} of {total / 2**20:.1f} MB")
            else:
                self.progress.setRange(0, 0)
                self.progress.setFormat(ev.data["file"])
        elif isinstance(ev, Finished):
            self.banner.show_message(f"{SOURCES[ev.summary['dataset']]} is downloaded and ready.", "info")
            self.downloaded.emit(ev.summary["dataset"])

    @Slot(object)
    def _on_download_failed(self, failure) -> None:
        self.banner.show_message(failure.message, "error", action=("Use the built-in shapes", self.use_builtin), details=failure.details)

    @Slot(object)
    def _on_download_state(self, state: JobState) -> None:
        if state == JobState.STOPPED:
            self.banner.show_message("Download cancelled; nothing half-finished was kept.", "info")
        if not state.is_active:
            self._refresh_download_status()

    def use_builtin(self) -> None:
        self.source.setCurrentIndex(self.source.findData("builtin"))

    # -- folder and augmentation ----------------------------------------------------------
    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Image folder (one sub-folder per class)", self.folder.text())
        if path:
            self.set_folder(path)

    def set_folder(self, path: str) -> None:
        self.folder.setText(path)
        self.source.setCurrentIndex(self.source.findData("folder"))
        self.changed.emit()

    def _load_augmentation(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Augmentation pipeline", "", "JSON (*.json)")
        if path:
            self.load_augmentation(path)

    def load_augmentation(self, path: str) -> bool:
        from core.transforms import load_spec

        try:
            spec = load_spec(path)
        except ValueError as exc:
            self.banner.show_message(f"Augmentation pipeline not loaded: {exc}", "warning")
            return False
        self.set_augmentation(spec, Path(path).name)
        return True

    def set_augmentation(self, spec: dict | None, name: str = "") -> None:
        self._augment_spec = spec
        self._show_augmentation(name)
        self.changed.emit()

    def _show_augmentation(self, name: str = "") -> None:
        spec = self._augment_spec
        if not spec:
            self.augment_label.setText("none" if augmentation_available() else "the augmentation lab is not installed")
        else:
            steps = [t["type"] for t in spec.get("transforms", []) if t.get("enabled", True)]
            self.augment_label.setText((f"{name}: " if name else "") + (", ".join(steps) or "no transforms enabled"))
        self.augment_clear.setEnabled(bool(spec))

    def shutdown(self) -> None:
        self.runner.shutdown()
