"""Export is a capability of every view: PNG at a scale, SVG, CSV, animated GIF.

Plots go through pyqtgraph's exporters so that what is saved is what is drawn;
whole widgets (a tab, a diagram) are rendered into a pixmap at the chosen scale.
"""

from __future__ import annotations

import csv
import math
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401  (registers the exporters)
from PySide6.QtCore import QSize
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QWidget

__all__ = [
    "drop_scene_export",
    "export_plot",
    "export_widget_png",
    "write_csv",
    "save_gif",
    "gif_frame",
    "write_gif",
    "widget_frame",
    "GIF_MIN_SIDE",
    "qimage_to_array",
    "EXPORT_FILTERS",
]

EXPORT_FILTERS = "PNG image (*.png);;SVG vector image (*.svg);;CSV data (*.csv)"


def drop_scene_export(plot: pg.PlotWidget) -> None:
    """Remove pyqtgraph's own "Export…" from the plot's right-click menu: its SVG exporter
    fails on Qt 6.11 paths, and the plot's own "Save … as" menu does every format."""
    plot.scene().contextMenu = []


def _plot_item(plot) -> pg.PlotItem:
    if isinstance(plot, pg.PlotWidget):
        return plot.getPlotItem()
    return plot


def export_plot(plot, path: str | Path, scale: float = 1.0, csv_columns: Mapping[str, Sequence] | None = None) -> Path:
    """Write a plot as PNG (``scale`` 1–4), SVG or CSV, chosen by the file suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    item = _plot_item(plot)
    if suffix in (".png", ".svg"):
        with _antialiased(item, scale if suffix == ".png" else 1.0):
            _export_picture(item, path, suffix, scale)
    elif suffix == ".csv":
        if csv_columns is None:
            csv_columns = plot_curves_as_columns(item)
        write_csv(path, csv_columns)
    else:
        raise ValueError(f"Cannot export a plot as {suffix or 'a file without suffix'}; use .png, .svg or .csv")
    return path


EXPORT_MIN_LINE_WIDTH = 1.6


@contextmanager
def _antialiased(item: pg.PlotItem, scale: float = 1.0):
    """Smooth, print-weight curves in exported figures.

    On screen curves are thin and not antialiased, for speed. Their pens are cosmetic
    (device pixels), so a ×2 export would halve them: widen them by the scale too.
    """
    data_items = list(item.listDataItems())
    curves = [c for d in data_items for c in (d, getattr(d, "curve", None)) if c is not None and hasattr(c, "opts")]
    before_aa = [c.opts.get("antialias", False) for c in curves]
    before_pens = [d.opts.get("pen") for d in data_items]
    for c in curves:
        c.opts["antialias"] = True
    for d, pen in zip(data_items, before_pens):
        if pen is not None:
            wide = pg.mkPen(pen)
            wide.setWidthF(max(wide.widthF(), EXPORT_MIN_LINE_WIDTH) * scale)
            d.setPen(wide)
    try:
        yield
    finally:
        for c, aa in zip(curves, before_aa):
            c.opts["antialias"] = aa
        for d, pen in zip(data_items, before_pens):
            if pen is not None:
                d.setPen(pen)


def _export_picture(item: pg.PlotItem, path: Path, suffix: str, scale: float) -> None:
    if suffix == ".png":
        if not 1 <= scale <= 4:
            raise ValueError(f"PNG scale must be between 1 and 4, got {scale}")
        exporter = pg.exporters.ImageExporter(item)
        width = max(1, round(item.sceneBoundingRect().width() * scale))
        exporter.parameters()["width"] = width
        exporter.export(str(path))
    else:
        _export_svg(item, path)


def _export_svg(item: pg.PlotItem, path: Path) -> None:
    """Vector SVG through Qt's own SVG generator.

    pyqtgraph's SVGExporter post-processes Qt's path syntax and fails on the compact
    form newer Qt writes ("M1 2L3 4"); rendering the scene into QSvgGenerator avoids it.
    """
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    source = item.sceneBoundingRect()
    gen = QSvgGenerator()
    gen.setFileName(str(path))
    gen.setSize(source.size().toSize())
    gen.setViewBox(QRectF(0, 0, source.width(), source.height()))
    gen.setTitle(item.titleLabel.text or "plot")
    painter = QPainter(gen)
    try:
        item.scene().render(painter, QRectF(0, 0, source.width(), source.height()), source)
    finally:
        painter.end()


def plot_curves_as_columns(item: pg.PlotItem) -> dict[str, np.ndarray]:
    """The data of every named curve in a plot, as CSV columns (``name x``, ``name y``)."""
    cols: dict[str, np.ndarray] = {}
    for i, curve in enumerate(item.listDataItems()):
        x, y = curve.getData()
        if x is None:
            continue
        name = curve.name() or f"series{i}"
        cols[f"{name} x"] = np.asarray(x)
        cols[f"{name} y"] = np.asarray(y)
    return cols


def write_csv(path: str | Path, columns: Mapping[str, Sequence]) -> Path:
    """Columns of possibly different lengths; shorter ones are padded with empty cells."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    names = list(columns)
    data = [np.asarray(columns[n]).ravel() for n in names]
    rows = max((len(d) for d in data), default=0)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(names)
        for r in range(rows):
            w.writerow([_cell(d[r]) if r < len(d) else "" for d in data])
    return path


