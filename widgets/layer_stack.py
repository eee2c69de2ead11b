"""LayerStackEditor: a network as a list of layers, edited by pointing and clicking.

Rows can be added (menu of layer types), removed, moved up/down or dragged. The
selected layer's settings appear below the list as spin boxes and menus whose ranges
come from the layer-type schema, so a value out of range cannot be typed in.

The editor knows nothing of torch: the lab computes, from ``layers()``, each row's
output shape, parameters, multiply-adds, receptive field and error, and hands them
back with :meth:`set_report`. A row with an error is painted red with its reason.
"""

from __future__ import annotations

import copy
from typing import Any, Mapping, Sequence

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QSpinBox,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from widgets.param_form import ErrorLabel
from widgets.theme import theme

__all__ = ["LayerStackEditor", "COLUMNS"]

COLUMNS = ["#", "Layer", "Output", "Params", "Mult-adds", "RF", "As FC"]
_TIPS = [
    "Position in the stack",
    "The layer and its settings",
    "Output shape for one image (channels×height×width, or features)",
    "Learnable parameters (weights and biases); pooling and activations have none",
    "Multiply-adds for one image",
    "Receptive field: how many input pixels (per side) one output value sees",
    "Parameters a fully connected layer would need for the same input→output mapping",
]
_ROLE = Qt.UserRole


def _count(n: int | None) -> str:
    """Exact below 100,000 (students compare these with their own sums), else 4.2M style."""
    if n is None:
        return ""
    if n < 100_000:
        return f"{n:,}"
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            return f"{n / div:.3g}{suffix}"
    return f"{n:,}"


class _StackTree(QTreeWidget):
    """A flat list whose rows are reordered by dragging; tells when a drop happened."""

    dropped = Signal()

    def dropEvent(self, event) -> None:
        super().dropEvent(event)
        self.dropped.emit()


