"""What a plot cannot draw, said on the plot: a dashed line where a series first turns NaN
or infinite (and, on a log axis, where it underflows float32 or reaches zero or below),
and a note naming each series and where its trouble starts.

Such points are left out of the curve; silence would make the curve look as if it simply
ended, or, for a float32 underflow such as 1e-45, as if it were a real value.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from widgets.plot_legend import CORNERS
from widgets.plot_series import Series
from widgets.theme import Style

__all__ = ["FLOAT32_TINY", "UndrawableMarks"]

# float32's smallest normal number. Below it a float32 result has lost its precision (or
# is a denormal such as 1e-45 that torch produced by underflow), so a log axis would show
# a value that was never really computed.
FLOAT32_TINY = float(np.finfo(np.float32).tiny)


_ORDER = ("nonfinite", "underflow", "nonpositive")


class UndrawableMarks:
    """The dashed lines and the note of one plot. ``color_of(name)`` gives a series' colour."""

    def __init__(self, plot_item: pg.PlotItem, color_of: Callable[[str], str]):
        self._item = plot_item
        self._color_of = color_of
        # (series, kind) -> (its dashed line, what is wrong, from which x)
        self._marks: dict[tuple[str, str], tuple[pg.InfiniteLine, str, float]] = {}
        self.note = pg.TextItem(anchor=(0, 0))
        self.note.setParentItem(plot_item.vb)  # in the view's pixels: it stays put when the data moves
        self.note.setZValue(50)
        self.note.setVisible(False)
        self._note_wrapped_at: float | None = None  # the view width the note was wrapped for

    def __bool__(self) -> bool:
        return bool(self._marks)

    def update(self, s: Series, log_y: bool, style: Style) -> bool:
        """Mark where ``s`` first goes wrong; True when the note changed (place it again)."""
        x, y = s.x, s.y
        kinds = {}
        # A point with no x either is a break between curves drawn as one series (as
        # the bias-variance fits are), not a value that went wrong.
        bad = ~np.isfinite(y) & np.isfinite(x) if s.n and not np.isfinite(y).all() else None
        if bad is not None and bad.any():
            i = int(np.argmax(bad))
            kinds["nonfinite"] = (i, "NaN" if np.isnan(y[i]) else ("−inf" if y[i] < 0 else "inf"))
        if log_y and s.n:
            with np.errstate(invalid="ignore"):
                under = (y > 0) & (y < FLOAT32_TINY)
                nonpos = (y <= 0) & np.isfinite(x)
            if under.any():
                kinds["underflow"] = (int(np.argmax(under)), "float32 underflow")
            if nonpos.any():
                kinds["nonpositive"] = (int(np.argmax(nonpos)), "≤ 0 (off the log axis)")
        changed = False
        for kind in _ORDER:
            key = (s.name, kind)
            mark = self._marks.get(key)
            if kind not in kinds:
                if mark is not None:
                    self._item.removeItem(self._marks.pop(key)[0])
                    changed = True
                continue
            i, what = kinds[kind]
            if mark is None:
                line = pg.InfiniteLine(angle=90, movable=False)
                line.setZValue(-5)
                self._item.addItem(line, ignoreBounds=True)
                self._style_line(line, s.name, style)
            else:
                line = mark[0]
            line.setValue(float(x[i]))
            new = (line, what, float(x[i]))
            changed |= mark is None or mark[1:] != new[1:]
            self._marks[key] = new
        if changed:
            self.write_note(style)
        return changed

    def forget(self, name: str, style: Style) -> None:
        """The series ``name`` is gone: so are its marks."""
        keys = [k for k in self._marks if k[0] == name]
        for key in keys:
            self._item.removeItem(self._marks.pop(key)[0])
        if keys:
            self.write_note(style)

    def restyle(self, style: Style) -> None:
        for (name, _kind), (line, _what, _x) in self._marks.items():
            self._style_line(line, name, style)
        if self._marks:
            self.write_note(style)

    def _style_line(self, line: pg.InfiniteLine, name: str, style: Style) -> None:
        line.setPen(pg.mkPen(style.readable(self._color_of(name)), width=max(1.0, style.line_width * 0.7), style=Qt.DashLine))

    def write_note(self, style: Style) -> None:
        """One line per kind of problem, naming each series (in its colour) and where it starts."""
        x_name = self._item.getAxis("bottom").labelText or "x"
        by_kind: dict[str, list[str]] = {}
        for (name, _kind), (_line, what, x) in self._marks.items():
            color = style.readable(self._color_of(name))
            by_kind.setdefault(what, []).append(f"<span style='color:{color}'>{name}</span> {x:.6g}")
        lines = []
        for what, entries in by_kind.items():
            more = f" … +{len(entries) - 3}" if len(entries) > 3 else ""
            lines.append(f"{what} from {x_name}: " + ", ".join(entries[:3]) + more)
        self.note.setHtml(f"<div style='color:{style.foreground}'>" + "<br>".join(lines) + "</div>")
        self.note.setFont(style.font("text"))
        self.note.fill = pg.mkBrush(style.legend_background)
        self.note.border = pg.mkPen(style.legend_border)
        self.note.setVisible(bool(lines))
        self._note_wrapped_at = None

    def entries(self) -> list[str]:
        """One entry per series and problem (NaN, inf, float32 underflow, ≤ 0 on a log axis)."""
        x_name = self._item.getAxis("bottom").labelText or "x"
        return [f"{name}: {what} from {x_name} {x:.6g}" for (name, _kind), (_line, what, x) in self._marks.items()]

    def place_note(self, taken: tuple[int, int] | None, covered: Callable[[tuple[int, int], float, float], int] | None) -> None:
        """Put the note in the corner that is not ``taken`` (the legend's) where a box its
        size covers the fewest points (``covered(corner, width, height)``; None: no data)."""
        if not self.note.isVisible():
            return
        vb_rect = self._item.vb.boundingRect()
        if self._note_wrapped_at != vb_rect.width():
            # Wrap to the view's width: a long note would run off the plot's edge.
            self._note_wrapped_at = vb_rect.width()
            self.note.setTextWidth(-1)
            limit = max(80.0, vb_rect.width() - 16)
            if self.note.textItem.boundingRect().width() > limit:
                self.note.setTextWidth(limit)
        rect = self.note.boundingRect()
        corners = [c for c in CORNERS[1:] + CORNERS[:1] if c != taken]
        if covered is not None:
            corners.sort(key=lambda c: covered(c, rect.width(), rect.height()))
        cx, cy = corners[0]
        self.note.setAnchor((cx, cy))
        self.note.setPos(vb_rect.right() - 8 if cx else vb_rect.left() + 8, vb_rect.bottom() - 8 if cy else vb_rect.top() + 8)
