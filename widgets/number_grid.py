"""NumberGrid: a small matrix drawn as coloured cells with their numbers, editable in place.

Made for stepping through convolutions: a set of cells can be highlighted (the
receptive field) with a second set of numbers overlaid in their corners (the kernel
weights); one cell can be marked as current (the output being filled); cells can be
drawn as padding, as inserted zeros or as not yet computed. Numbers are written
only while cells are large enough to read; otherwise the grid is a heatmap.

Double-clicking a cell of an editable grid opens a text box over it. Typing
something that is not a number is refused there: the box stays open with the
reason below the grid, and the old value is kept.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QImage, QPainter, QPen
from PySide6.QtWidgets import QLabel, QLineEdit, QSizePolicy, QVBoxLayout, QWidget

from widgets.param_form import parse_number
from widgets.theme import theme

__all__ = ["NumberGrid", "CELL_INPUT", "CELL_PADDING", "CELL_INSERTED", "short_number"]

CELL_INPUT, CELL_PADDING, CELL_INSERTED = 0, 1, 2
HIGHLIGHT = QColor("#E69F00")  # Okabe–Ito orange: visible on both the blue and red ends
CURRENT = QColor("#009E73")
MARK = QColor("#D55E00")  # Okabe–Ito vermilion: a crossed-out cell on either end of the colour map
MIN_TEXT_CELL = 22  # px below which numbers are not written


def short_number(v: float) -> str:
    """At most ~5 characters: 3, −0.5, 1.25, 1e+03, −∞."""
    if math.isinf(v):
        return "−∞" if v < 0 else "∞"
    if math.isnan(v):
        return "nan"
    if abs(v - round(v)) < 1e-9 and abs(v) < 10000:
        s = str(int(round(v)))
    elif abs(v) >= 100:
        s = f"{v:.3g}"
    else:
        s = f"{v:.2f}".rstrip("0").rstrip(".")
        if s in ("0", "-0"):
            s = f"{v:.0e}"
    return s.replace("-", "−")


def _diverging(t: float) -> QColor:
    """t in [−1, 1] → blue … white … red (colour-blind safe end points)."""
    t = max(-1.0, min(1.0, t))
    a = abs(t)
    end = (33, 102, 172) if t < 0 else (178, 24, 43)
    r, g, b = (round(255 + (e - 255) * a) for e in end)
    return QColor(r, g, b)


class _Canvas(QWidget):
    def __init__(self, grid: "NumberGrid"):
        super().__init__(grid)
        self.grid = grid
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumSize(24, 24)
        self.setMouseTracking(False)

    def sizeHint(self) -> QSize:
        h, w = self.grid.values.shape
        cell = self.grid.preferred_cell
        return QSize(w * cell + 2, h * cell + 2)

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        try:
            self.grid._paint(painter, self.width(), self.height())
        finally:
            painter.end()

    def mouseDoubleClickEvent(self, event) -> None:
        cell = self.grid.cell_at(event.position().x(), event.position().y())
        if cell is not None and self.grid.editable:
            self.grid.edit_cell(*cell)


class NumberGrid(QWidget):
    cell_edited = Signal(int, int, float)  # row, column, new value (only good values)

    def __init__(self, title: str = "", *, editable: bool = False, preferred_cell: int = 34, parent: QWidget | None = None):
        super().__init__(parent)
        self.editable = editable
        self.preferred_cell = preferred_cell
        self.values = np.zeros((1, 1))
        self.roles: np.ndarray | None = None
        self.filled: np.ndarray | None = None
        self.marked: np.ndarray | None = None  # cells crossed out (e.g. never visited by a window)
        self.image_mode = False  # grey scale 0…1 and no numbers (pictures)
        self.color_limit: float | None = None
        self.hl_rows: np.ndarray | None = None
        self.hl_cols: np.ndarray | None = None
        self.overlay: np.ndarray | None = None  # (len(rows), len(cols)) weights written in the corners
        self.current: tuple[int, int] | None = None
        self.cell_text: str | None = None  # the same word in every cell (e.g. "max"), instead of numbers
        self._edit_cell: tuple[int, int] | None = None

        self.title = QLabel(title)
        self.title.setAlignment(Qt.AlignCenter)
        self.title.setWordWrap(True)
        self.canvas = _Canvas(self)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d03030;")
        self.error.hide()
        self.editor = QLineEdit(self.canvas)
        self.editor.setAlignment(Qt.AlignCenter)
        self.editor.hide()
        self.editor.returnPressed.connect(self._commit_edit)
        self.editor.editingFinished.connect(self._on_editor_left)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.error)
        if not title:
            self.title.hide()
        theme().changed.connect(self._on_theme)

    # -- content -------------------------------------------------------------
    def set_title(self, text: str) -> None:
        self.title.setText(text)
        self.title.setVisible(bool(text))

    def set_values(self, values, roles=None, filled=None, marked=None) -> None:
        """A 2-D array; ``roles`` marks padding / inserted cells; ``filled`` False = not computed yet;
        ``marked`` True = crossed out (a cell that takes no part, e.g. never under the window)."""
        values = np.atleast_2d(np.array(values, float))  # a copy: in-place edits must not reach the caller's array
        reshaped = values.shape != self.values.shape
        self.values = values
        self.roles = None if roles is None else np.asarray(roles)
        self.filled = None if filled is None else np.asarray(filled, bool)
        self.marked = None if marked is None or not np.any(marked) else np.asarray(marked, bool)
        if reshaped:
            self.canvas.updateGeometry()
        self.canvas.update()

    def set_highlight(self, rows=None, cols=None, overlay=None, current: tuple[int, int] | None = None) -> None:
        self.hl_rows = None if rows is None else np.asarray(rows, int)
        self.hl_cols = None if cols is None else np.asarray(cols, int)
        self.overlay = None if overlay is None else np.asarray(overlay, float)
        self.current = current
        self.canvas.update()

    def clear_highlight(self) -> None:
        self.set_highlight()

    # -- geometry ------------------------------------------------------------
    def cell_size(self, width: int | None = None, height: int | None = None) -> float:
        h, w = self.values.shape
        width = self.canvas.width() if width is None else width
        height = self.canvas.height() if height is None else height
        # Whole pixels: crisp cell borders, and heatmaps blit without scaling.
        return float(max(2, int(min((width - 2) / w, (height - 2) / h, 3.0 * self.preferred_cell))))

    def cell_rect(self, r: int, c: int) -> QRectF:
        s = self.cell_size()
        x0, y0 = self._origin(s)
        return QRectF(x0 + c * s, y0 + r * s, s, s)

    def cell_at(self, x: float, y: float) -> tuple[int, int] | None:
        s = self.cell_size()
        x0, y0 = self._origin(s)
        c, r = int((x - x0) // s), int((y - y0) // s)
        h, w = self.values.shape
        return (r, c) if 0 <= r < h and 0 <= c < w and x >= x0 and y >= y0 else None

    def _origin(self, s: float) -> tuple[float, float]:
        h, w = self.values.shape
        return 1 + (self.canvas.width() - 2 - w * s) // 2, 1 + (self.canvas.height() - 2 - h * s) // 2

    # -- editing -------------------------------------------------------------
    def edit_cell(self, r: int, c: int) -> QLineEdit:
        """Open the in-place editor on a cell (what a double-click does)."""
        self._edit_cell = (r, c)
        rect = self.cell_rect(r, c).toRect()
        self.editor.setGeometry(rect.adjusted(0, 0, max(0, 52 - rect.width()), 0))
        self.editor.setText(short_number(self.values[r, c]).replace("−", "-"))
        self.editor.selectAll()
        self.editor.show()
        self.editor.setFocus()
        return self.editor

    @Slot()
    def _commit_edit(self) -> None:
        if self._edit_cell is None:
            return
        r, c = self._edit_cell
        try:
            v = parse_number(self.editor.text())
        except ValueError as exc:
            self.show_error(f"Row {r}, column {c}: {exc}. The cell keeps {short_number(self.values[r, c])}.")
            self.editor.setStyleSheet("border: 2px solid #d03030;")
            self.editor.selectAll()
            return
        self.editor.setStyleSheet("")
        self.editor.hide()
        self._edit_cell = None
        self.show_error("")
        self.values[r, c] = v
        self.canvas.update()
        self.cell_edited.emit(r, c, v)

    @Slot()
    def _on_editor_left(self) -> None:
        # Leaving the box without Enter: refused text stays visible with its reason;
        # good text is committed like Enter.
        if self._edit_cell is not None and not self.editor.hasFocus():
            try:
                parse_number(self.editor.text())
            except ValueError:
                return
            self._commit_edit()

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))

    # -- drawing -------------------------------------------------------------
    @Slot(object)
    def _on_theme(self, _style) -> None:
        self.canvas.update()

    def _fill_color(self, v: float, limit: float) -> QColor:
        if self.image_mode:
            g = round(255 * max(0.0, min(1.0, v)))
            return QColor(g, g, g)
        if not math.isfinite(v):
            return QColor("#bdbdbd")
        return _diverging(v / limit)

    def _limit(self) -> float:
        finite = self.values[np.isfinite(self.values)]
        return self.color_limit or (float(np.abs(finite).max()) if finite.size else 1.0) or 1.0

    def _rgb(self, limit: float, background: str) -> np.ndarray:
        """(h, w, 3) uint8 colours of every cell, the same map as :meth:`_fill_color`."""
        v = self.values
        if self.image_mode:
            g = np.round(255 * np.clip(np.nan_to_num(v), 0, 1)).astype(np.uint8)
            rgb = np.repeat(g[..., None], 3, axis=2)
        else:
            t = np.clip(np.nan_to_num(v / limit, nan=0.0, posinf=0.0, neginf=0.0), -1, 1)[..., None]
            blue, red = np.array([33, 102, 172.0]), np.array([178, 24, 43.0])
            end = np.where(t < 0, blue, red)
            rgb = np.round(255 + (end - 255) * np.abs(t)).astype(np.uint8)
            rgb[~np.isfinite(v)] = (189, 189, 189)
        if self.roles is not None:
            special = self.roles != CELL_INPUT
            rgb[special] = (0.55 * rgb[special] + 0.45 * 150).astype(np.uint8)
        if self.filled is not None:
            bg = QColor(background)
            rgb[~self.filled] = (bg.red(), bg.green(), bg.blue())
        return np.ascontiguousarray(rgb)

    def _paint(self, p: QPainter, width: int, height: int) -> None:
        style = theme().style
        h, w = self.values.shape
        s = self.cell_size(width, height)
        x0, y0 = self._origin(s)
        limit = self._limit()
        write = s >= MIN_TEXT_CELL and not self.image_mode
        if s < MIN_TEXT_CELL:
            # Heatmap: one image scaled up, no per-cell drawing (thousands of cells at 30 fps).
            # Upscale by whole pixels in numpy and blit 1:1: a scaled drawImage converts and
            # filters the image on every paint (~5 ms), the blit is ~0.1 ms.
            rgb = self._rgb(limit, style.background).astype(np.uint32)
            packed = 0xFF000000 | (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
            k = int(s)  # cell_size() is whole pixels
            big = np.ascontiguousarray(np.repeat(np.repeat(packed, k, axis=0), k, axis=1))
            image = QImage(big.data, w * k, h * k, 4 * w * k, QImage.Format_RGB32)
            p.drawImage(QPointF(x0, y0), image)
            p.setPen(QPen(QColor(style.foreground), 1))
            p.drawRect(QRectF(x0, y0, w * s, h * s))
            self._paint_marks(p, x0, y0, s)
            self._paint_highlight(p, x0, y0, s, style.font("table", self.font()), style)
            return
        # The theme's table size, shrunk only where a cell is too small for it.
        font = style.font("table", self.font())
        font.setPointSizeF(max(6.0, min(font.pointSizeF(), s * 0.32)))
        if write:
            # Shrink until the widest number fits its cell; below 6 pt leave the cells blank.
            longest = self.cell_text or max((short_number(float(v)) for v in self.values.ravel()), key=len)
            width = QFontMetricsF(font).horizontalAdvance(longest)
            if width > 0.88 * s:
                font.setPointSizeF(font.pointSizeF() * 0.88 * s / width)
            write = font.pointSizeF() >= 6.0
        small = QFont(font)
        small.setPointSizeF(max(5.0, font.pointSizeF() * 0.72))
        grid_pen = QPen(QColor(style.foreground))
        grid_pen.setWidthF(0.5 if s < 12 else 1.0)
        grid_pen.setCosmetic(True)
        empty = QColor(style.background)
        p.setFont(font)
        for r in range(h):
            for c in range(w):
                rect = QRectF(x0 + c * s, y0 + r * s, s, s)
                v = float(self.values[r, c])
                role = CELL_INPUT if self.roles is None else int(self.roles[r, c])
                done = self.filled is None or bool(self.filled[r, c])
                if not done:
                    p.fillRect(rect, empty)
                else:
                    p.fillRect(rect, self._fill_color(v, limit))
                    if role == CELL_PADDING:
                        p.fillRect(rect, QBrush(QColor(120, 120, 120, 150), Qt.BDiagPattern))
                    elif role == CELL_INSERTED:
                        p.fillRect(rect, QBrush(QColor(120, 120, 120, 110), Qt.Dense6Pattern))
                p.setPen(grid_pen if s >= 6 or not done else Qt.NoPen)
                if s >= 6 or not done:
                    p.drawRect(rect)
                if write and done:
                    fill = self._fill_color(v, limit)
                    p.setPen(QColor("#ffffff") if fill.lightnessF() < 0.5 else QColor("#111111"))
                    p.drawText(rect, Qt.AlignCenter, self.cell_text or short_number(v))
        self._paint_marks(p, x0, y0, s)
        self._paint_highlight(p, x0, y0, s, small, style)

    def _paint_marks(self, p: QPainter, x0: float, y0: float, s: float) -> None:
        """A cross over each marked cell: the number stays readable under it."""
        if self.marked is None or self.marked.shape != self.values.shape:
            return
        pen = QPen(MARK, max(1.5, s * 0.06))
        p.setPen(pen)
        p.setBrush(Qt.NoBrush)
        inset = s * 0.12
        for r, c in zip(*np.nonzero(self.marked)):
            rect = QRectF(x0 + c * s, y0 + r * s, s, s).adjusted(inset, inset, -inset, -inset)
            p.drawLine(rect.topLeft(), rect.bottomRight())
            p.drawLine(rect.topRight(), rect.bottomLeft())

    def _paint_highlight(self, p: QPainter, x0: float, y0: float, s: float, small: QFont, style) -> None:
        h, w = self.values.shape
        line = style.pen_width(2.0)
        if self.hl_rows is not None and self.hl_cols is not None:
            pen = QPen(HIGHLIGHT, line)
            p.setFont(small)
            for i, r in enumerate(self.hl_rows):
                for j, c in enumerate(self.hl_cols):
                    if not (0 <= r < h and 0 <= c < w):
                        continue
                    rect = QRectF(x0 + c * s, y0 + r * s, s, s).adjusted(line / 2, line / 2, -line / 2, -line / 2)
                    p.setPen(pen)
                    p.setBrush(Qt.NoBrush)
                    p.drawRect(rect)
                    if self.overlay is not None and s >= 40:  # weights in the corners only where the number stays readable
                        text = "×" + short_number(float(self.overlay[i, j]))
                        box = QRectF(rect.right() - s * 0.62, rect.bottom() - s * 0.36, s * 0.62, s * 0.36)
                        p.fillRect(box, HIGHLIGHT)
                        p.setPen(QColor("#111111"))
                        p.drawText(box, Qt.AlignCenter, text)
        if self.current is not None:
            r, c = self.current
            if 0 <= r < h and 0 <= c < w:
                p.setPen(QPen(CURRENT, line * 1.6 if s >= 12 else 2.0))
                p.setBrush(Qt.NoBrush)
                rect = QRectF(x0 + c * s, y0 + r * s, s, s)
                # inside a large cell; around a small one, so that it stays visible
                p.drawRect(rect.adjusted(line, line, -line, -line) if s >= 12 else rect.adjusted(-2, -2, 2, 2))
