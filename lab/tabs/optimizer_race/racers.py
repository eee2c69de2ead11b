"""The list of racers: each optimizer on/off, with its own colour, learning rate (log
slider), hyperparameters, schedule and gradient noise; copies of one optimizer with
other settings may race too. Bad values are refused at the field that holds them.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from core.optimizer_race.batched_optimizers import HYPER_LIMITS, OptimizerSetting, hyper_defaults
from core.optimizers import OPTIMIZERS, SCHEDULES
from core.state_values import shown
from widgets.param_form import ErrorLabel, NumberField, parse_number
from widgets.theme import theme

__all__ = ["RacerRow", "RacerList", "settings_from_values", "racer_values", "check_racer", "check_racers", "RACERS_MIN_HEIGHT"]

RACERS_MIN_HEIGHT = 200  # px: two racers in view; the page's control column scrolls to make room

SYMBOLS = {"momentum": "μ", "beta1": "β₁", "beta2": "β₂", "eps": "ε", "rho": "ρ", "alpha": "α", "weight_decay": "λ"}
MAX_RACERS = 16
HYPER_PER_LINE = 3  # a racer's settings (β₁, ε, …, noise σ) to a line


def _schedule_args(schedule: str, total_steps: int) -> dict:
    """Sensible per-schedule settings for a race of ``total_steps``."""
    if schedule == "step":
        return {"step_size": max(1, total_steps // 5), "gamma": 0.5}
    if schedule == "exponential":
        return {"gamma": 0.5 ** (1 / max(1, total_steps / 5))}  # halves every fifth of the race
    if schedule == "plateau":
        return {"patience": 10, "gamma": 0.5}
    return {}


def check_racer(value: dict) -> dict:
    """A racer's JSON dict, checked and completed; ValueError with a readable reason."""
    if not isinstance(value, dict):
        raise ValueError("Each racer must be an object with kind, lr, ...")
    kind = value.get("kind")
    if not (isinstance(kind, str) and kind in OPTIMIZERS):
        raise ValueError(f"Unknown optimizer {kind!r}; choose one of {', '.join(OPTIMIZERS)}")
    hyper = value.get("hyper", {}) or {}
    if not isinstance(hyper, dict):
        raise ValueError(f"Settings ('hyper') must be an object, got {shown(hyper)}")
    out = {"kind": kind, "enabled": value.get("enabled", True), "lr": value.get("lr", OPTIMIZERS[kind].lr),
           "hyper": dict(hyper), "schedule": value.get("schedule", "none"),
           "noise": value.get("noise", 0.0)}
    if not isinstance(out["enabled"], bool):
        raise ValueError("'enabled' must be true or false")
    if not isinstance(out["schedule"], str) or out["schedule"] not in SCHEDULES:
        raise ValueError(f"Unknown schedule {out['schedule']!r}; choose one of {', '.join(SCHEDULES)}")
    for key, what in (("lr", "learning rate"), ("noise", "gradient noise")):
        if isinstance(out[key], bool) or not isinstance(out[key], (int, float)):
            raise ValueError(f"{what} must be a {'positive ' if key == 'lr' else ''}number, got {shown(out[key])}")
        # Compared before float(): float() of an int beyond float's range raises.
        if not -1e6 <= out[key] <= 1e6:
            raise ValueError(f"{what} must be between -1e+06 and 1e+06, got {shown(out[key])}")
        out[key] = float(out[key])
    if not isinstance(out["hyper"], dict):
        raise ValueError("Racer hyper must be an object")
    allowed = hyper_defaults(kind)
    for k, v in out["hyper"].items():
        if k not in allowed or isinstance(v, bool) or not isinstance(v, (int, float)) or not -1e6 <= v <= 1e6:
            raise ValueError(f"{OPTIMIZERS[kind].label} has no setting {k!r} = {shown(v)}")
    out["hyper"] = {k: float(out["hyper"].get(k, d)) for k, d in allowed.items()}
    setting = OptimizerSetting(kind, out["lr"], tuple(out["hyper"].items()), out["schedule"], noise=out["noise"])
    setting.validate()
    return out


def check_racers(values) -> list[dict]:
    """Every racer of a saved list, checked and completed; ValueError naming the racer."""
    if not isinstance(values, list) or not values:
        raise ValueError("'racers' must be a non-empty list")
    if len(values) > MAX_RACERS:
        raise ValueError(f"At most {MAX_RACERS} racers, got {len(values)}")
    checked = []
    for i, v in enumerate(values):
        try:
            checked.append(check_racer(v))
        except ValueError as exc:
            raise ValueError(f"racer {i + 1} {exc}") from None
    return checked


