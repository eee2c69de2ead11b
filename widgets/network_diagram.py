"""NetworkDiagram: a feed-forward network drawn as Playground draws it.

Columns of nodes (input features, hidden layers, outputs); every node shows a small
picture of what it computes over the input plane; every edge is coloured by the sign
of its weight (blue positive, orange negative) and thickened by its size. Hovering shows
a weight or a bias, clicking an edge (or right-clicking a node, for its bias) opens a box
to type a new value, clicking an input toggles that feature, clicking a neuron selects it.

The widget knows nothing of torch: it gets names, widths, numpy weights and QImages.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QLineF, QPointF, QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPen
from PySide6.QtWidgets import QFileDialog, QLineEdit, QMenu, QSizePolicy, QToolTip, QWidget

from widgets.export import export_widget_png
from widgets.param_form import parse_number
from widgets.theme import Style, theme

__all__ = ["NetworkDiagram"]

POS_COLOR = QColor(8, 119, 189)
NEG_COLOR = QColor(245, 147, 34)
WIDTH_LEVELS = 5  # pens per sign: each distinct pen is one drawLines call
MARGIN_X, TOP, BOTTOM = 46, 26, 10
MIN_NODE = 6.0  # px: the smallest node drawn


def _mixed(color: QColor, background: QColor, alpha: float) -> QColor:
    """``color`` at opacity ``alpha`` over ``background``, as one opaque colour."""
    return QColor(*(round(b + (c - b) * alpha) for c, b in zip(color.getRgb()[:3], background.getRgb()[:3])))


class NetworkDiagram(QWidget):
    node_clicked = Signal(int, int)  # column (0 = inputs), index in the column
    feature_toggled = Signal(str)
    weight_edited = Signal(int, int, int, float)  # linear layer, row (to), column (from; -1 = bias), value

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMouseTracking(True)
        self._min_column_gap = 0.0
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.input_names: list[str] = []
        self.input_labels: list[str] = []
        self.active: list[bool] = []
        self.widths: list[int] = []  # hidden widths
        self.n_outputs = 1
        self.weights: list[np.ndarray] = []
        self.biases: list[np.ndarray] = []
        self.images: list[list[QImage | None]] = []
        self.selected: tuple[int, int] | None = None
        self._edges: np.ndarray | None = None  # (m, 4) x0, y0, x1, y1
        self._edge_ids: np.ndarray | None = None  # (m, 3) layer, row, col
        self._edge_layers: list[int] = []
        self._edge_shapes: tuple = ()
        self._lines: list[QLineF] = []
        self._layout: tuple[float, list[float], float] | None = None
        self._layout_size = (-1, -1)  # the widget size _layout was computed for
        self._picture: QImage | None = None
        self._editor = QLineEdit(self)
        self._editor.setFixedWidth(90)
        self._editor.hide()
        self._editor.editingFinished.connect(self._finish_edit)
        self._editing: tuple[int, int, int] | None = None
        self.edit_error = ""
        self._left: float | None = None
        theme().changed.connect(self._restyle)
        self._style = theme().style

    # -- content -----------------------------------------------------------------------
    def set_inputs(self, names: list[str], labels: list[str], active: list[bool]) -> None:
        self.input_names, self.input_labels, self.active = list(names), list(labels), list(active)
        self._left = None
        self._layout_changed()

    def set_structure(self, widths: list[int], n_outputs: int) -> None:
        self.widths, self.n_outputs = list(widths), int(n_outputs)
        self.weights, self.biases = [], []
        self.images = []
        if self.selected and self.selected[0] >= self.n_columns:
            self.selected = None
        self._layout_changed()

    def select(self, node: tuple[int, int] | None) -> None:
        """Mark the neuron (column, index) as the one shown large, or none."""
        if node != self.selected:
            self.selected = node
            self._changed()

    @property
    def editing(self) -> tuple[int, int, int] | None:
        """(layer, row, column) of the weight or bias being typed in (column −1: a bias), or None."""
        return self._editing if self._editor.isVisible() else None

    @property
    def editor(self) -> QLineEdit:
        """The in-place field for typing a weight or bias (hidden while nothing is typed)."""
        return self._editor

    def set_state(self, weights: list[np.ndarray], biases: list[np.ndarray], images: list[list[QImage | None]] | None) -> None:
        """Weights (out, in) per linear layer (inputs = active features only) and node pictures per column."""
        self.weights, self.biases = list(weights), list(biases)
        if images is not None:
            self.images = images
        self._compute_edges(force=False)
        self._changed()

    @property
    def n_columns(self) -> int:
        return 2 + len(self.widths)

    def column_sizes(self) -> list[int]:
        return [len(self.input_names), *self.widths, self.n_outputs]

    # -- geometry ----------------------------------------------------------------------
    def column_centers(self) -> list[float]:
        return list(self._geometry()[1])

    def _geometry(self) -> tuple[float, list[float], float]:
        """Node size, column centres and the vertical middle, for the current size and
        structure (cached: a big network asks for thousands of node positions a frame)."""
        # Keyed on the size too: a resize is seen by event filters (the layer controls above
        # the columns) before this widget's own resizeEvent clears the cache.
        if self._layout is None or self._layout_size != (self.width(), self.height()):
            self._layout_size = (self.width(), self.height())
            n = self.n_columns
            left = self.left_margin()
            w = max(self.width() - left - self.right_margin(), 1)
            centers = [left + w * i / (n - 1) for i in range(n)]
            most = max(self.column_sizes() or [1])
            avail = max(self.height() - TOP - BOTTOM, 40)
            col_gap = (self.width() - left - self.right_margin()) / max(n - 1, 1)
            size = float(max(MIN_NODE, min(44.0, avail / (most * 1.2), col_gap * 0.45)))
            self._layout = (size, centers, TOP + (self.height() - TOP - BOTTOM) / 2)
        return self._layout

    def left_margin(self) -> float:
        """Room for the feature names left of the input column, in the current font (cached)."""
        if self._left is None:
            labels = self.input_labels or ["X"]
            widest = max(QFontMetricsF(self._label_font()).horizontalAdvance(t) for t in labels)
            self._left = max(MARGIN_X, widest + 8 + 44 / 2 + 4)  # text, gap, half the largest node
        return self._left

    def right_margin(self) -> float:
        """Room right of the output column: half of what is placed above each column, at least."""
        return max(MARGIN_X, self._min_column_gap / 2)

    def changeEvent(self, event) -> None:  # noqa: N802
        if event.type() == QEvent.FontChange:
            self._left = None
            self._layout_changed()
        super().changeEvent(event)

    def set_min_column_gap(self, px: float) -> None:
        """The least distance between column centres, e.g. for controls placed above each column."""
        if float(px) != self._min_column_gap:
            self._min_column_gap = float(px)
            self._layout_changed()

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        # Grows with the network, so column titles never run into each other and the
        # tallest column's nodes keep their smallest size; a scroll area around the
        # diagram takes what the window cannot.
        metrics = QFontMetricsF(self._label_font())
        titles = ["Features", "Output", *[f"{w} neurons" for w in self.widths]]
        gap = max(self._min_column_gap, max(metrics.horizontalAdvance(t) for t in titles) + 10)
        width = self.left_margin() + self.right_margin() + gap * (self.n_columns - 1)
        height = TOP + BOTTOM + MIN_NODE * 1.2 * max(self.column_sizes() or [1]) + MIN_NODE
        return QSize(max(320, math.ceil(width)), max(240, math.ceil(height)))

    def _label_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.9))
        return font

    def node_size(self) -> float:
        return self._geometry()[0]

    def _node_ys(self, col: int) -> np.ndarray:
        s, _, cy = self._geometry()
        n = self.column_sizes()[col]
        return cy + (np.arange(n) - (n - 1) / 2) * s * 1.2

    def node_rect(self, col: int, i: int) -> QRectF:
        s, centers, cy = self._geometry()
        y = cy + (i - (self.column_sizes()[col] - 1) / 2) * s * 1.2
        x = centers[col]
        return QRectF(x - s / 2, y - s / 2, s, s)

    def _active_rows(self) -> list[int]:
        return [i for i, a in enumerate(self.active) if a]

    def _compute_edges(self, *, force: bool = True) -> None:
        shapes = tuple(np.shape(W) for W in self.weights)
        if not force and shapes == self._edge_shapes:
            return  # same layout, new weights: the segments stay where they are
        self._edge_shapes = shapes
        segs, ids = [], []
        self._edge_layers = []
        if self.weights:
            s, centers, _ = self._geometry()
            sources = self._active_rows()
            for layer, W in enumerate(self.weights):
                src_col, dst_col = layer, layer + 1
                src_rows = np.asarray(sources if layer == 0 else range(self.column_sizes()[src_col]), int)
                if W.shape != (self.column_sizes()[dst_col], len(src_rows)):
                    continue  # a snapshot of an older network: wait for the next one
                self._edge_layers.append(layer)
                # Row by row of W (its ravel order): every source for destination r.
                rows, cols = np.divmod(np.arange(W.size), len(src_rows))
                y0 = self._node_ys(src_col)[src_rows][cols]
                y1 = self._node_ys(dst_col)[rows]
                x0 = np.full(W.size, centers[src_col] + s / 2)
                x1 = np.full(W.size, centers[dst_col] - s / 2)
                segs.append(np.stack([x0, y0, x1, y1], 1))
                ids.append(np.stack([np.full(W.size, layer), rows, cols], 1))
        self._edges = np.concatenate(segs).astype(float) if segs else np.zeros((0, 4))
        self._edge_ids = np.concatenate(ids).astype(int) if ids else np.zeros((0, 3), int)
        # Built once per layout: making thousands of QLineF each frame costs more than drawing them.
        self._lines = [QLineF(*seg) for seg in self._edges.tolist()]

    def _layout_changed(self) -> None:
        self._layout = None
        self.updateGeometry()
        self._compute_edges()
        self._changed()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._layout = None
        self._picture = None
        self._compute_edges()

    # -- hit tests ---------------------------------------------------------------------
    def node_at(self, pos: QPointF) -> tuple[int, int] | None:
        for col, n in enumerate(self.column_sizes()):
            for i in range(n):
                if self.node_rect(col, i).adjusted(-2, -2, 2, 2).contains(pos):
                    return col, i
        return None

    def edge_at(self, pos: QPointF, tolerance: float = 4.0) -> tuple[int, int, int] | None:
        if self._edges is None or not len(self._edges):
            return None
        e = self._edges
        p = np.array([pos.x(), pos.y()])
        a, b = e[:, :2], e[:, 2:]
        d = b - a
        t = np.clip(((p - a) * d).sum(1) / np.maximum((d * d).sum(1), 1e-9), 0, 1)
        dist = np.hypot(*(a + t[:, None] * d - p).T)
        i = int(np.argmin(dist))
        return tuple(int(v) for v in self._edge_ids[i]) if dist[i] <= tolerance else None

    def edge_midpoint(self, layer: int, row: int, col: int) -> QPointF:
        """A point where a click hits the edge (layer, row, col) and no other (tests, tours)."""
        i = int(np.flatnonzero((self._edge_ids == (layer, row, col)).all(1))[0])
        x0, y0, x1, y1 = self._edges[i]
        for f in (0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8, 0.15, 0.85):
            p = QPointF(x0 + f * (x1 - x0), y0 + f * (y1 - y0))
            if self.edge_at(p) == (layer, row, col):
                return p
        return QPointF((x0 + x1) / 2, (y0 + y1) / 2)

    def value_text(self, pos: QPointF) -> str:
        node = self.node_at(pos)
        if node is not None:
            col, i = node
            if col == 0:
                state = "on" if self.active[i] else "off"
                return f"{self.input_labels[i]} ({state}) — click to toggle"
            if self.biases and col - 1 < len(self.biases) and i < len(self.biases[col - 1]):
                return f"Bias {self.biases[col - 1][i]:.4g} — right-click to type a new value"
            return ""
        edge = self.edge_at(pos)
        if edge is not None:
            layer, r, c = edge
            return f"Weight {self.weights[layer][r, c]:.4g} — click to type a new value"
        return ""

    # -- mouse -------------------------------------------------------------------------
    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        text = self.value_text(event.position())
        if text:
            QToolTip.showText(event.globalPosition().toPoint(), text, self)
        else:
            QToolTip.hideText()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        pos = event.position()
        node = self.node_at(pos)
        if node is not None:
            col, i = node
            if col == 0 and event.button() == Qt.LeftButton:
                self.feature_toggled.emit(self.input_names[i])
            elif col > 0 and event.button() == Qt.RightButton and self.biases:
                self.begin_edit(col - 1, i, -1, pos)
            elif col > 0:
                self.selected = node
                self._changed()
                self.node_clicked.emit(col, i)
            return
        edge = self.edge_at(pos)
        if edge is not None and event.button() == Qt.LeftButton:
            self.begin_edit(*edge, pos)
        elif edge is None and event.button() == Qt.RightButton:
            self._export_menu(event.globalPosition().toPoint())

    def _export_menu(self, where) -> None:
        menu = QMenu(self)
        for label, scale in (("Save diagram as PNG ×1…", 1), ("Save diagram as PNG ×2…", 2)):
            menu.addAction(label).triggered.connect(lambda _=False, k=scale: self._export_dialog(k))
        menu.popup(where)

    def _export_dialog(self, scale: float) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save diagram", "network.png", "*.png")
        if path:
            export_widget_png(self, path if path.lower().endswith(".png") else path + ".png", scale)

    def begin_edit(self, layer: int, row: int, col: int, pos: QPointF | None = None) -> None:
        """Open the box to type weight [row, col] of ``layer`` (col = -1: bias of ``row``)."""
        self._editing = (layer, row, col)
        value = self.biases[layer][row] if col < 0 else self.weights[layer][row, col]
        if pos is None:
            pos = self.node_rect(layer + 1, row).center() if col < 0 else self.edge_midpoint(layer, row, col)
        self._editor.setText(f"{value:.4g}")
        self._editor.setToolTip("Bias" if col < 0 else "Weight")
        self._editor.move(int(min(pos.x(), self.width() - 95)), int(min(pos.y(), self.height() - 30)))
        self._editor.show()
        self._editor.setFocus()
        self._editor.selectAll()

    @Slot()
    def _finish_edit(self) -> None:
        if self._editing is None or not self._editor.isVisible():
            return
        try:
            value = parse_number(self._editor.text())
            if abs(value) > 1e6:
                raise ValueError("Use a value between -1e6 and 1e6")
        except ValueError as exc:
            self.edit_error = str(exc)
            self._editor.setStyleSheet("border: 2px solid #d03030;")
            QToolTip.showText(self._editor.mapToGlobal(self._editor.rect().bottomLeft()), str(exc), self._editor)
            return  # keep the box open with the text, for the student to fix
        self.edit_error = ""
        self._editor.setStyleSheet("")
        self._editor.hide()
        layer, row, col = self._editing
        self._editing = None
        self.weight_edited.emit(layer, row, col, value)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key_Escape and self._editor.isVisible():
            self._editor.hide()
            self._editing = None
            return
        super().keyPressEvent(event)

    # -- painting ----------------------------------------------------------------------
    @Slot(object)
    def _restyle(self, style: Style) -> None:
        self._style = style
        self._left = None
        self._layout_changed()

    def _changed(self) -> None:
        """What the diagram shows changed: draw it afresh on the next paint."""
        self._picture = None
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        # The diagram is drawn once per change into an image of its own and only copied on
        # a paint: a big network's thousands of edges cost tens of milliseconds to draw,
        # and the window repaints the diagram whenever a neighbour repaints (each frame).
        p = QPainter(self)
        dpr = p.paintEngine().paintDevice().devicePixelRatioF()  # an export at ×2 paints into a ×2 pixmap
        if self._picture is None or self._picture.devicePixelRatioF() != dpr or self._picture.size() != self.size() * dpr:
            self._picture = QImage(self.size() * dpr, QImage.Format_ARGB32_Premultiplied)
            self._picture.setDevicePixelRatio(dpr)
            self._draw(QPainter(self._picture))
        p.drawImage(0, 0, self._picture)
        p.end()

    def _draw(self, p: QPainter) -> None:
        style = self._style
        p.fillRect(self.rect(), QColor(style.background))
        # No antialiasing: smooth wide lines cost the raster engine ~1 ms per call, and
        # the diagram repaints every frame while training.
        self._paint_edges(p, style)
        self._paint_nodes(p, style)
        self._paint_labels(p, style)
        p.end()

    def _paint_edges(self, p: QPainter, style: Style) -> None:
        if self._edges is None or not len(self._edges) or not self.weights:
            return
        # Edges were laid out row by row of each drawn layer: the same order as W.ravel().
        w = np.concatenate([np.asarray(self.weights[k], float).ravel() for k in self._edge_layers])
        scale = 1.0 + (1.0 if style.presentation else 0.0)
        widths = np.clip(np.abs(w) * 2.0, 0.3, 6.0) * scale
        levels = np.minimum((widths / (6.0 * scale) * WIDTH_LEVELS).astype(int), WIDTH_LEVELS - 1)
        background = QColor(style.background)
        lines = self._lines
        # Weakest first, so that the strong edges (which matter) lie on top.
        for level in range(WIDTH_LEVELS):
            for positive, color in ((True, POS_COLOR), (False, NEG_COLOR)):
                sign_mask = (w >= 0) if positive else (w < 0)
                idx = np.flatnonzero(sign_mask & (levels == level))
                if not len(idx):
                    continue
                # Opaque, pre-mixed with the background: blending thousands of translucent
                # lines costs the raster engine several times more than drawing them.
                p.setPen(QPen(_mixed(color, background, (110 + 145 * level // (WIDTH_LEVELS - 1)) / 255),
                              max(0.4, (level + 0.5) * 6.0 * scale / WIDTH_LEVELS)))
                p.drawLines([lines[i] for i in idx.tolist()])

    def _paint_nodes(self, p: QPainter, style: Style) -> None:
        fg = QColor(style.foreground)
        for col, n in enumerate(self.column_sizes()):
            images = self.images[col] if col < len(self.images) else []
            for i in range(n):
                r = self.node_rect(col, i)
                img = images[i] if i < len(images) else None
                if img is not None:
                    p.drawImage(r, img)
                else:
                    p.fillRect(r, QColor("#dddddd") if not style.dark else QColor("#444444"))
                inactive = col == 0 and not self.active[i]
                if inactive:
                    p.fillRect(r, QColor(255, 255, 255, 190) if not style.dark else QColor(30, 30, 30, 190))
                sel = self.selected == (col, i)
                p.setPen(QPen(QColor("#d03030") if sel else fg, 3 if sel else (1 if not inactive else 0.5)))
                p.drawRect(r)

    def _paint_labels(self, p: QPainter, style: Style) -> None:
        font = self._label_font()
        s = self.node_size()
        height = QFontMetricsF(font).height()
        if height > s * 1.2 and font.pointSizeF() > 0:  # a tall column: feature names as small as its nodes' pitch
            font.setPointSizeF(max(5.0, font.pointSizeF() * s * 1.2 / height))
        p.setFont(font)
        p.setPen(QColor(style.foreground))
        for i, label in enumerate(self.input_labels):
            r = self.node_rect(0, i)
            p.drawText(QRectF(0, r.top(), r.left() - 4, s), Qt.AlignRight | Qt.AlignVCenter, label)
        p.setFont(self._label_font())
        centers = self.column_centers()
        titles = ["Features", *[f"{w} neuron{'s' if w != 1 else ''}" for w in self.widths], "Output"]
        fm = QFontMetricsF(p.font())
        gap = min((b - a for a, b in zip(centers, centers[1:])), default=120.0) - 6
        if max(fm.horizontalAdvance(t) for t in titles) > gap:
            # Presentation fonts on a deep network: the titles ran into each other.
            titles = ["Features", *[str(w) for w in self.widths], "Output"]
        for x, t in zip(centers, titles):
            t = fm.elidedText(t, Qt.ElideRight, max(gap, fm.horizontalAdvance("8…")))
            p.drawText(QRectF(x - gap / 2 - 3, 2, gap + 6, TOP - 4), Qt.AlignHCenter | Qt.AlignVCenter, t)
