"""ReadableAxis: tick labels that never overlap, on linear and log axes.

pyqtgraph picks tick spacing from the axis length alone, so large presentation fonts
and long log labels ("10⁻¹²") overlap into a smear, and a log axis narrower than a
decade gets no labelled tick at all. Here only the major level is labelled, and it is
thinned until the labels, measured in the axis's own tick font, fit with a gap.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont, QFontMetricsF

__all__ = ["ReadableAxis", "readable_axes", "nice_linear_ticks"]

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_STRIDES = (1, 2, 3, 5, 10, 20, 25, 50, 100)


def nice_linear_ticks(lo: float, hi: float, count: int) -> np.ndarray:
    """About ``count`` (at least two) round values in [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return np.array([])
    for target in range(max(2, count), 1, -1):
        raw = (hi - lo) / target
        p10 = 10.0 ** math.floor(math.log10(raw))
        best = []
        for m in (1, 2, 2.5, 5, 10):
            step = m * p10
            values = np.arange(math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9) + 1) * step
            if 2 <= len(values) <= max(2, count):
                best = values
                break
        if len(best):
            return np.asarray(best)
    # Too narrow for two round values inside: label the ends themselves.
    return np.array([lo, hi])


def _decade_label(e: int) -> str:
    if -2 <= e <= 3:
        return f"{10.0 ** e:g}"
    return "10" + str(e).translate(_SUPERSCRIPT)


class ReadableAxis(pg.AxisItem):
    GAP_EM = 0.8  # space between neighbouring labels, in multiples of the font height

    def __init__(self, orientation: str, **kwargs):
        super().__init__(orientation, **kwargs)
        self.setStyle(maxTextLevel=0)  # only the (thinned) major level carries labels
        self._linear_log_ticks = False

    # -- how much fits ------------------------------------------------------------
    def _metrics(self) -> QFontMetricsF:
        return QFontMetricsF(self.style["tickFont"] or QFont())

    def _fits(self, positions, strings, lo: float, hi: float, size: float) -> bool:
        """Do labels at ``positions`` (axis units) fit ``size`` pixels without touching?"""
        if len(positions) < 2 or hi <= lo:
            return True
        fm = self._metrics()
        px_per_unit = size / (hi - lo)
        gap = self.GAP_EM * fm.height()
        pos = np.sort(np.asarray(positions, float)) * px_per_unit
        if self.orientation in ("left", "right"):
            extent = np.full(len(pos), fm.height() * 0.8)
        else:
            extent = np.array([fm.horizontalAdvance(t) for t in strings])
        need = (extent[1:] + extent[:-1]) / 2 + gap
        return bool(np.all(np.diff(pos) >= need))

    # -- tick values ------------------------------------------------------------------
    def tickValues(self, minVal, maxVal, size):
        lo, hi = sorted((float(minVal), float(maxVal)))
        if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo or size <= 0:
            return []
        if self.logMode:
            return self._log_ticks(lo, hi, size)
        self._linear_log_ticks = False
        levels = super().tickValues(lo, hi, size)
        if not levels:
            return levels
        spacing, major = levels[0]
        major = list(major)
        stride = 1
        while len(major[::stride]) > 2 and not self._fits(major[::stride], self.tickStrings(major[::stride], self.scale, spacing * stride), lo, hi, size):
            stride += 1
        if stride == 1:
            return levels
        # Keep labels on round multiples of the wider spacing, the rest become minor ticks.
        wide = spacing * stride
        keep = [v for v in major if abs(v / wide - round(v / wide)) < 1e-6] or major[::stride]
        if len(keep) < 2:
            keep = major[::stride]
        rest = [v for v in major if v not in keep]
        minor = rest + [v for _, vs in levels[1:] for v in vs]
        return [(wide, keep), (spacing, minor)]

    def _log_ticks(self, lo: float, hi: float, size: float):
        decades = list(range(math.ceil(lo - 1e-9), math.floor(hi + 1e-9) + 1))
        if len(decades) >= 2:
            self._linear_log_ticks = False
            for stride in _STRIDES:
                keep = [d for d in decades if d % stride == 0]
                if len(keep) >= 2 and self._fits(keep, [_decade_label(d) for d in keep], lo, hi, size):
                    break
            else:
                keep = [decades[0], decades[-1]]
            minor = [d for d in decades if d not in keep]
            if stride == 1 and len(decades) <= 6:
                minor += [v for d in range(decades[0] - 1, decades[-1] + 1) for v in d + np.log10(np.arange(2, 10)) if lo < v < hi]
            return [(float(stride), [float(d) for d in keep]), (None, minor)]
        # Less than two decades in view: round values of the quantity itself.
        self._linear_log_ticks = True
        fm = self._metrics()
        per_label = fm.height() * (1 + self.GAP_EM) if self.orientation in ("left", "right") else fm.horizontalAdvance("0.0000") + fm.height()
        count = max(2, int(size // per_label))
        values = nice_linear_ticks(10.0 ** lo, 10.0 ** hi, min(count, 6))
        values = values[values > 0]
        while len(values) > 2 and not self._fits(np.log10(values), self._plain(values), lo, hi, size):
            values = values[::2] if len(values) > 3 else values[[0, -1]]
        return [(None, [float(v) for v in np.log10(values)])]

    @staticmethod
    def _plain(values) -> list[str]:
        return [f"{v:.3g}" for v in values]

    def logTickStrings(self, values, scale, spacing):
        if self._linear_log_ticks:
            return self._plain(10.0 ** np.asarray(values, float) * scale)
        return [_decade_label(round(v)) for v in values]


def readable_axes(item: pg.PlotItem) -> None:
    """Give a plot ReadableAxis on its left and bottom (keeping their labels)."""
    axes = {}
    for name in ("left", "bottom"):
        old = item.getAxis(name)
        axes[name] = ReadableAxis(name, text=old.labelText, units=old.labelUnits or None)
    item.setAxisItems(axes)
