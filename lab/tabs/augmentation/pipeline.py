"""The pipeline editor: an ordered list of transforms (add from a searchable menu,
drag or ↑/↓ to reorder, tick to toggle, remove) and the selected transform's
parameters on labelled controls with its probability ``p``.

Only valid pipelines leave the editor: a value out of range is refused at its control
(NumberField); a combination that torchvision would refuse (minimum above maximum,
RandAugment magnitude ≥ bins) shows its reason under the controls and the last good
pipeline stays in effect.
"""

from __future__ import annotations

import copy
import itertools

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QWidgetAction,
)

from core.transforms import TRANSFORMS, ParamDef, default_entry, normalize_spec, search_transforms
from widgets.param_form import ErrorLabel, NumberField

__all__ = ["PipelineEditor"]

_ids = itertools.count(1)


def distinct_texts(low: float, high: float, decimals: int) -> tuple[str, str]:
    """Two different numbers written as their fields write them, with as many more
    decimals as tell them apart: fields round to 3 decimals, and "1.333 is larger than
    1.333" would say nothing."""
    for n in range(decimals, 16):
        a, b = (f"{v:.{n}f}".rstrip("0").rstrip(".") for v in (low, high))
        if a != b:
            return a, b
    return repr(low), repr(high)


def _spec_of(entries: list[dict]) -> dict:
    return {"version": 1, "transforms": entries}


