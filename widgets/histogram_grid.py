"""Per-layer histograms as a grid of small panels or as a ridgeline, painted directly.

The caller hands over, per layer, counts on the layer's own range and counts on one
range shared by all layers; the toggle between shared and per-layer scale is then
instant. Painting with QPainter (instead of one pyqtgraph plot per layer) keeps fifty
layers × several schemes cheap to redraw. A layer may carry a note ("overflow") that
is drawn in red over its panel. Exports PNG, SVG and CSV of what is shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QFileDialog, QMenu, QSizePolicy, QWidget

from widgets.export import export_widget_png, write_csv
from widgets.theme import Style, theme

__all__ = ["HistogramGrid", "LayerHistograms", "format_tick"]

MODES = ("grid", "ridgeline")
WARNING_COLOR = "#D55E00"


@dataclass(frozen=True)
class LayerHistograms:
    """Counts per layer on each layer's own range and on one shared range."""

    counts: np.ndarray  # (L, bins)
    edges: np.ndarray  # (L, bins + 1)
    shared_counts: np.ndarray  # (L, bins)
    shared_edges: np.ndarray  # (bins + 1,)
    labels: tuple[str, ...]
    notes: tuple[str, ...] = ()  # per layer, "" for none

    @property
    def layers(self) -> int:
        return len(self.counts)


def format_tick(v: float) -> str:
    if v == 0 or not math.isfinite(v):
        return "0" if v == 0 else str(v)
    if 1e-2 <= abs(v) < 1e4:
        return f"{v:.3g}".replace("-", "−")
    return f"{v:.1e}".replace("e-0", "e−").replace("e+0", "e").replace("e-", "e−").replace("-", "−")


