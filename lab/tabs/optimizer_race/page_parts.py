"""Small parts of the race's surface page: a stand-in for a plot not built yet, a chooser
above what it governs, and the tint of a racer's colour behind its leaderboard row."""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

__all__ = ["StandIn", "chooser_column", "light_tint"]


class StandIn(QWidget):
    """An empty page of the metric stack where a plot will be, asking the layout for the
    plot's own sizes, so that building it later moves nothing."""

    def __init__(self, hint, min_hint):
        super().__init__()
        self._hint, self._min_hint = hint, min_hint

    def sizeHint(self):  # noqa: N802
        return self._hint

    def minimumSizeHint(self):  # noqa: N802
        return self._min_hint


def chooser_column(label: str, combo: QComboBox, below: list[tuple[QWidget, int]]) -> QWidget:
    """A labelled chooser on top, the widgets it governs below (with their stretch)."""
    box = QWidget()
    column = QVBoxLayout(box)
    column.setContentsMargins(0, 0, 0, 0)
    row = QHBoxLayout()
    row.addWidget(QLabel(label))
    row.addWidget(combo, 1)
    column.addLayout(row)
    for widget, stretch in below:
        column.addWidget(widget, stretch)
    return box


def light_tint(color: str) -> QColor:
    """A pale tint of ``color``: a table cell's background that keeps its text readable."""
    c = QColor(color)
    return QColor.fromHsvF(c.hsvHueF() if c.hsvHueF() >= 0 else 0, 0.25, 1.0)
