"""What the initialization explorer shows: a column of per-layer histograms per scheme
with curves across depth below, and the training page (loss, update/weight ratios,
symmetry)."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from core.initialization.schemes import SCHEMES
from lab.tabs.initialization.controls import scheme_color
from widgets.histogram_grid import HistogramGrid, LayerHistograms, format_tick
from widgets.live_plot import LivePlot
from widgets.theme import theme

__all__ = ["SchemeColumn", "SignalsView", "TrainingView", "histograms_of", "RATIO_REFERENCE"]

RATIO_REFERENCE = 1e-3  # the rule of thumb for a healthy update size
# What the curves across depth are called on a projector, where four in a row leave
# each title about 140 px.
SHORT_TITLES = {
    "Activation std": "Act. σ",
    "Gradient std": "Grad. σ",
    "Activation mean": "Act. mean",
    "Gradient mean": "Grad. mean",
    "Saturated · dead (- -)": "Saturated · dead - -",
}


def histograms_of(data: dict, kind: str) -> LayerHistograms:
    """The ``act`` or ``grad`` histograms of one scheme's statistics snapshot."""
    overflow = data[f"{kind}_overflow"]
    notes = []
    for i, frac in enumerate(overflow):
        if frac >= 1.0:
            notes.append("overflow: all Inf/NaN")
        elif frac > 0:
            notes.append(f"overflow: {frac:.0%} Inf/NaN")
        elif data[f"{kind}_std"][i] == 0:
            notes.append("all values equal")
        else:
            notes.append("")
    return LayerHistograms(
        data[f"{kind}_hist"],
        data[f"{kind}_edges"],
        data[f"{kind}_hist_shared"],
        data[f"{kind}_edges_shared"],
        tuple(f"L{i}" for i in data["layers"]),
        tuple(notes),
    )


class SchemeColumn(QWidget):
    """One scheme: its name, formula and measured weight std above its histograms."""

    def __init__(self, key: str, parent=None):
        super().__init__(parent)
        self.key = key
        self.header = QLabel(f"<b>{SCHEMES[key].label}</b>")
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.RichText)
        self.header.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.histograms = HistogramGrid(color=scheme_color(key))
        self.histograms.message = "computing…"
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 0, 2, 0)
        layout.addWidget(self.header)
        layout.addWidget(self.histograms, 1)

    def show_data(self, data: dict, kind: str) -> None:
        color = scheme_color(self.key)
        last = len(data["layers"])
        measured = data["weight_std"][0]
        lines = [
            f"<b style='color:{color}'>{data['label']}</b>",
            f"<small>{data['formula']}</small>",
            f"<small>measured σ(W₁) = {format_tick(measured)}; "
            f"{'activation' if kind == 'act' else 'gradient'} std L1 → L{last}: "
            f"{format_tick(data[f'{kind}_std'][0])} → {format_tick(data[f'{kind}_std'][-1])}</small>",
        ]
        if len(data["lsuv_factors"]):
            factors = ", ".join(format_tick(f) for f in data["lsuv_factors"][:6])
            more = "…" if len(data["lsuv_factors"]) > 6 else ""
            lines.append(f"<small>LSUV rescaled W by {factors}{more} (layers 1, 2, …)</small>")
        if data["overflow_layer"]:
            lines.append(f"<small style='color:#D55E00'>overflow to Inf from layer {data['overflow_layer']}</small>")
        self.header.setText("<br>".join(lines))
        self.histograms.set_histograms(histograms_of(data, kind))


