"""The controls above each column of the network diagram: neurons ±, activation, dropout,
batch norm and a learning-rate multiplier per layer; ± hidden layers for the whole net.

The row positions its controls at the diagram's column centres, so each layer's controls
sit above that layer, as in Playground.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.activation_functions import ACTIVATIONS
from core.network.model import MAX_LAYERS, MAX_NEURONS

__all__ = ["LayerControl", "LayerControlsRow", "LayerCountBar"]

MIN_CONTROL_WIDTH = 56  # px


def _small_button(text: str, tip: str) -> QToolButton:
    b = QToolButton()
    b.setText(text)
    b.setToolTip(tip)
    b.setAutoRaise(False)
    b.setFixedWidth(26)
    return b


class LayerControl(QWidget):
    """One hidden layer's (or the output's) settings."""

    changed = Signal()

    def __init__(self, *, output: bool = False, parent=None):
        super().__init__(parent)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(1)
        self.minus = _small_button("−", "One neuron fewer")
        self.plus = _small_button("+", "One neuron more")
        self.activation = QComboBox()
        for key, spec in ACTIVATIONS.items():
            self.activation.addItem(spec.label, key)
        self.activation.setToolTip("Activation of this layer")
        # As wide as a short name ("Tanh"), not the longest: nine layers side by side.
        self.activation.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.activation.setMinimumContentsLength(4)
        self.dropout = QDoubleSpinBox()
        self.dropout.setRange(0.0, 0.9)
        self.dropout.setSingleStep(0.1)
        self.dropout.setDecimals(2)
        self.dropout.setPrefix("p=")
        self.dropout.setToolTip("Dropout: the share of this layer's neurons switched off at random in each step")
        self.batchnorm = QCheckBox("BN")
        self.batchnorm.setToolTip("Batch normalization before the activation")
        self.lr_mult = QDoubleSpinBox()
        self.lr_mult.setRange(0.0, 100.0)
        self.lr_mult.setSingleStep(0.5)
        self.lr_mult.setDecimals(2)
        self.lr_mult.setValue(1.0)
        self.lr_mult.setPrefix("lr ×")
        self.lr_mult.setToolTip("This layer's learning rate as a multiple of the global one")
        for spin in (self.dropout, self.lr_mult):
            spin.setMinimumWidth(1)  # their hint has room for "lr ×100.00"; min_control_width() decides
        if not output:
            row = QHBoxLayout()
            row.setSpacing(2)
            row.addStretch(1)
            row.addWidget(self.minus)
            row.addWidget(self.plus)
            row.addStretch(1)
            box.addLayout(row)
            box.addWidget(self.activation)
            box.addWidget(self.dropout)
            box.addWidget(self.batchnorm, 0, Qt.AlignHCenter)
        box.addWidget(self.lr_mult)
        for w in (self.activation,):
            w.currentIndexChanged.connect(self._emit)
        self.dropout.valueChanged.connect(self._emit)
        self.batchnorm.toggled.connect(self._emit)
        self.lr_mult.valueChanged.connect(self._emit)
        self._quiet = False

    def spin_width(self, text: str) -> int:
        """The width a spin box of this layer needs to show ``text`` whole, arrows included."""
        spin = self.lr_mult
        arrows = spin.style().pixelMetric(QStyle.PM_ScrollBarExtent, None, spin)
        return spin.fontMetrics().horizontalAdvance(text) + arrows + 14  # frame and text margins

    def set_values(self, activation: str, dropout: float, batchnorm: bool, lr_mult: float) -> None:
        self._quiet = True
        try:
            self.activation.setCurrentIndex(max(0, self.activation.findData(activation)))
            self.dropout.setValue(dropout)
            self.batchnorm.setChecked(batchnorm)
            self.lr_mult.setValue(lr_mult)
        finally:
            self._quiet = False

    @Slot()
    def _emit(self, *_):
        if not self._quiet:
            self.changed.emit()


class LayerControlsRow(QWidget):
    """Holds one LayerControl per hidden layer plus the output's, placed at given x centres."""

    neurons_requested = Signal(int, int)  # layer, +1 / −1
    layer_changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.controls: list[LayerControl] = []
        self.output_control: LayerControl | None = None
        self._centers: list[float] = []

    def rebuild(self, n_hidden: int) -> None:
        for c in [*self.controls, self.output_control]:
            if c is not None:
                c.setParent(None)
                c.deleteLater()
        self.controls = []
        for i in range(n_hidden):
            c = LayerControl(parent=self)
            c.minus.clicked.connect(lambda _=False, k=i: self.neurons_requested.emit(k, -1))
            c.plus.clicked.connect(lambda _=False, k=i: self.neurons_requested.emit(k, +1))
            c.changed.connect(self.layer_changed)
            c.show()
            self.controls.append(c)
        self.output_control = LayerControl(output=True, parent=self)
        self.output_control.changed.connect(self.layer_changed)
        self.output_control.show()
        self._fit_height()
        self.place()

    @Slot()
    def _fit_height(self) -> None:
        if self.output_control is not None:
            self.setFixedHeight(max(c.sizeHint().height() for c in [*self.controls, self.output_control]) + 2)

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.FontChange:  # presentation mode: taller controls
            QTimer.singleShot(0, self, self._fit_height)

    def min_control_width(self) -> int:
        """The narrowest a layer's controls can be and still show their values whole."""
        # A spin box's minimum hint cuts its text ("p=0.0"), its size hint has room for the
        # largest value ("lr ×100.00"); the usual value and the arrows are what must show.
        widths = [max(c.activation.minimumSizeHint().width(), c.batchnorm.minimumSizeHint().width(),
                      c.spin_width("p=0.00"), c.spin_width("lr ×1.00"))
                  for c in [*self.controls, self.output_control] if c is not None]
        return max(MIN_CONTROL_WIDTH, *widths)

    def set_centers(self, centers: list[float]) -> None:
        self._centers = list(centers)
        self.place()

    def place(self) -> None:
        """Centre each layer's controls over its diagram column (column 0 is the inputs)."""
        widgets = [*self.controls, self.output_control]
        if not self._centers or len(self._centers) != len(widgets) + 1:
            return
        gap = (self._centers[-1] - self._centers[0]) / max(len(widgets), 1)
        edge = 2 * (self.width() - self._centers[-1]) - 4  # the output's controls end at the right edge
        width = int(max(self.min_control_width(), min(130, gap - 4, edge)))
        for w, x in zip(widgets, self._centers[1:]):
            w.setFixedWidth(width)
            w.move(int(min(max(x - width / 2, 0), self.width() - width)), 0)  # never past the edges

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.place()


class LayerCountBar(QWidget):
    """"− / +" for the number of hidden layers, with the count in words."""

    count_requested = Signal(int)  # +1 / −1

    def __init__(self, parent=None):
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.minus = _small_button("−", "Remove the last hidden layer")
        self.plus = _small_button("+", f"Add a hidden layer (at most {MAX_LAYERS})")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.minus.clicked.connect(lambda: self.count_requested.emit(-1))
        self.plus.clicked.connect(lambda: self.count_requested.emit(+1))
        row.addWidget(self.minus)
        row.addWidget(self.plus)
        row.addWidget(self.label, 1)

    def set_count(self, n: int) -> None:
        self.label.setText(f"{n} hidden layer{'s' if n != 1 else ''} (at most {MAX_LAYERS}, {MAX_NEURONS} neurons each)")
        self.minus.setEnabled(n > 0)
        self.plus.setEnabled(n < MAX_LAYERS)
