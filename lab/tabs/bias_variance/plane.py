"""The classification view of the fits: over the plane, the share of the M models
voting for class 1, their individual decision boundaries, the Bayes boundary, and
where the models disagree (variance)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QHBoxLayout, QWidget

from widgets.export import export_widget_png, write_csv
from widgets.theme import style_plot, theme

__all__ = ["PlaneView"]


def _plane_plot(title: str) -> tuple[pg.PlotWidget, pg.ImageItem]:
    plot = pg.PlotWidget()
    plot.setMinimumSize(260, 240)
    item = plot.getPlotItem()
    item.setTitle(title)
    item.setAspectLocked(True)
    item.setLabel("bottom", "x₁")
    item.setLabel("left", "x₂")
    image = pg.ImageItem(axisOrder="row-major")
    item.addItem(image)
    return plot, image


class PlaneView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.vote_plot, self.vote_image = _plane_plot("Vote share for class 1 (white: models, dashed: Bayes)")
        self.var_plot, self.var_image = _plane_plot("Disagreement between the models (variance)")
        self.vote_image.setLookupTable(pg.colormap.get("CET-D1").getLookupTable(nPts=256))
        self.var_image.setLookupTable(pg.colormap.get("viridis").getLookupTable(nPts=256))
        self.model_curves: list[pg.IsocurveItem] = []
        # Isocurves are children of their image, so they share its placement on the plane.
        self.bayes = [
            pg.IsocurveItem(level=0.5, axisOrder="row-major")
            for _ in range(2)
        ]
        self.bayes[0].setParentItem(self.vote_image)
        self.bayes[1].setParentItem(self.var_image)
        self.points = pg.ScatterPlotItem()
        self.vote_plot.getPlotItem().addItem(self.points)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.vote_plot, 1)
        layout.addWidget(self.var_plot, 1)
        self.data: dict | None = None
        theme().changed.connect(self._restyle)
        self._restyle(theme().style)

    def _restyle(self, style) -> None:
        for plot in (self.vote_plot, self.var_plot):
            style_plot(plot, style)
        for iso in self.bayes:  # the Bayes boundary, its dots and lines as heavy as the text
            iso.setPen(pg.mkPen("#000000", width=style.pen_width(2.5), style=Qt.DashLine))
        self.points.setSize(style.marker_size(6))
        self.points.setPen(pg.mkPen("#ffffff", width=style.pen_width(0.8)))
        for iso in self.model_curves:
            iso.setPen(pg.mkPen("#f4f4f4", width=style.pen_width(1)))

    def show_fits(self, d: dict) -> None:
        self.data = d
        axis = d["axis"]
        lo, hi = float(axis[0]), float(axis[-1])
        rect = QRectF(lo, lo, hi - lo, hi - lo)
        self.vote_image.setImage(d["vote"], levels=(0, 1))
        self.vote_image.setRect(rect)
        self.var_image.setImage(d["variance"], levels=(0, 0.5))
        self.var_image.setRect(rect)
        for iso in self.bayes:
            iso.setData(d["bayes"])
        self._clear_models()
        for boundary in d["boundaries"]:
            iso = pg.IsocurveItem(data=boundary, level=0.5, pen=pg.mkPen("#f4f4f4", width=theme().style.pen_width(1)),
                                  axisOrder="row-major")
            iso.setParentItem(self.vote_image)
            self.model_curves.append(iso)
        colors = np.where(d["sample_y"] == 1, theme().style.series_color(4), theme().style.series_color(0))
        self.points.setData(d["sample_x"][:, 0], d["sample_x"][:, 1], brush=[pg.mkBrush(c) for c in colors])
        for plot in (self.vote_plot, self.var_plot):
            plot.getPlotItem().setRange(rect, padding=0.02)

    def _clear_models(self) -> None:
        scene = self.vote_plot.scene()
        for iso in self.model_curves:
            scene.removeItem(iso)
        self.model_curves = []

    def clear(self) -> None:
        self.data = None
        self._clear_models()
        for iso in self.bayes:
            iso.setData(None)
        self.vote_image.clear()
        self.var_image.clear()
        self.points.setData([], [])

    def export(self, stem: Path, scale: float = 1.0) -> list[Path]:
        stem = Path(stem)
        written = [export_widget_png(self, stem.with_suffix(".png"), scale)]
        if self.data is not None:
            d = self.data
            gx, gy = np.meshgrid(d["axis"], d["axis"])
            written.append(
                write_csv(
                    stem.with_suffix(".csv"),
                    {"x1": gx.ravel(), "x2": gy.ravel(), "vote share class 1": d["vote"].ravel(), "P(y=1|x) estimate": d["bayes"].ravel(), "disagreement": d["variance"].ravel()},
                )
            )
        return written
