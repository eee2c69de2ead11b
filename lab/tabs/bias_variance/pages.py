"""Pages of the bias–variance tab: the fitted curves, the U-curve against complexity,
learning curves against n, and early stopping. Each page keeps the latest results
and, when something changed, asks the redraw scheduler for a frame (never a redraw
per event, and no timer while nothing changes)."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QLabel, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from core.bias_variance.config import KNOBS, sweep_values
from core.engine import Event, Finished, History, Metrics, Snapshot
from lab.tabs.bias_variance.plane import PlaneView
from widgets.live_plot import LivePlot
from widgets.redraw import redraw_scheduler, request_redraw
from widgets.theme import theme

__all__ = ["Page", "FitsPage", "ComplexityPage", "LearningPage", "EarlyStoppingPage", "gapped", "faint", "marker_line", "ERROR_SERIES"]

# name shown, metric key, colour index, dashed, width. (No symbols: on a log axis an
# exact zero — the training error of 1-NN — is NaN, and pyqtgraph's scatter warns on
# an all-NaN series.)
ERROR_SERIES = [
    ("bias²", "bias2", 0, False, 1.0),
    ("variance", "variance", 1, False, 1.0),
    ("noise σ²", "noise", 8, True, 1.0),
    ("bias² + variance + σ²", "total", 7, True, 1.0),
    ("test error (measured)", "test_error", 4, False, 1.8),
    ("training error", "train_error", 2, False, 1.4),
]


# Classification (0-1 loss, Domingos) names of the same quantities.
CLASS_NAMES = {"bias2": "bias (0-1)", "variance": "net variance", "noise": "noise term c₁·N", "total": "bias + net variance + noise"}


def gapped(x: np.ndarray, curves: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Many curves over the same x as one polyline broken by NaN (one item, fast to draw)."""
    k, g = curves.shape
    xs = np.concatenate([np.broadcast_to(x, (k, g)), np.full((k, 1), np.nan)], 1).ravel()
    ys = np.concatenate([curves, np.full((k, 1), np.nan)], 1).ravel()
    return xs, ys


def faint(color_index: int, alpha: int = 40) -> str:
    """A see-through series colour; twice as opaque on a dark background."""
    if theme().style.dark:
        alpha = min(255, 2 * alpha)
    return f"{theme().style.series_color(color_index)}{alpha:02x}"


def scatter_item(plot: LivePlot, color_index: int = 7) -> pg.ScatterPlotItem:
    item = pg.ScatterPlotItem(size=7, brush=pg.mkBrush(theme().style.series_color(color_index)), pen=None)
    plot.getPlotItem().addItem(item)
    return item


def marker_line(color_index: int, text: str, position: float, dashed: bool = True) -> pg.InfiniteLine:
    """A labelled vertical line marking a chosen value (stop epoch, CV choice, optimum)."""
    style = theme().style
    pen = pg.mkPen(style.series_color(color_index), width=style.pen_width(2 if dashed else 1),
                   style=Qt.DashLine if dashed else Qt.DotLine)
    return pg.InfiniteLine(angle=90, pen=pen, label=text, labelOpts={"position": position, "color": theme().style.foreground})


def fmt(v: float) -> str:
    return f"{v:.4g}" if math.isfinite(v) else "–"


