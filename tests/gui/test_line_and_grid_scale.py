"""Lines and the painted grids follow the font scale, as the text does: a 3 px curve next
to 13 pt text on the projector, a contour or an arrow as heavy relative to its labels at
every scale, and the number and histogram grids at the theme's table size (also exported)."""

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter

from widgets.contour_view import ContourView
from widgets.heatmap import Heatmap
from widgets.histogram_grid import HistogramGrid, LayerHistograms
from widgets.live_plot import LivePlot
from widgets.number_grid import NumberGrid
from widgets.theme import FONT_POINTS, theme


def curve_width(plot: LivePlot, name: str) -> float:
    return pg.mkPen(plot.series(name).curve.opts["pen"]).widthF()


def test_curves_markers_and_fixed_lines_thicken_with_the_font_scale_and_come_back(qtbot):
    plot = LivePlot("Loss", "step", "loss")
    qtbot.addWidget(plot)
    plot.set_data("train", np.arange(5), np.arange(5.0))
    heat = Heatmap()
    qtbot.addWidget(heat)
    contour = ContourView()
    qtbot.addWidget(contour)
    before = curve_width(plot, "train"), heat.train_points.opts["size"], contour._minima.opts["size"]
    assert before[0] == 1.0  # the fast one-pixel path while training at scale 1

    theme().set_style(font_scale=1.5)  # larger text without presentation mode
    assert curve_width(plot, "train") >= 2.5
    assert heat.train_points.opts["size"] == pytest.approx(1.5 * before[1])
    assert pg.mkPen(heat.train_points.opts["pen"]).widthF() == pytest.approx(1.8)
    assert contour._minima.opts["size"] == pytest.approx(1.5 * before[2])

    theme().set_style(font_scale=1.0, presentation=True)
    assert curve_width(plot, "train") == 3.0

    theme().set_style(presentation=False)
    assert (curve_width(plot, "train"), heat.train_points.opts["size"], contour._minima.opts["size"]) == before


def ink(image: QImage) -> int:
    """Pixels of text and lines: far darker than the light background."""
    arr = np.frombuffer(image.convertToFormat(QImage.Format_RGB888).constBits(), np.uint8)
    arr = arr.reshape(image.height(), -1)[:, : image.width() * 3].reshape(image.height(), image.width(), 3)
    return int((arr.astype(int).sum(-1) < 300).sum())


def test_the_number_grid_writes_its_numbers_at_the_theme_table_size(qtbot):
    grid = NumberGrid("weights", preferred_cell=80)
    qtbot.addWidget(grid)
    grid.resize(420, 420)
    grid.set_values(np.zeros((3, 3)))
    grid.show()

    def digit_ink() -> int:  # inside the cells, away from the grid's rules
        image = grid.canvas.grab().toImage()
        cell = grid.cell_rect(1, 1)
        inner = cell.adjusted(cell.width() * 0.15, cell.height() * 0.15, -cell.width() * 0.15, -cell.height() * 0.15)
        return ink(image.copy(inner.toRect()))

    normal = digit_ink()
    theme().set_style(presentation=True)
    big = digit_ink()
    # 1.5 × the point size: about 2.25 × the ink of the digit
    assert big > 1.6 * normal > 0


def test_the_histogram_grid_paints_and_exports_its_labels_at_the_theme_table_size(qtbot):
    bins, n = 20, 3
    counts = np.tile(np.arange(bins, dtype=float), (n, 1))
    edges = np.stack([np.linspace(-1, 1, bins + 1)] * n)
    data = LayerHistograms(counts, edges, counts.copy(), np.linspace(-1, 1, bins + 1), ("L1", "L2", "L3"))
    grid = HistogramGrid("activations", "#0072B2")
    qtbot.addWidget(grid)
    grid.set_histograms(data)

    def painted_label_height() -> int:
        image = QImage(600, 400, QImage.Format_RGB32)
        p = QPainter(image)
        grid.paint_on(p, QRectF(0, 0, 600, 400))
        height = p.fontMetrics().height()
        p.end()
        assert ink(image) > 0
        return height

    normal = painted_label_height()
    theme().set_style(presentation=True)
    big = painted_label_height()
    assert big >= 1.4 * normal
    assert FONT_POINTS["table"] * 1.5 == theme().style.points("table")
