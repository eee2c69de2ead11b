"""ImageGrid: small images in a grid with captions and coloured frames, clickable.

Used for predictions (caption "pred / true", red frame for mistakes), first-layer
filters and feature maps. Images are arrays N×C×H×W (C = 1 or 3); ``scaling="each"``
stretches every image to its own min..max (weights and activations), ``"unit"`` shows
values in [0, 1] as they are. Pixels are drawn as crisp squares, never blurred.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal, Slot
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QFileDialog, QMenu, QSizePolicy, QWidget

from widgets.export import export_widget_png
from widgets.theme import theme

__all__ = ["ImageGrid", "to_qimage"]


def to_qimage(image: np.ndarray, scaling: str = "unit") -> QImage:
    """One C×H×W array (C = 1 or 3) as an 8-bit QImage."""
    a = np.asarray(image, dtype=np.float64)
    if a.ndim == 2:
        a = a[None]
    if scaling == "each":
        lo, hi = float(a.min()), float(a.max())
        a = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
    a = np.clip(np.nan_to_num(a), 0, 1)
    u8 = np.ascontiguousarray((a * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0))
    h, w, c = u8.shape
    if c == 1:
        img = QImage(u8.data, w, h, w, QImage.Format_Grayscale8)
    else:
        u8 = np.ascontiguousarray(u8[..., :3])
        img = QImage(u8.data, w, h, 3 * w, QImage.Format_RGB888)
    return img.copy()  # own the pixels; the numpy buffer goes away


class ImageGrid(QWidget):
    image_clicked = Signal(int)  # index into the images as given to set_images

    def __init__(self, title: str = "", *, min_cell: int = 40, parent=None):
        super().__init__(parent)
        self.title = title
        self.min_cell = min_cell
        self._images: list[QImage] = []
        self._captions: list[str] = []
        self._marks: list[str | None] = []
        self._visible: list[int] = []
        self._selected: int | None = None
        self.empty_text = ""
        self.setMinimumSize(200, 120)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        theme().changed.connect(self._on_theme)  # a bound slot: disconnected when this widget goes

    @Slot(object)
    def _on_theme(self, _style) -> None:
        self.update()

    # -- data ------------------------------------------------------------------------
    def set_images(self, images, captions: Sequence[str] | None = None, marks: Sequence[str | None] | None = None, scaling: str = "unit") -> None:
        """Images N×C×H×W; ``marks`` gives a frame colour per image (or None)."""
        arr = np.asarray(images) if images is not None else np.zeros((0, 1, 1, 1))
        self._images = [to_qimage(a, scaling) for a in arr]
        n = len(self._images)
        self._captions = list(captions) if captions is not None else [""] * n
        self._marks = list(marks) if marks is not None else [None] * n
        self._visible = list(range(n))
        if self._selected is not None and self._selected >= n:
            self._selected = None
        self.update()

    def update_labels(self, captions: Sequence[str], marks: Sequence[str | None]) -> None:
        """New captions and frames for the same images (predictions change, images do not)."""
        self._captions, self._marks = list(captions), list(marks)
        self.update()

    def set_filter(self, visible: Sequence[int] | None) -> None:
        """Show only these indices (None: all)."""
        self._visible = list(range(len(self._images))) if visible is None else [i for i in visible if 0 <= i < len(self._images)]
        self.update()

    def visible_indices(self) -> list[int]:
        return list(self._visible)

    def set_selected(self, index: int | None) -> None:
        self._selected = index
        self.update()

    def count(self) -> int:
        return len(self._images)

    def clear(self) -> None:
        self.set_images(np.zeros((0, 1, 1, 1)))

    # -- drawing ---------------------------------------------------------------------
    def _layout(self, fm_height: int) -> tuple[int, float, float, float]:
        n = max(1, len(self._visible))
        title_h = fm_height + 6 if self.title else 0
        lines = max((c.count("\n") + 1 for c in self._captions if c), default=0)
        caption_h = lines * fm_height + 2 if lines else 0
        w, h = self.width() - 4, self.height() - title_h - 4
        best = (1, 1.0)
        for cols in range(1, n + 1):
            rows = math.ceil(n / cols)
            side = min(w / cols, h / rows - caption_h)
            if side > best[1]:
                best = (cols, side)
        cols, side = best
        return cols, max(4.0, side), float(title_h), float(caption_h)

    def cell_rect(self, index: int) -> QRectF | None:
        """Where image ``index`` (with its caption) is drawn, or None when it is filtered out."""
        if index not in self._visible:
            return None
        cols, side, title_h, caption_h = self._layout(self.fontMetrics().height())
        r, c = divmod(self._visible.index(index), cols)
        return QRectF(2 + c * side, title_h + 2 + r * (side + caption_h), side, side + caption_h)

    def paintEvent(self, _event) -> None:
        style = theme().style
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(style.background))
        fg = QColor(style.foreground)
        p.setPen(fg)
        fm = p.fontMetrics()
        _cols, side, title_h, caption_h = self._layout(fm.height())
        if self.title:
            p.drawText(QRectF(0, 2, self.width(), fm.height() + 4), Qt.AlignCenter, self.title)
        if not self._visible:
            p.drawText(self.rect(), Qt.AlignCenter | Qt.TextWordWrap, self.empty_text)
            return
        p.setRenderHint(QPainter.SmoothPixmapTransform, False)
        pad = max(2.0, side * 0.06)
        for i in self._visible:
            cell = self.cell_rect(i)
            x, y = cell.x(), cell.y()
            rect = QRectF(x + pad, y + pad, side - 2 * pad, side - 2 * pad)
            p.drawImage(rect, self._images[i])
            mark = self._marks[i] if i < len(self._marks) else None
            if mark or i == self._selected:
                pen = QPen(QColor(mark or style.foreground), max(2.0, pad * 0.8))
                if i == self._selected:
                    pen = QPen(QColor(style.foreground), max(3.0, pad), Qt.DashLine)
                p.setPen(pen)
                p.drawRect(rect.adjusted(-pad / 2, -pad / 2, pad / 2, pad / 2))
                p.setPen(fg)
            if caption_h and i < len(self._captions):
                text = "\n".join(fm.elidedText(line, Qt.ElideRight, int(side)) for line in self._captions[i].split("\n"))
                p.drawText(QRectF(x, y + side, side, caption_h), Qt.AlignHCenter | Qt.AlignTop, text)

    def mousePressEvent(self, event) -> None:
        pos = event.position()
        for i in self._visible:
            if self.cell_rect(i).contains(pos):
                self.image_clicked.emit(i)
                return
        super().mousePressEvent(event)

    def contextMenuEvent(self, event) -> None:
        menu = QMenu(self)
        menu.addAction("Save as PNG…").triggered.connect(self._save_dialog)
        menu.exec(event.globalPos())

    def _save_dialog(self) -> None:
        default = (self.title or "images").lower().replace(" ", "_") + ".png"
        path, _ = QFileDialog.getSaveFileName(self, "Save images", default, "PNG image (*.png)")
        if path:
            self.export(Path(path).with_suffix(""), 2.0)

    def export(self, path_base: str | Path, scale: float = 1.0) -> list[Path]:
        return [export_widget_png(self, Path(path_base).with_suffix(".png"), scale)]