def racer_values(kind: str, **changes) -> dict:
    """A default racer dict for ``kind`` (presets, tests)."""
    value = {"kind": kind, "enabled": True, "lr": OPTIMIZERS[kind].lr, "hyper": hyper_defaults(kind),
             "schedule": "none", "noise": 0.0}
    value.update(changes)
    return value


def settings_from_values(values: list[dict], total_steps: int) -> tuple[list[int], tuple[OptimizerSetting, ...]]:
    """(row indices, settings) of the enabled racers; copies of a kind get distinct names."""
    rows = [(i, v) for i, v in enumerate(values) if v["enabled"]]
    kinds = [v["kind"] for _, v in rows]
    settings, used = [], set()
    for _, v in rows:
        label = OPTIMIZERS[v["kind"]].label
        if kinds.count(v["kind"]) > 1:
            label = f"{label} η={v['lr']:.3g}"
            if v["schedule"] != "none":
                label += f" {v['schedule']}"
            if v["noise"]:
                label += f" σ={v['noise']:g}"
        base, n = label, 2
        while label in used:
            label, n = f"{base} #{n}", n + 1
        used.add(label)
        settings.append(OptimizerSetting(v["kind"], v["lr"], tuple(v["hyper"].items()), v["schedule"],
                                         noise=v["noise"], label=label, **_schedule_args(v["schedule"], total_steps)))
    return [i for i, _ in rows], tuple(settings)


class _SmallNumber(QLineEdit):
    """A short text box for one number in [lo, hi]; refuses bad text with a message."""

    def __init__(self, value: float, lo: float, hi: float, label: str, error: ErrorLabel, tooltip: str = ""):
        super().__init__()
        self._value = float(value)
        self._lo, self._hi, self._label = lo, hi, label
        self._error = error
        self.setFixedWidth(64)
        self.setAlignment(Qt.AlignRight)
        self.setText(f"{value:g}")
        self.setToolTip(tooltip or f"{label}: between {lo:g} and {hi:g}")
        self.editingFinished.connect(self.commit)

    def value(self) -> float:
        return self._value

    def set_value(self, v: float) -> None:
        self._value = float(v)
        self.setText(f"{v:g}")

    @Slot()
    def commit(self) -> bool:
        """Take the typed text if it is good; otherwise show why and keep the old value."""
        try:
            v = parse_number(self.text())
            if not self._lo <= v <= self._hi:
                raise ValueError(f"{self._label} must be between {self._lo:g} and {self._hi:g}")
        except ValueError as exc:
            self._error.show_error(str(exc))
            self.setStyleSheet("border: 1px solid #d03030;")
            return False
        self.setStyleSheet("")
        self._error.clear_error()
        self._value = v
        return True


def _discard(widget: QWidget) -> None:
    """Delete a widget taken out of a shown layout, without it ever showing on its own.

    A widget added to a shown layout is shown by a call Qt queues; orphaned
    (``setParent(None)``) before that call ran, it became a frameless top-level window.
    Explicitly hidden, the queued show leaves it alone; kept as a child, it goes with
    its parent even where the deferred delete never comes (no event loop)."""
    widget.hide()
    widget.deleteLater()


def _hyper_field(key: str, value: float, error: ErrorLabel) -> _SmallNumber:
    lo, hi, label = HYPER_LIMITS[key]
    return _SmallNumber(value, lo, hi, label, error)


