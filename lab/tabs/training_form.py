"""TrainingForm: the training settings every network lab offers, in one reusable widget.

Optimizer, learning rate (logarithmic slider), batch size, L1/L2 penalty and its rate,
weight decay, learning-rate schedule, early-stopping patience and seed. Names and
defaults come from ``core.optimizers`` so that every lab offers the same choices.

``values()`` gives a plain JSON-able dict; ``set_values(d)`` checks every value first
and changes nothing when one is bad (ValueError naming the field); ``changed(dict)``
fires after any good edit with the whole dict.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QVBoxLayout, QWidget

from core.optimizers import OPTIMIZERS, SCHEDULES
from widgets.param_form import NumberField

__all__ = ["TrainingForm", "REGULARIZATIONS", "DEFAULT_TRAINING"]

REGULARIZATIONS = {"none": "None", "l1": "L1 (|w|)", "l2": "L2 (w²)"}

DEFAULT_TRAINING: dict[str, Any] = {
    "optimizer": "sgd",
    "lr": 0.03,
    "batch_size": 10,
    "regularization": "none",
    "reg_rate": 0.001,
    "weight_decay": 0.0,
    "schedule": "none",
    "patience": 0,
    "seed": 0,
}


class TrainingForm(QWidget):
    """The training half of a lab's controls; ``fields`` hides the ones a lab lacks."""

    changed = Signal(dict)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        max_batch: int = 1000,
        values: dict | None = None,
        fields: tuple[str, ...] | None = None,
    ):
        super().__init__(parent)
        self._updating = False
        self.optimizer = QComboBox()
        for key, spec in OPTIMIZERS.items():
            self.optimizer.addItem(spec.label, key)
        self.optimizer.setToolTip("The torch.optim optimizer that updates the weights")
        self.lr = NumberField("Learning rate", 0.03, 1e-5, 10.0, log=True, decimals=3, tooltip="Step size of each update")
        self.batch_size = NumberField(
            "Batch size", 10, 1, max_batch, integer=True, tooltip="Examples per step: 1 = stochastic, all = full batch"
        )
        self.regularization = QComboBox()
        for key, label in REGULARIZATIONS.items():
            self.regularization.addItem(label, key)
        self.regularization.setToolTip("Penalty added to the loss: L1 pushes weights to zero, L2 keeps them small")
        self.reg_rate = NumberField("Regularization rate", 0.001, 1e-6, 10.0, log=True, tooltip="Strength of the penalty")
        self.weight_decay = NumberField(
            "Weight decay", 0.0, 0.0, 0.1, decimals=4, tooltip="The optimizer's own decay of the weights each step"
        )
        self.schedule = QComboBox()
        for key, label in SCHEDULES.items():
            self.schedule.addItem(label, key)
        self.schedule.setToolTip("How the learning rate changes during training")
        self.patience = NumberField(
            "Early-stopping patience (0 = off)", 0, 0, 1000, integer=True,
            tooltip="Stop when the test loss has not improved for this many epochs",
        )
        self.seed = NumberField("Seed", 0, 0, 99999, integer=True, tooltip="Same seed, same run")

        self._combos = {"optimizer": self.optimizer, "regularization": self.regularization, "schedule": self.schedule}
        self._numbers = {
            "lr": self.lr,
            "batch_size": self.batch_size,
            "reg_rate": self.reg_rate,
            "weight_decay": self.weight_decay,
            "patience": self.patience,
            "seed": self.seed,
        }
        shown = set(fields) if fields is not None else set(DEFAULT_TRAINING)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        combo_form = QFormLayout()
        combo_form.setContentsMargins(0, 0, 0, 0)
        combo_labels = {"optimizer": "Optimizer", "regularization": "Regularization", "schedule": "LR schedule"}
        for key in ("optimizer", "lr", "batch_size", "regularization", "reg_rate", "weight_decay", "schedule", "patience", "seed"):
            widget = self._combos.get(key) or self._numbers[key]
            if key in self._combos:
                label = QLabel(combo_labels[key])
                row = QWidget()
                row_form = QFormLayout(row)
                row_form.setContentsMargins(0, 0, 0, 0)
                row_form.addRow(label, widget)
                layout.addWidget(row)
                row.setVisible(key in shown)
            else:
                layout.addWidget(widget)
                widget.setVisible(key in shown)
        for combo in self._combos.values():
            combo.currentIndexChanged.connect(self._emit)
        for field in self._numbers.values():
            field.value_changed.connect(self._emit)
        self.regularization.currentIndexChanged.connect(self._sync_enabled)
        self.set_values({**DEFAULT_TRAINING, **(values or {})})
        self._sync_enabled()

    # -- public ------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: c.currentData() for k, c in self._combos.items()}
        for k, f in self._numbers.items():
            v = f.value()
            out[k] = int(v) if f.integer else float(v)
        return out

    def check_values(self, values: dict, *, max_batch: int | None = None) -> None:
        """ValueError naming the setting unless the form can show every one of ``values``.

        ``max_batch`` is the batch-size limit the form will have (the training-set size of
        data about to be shown): an experiment is checked whole before anything changes."""
        unknown = set(values) - set(DEFAULT_TRAINING)
        if unknown:
            raise ValueError(f"Unknown training setting(s): {', '.join(sorted(unknown))}")
        for key, v in values.items():
            if key in self._combos:
                # Compared in Python: findData() of a list or a huge number raises, not refuses.
                choices = [self._combos[key].itemData(i) for i in range(self._combos[key].count())]
                if not any(type(v) is type(c) and v == c for c in choices):
                    raise ValueError(f"{key}: {v!r:.40} is not one of {', '.join(map(str, choices))}")
            else:
                field = self._numbers[key]
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise ValueError(f"{key}: expected a number, got {v!r:.40}")
                try:
                    field.check(v, max_batch if key == "batch_size" else None)
                except ValueError as exc:
                    raise ValueError(f"{field.label.text()}: {exc}") from None

    def set_values(self, values: dict, *, emit: bool = True) -> None:
        """Apply some or all settings; ValueError (and nothing changed) when one is bad."""
        self.check_values(values)  # everything before touching anything
        before = self.values()
        self._updating = True
        try:
            for key, v in values.items():
                if key in self._combos:
                    combo = self._combos[key]
                    combo.setCurrentIndex(combo.findData(v))
                else:
                    self._numbers[key].set_value(float(v))
        finally:
            self._updating = False
        self._sync_enabled()
        after = self.values()
        if emit and after != before:
            self.changed.emit(after)

    def set_max_batch(self, n: int) -> None:
        """Limit the batch size to the training-set size (keeps a smaller value)."""
        self.batch_size.set_maximum(max(1, int(n)))

    # -- internals ---------------------------------------------------------------
    @Slot()
    def _sync_enabled(self) -> None:
        self.reg_rate.setEnabled(self.regularization.currentData() != "none")

    @Slot()
    def _emit(self, *_args) -> None:
        if not self._updating:
            self.changed.emit(self.values())
