"""MatrixView: a labelled matrix of numbers drawn as coloured cells (a confusion matrix).

Each cell shows its count; its colour is the count's share of its row, so a row that
is mostly on the diagonal reads as "this class is recognised" whatever its size.
Clicking a cell emits its (row, column). Exports as PNG and as CSV of the numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal, Slot
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QFileDialog, QMenu, QSizePolicy, QWidget

from widgets.export import export_widget_png, write_csv
from widgets.theme import theme

__all__ = ["MatrixView"]


class MatrixView(QWidget):
    cell_clicked = Signal(int, int)

    def __init__(self, title: str = "", row_title: str = "true", col_title: str = "predicted", parent=None):
        super().__init__(parent)
        self.title = title
        self.row_title, self.col_title = row_title, col_title
        self._matrix = np.zeros((0, 0))
        self._rows: list[str] = []
        self._cols: list[str] = []
        self.setMinimumSize(240, 200)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        theme().changed.connect(self._on_theme)  # a bound slot: disconnected when this widget goes

    @Slot(object)
    def _on_theme(self, _style) -> None:
        self.update()

    def set_matrix(self, matrix, row_labels: Sequence[str], col_labels: Sequence[str] | None = None) -> None:
        self._matrix = np.asarray(matrix, dtype=float)
        self._rows = list(row_labels)
        self._cols = list(col_labels if col_labels is not None else row_labels)
        self.update()

    def clear(self) -> None:
        self.set_matrix(np.zeros((0, 0)), [], [])

    def matrix(self) -> np.ndarray:
        return self._matrix.copy()

    # -- drawing ---------------------------------------------------------------------
    def _geometry(self, fm) -> tuple[float, float, float, float, float]:
        """(title height, label width, left x, top y, cell size) for the current size."""
        title_h = fm.height() + 6
        n_r, n_c = self._matrix.shape
        label_w = max((fm.horizontalAdvance(s) for s in self._rows), default=0) + fm.height() + 12
        label_h = max((fm.horizontalAdvance(s) for s in self._cols), default=0) + 2 * fm.height() + 8
        avail_w = self.width() - label_w - 8
        avail_h = self.height() - title_h - label_h - 8
        cell = max(4.0, min(avail_w / max(1, n_c), avail_h / max(1, n_r)))
        return title_h, label_w, label_w, title_h + label_h, cell

    def cell_rect(self, row: int, col: int) -> QRectF:
        """Where cell (row, col) is drawn, in widget coordinates."""
        _t, _lw, x0, y0, cell = self._geometry(self.fontMetrics())
        return QRectF(x0 + col * cell, y0 + row * cell, cell - 1, cell - 1)

    # -- drawing ---------------------------------------------------------------------
    def paintEvent(self, _event) -> None:
        style = theme().style
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        p.fillRect(self.rect(), QColor(style.background))
        fg = QColor(style.foreground)
        fm = p.fontMetrics()
        title_h, label_w, x0, y0, cell = self._geometry(fm)
        p.setPen(fg)
        p.drawText(QRectF(0, 2, self.width(), title_h), Qt.AlignCenter, self.title)
        m = self._matrix
        if m.size == 0:
            p.drawText(self.rect(), Qt.AlignCenter, "Train a network to see which classes it confuses")
            return
        n_r, n_c = m.shape
        share = m / np.maximum(1.0, m.sum(1, keepdims=True))
        base = QColor(style.series_color(0))
        bg = QColor(style.background)
        for r in range(n_r):
            for c in range(n_c):
                rect = self.cell_rect(r, c)
                t = float(share[r, c])
                col = QColor(
                    round(bg.red() + (base.red() - bg.red()) * t),
                    round(bg.green() + (base.green() - bg.green()) * t),
                    round(bg.blue() + (base.blue() - bg.blue()) * t),
                )
                p.fillRect(rect, col)
                if cell >= fm.height() * 1.2:
                    p.setPen(QColor("#ffffff") if t > 0.55 else fg)
                    p.drawText(rect, Qt.AlignCenter, f"{m[r, c]:.0f}")
        p.setPen(fg)
        for r, name in enumerate(self._rows):
            p.drawText(QRectF(fm.height() + 4, y0 + r * cell, label_w - fm.height() - 8, cell), Qt.AlignVCenter | Qt.AlignRight, name)
        for c, name in enumerate(self._cols):
            p.save()
            p.translate(x0 + c * cell + cell / 2 + fm.ascent() / 2 - 2, y0 - 4)
            p.rotate(-90)
            p.drawText(0, 0, name)
            p.restore()
        p.drawText(QRectF(x0, title_h, n_c * cell, fm.height()), Qt.AlignCenter, self.col_title)
        p.save()
        p.translate(fm.ascent(), y0 + n_r * cell / 2)
        p.rotate(-90)
        p.drawText(QRectF(-n_r * cell / 2, -fm.ascent(), n_r * cell, fm.height()), Qt.AlignCenter, self.row_title)
        p.restore()

    def mousePressEvent(self, event) -> None:
        pos = event.position()
        n_r, n_c = self._matrix.shape if self._matrix.ndim == 2 else (0, 0)
        for r in range(n_r):
            for c in range(n_c):
                if self.cell_rect(r, c).contains(pos):
                    self.cell_clicked.emit(r, c)
                    return
        super().mousePressEvent(event)

    def contextMenuEvent(self, event) -> None:
        menu = QMenu(self)
        menu.addAction("Save as PNG and CSV…").triggered.connect(self._save_dialog)
        menu.exec(event.globalPos())

    def _save_dialog(self) -> None:
        default = (self.title or "matrix").split(" (")[0].lower().replace(" ", "_") + ".png"
        path, _ = QFileDialog.getSaveFileName(self, "Save matrix", default, "PNG image (*.png)")
        if path:
            self.export(Path(path).with_suffix(""), 2.0)

    # -- export ----------------------------------------------------------------------
    def export(self, path_base: str | Path, scale: float = 1.0) -> list[Path]:
        """PNG of the view and CSV of the numbers (rows: true class, columns: predicted)."""
        base = Path(path_base)
        written = [export_widget_png(self, base.with_suffix(".png"), scale)]
        if self._matrix.size:
            cols = {self.row_title: self._rows}
            cols.update({name: self._matrix[:, c] for c, name in enumerate(self._cols)})
            written.append(write_csv(base.with_suffix(".csv"), cols))
        return written