class SignalsView(QSplitter):
    """Scheme columns side by side (the comparison sheet) above curves across depth."""

    def __init__(self, parent=None):
        super().__init__(Qt.Vertical, parent)
        self.columns_box = QWidget()
        self.columns_layout = QHBoxLayout(self.columns_box)
        self.columns_layout.setContentsMargins(0, 0, 0, 0)
        self.columns: dict[str, SchemeColumn] = {}
        self.empty = QLabel("Tick at least one initialization on the left.")
        self.empty.setAlignment(Qt.AlignCenter)
        self.columns_layout.addWidget(self.empty)
        # No y labels: each title names its quantity, and four in a row need the width.
        self.act_std = LivePlot("Activation std", "layer", "", log_y=True)
        self.grad_std = LivePlot("Gradient std", "layer", "", log_y=True)
        self.act_mean = LivePlot("Activation mean", "layer", "")
        self.fractions = LivePlot("Saturated · dead (- -)", "layer", "")
        self.fractions.setYRange(0, 1)
        curves = QWidget()
        self._curves_grid = QGridLayout(curves)
        self._curves_grid.setContentsMargins(0, 0, 0, 0)
        for i, plot in enumerate(self.depth_plots().values()):
            plot.legend.hide()  # the columns above name each colour; a legend would cover the curves
            plot.setMinimumSize(150, 120)
            self._curves_grid.addWidget(plot, 0, i)
        self.addWidget(self.columns_box)
        self.addWidget(curves)
        self.setChildrenCollapsible(False)
        self.setStretchFactor(0, 3)
        self.setStretchFactor(1, 1)
        self._arrange(theme().style)
        theme().changed.connect(self._arrange)

    @Slot(object)
    def _arrange(self, style) -> None:
        # On a projector the histograms' default share left these plots a sliver of
        # curve under their titles, ticks and labels, and their titles were cut: there
        # the two halves are equal, the titles short, the widest title's plot wider.
        for i, plot in enumerate(self.depth_plots().values()):
            self._curves_grid.setColumnStretch(i, 3 if style.presentation and plot is self.fractions else 2)
            self._show_title(plot)
        self.setSizes([560, 240] if not style.presentation else [500, 500])

    def _show_title(self, plot: LivePlot) -> None:
        """The plot's title, in its short form on a projector (``plot.title`` stays whole:
        exports are named by it)."""
        style = theme().style
        text = SHORT_TITLES.get(plot.title, plot.title) if style.presentation else plot.title
        plot.getPlotItem().setTitle(text, color=style.foreground, size=style.css_size("title"))

    def depth_plots(self) -> dict[str, LivePlot]:
        return {
            "activation_std_by_layer": self.act_std,
            "gradient_std_by_layer": self.grad_std,
            "mean_by_layer": self.act_mean,
            "saturated_dead_by_layer": self.fractions,
        }

    def set_schemes(self, keys: list[str]) -> None:
        """Keep one column per scheme, in the order given; drop the others' curves."""
        for key in list(self.columns):
            if key not in keys:
                col = self.columns.pop(key)
                # Hidden, not orphaned: an orphan whose queued show (from addWidget below,
                # earlier in this event-loop turn) is still pending becomes a window.
                self.columns_layout.removeWidget(col)
                col.hide()
                col.deleteLater()
                self._remove_curves(SCHEMES[key].label)
        for key in keys:
            if key not in self.columns:
                self.columns[key] = SchemeColumn(key)
        for key in keys:
            self.columns_layout.addWidget(self.columns[key], 1)  # re-adding moves it to the end
        self.empty.setVisible(not keys)

    def clear(self) -> None:
        for col in self.columns.values():
            col.histograms.set_histograms(None)
            col.header.setText(f"<b>{SCHEMES[col.key].label}</b>")
        for plot in self.depth_plots().values():
            plot.clear_series()

    def _align_headers(self) -> None:
        """Headers of equal height, so that layer k sits at the same height in every column."""
        cols = list(self.columns.values())
        for col in cols:
            col.header.setMinimumHeight(0)
        tallest = max((c.header.heightForWidth(max(c.header.width(), 100)) for c in cols), default=0)
        for col in cols:
            col.header.setMinimumHeight(tallest)

    def _remove_curves(self, label: str) -> None:
        for plot in self.depth_plots().values():
            for name in list(plot.names()):
                if name == label or name.startswith(label + " "):
                    plot.remove(name)

    def show_results(self, results: dict[str, dict], kind: str, layout: str, shared: bool) -> None:
        for key, col in self.columns.items():
            col.histograms.set_mode(layout)
            col.histograms.set_shared(shared)
            if key in results:
                col.show_data(results[key], kind)
        self._align_headers()
        # The mean plot follows the histograms: activations or gradients.
        title = "Activation mean" if kind == "act" else "Gradient mean"
        if self.act_mean.title != title:
            self.act_mean.title = title
            self._show_title(self.act_mean)
        depth = max((len(d["layers"]) for d in results.values()), default=0)
        if depth:
            for plot in self.depth_plots().values():
                plot.getPlotItem().setXRange(0.5, depth + 0.5, padding=0)
        for key, data in results.items():
            if key not in self.columns:
                continue
            label, color = data["label"], scheme_color(key)
            layers = data["layers"]
            for plot, values in ((self.act_std, data["act_std"]), (self.grad_std, data["grad_std"])):
                if (values > 0).any():  # a log axis has nothing to show for all-zero values
                    plot.set_data(label, layers, values, color=color, symbol="o")
                else:
                    plot.remove(label)
            if np.isfinite(data[f"{kind}_mean"]).any():  # all NaN when every layer overflowed
                self.act_mean.set_data(label, layers, data[f"{kind}_mean"], color=color, symbol="o")
            else:
                self.act_mean.remove(label)
            if np.isfinite(data["saturated"]).any():
                self.fractions.set_data(f"{label} saturated", layers, data["saturated"], color=color)
            else:
                self.fractions.remove(f"{label} saturated")
            self.fractions.set_data(f"{label} dead", layers, data["dead"], color=color, dash=True)