class RacerRow(QWidget):
    changed = Signal()
    remove_requested = Signal(object)
    copy_requested = Signal(object)

    def __init__(self, value: dict, color: str):
        super().__init__()
        self.enabled = QCheckBox()
        self.enabled.setToolTip("Race this optimizer")
        self.swatch = QLabel()
        self.swatch.setFixedSize(14, 14)
        self.kind = QComboBox()
        for key, spec in OPTIMIZERS.items():
            self.kind.addItem(spec.label, key)
        self.kind.setToolTip("A torch.optim optimizer")
        self.kind.setMaximumWidth(110)
        self.lr = NumberField("", OPTIMIZERS[value["kind"]].lr, 1e-5, 10.0, log=True, tooltip="Learning rate η (log slider)")
        self.lr.label.hide()
        self.schedule = QComboBox()
        for key, label in SCHEDULES.items():
            self.schedule.addItem(label, key)
        self.schedule.setToolTip("Learning-rate schedule (torch.optim.lr_scheduler)")
        self.error = ErrorLabel()
        self.noise = _SmallNumber(0.0, 0.0, 100.0, "Noise σ", self.error,
                                  "Standard deviation of Gaussian noise added to each gradient: stochastic, not full-batch")
        self.copy_button = QPushButton("Copy")
        self.copy_button.setFixedWidth(48)
        self.copy_button.setToolTip("Race a copy of this optimizer with other settings")
        self.remove_button = QPushButton("×")
        self.remove_button.setFixedWidth(28)
        self.remove_button.setToolTip("Remove this racer")
        self._hyper: dict[str, _SmallNumber] = {}
        self.noise_label = QLabel("noise σ")
        # The settings and the gradient noise, HYPER_PER_LINE to a line: in one line, with
        # the schedule beside them, a row was wider than the column at a projector's font.
        self._hyper_box = QVBoxLayout()
        self._hyper_box.setContentsMargins(22, 0, 0, 0)
        self._hyper_box.setSpacing(1)

        grid = QGridLayout(self)
        grid.setContentsMargins(2, 2, 2, 2)
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(1)
        grid.addWidget(self.enabled, 0, 0)
        grid.addWidget(self.swatch, 0, 1)
        grid.addWidget(self.kind, 0, 2)
        grid.addWidget(QLabel("η"), 0, 3)
        grid.addWidget(self.lr, 0, 4)
        grid.addWidget(self.copy_button, 0, 5)
        grid.addWidget(self.remove_button, 0, 6)
        grid.addLayout(self._hyper_box, 1, 0, 1, 7)
        extra = QHBoxLayout()
        extra.setContentsMargins(22, 0, 0, 0)
        extra.addWidget(QLabel("schedule"))
        extra.addWidget(self.schedule, 1)
        grid.addLayout(extra, 2, 0, 1, 7)
        grid.addWidget(self.error, 3, 0, 1, 7)
        grid.setColumnStretch(4, 1)

        self.set_color(color)
        self.set_value(value)
        self.enabled.toggled.connect(self.changed)
        self.kind.currentIndexChanged.connect(self._on_kind)
        self.lr.value_changed.connect(self.changed)
        self.schedule.currentIndexChanged.connect(self.changed)
        self.noise.editingFinished.connect(self.changed)
        self.copy_button.clicked.connect(lambda: self.copy_requested.emit(self))
        self.remove_button.clicked.connect(lambda: self.remove_requested.emit(self))

    def hyper_field(self, key: str) -> QLineEdit:
        """The text box of hyper-parameter ``key`` (β₁, ρ, …) of this racer's optimizer."""
        return self._hyper[key]

    def set_color(self, color: str) -> None:
        self.color = color
        self.swatch.setStyleSheet(f"background: {color}; border: 1px solid #444;")

    def _build_hyper(self, kind: str, values: dict) -> None:
        while self._hyper_box.count():
            line = self._hyper_box.takeAt(0).layout()
            while line.count():
                w = line.takeAt(0).widget()
                if w is not None and w not in (self.noise, self.noise_label):  # those two stay
                    _discard(w)
            line.deleteLater()
        self._hyper = {}
        cells: list[tuple[QLabel, QLineEdit]] = []
        for key, default in hyper_defaults(kind).items():
            field = _hyper_field(key, float(values.get(key, default)), self.error)
            field.editingFinished.connect(self.changed)
            cells.append((QLabel(SYMBOLS[key]), field))
            self._hyper[key] = field
        cells.append((self.noise_label, self.noise))
        for start in range(0, len(cells), HYPER_PER_LINE):
            line = QHBoxLayout()
            line.setSpacing(4)
            for label, field in cells[start:start + HYPER_PER_LINE]:
                line.addWidget(label)
                line.addWidget(field)
                line.addSpacing(4)
            line.addStretch(1)
            self._hyper_box.addLayout(line)

    @Slot()
    def _on_kind(self) -> None:
        kind = self.kind.currentData()
        self._build_hyper(kind, {})
        self.lr.set_value(OPTIMIZERS[kind].lr, emit=False)
        self.changed.emit()

    def value(self) -> dict:
        return {
            "kind": self.kind.currentData(),
            "enabled": self.enabled.isChecked(),
            "lr": float(self.lr.value()),
            "hyper": {k: f.value() for k, f in self._hyper.items()},
            "schedule": self.schedule.currentData(),
            "noise": self.noise.value(),
        }

    def set_value(self, value: dict) -> None:
        """Show a checked racer dict (see :func:`check_racer`)."""
        widgets = (self.kind, self.schedule, self.enabled)
        for w in widgets:
            w.blockSignals(True)
        self.kind.setCurrentIndex(self.kind.findData(value["kind"]))
        self.schedule.setCurrentIndex(self.schedule.findData(value["schedule"]))
        self.enabled.setChecked(value["enabled"])
        for w in widgets:
            w.blockSignals(False)
        self.lr.set_value(min(max(value["lr"], self.lr.minimum), self.lr.maximum), emit=False)
        self.noise.set_value(value["noise"])
        self._build_hyper(value["kind"], value["hyper"])
        self.error.clear_error()


