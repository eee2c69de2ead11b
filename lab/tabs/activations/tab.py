"""Activation explorer: curves and derivatives, properties and cost, and three live
experiments (gradients through depth, dead ReLUs, non-zero-centred inputs)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.activation_functions import ACTIVATIONS, check_params, curves, measure_properties
from core.activations.costs import CostConfig, measure_costs
from core.engine import Event, Snapshot
from core.state_values import require_choice, require_list, require_mapping, require_number
from lab.tabs.activations.common import ActivationChecklist, Page, activation_color
from lab.tabs.activations.pages import DeadReluPage, DepthPage, ZeroCentredPage
from lab.tabs.base import LabTab, PagedTab
from widgets.control_panel import ControlPanel
from widgets.export import write_csv
from widgets.lazy_page import LazyTabs
from widgets.live_plot import LivePlot
from widgets.param_form import ErrorLabel, NumberField

__all__ = ["ActivationsTab", "CurvesPage"]

PROPERTY_COLUMNS = [
    ("Output range", "output_range"),
    ("Zero-centred", "zero_centred"),
    ("Saturates (|f′| < 0.01)", "saturating"),
    ("Monotonic", "monotonic"),
    ("Differentiable at 0", "differentiable_at_0"),
    ("Cost vs ReLU", None),
]


class CurvesPage(Page):
    key = "curves"
    title = "Curves"

    def __init__(self, tab: "ActivationsTab"):
        super().__init__()
        self.tab = tab
        panel = ControlPanel()
        self.checklist = ActivationChecklist(checked=("sigmoid", "tanh", "relu"))
        panel.group("Functions").addRow(self.checklist)
        params = panel.group("Parameters")
        self.param_fields: dict[str, NumberField] = {}
        for spec in ACTIVATIONS.values():
            for p in spec.params:
                if p.name not in self.param_fields:
                    f = NumberField(f"{p.label} ({spec.label})", p.default, p.minimum, p.maximum, decimals=3)
                    self.param_fields[p.name] = f
                    params.addRow(f)
                    f.value_changed.connect(self.refresh)
        rng = panel.group("x range")
        self.x_min = NumberField("from", -5.0, -50.0, 49.0, decimals=2)
        self.x_max = NumberField("to", 5.0, -49.0, 50.0, decimals=2)
        self.range_error = ErrorLabel()
        for w in (self.x_min, self.x_max, self.range_error):
            rng.addRow(w)
        self.cost_button = QPushButton("Measure cost per element")
        self.cost_button.setToolTip("Times forward + backward over a million elements on the chosen device")
        panel.add(self.cost_button)
        panel.note(
            "f′ is computed by autograd, not by hand. Properties are measured with torch: "
            "the range over x ∈ [−20, 20] and its limits, the mean output for N(0, 1) input, "
            "where |f′| &lt; 0.01 (saturation), and the one-sided derivatives at 0."
        )

        self.f_plot = LivePlot("f(x)", "x", "f(x)")
        self.df_plot = LivePlot("f′(x) by autograd", "x", "f′(x)")
        self.table = QTableWidget(0, len(PROPERTY_COLUMNS))
        self.table.setHorizontalHeaderLabels([c for c, _ in PROPERTY_COLUMNS])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setAlternatingRowColors(True)

        plots = QSplitter(Qt.Horizontal)
        plots.addWidget(self.f_plot)
        plots.addWidget(self.df_plot)
        right = QSplitter(Qt.Vertical)
        right.addWidget(plots)
        right.addWidget(self.table)
        right.setSizes([520, 260])
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(panel)
        layout.addWidget(right, 1)

        self.costs: dict[str, float] = {}
        self.checklist.selection_changed.connect(self.refresh)
        self.x_min.value_changed.connect(self.refresh)
        self.x_max.value_changed.connect(self.refresh)
        self.cost_button.clicked.connect(lambda: self.tab.start())
        self.refresh()

    def params(self) -> dict[str, float]:
        return {name: f.value() for name, f in self.param_fields.items()}

    @Slot()
    def refresh(self) -> None:
        """Recompute the curves (a few ms) and the properties table."""
        lo, hi = self.x_min.value(), self.x_max.value()
        if lo >= hi:
            self.range_error.show_error(f"'from' ({lo:g}) must be below 'to' ({hi:g}); showing the last good range")
            return
        self.range_error.clear_error()
        keys = self.checklist.checked()
        data = curves(keys, self.params(), lo, hi)
        for plot in (self.f_plot, self.df_plot):
            for name in plot.names():
                if name not in [ACTIVATIONS[k].label for k in keys]:
                    plot.remove(name)
        for key, (x, y, dy) in data.items():
            label, color = ACTIVATIONS[key].label, activation_color(key)
            self.f_plot.set_data(label, x, y, color=color)
            self.df_plot.set_data(label, x, dy, color=color)
        self._fill_table(keys)

    def _fill_table(self, keys) -> None:
        self.table.setRowCount(len(keys))
        self.table.setVerticalHeaderLabels([ACTIVATIONS[k].label for k in keys])
        self.properties = {k: measure_properties(k, self.params()) for k in keys}
        for row, key in enumerate(keys):
            props = self.properties[key]
            for col, (_, attr) in enumerate(PROPERTY_COLUMNS):
                if attr is None:
                    text = f"{self.costs[key]:.2f}×" if key in self.costs else "–"
                else:
                    text = getattr(props, attr)
                self.table.setItem(row, col, QTableWidgetItem(text))

    # -- Page -----------------------------------------------------------------------
    def job(self):
        keys = self.checklist.checked()
        if not keys:
            raise ValueError("Tick at least one function to measure")
        return measure_costs, CostConfig(keys=keys, params=self.params(), device=self.tab.device)

    def on_event(self, event: Event) -> None:
        if isinstance(event, Snapshot) and event.kind == "costs":
            self.costs = {k: v["relative_to_relu"] for k, v in event.data.items()}
            self._fill_table(self.checklist.checked())

    def reset(self) -> None:
        self.costs = {}

    def plots(self) -> dict:
        return {"activation_curves": self.f_plot, "activation_derivatives": self.df_plot, "activation_properties": self}

    def export(self, stem, scale: float = 1.0):
        """The properties table as CSV (used by render/export for this page)."""
        keys = self.checklist.checked()
        cols = {"activation": [ACTIVATIONS[k].label for k in keys]}
        for header, attr in PROPERTY_COLUMNS:
            if attr is None:
                cols[header] = [f"{self.costs[k]:.3f}" if k in self.costs else "" for k in keys]
            else:
                cols[header] = [getattr(self.properties[k], attr) for k in keys]
        return [write_csv(f"{stem}.csv", cols)]

    def state(self) -> dict:
        return {
            "functions": list(self.checklist.checked()),
            "params": self.params(),
            "x_range": [self.x_min.value(), self.x_max.value()],
        }

    def check_state(self, state: dict) -> None:
        functions = require_list(state.get("functions", ["sigmoid", "tanh", "relu"]), "'functions'", max_len=len(ACTIVATIONS))
        for i, key in enumerate(functions):
            require_choice(key, ACTIVATIONS, f"function {i + 1}")
        params = require_mapping(state.get("params", {}), "'params'")
        for key in functions:
            check_params(key, params)
        for name, v in params.items():
            if name in self.param_fields:
                field = self.param_fields[name]
                try:
                    field.check(v)
                except ValueError as exc:
                    raise ValueError(f"{field.label.text()}: {exc}") from None
        x_range = require_list(state.get("x_range", [-5.0, 5.0]), "'x_range'", 2, 2)
        lo, hi = (require_number(v, f"x_range {end}") for v, end in zip(x_range, ("from", "to")))
        if not -50 <= lo < hi <= 50:
            raise ValueError("x_range must be two numbers with −50 ≤ from < to ≤ 50")
        for field, v in ((self.x_min, lo), (self.x_max, hi)):
            try:
                field.check(v)
            except ValueError as exc:
                raise ValueError(f"x_range {field.label.text()}: {exc}") from None

    def apply_state(self, state: dict) -> None:
        self.check_state(state)
        functions = state.get("functions", ["sigmoid", "tanh", "relu"])
        params = dict(state.get("params", {}))
        lo, hi = state.get("x_range", [-5.0, 5.0])
        self.checklist.blockSignals(True)
        self.checklist.set_checked(functions)
        self.checklist.blockSignals(False)
        for name, v in params.items():
            if name in self.param_fields:
                self.param_fields[name].set_value(v, emit=False)
        self.x_min.set_value(lo, emit=False)
        self.x_max.set_value(hi, emit=False)
        self.refresh()


class ActivationsTab(PagedTab, LabTab):
    name = "activations"
    title = "Activations"

    def __init__(self, context=None, parent=None):
        super().__init__(context, parent)
        # Each page is made when first shown or first needed: making all four (seven plots)
        # froze the window for most of a second when the lab was first selected.
        self._page_types: list[type[Page]] = [CurvesPage, DepthPage, DeadReluPage, ZeroCentredPage]
        self.page_tabs = LazyTabs()
        for page_type in self._page_types:
            self.page_tabs.add_lazy_tab(lambda t=page_type: t(self), page_type.title, page_type.key)
        self._job_page: Page | None = None
        container = QWidget()
        layout = QVBoxLayout(container)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.page_tabs)
        self.set_content(container)

    # -- pages ------------------------------------------------------------------------
    @property
    def pages(self) -> list[Page]:
        """Every page, each built now if it was not yet (prefer :meth:`page`)."""
        return [self.page_tabs.widget(i) for i in range(self.page_tabs.count())]

    def page(self, key: str | None = None) -> Page:
        """The page shown now, or the page called ``key``; built now if it was not yet."""
        return self.page_tabs.content(key)

    # -- LabTab ------------------------------------------------------------------------
    def current_job(self):
        self._job_page = self.page()
        return self._job_page.job()

    @Slot(object)
    def on_event(self, event: Event) -> None:
        if self._job_page is not None:
            self._job_page.on_event(event)

    def reset_view(self) -> None:
        self.page().reset()

    def plots(self) -> dict:
        return self.page().plots()

    def experiment_state(self) -> dict:
        return {"page": self.page().key, **{p.key: p.state() for p in self.pages}}

    def apply_experiment_state(self, state: dict) -> None:
        if not isinstance(state, dict):
            raise ValueError("The experiment state must be an object")
        page_key = require_choice(state.get("page", "curves"), [t.key for t in self._page_types], "'page'")
        # Only the pages the file speaks of are built (and every one checked before any
        # changes: a bad file changes nothing); the others keep their defaults.
        named = [self.page(t.key) for t in self._page_types if t.key in state]
        for p in named:
            p.check_state(require_mapping(state[p.key], f"'{p.key}'"))
        for p in named:
            p.apply_state(state[p.key])
        self.show_page(page_key)
