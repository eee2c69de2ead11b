"""Fit a pyqtgraph legend into its plot: more columns when the plot is short (a projector's
window, large fonts), smaller text when it is narrow, so that no entry is cut off."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

__all__ = ["CORNERS", "covered_points", "fit_legend", "place_in_emptiest_corner", "shrink_legend_to_its_entries"]

# Corners of a plot's view, (x, y) with x 1 = right and y 0 = top, in the order a legend
# tries them.
CORNERS = ((1, 0), (0, 0), (1, 1), (0, 1))


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


def covered_points(vb: pg.ViewBox, corner, width_px: float, height_px: float, points) -> int:
    """How many of ``points`` ((xs, ys) in view coordinates) a box of that size in pixels
    would hide in that corner of the view."""
    (vx0, vx1), (vy0, vy1) = vb.viewRange()
    px_w, px_h = vb.viewPixelSize()
    w, h = (width_px + 14) * px_w, (height_px + 14) * px_h
    cx, cy = corner
    x0 = vx1 - w if cx else vx0
    y0 = vy1 - h if cy == 0 else vy0  # cy 0: top
    px, py = points
    return int(np.count_nonzero((px >= x0) & (px <= x0 + w) & (py >= y0) & (py <= y0 + h)))


def place_in_emptiest_corner(legend: pg.LegendItem, vb: pg.ViewBox, points, current, offset: float = 10):
    """Anchor ``legend`` in the corner of ``vb`` where it hides the fewest ``points``; ties
    keep ``current`` (no jumping about). Returns the corner it is in."""
    corners = [current] + [c for c in CORNERS if c != current]
    best = min(corners, key=lambda c: covered_points(vb, c, legend.width(), legend.height(), points))
    if best != current:
        cx, cy = best
        legend.anchor(itemPos=(cx, cy), parentPos=(cx, cy), offset=(-offset if cx else offset, -offset if cy else offset))
    return best
