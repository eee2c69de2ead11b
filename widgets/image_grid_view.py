"""A grid of small images with captions, optional probability bars and hover tooltips.

Cells are filled one at a time (``set_cell``) as results stream in; a cell keeps its
previous picture until a new one arrives, so a failed refresh leaves the last good grid
on screen. Painting is coalesced by Qt (``update()``), so a burst of cells costs one
repaint. Hovering a cell shows its tooltip text (e.g. the parameters a transform drew).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from widgets.export import export_widget_png
from widgets.theme import theme

__all__ = ["ImageGridView", "array_to_qimage"]

BAR_MIN_HEIGHT = 12


def array_to_qimage(image: np.ndarray) -> QImage:
    """An (H, W, 3) uint8 RGB array (or (H, W) gray) as a QImage that owns its pixels."""
    a = np.asarray(image)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.dtype != np.uint8:
        a = np.clip(a * 255.0 if a.max() <= 1.0 else a, 0, 255).astype(np.uint8)
    a = np.ascontiguousarray(a[..., :3])
    h, w = a.shape[:2]
    return QImage(a.data, w, h, 3 * w, QImage.Format_RGB888).copy()


@dataclass
class _Cell:
    image: QImage | None = None
    caption: str = ""
    tooltip: str = ""
    bars: list[tuple[str, float]] = field(default_factory=list)
    # The picture scaled once to its cell (and pixel ratio): painting 64 cells from
    # cached pixmaps costs little, so streaming draws does not load the GUI thread.
    scaled: QPixmap | None = None
    scaled_key: tuple = ()


class ImageGridView(QWidget):
    cell_hovered = Signal(int)

    def __init__(self, count: int = 0, *, cell_size: int = 96, columns: int | None = None, caption_lines: int = 1, parent=None):
        super().__init__(parent)
        self._cells: list[_Cell] = [_Cell() for _ in range(count)]
        self.cell_size = cell_size
        self.fixed_columns = columns
        self.caption_lines = caption_lines
        self.max_bars = 0
        self.empty_text = ""  # shown when there are no cells
        self._rects: list[QRect] = []
        self._rects_key: tuple = ()
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        self.setMinimumSize(120, 80)
        theme().changed.connect(self.update)

    # -- content -----------------------------------------------------------------
    def count(self) -> int:
        return len(self._cells)

    def set_count(self, n: int) -> None:
        """Grow or shrink to ``n`` cells; existing pictures stay."""
        if n < len(self._cells):
            del self._cells[n:]
        else:
            self._cells.extend(_Cell() for _ in range(n - len(self._cells)))
        self.updateGeometry()
        self.update()

    def set_cell(self, index: int, image: np.ndarray | QImage | None, *, caption: str = "", tooltip: str = "", bars: list[tuple[str, float]] | None = None) -> None:
        if index >= len(self._cells):
            self.set_count(index + 1)
        cell = self._cells[index]
        if image is not None:
            cell.image = image if isinstance(image, QImage) else array_to_qimage(image)
            cell.scaled = None
        cell.caption, cell.tooltip = caption, tooltip
        bars = list(bars or [])
        relayout = len(bars) > self.max_bars
        cell.bars = bars
        self.max_bars = max(self.max_bars, len(bars))
        rects = self._cell_rects()
        if relayout or index >= len(rects):
            self.update()
        else:
            self.update(rects[index])  # only this cell changed

    def set_images(self, images, captions=None, tooltips=None, bars=None) -> None:
        self.set_count(len(images))
        self.max_bars = 0
        for i, im in enumerate(images):
            self.set_cell(i, im, caption=captions[i] if captions else "", tooltip=tooltips[i] if tooltips else "", bars=bars[i] if bars else None)

    def clear(self) -> None:
        self._cells = []
        self.max_bars = 0
        self.updateGeometry()
        self.update()

    def filled(self) -> int:
        return sum(1 for c in self._cells if c.image is not None)

    def tooltip_for(self, index: int) -> str:
        return self._cells[index].tooltip

    def caption_for(self, index: int) -> str:
        return self._cells[index].caption

    def image_for(self, index: int) -> QImage | None:
        return self._cells[index].image

    # -- geometry ------------------------------------------------------------------
    def _columns(self, width: int | None = None, height: int | None = None) -> int:
        """The column count that gives the largest cells in the current size."""
        if self.fixed_columns:
            return self.fixed_columns
        n = max(1, len(self._cells))
        width = width if width is not None else self.width()
        height = height if height is not None else self.height()
        extra = self._text_height() + self.max_bars * self._bar_height()
        best, best_side = 1, -1.0
        for cols in range(1, n + 1):
            rows = math.ceil(n / cols)
            side = min((width - 6 * (cols + 1)) / cols, (height - 6 * (rows + 1)) / rows - extra)
            if side > best_side:
                best, best_side = cols, side
        return best

    def _bar_height(self) -> int:
        """Tall enough for the bar's label at the current (presentation-scaled) font."""
        return max(BAR_MIN_HEIGHT, round(self.fontMetrics().height() * 0.85))

    def _text_height(self) -> int:
        return self.fontMetrics().height() * self.caption_lines + 2 if self.caption_lines else 0

    def _cell_rects(self) -> list[QRect]:
        key = (self.width(), self.height(), len(self._cells), self.max_bars, self.fixed_columns, self._text_height())
        if self._rects_key != key:  # the layout only changes with size and content shape
            self._rects, self._rects_key = self._layout_cells(), key
        return self._rects

    def _layout_cells(self) -> list[QRect]:
        n = len(self._cells)
        if not n:
            return []
        cols = self._columns()
        rows = math.ceil(n / cols)
        gap = 6
        extra = self._text_height() + self.max_bars * self._bar_height()
        side = max(24, min((self.width() - gap * (cols + 1)) // cols, (self.height() - gap * (rows + 1)) // rows - extra))
        rects = []
        for i in range(n):
            r, c = divmod(i, cols)
            rects.append(QRect(gap + c * (side + gap), gap + r * (side + gap + extra), side, side + extra))
        return rects

    def sizeHint(self) -> QSize:
        cols = self.fixed_columns or min(max(1, len(self._cells)), 8)
        rows = max(1, math.ceil(len(self._cells) / cols))
        extra = self._text_height() + self.max_bars * self._bar_height()
        return QSize(cols * (self.cell_size + 6) + 6, rows * (self.cell_size + extra + 6) + 6)

    def cell_at(self, pos: QPoint) -> int:
        for i, r in enumerate(self._cell_rects()):
            if r.contains(pos):
                return i
        return -1

    # -- painting ------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        style = theme().style
        p = QPainter(self)
        p.setRenderHint(QPainter.SmoothPixmapTransform)
        p.fillRect(self.rect(), QColor(style.background))
        fg = QColor(style.foreground)
        if not self._cells and self.empty_text:
            p.setPen(fg)
            p.drawText(self.rect(), Qt.AlignCenter | Qt.TextWordWrap, self.empty_text)
        text_h = self._text_height()
        dirty = event.rect()
        for cell, rect in zip(self._cells, self._cell_rects()):
            if not rect.intersects(dirty):
                continue  # a new draw repaints only its own cell
            side = rect.width()
            box = QRect(rect.x(), rect.y(), side, side)
            if cell.image is None:
                p.fillRect(box, QColor(128, 128, 128, 40))  # waiting for its draw
            else:
                pm = self._scaled(cell, side, p.device().devicePixelRatioF())
                w, h = pm.width() / pm.devicePixelRatio(), pm.height() / pm.devicePixelRatio()
                p.drawPixmap(QPointF(box.x() + (side - w) / 2, box.y() + (side - h) / 2), pm)
            y = box.bottom() + 1
            if cell.caption and text_h:
                p.setPen(fg)
                p.drawText(QRect(rect.x(), y, side, text_h), Qt.AlignHCenter | Qt.AlignTop | Qt.TextWordWrap, cell.caption)
                y += text_h
            self._paint_bars(p, cell.bars, rect.x(), y, side, fg)
        p.end()

    @staticmethod
    def _scaled(cell: _Cell, side: int, ratio: float) -> QPixmap:
        key = (side, ratio)
        if cell.scaled is None or cell.scaled_key != key:
            target = max(1, round(side * ratio))
            pm = QPixmap.fromImage(cell.image.scaled(target, target, Qt.KeepAspectRatio, Qt.SmoothTransformation))
            pm.setDevicePixelRatio(ratio)
            cell.scaled, cell.scaled_key = pm, key
        return cell.scaled

    def _paint_bars(self, p: QPainter, bars, x: int, y: int, width: int, fg: QColor) -> None:
        if not bars:
            return
        p.save()
        bar_h = self._bar_height()
        small = p.font()
        small.setPointSizeF(max(6.0, small.pointSizeF() * 0.8))
        p.setFont(small)
        for k, (label, value) in enumerate(bars):
            top = y + k * bar_h
            p.fillRect(QRectF(x, top + 1, width, bar_h - 2), QColor(128, 128, 128, 50))
            color = QColor(theme().style.series_color(k))
            color.setAlpha(150)  # light enough that the label on top stays readable
            p.fillRect(QRectF(x, top + 1, width * max(0.0, min(1.0, value)), bar_h - 2), color)
            p.setPen(QPen(fg))
            p.drawText(QRect(x + 3, top, width - 6, bar_h), Qt.AlignVCenter | Qt.AlignLeft, f"{value:.2f} {label}")
        p.restore()

    # -- hover -----------------------------------------------------------------------
    def event(self, e: QEvent) -> bool:
        if e.type() == QEvent.ToolTip:
            i = self.cell_at(e.pos())
            if i >= 0 and self._cells[i].tooltip:
                QToolTip.showText(e.globalPos(), self._cells[i].tooltip, self)
                self.cell_hovered.emit(i)
            else:
                QToolTip.hideText()
                e.ignore()
            return True
        return super().event(e)

    # -- export ------------------------------------------------------------------------
    def export(self, path: str | Path, scale: float = 1.0) -> list[Path]:
        path = Path(path)
        return [export_widget_png(self, path if path.suffix == ".png" else path.with_suffix(".png"), scale)]
