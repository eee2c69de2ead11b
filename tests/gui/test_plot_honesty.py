"""Plots say what they cannot show (NaN, inf, float32 underflow, ≤ 0 on a log axis),
log and linear axes get readable ticks, and legends sit where they hide the least."""

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QImage, QPainter

from widgets.live_plot import LivePlot
from widgets.theme import theme


@pytest.fixture
def plot(qtbot):
    p = LivePlot("Loss", "step", "loss")
    p.resize(520, 360)
    qtbot.addWidget(p)
    p.show()
    return p


def mark_lines(plot):
    return [i for i in plot.getPlotItem().items if isinstance(i, pg.InfiniteLine)]


def test_nan_and_inf_are_marked_from_the_step_they_appear(plot, qtbot):
    for step in range(10):
        plot.append("train", step, 1.0 / (step + 1) if step < 6 else np.nan)
        plot.append("test", step, 2.0 if step != 4 else np.inf)
    qtbot.waitUntil(lambda: plot.redraw_count >= 1, timeout=2000)
    assert sorted(plot.marks()) == ["test: inf from step 4", "train: NaN from step 6"]
    assert plot.note.isVisible() and "NaN from step" in plot.note.textItem.toPlainText()
    lines = mark_lines(plot)
    assert sorted(line.value() for line in lines) == [4, 6] and all(line.isVisible() for line in lines)
    # The rest of each curve is still drawn, and the view frames the finite values.
    _, y = plot.series("test").curve.getData()
    assert np.isfinite(y).sum() == 9
    plot.set_data("train", np.arange(10), np.ones(10))
    plot.redraw()
    assert plot.marks() == ["test: inf from step 4"]  # a clean series loses its mark
    # NaN in x and y together is a break between curves drawn as one series, not a value.
    plot.set_data("fits", [0, 1, np.nan, 0, 1], [1.0, 2.0, np.nan, 3.0, 4.0])
    plot.redraw()
    assert plot.marks() == ["test: inf from step 4"]


def test_log_axis_marks_float32_underflow_and_non_positive_values_instead_of_drawing_them(plot):
    plot.set_log_y(True)
    y = np.geomspace(1.0, 1e-6, 20)
    y[12:] = 1e-45  # what float32 gives when the gradient underflows
    plot.set_data("Large Gaussian", np.arange(20), y)
    plot.set_data("saddle f − f*", np.arange(20), np.linspace(1.0, -1.0, 20))
    plot.redraw()
    assert sorted(plot.marks()) == ["Large Gaussian: float32 underflow from step 12", "saddle f − f*: ≤ 0 (off the log axis) from step 10"]
    _, drawn = plot.series("Large Gaussian").curve.getData()
    assert np.isnan(drawn[12:]).all() and np.isfinite(drawn[:12]).all()
    (_, _), (y0, _) = plot.getPlotItem().vb.viewRange()
    assert y0 > np.log10(1e-38)  # the view is not stretched down to the denormals


def test_a_curve_at_its_top_value_is_not_drawn_on_the_frame(plot, qtbot):
    plot.set_data("ReLU′", np.linspace(-3, 3, 50), (np.linspace(-3, 3, 50) > 0).astype(float))
    plot.redraw()
    (_, _), (y0, y1) = plot.getPlotItem().vb.viewRange()
    assert y1 > 1.02 and y0 < -0.02
    paint(plot, qtbot)
    assert 1.0 in labelled_ticks(plot.getPlotItem().getAxis("left"), plot)


def painted_labels(axis):
    """The tick labels the axis really paints, with their rectangles (from pyqtgraph's own layout)."""
    image = QImage(10, 10, QImage.Format_ARGB32)
    painter = QPainter(image)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [(rect, text) for rect, _flags, text in specs[2] if text]


def paint(plot, qtbot):
    """Paint twice: pyqtgraph sizes an axis for its labels while painting, and the new size shows from the next paint."""
    plot.grab()
    qtbot.wait(1)
    plot.grab()


def labelled_ticks(axis, plot):
    return [float(t) for _, t in painted_labels(axis)]


@pytest.mark.parametrize("presentation", [False, True])
@pytest.mark.parametrize(("lo", "hi", "log"), [(1e-42, 10.0, True), (1e-3, 30.0, True), (2.2, 2.9, True), (0.0, 987654.0, False), (1.0, 1.0004, False)])
def test_tick_labels_never_overlap_and_even_narrow_ranges_get_two(qtbot, lo, hi, log, presentation):
    theme().set_style(presentation=presentation)
    plot = LivePlot("Ticks", "step", "value", log_y=log)
    plot.resize(300, 220)  # a small plot in a crowded tab
    qtbot.addWidget(plot)
    plot.show()
    values = np.geomspace(lo, hi, 40) if log else np.linspace(lo, hi, 40)
    plot.set_data("v", values if not log else np.arange(40), values)
    plot.redraw()
    paint(plot, qtbot)
    for name in ("left", "bottom"):
        labels = painted_labels(plot.getPlotItem().getAxis(name))
        assert len(labels) >= 2, (name, labels)
        rects = [r for r, _ in labels]
        for i, a in enumerate(rects):
            for b in rects[i + 1:]:
                assert not a.intersects(b), (name, [t for _, t in labels])


def test_the_legend_moves_to_the_corner_with_the_least_data(plot):
    x = np.linspace(0, 1, 200)
    plot.set_data("rising", x, x)  # fills the top-right and bottom-left corners
    plot.set_data("also rising", x, x * 0.9)
    plot.redraw()
    assert plot.legend_corner() in ((0, 0), (1, 1))
    (vx0, vx1), (vy0, vy1) = plot.getPlotItem().vb.viewRange()
    rect = plot.getPlotItem().vb.mapSceneToView(plot.legend.sceneBoundingRect()).boundingRect()
    inside = (x >= rect.left()) & (x <= rect.right()) & (x >= rect.top()) & (x <= rect.bottom())
    assert not inside.any()
    brush = plot.legend.opts["brush"].color()
    assert 0 < brush.alpha() < 255  # semi-opaque, in the theme's background colour
    assert brush.rgb() == pg.mkColor(theme().style.background).rgb()


def test_a_long_note_wraps_inside_a_small_plot(qtbot):
    theme().set_style(presentation=True)
    plot = LivePlot("Loss f − f*", "step", "", log_y=True)
    plot.resize(360, 240)
    qtbot.addWidget(plot)
    plot.show()
    for i in range(6):
        plot.set_data(f"racer number {i}", np.arange(20), np.linspace(1, -1, 20) + i * 0.01)
    plot.redraw()
    qtbot.wait(1)
    view = plot.getPlotItem().vb.sceneBoundingRect()
    note = plot.note.sceneBoundingRect()
    assert plot.note.isVisible() and "+3" in plot.note.textItem.toPlainText()
    assert view.left() - 1 <= note.left() and note.right() <= view.right() + 1