class TrainingView(QWidget):
    """Loss curves overlaid, update/weight ratio per layer (log) and the symmetry check."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.loss = LivePlot("Training loss", "step", "loss")
        self.loss.set_hint("Play (Space) computes the statistics, then trains a short run from each ticked scheme")
        self.ratio = LivePlot("Update / weight ratio ‖ΔW‖/‖W‖", "step", "ratio", log_y=True)
        self.reference = pg.InfiniteLine(pos=math.log10(RATIO_REFERENCE), angle=0, pen=pg.mkPen("#888888", width=1.5, style=Qt.DashLine), label="10⁻³", labelOpts={"position": 0.05, "color": "#888888"})
        self.ratio.getPlotItem().addItem(self.reference, ignoreBounds=True)
        self.ratio.legend.setColumnCount(4)
        self.ratio_scheme = QComboBox()
        self.symmetry = QLabel("Press Play to train a copy of the network from each ticked initialization.")
        self.symmetry.setWordWrap(True)
        self.symmetry.setTextFormat(Qt.RichText)
        self.ratios: dict[str, dict[str, list]] = {}  # scheme -> {"step": [...], "ratio_1": [...], ...}
        top = QHBoxLayout()
        top.addWidget(QLabel("Ratios of"))
        top.addWidget(self.ratio_scheme)
        top.addStretch(1)
        self.ratio_note = QLabel()
        self.ratio_note.setWordWrap(True)
        plots = QSplitter(Qt.Horizontal)
        plots.addWidget(self.loss)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addLayout(top)
        rl.addWidget(self.ratio_note)
        rl.addWidget(self.ratio, 1)
        plots.addWidget(right)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(plots, 1)
        layout.addWidget(self.symmetry)
        self.ratio_scheme.currentIndexChanged.connect(lambda _i: self.show_ratios())
        self._ratio_scheme_chosen = False  # until the student picks one, follow the data
        self.ratio_scheme.activated.connect(self._on_ratio_scheme_picked)
        theme().changed.connect(self._on_theme_changed)

    @Slot(object)
    def _on_theme_changed(self, _style) -> None:
        self.show_ratios()  # the layer colours come from the theme

    @Slot(int)
    def _on_ratio_scheme_picked(self, _index: int) -> None:
        self._ratio_scheme_chosen = True

    def clear(self) -> None:
        self.loss.clear_series()
        self.ratio.clear_series()
        self.ratios = {}
        self._ratio_scheme_chosen = False
        self.ratio_note.setText("")
        self.ratio_scheme.blockSignals(True)
        self.ratio_scheme.clear()
        self.ratio_scheme.blockSignals(False)
        self.symmetry.setText("Press Play to train a copy of the network from each ticked initialization.")

    def add_history(self, key: str, steps: np.ndarray, values: dict[str, np.ndarray]) -> None:
        label = SCHEMES[key].label
        self.loss.series(label, color=scheme_color(key)).extend(steps, values["loss"])
        store = self.ratios.setdefault(key, {})
        store.setdefault("step", []).extend(steps.tolist())
        for name, v in values.items():
            if name.startswith("ratio_"):
                store.setdefault(name, []).extend(v.tolist())
        if self.ratio_scheme.findData(key) < 0:
            self.ratio_scheme.addItem(label, key)
        if not self._ratio_scheme_chosen and self._all_undefined(self.ratio_scheme.currentData()) and not self._all_undefined(key):
            self.ratio_scheme.setCurrentIndex(self.ratio_scheme.findData(key))  # show a scheme that has ratios
        elif self.ratio_scheme.currentData() == key:
            self.show_ratios()

    def _all_undefined(self, key) -> bool:
        store = self.ratios.get(key, {})
        return all(np.isnan(np.asarray(v, float)).all() for n, v in store.items() if n.startswith("ratio_"))

    def show_ratios(self) -> None:
        key = self.ratio_scheme.currentData()
        store = self.ratios.get(key)
        if not store:
            return
        names = [n for n in store if n.startswith("ratio_")]
        for name in list(self.ratio.names()):
            if name not in [_ratio_label(n) for n in names]:
                self.ratio.remove(name)
        undefined = []
        for i, name in enumerate(names):
            values = np.asarray(store[name], float)
            if np.isnan(values).all():
                undefined.append(_ratio_label(name))
                self.ratio.remove(_ratio_label(name))
            else:
                self.ratio.set_data(_ratio_label(name), store["step"], values, color=theme().style.series_color(i))
        self.ratio_note.setText(
            f"No ratio for {', '.join(undefined)}: ‖W‖ stayed 0, so ‖ΔW‖/‖W‖ is undefined (the weights never moved)."
            if undefined
            else "Dashed line: 10⁻³, the usual rule of thumb for a healthy step."
        )

    def show_symmetry(self, data: dict) -> None:
        lines = []
        for s, key in enumerate(data["schemes"]):
            identical = data["identical"][s]
            label = f"<b style='color:{scheme_color(key)}'>{SCHEMES[key].label}</b>"
            if identical.all():
                lines.append(f"{label}: all neurons of every hidden layer are still identical — the symmetry never breaks.")
            elif identical.any():
                layers = ", ".join(f"L{i + 1}" for i in np.nonzero(identical)[0])
                lines.append(f"{label}: neurons still identical in {layers}.")
            else:
                lines.append(f"{label}: the neurons of every layer differ from one another.")
        self.symmetry.setText(f"Symmetry check at step {data.get('step', '')}:<br>" + "<br>".join(lines))


def _ratio_label(name: str) -> str:
    return "output layer" if name == "ratio_out" else f"layer {name.split('_')[1]}"
