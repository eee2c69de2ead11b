"""What the image lab shows: curves, confusion, prediction grid, filters, feature maps.

Events only store data and mark views dirty, which asks the redraw scheduler for a
frame; :meth:`ResultsView.redraw` then draws what changed. Feature maps and class probabilities of the chosen
image are computed here, on the GUI thread, from the latest weights the job sent —
a forward pass of one image through a small network takes a millisecond.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.engine import History, Metrics
from core.images.training import class_probabilities, feature_maps, load_state, model_from_spec
from widgets.export import export_plot, write_csv
from widgets.image_grid import ImageGrid
from widgets.live_plot import LivePlot
from widgets.matrix_view import MatrixView
from widgets.redraw import request_redraw
from widgets.theme import style_plot, theme

__all__ = ["ResultsView", "BarChart"]

CORRECT, WRONG = "#2e9d4a", "#d03030"
IMAGE_VIEWS_HZ = 15  # the grid, matrix and feature maps cost more than a curve: half the frame rate


class BarChart(QWidget):
    """Horizontal bars with category names on the y axis; exports PNG, SVG and CSV.

    A plain widget around a pyqtgraph plot, so that export goes through :meth:`export`
    (PNG, SVG and the numbers as CSV) wherever views are exported.

    Both charts sit on pages not shown at first: the pyqtgraph plot (a tenth of a second
    each) is made when the chart is first shown or exported; until then it keeps the numbers.
    """

    def __init__(self, title: str, value_label: str, parent=None):
        super().__init__(parent)
        self.title, self.value_label = title, value_label
        self._plot: pg.PlotWidget | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.setMinimumSize(200, 140)
        self._names: list[str] = []
        self._values = np.zeros(0)
        self._highlight: int | None = None
        self._bars: pg.BarGraphItem | None = None
        theme().changed.connect(self._on_theme)  # a bound slot: disconnected when this widget goes

    @property
    def plot(self) -> pg.PlotWidget:
        """The chart's plot, made now if it was not yet."""
        if self._plot is None:
            self._plot = pg.PlotWidget()
            self._layout.addWidget(self._plot)
            item = self._plot.getPlotItem()
            item.setTitle(self.title)
            item.setLabel("bottom", self.value_label)
            item.setXRange(0, 1)
            item.setMouseEnabled(x=False, y=False)
            item.hideButtons()
            item.invertY(True)
            self._draw()
        return self._plot

    def showEvent(self, event) -> None:  # noqa: N802
        self.plot  # noqa: B018  (made before the first paint)
        super().showEvent(event)

    @Slot(object)
    def _on_theme(self, _style) -> None:
        if self._plot is not None:
            self._draw()

    def set_values(self, names, values, highlight: int | None = None) -> None:
        self._names, self._values, self._highlight = list(names), np.asarray(values, float), highlight
        if self._plot is not None:
            self._draw()

    def _draw(self) -> None:
        style = theme().style
        item = self.plot.getPlotItem()
        style_plot(self.plot, style)
        if self._bars is not None:
            item.removeItem(self._bars)
            self._bars = None
        n = len(self._names)
        if not n:
            return
        colors = [style.series_color(1) if i == self._highlight else style.series_color(0) for i in range(n)]
        self._bars = pg.BarGraphItem(x0=0, y=np.arange(n), height=0.7, width=self._values, brushes=[pg.mkBrush(c) for c in colors], pen=None)
        item.addItem(self._bars)
        item.getAxis("left").setTicks([[(i, name) for i, name in enumerate(self._names)]])
        item.setYRange(-0.6, n - 0.4, padding=0)

    def values(self) -> tuple[list[str], np.ndarray]:
        return list(self._names), self._values.copy()

    def export(self, path_base: str | Path, scale: float = 1.0) -> list[Path]:
        base = Path(path_base)
        written = [export_plot(self.plot, base.with_suffix(".png"), scale), export_plot(self.plot, base.with_suffix(".svg"))]
        if self._names:
            written.append(write_csv(base.with_suffix(".csv"), {"class": self._names, self.value_label: self._values}))
        return written


