"""Pages of the bias–variance tab for ensembles and model selection: bagging (against
B), boosting (round by round) and k-fold cross-validation (folds strip, CV estimate
vs the simulated truth)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QWidget

from core.bias_variance.config import KNOBS, sweep_values
from core.engine import Event, Finished, History, Metrics, Snapshot
from lab.tabs.bias_variance.pages import Page, faint, fmt, gapped, marker_line, scatter_item
from widgets.export import export_widget_png, write_csv
from widgets.live_plot import LivePlot
from widgets.theme import theme

__all__ = ["BaggingPage", "BoostingPage", "CrossValidationPage", "FoldStrip"]


def _color(i: int) -> str:
    return theme().style.series_color(i)


class BaggingPage(Page):
    key, title, analysis = "bagging", "Bagging", "bagging"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.fit_plot = LivePlot("B bootstrap fits of one data set and their average", "x", "y")
        self.points = scatter_item(self.fit_plot)
        self.curve_plot = LivePlot("Bagged ensemble against B (over M data sets)", "bootstrap resamples B", "mean squared error", log_y=True)
        self._stack(self.fit_plot, self.curve_plot, horizontal=True, sizes=[500, 500])

    def prepare(self, cfg) -> None:
        self.curve_plot.expect_x_range(1, cfg.bags)
        self.fit_plot.expect_x_range(cfg.x_min, cfg.x_max)

    def on_event(self, event: Event) -> None:
        if isinstance(event, Metrics):
            v, b = event.values, event.values["B"]
            for label, key, color, dash in (
                ("variance, bagged", "variance", 1, False),
                ("variance, one model", "single_variance", 1, True),
                ("bias², bagged", "bias2", 0, False),
                ("test error, bagged", "test_error", 4, False),
                ("test error, one model", "single_test_error", 4, True),
            ):
                self.curve_plot.series(label, color=_color(color), dash=dash).append(b, v[key])
        elif isinstance(event, Snapshot) and event.kind == "bagging":
            d = event.data
            xs, ys = gapped(d["x"], d["resamples"])
            self.fit_plot.set_data(f"bootstrap fits ({len(d['resamples'])} shown)", xs, ys, color=faint(5, 70), width=0.6)
            self.fit_plot.set_data("one model (all data)", d["x"], d["single"], color=_color(2), dash=True)
            self.fit_plot.set_data("bagged", d["x"], d["bagged"], color=_color(4), width=1.6)
            self.fit_plot.set_data("truth f(x)", d["x"], d["truth"], color=_color(7))
            self.points.setData(d["sample_x"], d["sample_y"], size=4 + 4 * np.sqrt(d["counts"]))
        elif isinstance(event, Finished) and "bagged" in event.summary:
            s = event.summary
            change = 100 * s["variance_reduction"]
            effect = f"cuts the variance by {change:.0f} %" if change >= 0 else f"raises the variance by {-change:.0f} %"
            self.summary.setText(
                f"Bagging {len(self.curve_plot.series('variance, bagged').x)} bootstrap fits {effect} "
                f"({fmt(s['single']['variance'])} → {fmt(s['bagged']['variance'])}); "
                f"bias² {fmt(s['single']['bias2'])} → {fmt(s['bagged']['bias2'])}. "
                "Bagging helps unstable models (deep trees, small k); each bootstrap fit sees only ~63 % of the points. "
                "Dot size: how often each point was drawn into the first resample."
            )

    def reset(self) -> None:
        self.fit_plot.clear_series()
        self.curve_plot.clear_series()
        self.points.setData([], [])
        self.summary.setText(" ")

    def plots(self) -> dict:
        return {"bias_variance_bagging_fits": self.fit_plot, "bias_variance_bagging": self.curve_plot}


class BoostingPage(Page):
    key, title, analysis = "boosting", "Boosting", "boosting"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.fit_plot = LivePlot("Boosting one data set: ensemble and weak learner", "x", "y")
        self.points = scatter_item(self.fit_plot)
        self.follow_theme(self.points)
        self.curve_plot = LivePlot("Ensemble against rounds (over M data sets)", "round", "mean squared error", log_y=True)
        self.snapshot: dict | None = None
        self._stack(self.fit_plot, self.curve_plot, horizontal=True, sizes=[500, 500])

    def prepare(self, cfg) -> None:
        self.curve_plot.expect_x_range(0, cfg.rounds)
        self.fit_plot.expect_x_range(cfg.x_min, cfg.x_max)

    def on_event(self, event: Event) -> None:
        if isinstance(event, History):
            for label, key, color in (("bias²", "bias2", 0), ("variance", "variance", 1), ("test error", "test_error", 4), ("training error", "train_error", 2)):
                self.curve_plot.series(label, color=_color(color)).extend(event.steps, event.values[key])
        elif isinstance(event, Snapshot) and event.kind == "boosting":
            self.snapshot = dict(event.data)
            self.mark_dirty()

    def redraw(self) -> None:
        d = self.snapshot
        if d is None:
            return
        self.fit_plot.set_data("truth f(x)", d["x"], d["truth"], color=_color(7))
        self.fit_plot.set_data("mean ensemble ± sd (M sets)", *gapped(d["x"], np.stack([d["mean"] - d["std"], d["mean"] + d["std"]])), color=faint(1, 150), dash=True)
        self.fit_plot.set_data("ensemble", d["x"], d["ensemble"], color=_color(4), width=1.6)
        learner = d["learner"] if d["learner"] is not None else np.zeros_like(d["x"])
        self.fit_plot.set_data("weak learner × ν (this round)", d["x"], learner, color=_color(2))
        self.points.setData(d["sample_x"], d["sample_y"])
        self.summary.setText(
            f"Round {d['round']}: each round fits a weak learner (a shallow tree or a tiny MLP) to the residuals y − F(x) and adds ν times it. "
            "Bias falls round by round while the variance grows: too many rounds overfit."
        )

    def reset(self) -> None:
        self.fit_plot.clear_series()
        self.curve_plot.clear_series()
        self.points.setData([], [])
        self.snapshot = None
        self.summary.setText(" ")

    def plots(self) -> dict:
        return {"bias_variance_boosting_fit": self.fit_plot, "bias_variance_boosting": self.curve_plot}


class FoldStrip(QWidget):
    """K rows (one per CV split) of n cells (points sorted by x): the held-out fold in
    its colour, the training points grey."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.fold_of: np.ndarray | None = None
        self.setMinimumHeight(90)
        theme().changed.connect(self.update)

    def set_folds(self, fold_of: np.ndarray | None) -> None:
        self.fold_of = None if fold_of is None else np.asarray(fold_of)
        self.update()

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        style = theme().style
        p.fillRect(self.rect(), QColor(style.background))
        p.setPen(QColor(style.foreground))
        if self.fold_of is None:
            p.drawText(self.rect(), Qt.AlignCenter, "Run cross-validation to see the folds")
            return
        folds = int(self.fold_of.max()) + 1
        n = len(self.fold_of)
        label_w = p.fontMetrics().horizontalAdvance(f"split {folds}") + 8
        top_h = p.fontMetrics().height() + 4
        row_h = max(4.0, (self.height() - top_h) / folds)
        cell_w = (self.width() - label_w - 6) / n
        p.drawText(QRectF(label_w, 0, self.width() - label_w, top_h), Qt.AlignLeft | Qt.AlignVCenter, "points sorted by x →   coloured: held out (validation), grey: training")
        grey = QColor("#5a5a5a" if style.dark else "#d6d6d6")
        for k in range(folds):
            top = top_h + k * row_h
            p.setPen(QColor(style.foreground))
            p.drawText(QRectF(0, top, label_w - 4, row_h), Qt.AlignRight | Qt.AlignVCenter, f"split {k + 1}")
            p.setPen(Qt.NoPen)
            held = QColor(style.series_color(k))
            for i in range(n):
                p.setBrush(held if self.fold_of[i] == k else grey)
                p.drawRect(QRectF(label_w + i * cell_w + 0.5, top + 1, max(1.0, cell_w - 1), row_h - 2))

    def export(self, stem: Path, scale: float = 1.0) -> list[Path]:
        stem = Path(stem)
        written = [export_widget_png(self, stem.with_suffix(".png"), scale)]
        if self.fold_of is not None:
            written.append(write_csv(stem.with_suffix(".csv"), {"point (sorted by x)": np.arange(len(self.fold_of)), "fold": self.fold_of}))
        return written


