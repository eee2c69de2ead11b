"""Pieces shared by the activation explorer's pages."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from core.activation_functions import ACTIVATIONS
from core.engine import Event
from widgets.theme import theme

__all__ = ["ActivationChecklist", "Page", "activation_color"]


def activation_color(key: str) -> str:
    """Each activation keeps one colour on every page and plot."""
    return theme().style.series_color(list(ACTIVATIONS).index(key))


class ActivationChecklist(QListWidget):
    """Tick the activations to compare."""

    selection_changed = Signal()

    def __init__(self, checked=(), keys=None, parent=None):
        super().__init__(parent)
        for key in keys or ACTIVATIONS:
            item = QListWidgetItem(ACTIVATIONS[key].label)
            item.setData(Qt.UserRole, key)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Checked if key in checked else Qt.Unchecked)
            item.setForeground(_color(key))
            self.addItem(item)
        self.itemChanged.connect(lambda _item: self.selection_changed.emit())
        rows = self.sizeHintForRow(0) * self.count() + 2 * self.frameWidth() + 4
        self.setFixedHeight(rows)
        theme().changed.connect(self._recolor)  # a bound slot: disconnected when this list goes

    @Slot(object)
    def _recolor(self, _style) -> None:
        # SiLU's black would vanish on the dark background: names follow the theme's colours.
        # A new colour is an itemChanged too, and must not read as a new selection (that reran the job).
        self.blockSignals(True)
        for i in range(self.count()):
            self.item(i).setForeground(_color(self.item(i).data(Qt.UserRole)))
        self.blockSignals(False)

    def checked(self) -> tuple[str, ...]:
        return tuple(
            self.item(i).data(Qt.UserRole) for i in range(self.count()) if self.item(i).checkState() == Qt.Checked
        )

    def set_checked(self, keys) -> None:
        unknown = [k for k in keys if k not in ACTIVATIONS]
        if unknown:
            raise ValueError(f"Unknown activation(s): {', '.join(unknown)}")
        self.blockSignals(True)
        for i in range(self.count()):
            item = self.item(i)
            item.setCheckState(Qt.Checked if item.data(Qt.UserRole) in keys else Qt.Unchecked)
        self.blockSignals(False)
        self.selection_changed.emit()


def _color(key: str):
    from PySide6.QtGui import QColor

    return QColor(activation_color(key))


class Page(QWidget):
    """One page of the explorer: its job, its events, its plots and its saved state."""

    key = ""
    title = ""

    def job(self):
        raise NotImplementedError

    def on_event(self, event: Event) -> None:
        pass

    def reset(self) -> None:
        pass

    def plots(self) -> dict:
        return {}

    def state(self) -> dict:
        return {}

    def check_state(self, state: dict) -> None:
        """ValueError naming the field unless :meth:`apply_state` can show all of ``state``."""

    def apply_state(self, state: dict) -> None:
        pass