class ResultsView(QTabWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        # curves
        self.loss_plot = LivePlot("Loss", "step", "cross-entropy")
        self.acc_plot = LivePlot("Accuracy", "step", "share correct")
        # Training takes longer than a first view may: say what Play will draw here.
        self.loss_plot.set_hint("Play (Space) trains the network on the chosen images; its loss and accuracy are drawn here")
        self.stats = QLabel(" ")
        self.stats.setWordWrap(True)
        curves = QWidget()
        cl = QVBoxLayout(curves)
        cl.addWidget(self.stats)
        cl.addWidget(self.loss_plot, 1)
        cl.addWidget(self.acc_plot, 1)
        self.addTab(curves, "Curves")
        # confusion
        self.confusion = MatrixView("Confusion matrix (validation)")
        self.per_class = BarChart("Accuracy per class", "accuracy")
        conf = QSplitter(Qt.Horizontal)
        conf.addWidget(self.confusion)
        conf.addWidget(self.per_class)
        conf.setSizes([600, 300])
        self.addTab(conf, "Confusion")
        # predictions
        self.grid = ImageGrid()
        self.grid.empty_text = "Validation images with predicted and true class appear here while training."
        self.only_mistakes = QCheckBox("Only mistakes")
        self.grid_note = QLabel()
        self.show_all = QPushButton("Show all")
        self.show_all.hide()
        pred = QWidget()
        pl = QVBoxLayout(pred)
        row = QHBoxLayout()
        row.addWidget(self.only_mistakes)
        row.addWidget(self.grid_note, 1)
        row.addWidget(self.show_all)
        pl.addLayout(row)
        pl.addWidget(self.grid, 1)
        self.addTab(pred, "Predictions")
        # inside the network
        self.filters = ImageGrid("First-layer filters", min_cell=24)
        self.filters.empty_text = "The first layer's weights, as images"
        self.chosen = ImageGrid("Chosen image")
        self.chosen.empty_text = "Click an image under Predictions"
        self.probs = BarChart("Class probabilities", "probability")
        self.map_layer = QComboBox()
        self.maps = ImageGrid(min_cell=24)
        self.maps.empty_text = "Feature maps of the chosen image at each layer with image-shaped output"
        for w in (self.filters, self.chosen, self.probs):
            w.setMinimumWidth(140)  # three side by side beside the controls, on a projector
        inside = QWidget()
        il = QGridLayout(inside)
        il.addWidget(self.filters, 0, 0)
        il.addWidget(self.chosen, 0, 1)
        il.addWidget(self.probs, 0, 2)
        maps_box = QWidget()
        ml = QVBoxLayout(maps_box)
        ml.setContentsMargins(0, 0, 0, 0)
        mrow = QHBoxLayout()
        mrow.addWidget(QLabel("Feature maps after layer"))
        mrow.addWidget(self.map_layer, 1)
        ml.addLayout(mrow)
        ml.addWidget(self.maps, 1)
        il.addWidget(maps_box, 1, 0, 1, 3)
        il.setRowStretch(0, 2)
        il.setRowStretch(1, 3)
        il.setColumnStretch(0, 2)
        il.setColumnStretch(1, 1)
        il.setColumnStretch(2, 2)
        self.addTab(inside, "Inside the network")

        self.only_mistakes.toggled.connect(self._apply_grid_filter)
        self.show_all.clicked.connect(lambda: self.filter_cell(None))
        self.confusion.cell_clicked.connect(lambda r, c: self.filter_cell((r, c)))
        self.grid.image_clicked.connect(self.choose_image)
        self.map_layer.currentIndexChanged.connect(self._mark_inside)
        self.currentChanged.connect(self._mark_inside)
        self.reset()

    # -- state ---------------------------------------------------------------------------
    def reset(self) -> None:
        for plot in (self.loss_plot, self.acc_plot):
            plot.clear_series()
        self.classes: list[str] = []
        self.grid_images = None
        self.grid_labels = None
        self.grid_pred = None
        self.last_eval: dict | None = None
        self.spec: dict | None = None
        self.state: dict | None = None
        self.layers: list[dict] = []
        self.selected: int | None = None
        self.cell: tuple[int, int] | None = None
        # An image from a file and the model that judges it: (normalized, raw, model, classes).
        self.external_image: tuple | None = None
        self._model = None
        self._model_spec = None
        self.metrics: dict[str, float] = {}
        self.best_acc = 0.0
        self.steps_total = 0
        self.step = 0
        self._dirty: set[str] = set()
        self._mark("grid", "eval", "inside")
        self.confusion.clear()
        self.per_class.set_values([], [])
        self.probs.set_values([], [])
        self.grid.clear()
        self.filters.clear()
        self.chosen.clear()
        self.maps.clear()
        self.map_layer.clear()
        self.stats.setText("Press Play to train.")
        self.grid_note.setText("")

    def on_data(self, data: dict, layers: list[dict]) -> None:
        self.classes = data["classes"]
        self.grid_images = data["grid_images"]
        self.grid_labels = data["grid_labels"]
        self.steps_total = data["total_steps"]
        self.layers = layers
        self.spec = {
            "kind": "dllab-image-classifier",
            "layers": layers,
            "input_shape": list(data["input_shape"]),
            "classes": list(self.classes),
            "mean": list(data["mean"]),
            "std": list(data["std"]),
        }
        self.description = data["description"]
        self.grid.set_images(self.grid_images)
        if self.selected is None and len(self.grid_images):
            self.selected = 0
        self.grid.set_selected(self.selected)
        self._mark("grid", "inside")

    def on_history(self, ev: History) -> None:
        self.loss_plot.series("train loss", width=0.6).extend(ev.steps, ev.values["train_loss"])
        self.acc_plot.series("train accuracy (batch)", width=0.6).extend(ev.steps, ev.values["train_acc"])
        self.step = int(ev.steps[-1])

    def on_metrics(self, ev: Metrics) -> None:
        v = ev.values
        self.loss_plot.series("validation loss", width=1.5, symbol="o").append(ev.step, v["val_loss"])
        self.acc_plot.series("validation accuracy", width=1.5, symbol="o").append(ev.step, v["val_acc"])
        self.metrics = dict(v)
        self.best_acc = max(self.best_acc, v["val_acc"])
        self.step = ev.step
        self._mark("stats")

    def on_eval(self, data: dict) -> None:
        self.last_eval = data
        self.grid_pred = data["grid_pred"]
        if "state" in data:
            self.state = data["state"]
            self._mark("inside")
        self._mark("eval", "grid")

    def on_finished(self, summary: dict) -> None:
        self.state = summary.get("state", self.state)
        self.spec = summary.get("spec", self.spec)
        self._mark("inside", "stats")

    # -- drawing -----------------------------------------------------------------------
    def _mark(self, *parts: str) -> None:
        self._dirty.update(parts)
        request_redraw(self, max_hz=IMAGE_VIEWS_HZ)

    def redraw(self) -> None:
        """Draw the parts that changed (the redraw scheduler calls this after a change)."""
        dirty, self._dirty = self._dirty, set()
        if "stats" in dirty and self.metrics:
            m = self.metrics
            self.stats.setText(
                f"<b>{m['images_per_s']:,.0f} images/s</b> · {m['epoch_time_s']:.2f} s per epoch · "
                f"step {self.step:,} of {self.steps_total:,} (epoch {m['epoch']:.1f}) · "
                f"validation accuracy <b>{m['val_acc']:.1%}</b> (best {self.best_acc:.1%}) · lr {m['lr']:.3g}"
            )
        if "eval" in dirty and self.last_eval is not None:
            self.confusion.set_matrix(self.last_eval["confusion"], self.classes)
            self.per_class.set_values(self.classes, self.last_eval["per_class_acc"])
            filters = self.last_eval.get("filters")
            if filters is not None:
                self.filters.set_images(filters.reshape(-1, 1, *filters.shape[2:]) if filters.shape[1] not in (1, 3) else filters, scaling="each")
        if "grid" in dirty:
            self._update_grid_labels()
        if "inside" in dirty and self.currentIndex() == 3:
            self._update_inside()
        elif "inside" in dirty:
            self._dirty.add("inside")  # drawn when the page is shown (currentChanged asks again)

    def _update_grid_labels(self) -> None:
        if self.grid_images is None:
            return
        n = len(self.grid_images)
        if self.grid_pred is None:
            self.grid.update_labels([self.classes[t] for t in self.grid_labels], [None] * n)
        else:
            captions, marks = [], []
            for p, t in zip(self.grid_pred, self.grid_labels):
                ok = p == t
                captions.append(f"✓ {self.classes[p]}" if ok else f"✗ {self.classes[p]}\ntrue: {self.classes[t]}")
                marks.append(CORRECT if ok else WRONG)
            self.grid.update_labels(captions, marks)
        self._apply_grid_filter()

    @Slot()
    def _apply_grid_filter(self) -> None:
        if self.grid_images is None:
            return
        idx = np.arange(len(self.grid_images))
        note = f"{len(idx)} validation images"
        if self.grid_pred is not None:
            wrong = self.grid_pred != self.grid_labels
            if self.cell is not None:
                r, c = self.cell
                idx = idx[(self.grid_labels == r) & (self.grid_pred == c)]
                note = f"true {self.classes[r]}, predicted {self.classes[c]}: {len(idx)} of the {len(wrong)} shown images"
            elif self.only_mistakes.isChecked():
                idx = idx[wrong]
                note = f"{len(idx)} mistakes among {len(wrong)} images"
            else:
                note = f"{int(wrong.sum())} mistakes among {len(wrong)} images (red frames)"
        self.grid.set_filter(idx.tolist())
        self.grid_note.setText(note)
        self.show_all.setVisible(self.cell is not None)

    def filter_cell(self, cell: tuple[int, int] | None) -> None:
        """Show only images of true class r predicted as c (from a click on the confusion matrix)."""
        self.cell = cell
        self._apply_grid_filter()
        if cell is not None:
            self.setCurrentIndex(2)

    @Slot(int)
    def choose_image(self, index: int) -> None:
        self.selected = index
        self.external_image = None
        self.grid.set_selected(index)
        self._mark_inside()

    def show_external_image(self, normalized: torch.Tensor, raw: torch.Tensor, model, classes: list[str]) -> np.ndarray:
        """An image from a file judged by ``model``; returns its class probabilities."""
        self.external_image = (normalized, raw, model, list(classes))
        self.setCurrentIndex(3)
        self._mark_inside()
        self.redraw()
        return class_probabilities(model, normalized)

    @Slot()
    def _mark_inside(self, *_args) -> None:
        self._mark("inside")

    def current_model(self):
        """The network with the latest weights the job sent (rebuilt when the spec changes)."""
        if self.spec is None or self.state is None:
            return None
        if self._model is None or self._model_spec != self.spec:
            self._model = model_from_spec(self.spec)
            self._model_spec = self.spec
        return load_state(self._model, self.state).eval()

    def _chosen_input(self):
        """(normalized image, raw image, model, class names) for the Inside page, or None."""
        if self.external_image is not None:
            return self.external_image
        if self.grid_images is None or self.selected is None or self.spec is None:
            return None
        raw = torch.as_tensor(self.grid_images[self.selected])
        mean = torch.tensor(self.spec["mean"]).view(-1, 1, 1)
        std = torch.tensor(self.spec["std"]).view(-1, 1, 1)
        return (raw - mean) / std, raw, self.current_model(), self.spec["classes"]

    def _update_inside(self) -> None:
        chosen = self._chosen_input()
        if chosen is None:
            return
        x, raw, model, classes = chosen
        self.chosen.set_images(raw.numpy()[None])
        if model is None:
            return
        probs = class_probabilities(model, x)
        self.probs.set_values(classes, probs, highlight=int(np.argmax(probs)))
        maps = feature_maps(model, x)
        labels = [f"{i + 1}: {label} → {m.shape[0]}×{m.shape[1]}×{m.shape[2]}" for i, label, m in maps]
        keep = self.map_layer.currentIndex()
        if [self.map_layer.itemText(i) for i in range(self.map_layer.count())] != labels:
            self.map_layer.blockSignals(True)
            self.map_layer.clear()
            self.map_layer.addItems(labels)
            self.map_layer.setCurrentIndex(keep if 0 <= keep < len(labels) else 0)
            self.map_layer.blockSignals(False)
        k = self.map_layer.currentIndex()
        if 0 <= k < len(maps):
            m = maps[k][2]
            self.maps.set_images(m[:, None], scaling="each")
        else:
            self.maps.clear()
            self.maps.empty_text = "This network has no layer with image-shaped output (an MLP flattens at once)."

    def plots(self) -> dict:
        return {
            "loss": self.loss_plot,
            "accuracy": self.acc_plot,
            "confusion": self.confusion,
            "per_class_accuracy": self.per_class,
            "predictions": self.grid,
            "filters": self.filters,
            "feature_maps": self.maps,
            "class_probabilities": self.probs,
        }
