"""Look of the whole application: light/dark palette, font scale, presentation mode.

One :class:`Theme` instance per application. Widgets that draw (plots, diagrams) read
``theme()`` and connect to ``theme().changed`` to restyle themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pyqtgraph as pg
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPalette
from PySide6.QtWidgets import QApplication

__all__ = ["Style", "Theme", "theme", "SERIES_COLORS", "FONT_POINTS", "style_plot", "style_legend", "style_text_item"]

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


# Point sizes of every text a plot draws, at font scale 1 outside presentation mode.
# Every widget asks Style.font / Style.points for these, so one scale moves them all
# and leaving presentation mode gives back exactly these sizes.
FONT_POINTS = {
    "title": 12.0,
    "label": 10.0,  # axis labels
    "tick": 8.5,
    "legend": 9.0,
    "text": 9.0,  # readouts, notes and markers inside a plot
    "table": 9.0,  # number grids, leaderboards, diagram labels
}

# The one colour of the palette that vanishes on a dark background, and what it becomes.
_DARK_SWAPS = {"#000000": "#f0f0f0"}


@dataclass(frozen=True)
class Style:
    dark: bool = False
    font_scale: float = 1.0
    presentation: bool = False

    @property
    def line_width(self) -> float:
        """Width of a live curve. One-pixel cosmetic lines take Qt's fast raster path: five
        times cheaper to paint than 1.8 px, which is what keeps live plots at 30 frames a
        second while training. Once text is drawn noticeably larger (presentation mode, a
        font scale from 1.2) lines thicken with it: 3 px on the projector at scale 1.
        Exports draw thicker still (widgets/export.py)."""
        scale = self.effective_font_scale
        return 1.0 if scale < 1.2 else round(2.0 * scale * 2) / 2

    def pen_width(self, width: float) -> float:
        """A fixed line (a contour, an arrow, a marker's outline, a grid rule) of ``width``
        px at scale 1, grown with the text so that it keeps its weight next to it."""
        return width * self.effective_font_scale

    def marker_size(self, size: float) -> float:
        """A scatter marker of ``size`` px at scale 1, grown with the text."""
        return size * self.effective_font_scale

    @property
    def effective_font_scale(self) -> float:
        return self.font_scale * (1.5 if self.presentation else 1.0)

    @property
    def background(self) -> str:
        return "#1e1f22" if self.dark else "#ffffff"

    @property
    def foreground(self) -> str:
        return "#dcdcdc" if self.dark else "#202020"

    @property
    def legend_background(self) -> str:
        # Semi-opaque: the legend stays readable over curves but does not blot them out.
        return ("#1e1f22" if self.dark else "#ffffff") + "d0"

    @property
    def legend_border(self) -> str:
        return "#5a5b60" if self.dark else "#b8b8b8"

    def points(self, role: str) -> float:
        """Point size of a kind of text (see ``FONT_POINTS``) at this style's scale."""
        return FONT_POINTS[role] * self.effective_font_scale

    def font(self, role: str, base: QFont | None = None) -> QFont:
        """A font for ``role`` with its point size set explicitly (a copy of ``base``)."""
        f = QFont(base) if base is not None else QFont()
        f.setPointSizeF(self.points(role))
        return f

    def css_size(self, role: str) -> str:
        return f"{self.points(role):.4g}pt"

    def series_color(self, i: int) -> str:
        return self.readable(SERIES_COLORS[i % len(SERIES_COLORS)])

    def readable(self, color: str) -> str:
        """``color`` as it should be drawn on this background: the palette's black turns
        near-white in dark mode and back again in light mode, so a series keeps its
        place in the legend whichever theme it was created in."""
        c = color.lower()
        for light, dark in _DARK_SWAPS.items():
            if self.dark and c.startswith(light):
                return dark + color[len(light):]
            if not self.dark and c.startswith(dark):
                return light + color[len(dark):]
        return color


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
        # Setting a style re-polishes every widget of the application (seconds with all
        # labs built); it only ever needs setting once.
        if app.style().name().lower() != "fusion":
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


def style_plot(plot, style: Style) -> None:
    """Background, title, axes (lines, tick labels, axis labels), legend and the text
    items inside a pyqtgraph plot in the colours and sizes of ``style``; every plot
    widget calls this when it is built and on every ``theme().changed``."""
    item = plot.getPlotItem() if isinstance(plot, pg.PlotWidget) else plot
    if item is None:  # a closed PlotWidget drops its plot item; the theme may still call
        return
    if isinstance(plot, pg.PlotWidget):
        plot.setBackground(style.background)
    title = item.titleLabel
    if title.text and title.text.strip():
        title.setText(title.text, color=style.foreground, size=style.css_size("title"))
    tick_font = style.font("tick")
    label_font = style.font("label")
    for name in ("left", "bottom", "right", "top"):
        axis = item.getAxis(name)
        axis.setPen(style.foreground)
        axis.setTextPen(style.foreground)
        axis.setTickFont(tick_font)
        # Tick-label space only ever grows in pyqtgraph: start again from the small
        # default, so leaving presentation mode does not leave wide empty margins.
        axis.textWidth, axis.textHeight = 30, 18
        axis.setStyle(tickTextOffset=max(3, round(0.4 * style.points("tick"))))
        axis.label.setFont(label_font)
        axis.label.setDefaultTextColor(pg.mkColor(style.foreground))
        axis._updateLabel()  # pyqtgraph re-measures the label's room only here
        _measure_tick_labels(axis)
    if item.legend is not None:
        style_legend(item.legend, style)
    for child in dict.fromkeys([*item.items, *item.vb.addedItems]):  # items added with ignoreBounds are only in the first
        if isinstance(child, pg.TextItem):
            style_text_item(child, style)
        elif isinstance(child, pg.InfiniteLine) and getattr(child, "label", None) is not None:  # unlabelled lines have none
            style_text_item(child.label, style)


def _measure_tick_labels(axis: pg.AxisItem) -> None:
    """Size the axis for its labels in the new font now: pyqtgraph measures them only
    while painting, so the first frame (and a grab or export made before any paint)
    would squeeze them against the axis label."""
    image = QImage(1, 1, QImage.Format_ARGB32)
    painter = QPainter(image)
    try:
        axis.generateDrawSpecs(painter)  # ends by resizing the axis to the widest label
    finally:
        painter.end()
    axis.picture = None


# Text items keep their own colour unless it was a theme foreground, which follows the theme.
_FOREGROUNDS = {Style(dark=False).foreground, Style(dark=True).foreground}


def style_text_item(text: pg.TextItem, style: Style) -> None:
    """Font size (``"text"``) and, for text in the theme's foreground, colour."""
    text.setFont(style.font("text", text.textItem.font()))
    if text.color.name().lower() in _FOREGROUNDS:
        text.setColor(style.foreground)


def style_legend(legend: pg.LegendItem, style: Style) -> None:
    """Legend text in the foreground colour and size of ``style`` on a semi-opaque
    background of the theme. pyqtgraph's own setters only store the new colour and
    size; each label is redrawn here so that the change shows."""
    legend.setBrush(pg.mkBrush(style.legend_background))
    legend.setPen(pg.mkPen(style.legend_border))
    legend.setLabelTextColor(style.foreground)
    legend.setLabelTextSize(style.css_size("legend"))
    # Layout rows never shrink once a large label has sized them, so fresh entries are
    # the only way back to exactly the normal size after presentation mode.
    entries = [(sample.item, label.text) for sample, label in legend.items]
    legend.clear()
    for item, name in entries:
        legend.addItem(item, name)
