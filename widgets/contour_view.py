"""ContourView: a 2-D loss surface as a shaded map with log-spaced contour lines, the
paths of several racers drawn as they move, minima marked, click to choose a start.

Data arrive by :meth:`append_points` (cheap: numpy buffers) and ask the redraw
scheduler for a frame, which pushes only what changed to pyqtgraph (at most ~30 times a
second, and never while the map is idle or hidden). Arrows (gradient, velocity, ...) can be shown at one
racer's point. Export: PNG at a scale, SVG, CSV of the paths; :meth:`frames` renders
the race step by step for an animated GIF.
"""

from __future__ import annotations

from pathlib import Path

import contourpy
import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal, Slot
from PySide6.QtGui import QImage, QPainterPath
from PySide6.QtWidgets import QGraphicsItem

from widgets.export import drop_scene_export, export_plot, write_csv
from widgets.plot_legend import fit_legend, place_in_emptiest_corner
from widgets.plot_menu import LazyMenuViewBox
from widgets.redraw import request_redraw
from widgets.theme import Style, style_plot, theme

__all__ = ["ContourView", "log_levels", "isocurve_lines"]

N_LEVELS = 14

def isocurve_lines(data: np.ndarray, level: float) -> list[np.ndarray]:
    """The contour of ``data`` at ``level`` as polylines, (n, 2) arrays of (first index,
    second index) with sample k at k + 0.5, the centre of its pixel as ImageItem draws it
    (a closed curve ends on its first point).

    contourpy (matplotlib's contouring, in C++) instead of pyqtgraph's isocurve, which
    walks every grid cell in Python: 14 contours of a 160 × 160 surface took ~0.18 s of the
    map's first paint."""
    z = np.asarray(data, np.float64)
    if z.ndim != 2 or min(z.shape) < 2 or not np.isfinite(level):
        return []
    # contourpy reads z[row, column] as z[y, x]: its (x, y) are (second, first) index.
    lines = contourpy.contour_generator(z=z, line_type=contourpy.LineType.Separate).lines(level)
    return [np.ascontiguousarray(line[:, ::-1]) + 0.5 for line in lines]


class _Isocurve(pg.IsocurveItem):
    """pyqtgraph's IsocurveItem with its path from :func:`isocurve_lines`."""

    def generatePath(self):  # noqa: N802
        if self.data is None:
            self.path = None
            return
        data = self.data.T if self.axisOrder == "row-major" else self.data
        lines = isocurve_lines(data, self.level)
        if not lines:
            self.path = QPainterPath()
            return
        xy = np.concatenate(lines)
        connect = np.ones(len(xy), dtype=np.int32)
        connect[np.cumsum([len(line) for line in lines]) - 1] = 0  # no line from one curve's end to the next
        self.path = pg.arrayToQPath(xy[:, 0], xy[:, 1], connect=connect)


def log_levels(Z: np.ndarray, floor: float, n: int = N_LEVELS) -> np.ndarray:
    """Contour heights spaced evenly in log(f − floor): dense near the minimum."""
    gap = np.asarray(Z, np.float64) - floor
    finite = gap[np.isfinite(gap) & (gap > 0)]
    if finite.size == 0:
        return np.array([])
    lo = max(np.percentile(finite, 0.5), finite.max() * 1e-9)
    hi = np.percentile(finite, 99.0)
    if not hi > lo:
        return np.array([floor + lo])
    return floor + np.geomspace(lo, hi, n)


def _pale_map(dark: bool) -> pg.ColorMap:
    """Low = cool, high = warm, pale enough that the racers' coloured paths stand out."""
    if dark:
        colors = [(24, 34, 62), (38, 42, 50), (74, 50, 34)]
    else:
        colors = [(214, 230, 250), (245, 246, 238), (250, 218, 192)]
    return pg.ColorMap(pos=[0.0, 0.5, 1.0], color=colors)


