"""Fit a pyqtgraph legend into its plot: more columns when the plot is short (a projector's
window, large fonts), smaller text when it is narrow, so that no entry is cut off."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt

__all__ = ["fit_legend", "shrink_legend_to_its_entries"]


def shrink_legend_to_its_entries(legend: pg.LegendItem) -> None:
    """pyqtgraph sizes a legend from its entries' current geometry, which keeps the size of
    a larger text until the next layout pass: the box stayed as tall as in presentation
    mode and covered data. Give each entry its preferred size first."""
    for sample, label in legend.items:
        for entry in (sample, label):
            entry.resize(entry.effectiveSizeHint(Qt.PreferredSize))
    legend.updateSize()


def fit_legend(legend: pg.LegendItem, room_w: float, room_h: float, text_size) -> None:
    """Lay ``legend`` out to fit ``room_w`` × ``room_h`` px, starting from ``text_size``
    (the style's size, e.g. "9pt"): one column if it fits, else as many as it takes
    while they still fit across, and text at 85 % or 70 % when even one row is too wide."""
    points = float(str(text_size).removesuffix("pt")) if str(text_size).endswith("pt") else None
    for factor in (1.0, 0.85, 0.7):
        if points is not None:
            legend.setLabelTextSize(f"{points * factor:.1f}pt")
            for _sample, label in legend.items:
                label.setText(label.text)  # setLabelTextSize only notes the size for the next text
        for columns in range(1, len(legend.items) + 1):
            legend.setColumnCount(columns)
            shrink_legend_to_its_entries(legend)
            rect = legend.boundingRect()
            if rect.height() <= room_h or rect.width() > room_w:
                break
        if rect.width() > room_w and columns > 1:
            legend.setColumnCount(columns - 1)  # too wide: the last count that still fit across
            shrink_legend_to_its_entries(legend)
        if legend.boundingRect().width() <= room_w or points is None:
            break
