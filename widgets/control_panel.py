"""The column of grouped controls at the left of a lab page, and keyed combo boxes."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLabel, QScrollArea, QVBoxLayout, QWidget

__all__ = ["ControlPanel", "FittedScrollArea", "keyed_combo", "select_key", "fit_narrow", "scroll_column"]

NARROW_COMBO_CHARS = 12  # a combo box in a side column shows at least this much of its text


def fit_narrow(root: QWidget, chars: int = NARROW_COMBO_CHARS) -> None:
    """Let the combo boxes under ``root`` shrink to a projector's width: they give up the
    width of their longest item (the open list still shows it whole)."""
    for box in root.findChildren(QComboBox):
        box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        box.setMinimumContentsLength(chars)


class FittedScrollArea(QScrollArea):
    """A column that scrolls: as wide as its content needs (between ``least`` and ``most``
    pixels, following font changes), with a horizontal scroll bar only when the content
    needs more than ``most``: never cut off at the side."""

    def __init__(self, parent=None, *, least: int = 300, most: int = 420):
        super().__init__(parent)
        self.least, self.most = least, most
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAsNeeded)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        hint = super().minimumSizeHint()
        content = self.widget()
        if content is None:
            return hint
        want = content.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()
        return QSize(max(self.least, min(want, self.most)), hint.height())

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if watched is self.widget() and event.type() == QEvent.LayoutRequest:
            self.updateGeometry()  # the content's least width changed (fonts, a new row)
            self._fit_height()
        return super().eventFilter(watched, event)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit_height()

    def _fit_height(self) -> None:
        # A scroll area gives its content the content's minimum height, which counts a
        # wrapping label as one line: at a narrow width the label takes more, and the rows
        # around it were squeezed. The height for the width shown is what it needs.
        content = self.widget()
        if content is not None and content.hasHeightForWidth():
            content.setMinimumHeight(max(0, content.heightForWidth(self.viewport().width())))


class ControlPanel(FittedScrollArea):
    """A scrollable column of grouped controls at the left of a page."""

    def __init__(self, parent=None):
        super().__init__(parent, least=300, most=380)
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
    area = FittedScrollArea(least=min_width)
    area.setFrameShape(QScrollArea.NoFrame)
    area.setWidget(content)
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