class ContourView(pg.PlotWidget):
    start_requested = Signal(float, float)  # a click on the map: the new start point

    def __init__(self, parent=None):
        super().__init__(parent=parent, viewBox=LazyMenuViewBox())
        drop_scene_export(self)
        self.setMinimumSize(320, 280)
        item = self.getPlotItem()
        item.setAspectLocked(False)
        item.showGrid(x=False, y=False)
        item.setLabel("bottom", "x")
        item.setLabel("left", "y")
        self._image = pg.ImageItem()
        self._image.setZValue(-20)
        item.addItem(self._image)
        self._isos: list[pg.IsocurveItem] = []
        self._minima = pg.ScatterPlotItem(symbol="star", size=18, pen=pg.mkPen("#000000", width=1), brush="#ffd400")
        self._minima.setZValue(20)
        item.addItem(self._minima)
        self._start = pg.ScatterPlotItem(symbol="o", size=12, pen=pg.mkPen("#000000", width=2), brush=None)
        self._start.setZValue(21)
        item.addItem(self._start)
        self.legend = item.addLegend(offset=(-6, 6))
        self._legend_corner = (1, 0)  # top right
        self._paths: list[np.ndarray] = []  # per racer (n, 2) buffers
        self._counts: list[int] = []
        self._curves: list[pg.PlotDataItem] = []
        self._heads: pg.ScatterPlotItem = pg.ScatterPlotItem(size=theme().style.marker_size(10), pen=pg.mkPen("#000000", width=1))
        self._heads.setZValue(15)
        item.addItem(self._heads)
        self._colors: list[str] = []
        self._names: list[str] = []
        self._dirty = False
        self._visible_upto: int | None = None
        self._arrows: list = []
        self.frames_drawn = 0  # redraws with new data
        self.frames_painted = 0  # paint events of the view (what the benchmark counts)
        self._grid: tuple | None = None
        self.scene().sigMouseClicked.connect(self._on_click)
        self._add_export_menu()
        theme().changed.connect(self._restyle)
        self._restyle(theme().style)

    # -- surface -------------------------------------------------------------
    def set_surface(self, xs: np.ndarray, ys: np.ndarray, Z: np.ndarray, floor: float, minima, title: str = "") -> None:
        """Shade log(f − floor) and draw contour lines at log-spaced heights."""
        self._grid = (xs, ys, Z, floor)
        gap = np.clip(np.asarray(Z, np.float64) - floor, 0, None)
        with np.errstate(divide="ignore", invalid="ignore"):
            shade = np.log10(gap + max(np.nanmax(gap), 1e-12) * 1e-6)
        shade = np.where(np.isfinite(shade), shade, np.nanmax(shade[np.isfinite(shade)]) if np.isfinite(shade).any() else 0)
        item = self.getPlotItem()
        self._image.setImage(shade.T, autoLevels=True)
        self._image.setColorMap(_pale_map(theme().style.dark))
        x0, x1, y0, y1 = float(xs[0]), float(xs[-1]), float(ys[0]), float(ys[-1])
        self._image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        for iso in self._isos:  # children of the image, not of the plot: detach them
            iso.setParentItem(None)
            if iso.scene() is not None:
                iso.scene().removeItem(iso)
        self._isos = []
        pen = pg.mkPen((255, 255, 255, 150) if theme().style.dark else (40, 40, 40, 140), width=theme().style.pen_width(1))
        for level in log_levels(Z, floor):
            iso = _Isocurve(data=np.asarray(Z, np.float64).T, level=float(level), pen=pen)
            iso.setParentItem(self._image)  # shares the image's coordinate transform
            iso.setZValue(5)
            # The contours only change with the surface: cache them as a pixmap so that a
            # frame of the race repaints the paths, not 14 long contour paths.
            iso.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
            self._isos.append(iso)
        pts = np.asarray(minima, np.float64).reshape(-1, 2)
        self._minima.setData(pts[:, 0], pts[:, 1]) if len(pts) else self._minima.setData([], [])
        item.setTitle(title)
        item.setXRange(x0, x1, padding=0)
        item.setYRange(y0, y1, padding=0)
        self._restyle_title()

    def set_start(self, x: float, y: float) -> None:
        self._start.setData([x], [y])

    # -- racers ------------------------------------------------------------------
    def set_racers(self, names: list[str], colors: list[str]) -> None:
        item = self.getPlotItem()
        for c in self._curves:
            item.removeItem(c)
        self.legend.clear()
        self._names, self._colors = list(names), list(colors)
        self._curves = []
        width = theme().style.line_width
        for name, color in zip(names, colors):
            curve = pg.PlotDataItem([], [], pen=pg.mkPen(theme().style.readable(color), width=width), name=name)
            curve.setZValue(10)
            item.addItem(curve)
            self._curves.append(curve)
        self._paths = [np.empty((256, 2)) for _ in names]
        self._counts = [0] * len(names)
        self._visible_upto = None
        self._fit_legend()
        self._mark_dirty()

    def append_points(self, chunk: np.ndarray) -> None:
        """Positions (k, N, 2) of the N racers at k more steps (or (N, 2) for one)."""
        chunk = np.asarray(chunk, np.float64)
        if chunk.ndim == 2:
            chunk = chunk[None]
        for i in range(min(chunk.shape[1], len(self._paths))):
            need = self._counts[i] + chunk.shape[0]
            if need > len(self._paths[i]):
                self._paths[i] = np.resize(self._paths[i], (max(need, 2 * len(self._paths[i])), 2))
            self._paths[i][self._counts[i] : need] = chunk[:, i]
            self._counts[i] = need
        self._mark_dirty()

    def path(self, i: int) -> np.ndarray:
        return self._paths[i][: self._counts[i]].copy()

    def n_points(self) -> int:
        return max(self._counts, default=0)

    def clear_paths(self) -> None:
        self._counts = [0] * len(self._paths)
        self._visible_upto = None
        self.set_arrows(None, [])
        self._dirty = True
        self.redraw()

    def show_upto(self, n: int | None) -> None:
        """Draw only the first ``n`` positions of every path (for GIF frames)."""
        self._visible_upto = n
        self._dirty = True
        self.redraw()

    # -- arrows ------------------------------------------------------------------
    def set_arrows(self, origin, arrows: list[tuple[str, np.ndarray, str]]) -> None:
        """Arrows from ``origin``: (label, vector, colour); lengths scaled to be visible.

        The arrow items are made once and reused: adding and removing plot items on
        every snapshot would cost more than the whole frame.
        """
        shown = 0
        if origin is not None and arrows and self._grid is not None:
            xs, ys = self._grid[0], self._grid[1]
            span = max(xs[-1] - xs[0], ys[-1] - ys[0])
            ox, oy = float(origin[0]), float(origin[1])
            for label, vec, color in arrows:
                v = np.asarray(vec, np.float64)
                norm = float(np.hypot(*v))
                if not np.isfinite(norm) or norm == 0:
                    continue
                # Directions are true; lengths are shown at 18 % of the map (numbers in the panel).
                d = v / norm * span * 0.18
                line, head, text = self._arrow(shown)
                line.setData([ox, ox + d[0]], [oy, oy + d[1]])
                line.setPen(pg.mkPen(color, width=theme().style.pen_width(2.5)))
                head.setStyle(angle=180 - np.degrees(np.arctan2(d[1], d[0])), brush=color, pen=pg.mkPen(color))
                head.setPos(ox + d[0], oy + d[1])
                text.setText(label, color=color)
                text.setPos(ox + d[0], oy + d[1])
                for it in (line, head, text):
                    it.setVisible(True)
                shown += 1
        for group in self._arrows[shown:]:
            for it in group:
                it.setVisible(False)

    def arrows_shown(self) -> int:
        return sum(1 for group in self._arrows if group[0].isVisible())

    def _arrow(self, i: int):
        while len(self._arrows) <= i:
            item = self.getPlotItem()
            group = (pg.PlotDataItem([], []), pg.ArrowItem(headLen=14), pg.TextItem("", anchor=(0, 1)))
            for it in group:
                it.setZValue(30)
                item.addItem(it, ignoreBounds=True)
            self._arrows.append(group)
        return self._arrows[i]

    # -- drawing -----------------------------------------------------------------
    def _mark_dirty(self) -> None:
        self._dirty = True
        request_redraw(self)

    @Slot()
    def redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        heads_x, heads_y, brushes = [], [], []
        for i, curve in enumerate(self._curves):
            n = self._counts[i] if self._visible_upto is None else min(self._counts[i], self._visible_upto)
            p = self._paths[i][:n]
            curve.setData(p[:, 0], p[:, 1], connect="finite")
            if n:
                heads_x.append(p[-1, 0])
                heads_y.append(p[-1, 1])
                brushes.append(pg.mkBrush(theme().style.readable(self._colors[i])))
        self._heads.setData(heads_x, heads_y, brush=brushes)
        self._place_legend()
        self.frames_drawn += 1

    def frames(self, count: int = 60, size: tuple[int, int] | None = None) -> list[QImage]:
        """The race as ``count`` images, from the start to the last step drawn."""
        images = [self.frame_upto(n, size) for n in self.frame_marks(count)]
        self.show_upto(None)
        return images

    def frame_marks(self, count: int = 60) -> list[int]:
        """How many positions each of ``count`` frames shows, from the start to the last step drawn."""
        total = self.n_points()
        if total == 0:
            return []
        return np.unique(np.linspace(1, total, min(count, total)).round().astype(int)).tolist()

    def frame_upto(self, n: int, size: tuple[int, int] | None = None) -> QImage:
        """The map as on screen with the first ``n`` positions of every path (call
        ``show_upto(None)`` after the last frame)."""
        self.show_upto(int(n))
        img = self.grab().toImage()
        if size is not None:
            img = img.scaled(size[0], size[1], Qt.KeepAspectRatio, Qt.SmoothTransformation)
        return img

    def paintEvent(self, event) -> None:
        self.frames_painted += 1
        super().paintEvent(event)

    # -- interaction -------------------------------------------------------------
    def _on_click(self, event) -> None:
        if event.button() != Qt.LeftButton or self._grid is None:
            return
        vb = self.getPlotItem().vb
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        p = vb.mapSceneToView(event.scenePos())
        self.start_requested.emit(float(p.x()), float(p.y()))

    def click_at(self, x: float, y: float) -> None:
        """What a left click at map point (x, y) does (tests, keyboard users)."""
        self.start_requested.emit(float(x), float(y))

    def view_to_widget(self, x: float, y: float):
        """Widget pixel position of a map point, for real mouse clicks in tests."""
        vb = self.getPlotItem().vb
        scene = vb.mapViewToScene(QPointF(x, y))
        return self.mapFromScene(scene)

    # -- export ------------------------------------------------------------------
    def export(self, base: str | Path, scale: float = 2.0) -> list[Path]:
        """Write ``base``.png (at ``scale``), ``base``.svg and ``base``.csv (the paths)."""
        base = Path(base)
        self.redraw()
        written = [export_plot(self, base.with_suffix(".png"), scale), export_plot(self, base.with_suffix(".svg"))]
        written.append(self.export_paths_csv(base.with_suffix(".csv")))
        return written

    def _add_export_menu(self) -> None:
        self.getPlotItem().vb.when_menu_made(self._fill_menu)

    def _fill_menu(self, view_menu) -> None:
        menu = view_menu.addMenu("Save map as")
        for label, suffix, scale in (("PNG ×1…", ".png", 1), ("PNG ×2…", ".png", 2), ("SVG…", ".svg", 1),
                                     ("CSV of the paths…", ".csv", 1)):
            menu.addAction(label).triggered.connect(lambda _=False, s=suffix, k=scale: self._export_dialog(s, k))

    def _export_dialog(self, suffix: str, scale: float) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(self, "Save map", "optimizer_race" + suffix, f"*{suffix}")
        if not path:
            return
        path = Path(path if path.lower().endswith(suffix) else path + suffix)
        if suffix == ".csv":
            self.export_paths_csv(path)
        else:
            self.redraw()
            export_plot(self, path, scale)

    def export_paths_csv(self, path: str | Path) -> Path:
        cols = {}
        for i, name in enumerate(self._names):
            p = self.path(i)
            cols[f"{name} x"] = p[:, 0]
            cols[f"{name} y"] = p[:, 1]
        return write_csv(path, cols or {"x": [], "y": []})

    # -- look --------------------------------------------------------------------
    @Slot(object)
    def _restyle(self, style: Style) -> None:
        item = self.getPlotItem()
        if item is None:  # closed, not yet collected: a theme change must not reach it
            return
        style_plot(self, style)
        for curve, color in zip(self._curves, self._colors):
            curve.setPen(pg.mkPen(style.readable(color), width=style.line_width))
        self._minima.setSize(style.marker_size(18))
        self._minima.setPen(pg.mkPen("#000000", width=style.pen_width(1)))
        self._legend_text_size = None  # the style's own size, before any fitting
        self._fit_legend()
        if self._grid is not None:
            xs, ys, Z, floor = self._grid
            self.set_surface(xs, ys, Z, floor, np.column_stack(self._minima.getData()) if len(self._minima.data) else [],
                             item.titleLabel.text)
        self._mark_dirty()

    # -- legend ------------------------------------------------------------------
    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit_legend()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self._fit_legend()

    def _fit_legend(self) -> None:
        """Nine racers' names in a short map (a projector): more columns, never cut off."""
        legend = self.__dict__.get("legend")  # pyqtgraph resizes the view while it is being built
        item = self.getPlotItem()
        if legend is None or item is None or not legend.items or not self.isVisible():
            return  # fitted when shown
        base = self.__dict__.get("_legend_text_size") or legend.opts["labelTextSize"]
        self._legend_text_size = base
        fit_legend(legend, item.vb.width() - 12, item.vb.height() - 12, base)
        # Nine names at a projector's size cover half a short map wherever they go: the map
        # is then shown whole, and the racer list beside it names the colours.
        box = legend.boundingRect()
        legend.setVisible(box.width() * box.height() <= 0.3 * item.vb.width() * item.vb.height())
        self._place_legend()

    def _place_legend(self) -> None:
        """The legend goes to the corner where it hides the fewest path points, minima and
        the start (on a projector it is a good part of the map)."""
        legend = self.__dict__.get("legend")
        if legend is None or not legend.items or not legend.isVisible():
            return
        parts = [self._paths[i][: self._counts[i]][:: max(1, self._counts[i] // 500)] for i in range(len(self._paths))]
        for marks in (self._minima, self._start):
            x, y = marks.getData()
            if x is not None and len(x):
                parts.append(np.column_stack([x, y]))
        if not parts:
            return
        xy = np.concatenate(parts)
        self._legend_corner = place_in_emptiest_corner(legend, self.getPlotItem().vb, (xy[:, 0], xy[:, 1]),
                                                       self._legend_corner, offset=6)

    def _restyle_title(self) -> None:
        style = theme().style
        item = self.getPlotItem()
        item.titleLabel.setText(item.titleLabel.text, color=style.foreground,
                                size=f"{round(11 * style.effective_font_scale)}pt")
