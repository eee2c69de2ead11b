import csv
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PySide6.QtGui import QImage

from widgets.export import save_gif, write_csv
from widgets.live_plot import LivePlot


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


@pytest.fixture
def plot(qtbot):
    p = LivePlot("Loss", "step", "loss")
    p.resize(400, 300)
    qtbot.addWidget(p)
    p.show()
    return p


def test_appends_are_buffered_until_the_timer_redraws(plot, qtbot):
    for i in range(1000):
        plot.append("train", i, 1.0 / (i + 1))
    s = plot.series("train")
    x, _ = s.curve.getData()
    assert x is None or len(x) == 0  # nothing pushed to pyqtgraph per append
    qtbot.waitUntil(lambda: plot.redraw_count >= 1, timeout=2000)
    x, y = s.curve.getData()
    # At most about two points per pixel reach the screen; the extremes always do.
    assert len(x) <= max(400, 2 * plot.width()) and x[-1] == 999
    assert y.max() == 1.0 and y.min() == 1.0 / 1000
    assert plot.data("train")[0].shape == (1000,)  # the data itself is all kept
    count = plot.redraw_count
    plot.redraw()  # nothing changed: no redraw
    assert plot.redraw_count == count


def test_log_axis_leaves_gaps_for_non_positive_values(plot):
    plot.set_data("v", [0, 1, 2], [1.0, 0.0, 10.0])
    plot.set_log_y(True)
    _, y = plot.series("v").curve.getData()
    assert np.isnan(np.asarray(y)[1])


def test_png_export_scales(plot, tmp_path):
    plot.set_data("a", np.arange(10), np.arange(10) ** 2)
    p1 = plot.export(tmp_path / "x1.png", 1)
    p2 = plot.export(tmp_path / "x2.png", 2)
    w1, w2 = QImage(str(p1)).width(), QImage(str(p2)).width()
    assert w1 > 100 and abs(w2 - 2 * w1) <= 2
    with pytest.raises(ValueError, match="between 1 and 4"):
        plot.export(tmp_path / "x9.png", 9)


def test_svg_export_is_valid_xml(plot, tmp_path):
    plot.set_data("a", [0, 1, 2], [3, 1, 2])
    root = ET.parse(plot.export(tmp_path / "p.svg")).getroot()
    assert root.tag.endswith("svg")


def test_csv_columns_match_the_series(plot, tmp_path):
    plot.set_data("train", [0, 1, 2], [0.9, 0.5, 0.25])
    plot.set_data("test", [0, 1, 2], [1.0, 0.7, 0.6])
    rows = read_rows(plot.export(tmp_path / "p.csv"))
    assert rows[0] == ["step", "train", "test"]
    assert rows[1:] == [["0", "0.9", "1"], ["1", "0.5", "0.7"], ["2", "0.25", "0.6"]]
    plot.set_data("other", [5, 6], [1, 2])  # a different x: pairs of columns
    header = read_rows(plot.export(tmp_path / "q.csv"))[0]
    assert header == ["train step", "train", "test step", "test", "other step", "other"]


def test_unknown_export_format_is_refused(plot, tmp_path):
    with pytest.raises(ValueError, match="png, .svg or .csv"):
        plot.export(tmp_path / "p.jpg")


def test_write_csv_pads_shorter_columns(tmp_path):
    rows = read_rows(write_csv(tmp_path / "c.csv", {"a": [1, 2, 3], "b": [0.5]}))
    assert rows == [["a", "b"], ["1", "0.5"], ["2", ""], ["3", ""]]


def test_gif_has_every_frame(tmp_path):
    from PIL import Image

    frames = [np.full((20, 30, 3), v, np.uint8) for v in (0, 120, 250)]
    path = save_gif(frames, tmp_path / "a.gif", fps=5)
    with Image.open(path) as im:
        assert im.n_frames == 3 and im.size == (30, 20)
    with pytest.raises(ValueError, match="No frames"):
        save_gif([], tmp_path / "b.gif")


def test_readout_shows_values_under_the_cursor(plot, qtbot):
    plot.set_data("loss", [0, 1, 2, 3], [4.0, 3.0, 2.0, 1.0])
    plot.redraw()
    plot.getPlotItem().vb.setRange(xRange=(0, 3), yRange=(0, 4), padding=0)
    scene_pos = plot.getPlotItem().vb.mapViewToScene(__import__("pyqtgraph").Point(2.0, 2.0))
    plot._on_mouse_moved((scene_pos,))
    assert "loss = 2" in plot.readout_text()


def test_right_click_menu_offers_our_exports_and_not_pyqtgraphs_own(qtbot):
    """pyqtgraph's scene "Export…" opens an SVG exporter that fails on Qt 6.11 paths."""
    from widgets.contour_view import ContourView
    from widgets.heatmap import Heatmap

    for widget in (LivePlot("t", "x", "y"), Heatmap("h"), ContourView()):
        # What pyqtgraph adds to every item's right-click menu: the scene's own actions.
        qtbot.addWidget(widget)
        assert not any("Export" in a.text() for a in widget.scene().contextMenu)
        if not isinstance(widget, Heatmap):  # the heatmap saves through its tab
            menu_titles = [a.text() for a in widget.getPlotItem().vb.menu.actions()]
            assert any(t.startswith("Save") for t in menu_titles), menu_titles


def test_a_right_click_makes_the_menu_that_construction_left_unmade(qtbot):
    """Plots make their context menu on first use (more than half of a LivePlot's build time);
    a real right click must still open it, with our export entries in it."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtWidgets import QApplication, QMenu

    plot = LivePlot("loss", "epoch", "loss")
    qtbot.addWidget(plot)
    plot.resize(400, 300)
    plot.show()
    qtbot.waitExposed(plot)
    vb = plot.getPlotItem().vb
    assert not vb.menu_is_made
    centre = plot.mapFromScene(vb.sceneBoundingRect().center())
    qtbot.mouseClick(plot.viewport(), Qt.RightButton, pos=QPoint(int(centre.x()), int(centre.y())))
    qtbot.waitUntil(lambda: any(isinstance(w, QMenu) and w.isVisible() for w in QApplication.topLevelWidgets()))
    assert vb.menu_is_made
    titles = [a.text() for a in vb.menu.actions()]
    assert "Save plot as" in titles and "Logarithmic y axis" in titles, titles
    vb.menu.hide()