def _cell(v) -> str:
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isnan(v):
            return "nan"
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    return str(v)


def export_widget_png(widget: QWidget, path: str | Path, scale: float = 1.0) -> Path:
    """Render a whole widget (a tab, a panel) to PNG at ``scale`` times its size."""
    if not 1 <= scale <= 4:
        raise ValueError(f"PNG scale must be between 1 and 4, got {scale}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    size: QSize = widget.size()
    if size.width() < 2 or size.height() < 2:
        size = widget.sizeHint()
        widget.resize(size)
    pixmap = QPixmap(round(size.width() * scale), round(size.height() * scale))
    pixmap.setDevicePixelRatio(scale)
    pixmap.fill(widget.palette().window().color())
    widget.render(pixmap)
    if not pixmap.save(str(path), "PNG"):
        raise OSError(f"Could not write {path}")
    return path


def qimage_to_array(image: QImage) -> np.ndarray:
    """An RGB uint8 array (h, w, 3) copied out of a QImage."""
    img = image.convertToFormat(QImage.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, : w * 3].reshape(h, w, 3).copy()


def save_gif(
    frames: Sequence[np.ndarray | QImage],
    path: str | Path,
    fps: float = 10.0,
    *,
    fast_palette: bool = False,
    checkpoint: Callable[[], None] | None = None,
) -> Path:
    """An animated GIF from RGB frames (arrays or QImages), looping forever.

    ``fast_palette`` picks each frame's palette by fast octree quantisation (~50× quicker
    than the adaptive palette on large frames; fine for flat-coloured widget captures).
    ``checkpoint`` is called before each frame (a job's ``ctl.checkpoint`` when the GIF is
    written on a worker thread, so that it can be stopped).
    """
    if not frames:
        raise ValueError("No frames recorded: run or step the experiment first")
    images = []
    for fr in frames:
        if checkpoint is not None:
            checkpoint()
        images.append(gif_frame(fr, fast_palette=fast_palette))
    return write_gif(images, path, fps)


def gif_frame(frame: np.ndarray | QImage, *, fast_palette: bool = False):
    """One RGB frame (array or QImage) as a palette image, ready for :func:`write_gif`."""
    from PIL import Image

    arr = qimage_to_array(frame) if isinstance(frame, QImage) else np.asarray(frame, np.uint8)
    rgb = Image.fromarray(np.ascontiguousarray(arr[..., :3]))
    if fast_palette:
        return rgb.quantize(colors=255, method=Image.Quantize.FASTOCTREE)
    return rgb.convert("P", palette=Image.ADAPTIVE, colors=255)


def write_gif(images: Sequence, path: str | Path, fps: float = 10.0) -> Path:
    """Write palette images (from :func:`gif_frame`) as an animated GIF, looping forever."""
    if not images:
        raise ValueError("No frames recorded: run or step the experiment first")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    duration = max(20, round(1000 / max(fps, 0.1)))
    images[0].save(path, save_all=True, append_images=list(images[1:]), duration=duration, loop=0, optimize=False)
    return path


GIF_MIN_SIDE = 480  # px: a GIF frame is watched on slides and in a browser, not at widget size


def widget_frame(widget: QWidget, *, min_side: int = GIF_MIN_SIDE, caption: str = "") -> QImage:
    """The widget as it looks, rendered sharp at a scale that gives its shorter side at least
    ``min_side`` pixels (at most ×4), with ``caption`` (e.g. the epoch) in its top-left corner."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtGui import QColor, QFont, QPainter

    size: QSize = widget.size()
    if size.width() < 2 or size.height() < 2:
        size = widget.sizeHint()
        widget.resize(size)
    scale = min(4.0, max(1.0, min_side / max(1, min(size.width(), size.height()))))
    image = QImage(round(size.width() * scale), round(size.height() * scale), QImage.Format_RGB32)
    image.setDevicePixelRatio(scale)
    image.fill(widget.palette().window().color())
    QWidget.render(widget, image)  # the widget's own look (QGraphicsView.render would draw only its scene)
    if caption:
        painter = QPainter(image)
        font = QFont(widget.font())
        font.setPointSizeF(13)
        font.setBold(True)
        painter.setFont(font)
        box = painter.fontMetrics().boundingRect(caption).adjusted(-6, -3, 6, 3)
        box.moveTopLeft(QPoint(8, 6))
        painter.fillRect(box, QColor(255, 255, 255, 220))
        painter.setPen(QColor(20, 20, 20))
        painter.drawText(box, Qt.AlignCenter, caption)
        painter.end()
    return image
