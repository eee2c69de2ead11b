"""Heatmap: a field over the plane (decision boundary, regression surface) with data points.

The colours follow TensorFlow Playground: orange for negative / class 0, white at zero,
blue for positive / class 1; more classes get the series palette. :func:`field_to_rgba`
is shared with the network diagram so that every neuron's thumbnail and the big map
speak the same colour language.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QImage

from widgets.export import drop_scene_export, export_plot, write_csv
from widgets.plot_menu import LazyMenuViewBox
from widgets.theme import Style, style_plot, theme

__all__ = ["Heatmap", "field_to_rgba", "class_probability_rgba", "class_colors", "rgba_to_qimage", "NEGATIVE", "POSITIVE"]

NEGATIVE = np.array([245, 147, 34], np.float32)  # Playground orange
POSITIVE = np.array([8, 119, 189], np.float32)  # Playground blue
WHITE = np.array([250, 250, 250], np.float32)
FIELD_STRENGTH = 0.6  # the big map is paler than the points, as in Playground
_PALETTE = ["#f59322", "#0877bd", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#8C6D00", "#7F7F7F", "#B22222", "#000000"]


def class_colors(n_classes: int) -> list[str]:
    return _PALETTE[: max(2, n_classes)]


def class_probability_rgba(p: np.ndarray, k: int, n_classes: int) -> np.ndarray:
    """P(class k) over the plane, from white (0) to the class's colour (1)."""
    color = _hex_rgb(class_colors(n_classes)[k])
    rgb = WHITE + (color - WHITE) * np.clip(np.asarray(p, np.float32), 0, 1)[..., None]
    out = np.empty(rgb.shape[:-1] + (4,), np.uint8)
    out[..., :3] = np.clip(rgb, 0, 255)
    out[..., 3] = 255
    return out


def _hex_rgb(c: str) -> np.ndarray:
    return np.array([int(c[i : i + 2], 16) for i in (1, 3, 5)], np.float32)


def field_to_rgba(values: np.ndarray, *, scale: float = 1.0, discrete: bool = False, classes: bool = False,
                  alpha: int = 255, strength: float = 1.0) -> np.ndarray:
    """(…, h, w) values, or with ``classes`` (h, w, k) probabilities, to (…, h, w, 4) uint8.

    Scalars map [-scale, scale] from orange through white to blue. Class probabilities
    colour each pixel by its most likely class, paler where the network is unsure.
    """
    v = np.asarray(values, np.float32)
    if classes:
        k = v.shape[-1]
        cls = v.argmax(-1)
        conf = v.max(-1)
        colors = np.stack([_hex_rgb(c) for c in class_colors(k)])[cls]
        sure = np.ones_like(conf)[..., None] if discrete else np.clip((conf - 1 / k) / (1 - 1 / k), 0, 1)[..., None] * 0.85
        rgb = WHITE + (colors - WHITE) * sure
    else:
        t = np.clip(np.nan_to_num(v / max(scale, 1e-12)), -1, 1)
        if discrete:
            t = np.where(t >= 0, 1.0, -1.0) * 0.75
        t = t[..., None]
        rgb = np.where(t >= 0, WHITE + (POSITIVE - WHITE) * t, WHITE + (NEGATIVE - WHITE) * (-t))
    if strength != 1.0:
        rgb = WHITE + (rgb - WHITE) * strength  # paler, so that points on top stay visible
    out = np.empty(rgb.shape[:-1] + (4,), np.uint8)
    out[..., :3] = np.clip(rgb, 0, 255)
    out[..., 3] = alpha
    return out


def rgba_to_qimage(rgba: np.ndarray) -> QImage:
    """A QImage owning a copy of an (h, w, 4) uint8 array (rows top to bottom)."""
    rgba = np.ascontiguousarray(rgba)
    h, w = rgba.shape[:2]
    return QImage(rgba.data, w, h, 4 * w, QImage.Format_RGBA8888).copy()


