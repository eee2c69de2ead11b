"""The settings column of the bias–variance tab: truth, data, model family and the
analysis settings, read into a frozen :class:`BiasVarConfig`.

Every numeric control is a NumberField (refuses bad input at the control); the
formula box checks the formula with the safe parser as it is typed.
"""

from __future__ import annotations

from dataclasses import asdict, fields

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGroupBox,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from core.bias_variance.config import CLASS_DATASETS, FAMILIES, BiasVarConfig
from core.bias_variance.data import TRUTHS, make_truth
from core.datasets.points2d import DATASETS
from core.state_values import require_choice, require_flag, require_text
from widgets.control_panel import FittedScrollArea
from widgets.param_form import ErrorLabel, NumberField

__all__ = ["SettingsPanel", "STATE_KEYS"]

# Config fields saved in an experiment (analysis, sweep values and device are not).
STATE_KEYS = [f.name for f in fields(BiasVarConfig) if f.name not in ("analysis", "sweep", "sizes", "device")]
FAMILY_FIELDS = {
    "poly": ("degree", "ridge_on", "ridge", "sweep_ridge"),
    "knn": ("k",),
    "tree": ("depth",),
    "mlp": ("width", "layers", "epochs", "lr"),
}
# (name, label, default, min, max, options)
NUMBERS = [
    ("class_noise", "data set noise (0–1)", 0.3, 0.0, 1.0, {"decimals": 2}),
    ("x_min", "x from", 0.0, -10.0, 9.0, {"decimals": 2}),
    ("x_max", "x to", 1.0, -9.0, 10.0, {"decimals": 2}),
    ("noise", "noise σ", 0.3, 0.0, 3.0, {"decimals": 3}),
    ("n", "training points n", 30, 2, 500, {"integer": True}),
    ("m", "repeated data sets M", 200, 2, 5000, {"integer": True, "tooltip": "All M fits run at once; too many for memory is refused with the estimate"}),
    ("seed", "seed", 0, 0, 9999, {"integer": True}),
    ("degree", "polynomial degree", 4, 0, 20, {"integer": True}),
    ("ridge", "ridge λ", 1e-3, 1e-8, 1e3, {"log": True}),
    ("k", "neighbours k", 5, 1, 100, {"integer": True}),
    ("depth", "tree depth", 3, 0, 15, {"integer": True}),
    ("width", "hidden units", 16, 1, 256, {"integer": True}),
    ("layers", "hidden layers", 1, 1, 4, {"integer": True}),
    ("epochs", "epochs (full batch, Adam)", 500, 10, 5000, {"integer": True}),
    ("lr", "learning rate", 0.01, 1e-4, 1.0, {"log": True}),
    ("bags", "bootstrap resamples B", 50, 1, 200, {"integer": True}),
    ("rounds", "boosting rounds", 100, 1, 1000, {"integer": True}),
    ("boost_lr", "boosting learning rate ν", 0.5, 0.01, 1.0, {"decimals": 2}),
    ("boost_depth", "weak learner depth (1 = stump)", 1, 1, 6, {"integer": True}),
    ("boost_width", "tiny MLP: hidden units", 3, 1, 32, {"integer": True}),
    ("boost_epochs", "tiny MLP: epochs per round", 60, 1, 2000, {"integer": True}),
    ("folds", "folds K", 5, 2, 20, {"integer": True}),
    ("val_fraction", "validation fraction", 0.3, 0.05, 0.8, {"decimals": 2}),
    ("patience", "patience (epochs)", 50, 5, 2000, {"integer": True}),
]


