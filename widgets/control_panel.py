"""The column of grouped controls at the left of a lab page, and keyed combo boxes."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLabel, QScrollArea, QVBoxLayout, QWidget

__all__ = ["ControlPanel", "keyed_combo", "select_key", "fit_narrow", "scroll_column"]

NARROW_COMBO_CHARS = 12  # a combo box in a side column shows at least this much of its text


def fit_narrow(root: QWidget, chars: int = NARROW_COMBO_CHARS) -> None:
    """Let the combo boxes under ``root`` shrink to a projector's width: they give up the
    width of their longest item (the open list still shows it whole)."""
    for box in root.findChildren(QComboBox):
        box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        box.setMinimumContentsLength(chars)


class ControlPanel(QScrollArea):
    """A scrollable column of grouped controls at the left of a page."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setMinimumWidth(300)
        self.setMaximumWidth(380)
        inner = QWidget()
        self.column = QVBoxLayout(inner)
        self.column.addStretch(1)  # controls stay at the top at their natural height
        self.setWidget(inner)

    def _append(self, widget: QWidget) -> None:
        self.column.insertWidget(self.column.count() - 1, widget)

    def group(self, title: str) -> QFormLayout:
        box = QGroupBox(title)
        form = QFormLayout(box)
        form.setRowWrapPolicy(QFormLayout.WrapLongRows)
        self._append(box)
        return form

    def add(self, widget: QWidget) -> QWidget:
        self._append(widget)
        return widget

    def note(self, text: str) -> QLabel:
        label = QLabel(text)
        label.setWordWrap(True)
        label.setTextFormat(Qt.RichText)
        self._append(label)
        return label


def scroll_column(content: QWidget, min_width: int = 300) -> QScrollArea:
    """``content`` (a column of controls) in a scroll area that is at least ``min_width``
    wide and as tall as the window allows; the controls shrink as :func:`fit_narrow`
    lets them, and what still does not fit scrolls instead of being cut off."""
    fit_narrow(content)
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.NoFrame)
    area.setWidget(content)
    area.setMinimumWidth(min_width)
    return area


def keyed_combo(items: dict[str, str], current: str) -> QComboBox:
    """A combo box showing labels and carrying keys as item data."""
    box = QComboBox()
    for key, label in items.items():
        box.addItem(label, key)
    box.setCurrentIndex(box.findData(current))
    return box


def select_key(box: QComboBox, key: str, what: str) -> None:
    """Select the item whose key is ``key``; ValueError naming ``what`` otherwise."""
    index = box.findData(key)
    if index < 0:
        raise ValueError(f"Unknown {what} {key!r}")
    box.setCurrentIndex(index)
