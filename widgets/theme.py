"""Look of the whole application: light/dark palette, font scale, presentation mode.

One :class:`Theme` instance per application. Widgets that draw (plots, diagrams) read
``theme()`` and connect to ``theme().changed`` to restyle themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pyqtgraph as pg
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

__all__ = ["Style", "Theme", "theme", "SERIES_COLORS", "style_plot"]

# Colour-blind-safe qualitative palette (Okabe–Ito), readable on light and dark.
SERIES_COLORS = [
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#D55E00",
    "#56B4E9",
    "#8C6D00",
    "#000000",
    "#7F7F7F",
    "#B22222",
]


@dataclass(frozen=True)
class Style:
    dark: bool = False
    font_scale: float = 1.0
    presentation: bool = False

    @property
    def line_width(self) -> float:
        # One-pixel cosmetic lines take Qt's fast raster path: five times cheaper to
        # paint than 1.8 px, which is what keeps live plots at 30 frames a second while
        # training. Exports draw thicker (widgets/export.py); the projector gets 3 px.
        return 3.0 if self.presentation else 1.0

    @property
    def effective_font_scale(self) -> float:
        return self.font_scale * (1.5 if self.presentation else 1.0)

    @property
    def background(self) -> str:
        return "#1e1f22" if self.dark else "#ffffff"

    @property
    def foreground(self) -> str:
        return "#dcdcdc" if self.dark else "#202020"

    def series_color(self, i: int) -> str:
        c = SERIES_COLORS[i % len(SERIES_COLORS)]
        if self.dark and c == "#000000":
            return "#f0f0f0"
        return c


class Theme(QObject):
    changed = Signal(object)  # Style

    def __init__(self):
        super().__init__()
        self._style = Style()
        self._base_point_size: float | None = None

    @property
    def style(self) -> Style:
        return self._style

    def set_style(self, **changes) -> None:
        new = replace(self._style, **changes)
        if not 0.5 <= new.font_scale <= 3.0:
            raise ValueError(f"Font scale must be between 0.5 and 3, got {new.font_scale}")
        self._style = new
        self.apply_to_application()
        self.changed.emit(new)

    def apply_to_application(self) -> None:
        app = QApplication.instance()
        if app is None:
            return
        s = self._style
        # Antialiased curves cost 4-8x more to paint in Qt's raster engine, enough to make
        # live plots miss their frame rate; exports turn it back on (widgets/export.py).
        pg.setConfigOptions(background=s.background, foreground=s.foreground, antialias=False)
        app.setStyle("Fusion")
        app.setPalette(_dark_palette() if s.dark else app.style().standardPalette())
        if self._base_point_size is None:
            self._base_point_size = app.font().pointSizeF() if app.font().pointSizeF() > 0 else 10.0
        font = QFont(app.font())
        font.setPointSizeF(self._base_point_size * s.effective_font_scale)
        app.setFont(font)


def _dark_palette() -> QPalette:
    p = QPalette()
    base, window, text = QColor("#26272b"), QColor("#2f3035"), QColor("#e6e6e6")
    p.setColor(QPalette.Window, window)
    p.setColor(QPalette.WindowText, text)
    p.setColor(QPalette.Base, base)
    p.setColor(QPalette.AlternateBase, window)
    p.setColor(QPalette.ToolTipBase, window)
    p.setColor(QPalette.ToolTipText, text)
    p.setColor(QPalette.Text, text)
    p.setColor(QPalette.Button, window)
    p.setColor(QPalette.ButtonText, text)
    p.setColor(QPalette.BrightText, QColor("#ff6060"))
    p.setColor(QPalette.Highlight, QColor("#3d7fd6"))
    p.setColor(QPalette.HighlightedText, QColor("#ffffff"))
    p.setColor(QPalette.PlaceholderText, QColor("#9a9a9a"))
    for role in (QPalette.Text, QPalette.ButtonText, QPalette.WindowText):
        p.setColor(QPalette.Disabled, role, QColor("#7a7a7a"))
    return p


_theme: Theme | None = None


def theme() -> Theme:
    global _theme
    if _theme is None:
        _theme = Theme()
    return _theme


def style_plot(plot: pg.PlotWidget, style: Style) -> None:
    """Background, axes (lines, tick labels, axis labels) and legend of a pyqtgraph
    plot in the colours and font scale of ``style``; every plot widget uses this."""
    plot.setBackground(style.background)
    item = plot.getPlotItem()
    font_px = round(11 * style.effective_font_scale)
    for name in ("left", "bottom"):
        axis = item.getAxis(name)
        axis.setPen(style.foreground)
        axis.setTextPen(style.foreground)
        font = axis.font()
        font.setPixelSize(font_px)
        axis.setTickFont(font)
        axis.label.setDefaultTextColor(pg.mkColor(style.foreground))
    legend = item.legend
    if legend is not None:
        legend.setLabelTextColor(style.foreground)
        legend.setLabelTextSize(f"{round(9 * style.effective_font_scale)}pt")
