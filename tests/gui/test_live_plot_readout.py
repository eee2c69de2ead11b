"""The hover readout follows the data, and no export keeps it."""

import numpy as np
from PIL import Image
from PySide6.QtCore import QPoint

from widgets.live_plot import LivePlot


def hover(qtbot, plot, dx: int = 0) -> None:
    view = plot.viewport()
    qtbot.mouseMove(view, QPoint(view.width() // 2 + dx, view.height() // 2))
    qtbot.waitUntil(lambda: "loss =" in plot.readout_text(), timeout=2000)


def test_the_readout_is_not_in_the_png_and_follows_new_data(qtbot, tmp_path):
    plot = LivePlot("Loss", "step", "loss")
    qtbot.addWidget(plot)
    plot.resize(500, 350)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_data("loss", np.arange(10.0), np.arange(10.0) ** 2)
    plot.redraw()
    hover(qtbot, plot)
    shown = plot.readout_text()
    plot.export(tmp_path / "hovered.png")
    assert plot.readout_text() == shown  # still on screen for the lecturer
    plot.clear_readout()
    plot.export(tmp_path / "plain.png")
    assert np.array_equal(np.asarray(Image.open(tmp_path / "hovered.png")), np.asarray(Image.open(tmp_path / "plain.png")))

    hover(qtbot, plot, dx=5)  # a move: the readout was cleared, the mouse has to come back
    before = plot.readout_text()
    plot.set_data("loss", np.arange(10.0), 100 + np.arange(10.0))  # new data under a resting mouse
    plot.redraw()
    assert plot.readout_text() != before and "loss = 10" in plot.readout_text()
    plot.clear_series()
    assert plot.readout_text().strip() == ""
