"""LivePlot: append-only curves redrawn on change at most ~30 times a second, never once
per event.

Appending only stores numbers (amortised O(1)) and asks the redraw scheduler for a
frame; the frame pushes to pyqtgraph just the series that changed since the last one.
An idle or hidden plot wakes no timer. Log-y, legend, a readout of the values
under the cursor, and export (PNG at ×1–×4, SVG, CSV) from the context menu.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QFileDialog, QLabel

from widgets.axis import ReadableAxis
from widgets.export import drop_scene_export, export_plot
from widgets.plot_legend import covered_points, fit_legend, place_in_emptiest_corner
from widgets.plot_marks import FLOAT32_TINY, UndrawableMarks
from widgets.plot_menu import LazyMenuViewBox
from widgets.plot_series import Series, decimate_peaks
from widgets.redraw import redraw_scheduler, request_redraw
from widgets.theme import Style, style_plot, theme

__all__ = ["LivePlot", "Series", "FLOAT32_TINY"]

class LivePlot(pg.PlotWidget):
    exported = Signal(str)  # path, after a successful export from the menu

    def __init__(self, title: str = "", x_label: str = "", y_label: str = "", *, log_y: bool = False, parent=None):
        super().__init__(parent=parent, viewBox=LazyMenuViewBox(),
                         axisItems={"left": ReadableAxis("left"), "bottom": ReadableAxis("bottom")})
        drop_scene_export(self)
        self.setMinimumSize(220, 160)
        self.title = title
        self._series: dict[str, Series] = {}
        self._log_y = log_y
        self.redraw_count = 0
        item = self.getPlotItem()
        item.setTitle(title)
        item.setLabel("bottom", x_label)
        item.setLabel("left", y_label)
        item.showGrid(x=True, y=True, alpha=0.25)
        for axis in ("left", "bottom"):
            item.getAxis(axis).enableAutoSIPrefix(False)  # "×0.001" on a fraction confuses students
            # Two grid levels, not three: the finest level doubled the cost of each frame.
            item.getAxis(axis).setStyle(maxTickLevel=1)
        # Painting the axes (ticks, labels, grid) is most of a frame's cost. Cache them as
        # pixmaps, and move the view in steps (see _fit_view) rather than every frame, so
        # a growing curve repaints its axes a few dozen times in a run, not 30 times a second.
        from PySide6.QtWidgets import QGraphicsItem

        for axis in ("left", "bottom"):
            item.getAxis(axis).setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        item.vb.disableAutoRange()
        self._auto_view = True
        self._expected_x: tuple[float, float] | None = None
        self._fixed_y: tuple[float, float] | None = None
        item.vb.sigRangeChangedManually.connect(self._on_manual_range)
        item.autoBtn.clicked.connect(self._on_auto_button)
        self.legend = item.addLegend(offset=(-10, 10))
        self._legend_corner = (1, 0)  # (x, y) of the view corner it sits in: top right
        self._marks = UndrawableMarks(item, lambda name: self._series[name].color)
        self.note = self._marks.note  # says what the dashed lines mark
        item.vb.sigResized.connect(self._place_note)
        item.setLogMode(y=log_y)
        self._readout = pg.LabelItem(justify="left")
        item.layout.addItem(self._readout, 4, 1)
        self._readout.setText(" ")
        self._mouse_pos = None  # where the readout was taken, to retake it as the data changes
        self._hint = QLabel(self)
        self._hint.setObjectName("plot_hint")
        self._hint.setProperty("overlay", True)  # drawn over the empty plot on purpose (layout checks skip it)
        self._hint.setAlignment(Qt.AlignCenter)
        self._hint.setWordWrap(True)
        self._hint.setAttribute(Qt.WA_TransparentForMouseEvents)
        self._hint.hide()
        self._cache_static_items()
        self._mouse_proxy = pg.SignalProxy(self.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse_moved)
        self._add_export_menu()
        theme().changed.connect(self._restyle)
        self._restyle(theme().style)

    # -- data -------------------------------------------------------------------
    def series(self, name: str, *, color: str | None = None, width: float = 1.0, dash: bool = False, symbol: str | None = None) -> Series:
        """Get or create the series ``name`` (its colour follows creation order)."""
        s = self._series.get(name)
        if s is None:
            color = color or theme().style.series_color(len(self._series))
            s = Series(name, color, width, dash, symbol, on_change=self._request_redraw)
            if symbol:
                s.curve = self.getPlotItem().plot([], [], name=name)
            else:
                # A bare curve item: PlotDataItem's extra layers (log transform, clipping,
                # downsampling, scatter) cost more per frame than the drawing itself.
                s.curve = pg.PlotCurveItem(name=name)
                self.getPlotItem().addItem(s.curve)
            self._style_curve(s, theme().style)
            self._series[name] = s
            self._cache_static_items()
            self._fit_legend()
        return s

    def set_title(self, title: str) -> None:
        """A new title, in the theme's colour and size."""
        self.title = title
        style = theme().style
        self.getPlotItem().setTitle(title, color=style.foreground, size=style.css_size("title"))

    # -- legend ------------------------------------------------------------------
    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit_legend()
        hint = self.__dict__.get("_hint")  # pyqtgraph resizes the view before __init__ ends
        if hint is not None and not hint.isHidden():
            self._place_hint()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self._fit_legend()

    def _fit_legend(self) -> None:
        """Spread the legend over more columns when a short plot (a projector's window, large
        fonts) cannot show its entries one under another, and make its text smaller when a
        narrow plot cannot show it whole: no entry is cut off."""
        legend = self.__dict__.get("legend")  # pyqtgraph resizes the view while it is being built
        if legend is None or not legend.items or not self.isVisible():
            return  # a hidden plot (a closed window's too) is fitted when it is shown
        item = self.getPlotItem()
        if item is None:
            return  # pyqtgraph resizes the widget before it has made its plot item
        try:
            room_w, room_h = item.vb.width() - 12, item.vb.height() - 12
        except RuntimeError:  # a resize while the window closes: the view is already gone
            return  # the legend sits 10 px in from the view's corner
        base = self.__dict__.get("_legend_text_size") or legend.opts["labelTextSize"]
        self._legend_text_size = base
        fit_legend(legend, room_w, room_h, base)

    def _cache_static_items(self) -> None:
        """Everything but the curves is painted once into a pixmap and blitted after:
        when a curve changes, the legend, labels and frame under it are repainted too,
        and in Python that costs more than the curve."""
        from PySide6.QtWidgets import QGraphicsItem

        item = self.getPlotItem()
        static = [item.vb, item.titleLabel, self._readout, self.legend]
        if self.legend is not None:
            static += self.legend.childItems()
        for it in static:
            if it is not None:
                it.setCacheMode(QGraphicsItem.DeviceCoordinateCache)

    def append(self, name: str, x: float, y: float) -> None:
        self.series(name).append(x, y)

    def set_data(self, name: str, x, y, **style) -> None:
        self.series(name, **style).set(x, y)

    def remove(self, name: str) -> None:
        s = self._series.pop(name, None)
        if s is not None and s.curve is not None:
            self.getPlotItem().removeItem(s.curve)
        self._marks.forget(name, theme().style)
        self._place_note()

    def clear_series(self) -> None:
        for name in list(self._series):
            self.remove(name)
        self._auto_view = True
        self.clear_readout()  # its numbers were the old data's
        # Nor may the axes keep the old run's ranges: an empty plot shows the range the
        # next run said it expects, or a plain 0…1.
        vb = self.getPlotItem().vb
        vb.setXRange(*(self._expected_x or (0.0, 1.0)), padding=0)
        vb.setYRange(*(self._fixed_y or (0.0, 1.0)), padding=0)
        self._show_hint()

    # -- hint -----------------------------------------------------------------------
    def set_hint(self, text: str) -> None:
        """A line shown in the middle of the plot while it has no data (what Play will
        do); "" for none."""
        self._hint.setText(text)
        self._show_hint()

    def hint_text(self) -> str:
        """The hint on show now ("" when hidden: the plot has data or no hint)."""
        return self._hint.text() if not self._hint.isHidden() else ""

    def _show_hint(self) -> None:
        empty = not any(s.n for s in self._series.values())
        self._hint.setVisible(bool(self._hint.text()) and empty)
        if not self._hint.isHidden():
            self._place_hint()

    def _place_hint(self) -> None:
        self._hint.setGeometry(self.rect().adjusted(40, 40, -40, -40))
        self._hint.raise_()

    def names(self) -> list[str]:
        return list(self._series)

    def data(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        s = self._series[name]
        return s.x.copy(), s.y.copy()

    # -- drawing ----------------------------------------------------------------
    def _request_redraw(self) -> None:
        # A hidden plot keeps its series dirty and is drawn when it is shown.
        request_redraw(self)

    def redraw(self) -> None:
        """Push changed series to their curves (the redraw scheduler does this at most
        ~30 times a second while the plot is visible; exports and headless runs call it
        directly)."""
        changed = False
        max_points = max(400, 2 * self.width())
        for s in self._series.values():
            if s.dirty:
                self._push(s, max_points)
                s.dirty = False
                changed = True
        if changed:
            self._fit_view()
            self._place_legend()
            self.redraw_count += 1
            if not self._hint.isHidden():
                self._show_hint()
            if self._mouse_pos is not None:
                self._take_readout(self._mouse_pos)  # the numbers under the mouse moved on

    def _push(self, s: Series, max_points: int) -> None:
        x, y = s.x, s.y
        if self._marks.update(s, self._log_y, theme().style):
            self._place_note()
        if self._log_y:
            # Zero, negatives and float32 underflow have no honest place on a log axis:
            # they are left out of the curve and marked (widgets/plot_marks.py).
            y = np.where(y >= FLOAT32_TINY, y, np.nan)
        if isinstance(s.curve, pg.PlotDataItem):  # symbols: pyqtgraph does log itself
            s.curve.setData(x, y, connect="finite")
            # A symbol style set while the curve had no points never reaches its scatter
            # item, and the legend's marker fell back to pyqtgraph's grey: set it again.
            self._style_curve(s, theme().style)
            return
        if self._log_y:
            with np.errstate(divide="ignore", invalid="ignore"):
                y = np.log10(y)
        finite = bool(np.isfinite(y).all() and np.isfinite(x).all())
        if finite and len(x) > max_points:
            x, y = decimate_peaks(x, y, max_points)
        s.curve.setData(x, y, connect="all" if finite else "finite", skipFiniteCheck=finite)

    # -- legend and note placement ----------------------------------------------------------------
    def _points(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Up to ~2000 points a series, in view coordinates (log10 on a log axis)."""
        pts_x, pts_y = [], []
        for s in self._series.values():
            if s.n:
                step = max(1, s.n // 2000)
                y = s.y[::step]
                if self._log_y:
                    with np.errstate(divide="ignore", invalid="ignore"):
                        y = np.log10(np.where(y > 0, y, np.nan))
                pts_x.append(s.x[::step])
                pts_y.append(y)
        if not pts_x:
            return None
        return np.concatenate(pts_x), np.concatenate(pts_y)

    def _covered(self, corner, width_px: float, height_px: float, points) -> int:
        """How many points a box of that size would hide in that corner of the view."""
        return covered_points(self.getPlotItem().vb, corner, width_px, height_px, points)

    def _place_legend(self) -> None:
        """Move the legend to the corner of the view where it covers the fewest points."""
        legend = self.legend
        points = self._points()
        if legend is not None and legend.items and legend.isVisible() and points is not None:
            self._legend_corner = place_in_emptiest_corner(legend, self.getPlotItem().vb, points, self._legend_corner)
        self._place_note()

    @Slot()
    def _place_note(self) -> None:
        """The note goes to the emptiest corner the legend leaves free."""
        if not self.note.isVisible():
            return
        points = self._points()
        taken = self._legend_corner if self.legend is not None and self.legend.isVisible() and self.legend.items else None
        covered = None if points is None else (lambda corner, w, h: self._covered(corner, w, h, points))
        self._marks.place_note(taken, covered)

    def marks(self) -> list[str]:
        """What the plot says it cannot draw, one entry per series and problem
        (NaN, inf, float32 underflow, ≤ 0 on a log axis)."""
        return self._marks.entries()

    def legend_corner(self) -> tuple[int, int]:
        """(1, 0) top right, (0, 0) top left, (1, 1) bottom right, (0, 1) bottom left."""
        return self._legend_corner

    def expect_x_range(self, lo: float, hi: float) -> None:
        """Show [lo, hi] on x from the start (e.g. 0 … epochs) so the curve fills it in."""
        self._expected_x = (float(lo), float(hi))
        self._fit_view(force=True)

    def fix_y_range(self, lo: float | None, hi: float | None = None) -> None:
        """Show [lo, hi] on y whatever the data (in log10 units on a log axis), e.g. to
        frame a truth that wild curves would dwarf; ``None`` follows the data again."""
        self._fixed_y = None if lo is None else (float(lo), float(hi))
        self._fit_view(force=True)

    def _data_bounds(self):
        xs, ys = [], []
        for s in self._series.values():
            if s.n == 0:
                continue
            x, y = s.x, s.y
            ok = np.isfinite(x) & np.isfinite(y)
            if self._log_y:
                ok &= y >= FLOAT32_TINY
            if ok.any():
                xs += [x[ok].min(), x[ok].max()]
                ys += [y[ok].min(), y[ok].max()]
        if not xs:
            return None
        x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
        if self._log_y:
            y0, y1 = np.log10(y0), np.log10(y1)
        return x0, x1, y0, y1

    def _fit_view(self, force: bool = False) -> None:
        """Keep all data in view, changing the range only when data leaves it or fills
        less than a quarter of it (so the axes stay the same for many frames)."""
        if not self._auto_view:
            return
        bounds = self._data_bounds()
        if bounds is None:
            if self._expected_x is not None:
                self.getPlotItem().vb.setXRange(*self._expected_x, padding=0)
            return
        x0, x1, y0, y1 = bounds
        if self._expected_x is not None:
            x0, x1 = min(x0, self._expected_x[0]), max(x1, self._expected_x[1])
        vb = self.getPlotItem().vb
        (vx0, vx1), (vy0, vy1) = vb.viewRange()
        if force or x0 < vx0 or x1 > vx1 or (x1 - x0) < 0.25 * (vx1 - vx0):
            span = (x1 - x0) or 1.0
            grow = 0.0 if self._expected_x and x1 <= self._expected_x[1] else 0.25
            vb.setXRange(x0, x1 + grow * span, padding=0.02)
        if self._fixed_y is not None:
            if force or not np.allclose((vy0, vy1), self._fixed_y):
                vb.setYRange(*self._fixed_y, padding=0)
        elif force or y0 < vy0 + 0.02 * (vy1 - vy0) or y1 > vy1 - 0.02 * (vy1 - vy0) or (y1 - y0) < 0.25 * (vy1 - vy0):
            # Data touching the frame counts as leaving it: a curve at its top value
            # (ReLU′ = 1) would be drawn on the frame line, with no tick to read it by.
            span = (y1 - y0) or max(abs(y1), 1.0)
            vb.setYRange(y0 - 0.08 * span, y1 + 0.08 * span, padding=0)

    @Slot(object)
    def _on_manual_range(self, _mask) -> None:
        self._auto_view = False  # the student zoomed or panned: leave the view alone

    @Slot()
    def _on_auto_button(self) -> None:
        self.getPlotItem().vb.disableAutoRange()
        self._auto_view = True
        self._fit_view(force=True)

    def set_log_y(self, on: bool) -> None:
        self._log_y = on
        self.getPlotItem().setLogMode(y=on)
        for s in self._series.values():
            s.dirty = True
        self.redraw()
        self._fit_view(force=True)

    @property
    def log_y(self) -> bool:
        return self._log_y

    @Slot(object)
    def _restyle(self, style: Style) -> None:
        if self.getPlotItem() is None:  # closed, not yet collected
            return
        for s in self._series.values():
            self._style_curve(s, style)
        style_plot(self, style)
        self._readout.setAttr("color", style.foreground)
        self._readout.setText(self._readout.text, size=style.css_size("text"))
        self._cache_static_items()  # the legend's entries are new
        self._marks.restyle(style)
        self._legend_text_size = None  # the style's own size, before any fitting
        self._fit_legend()  # its entries' text size changed
        self._place_legend()
        self._hint.setStyleSheet(f"color: {style.foreground}; font-size: {style.css_size('title')}; background: transparent;")

    def _style_curve(self, s: Series, style: Style) -> None:
        color = style.readable(s.color)
        pen = pg.mkPen(color, width=style.line_width * s.width_factor, style=Qt.DashLine if s.dash else Qt.SolidLine)
        s.curve.setPen(pen)
        if s.symbol:
            s.curve.setSymbol(s.symbol)
            s.curve.setSymbolBrush(color)
            s.curve.setSymbolPen(None)
            s.curve.setSymbolSize(4 + 2 * style.line_width)
        if self.legend is not None:
            for sample, _label in self.legend.items:
                sample.update()  # the legend's line is drawn from the curve's pen: repaint it

    # -- readout ----------------------------------------------------------------
    def _on_mouse_moved(self, evt) -> None:
        pos = evt[0]
        if not self.sceneBoundingRect().contains(pos) or not self._series:
            return
        self._mouse_pos = pos
        self._take_readout(pos)

    def clear_readout(self) -> None:
        """Blank the hover readout (until the mouse moves over the plot again)."""
        self._mouse_pos = None
        self._readout.setText(" ")

    def _take_readout(self, pos) -> None:
        vb = self.getPlotItem().vb
        point = vb.mapSceneToView(pos)
        x = point.x()
        parts = [f"x = {x:.4g}"]
        for s in self._series.values():
            if s.n == 0:
                continue
            i = int(np.nanargmin(np.abs(s.x - x)))  # nearest point; x need not be sorted
            parts.append(f"<span style='color:{theme().style.readable(s.color)}'>{s.name} = {s.y[i]:.4g}</span>")
        self._readout.setText(" · ".join(parts))

    def readout_text(self) -> str:
        return self._readout.text

    # -- export -----------------------------------------------------------------
    def csv_columns(self) -> dict[str, np.ndarray]:
        """One x column when every series shares its x values, else an x/y pair each."""
        series = [s for s in self._series.values() if s.n]
        if not series:
            return {}
        x_label = self.getPlotItem().getAxis("bottom").labelText or "x"
        first = series[0].x
        if all(s.n == len(first) and np.array_equal(s.x, first) for s in series):
            cols = {x_label: first}
            cols.update({s.name: s.y for s in series})
            return cols
        cols = {}
        for s in series:
            cols[f"{s.name} {x_label}"] = s.x
            cols[s.name] = s.y
        return cols

    def export(self, path: str | Path, scale: float = 1.0) -> Path:
        self.redraw()  # the file shows the latest data, whether a frame drew it yet or not
        redraw_scheduler().cancel(self)
        # pyqtgraph widens an axis for its tick labels only while painting, and leaves out
        # labels that do not fit yet: paint once so that the file has them all.
        self.grab()
        self.getPlotItem().layout.activate()
        cols = self.csv_columns() if Path(path).suffix.lower() == ".csv" else None
        # The readout is where one mouse happened to rest, not part of the figure.
        shown = self._readout.text
        self._readout.setText(" ")
        try:
            return export_plot(self, path, scale, csv_columns=cols)
        finally:
            self._readout.setText(shown)

    def _add_export_menu(self) -> None:
        self.getPlotItem().vb.when_menu_made(self._fill_menu)

    def _fill_menu(self, view_menu) -> None:
        menu = view_menu.addMenu("Save plot as")
        for label, suffix, scale in (
            ("PNG ×1…", ".png", 1),
            ("PNG ×2…", ".png", 2),
            ("PNG ×4…", ".png", 4),
            ("SVG…", ".svg", 1),
            ("CSV data…", ".csv", 1),
        ):
            menu.addAction(label).triggered.connect(lambda _=False, s=suffix, k=scale: self._export_dialog(s, k))
        log_action = view_menu.addAction("Logarithmic y axis")
        log_action.setCheckable(True)
        log_action.setChecked(self._log_y)
        log_action.toggled.connect(self.set_log_y)

    def _export_dialog(self, suffix: str, scale: float) -> None:
        default = (self.title or "plot").lower().replace(" ", "_") + suffix
        path, _ = QFileDialog.getSaveFileName(self, "Save plot", default, f"*{suffix}")
        if path:
            if not path.lower().endswith(suffix):
                path += suffix
            self.export(path, scale)
            self.exported.emit(path)
