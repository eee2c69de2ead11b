"""The image lab's model files: save the trained network, ONNX, load one back and predict.

The archive is the shared one of ``core.model_io`` (state_dict, JSON spec with the
normalization constants, metrics, TorchScript). ONNX is offered only when the
``onnx`` package is installed; otherwise the button says what to install.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch
from PySide6.QtWidgets import QFileDialog, QLabel, QPushButton, QVBoxLayout, QWidget

from core.datasets.images import load_image_for_model
from core.images.training import SPEC_KIND
from core.model_io import load_model, save_model_archive

__all__ = ["ModelPanel", "onnx_available", "ONNX_HINT"]

ONNX_HINT = 'ONNX export needs the onnx package: pip install "dllab[onnx]" (or pip install onnx onnxscript)'


def onnx_available() -> bool:
    return importlib.util.find_spec("onnx") is not None


class ModelPanel(QWidget):
    """Buttons and status for the trained / loaded model; ``tab`` is the ImagesTab."""

    def __init__(self, tab, parent: QWidget | None = None):
        super().__init__(parent)
        self.tab = tab
        self.loaded: tuple | None = None  # (model, spec, path name)
        self.save_button = QPushButton("Save trained model…")
        self.save_button.setToolTip("A zip (or folder) with the weights, the JSON spec, normalization, metrics and TorchScript")
        self.onnx_button = QPushButton("Export ONNX…" if onnx_available() else "Export ONNX (needs onnx)")
        self.onnx_button.setToolTip("Export the trained model as ONNX" if onnx_available() else ONNX_HINT)
        self.load_button = QPushButton("Load a saved model…")
        self.predict_button = QPushButton("Predict an image file…")
        self.status = QLabel("Train a network, then save it here. A saved model loads back and classifies an image file of your choice.")
        self.status.setWordWrap(True)
        self.save_button.clicked.connect(self._save_dialog)
        self.onnx_button.clicked.connect(self._onnx_dialog)
        self.load_button.clicked.connect(self._load_dialog)
        self.predict_button.clicked.connect(self._predict_dialog)
        layout = QVBoxLayout(self)
        # One button a row: in presentation fonts two side by side are wider than the column.
        for button in (self.save_button, self.onnx_button, self.load_button, self.predict_button):
            layout.addWidget(button)
        layout.addWidget(self.status)
        if not onnx_available():
            hint = QLabel(ONNX_HINT + ".")
            hint.setWordWrap(True)
            hint.setStyleSheet("color: gray;")
            layout.addWidget(hint)
        layout.addStretch(1)
        self.update_buttons()

    def update_buttons(self) -> None:
        trained = self.tab.results.current_model() is not None
        self.save_button.setEnabled(trained)
        self.onnx_button.setEnabled(trained)
        self.predict_button.setEnabled(trained or self.loaded is not None)

    # -- saving ----------------------------------------------------------------------------
    def _trained(self):
        model = self.tab.results.current_model()
        if model is None:
            raise ValueError("Nothing trained yet: press Play first")
        return model, self.tab.results.spec

    def save(self, path: str | Path) -> Path:
        model, spec = self._trained()
        results = self.tab.results
        metrics = {}
        for plot, name in ((results.loss_plot, "validation loss"), (results.acc_plot, "validation accuracy")):
            if name in plot.names():
                steps, values = plot.data(name)
                metrics.setdefault("step", list(steps))
                metrics[name.replace(" ", "_")] = list(values)
        extra = {"classes": spec["classes"], "mean": spec["mean"], "std": spec["std"], "val_acc": results.metrics.get("val_acc")}
        return save_model_archive(path, model, spec, metrics, extra, torchscript=True)

    def export_onnx(self, path: str | Path) -> Path:
        if not onnx_available():
            raise ValueError(ONNX_HINT)
        model, spec = self._trained()
        path = Path(path)
        torch.onnx.export(model, (torch.zeros(1, *spec["input_shape"]),), str(path), input_names=["image"], output_names=["logits"], verbose=False, external_data=False)
        return path

    def _save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save trained model", "image_model.zip", "Model archive (*.zip);;All files (*)")
        if path:
            self._report(lambda: self.save(path), "Saved the model to {}")

    def _onnx_dialog(self) -> None:
        if not onnx_available():
            self.tab.banner.show_message(ONNX_HINT, "info")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export ONNX", "image_model.onnx", "ONNX (*.onnx)")
        if path:
            self._report(lambda: self.export_onnx(path), "Exported ONNX to {}")

    def _report(self, action, success: str) -> None:
        try:
            path = action()
        except (ValueError, OSError, RuntimeError) as exc:
            self.tab.banner.show_message(f"Not saved: {exc}", "error")
            return
        self.tab.banner.show_message(success.format(path), "info")

    # -- loading and predicting --------------------------------------------------------------
    def load(self, path: str | Path) -> None:
        """Load an archive of this lab; ValueError (and the previous model kept) otherwise."""
        model, spec, _metrics, extra = load_model(path)
        if spec.get("kind") != SPEC_KIND:
            raise ValueError(f"{Path(path).name} holds a model of another lab ({spec.get('kind')}), not an image classifier")
        acc = extra.get("val_acc")
        shape = "×".join(str(v) for v in spec["input_shape"])
        text = (
            f"Loaded {Path(path).name}: {len(spec['classes'])} classes ({', '.join(spec['classes'][:6])}"
            f"{'…' if len(spec['classes']) > 6 else ''}), input {shape}"
            + (f", validation accuracy {acc:.1%}" if isinstance(acc, (int, float)) and not isinstance(acc, bool) else "")
        )
        # Only now, with everything read: a refusal above leaves the previous model in place.
        self.loaded = (model, spec, Path(path).name)
        self.status.setText(text)
        self.update_buttons()

    def predict(self, image_path: str | Path) -> tuple[str, float]:
        """Classify an image file with the loaded model (else the trained one)."""
        if self.loaded is not None:
            model, spec, _ = self.loaded
        else:
            model, spec = self._trained()
        x, raw = load_image_for_model(image_path, spec["input_shape"], spec["mean"], spec["std"])
        probs = self.tab.results.show_external_image(x, raw, model, spec["classes"])
        best = int(np.argmax(probs))
        self.status.setText(f"{Path(image_path).name}: {spec['classes'][best]} ({probs[best]:.0%})")
        return spec["classes"][best], float(probs[best])

    def _load_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load a saved model", "", "Model archive (*.zip spec.json);;All files (*)")
        if not path:
            return
        if Path(path).name == "spec.json":
            path = str(Path(path).parent)
        try:
            self.load(path)
        except ValueError as exc:
            self.tab.banner.show_message(f"Model not loaded: {exc}", "error")

    def _predict_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Image to classify", "", "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp)")
        if not path:
            return
        try:
            self.predict(path)
        except ValueError as exc:
            self.tab.banner.show_message(str(exc), "error")