class RacerList(QWidget):
    """A scrollable column of racer rows plus an "Add optimizer" control."""

    changed = Signal()

    def __init__(self, values: list[dict], parent=None):
        super().__init__(parent)
        self._rows: list[RacerRow] = []
        self._column = QVBoxLayout()
        self._column.setContentsMargins(0, 0, 0, 0)
        self._column.setSpacing(2)
        holder = QWidget()
        holder_layout = QVBoxLayout(holder)
        holder_layout.setContentsMargins(0, 0, 0, 0)
        holder_layout.addLayout(self._column)
        holder_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(holder)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAsNeeded)  # large fonts in presentation mode
        scroll.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Expanding)
        self.add_kind = QComboBox()
        for key, spec in OPTIMIZERS.items():
            self.add_kind.addItem(spec.label, key)
        self.add_button = QPushButton("Add optimizer")
        self.add_button.clicked.connect(lambda: self.add(racer_values(self.add_kind.currentData())))
        self.error = ErrorLabel()
        bar = QHBoxLayout()
        bar.addWidget(self.add_kind, 1)
        bar.addWidget(self.add_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll, 1)
        layout.addLayout(bar)
        layout.addWidget(self.error)
        self.set_values(values)
        theme().changed.connect(self._on_theme)  # a bound slot: disconnected when this list goes

    def rows(self) -> list[RacerRow]:
        return list(self._rows)

    def colors(self) -> list[str]:
        return [r.color for r in self._rows]

    def add(self, value: dict, emit: bool = True) -> RacerRow | None:
        if len(self._rows) >= MAX_RACERS:
            self.error.show_error(f"At most {MAX_RACERS} racers")
            return None
        row = RacerRow(check_racer(value), theme().style.series_color(len(self._rows)))
        row.changed.connect(self.changed)
        row.remove_requested.connect(self._remove)
        row.copy_requested.connect(lambda r: self.add(dict(r.value(), enabled=True)))
        self._rows.append(row)
        self._column.addWidget(row)
        self.error.clear_error()
        if emit:
            self.changed.emit()
        return row

    @Slot(object)
    def _remove(self, row: RacerRow) -> None:
        if len(self._rows) <= 1:
            self.error.show_error("Keep at least one racer")
            return
        self._rows.remove(row)
        self._column.removeWidget(row)
        _discard(row)
        self._recolor()
        self.changed.emit()

    @Slot(object)
    def _on_theme(self, _style) -> None:
        self._recolor()

    def _recolor(self) -> None:
        for i, row in enumerate(self._rows):
            row.set_color(theme().style.series_color(i))

    def values(self) -> list[dict]:
        return [r.value() for r in self._rows]

    def set_values(self, values: list[dict]) -> None:
        """Replace every row; ValueError (nothing changed) if one racer is bad."""
        checked = check_racers(values)
        # Reuse rows where there are some: rebuilding a row's dozen widgets is what costs.
        while len(self._rows) > len(checked):
            row = self._rows.pop()
            self._column.removeWidget(row)
            _discard(row)
        for row, v in zip(self._rows, checked):
            if row.value() != v:
                row.set_value(v)
        for v in checked[len(self._rows):]:
            self.add(v, emit=False)
        self.changed.emit()

    def set_learning_rates(self, indices: list[int], lrs: list[float | None]) -> None:
        """Put tuned learning rates into the rows (None: leave as it was)."""
        for i, lr in zip(indices, lrs):
            if lr is not None and math.isfinite(lr):
                row = self._rows[i]
                row.lr.set_value(min(max(lr, row.lr.minimum), row.lr.maximum), emit=False)
        self.changed.emit()