class LayerStackEditor(QWidget):
    changed = Signal(list)  # the layers, after any edit

    def __init__(self, layer_types: Mapping[str, Any], parent: QWidget | None = None):
        super().__init__(parent)
        self._types = layer_types
        self._output_item: QTreeWidgetItem | None = None
        self.tree = _StackTree()
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(COLUMNS)
        for i, tip in enumerate(_TIPS):
            self.tree.headerItem().setToolTip(i, tip)
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SingleSelection)
        self.tree.setDragDropMode(QAbstractItemView.InternalMove)
        self.tree.setDefaultDropAction(Qt.MoveAction)
        header = self.tree.header()
        # The numbers as wide as their contents; the layer's name takes the width left, so
        # the list fits a narrow panel (presentation mode) instead of scrolling sideways: a
        # long name is then cut short with "…" and shown whole in its tooltip.
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.Stretch)
        self.tree.dropped.connect(self._on_rows_moved)
        self.tree.currentItemChanged.connect(self._on_current_changed)

        self.add_button = QToolButton()
        self.add_button.setText("Add layer")
        self.add_button.setPopupMode(QToolButton.InstantPopup)
        menu = QMenu(self.add_button)
        for kind, spec in layer_types.items():
            menu.addAction(spec.label).triggered.connect(lambda _=False, k=kind: self.add_layer(k))
        self.add_button.setMenu(menu)
        self.remove_button = QToolButton(text="Remove")
        self.up_button = QToolButton(text="Up")
        self.down_button = QToolButton(text="Down")
        self.remove_button.clicked.connect(self.remove_selected)
        self.up_button.clicked.connect(lambda: self.move_selected(-1))
        self.down_button.clicked.connect(lambda: self.move_selected(1))
        buttons = QHBoxLayout()
        for b in (self.add_button, self.remove_button, self.up_button, self.down_button):
            buttons.addWidget(b)
        buttons.addStretch(1)

        self.totals = QLabel()
        self.totals.setWordWrap(True)
        self.error = ErrorLabel()
        self.details = QGroupBox("Selected layer")
        self._details_form = QFormLayout(self.details)
        self.details_help = QLabel()
        self.details_help.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.totals)
        layout.addWidget(self.error)
        layout.addWidget(self.details)
        self._rebuild_details(None)

    # -- the stack ---------------------------------------------------------------------
    def layers(self) -> list[dict]:
        return [copy.deepcopy(self.tree.topLevelItem(i).data(0, _ROLE)) for i in range(self._layer_count())]

    def set_layers(self, layers: Sequence[dict], *, emit: bool = True) -> None:
        self.tree.clear()
        for layer in layers:
            self.tree.addTopLevelItem(self._make_item(dict(layer)))
        self._output_item = QTreeWidgetItem(["", "Output"])
        self._output_item.setFlags(Qt.ItemIsEnabled)  # fixed: not selectable, not draggable
        self.tree.addTopLevelItem(self._output_item)
        self._renumber()
        self._rebuild_details(None)
        if emit:
            self.changed.emit(self.layers())

    def add_layer(self, kind: str) -> None:
        spec = self._types[kind]
        layer = {"type": kind, **{f.name: f.default for f in spec.fields}}
        row = self._selected_row()
        at = self._layer_count() if row is None else row + 1
        item = self._make_item(layer)
        self.tree.insertTopLevelItem(at, item)
        self.tree.setCurrentItem(item)
        self._edited()

    @Slot()
    def remove_selected(self) -> None:
        row = self._selected_row()
        if row is None:
            return
        self.tree.takeTopLevelItem(row)
        self._edited()

    def move_selected(self, delta: int) -> None:
        row = self._selected_row()
        if row is None or not 0 <= row + delta < self._layer_count():
            return
        item = self.tree.takeTopLevelItem(row)
        self.tree.insertTopLevelItem(row + delta, item)
        self.tree.setCurrentItem(item)
        self._edited()

    def select_row(self, row: int) -> None:
        if 0 <= row < self._layer_count():
            self.tree.setCurrentItem(self.tree.topLevelItem(row))

    # -- what the lab computed ---------------------------------------------------------
    def set_report(self, rows: Sequence[Mapping[str, Any]], totals: str, error: str = "", error_index: int | None = None) -> None:
        """Per row: label, shape (text), params, macs, rf, fc; the output row is the last."""
        items = [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]
        red = QBrush(QColor("#6b2424" if theme().style.dark else "#f6c9c9"))
        for i, item in enumerate(items):
            info = rows[i] if i < len(rows) else {}
            if info.get("label"):
                item.setText(1, info["label"])
            item.setText(2, info.get("shape", ""))
            item.setText(3, _count(info.get("params")) if info.get("shape") else "")
            item.setText(4, _count(info.get("macs")) if info.get("shape") else "")
            item.setText(5, str(info["rf"]) if info.get("rf") else "")
            item.setText(6, _count(info.get("fc")))
            bad = error_index == i
            for c in range(len(COLUMNS)):
                item.setBackground(c, red if bad else QBrush())
                item.setToolTip(c, info.get("error", "") if bad else "")
            if not bad:
                item.setToolTip(1, item.text(1))  # the name whole, where the column cuts it short
            if bad:
                item.setText(2, "✗ " + info.get("error", "error"))
        self.totals.setText(totals)
        self.error.show_error(error)

    # -- internals --------------------------------------------------------------------
    def _layer_count(self) -> int:
        n = self.tree.topLevelItemCount()
        return n - 1 if self._output_item is not None and n else n

    def _selected_row(self) -> int | None:
        item = self.tree.currentItem()
        if item is None or item is self._output_item:
            return None
        return self.tree.indexOfTopLevelItem(item)

    def _make_item(self, layer: dict) -> QTreeWidgetItem:
        item = QTreeWidgetItem(["", self._types[layer["type"]].label if layer.get("type") in self._types else str(layer.get("type"))])
        item.setData(0, _ROLE, layer)
        # Rows move between rows only: never dropped *into* another row.
        item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDragEnabled)
        return item

    def _renumber(self) -> None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            item.setText(0, "" if item is self._output_item else str(i + 1))

    def _edited(self) -> None:
        self._keep_output_last()
        self._renumber()
        self._rebuild_details(self._selected_row())
        self.changed.emit(self.layers())

    def _keep_output_last(self) -> None:
        if self._output_item is None:
            return
        idx = self.tree.indexOfTopLevelItem(self._output_item)
        if idx != self.tree.topLevelItemCount() - 1:
            self.tree.takeTopLevelItem(idx)
            self.tree.addTopLevelItem(self._output_item)

    @Slot()
    def _on_rows_moved(self, *_args) -> None:
        self._edited()

    @Slot(object, object)
    def _on_current_changed(self, _cur, _prev) -> None:
        self._rebuild_details(self._selected_row())

    def _rebuild_details(self, row: int | None) -> None:
        while self._details_form.rowCount():
            self._details_form.removeRow(0)
        self.details_help = QLabel()
        self.details_help.setWordWrap(True)
        self._details_form.addRow(self.details_help)
        self.remove_button.setEnabled(row is not None)
        self.up_button.setEnabled(row is not None and row > 0)
        self.down_button.setEnabled(row is not None and row < self._layer_count() - 1)
        if row is None:
            self.details_help.setText("Click a layer to change its settings; drag or use Up/Down to reorder.")
            return
        layer = self.tree.topLevelItem(row).data(0, _ROLE)
        spec = self._types.get(layer["type"])
        self.details_help.setText(f"<b>{spec.label}</b> — {spec.help}" if spec else "")
        for f in spec.fields if spec else ():
            self._details_form.addRow(f.label, self._field_editor(row, f, layer.get(f.name, f.default)))
        if spec and not spec.fields:
            self._details_form.addRow(QLabel("No settings."))

    def _field_editor(self, row: int, f, value) -> QWidget:
        if f.choices:
            w = QComboBox()
            w.addItems(list(f.choices))
            w.setCurrentText(str(value))
            w.currentTextChanged.connect(lambda v, r=row, n=f.name: self._set_field(r, n, v))
        elif f.is_float:
            w = QDoubleSpinBox()
            w.setDecimals(2)
            w.setSingleStep(0.05)
            w.setRange(f.lo, f.hi)
            w.setValue(float(value))
            w.valueChanged.connect(lambda v, r=row, n=f.name: self._set_field(r, n, float(v)))
        else:
            w = QSpinBox()
            w.setRange(int(f.lo), int(f.hi))
            w.setValue(int(value))
            w.valueChanged.connect(lambda v, r=row, n=f.name: self._set_field(r, n, int(v)))
        w.setObjectName(f"field_{f.name}")
        return w

    def _set_field(self, row: int, name: str, value) -> None:
        item = self.tree.topLevelItem(row)
        if item is None or item is self._output_item:
            return
        layer = dict(item.data(0, _ROLE))
        layer[name] = value
        item.setData(0, _ROLE, layer)
        self.changed.emit(self.layers())

    def field_editor(self, name: str) -> QWidget | None:
        """The editor of the selected layer's setting ``name`` (tests click it)."""
        return self.details.findChild(QWidget, f"field_{name}")