class PipelineEditor(QWidget):
    changed = Signal()  # a new valid pipeline

    def __init__(self, parent=None):
        super().__init__(parent)
        self._entries: dict[int, dict] = {}
        self.add_button = QPushButton("Add transform ▾")
        self.add_button.setToolTip("Add a torchvision.transforms.v2 transform (type to search)")
        self.add_menu = QMenu(self)
        self.search = QLineEdit()
        self.search.setPlaceholderText("search: blur, crop, colour …")
        self.search.setClearButtonEnabled(True)
        search_action = QWidgetAction(self.add_menu)
        search_action.setDefaultWidget(self.search)
        self.add_menu.addAction(search_action)
        self.add_menu.addSeparator()
        self.type_actions = {}
        group = None
        for d in search_transforms(""):
            if d.group != group and group is not None:
                self.add_menu.addSeparator()
            group = d.group
            act = self.add_menu.addAction(f"{d.title}   ({d.group})")
            act.setData(d.type)
            act.triggered.connect(lambda _=False, t=d.type: self.add_transform(t))
            self.type_actions[d.type] = act
        self.search.textChanged.connect(self._filter_menu)
        self.add_menu.aboutToShow.connect(self._on_menu_show)
        self.add_button.setMenu(self.add_menu)

        self.list = QListWidget()
        self.list.setDragDropMode(QAbstractItemView.InternalMove)
        self.list.setDefaultDropAction(Qt.MoveAction)
        self.list.setSelectionMode(QAbstractItemView.SingleSelection)
        self.list.setMinimumHeight(100)
        self.list.setMaximumHeight(170)
        self.list.setToolTip("Drag to reorder; tick to switch a step on or off")
        self.list.model().rowsMoved.connect(self._order_changed)
        self.list.itemChanged.connect(self._on_item_changed)
        self.list.currentRowChanged.connect(self._show_params)
        # Tool buttons: as narrow as their arrows, so the row fits a narrow column.
        self.up_button = QToolButton()
        self.up_button.setText("↑")
        self.down_button = QToolButton()
        self.down_button.setText("↓")
        self.remove_button = QPushButton("Remove")
        for b, tip in ((self.up_button, "Move the selected step up"), (self.down_button, "Move the selected step down"), (self.remove_button, "Remove the selected step")):
            b.setToolTip(tip)
        self.up_button.clicked.connect(lambda: self.move_selected(-1))
        self.down_button.clicked.connect(lambda: self.move_selected(1))
        self.remove_button.clicked.connect(self.remove_selected)

        self.params_box = QWidget()
        self.params_layout = QFormLayout(self.params_box)
        self.params_layout.setContentsMargins(0, 0, 0, 0)
        self.params_title = QLabel()
        self.params_title.setWordWrap(True)
        self.error = ErrorLabel()
        self.fields: dict[str, object] = {}

        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button, 1)
        buttons.addWidget(self.up_button)
        buttons.addWidget(self.down_button)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.list)
        layout.addWidget(self.params_title)
        layout.addWidget(self.params_box)
        layout.addWidget(self.error)

    # -- the pipeline ---------------------------------------------------------------
    def entries(self) -> list[dict]:
        return [copy.deepcopy(self._entries[self.list.item(r).data(Qt.UserRole)]) for r in range(self.list.count())]

    def set_entries(self, entries: list[dict]) -> None:
        """Replace the whole pipeline (a checked one: from a preset or file)."""
        entries = normalize_spec(_spec_of(entries))["transforms"]
        self.list.blockSignals(True)
        self.list.clear()
        self._entries.clear()
        for e in entries:
            self._append_item(e)
        self.list.blockSignals(False)
        self.list.setCurrentRow(0 if entries else -1)
        self._show_params(self.list.currentRow())
        self.error.clear_error()

    def _append_item(self, entry: dict) -> QListWidgetItem:
        key = next(_ids)
        self._entries[key] = entry
        item = QListWidgetItem()
        item.setData(Qt.UserRole, key)
        item.setFlags(item.flags() | Qt.ItemIsUserCheckable | Qt.ItemIsDragEnabled)
        item.setFlags(item.flags() & ~Qt.ItemIsDropEnabled)  # drop between items, never onto one
        self.list.addItem(item)
        self._label_item(item)
        return item

    def _label_item(self, item: QListWidgetItem) -> None:
        e = self._entries[item.data(Qt.UserRole)]
        d = TRANSFORMS[e["type"]]
        blocked = self.list.blockSignals(True)
        item.setText(f"{d.title}" + (f"   p={e['p']:g}" if e["p"] < 1 else ""))
        item.setCheckState(Qt.Checked if e["enabled"] else Qt.Unchecked)
        item.setToolTip(d.label_breaking and f"Careful: {d.label_breaking}")
        self.list.blockSignals(blocked)

    @Slot(str)
    def add_transform(self, type_name: str) -> None:
        item = self._append_item(default_entry(type_name))
        self.add_menu.hide()
        self.list.setCurrentItem(item)
        self.changed.emit()

    def remove_selected(self) -> None:
        row = self.list.currentRow()
        if row < 0:
            return
        item = self.list.takeItem(row)
        self._entries.pop(item.data(Qt.UserRole), None)
        self._show_params(self.list.currentRow())
        self.changed.emit()

    def move_selected(self, delta: int) -> None:
        row = self.list.currentRow()
        new = row + delta
        if row < 0 or not 0 <= new < self.list.count():
            return
        blocked = self.list.blockSignals(True)
        item = self.list.takeItem(row)
        self.list.insertItem(new, item)
        self.list.blockSignals(blocked)
        self.list.setCurrentRow(new)
        self.changed.emit()

    @Slot()
    def _order_changed(self) -> None:
        self._show_params(self.list.currentRow())
        self.changed.emit()

    @Slot(QListWidgetItem)
    def _on_item_changed(self, item: QListWidgetItem) -> None:
        e = self._entries.get(item.data(Qt.UserRole))
        if e is None:
            return
        enabled = item.checkState() == Qt.Checked
        if enabled != e["enabled"]:
            e["enabled"] = enabled
            self.changed.emit()

    # -- the selected step's controls ------------------------------------------------
    def _filter_menu(self, text: str) -> None:
        shown = {d.type for d in search_transforms(text)}
        for t, act in self.type_actions.items():
            act.setVisible(t in shown)

    def _on_menu_show(self) -> None:
        self.search.clear()
        QTimer.singleShot(0, self.search.setFocus)

    def _clear_params(self) -> None:
        while self.params_layout.rowCount():
            self.params_layout.removeRow(0)
        self.fields = {}

    @Slot(int)
    def _show_params(self, row: int) -> None:
        self._clear_params()
        self.error.clear_error()
        if row < 0 or row >= self.list.count():
            self.params_title.setText("Add a transform to start.")
            return
        key = self.list.item(row).data(Qt.UserRole)
        e = self._entries[key]
        d = TRANSFORMS[e["type"]]
        note = f"<br><i>Careful: {d.label_breaking}.</i>" if d.label_breaking else ""
        self.params_title.setText(f"<b>{d.title}</b> — v2.{d.type}{note}")
        p_field = NumberField("probability p", e["p"], 0.0, 1.0, decimals=2, tooltip="How often this step is applied")
        p_field.value_changed.connect(lambda v: self._edit(key, "p", None, v))
        self.params_layout.addRow(p_field)
        self.fields["p"] = p_field
        for q in d.params:
            self._add_param_controls(key, q, e["params"][q.name])

    def _add_param_controls(self, key: int, q: ParamDef, value) -> None:
        if q.kind in ("float", "int"):
            f = NumberField(q.title, value, q.lo, q.hi, integer=q.kind == "int", decimals=3, tooltip=q.help)
            f.value_changed.connect(lambda v, n=q.name: self._edit(key, n, None, v))
            self.params_layout.addRow(f)
            self.fields[q.name] = f
        elif q.kind in ("pair", "triple"):
            names = ("min", "max") if q.kind == "pair" else ("R", "G", "B")
            row = QHBoxLayout()
            for i, part in enumerate(names):
                f = NumberField(f"{q.title} {part}", value[i], q.lo, q.hi, decimals=3, tooltip=q.help)
                f.value_changed.connect(lambda v, n=q.name, i=i: self._edit(key, n, i, v))
                row.addWidget(f)
                self.fields[f"{q.name}.{i}"] = f
            self.params_layout.addRow(row)
        elif q.kind == "bool":
            box = QCheckBox(q.title)
            box.setChecked(bool(value))
            box.toggled.connect(lambda v, n=q.name: self._edit(key, n, None, bool(v)))
            self.params_layout.addRow(box)
            self.fields[q.name] = box
        elif q.kind == "choice":
            combo = QComboBox()
            combo.addItems(list(q.choices))
            combo.setCurrentText(value)
            combo.currentTextChanged.connect(lambda v, n=q.name: self._edit(key, n, None, v))
            self.params_layout.addRow(q.title, combo)
            self.fields[q.name] = combo

    def _refuse_crossed_pair(self, key: int, name: str, index: int, pair: list) -> None:
        """A minimum above its maximum, refused at the field just edited, as the core refuses
        it: the field goes back to the last good value, with the typed text left to fix."""
        field = self.fields[f"{name}.{index}"]
        low, high = distinct_texts(pair[0], pair[1], field.decimals)
        field.set_value(self._entries[key]["params"][name][index], emit=False)
        # The refused number stays in the box, with the digits the message quotes: the
        # box's own rounding (1.3334 shown as 1.333) would be taken as a new value on leaving.
        field.edit.setText(low if index == 0 else high)
        title = TRANSFORMS[self._entries[key]["type"]].param(name).title
        if index == 0:
            field.error.show_error(f"The {title} minimum {low} is larger than the maximum {high}; enter at most {high}")
        else:
            field.error.show_error(f"The {title} maximum {high} is smaller than the minimum {low}; enter at least {low}")

    def _edit(self, key: int, name: str, index: int | None, value) -> None:
        """Apply one control's new value if the whole step stays valid."""
        entry = copy.deepcopy(self._entries[key])
        if name == "p":
            entry["p"] = float(value)
        elif index is None:
            entry["params"][name] = value
        else:
            entry["params"][name][index] = value
            pair = entry["params"][name]
            if TRANSFORMS[entry["type"]].param(name).kind == "pair" and pair[0] > pair[1]:
                self._refuse_crossed_pair(key, name, index, pair)
                return
        try:
            checked = normalize_spec(_spec_of([entry]))["transforms"][0]
        except ValueError as exc:
            self.error.show_error(str(exc))
            return
        self.error.clear_error()
        if index is not None:  # the pair is in order again: neither half is refused any more
            for i in range(len(entry["params"][name])):
                other = self.fields.get(f"{name}.{i}")
                if isinstance(other, NumberField) and i != index and other.error.isVisible():
                    other.set_value(checked["params"][name][i], emit=False)
        self._entries[key] = checked
        for r in range(self.list.count()):
            if self.list.item(r).data(Qt.UserRole) == key:
                self._label_item(self.list.item(r))
        self.changed.emit()