class CrossValidationPage(Page):
    key, title, analysis = "cv", "Cross-validation", "cv"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.strip = FoldStrip()
        self.plot = LivePlot("K-fold CV estimate (± sd over folds) vs the simulated test error", "complexity", "mean squared error", log_y=True)
        self.error_bars = pg.ErrorBarItem(pen=pg.mkPen(_color(0), width=theme().style.pen_width(1.5)), beam=0.2)
        self.plot.getPlotItem().addItem(self.error_bars)
        self.lines = {
            "cv": marker_line(0, "CV choice", 0.06),
            "true": marker_line(4, "true optimum", 0.16, dashed=False),
        }
        self.follow_theme(*self.lines.values())
        for line in self.lines.values():
            self.plot.getPlotItem().addItem(line, ignoreBounds=True)
            line.hide()
        self.rows: list[dict] = []
        self.result: dict = {}
        self.x_transform = lambda v: v
        self._stack(self.strip, self.plot, sizes=[140, 520])

    def configure(self, x_label: str, log_x: bool = False, more_complex_right: bool = True, task: str = "regression") -> None:
        self.plot.getPlotItem().setLabel("bottom", x_label)
        self.x_transform = (lambda v: float(np.log10(max(v, 1e-9)))) if log_x else (lambda v: v)
        self.plot.getPlotItem().vb.invertX(not more_complex_right)

    def prepare(self, cfg) -> None:
        xs = [self.x_transform(v) for v in sweep_values(cfg)]
        self.plot.expect_x_range(min(xs), max(xs))

    def on_event(self, event: Event) -> None:
        if isinstance(event, Snapshot) and event.kind == "folds":
            order = np.argsort(event.data["x"])
            self.strip.set_folds(event.data["fold_of"][order])
        elif isinstance(event, Metrics):
            v = event.values
            x = self.x_transform(v["complexity"])
            self.rows.append({"x": x, "mean": v["cv_mean"], "std": v["cv_std"]})
            self.plot.series("CV estimate (one data set)", color=_color(0), width=1.6).append(x, v["cv_mean"])
            self.plot.series("test error (simulated, M sets)", color=_color(4), width=1.6).append(x, v["test_error"])
            self.mark_dirty()
        elif isinstance(event, Finished) and "cv_choice" in event.summary:
            self.result = dict(event.summary)
            s = self.result
            label = KNOBS[s["knob"]][1]
            self.summary.setText(
                f"CV picks {label} = {s['cv_choice']:g} (its true test error {fmt(s['cv_choice_test_error'])}); "
                f"the simulation's optimum is {label} = {s['true_choice']:g} ({fmt(s['true_best_test_error'])}). "
                "CV sees one data set only: its estimate and its choice vary from data set to data set."
            )
            self.mark_dirty()

    def redraw(self) -> None:
        if self.rows:
            x = np.array([r["x"] for r in self.rows])
            mean = np.array([r["mean"] for r in self.rows])
            std = np.array([r["std"] for r in self.rows])
            if self.plot.log_y:
                # Error bars live in the plotted (log10) coordinates.
                lo = np.log10(np.maximum(mean - std, mean * 1e-3))
                hi = np.log10(mean + std)
                y = np.log10(mean)
                self.error_bars.setData(x=x, y=y, top=hi - y, bottom=y - lo)
            else:
                self.error_bars.setData(x=x, y=mean, height=2 * std)
            self.error_bars.show()
        if self.result:
            self.lines["cv"].setValue(self.x_transform(self.result["cv_choice"]))
            self.lines["true"].setValue(self.x_transform(self.result["true_choice"]))
            for line in self.lines.values():
                line.show()

    def reset(self) -> None:
        self.plot.clear_series()
        self.error_bars.hide()  # (pyqtgraph cannot draw empty error bars)
        self.strip.set_folds(None)
        self.rows, self.result = [], {}
        for line in self.lines.values():
            line.hide()
        self.summary.setText(" ")

    def plots(self) -> dict:
        return {"bias_variance_cv_folds": self.strip, "bias_variance_cv": self.plot}
