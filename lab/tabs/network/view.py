"""The window of the network builder: data and training on the left, the network in the
middle, the output map and the curves on the right, play controls and counter on top.

:class:`NetworkView` builds and owns these widgets and speaks through its signals; the
tab (tab.py) holds the data, the network and the job, and connects its slots to them.
The file dialogs are the view's too: it emits the path the student chose.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QApplication,
    QBoxLayout,
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from core.network.model import FEATURES, NetworkSpec
from core.network.settings import TrainSettings
from lab.tabs.network.layers import LayerControlsRow, LayerCountBar
from lab.tabs.network.panels import DataPanel, ExtrasPanel, ModelPanel
from lab.tabs.training_form import TrainingForm
from widgets.control_panel import FittedScrollArea, fit_narrow
from widgets.export import widget_frame
from widgets.heatmap import Heatmap
from widgets.live_plot import LivePlot
from widgets.network_diagram import NetworkDiagram
from widgets.play_controls import PlayControls
from widgets.redraw import redraw_scheduler
from widgets.theme import theme

__all__ = ["NetworkView"]

MAX_LEFT_WIDTH = 340  # px: the settings column never takes more; wider controls scroll
STACKED_CURVES_HEIGHT = 720  # px: the output column's least height for loss above accuracy


class NetworkView(QWidget):
    """The network builder's widgets. Children are public to read (``view.diagram``);
    the tab changes them through the methods below."""

    layer_count_requested = Signal(int)  # +1 / −1 hidden layers
    neurons_requested = Signal(int, int)  # hidden layer, +1 / −1 neurons
    layers_edited = Signal()  # an activation, dropout, batch norm or learning-rate multiplier
    feature_toggled = Signal(str)
    selection_changed = Signal()  # a neuron, or the output again, is to be shown large
    weight_edited = Signal(int, int, int, float)  # linear layer, row, column (-1 = bias), value
    training_changed = Signal()  # a setting a running job takes on the fly
    network_changed = Signal()  # loss or initialization: a new network
    data_settings_changed = Signal(object)  # DataSettings
    regenerate_requested = Signal()
    map_clicked = Signal(float, float, int)  # x1, x2, Qt mouse button as int
    discretize_toggled = Signal(bool)
    record_gif_toggled = Signal(bool)
    save_model_requested = Signal(str)  # path
    load_model_requested = Signal(str)  # path of the archive or the model folder
    save_points_requested = Signal(str)  # path
    load_points_requested = Signal(str)  # path

    def __init__(self, *, max_batch: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.controls = PlayControls()
        self.counter = QLabel("Epoch 0")
        self.counter.setToolTip("Epochs (passes over the training data) and iterations (weight updates)")
        # Its text changes every frame: a fixed policy keeps that from re-laying out the whole tab.
        self.counter.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
        self.counter.setMinimumWidth(200)
        self.engine_label = QLabel()
        self.engine_label.setWordWrap(True)
        self.engine_label.setToolTip("The fast path covers the common cases; the rest runs on autograd and torch.optim")
        status = QVBoxLayout()
        status.setSpacing(0)
        status.addWidget(self.counter)
        status.addWidget(self.engine_label)
        top = QHBoxLayout()
        top.addWidget(self.controls, 2)
        top.addLayout(status, 3)

        split = QSplitter(Qt.Horizontal)
        split.addWidget(self._build_settings_column(max_batch))
        split.addWidget(self._build_network_column())
        split.addWidget(self._build_output_column())
        # The output column gets as much as the network: a large network scrolls, the map
        # and curves (and their legends) do not.
        split.setStretchFactor(1, 1)
        split.setStretchFactor(2, 1)
        split.setSizes([330, 520, 480])
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addLayout(top)
        box.addWidget(split, 1)
        # Both resize alone: the diagram inside its scroll area, the output column with the splitter.
        self.diagram.installEventFilter(self)
        self.output_column.installEventFilter(self)

        self.layer_bar.count_requested.connect(self.layer_count_requested)
        self.layer_row.neurons_requested.connect(self.neurons_requested)
        self.layer_row.layer_changed.connect(self.layers_edited)
        self.diagram.feature_toggled.connect(self.feature_toggled)
        self.diagram.node_clicked.connect(self._select_neuron)
        self.show_output.clicked.connect(self._select_output)
        self.diagram.weight_edited.connect(self.weight_edited)
        self.training.changed.connect(self.training_changed)
        self.extras.changed.connect(self.training_changed)
        self.extras.network_changed.connect(self.network_changed)
        self.data_panel.settings_changed.connect(self.data_settings_changed)
        self.data_panel.regenerate_requested.connect(self.regenerate_requested)
        self.data_panel.load_requested.connect(self._ask_load_points)
        self.data_panel.save_requested.connect(self._ask_save_points)
        self.heatmap.clicked.connect(self.map_clicked)
        self.show_test.toggled.connect(self.heatmap.set_show_test)
        self.discretize.toggled.connect(self.discretize_toggled)
        self.model_panel.record_gif.toggled.connect(self.record_gif_toggled)
        self.model_panel.save_model.clicked.connect(self._ask_save_model)
        self.model_panel.load_model.clicked.connect(self._ask_load_model)
        theme().changed.connect(self._restyle)
        self._restyle(theme().style)

    def _build_settings_column(self, max_batch: int) -> QScrollArea:
        self.data_panel = DataPanel()
        self.training = TrainingForm(max_batch=max_batch)
        self.extras = ExtrasPanel()
        self.model_panel = ModelPanel()
        self.left_panel = QWidget()
        column = QVBoxLayout(self.left_panel)
        # Thin margins: at a projector's font the column's 340 px leave the controls
        # little enough as it is.
        column.setContentsMargins(4, 4, 4, 4)
        for title, w in (("Data", self.data_panel), ("Training", self.training), ("More training", self.extras),
                         ("Files", self.model_panel)):
            group = QGroupBox(title)
            inner = QVBoxLayout(group)
            inner.setContentsMargins(6, 6, 6, 6)
            inner.addWidget(w)
            column.addWidget(group)
        column.addStretch(1)
        fit_narrow(self.left_panel)
        # A label beside its combo box is wider than the column at a projector's font: the
        # box goes under its label when the row does not fit (side by side when it does).
        for form in self.left_panel.findChildren(QFormLayout):
            form.setRowWrapPolicy(QFormLayout.WrapLongRows)
        self.left_scroll = FittedScrollArea(least=300, most=MAX_LEFT_WIDTH)
        self.left_scroll.setWidget(self.left_panel)
        return self.left_scroll

    def _build_network_column(self) -> QWidget:
        self.layer_bar = LayerCountBar()
        self.layer_row = LayerControlsRow()
        self.diagram = NetworkDiagram()
        middle = QWidget()
        column = QVBoxLayout(middle)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.layer_row)
        column.addWidget(self.diagram, 1)
        # A large network (8 layers of 32) needs more room than a projector has: the
        # diagram and its per-layer controls scroll together rather than overlap.
        self.network_scroll = QScrollArea()
        self.network_scroll.setWidget(middle)
        self.network_scroll.setWidgetResizable(True)
        self.network_scroll.setFrameShape(QScrollArea.NoFrame)
        outer = QWidget()
        box = QVBoxLayout(outer)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.layer_bar)
        box.addWidget(self.network_scroll, 1)
        hint = QLabel("Click a feature to switch it on or off · click a neuron to see it large · click an edge to "
                      "type a weight · right-click a neuron to type its bias")
        hint.setWordWrap(True)
        box.addWidget(hint)
        return outer

    def _build_output_column(self) -> QWidget:
        self.heatmap = Heatmap("Output")
        self.show_test = QCheckBox("Show test data")
        self.discretize = QCheckBox("Discretize output")
        self.show_output = QPushButton("Show output")
        self.show_output.setToolTip("Back from a single neuron to the network's output")
        self.show_output.hide()
        self.loss_plot = LivePlot("Loss", "epoch", "loss")
        self._log_for_divergence = False  # the loss axis went logarithmic for a divergence, not by choice
        self.accuracy_plot = LivePlot("Accuracy", "epoch", "accuracy")
        self.heatmap.setMinimumSize(200, 200)
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.setMinimumHeight(120)  # three views and a row of boxes in a projector's height
        right = self.output_column = QWidget()
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.heatmap, 3)
        row = QHBoxLayout()
        row.addWidget(self.show_test)
        row.addWidget(self.discretize)
        row.addWidget(self.show_output)
        row.addStretch(1)
        column.addLayout(row)
        self.curves_layout = QBoxLayout(QBoxLayout.TopToBottom)
        self.curves_layout.addWidget(self.loss_plot)
        self.curves_layout.addWidget(self.accuracy_plot)
        column.addLayout(self.curves_layout, 4)
        return right

    # -- the setup in the controls ------------------------------------------------------------
    def show_spec(self, spec: NetworkSpec) -> None:
        """Put a network's architecture into the controls and the diagram, without emitting;
        each hidden layer that stays keeps its learning-rate multiplier."""
        self.layer_bar.set_count(len(spec.hidden))
        multipliers = [c.lr_mult.value() for c in self.layer_row.controls]
        self.layer_row.rebuild(len(spec.hidden))
        self.diagram.set_min_column_gap(self.layer_row.min_control_width() + 4)
        for i, c in enumerate(self.layer_row.controls):
            c.set_values(spec.activations[i], spec.dropout[i], spec.batchnorm[i],
                         multipliers[i] if i < len(multipliers) else 1.0)
        self.diagram.set_inputs(list(FEATURES), list(FEATURES.values()), [f in spec.features for f in FEATURES])
        self.diagram.set_structure(list(spec.hidden), spec.n_outputs)
        for combo, value in ((self.extras.loss, spec.loss), (self.extras.init, spec.init)):
            combo.blockSignals(True)
            combo.setCurrentIndex(combo.findData(value))
            combo.blockSignals(False)
        self.extras.loss.setEnabled(spec.task == "classification")
        self.accuracy_plot.setVisible(spec.task == "classification")  # regression has no accuracy
        QTimer.singleShot(0, self.align_layer_row)
        self.align_layer_row()

    def show_training(self, training: TrainSettings, spec: NetworkSpec) -> None:
        """Put saved training settings into the controls without emitting (``spec`` is on show)."""
        form_keys = set(self.training.values())
        self.training.set_values({k: v for k, v in training.to_dict().items() if k in form_keys}, emit=False)
        ex = self.extras
        for w in (ex.noise, ex.noise_std, ex.label_smoothing):
            w.blockSignals(True)
        ex.noise.setCurrentIndex(ex.noise.findData(training.noise))
        ex.noise_std.set_value(training.noise_std, emit=False)
        ex.label_smoothing.set_value(training.label_smoothing, emit=False)
        for w in (ex.noise, ex.noise_std, ex.label_smoothing):
            w.blockSignals(False)
        multipliers = training.multipliers(len(spec.hidden) + 1)
        for i, c in enumerate(self.layer_row.controls):
            c.set_values(spec.activations[i], spec.dropout[i], spec.batchnorm[i], multipliers[i])
        self.layer_row.output_control.set_values("linear", 0.0, False, multipliers[-1])

    def layer_lr_multipliers(self) -> tuple[float, ...]:
        """Each linear layer's learning rate as a multiple of the global one, the output's last."""
        return tuple(c.lr_mult.value() for c in [*self.layer_row.controls, self.layer_row.output_control])

    def layer_settings(self) -> dict[str, tuple]:
        """The hidden layers' activations, dropout and batch norm as the controls show them."""
        controls = self.layer_row.controls
        return {"activations": tuple(c.activation.currentData() for c in controls),
                "dropout": tuple(round(c.dropout.value(), 2) for c in controls),
                "batchnorm": tuple(c.batchnorm.isChecked() for c in controls)}

    def set_view_options(self, *, discretize: bool, show_test: bool) -> None:
        """The output map's options, as a click on their boxes would set them."""
        self.discretize.setChecked(discretize)
        self.show_test.setChecked(show_test)

    # -- what the job shows -------------------------------------------------------------------
    def show_counter(self, epoch: int, iteration: int, lr: float, test_loss: float | None = None) -> None:
        """Where the run is: epoch, iteration, learning rate and, once known, the test loss."""
        parts = [f"Epoch {epoch:,}", f"iteration {iteration:,}", f"lr {lr:.3g}"]
        if test_loss is not None:
            parts.append(f"test loss {test_loss:.3f}")
        self.counter.setText(" · ".join(parts))

    def output_frame(self, epoch: int) -> QImage:
        """The output map as the screen shows it (field, points, axes) with the epoch, at a
        size that reads in a GIF."""
        return widget_frame(self.heatmap, caption=f"Epoch {epoch:,}")

    def set_engine_text(self, text: str) -> None:
        """Which engine trains the network (the job says so when it starts)."""
        self.engine_label.setText(text)

    def extend_curves(self, epochs: np.ndarray, values: dict[str, np.ndarray]) -> None:
        """Append epochs to the loss curves (and the accuracy curves, for classification)."""
        self.loss_plot.series("train loss").extend(epochs, values["train_loss"])
        self.loss_plot.series("test loss", dash=True).extend(epochs, values["test_loss"])
        if "train_accuracy" in values:
            self.accuracy_plot.series("train accuracy").extend(epochs, values["train_accuracy"])
            self.accuracy_plot.series("test accuracy", dash=True).extend(epochs, values["test_accuracy"])

    def redraw_curves(self) -> None:
        """Draw the curves now, and paint them at once when they are on screen."""
        for plot in (self.loss_plot, self.accuracy_plot):
            if not redraw_scheduler().draw_now(plot):  # the plot asked for itself when its data grew
                plot.redraw()
            if plot.isVisible():
                plot.viewport().repaint()

    def mark_early_stop(self, stop_epoch: int, best_epoch: int) -> None:
        """Where early stopping ended the run (red) and the best test loss was (green)."""
        item = self.loss_plot.getPlotItem()
        item.addLine(x=stop_epoch, pen={"color": "#d03030", "style": Qt.DashLine})
        item.addLine(x=best_epoch, pen={"color": "#009E73", "style": Qt.DotLine})

    def mark_divergence(self, epoch: int) -> None:
        """Where the loss stopped being finite (red line). The loss axis turns logarithmic:
        an explosion ends near float32's 1e38, and on a linear axis only its last epoch or
        two stand out from zero, not the steady rise that led there."""
        item = self.loss_plot.getPlotItem()
        line = item.addLine(x=epoch, pen={"color": "#d03030", "width": 2})
        line.label = pg.InfLineLabel(line, "diverged", position=0.1, anchors=[(0, 1), (0, 1)], color="#d03030")
        if not self.loss_plot.log_y:
            self._log_for_divergence = True
            self.loss_plot.set_log_y(True)

    def clear_curves(self) -> None:
        """Empty the curves and take away the early-stopping and divergence lines."""
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.clear_series()
            for item in [i for i in plot.getPlotItem().items if type(i).__name__ == "InfiniteLine"]:
                plot.getPlotItem().removeItem(item)
        if self._log_for_divergence:
            self._log_for_divergence = False
            self.loss_plot.set_log_y(False)

    # -- layout -------------------------------------------------------------------------------
    @Slot()
    def align_layer_row(self) -> None:
        """Put each layer's controls over its column of the diagram, the columns far enough
        apart for the controls as wide as they are now (fonts change, styles polish)."""
        self.diagram.set_min_column_gap(self.layer_row.min_control_width() + 4)
        self.layer_row.set_centers(self.diagram.column_centers())

    @Slot()
    def fit_left_panel(self) -> None:
        """Make the settings column wide enough for its widest control, scroll bar included."""
        self.left_panel.adjustSize()
        self.left_scroll.updateGeometry()  # as wide as its widest control, up to MAX_LEFT_WIDTH
        self.align_layer_row()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        QTimer.singleShot(0, self.align_layer_row)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if watched is self.diagram and event.type() == QEvent.Resize:
            self.align_layer_row()
        elif watched is self.output_column and event.type() == QEvent.Resize:
            # In a short window (a projector's 720 px, large fonts) the two curves go side by
            # side: one above the other, each would be too flat for its axis and legend.
            tall = event.size().height() >= STACKED_CURVES_HEIGHT
            self.curves_layout.setDirection(QBoxLayout.TopToBottom if tall else QBoxLayout.LeftToRight)
        return super().eventFilter(watched, event)

    @Slot(object)
    def _restyle(self, _style=None) -> None:
        """Fonts grow in presentation mode: the side panel and the counter follow."""
        font = QApplication.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.counter.setFont(font)
        # The view as context: a window closed before the timer fires cancels it.
        QTimer.singleShot(0, self, self.fit_left_panel)  # after the new fonts have reached the layouts

    # -- one neuron large ----------------------------------------------------------------------
    @Slot(int, int)
    def _select_neuron(self, col: int, index: int) -> None:
        if 0 < col <= len(self.diagram.widths):
            self.diagram.select((col, index))
            self.heatmap.getPlotItem().setTitle(f"Layer {col}, neuron {index + 1}")
            self.show_output.show()
        else:  # the output column: the output, as the button gives
            self._show_output_title()
        self.diagram.update()
        self.selection_changed.emit()

    @Slot()
    def _select_output(self) -> None:
        self._show_output_title()
        self.diagram.update()
        self.selection_changed.emit()

    def _show_output_title(self) -> None:
        self.diagram.select(None)
        self.heatmap.getPlotItem().setTitle("Output")
        self.show_output.hide()

    # -- file dialogs --------------------------------------------------------------------------
    def ask_gif_path(self) -> str:
        """Ask where to save the recorded GIF; "" when the student cancels."""
        return self._ask("Save GIF", True, "boundary.gif", "*.gif")

    def _ask(self, what: str, save: bool, default: str, filters: str) -> str:
        dialog = QFileDialog.getSaveFileName if save else QFileDialog.getOpenFileName
        path, _ = dialog(self, what, default, filters)
        return path

    @Slot()
    def _ask_save_model(self) -> None:
        path = self._ask("Save model (a name ending in .zip gives an archive)", True, "network_model.zip",
                         "Zip archive (*.zip);;Folder (*)")
        if path:
            self.save_model_requested.emit(path)

    @Slot()
    def _ask_load_model(self) -> None:
        path = self._ask("Load model (.zip, or spec.json inside a model folder)", False, "", "Model (*.zip spec.json)")
        if path:
            p = Path(path)
            self.load_model_requested.emit(str(p.parent if p.name == "spec.json" else p))

    @Slot()
    def _ask_load_points(self) -> None:
        path = self._ask("Load points", False, "", "CSV (*.csv *.txt)")
        if path:
            self.load_points_requested.emit(path)

    @Slot()
    def _ask_save_points(self) -> None:
        path = self._ask("Save points", True, "points.csv", "CSV (*.csv)")
        if path:
            self.save_points_requested.emit(path)