class SettingsPanel(FittedScrollArea):
    changed = Signal(str)  # name of the setting that changed

    def __init__(self, parent=None):
        super().__init__(parent, least=270, most=360)
        body = QWidget()
        self.setWidget(body)
        column = QVBoxLayout(body)
        column.setContentsMargins(4, 4, 4, 4)
        self.numbers: dict[str, NumberField] = {}
        for name, label, value, lo, hi, opts in NUMBERS:
            field = NumberField(label, value, lo, hi, **opts)
            field.value_changed.connect(lambda _v, n=name: self.changed.emit(n))
            self.numbers[name] = field

        truth_box = self._group(column, "True function and data")
        self.task = QComboBox()
        self.task.addItem("Regression: y = f(x) + noise", "regression")
        self.task.addItem("Classification: a 2-D data set", "classification")
        self.dataset = QComboBox()
        for key in CLASS_DATASETS:
            self.dataset.addItem(DATASETS[key][0], key)
        truth_box.addWidget(self.task)
        truth_box.addWidget(self.dataset)
        truth_box.addWidget(self.numbers["class_noise"])
        self.truth = QComboBox()
        for key, (label, _) in TRUTHS.items():
            self.truth.addItem(label, key)
        self.formula = QLineEdit("sin(3*x)")
        self.formula.setPlaceholderText("f(x), e.g. sin(2*pi*x) + x**2")
        self.formula_error = ErrorLabel()
        self.design = QComboBox()
        self.design.addItem("x drawn at random", "uniform")
        self.design.addItem("x on a fixed grid", "grid")
        truth_box.addWidget(self.truth)
        truth_box.addWidget(self.formula)
        truth_box.addWidget(self.formula_error)
        for name in ("x_min", "x_max", "noise", "n", "m", "seed"):
            truth_box.addWidget(self.numbers[name])
        truth_box.addWidget(self.design)

        model_box = self._group(column, "Model")
        self.family = QComboBox()
        for key, label in FAMILIES.items():
            self.family.addItem(label, key)
        model_box.addWidget(self.family)
        self.ridge_on = QCheckBox("ridge penalty λ")
        self.sweep_ridge = QCheckBox("sweep λ instead of the degree")
        self.extras = {"ridge_on": self.ridge_on, "sweep_ridge": self.sweep_ridge}
        for name in ("degree", "ridge_on", "ridge", "sweep_ridge", "k", "depth", "width", "layers", "epochs", "lr"):
            model_box.addWidget(self.extras.get(name) or self.numbers[name])

        # A group box is at least as wide as its title: a short one, or the column scrolls sideways.
        ens_box = self._group(column, "Ensembles and validation")
        self.boost_learner = QComboBox()
        self.boost_learner.addItem("weak learner: shallow tree", "tree")
        self.boost_learner.addItem("weak learner: tiny MLP", "mlp")
        for name in ("bags", "rounds", "boost_lr", "boost_learner", "boost_depth", "boost_width", "boost_epochs", "folds", "val_fraction", "patience"):
            ens_box.addWidget(self.boost_learner if name == "boost_learner" else self.numbers[name])
        column.addStretch(1)

        self.task.currentIndexChanged.connect(lambda _i: (self._sync_visibility(), self.changed.emit("task")))
        self.dataset.currentIndexChanged.connect(lambda _i: self.changed.emit("dataset"))
        self.boost_learner.currentIndexChanged.connect(lambda _i: (self._sync_visibility(), self.changed.emit("boost_learner")))
        self.truth.currentIndexChanged.connect(self._on_truth)
        self.formula.editingFinished.connect(self._on_formula)
        self.design.currentIndexChanged.connect(lambda _i: self.changed.emit("design"))
        self.family.currentIndexChanged.connect(self._on_family)
        self.ridge_on.toggled.connect(lambda _on: (self._sync_visibility(), self.changed.emit("ridge")))
        self.sweep_ridge.toggled.connect(lambda _on: self.changed.emit("sweep_knob"))
        self._good_formula = self.formula.text()
        self._sync_visibility()

    @staticmethod
    def _group(column: QVBoxLayout, title: str) -> QVBoxLayout:
        box = QGroupBox(title)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        column.addWidget(box)
        return layout

    # -- reading ----------------------------------------------------------------------
    def config(self, analysis: str, device: str) -> BiasVarConfig:
        values = {name: f.value() for name, f in self.numbers.items()}
        if not self.ridge_on.isChecked():
            values["ridge"] = 0.0
        family = self.family.currentData()
        return BiasVarConfig(
            analysis=analysis,
            task=self.task.currentData(),
            dataset=self.dataset.currentData(),
            boost_learner=self.boost_learner.currentData(),
            truth=self.truth.currentData(),
            formula=self._good_formula,
            design=self.design.currentData(),
            family=family,
            sweep_knob="ridge" if family == "poly" and self.sweep_ridge.isChecked() else "",
            device=device,
            **values,
        )

    def state(self) -> dict:
        cfg = asdict(self.config("fits", "cpu"))
        state = {k: cfg[k] for k in STATE_KEYS}
        state["ridge"] = self.numbers["ridge"].value()
        state["ridge_on"] = self.ridge_on.isChecked()
        return state

    def apply_state(self, state: dict) -> None:
        """Apply a saved setup; ValueError (naming the setting) when a value is bad."""
        unknown = set(state) - set(STATE_KEYS) - {"ridge_on"}
        if unknown:
            raise ValueError(f"Unknown settings: {', '.join(sorted(unknown))}")
        combos = {"task": self.task, "dataset": self.dataset, "truth": self.truth, "design": self.design, "family": self.family, "boost_learner": self.boost_learner}
        for name, combo in combos.items():
            if name in state:  # compared in Python: findData() of a list or a huge number raises
                require_choice(state[name], [combo.itemData(i) for i in range(combo.count())], name)
        if "sweep_knob" in state:
            require_choice(state["sweep_knob"], ("", "ridge", "poly", "knn", "tree", "mlp"), "sweep_knob")
        if "ridge_on" in state:
            require_flag(state["ridge_on"], "ridge_on")
        if "formula" in state:
            require_text(state["formula"], "formula", max_len=500)
        for name, field in self.numbers.items():
            if name in state:
                v = state[name]
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise ValueError(f"{name} must be a number")
                try:
                    field.check(v)
                except ValueError as exc:
                    raise ValueError(f"{field.label.text()}: {exc}") from None
        if state.get("truth") == "formula" or "formula" in state:
            x_range = (state.get("x_min", self.numbers["x_min"].value()), state.get("x_max", self.numbers["x_max"].value()))
            make_truth("formula", state.get("formula", self._good_formula), x_range)
        # Everything checked: now change the widgets, quietly, and announce once.
        self.blockSignals(True)
        try:
            for name, combo in combos.items():
                if name in state:
                    combo.setCurrentIndex(combo.findData(state[name]))
            if "formula" in state:
                self.formula.setText(str(state["formula"]))
                self._good_formula = self.formula.text()
                self.formula_error.clear_error()
            for name, field in self.numbers.items():
                if name in state and name != "ridge":
                    field.set_value(state[name], emit=False)
            ridge = float(state.get("ridge", self.numbers["ridge"].value()))
            ridge_on = bool(state.get("ridge_on", ridge > 0))
            if ridge > 0:
                self.numbers["ridge"].set_value(ridge, emit=False)
            self.ridge_on.setChecked(ridge_on)
            self.sweep_ridge.setChecked(state.get("sweep_knob", "") == "ridge")
        finally:
            self.blockSignals(False)
        self._sync_visibility()
        self.changed.emit("state")

    # -- reactions -----------------------------------------------------------------
    @Slot()
    def _on_truth(self) -> None:
        self.formula.setEnabled(self.truth.currentData() == "formula")
        self.changed.emit("truth")

    @Slot()
    def _on_formula(self) -> None:
        text = self.formula.text()
        lo, hi = self.numbers["x_min"].value(), self.numbers["x_max"].value()
        try:
            make_truth("formula", text, (lo, hi))
        except ValueError as exc:
            self.formula_error.show_error(f"{exc} — keeping {self._good_formula!r}")
            return
        self.formula_error.clear_error()
        if text != self._good_formula:
            self._good_formula = text
            self.changed.emit("formula")

    @Slot()
    def _on_family(self) -> None:
        self._sync_visibility()
        self.changed.emit("family")

    def _sync_visibility(self) -> None:
        family = self.family.currentData()
        shown = set(FAMILY_FIELDS[family])
        for name in ("degree", "ridge_on", "ridge", "sweep_ridge", "k", "depth", "width", "layers", "epochs", "lr"):
            widget = self.extras.get(name) or self.numbers[name]
            widget.setVisible(name in shown)
        self.numbers["ridge"].setEnabled(self.ridge_on.isChecked())
        self.formula.setEnabled(self.truth.currentData() == "formula")
        classify = self.task.currentData() == "classification"
        for widget in (self.dataset, self.numbers["class_noise"]):
            widget.setVisible(classify)
        for widget in (self.truth, self.formula, self.formula_error, self.design, *(self.numbers[k] for k in ("x_min", "x_max", "noise"))):
            widget.setVisible(not classify)
        self.formula_error.setVisible(not classify and bool(self.formula_error.text()))
        self.family.setItemText(self.family.findData("poly"), "Polynomial (logistic)" if classify else FAMILIES["poly"])
        self.sweep_ridge.setVisible(not classify and family == "poly")
        tiny = self.boost_learner.currentData() == "mlp"
        self.numbers["boost_depth"].setVisible(not tiny)
        for name in ("boost_width", "boost_epochs"):
            self.numbers[name].setVisible(tiny)
