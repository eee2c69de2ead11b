"""The settings column of the convolution tab: plain widgets, each with its error label.

The panel emits ``changed(key, value)`` for every edit; the tab checks the resulting
layer and either accepts it or calls :meth:`refuse` (message at the control, value
put back). :meth:`show_state` writes a state into the widgets without emitting.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from assets import images_dir
from core.convolution.spec import PADDING_MODES
from lab.tabs.convolution.state import DIRECTION_LABELS, FILLS, INT_RANGES, OP_LABELS
from widgets.param_form import ErrorLabel, parse_number

__all__ = ["ConvControls", "IMAGE_DIR", "PRESET_LABELS"]

IMAGE_DIR = images_dir()
PRESET_LABELS = {
    "identity": "identity",
    "box": "box blur",
    "gaussian": "Gaussian blur",
    "sharpen": "sharpen",
    "sobel_x": "Sobel x (vertical edges)",
    "sobel_y": "Sobel y (horizontal edges)",
    "laplacian": "Laplacian",
    "emboss": "emboss",
    "random": "random",
}
SAMPLE_SCENE = "sample scene (drawn by the lab)"


def _spin(lo: int, hi: int, tip: str = "") -> QSpinBox:
    s = QSpinBox()
    s.setRange(lo, hi)
    # Only Enter, focus-out and the arrows commit: typing "12" must not try "1" first.
    s.setKeyboardTracking(False)
    s.setToolTip(tip)
    return s


def _combo(items: dict[str, str] | list[str]) -> QComboBox:
    c = QComboBox()
    c.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
    c.setMinimumContentsLength(10)
    for key, label in (items.items() if isinstance(items, dict) else ((i, i) for i in items)):
        c.addItem(label, key)
    return c


class ConvControls(QScrollArea):
    changed = Signal(str, object)  # key, value
    fill_requested = Signal(str)  # fill kind
    image_requested = Signal(str)  # image name or path
    open_image_requested = Signal()
    preset_requested = Signal(str, bool)  # preset, all filters

    def __init__(self):
        super().__init__()
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAsNeeded)
        body = QWidget()
        self.column = QVBoxLayout(body)
        self.column.setContentsMargins(4, 4, 4, 4)
        self.setWidget(body)
        self.setMinimumWidth(360)
        self.widgets: dict[str, QWidget] = {}
        self.errors: dict[str, ErrorLabel] = {}

        layer = self._group("Layer")
        self.op = self._add(layer, "op", "Operation", _combo(OP_LABELS))
        self.direction = self._add(layer, "direction", "Pass", _combo(DIRECTION_LABELS))

        inp = self._group("Input")
        self.source = self._add(inp, "source", "Source", _combo({"numbers": "numbers (editable)", "image": "image"}))
        self.channels = self._add(inp, "channels", "Channels", _spin(0, 8, "Several channels make a 3-D volume"))
        self.height = self._add(inp, "height", "Height", _spin(0, 64))
        self.width = self._add(inp, "width", "Width", _spin(0, 64))
        fill_row = QHBoxLayout()
        self.fill = _combo(list(FILLS))
        self.fill_button = QPushButton("Fill")
        self.fill_button.setToolTip("Replace every input cell (double-click a cell to type one value)")
        fill_row.addWidget(self.fill, 1)
        fill_row.addWidget(self.fill_button)
        inp.addRow("Values", fill_row)
        self.image = _combo({})
        self.image.addItem(SAMPLE_SCENE, "sample")
        for p in sorted(IMAGE_DIR.glob("*.png")) if IMAGE_DIR.is_dir() else []:
            self.image.addItem(p.stem, str(p))
        # Short, so that the button fits beside the list in a projector's column.
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Open an image file of your own")
        image_row = QHBoxLayout()
        image_row.addWidget(self.image, 1)
        image_row.addWidget(self.open_button)
        inp.addRow("Image", image_row)
        self.image_size = _spin(4, 64, "Images are downscaled to this many cells a side")
        self.image_size.setValue(24)
        self.gray = QCheckBox("grey (one channel)")
        self.gray.setChecked(True)
        size_row = QHBoxLayout()
        size_row.addWidget(self.image_size)
        size_row.addWidget(self.gray)
        inp.addRow("Image size", size_row)
        self._error_row(inp, "input")

        ker = self._group("Kernel")
        self.filters = self._add(ker, "filters", "Filters", _spin(0, 16, "Output channels: one kernel stack each"))
        self.kh = self._add(ker, "kh", "Kernel height", _spin(0, 7))
        self.kw = self._add(ker, "kw", "Kernel width", _spin(0, 7))
        self.preset = _combo(PRESET_LABELS)
        self.preset_one = QPushButton("Apply to filter:")
        self.preset_filter = _spin(0, 15)
        self.preset_all = QPushButton("to all")
        row = QHBoxLayout()
        row.addWidget(self.preset_one)
        row.addWidget(self.preset_filter)
        row.addWidget(self.preset_all)
        ker.addRow("Preset", self.preset)
        ker.addRow(row)
        self.bias = QLineEdit()
        self.bias.setToolTip("One bias per filter, separated by spaces or semicolons")
        self._add(ker, "bias", "Bias", self.bias)
        self._error_row(ker, "kernel")

        geo = self._group("Stride, padding, dilation")
        self.stride = self._add(geo, "stride", "Stride", _spin(*INT_RANGES["stride"], "How far the window moves each step"))
        self.padding_kind = self._add(geo, "padding_kind", "Padding", _combo({"amount": "amount", "same": "same", "valid": "valid (none)"}))
        self.padding = self._add(geo, "padding", "Padding amount", _spin(*INT_RANGES["padding"]))
        self.padding_mode = self._add(geo, "padding_mode", "Padding mode", _combo(list(PADDING_MODES)))
        self.dilation = self._add(geo, "dilation", "Dilation", _spin(*INT_RANGES["dilation"], "Gap between kernel taps"))
        self.output_padding = self._add(geo, "output_padding", "Output padding", _spin(*INT_RANGES["output_padding"], "Transposed only: extra rows/columns at the end"))
        self.window = self._add(geo, "window", "Pooling window", _spin(*INT_RANGES["window"]))

        back = self._group("Backward")
        self.upstream = self._add(back, "upstream", "Upstream ∂L/∂y", _combo({"ones": "ones (L = sum of outputs)", "random": "random", "typed": "typed in the grid"}))
        self.upstream_seed = self._add(back, "upstream_seed", "Seed", _spin(*INT_RANGES["upstream_seed"]))
        self.column.addStretch(1)

        self.fill_button.clicked.connect(lambda: self.fill_requested.emit(self.fill.currentData()))
        self.image.activated.connect(lambda _i: self.image_requested.emit(self.image.currentData()))
        self.open_button.clicked.connect(self.open_image_requested)
        self.preset_one.clicked.connect(lambda: self.preset_requested.emit(self.preset.currentData(), False))
        self.preset_all.clicked.connect(lambda: self.preset_requested.emit(self.preset.currentData(), True))
        self.image_size.valueChanged.connect(lambda _v: self.image_requested.emit(self.image.currentData()) if self.source.currentData() == "image" else None)
        self.gray.toggled.connect(lambda _v: self.image_requested.emit(self.image.currentData()) if self.source.currentData() == "image" else None)

    # -- building --------------------------------------------------------------
    def _group(self, title: str) -> QFormLayout:
        box = QGroupBox(title)
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        # At a projector's font a label and its row (a box and a button) are wider than the
        # column: the row then goes under its label instead of scrolling sideways.
        form.setRowWrapPolicy(QFormLayout.WrapLongRows)
        self.column.addWidget(box)
        return form

    def _error_row(self, form: QFormLayout, key: str) -> ErrorLabel:
        err = ErrorLabel()
        form.addRow(err)
        self.errors[key] = err
        return err

    def _add(self, form: QFormLayout, key: str, label: str, widget: QWidget) -> QWidget:
        form.addRow(label, widget)
        self.widgets[key] = widget
        if key not in self.errors:
            self._error_row(form, key)
        if isinstance(widget, QSpinBox):
            widget.valueChanged.connect(lambda v, k=key: self.changed.emit(k, int(v)))
        elif isinstance(widget, QComboBox):
            widget.activated.connect(lambda _i, k=key, w=widget: self.changed.emit(k, w.currentData()))
        elif isinstance(widget, QLineEdit):
            widget.editingFinished.connect(lambda k=key, w=widget: self._emit_text(k, w))
        return widget

    def _emit_text(self, key: str, widget: QLineEdit) -> None:
        parts = [p for p in widget.text().replace(";", " ").split() if p]
        try:
            values = [parse_number(p) for p in parts]
        except ValueError as exc:
            self.refuse(key, str(exc))
            return
        if not values:
            self.refuse(key, "Enter one bias per filter")
            return
        self.changed.emit(key, values)

    # -- state -----------------------------------------------------------------
    def show_state(self, s: dict) -> None:
        """Write the values of a state into the widgets without emitting anything."""
        import numpy as np

        x, w = np.asarray(s["input"]), np.asarray(s["weight"])
        values = {
            "op": s["op"], "direction": s["direction"], "source": s["source"], "channels": x.shape[0],
            "height": x.shape[1], "width": x.shape[2], "filters": w.shape[0], "kh": w.shape[2], "kw": w.shape[3],
            "bias": "  ".join(f"{b:g}" for b in s["bias"]), "stride": s["stride"], "padding_kind": s["padding_kind"],
            "padding": s["padding"], "padding_mode": s["padding_mode"], "dilation": s["dilation"],
            "output_padding": s["output_padding"], "window": s["window"], "upstream": s["upstream"], "upstream_seed": s["upstream_seed"],
        }
        for key, v in values.items():
            widget = self.widgets[key]
            widget.blockSignals(True)
            if isinstance(widget, QSpinBox):
                widget.setValue(int(v))
            elif isinstance(widget, QComboBox):
                widget.setCurrentIndex(max(0, widget.findData(v)))
            else:
                widget.setText(str(v))
            widget.blockSignals(False)
        self.preset_filter.setMaximum(max(0, w.shape[0] - 1))
        self._enable(s, w.shape[0])

    def _enable(self, s: dict, filters: int) -> None:
        op, pool = s["op"], s["op"] in ("maxpool", "avgpool")
        one_d = op == "conv1d"
        for key in ("filters", "kh", "kw", "bias"):
            self.widgets[key].setEnabled(not pool)
        self.kh.setEnabled(not pool and not one_d)
        self.height.setEnabled(not one_d and s["source"] == "numbers")
        self.width.setEnabled(s["source"] == "numbers")
        self.channels.setEnabled(s["source"] == "numbers")
        for w in (self.preset, self.preset_one, self.preset_all, self.preset_filter):
            w.setEnabled(not pool)
        self.window.setEnabled(pool)
        self.output_padding.setEnabled(op == "transposed")
        self.padding_mode.setEnabled(op in ("conv1d", "conv2d"))
        self.padding.setEnabled(s["padding_kind"] == "amount")
        self.direction.setEnabled(op in ("conv1d", "conv2d"))
        backward = s["direction"] != "forward"
        self.upstream.setEnabled(backward)
        self.upstream_seed.setEnabled(backward and s["upstream"] == "random")
        for w in (self.image, self.open_button, self.image_size, self.gray):
            w.setEnabled(s["source"] == "image")
        self.fill.setEnabled(s["source"] == "numbers")
        self.fill_button.setEnabled(s["source"] == "numbers")

    def refuse(self, key: str, message: str) -> None:
        """Show why an edit was refused next to its control."""
        err = self.errors.get(key) or self.errors["input"]
        err.show_error(message)

    def clear_errors(self) -> None:
        for err in self.errors.values():
            err.clear_error()