class HistogramGrid(QWidget):
    def __init__(self, title: str = "", color: str | None = None, parent=None):
        super().__init__(parent)
        self.title = title
        self.color = color or theme().style.series_color(0)
        self.mode = "grid"
        self.shared = True
        self.data: LayerHistograms | None = None
        self.message = ""  # shown instead of panels, e.g. before the first result
        self.paint_count = 0
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        theme().changed.connect(self._restyle)

    # -- data and options -------------------------------------------------------------
    def set_histograms(self, data: LayerHistograms | None) -> None:
        self.data = data
        self.update()

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"Histogram view must be one of {', '.join(MODES)}, got {mode!r}")
        self.mode = mode
        self.update()

    def set_shared(self, shared: bool) -> None:
        self.shared = bool(shared)
        self.update()

    def set_color(self, color: str) -> None:
        self.color = color
        self.update()

    def shown(self) -> tuple[np.ndarray, np.ndarray]:
        """The counts (L, bins) and edges (L, bins + 1) as currently displayed."""
        d = self.data
        if d is None:
            return np.zeros((0, 0)), np.zeros((0, 0))
        if self.shared:
            return d.shared_counts, np.broadcast_to(d.shared_edges, (d.layers, len(d.shared_edges)))
        return d.counts, d.edges

    def sizeHint(self) -> QSize:
        return QSize(320, 420)

    def _restyle(self, _style: Style) -> None:
        self.update()

    # -- painting ---------------------------------------------------------------------------
    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        try:
            self.paint_on(painter, QRectF(self.rect()))
        finally:
            painter.end()
        self.paint_count += 1

    def paint_on(self, p: QPainter, rect: QRectF) -> None:
        style = theme().style
        p.setRenderHint(QPainter.Antialiasing, True)
        p.fillRect(rect, QColor(style.background))
        font = style.font("table", self.font())
        p.setFont(font)
        fm_h = p.fontMetrics().height()
        top = rect.top()
        if self.title:
            p.setPen(QColor(style.foreground))
            p.drawText(QRectF(rect.left(), top, rect.width(), fm_h + 4), Qt.AlignCenter, self.title)
            top += fm_h + 4
        body = QRectF(rect.left() + 2, top, rect.width() - 4, rect.bottom() - top - 2)
        if self.data is None or self.data.layers == 0:
            p.setPen(QColor(style.foreground))
            p.drawText(body, Qt.AlignCenter | Qt.TextWordWrap, self.message)
            return
        if self.mode == "grid":
            self._paint_grid(p, body, style, fm_h)
        else:
            self._paint_ridgeline(p, body, style, fm_h)

    def _columns(self, n: int, body: QRectF) -> int:
        """As many columns as keep panels roughly 4:3 in the space available."""
        best, best_score = 1, math.inf
        for cols in range(1, n + 1):
            rows = math.ceil(n / cols)
            w, h = body.width() / cols, body.height() / rows
            score = abs(math.log(max(w, 1) / max(h, 1) / 1.33))
            if score < best_score:
                best, best_score = cols, score
        return best

    def _paint_grid(self, p: QPainter, body: QRectF, style: Style, fm_h: int) -> None:
        counts, edges = self.shown()
        n = len(counts)
        cols = self._columns(n, body)
        rows = math.ceil(n / cols)
        cw, ch = body.width() / cols, body.height() / rows
        y_max_all = float(counts.max()) if counts.size else 1.0
        fg = QColor(style.foreground)
        faint = QColor(fg)
        faint.setAlpha(90)
        for i in range(n):
            r, c = divmod(i, cols)
            cell = QRectF(body.left() + c * cw, body.top() + r * ch, cw, ch).adjusted(2, 2, -2, -2)
            label_h = fm_h if ch > 3 * fm_h else 0
            plot = cell.adjusted(0, label_h, 0, -label_h)
            p.setPen(QPen(faint, 1))
            p.drawRect(plot)
            y_max = y_max_all if self.shared else float(counts[i].max())
            self._paint_bars(p, plot, counts[i], y_max)
            p.setPen(fg)
            if label_h:
                p.drawText(QRectF(cell.left(), cell.top(), cell.width(), label_h), Qt.AlignLeft | Qt.AlignVCenter, self.data.labels[i])
                lo, hi = edges[i][0], edges[i][-1]
                rng = QRectF(cell.left(), plot.bottom(), cell.width(), label_h)
                p.drawText(rng, Qt.AlignLeft | Qt.AlignVCenter, format_tick(lo))
                p.drawText(rng, Qt.AlignRight | Qt.AlignVCenter, format_tick(hi))
            self._paint_note(p, plot, i)

    def _paint_ridgeline(self, p: QPainter, body: QRectF, style: Style, fm_h: int) -> None:
        counts, edges = self.shown()
        n = len(counts)
        fg = QColor(style.foreground)
        label_w = p.fontMetrics().horizontalAdvance("L50 ") + 4
        axis_h = fm_h + 4
        range_w = 0 if self.shared else p.fontMetrics().horizontalAdvance("−0.00e−00 … −0.00e−00") + 6
        area = QRectF(body.left() + label_w, body.top(), body.width() - label_w - range_w, body.height() - axis_h)
        rise = 1.8  # a ridge may rise this many row steps: neighbours overlap a little
        step = area.height() / (n + rise - 1)
        y_max_all = float(counts.max()) if counts.size else 1.0
        for i in range(n):
            baseline = area.top() + (i + rise) * step
            ridge = QRectF(area.left(), baseline - rise * step, area.width(), rise * step)
            y_max = y_max_all if self.shared else float(counts[i].max())
            self._paint_bars(p, ridge, counts[i], y_max, outline_only=False, alpha=150)
            p.setPen(fg)
            p.drawText(QRectF(body.left(), baseline - fm_h, label_w - 4, fm_h), Qt.AlignRight | Qt.AlignVCenter, self.data.labels[i])
            if not self.shared:
                text = f"{format_tick(edges[i][0])} … {format_tick(edges[i][-1])}"
                p.drawText(QRectF(area.right() + 4, baseline - fm_h, range_w, fm_h), Qt.AlignLeft | Qt.AlignVCenter, text)
            self._paint_note(p, QRectF(area.left(), baseline - step, area.width(), step), i)
        p.setPen(fg)
        axis_y = area.bottom() + 2
        p.drawLine(QPointF(area.left(), axis_y), QPointF(area.right(), axis_y))
        if self.shared and n:
            lo, hi = edges[0][0], edges[0][-1]
            half = area.width() / 2
            for frac, align in ((0.0, Qt.AlignLeft), (0.5, Qt.AlignHCenter), (1.0, Qt.AlignRight)):
                x = area.left() + frac * area.width()
                p.drawLine(QPointF(x, axis_y), QPointF(x, axis_y + 3))
                box = QRectF(area.left() + frac * half, axis_y + 2, half, fm_h)
                p.drawText(box, align | Qt.AlignTop, format_tick(lo + frac * (hi - lo)))

    def _paint_bars(self, p: QPainter, rect: QRectF, counts: np.ndarray, y_max: float, outline_only=False, alpha=110) -> None:
        if y_max <= 0 or len(counts) == 0:
            return
        bins = len(counts)
        w = rect.width() / bins
        heights = np.clip(counts / y_max, 0, 1) * rect.height()
        path = QPainterPath(QPointF(rect.left(), rect.bottom()))
        for b in range(bins):
            x = rect.left() + b * w
            y = rect.bottom() - float(heights[b])
            path.lineTo(x, y)
            path.lineTo(x + w, y)
        path.lineTo(rect.right(), rect.bottom())
        path.closeSubpath()
        color = QColor(self.color)
        fill = QColor(color)
        fill.setAlpha(alpha)
        if not outline_only:
            p.fillPath(path, fill)
        p.setPen(QPen(color, theme().style.pen_width(1.0)))
        p.drawPath(path)

    def _paint_note(self, p: QPainter, rect: QRectF, i: int) -> None:
        notes = self.data.notes
        if i < len(notes) and notes[i]:
            p.setPen(QColor(WARNING_COLOR))
            p.drawText(rect, Qt.AlignCenter | Qt.TextWordWrap, notes[i])

    # -- export -----------------------------------------------------------------------------
    def contextMenuEvent(self, event) -> None:
        menu = QMenu(self)
        for label, suffix, scale in (("PNG ×1…", ".png", 1), ("PNG ×2…", ".png", 2), ("SVG…", ".svg", 1), ("CSV data…", ".csv", 1)):
            action = menu.addAction(f"Save histograms as {label}")
            action.triggered.connect(lambda _=False, s=suffix, k=scale: self._export_dialog(s, k))
        menu.exec(event.globalPos())

    def _export_dialog(self, suffix: str, scale: float) -> None:
        default = (self.title or "histograms").lower().replace(" ", "_") + suffix
        path, _ = QFileDialog.getSaveFileName(self, "Save histograms", default, f"*{suffix}")
        if path:
            self.export_file(path if path.lower().endswith(suffix) else path + suffix, scale)

    def export_file(self, path: str | Path, scale: float = 1.0) -> Path:
        """One file, its kind chosen by the suffix: .png (at ``scale``), .svg or .csv."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".png":
            return export_widget_png(self, path, scale)
        if suffix == ".svg":
            return self.export_svg(path)
        if suffix == ".csv":
            return write_csv(path, self.csv_columns())
        raise ValueError(f"Cannot save histograms as {suffix or 'a file without suffix'}; use .png, .svg or .csv")

    def csv_columns(self) -> dict[str, np.ndarray]:
        counts, edges = self.shown()
        if not len(counts):
            return {}
        layers = np.repeat(np.arange(1, len(counts) + 1), counts.shape[1])
        return {
            "layer": layers,
            "bin_low": np.concatenate([e[:-1] for e in edges]),
            "bin_high": np.concatenate([e[1:] for e in edges]),
            "count": counts.ravel(),
        }

    def export(self, stem: str | Path, scale: float = 1.0) -> list[Path]:
        """PNG, SVG and CSV of the histograms as shown: ``stem``.png/.svg/.csv."""
        stem = Path(stem)
        suffixes = (".png", ".svg", ".csv") if self.data is not None else (".png", ".svg")
        return [self.export_file(stem.with_name(stem.name + s), scale) for s in suffixes]

    def export_svg(self, path: str | Path) -> Path:
        from PySide6.QtSvg import QSvgGenerator

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        size = self.size() if self.width() > 1 else self.sizeHint()
        gen = QSvgGenerator()
        gen.setFileName(str(path))
        gen.setSize(size)
        gen.setViewBox(QRectF(0, 0, size.width(), size.height()))
        gen.setTitle(self.title or "histograms")
        painter = QPainter(gen)
        try:
            self.paint_on(painter, QRectF(0, 0, size.width(), size.height()))
        finally:
            painter.end()
        return path