class Page(QWidget):
    """One view of the tab; ``analysis`` is what Play runs while it is shown."""

    key = ""
    title = ""
    analysis = ""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.summary = QLabel(" ")
        self.summary.setWordWrap(True)
        self.summary.setMinimumHeight(3 * self.summary.fontMetrics().lineSpacing() + 4)
        self._themed: list = []
        theme().changed.connect(self._restyle)

    def follow_theme(self, *items) -> None:
        """Drawn items whose colour must follow light/dark: texts, line labels, data dots."""
        self._themed.extend(items)
        self._restyle(theme().style)

    @Slot(object)
    def _restyle(self, style) -> None:
        for item in self._themed:
            if isinstance(item, pg.TextItem):
                item.setColor(style.foreground)
                item.setFont(style.font("text", item.textItem.font()))
            elif isinstance(item, pg.InfiniteLine):
                item.label.setColor(style.foreground)
                item.label.setFont(style.font("text", item.label.textItem.font()))
            elif isinstance(item, pg.ScatterPlotItem):
                item.setBrush(pg.mkBrush(style.series_color(7)))
        self.summary.setTextInteractionFlags(Qt.TextSelectableByMouse)

    @Slot()
    def mark_dirty(self) -> None:
        request_redraw(self)

    def flush(self) -> None:
        """Draw now, shown or not (before an export)."""
        redraw_scheduler().draw_now(self)
        for view in self.plots().values():
            if isinstance(view, LivePlot):
                view.redraw()

    def redraw(self) -> None:
        """Draw what the page adds to its plots (markers, labels); the redraw scheduler
        calls this after :meth:`mark_dirty`."""

    def prepare(self, cfg) -> None:
        """Before a run of ``cfg``: e.g. show the x range the curves will fill."""

    def on_event(self, event: Event) -> None:
        pass

    def reset(self) -> None:
        pass

    def plots(self) -> dict:
        return {}

    def _stack(self, *widgets, horizontal: bool = False, sizes=None) -> None:
        split = QSplitter(Qt.Horizontal if horizontal else Qt.Vertical)
        for w in widgets:
            split.addWidget(w)
        if sizes:
            split.setSizes(sizes)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split, 1)
        layout.addWidget(self.summary)