class Heatmap(pg.PlotWidget):
    """The big map: a field over ``extent`` plus training and test points; clicks report positions."""

    clicked = Signal(float, float, int)  # x1, x2, Qt mouse button as int

    def __init__(self, title: str = "", parent=None):
        super().__init__(parent=parent, viewBox=LazyMenuViewBox())
        drop_scene_export(self)
        self.setMinimumSize(240, 240)
        self.title = title
        item = self.getPlotItem()
        item.setTitle(title)
        item.setLabel("bottom", "x₁")
        item.setLabel("left", "x₂")
        item.setAspectLocked(True)
        item.setMenuEnabled(True)
        # Smooth scaling of the field in software costs more than the rest of a frame.
        self.setAntialiasing(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        item.addItem(self.image)
        self.train_points = pg.ScatterPlotItem(size=7, pen=pg.mkPen("w", width=1.2))
        self.test_points = pg.ScatterPlotItem(size=7, pen=pg.mkPen("k", width=1.2))
        item.addItem(self.train_points)
        item.addItem(self.test_points)
        self.extent = (-6.0, 6.0, -6.0, 6.0)
        self._field: np.ndarray | None = None
        self._rgba: np.ndarray | None = None
        self.show_test = False
        self.scene().sigMouseClicked.connect(self._on_click)
        theme().changed.connect(self._restyle)
        self._restyle(theme().style)
        self.set_extent(self.extent)

    # -- data ------------------------------------------------------------------------
    def set_extent(self, extent) -> None:
        self.extent = tuple(float(v) for v in extent)
        x0, x1, y0, y1 = self.extent
        self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.getPlotItem().setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)

    def set_field(self, values: np.ndarray, *, scale: float = 1.0, discrete: bool = False, classes: bool = False) -> None:
        """The map's values, row i = x2 from bottom to top (as the job's grids are)."""
        self._field = np.asarray(values)
        self._rgba = field_to_rgba(values, scale=scale, discrete=discrete, classes=classes, strength=FIELD_STRENGTH)
        self.image.setImage(self._rgba, autoLevels=False)
        x0, x1, y0, y1 = self.extent
        self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))

    def repaint_field(self) -> None:
        """Paint the map now, and only the data area: the axes have not changed."""
        vb = self.getPlotItem().vb
        area = self.mapFromScene(vb.sceneBoundingRect()).boundingRect().adjusted(-2, -2, 2, 2)
        self.viewport().repaint(area)

    def rgba(self) -> np.ndarray | None:
        """The picture shown, rows top to bottom (for GIF frames)."""
        return None if self._rgba is None else self._rgba[::-1].copy()

    def set_points(self, X: np.ndarray, y: np.ndarray, is_train: np.ndarray, task: str, n_classes: int,
                   value_scale: float = 1.0) -> None:
        X = np.asarray(X, float).reshape(-1, 2)
        if task == "classification":
            palette = [pg.mkBrush(c) for c in class_colors(n_classes)]
            brushes = [palette[int(k)] for k in y]
        else:
            rgba = field_to_rgba(np.asarray(y, float), scale=value_scale)
            brushes = [pg.mkBrush(*c) for c in rgba.tolist()]
        tr = np.asarray(is_train, bool)
        self.train_points.setData(pos=X[tr], brush=[b for b, t in zip(brushes, tr) if t])
        te_brushes = [b for b, t in zip(brushes, tr) if not t]
        self.test_points.setData(pos=X[~tr], brush=te_brushes)
        self.test_points.setVisible(self.show_test)

    def set_show_test(self, on: bool) -> None:
        self.show_test = bool(on)
        self.test_points.setVisible(self.show_test)

    # -- interaction -----------------------------------------------------------------
    def _on_click(self, event) -> None:
        vb = self.getPlotItem().vb
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        if event.button() not in (Qt.LeftButton, Qt.RightButton):
            return
        p = vb.mapSceneToView(event.scenePos())
        event.accept()
        self.clicked.emit(float(p.x()), float(p.y()), int(event.button().value))

    def click_at(self, x: float, y: float, button=Qt.LeftButton) -> None:
        """What a click at data position (x, y) does (for keyboard-free tests and scripts)."""
        self.clicked.emit(float(x), float(y), int(button.value))

    # -- look and export -------------------------------------------------------------
    def _restyle(self, style: Style) -> None:
        style_plot(self, style)
        size = style.marker_size(7)
        self.train_points.setSize(size)
        self.test_points.setSize(size)
        self.train_points.setPen(pg.mkPen("w", width=style.pen_width(1.2)))
        self.test_points.setPen(pg.mkPen("k", width=style.pen_width(1.2)))

    def export(self, stem: str | Path, scale: float = 2.0) -> list[Path]:
        """PNG and SVG of the map, and its values as CSV (x1, x2, value…)."""
        stem = Path(stem)
        written = [export_plot(self, stem.with_suffix(".png"), scale), export_plot(self, stem.with_suffix(".svg"))]
        if self._field is not None:
            f = self._field
            h, w = f.shape[:2]
            x0, x1, y0, y1 = self.extent
            gx, gy = np.meshgrid(np.linspace(x0, x1, w), np.linspace(y0, y1, h))
            cols = {"x1": gx.ravel(), "x2": gy.ravel()}
            if f.ndim == 3:
                cols.update({f"p_class{k}": f[..., k].ravel() for k in range(f.shape[-1])})
            else:
                cols["value"] = f.ravel()
            written.append(write_csv(stem.with_suffix(".csv"), cols))
        return written
