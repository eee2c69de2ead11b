"""The stepping picture: grid (padded input) → kernel → output, and the arithmetic below.

Shows one :class:`StepList` at one step index (−1 = nothing computed yet). The input
grids carry the receptive field and the kernel weights in their corners; the output
grids fill cell by cell with the current cell outlined. Edits of input or kernel
cells are passed up as signals; the tab decides what they change.
"""

from __future__ import annotations

import html
import math

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from core.convolution.stepper import ROLE_INPUT, StepList
from core.convolution.text import describe_step, fmt
from widgets.number_grid import NumberGrid

__all__ = ["SteppingView", "GridPanel"]


class GridPanel(QWidget):
    """A titled block of NumberGrids, rebuilt only when their number changes."""

    edited = Signal(int, int, int, float)  # grid index, row, column, value

    def __init__(self, title: str, *, columns: int = 1, editable: bool = False):
        super().__init__()
        self.columns = columns
        self.editable = editable
        self.title = QLabel(f"<b>{title}</b>")
        self.title.setAlignment(Qt.AlignCenter)
        self.title.setWordWrap(True)
        self.body = QGridLayout()
        self.body.setSpacing(6)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.title)
        layout.addLayout(self.body, 1)
        self.grids: list[NumberGrid] = []
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)

    def set_title(self, text: str) -> None:
        self.title.setText(f"<b>{text}</b>")

    def ensure(self, count: int, columns: int | None = None, editable: bool | None = None) -> list[NumberGrid]:
        columns = columns or self.columns
        editable = self.editable if editable is None else editable
        if len(self.grids) != count or columns != self.columns:
            for g in self.grids:
                # Hidden and deleted while still a child: orphaned (setParent(None)) right
                # after being laid out, a grid's pending show made it a top-level window.
                self.body.removeWidget(g)
                g.hide()
                g.deleteLater()
            self.grids = []
            self.columns = columns
            for i in range(count):
                g = NumberGrid("", editable=editable)
                g.cell_edited.connect(lambda r, c, v, i=i: self.edited.emit(i, r, c, v))
                self.body.addWidget(g, i // columns, i % columns)
                self.grids.append(g)
        for g in self.grids:
            g.editable = editable
        return self.grids


def _monospace(text: str) -> str:
    # Rich text so that the label keeps the application's (presentation) font size.
    return "<div style='font-family: monospace'>" + html.escape(text).replace("\n", "<br>") + "</div>"


def _channel_columns(n: int) -> int:
    # Input channels and their kernels share one arrangement, so kernel c sits where channel c does.
    return 1 if n <= 2 else 2


def _columns(n: int) -> int:
    return max(1, math.ceil(math.sqrt(n)))


class SteppingView(QFrame):
    input_edited = Signal(int, int, int, float)  # grid channel, grid row, grid column, value
    kernel_edited = Signal(int, int, int, float)  # channel (of the shown filter), row, column, value

    def __init__(self):
        super().__init__()
        self.setObjectName("SteppingView")
        self.setAutoFillBackground(True)
        self.inputs = GridPanel("input", editable=True)
        self.kernel = GridPanel("kernel", editable=True)
        self.outputs = GridPanel("output")
        self.inputs.edited.connect(self.input_edited)
        self.kernel.edited.connect(self.kernel_edited)
        arrow1, arrow2 = QLabel("⊛"), QLabel("→")
        for a in (arrow1, arrow2):
            a.setStyleSheet("font-size: 20pt;")
            a.setAlignment(Qt.AlignCenter)
        grids = QHBoxLayout()
        grids.addWidget(self.inputs, 5)
        grids.addWidget(arrow1)
        grids.addWidget(self.kernel, 3)
        grids.addWidget(arrow2)
        grids.addWidget(self.outputs, 4)
        self.arithmetic = QLabel()
        self.arithmetic.setWordWrap(True)
        self.arithmetic.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.arithmetic.setMinimumHeight(60)
        self.arithmetic.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.arithmetic.setTextFormat(Qt.RichText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(grids, 1)
        layout.addWidget(self.arithmetic)
        self.steps: StepList | None = None
        self.index = -1
        self.image_mode = False
        self.kernel_editable = False
        self.input_editable = False
        self._shown_plane = -1
        self._fresh = True

    @property
    def kernel_plane(self) -> int:
        """The output plane whose kernel the kernel grids show (0 before any is shown):
        an edit of the kernel grids is an edit of that plane's kernel."""
        return max(0, self._shown_plane)

    def show_steps(self, steps: StepList, index: int, *, image_mode: bool = False, input_editable: bool = True, kernel_editable: bool = True) -> None:
        self.steps = steps
        self.image_mode, self.input_editable, self.kernel_editable = image_mode, input_editable, kernel_editable
        g = steps.grid.shape[0]
        self.inputs.set_title(steps.grid_title)
        self.outputs.set_title(steps.output_title)
        for i, grid in enumerate(self.inputs.ensure(g, _channel_columns(g), input_editable)):
            # Image pixels are in [0, 1]; the upstream gradient or padding with −∞ is not.
            grid.image_mode = image_mode and steps.kind not in ("grad_input",)
            grid.set_title(f"channel {i}" if g > 1 else "")
            grid.set_values(steps.grid[i], roles=steps.grid_role, marked=steps.unvisited_cells())
        p = steps.values.shape[0]
        for i, grid in enumerate(self.outputs.ensure(p, _columns(p))):
            grid.set_title(steps.plane_labels[i] if p > 1 else "")
        self._shown_plane = -1
        self._fresh = True  # new values: repaint every output plane once
        self.set_index(index)

    def set_index(self, index: int) -> None:
        steps = self.steps
        if steps is None:
            return
        self.index = index = max(-1, min(index, steps.count - 1))
        view = steps.step(index) if index >= 0 else None
        plane = view.plane if view else 0
        if plane != self._shown_plane:
            self._show_kernel(plane)
        filled = steps.filled(index)
        roles = steps.output_role
        for i, grid in enumerate(self.outputs.grids):
            current = (view.y, view.x) if view and view.plane == i else None
            if self._fresh or grid.filled is None or not np.array_equal(grid.filled, filled[i]):
                grid.set_values(steps.values[i], roles=roles, filled=filled[i])
            if self._fresh or grid.current != current:
                grid.set_highlight(current=current)  # planes not being filled are not repainted
        self._fresh = False
        channels = list(view.channels) if view else []
        for i, grid in enumerate(self.inputs.grids):
            if view and i in channels:
                ci = channels.index(i)
                overlay = view.kernel[ci] if steps.reduce == "sum" and steps.kind != "avgpool" else None
                winner = None
                if steps.reduce == "max":  # outline the cell max pooling keeps
                    i, j = np.unravel_index(int(np.argmax(view.products[ci])), view.products[ci].shape)
                    winner = (int(view.rows[i]), int(view.cols[j]))
                grid.set_highlight(view.rows, view.cols, overlay, current=winner)
            else:
                grid.clear_highlight()
        for ci, grid in enumerate(self.kernel.grids):
            grid.set_highlight(np.arange(grid.values.shape[0]), np.arange(grid.values.shape[1])) if view and ci < len(view.kernel) else grid.clear_highlight()
        self.arithmetic.setText(_monospace(self._arithmetic(index)))
        self._title_kernels(view)

    def _title_kernels(self, view) -> None:
        """Each kernel channel titled with its partial sum at this step (multi-channel input)."""
        grids = self.kernel.grids
        if len(grids) < 2:
            return
        for ci, grid in enumerate(grids):
            channel = int(self.steps.plane_channels[self._shown_plane][ci])
            partial = f": partial sum {fmt(view.partial[ci])}" if view is not None else ""
            grid.set_title(f"channel {channel}{partial}")

    def _show_kernel(self, plane: int) -> None:
        steps = self.steps
        self._shown_plane = plane
        k = steps.kernels[steps.plane_kernel[plane]]
        pooling = steps.kind in ("maxpool", "avgpool")
        label = steps.kernel_title
        if steps.values.shape[0] > 1 and not pooling:
            label += f" — {steps.plane_labels[plane]}"
        self.kernel.set_title(label)
        grids = self.kernel.ensure(len(k), _channel_columns(len(k)), self.kernel_editable and not pooling)
        for ci, grid in enumerate(grids):
            grid.image_mode = False
            channel = int(steps.plane_channels[plane][ci])
            grid.set_title(f"channel {channel}" if len(k) > 1 else "")
            grid.cell_text = "max" if steps.kind == "maxpool" else None
            grid.set_values(np.zeros(k[ci].shape) if steps.kind == "maxpool" else k[ci])

    def _arithmetic(self, index: int) -> str:
        steps = self.steps
        if index < 0:
            return f"Press Step (→) to slide the window: {steps.count} steps in all."
        text = describe_step(steps, index)
        if index == steps.count - 1 and steps.note:
            text += "\n" + steps.note
        return text

    def grid_to_input(self, r: int, c: int) -> tuple[int, int] | None:
        """The input cell a grid cell shows, or None for padding / inserted zeros."""
        steps = self.steps
        if steps is None or steps.grid_role[r, c] != ROLE_INPUT:
            return None
        rows = np.flatnonzero((steps.grid_role == ROLE_INPUT).any(axis=1))
        cols = np.flatnonzero((steps.grid_role == ROLE_INPUT).any(axis=0))
        return int(np.searchsorted(rows, r)), int(np.searchsorted(cols, c))
