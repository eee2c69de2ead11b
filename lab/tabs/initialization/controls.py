"""The initialization explorer's control column: network, schemes, view and training.

Every control refuses bad input next to itself and keeps the last good value; the
panel emits ``changed`` when the statistics must be recomputed and ``view_changed``
when only the drawing changes.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QCheckBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from core.activation_functions import ACTIVATIONS, check_params
from core.datasets.points2d import DATASETS
from core.initialization.schemes import SCHEMES, SchemeChoice, check_scheme, formula, nonlinearity_for_activation
from core.initialization.stats import INPUTS, MAX_DEPTH, NORMS, NetworkSpec, parse_widths
from core.optimizers import OPTIMIZERS
from core.state_values import require_choice, require_mapping, require_text
from widgets.control_panel import ControlPanel, keyed_combo, select_key
from widgets.param_form import ErrorLabel, NumberField
from widgets.theme import theme

__all__ = ["InitControls", "scheme_color"]


def scheme_color(key: str) -> str:
    """Each scheme keeps one colour in every column and plot."""
    return theme().style.series_color(list(SCHEMES).index(key))


class InitControls(ControlPanel):
    changed = Signal()  # the statistics depend on what changed: recompute
    view_changed = Signal()  # only the drawing changes

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMaximumWidth(400)
        self.scheme_values: dict[str, dict] = {k: s.defaults() for k, s in SCHEMES.items()}
        self._build_network()
        self._build_schemes()
        self._build_view()
        self._build_training()

    # -- building ------------------------------------------------------------------------
    def _build_network(self) -> None:
        form = self.group("Network")
        self.depth = NumberField("Depth (layers)", 10, 1, MAX_DEPTH, integer=True)
        self.width_edit = QLineEdit("500")
        self.width_edit.setToolTip("One width for every layer, or one per layer separated by commas")
        self.width_error = ErrorLabel()
        self.input_dim = NumberField("Input dimension", 500, 1, 2048, integer=True)
        self.batch = NumberField("Batch size (examples)", 1000, 2, 5000, integer=True)
        self.activation = keyed_combo({k: s.label for k, s in ACTIVATIONS.items()}, "tanh")
        self.inputs = keyed_combo(INPUTS, "gaussian")
        self.bias = QCheckBox("Bias")
        self.bias.setChecked(False)
        self.bias_value = NumberField("Initial bias", 0.0, -5.0, 5.0, decimals=2)
        self.norm = keyed_combo(NORMS, "none")
        form.addRow(self.depth)
        form.addRow("Width(s)", self.width_edit)
        form.addRow(self.width_error)
        form.addRow("Activation", self.activation)
        self.activation_fields: dict[str, NumberField] = {}
        for spec in ACTIVATIONS.values():
            for p in spec.params:
                if p.name not in self.activation_fields:
                    f = NumberField(p.label, p.default, p.minimum, p.maximum, decimals=3)
                    f.value_changed.connect(self._on_network_changed)
                    self.activation_fields[p.name] = f
                    form.addRow(f)
        self._show_activation_fields()
        form.addRow(self.input_dim)
        form.addRow(self.batch)
        form.addRow("Inputs", self.inputs)
        form.addRow("Between layers", self.norm)
        form.addRow(self.bias)
        form.addRow(self.bias_value)
        for f in (self.depth, self.input_dim, self.batch, self.bias_value):
            f.value_changed.connect(self._on_network_changed)
        for box in (self.activation, self.inputs, self.norm):
            box.currentIndexChanged.connect(self._on_network_changed)
        self.bias.toggled.connect(self._on_network_changed)
        self.bias_value.setEnabled(False)  # follows the Bias box
        self.width_edit.editingFinished.connect(self._on_network_changed)

    def _build_schemes(self) -> None:
        form = self.group("Initializations (tick to compare)")
        self.scheme_list = QListWidget()
        for key, scheme in SCHEMES.items():
            item = QListWidgetItem(scheme.label)
            item.setData(Qt.UserRole, key)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Checked if key in ("small_normal", "large_normal", "xavier_normal") else Qt.Unchecked)
            self.scheme_list.addItem(item)
        # Tall enough for every scheme at any font size: the list's size follows its contents.
        self.scheme_list.setSizeAdjustPolicy(QAbstractScrollArea.AdjustToContents)
        self.scheme_list.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.scheme_list.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)
        self._color_schemes()
        theme().changed.connect(self._on_theme_changed)  # a bound slot: disconnected when this panel goes
        self.scheme_list.setCurrentRow(list(SCHEMES).index("small_normal"))
        form.addRow(self.scheme_list)
        self.param_box = QWidget()
        self.param_form = QFormLayout(self.param_box)
        self.param_form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.param_box)
        self.formula_label = QLabel()
        self.formula_label.setWordWrap(True)
        self.formula_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        form.addRow(self.formula_label)
        self.gain_button = QPushButton("Gains from the activation")
        self.gain_button.setToolTip("Kaiming: the activation's nonlinearity; Xavier and orthogonal: torch's calculate_gain")
        form.addRow(self.gain_button)
        self.scheme_error = ErrorLabel()
        form.addRow(self.scheme_error)
        self.scheme_list.itemChanged.connect(lambda _item: self.changed.emit())
        self.scheme_list.currentRowChanged.connect(lambda _row: self._rebuild_params())
        self.gain_button.clicked.connect(self.gains_from_activation)
        self.param_fields: dict[str, QWidget] = {}
        self._rebuild_params()

    def _build_view(self) -> None:
        form = self.group("View")
        self.show_what = keyed_combo({"act": "Activations (forward)", "grad": "Gradients (backward)"}, "act")
        self.hist_mode = keyed_combo({"grid": "Grid", "ridgeline": "Ridgeline"}, "grid")
        self.hist_scale = keyed_combo({"shared": "Shared by all layers", "layer": "Per layer"}, "shared")
        form.addRow("Histograms of", self.show_what)
        form.addRow("Layout", self.hist_mode)
        form.addRow("Scale", self.hist_scale)
        for box in (self.show_what, self.hist_mode, self.hist_scale):
            box.currentIndexChanged.connect(lambda _i: self.view_changed.emit())

    def _build_training(self) -> None:
        form = self.group("Short training run (Play)")
        self.dataset = keyed_combo({k: v[0] for k, v in DATASETS.items()}, "spiral")
        self.train_steps = NumberField("Steps (0: statistics only)", 100, 0, 5000, integer=True)
        self.optimizer = keyed_combo({k: s.label for k, s in OPTIMIZERS.items()}, "sgd")
        self.lr = NumberField("Learning rate", 0.1, 1e-4, 10.0, log=True, decimals=3)
        form.addRow("Data set", self.dataset)
        form.addRow(self.train_steps)
        form.addRow("Optimizer", self.optimizer)
        form.addRow(self.lr)
        self.note(
            "Slider changes recompute the statistics at once; Play also trains a copy of the "
            "network from each ticked scheme on the 2-D data set (inputs standardized)."
        )

    @Slot(object)
    def _on_theme_changed(self, _style) -> None:
        self._color_schemes()
        self.scheme_list.updateGeometry()

    def _color_schemes(self) -> None:
        """Each scheme in its plot colour (which depends on light or dark)."""
        for i in range(self.scheme_list.count()):
            item = self.scheme_list.item(i)
            item.setForeground(QColor(scheme_color(item.data(Qt.UserRole))))

    # -- scheme parameters ------------------------------------------------------------------
    def current_scheme(self) -> str:
        item = self.scheme_list.currentItem()
        return item.data(Qt.UserRole) if item is not None else "small_normal"

    def _rebuild_params(self) -> None:
        for w in self.param_fields.values():
            self.param_form.removeRow(w)
        self.param_fields = {}
        key = self.current_scheme()
        values = self.scheme_values[key]
        for p in SCHEMES[key].params:
            if p.choices:
                w = keyed_combo({c: c for c in p.choices}, str(values[p.name]))
                w.currentIndexChanged.connect(lambda _i, n=p.name, box=w: self._set_param(n, box.currentData()))
                self.param_form.addRow(p.label, w)
            else:
                w = NumberField(p.label, float(values[p.name]), p.minimum, p.maximum, log=p.log, decimals=4)
                w.value_changed.connect(lambda v, n=p.name: self._set_param(n, float(v)))
                self.param_form.addRow(w)
            self.param_fields[p.name] = w
        self.update_formula()

    def _set_param(self, name: str, value) -> None:
        key = self.current_scheme()
        try:
            self.scheme_values[key] = check_scheme(key, {**self.scheme_values[key], name: value})
        except ValueError as exc:
            self.scheme_error.show_error(str(exc))
            return
        self.scheme_error.clear_error()
        self.update_formula()
        if key in self.checked_schemes():
            self.changed.emit()

    @Slot()
    def gains_from_activation(self) -> None:
        import torch

        nonlinearity = nonlinearity_for_activation(self.activation.currentData())
        slope = float(self.activation_fields["negative_slope"].value())
        gain = torch.nn.init.calculate_gain(nonlinearity, slope if nonlinearity == "leaky_relu" else None)
        for key in ("kaiming_uniform", "kaiming_normal"):
            self.scheme_values[key] = check_scheme(key, {**self.scheme_values[key], "nonlinearity": nonlinearity, "a": slope})
        for key in ("xavier_uniform", "xavier_normal", "orthogonal"):
            self.scheme_values[key] = check_scheme(key, {**self.scheme_values[key], "gain": round(gain, 6)})
        self._rebuild_params()
        self.changed.emit()

    def update_formula(self) -> None:
        key = self.current_scheme()
        try:
            spec = self.network()
            fans = (int(self.input_dim.value()), spec.widths[0])
        except ValueError:
            fans = (int(self.input_dim.value()), 1)
        text = formula(key, fans[0], fans[1], self.scheme_values[key])
        self.formula_label.setText(f"<b>{SCHEMES[key].label}</b>, layer 1 ({fans[0]}→{fans[1]}):<br>{text}")

    # -- reading ----------------------------------------------------------------------------
    def checked_schemes(self) -> list[str]:
        return [
            self.scheme_list.item(i).data(Qt.UserRole)
            for i in range(self.scheme_list.count())
            if self.scheme_list.item(i).checkState() == Qt.Checked
        ]

    def scheme_choices(self) -> tuple[SchemeChoice, ...]:
        return tuple(SchemeChoice.of(k, self.scheme_values[k]) for k in self.checked_schemes())

    def widths(self) -> tuple[int, ...]:
        return parse_widths(self.width_edit.text(), int(self.depth.value()))

    def network(self) -> NetworkSpec:
        return NetworkSpec(
            self.widths(),
            self.activation.currentData(),
            tuple(sorted(check_params(self.activation.currentData(), self.activation_params()).items())),
            self.bias.isChecked(),
            float(self.bias_value.value()),
            self.norm.currentData(),
        )

    @Slot()
    def _on_network_changed(self, *_args) -> None:
        try:
            self.widths()
        except ValueError as exc:
            self.width_error.show_error(f"{exc}; the last good widths stay in use")
        else:
            self.width_error.clear_error()
        self.bias_value.setEnabled(self.bias.isChecked())
        self._show_activation_fields()
        self.update_formula()
        self.changed.emit()

    def _show_activation_fields(self) -> None:
        """Only the parameters of the chosen activation (leaky slope, α, β) are shown."""
        used = {p.name for p in ACTIVATIONS[self.activation.currentData()].params}
        for name, f in self.activation_fields.items():
            f.setVisible(name in used)

    def activation_params(self) -> dict[str, float]:
        return {name: float(f.value()) for name, f in self.activation_fields.items()}

    # -- experiment state ---------------------------------------------------------------------
    def state(self) -> dict:
        return {
            "depth": int(self.depth.value()),
            "widths": self.width_edit.text().strip(),
            "input_dim": int(self.input_dim.value()),
            "batch": int(self.batch.value()),
            "activation": self.activation.currentData(),
            "activation_params": self.activation_params(),
            "inputs": self.inputs.currentData(),
            "bias": self.bias.isChecked(),
            "bias_value": float(self.bias_value.value()),
            "norm": self.norm.currentData(),
            "schemes": self.checked_schemes(),
            "scheme_params": {k: dict(v) for k, v in self.scheme_values.items()},
            "show": self.show_what.currentData(),
            "layout": self.hist_mode.currentData(),
            "scale": self.hist_scale.currentData(),
            "dataset": self.dataset.currentData(),
            "train_steps": int(self.train_steps.value()),
            "optimizer": self.optimizer.currentData(),
            "lr": float(self.lr.value()),
        }

    def apply_state(self, state: dict) -> None:
        """Validate everything first, then set the controls without intermediate recomputes."""
        s = {**self.state(), **state}
        numbers = {
            "depth": self.depth,
            "input_dim": self.input_dim,
            "batch": self.batch,
            "bias_value": self.bias_value,
            "train_steps": self.train_steps,
            "lr": self.lr,
        }
        for name, field in numbers.items():
            try:
                field.check(s[name])
            except ValueError as exc:
                raise ValueError(f"'{name}' ({field.label.text()}): {exc}") from None
        parse_widths(require_text(s["widths"], "'widths'", max_len=1000), int(s["depth"]))
        combos = {
            "activation": (self.activation, "activation"),
            "inputs": (self.inputs, "input distribution"),
            "norm": (self.norm, "normalization"),
            "show": (self.show_what, "histogram kind"),
            "layout": (self.hist_mode, "histogram layout"),
            "scale": (self.hist_scale, "histogram scale"),
            "dataset": (self.dataset, "data set"),
            "optimizer": (self.optimizer, "optimizer"),
        }
        for name, (box, what) in combos.items():
            require_choice(s[name], [box.itemData(i) for i in range(box.count())], f"'{name}' ({what})")
        schemes = s["schemes"]
        if not isinstance(schemes, list) or not all(isinstance(k, str) and k in SCHEMES for k in schemes):
            raise ValueError(f"'schemes' must be a list of: {', '.join(SCHEMES)}")
        params = s["scheme_params"]
        if not isinstance(params, dict):
            raise ValueError("'scheme_params' must be an object")
        checked_params = {k: check_scheme(k, {**self.scheme_values[k], **require_mapping(v, f"'scheme_params' {k!r}")})
                          for k, v in params.items() if k in SCHEMES}
        if not isinstance(s["bias"], bool):
            raise ValueError("'bias' must be true or false")
        act_params = s["activation_params"]
        if not isinstance(act_params, dict) or set(act_params) - set(self.activation_fields):
            raise ValueError(f"'activation_params' must be an object with keys among {', '.join(self.activation_fields)}")
        for key in ACTIVATIONS:
            check_params(key, act_params)
        for name, v in act_params.items():
            try:
                self.activation_fields[name].check(v)
            except ValueError as exc:
                raise ValueError(f"'activation_params' {name!r}: {exc}") from None

        self.blockSignals(True)
        try:
            for name, field in numbers.items():
                field.set_value(s[name], emit=False)
            self.width_edit.setText(str(s["widths"]))
            self.width_error.clear_error()
            for name, (box, what) in combos.items():
                select_key(box, s[name], what)
            self.bias.setChecked(s["bias"])
            self.bias_value.setEnabled(s["bias"])
            for name, v in act_params.items():
                self.activation_fields[name].set_value(float(v), emit=False)
            self._show_activation_fields()
            self.scheme_values.update(checked_params)
            self.scheme_list.blockSignals(True)
            for i in range(self.scheme_list.count()):
                item = self.scheme_list.item(i)
                item.setCheckState(Qt.Checked if item.data(Qt.UserRole) in schemes else Qt.Unchecked)
            self.scheme_list.blockSignals(False)
            self._rebuild_params()
        finally:
            self.blockSignals(False)
