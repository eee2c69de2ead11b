"""Theme and presentation mode reach every text and line a plot draws, also while a job
runs, also in exported files, and leaving presentation mode gives the normal sizes back."""

import re

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QTableWidget

from widgets.live_plot import LivePlot
from widgets.theme import theme


def luminance(c: QColor) -> float:
    def ch(v):
        v = v / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * ch(c.red()) + 0.7152 * ch(c.green()) + 0.0722 * ch(c.blue())


def contrast(a: QColor, b: QColor) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def drawn_text_color(label: pg.LabelItem) -> QColor:
    """The colour the label's text is really drawn in (its HTML, not pyqtgraph's stored option)."""
    colors = re.findall(r"color:\s*(#[0-9a-fA-F]{6,8})", label.item.toHtml())
    assert colors, label.item.toHtml()
    c = colors[-1]
    return QColor("#" + c[3:]) if len(c) == 9 else QColor(c)  # #AARRGGBB


def assert_legend_readable(plot: pg.PlotWidget):
    background = plot.backgroundBrush().color()
    assert plot.legend.items, "the plot has a legend to check"
    for sample, label in plot.legend.items:
        assert label.isVisible()
        assert contrast(drawn_text_color(label), background) > 4.5, label.text
        # The marker keeps the series' colour and stands out from the background too.
        pen = pg.mkPen(sample.item.opts["pen"])
        assert contrast(pen.color(), background) > 1.5, label.text


@pytest.fixture
def plot(qtbot):
    p = LivePlot("Loss", "step", "loss")
    p.resize(500, 340)
    qtbot.addWidget(p)
    p.show()
    return p


def test_theme_switch_while_a_job_runs_keeps_every_legend_readable_both_ways(make_tab, qtbot):
    tab = make_tab("optimizers", size=(1280, 720))
    page = tab.surface_page
    state = tab.experiment_state()
    state["surface"] = dict(state["surface"], steps=5000)
    tab.apply_experiment_state(state)
    tab.controls.speed_slider.setValue(3)  # slow enough to still be running after the switches
    assert tab.start()
    qtbot.waitUntil(lambda: len(page.contour.legend.items) >= 2 and bool(page.loss_plot.names()), timeout=10000)
    # The map names the racers; the curve plots leave that to it and hide their legends.
    page.loss_plot.legend.setVisible(True)
    plots = [page.contour, page.loss_plot]
    for dark in (True, False, True):
        assert tab.runner.is_active
        theme().set_style(dark=dark)
        qtbot.wait(50)  # let a few more events and frames arrive after the switch
        page.loss_plot.redraw()
        for p in plots:
            assert_legend_readable(p)
    tab.runner.stop()


def test_a_black_series_stays_visible_in_dark_mode_and_plots_made_later_take_the_theme(plot, qtbot):
    plot.set_data("SiLU / Swish", [0, 1, 2], [0.0, 1.0, 2.0], color="#000000")
    theme().set_style(dark=True)
    assert_legend_readable(plot)
    later = LivePlot("Made in the dark", "x", "y")
    qtbot.addWidget(later)
    later.set_data("a", [0, 1], [1, 2])
    assert later.backgroundBrush().color() == QColor(theme().style.background)
    assert_legend_readable(later)
    theme().set_style(dark=False)
    assert_legend_readable(plot)
    assert pg.mkPen(plot.series("SiLU / Swish").curve.opts["pen"]).color() == QColor("#000000")


def text_sizes(plot: LivePlot) -> dict:
    item = plot.getPlotItem()
    sizes = {
        "title": item.titleLabel.item.boundingRect().height(),
        "axis label": item.getAxis("left").label.boundingRect().height(),
        "tick": item.getAxis("left").style["tickFont"].pointSizeF(),
        "legend": plot.legend.boundingRect().height(),
        "legend text": plot.legend.items[0][1].item.boundingRect().height(),
        "note": plot.note.textItem.boundingRect().height(),
        "line width": pg.mkPen(plot.series("train").curve.opts["pen"]).widthF(),
        "left axis width": item.getAxis("left").width(),
    }
    table = QTableWidget(1, 1)
    sizes["table"] = table.font().pointSizeF()
    table.deleteLater()
    return sizes


def test_presentation_enlarges_every_text_and_leaving_it_restores_them_exactly(plot, qtbot):
    plot.set_data("train", np.arange(10), np.linspace(1, 2, 10))
    plot.set_data("test", np.arange(10), [1, 2, 3, np.nan, 5, 6, 7, 8, 9, 10])
    plot.redraw()
    qtbot.wait(10)
    normal = text_sizes(plot)
    theme().set_style(presentation=True)
    qtbot.wait(10)
    big = text_sizes(plot)
    for key in normal:
        if key != "left axis width":
            assert big[key] > normal[key] * 1.2, key
    theme().set_style(presentation=False)
    plot.grab()  # paint, so that pyqtgraph measures the tick labels again
    qtbot.wait(10)
    restored = text_sizes(plot)
    # The room for tick labels follows what the labels need (pyqtgraph keeps it within
    # 10 px of that), so it is not left presentation-wide; every text is exactly as before.
    assert restored.pop("left axis width") <= normal.pop("left axis width") + 1
    assert restored == normal
    assert QApplication.font().pointSizeF() == pytest.approx(normal["table"])


def test_an_exported_png_in_presentation_mode_has_the_larger_text(plot, tmp_path):
    plot.set_data("train loss", np.arange(50), np.linspace(2, 1, 50))

    def export():
        path = plot.export(tmp_path / f"p{theme().style.presentation}.png", 2)
        rect = plot.legend.sceneBoundingRect()
        image = QImage(str(path))
        # Ink inside the legend: pixels far from the white background.
        arr = np.frombuffer(image.convertToFormat(QImage.Format_RGB888).constBits(), np.uint8)
        arr = arr.reshape(image.height(), -1)[:, : image.width() * 3].reshape(image.height(), image.width(), 3)
        s = image.width() / plot.getPlotItem().sceneBoundingRect().width()
        crop = arr[int(rect.top() * s): int(rect.bottom() * s), int(rect.left() * s): int(rect.right() * s)]
        return rect, int((crop.astype(int).sum(-1) < 400).sum())

    normal_rect, normal_ink = export()
    theme().set_style(presentation=True)
    big_rect, big_ink = export()
    # The legend's line samples keep pyqtgraph's fixed 20 px; its text grows by half.
    assert big_rect.width() > 1.2 * normal_rect.width() and big_rect.height() > 1.1 * normal_rect.height()
    assert big_ink > 1.5 * normal_ink > 0