class FitsPage(Page):
    key, title, analysis = "fits", "Fitted curves", "fits"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.fit_plot = LivePlot("M fits, their mean and the truth", "x", "y")
        self.pointwise_plot = LivePlot("Bias² and variance at each x", "x", "", log_y=True)
        self.points = scatter_item(self.fit_plot)
        self.marker = pg.InfiniteLine(angle=90, movable=True)
        self.fit_plot.getPlotItem().addItem(self.marker, ignoreBounds=True)
        self.spread = pg.PlotDataItem()  # the ±sd bar at the marker
        self.offset = pg.PlotDataItem()  # the bias bar at the marker
        self.marker_text = pg.TextItem(anchor=(0, 1), color=theme().style.foreground)
        for item in (self.spread, self.offset, self.marker_text):
            self.fit_plot.getPlotItem().addItem(item, ignoreBounds=True)
        self.marker.sigPositionChanged.connect(self.mark_dirty)
        self.follow_theme(self.points, self.marker_text)
        self.data: dict | None = None
        self.model_label = ""  # set by the tab: which model these fits are
        self.plane = PlaneView()
        self.curves = curves = QSplitter(Qt.Vertical)
        curves.addWidget(self.fit_plot)
        curves.addWidget(self.pointwise_plot)
        curves.setChildrenCollapsible(False)
        self._arrange(theme().style)
        theme().changed.connect(self._arrange)
        self.views = QStackedWidget()
        self.views.addWidget(curves)
        self.views.addWidget(self.plane)
        self._stack(self.views)

    @Slot(object)
    def _arrange(self, style) -> None:
        # Stacked, the plots (over the same x range) share one x axis label. On a projector the larger titles,
        # ticks and summary left the lower plot a sliver of curve: side by side, each
        # gets the page's whole height.
        # The marker's lines keep their weight next to the text (a projector's larger font).
        self.marker.setPen(pg.mkPen("#888888", width=style.pen_width(1), style=Qt.DashLine))
        self.spread.setPen(pg.mkPen(style.series_color(1), width=style.pen_width(6)))
        self.offset.setPen(pg.mkPen(style.series_color(4), width=style.pen_width(4)))
        side_by_side = style.presentation
        self.curves.setOrientation(Qt.Horizontal if side_by_side else Qt.Vertical)
        self.fit_plot.getPlotItem().setLabel("bottom", "x" if side_by_side else "")
        self.curves.setSizes([500, 500] if side_by_side else [560, 400])

    @property
    def classification(self) -> bool:
        return self.views.currentWidget() is self.plane

    def _class_fits(self, d: dict) -> None:
        self.views.setCurrentWidget(self.plane)
        self.plane.show_fits(d)
        s = d["scores"]
        self.summary.setText(
            f"<b>{self.model_label}</b> (0-1 loss, Domingos): bias = {fmt(s['bias2'])} · net variance = {fmt(s['variance'])} · "
            f"noise term c₁·N = {fmt(s['noise'])} (Bayes error {fmt(s['bayes_error'])}) · sum = {fmt(s['total'])} · "
            f"<b>measured test error = {fmt(s['test_error'])}</b> · training error = {fmt(s['train_error'])}"
            " — white: 12 of the models' boundaries; dashed black: the Bayes boundary; dots: one data set."
        )

    def on_event(self, event: Event) -> None:
        if isinstance(event, Snapshot) and event.kind == "class_fits":
            self.data = dict(event.data)
            self._class_fits(self.data)
        elif isinstance(event, Snapshot) and event.kind == "fits":
            self.views.setCurrentIndex(0)
            first = self.data is None
            self.data = dict(event.data)
            d = self.data
            xs, ys = gapped(d["x"], d["curves"])
            self.fit_plot.set_data(f"fits ({len(d['curves'])} shown)", xs, ys, color=faint(5, 60), width=0.6)
            self.fit_plot.set_data("mean fit", d["x"], d["mean"], color=theme().style.series_color(4), width=1.6)
            self.fit_plot.set_data("truth f(x)", d["x"], d["truth"], color=theme().style.series_color(7), width=1.3)
            self.pointwise_plot.set_data("bias²(x)", d["x"], d["bias2_x"], color=theme().style.series_color(4))
            self.pointwise_plot.set_data("variance(x)", d["x"], d["var_x"], color=theme().style.series_color(1))
            self.points.setData(d["sample_x"], d["sample_y"])
            top = float(np.nanmax(np.concatenate([d["bias2_x"], d["var_x"]])))
            if top > 0:  # four decades: exact zeros of bias² would stretch a log axis to 10⁻¹⁵
                self.pointwise_plot.fix_y_range(math.log10(top) - 4, math.log10(top) + 0.2)
            self.pointwise_plot.expect_x_range(float(d["x"][0]), float(d["x"][-1]))
            if first:
                self.marker.setValue(float(d["x"][len(d["x"]) // 3]))
            self._frame(d)
            s = d["scores"]
            self.summary.setText(
                f"<b>{self.model_label}</b>: bias² = {fmt(s['bias2'])} (unbiased estimate) · variance = {fmt(s['variance'])} · "
                f"noise σ² = {fmt(s['noise'])} · sum = {fmt(s['total'])} · "
                f"<b>measured test error = {fmt(s['test_error'])}</b> · training error = {fmt(s['train_error'])}"
                " — dots: one of the M data sets; drag the dashed line to read bias and spread at any x."
            )
            self.mark_dirty()

    def _frame(self, d: dict) -> None:
        """Frame the truth and the data: overfitted curves may shoot off to ±10⁴ near
        the ends, which autoscaling would follow until the truth is a flat line."""
        values = np.concatenate([d["truth"], d["sample_y"]])
        values = values[np.isfinite(values)]
        lo, hi = float(values.min()), float(values.max())
        pad = 0.35 * max(hi - lo, 1e-3)
        self.fit_plot.fix_y_range(lo - pad, hi + pad)
        self.fit_plot.expect_x_range(float(d["x"][0]), float(d["x"][-1]))

    def redraw(self) -> None:
        d = self.data
        if d is None or self.classification:
            return
        x0 = float(np.clip(self.marker.value(), d["x"][0], d["x"][-1]))
        i = int(np.argmin(np.abs(d["x"] - x0)))
        mean, sd, truth = d["mean"][i], d["std"][i], d["truth"][i]
        self.spread.setData([d["x"][i]] * 2, [mean - sd, mean + sd])
        self.offset.setData([d["x"][i]] * 2, [truth, mean])
        self.marker_text.setText(f"x = {d['x'][i]:.3g}\nbias = {mean - truth:+.3g}\nsd = {sd:.3g}")
        self.marker_text.setPos(d["x"][i], mean + sd)

    def reset(self) -> None:
        self.fit_plot.clear_series()
        self.pointwise_plot.clear_series()
        self.points.setData([], [])
        self.spread.setData([], [])
        self.offset.setData([], [])
        self.marker_text.setText("")
        self.plane.clear()
        self.data = None
        self.summary.setText(" ")

    def plots(self) -> dict:
        if self.classification:
            return {"bias_variance_classification": self.plane}
        return {"bias_variance_fits": self.fit_plot, "bias_variance_pointwise": self.pointwise_plot}


class _SweepPage(Page):
    """A page of error curves against a swept quantity, with the generalization gap shaded."""

    x_key = "complexity"

    def __init__(self, title: str, x_label: str, parent=None):
        super().__init__(parent)
        self.plot = LivePlot(title, x_label, "mean squared error", log_y=True)
        self.gap = None
        self.best_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(theme().style.series_color(4), width=theme().style.pen_width(1),
                                                                style=Qt.DotLine))
        self.labels = [pg.TextItem(text, anchor=(0.5, 1), color=theme().style.foreground) for text in ("underfit", "overfit")]
        for item in (self.best_line, *self.labels):
            self.plot.getPlotItem().addItem(item, ignoreBounds=True)
            item.hide()
        self.follow_theme(*self.labels)
        self.x_transform = lambda v: v
        self.more_complex_right = True
        self.names: dict[str, str] = {}

    def configure(self, x_label: str, log_x: bool = False, more_complex_right: bool = True, task: str = "regression") -> None:
        self.names = CLASS_NAMES if task == "classification" else {}
        self.plot.getPlotItem().setLabel("left", "0-1 error" if task == "classification" else "mean squared error")
        if self.plot.log_y != (task == "regression"):
            self.plot.set_log_y(task == "regression")  # the net variance of 0-1 loss can be negative
        self.plot.getPlotItem().setLabel("bottom", x_label)
        self.x_transform = (lambda v: math.log10(v) if v > 0 else -9.0) if log_x else (lambda v: v)
        self.more_complex_right = more_complex_right
        self.plot.getPlotItem().vb.invertX(not more_complex_right)

    def on_event(self, event: Event) -> None:
        if isinstance(event, Metrics):
            x = self.x_transform(event.values[self.x_key])
            for label, key, color, dash, width in ERROR_SERIES:
                if key in event.values:
                    label = self.names.get(key, label)
                    self.plot.series(label, color=theme().style.series_color(color), dash=dash, width=width).append(x, event.values[key])
            self._ensure_gap()
        elif isinstance(event, Finished):
            self.finish(event.summary)
            self.mark_dirty()

    def prepare(self, cfg) -> None:
        xs = [self.x_transform(v) for v in (cfg.sizes if self.x_key == "n" else sweep_values(cfg))]
        self.plot.expect_x_range(min(xs), max(xs))

    def _ensure_gap(self) -> None:
        if self.gap is None and {"test error (measured)", "training error"} <= set(self.plot.names()):
            test = self.plot.series("test error (measured)").curve
            train = self.plot.series("training error").curve
            self.gap = pg.FillBetweenItem(test, train, brush=pg.mkBrush(faint(4, 38)))
            self.plot.getPlotItem().addItem(self.gap)

    def finish(self, summary: dict) -> None:
        pass

    def plots(self) -> dict:
        return {f"bias_variance_{self.key}": self.plot}

    def reset(self) -> None:
        self.plot.clear_series()
        if self.gap is not None:
            self.plot.getPlotItem().removeItem(self.gap)
            self.gap = None
        for item in (self.best_line, *self.labels):
            item.hide()
        self.summary.setText(" ")


class ComplexityPage(_SweepPage):
    key, title, analysis = "complexity", "U-curve", "complexity"

    def __init__(self, parent=None):
        super().__init__("Expected test error = bias² + variance + noise, against complexity", "complexity")
        self.best: float | None = None
        self._stack(self.plot)

    def finish(self, summary: dict) -> None:
        if "best" not in summary:
            return
        knob = summary["knob"]
        self.best = self.x_transform(summary["best"])
        label = KNOBS[knob][1]
        self.summary.setText(
            f"Lowest measured test error {fmt(summary['best_test_error'])} at {label} = {summary['best']:g}. "
            "Shaded: the generalization gap (test − training error). Left of the optimum the model underfits "
            "(bias dominates), right of it it overfits (variance dominates). Bias² is the unbiased estimate: the "
            "mean of M fits is itself noisy by variance/M, and that is taken out (so it can dip just below 0)."
        )

    def redraw(self) -> None:
        if self.best is None or not self.plot.names():
            return
        self.best_line.setValue(self.best)
        self.best_line.show()
        xs = self.plot.series(self.plot.names()[0]).x
        lo, hi = float(np.min(xs)), float(np.max(xs))
        # At the bottom of the plot: the legend sits top right.
        lows = [float(np.nanmin(s.y[s.y > 0] if self.plot.log_y else s.y)) for s in (self.plot.series(n) for n in self.plot.names()) if (s.y > 0).any()]
        y_low = min(lows) if lows else 0.0
        y_pos = math.log10(y_low) if self.plot.log_y and y_low > 0 else y_low
        left, right = (lo + self.best) / 2, (self.best + hi) / 2
        under_x, over_x = (left, right) if self.more_complex_right else (right, left)
        for item, x in zip(self.labels, (under_x, over_x)):
            item.setPos(x, y_pos)
            item.setVisible(lo < x < hi or lo == hi)

    def reset(self) -> None:
        super().reset()
        self.best = None


class LearningPage(_SweepPage):
    key, title, analysis = "learning", "Learning curves", "learning"
    x_key = "n"

    def __init__(self, parent=None):
        super().__init__("Learning curves: errors against the training-set size n", "training-set size n")
        self._stack(self.plot)

    def configure(self, x_label: str, log_x: bool = False, more_complex_right: bool = True, task: str = "regression") -> None:
        super().configure("training-set size n", task=task)  # the x axis is n, whatever the knob

    def finish(self, summary: dict) -> None:
        self.summary.setText(
            "With more data the variance falls and training and test error meet at bias² + σ²; "
            "a model that underfits stays at its bias however much data it gets."
        )


class EarlyStoppingPage(Page):
    key, title, analysis = "early_stopping", "Early stopping", "early_stopping"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = LivePlot("MLP: training, validation and test error against epochs", "epoch", "mean squared error", log_y=True)
        self.lines = {
            "stop": marker_line(2, "early stop", 0.06),
            "best": marker_line(4, "true best", 0.16, dashed=False),
        }
        self.follow_theme(*self.lines.values())
        for line in self.lines.values():
            self.plot.getPlotItem().addItem(line, ignoreBounds=True)
            line.hide()
        self.result: dict = {}
        self._stack(self.plot)

    def on_event(self, event: Event) -> None:
        if isinstance(event, History):
            for label, key, color in (("training error", "train_error", 2), ("validation error", "val_error", 1), ("test error (simulated)", "test_error", 4)):
                self.plot.series(label, color=theme().style.series_color(color)).extend(event.steps, event.values[key])
        elif isinstance(event, Finished) and "stop_epoch" in event.summary:
            self.result = dict(event.summary)
            s = self.result
            self.summary.setText(
                f"Early stopping (patience on the validation error) stops at epoch {s['stop_epoch']} with test error "
                f"{fmt(s['stop_test_error'])}; the simulated best is epoch {s['best_epoch']} ({fmt(s['best_test_error'])}); "
                f"training on to the end gives {fmt(s['final_test_error'])}."
            )
            self.mark_dirty()

    def prepare(self, cfg) -> None:
        self.plot.expect_x_range(0, cfg.epochs)

    def redraw(self) -> None:
        if self.result:
            self.lines["stop"].setValue(self.result["stop_epoch"])
            self.lines["best"].setValue(self.result["best_epoch"])
            for line in self.lines.values():
                line.show()

    def reset(self) -> None:
        self.plot.clear_series()
        self.result = {}
        for line in self.lines.values():
            line.hide()
        self.summary.setText(" ")

    def plots(self) -> dict:
        return {"bias_variance_early_stopping": self.plot}
