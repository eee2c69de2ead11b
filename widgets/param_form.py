"""Labelled parameter controls that refuse bad input at the control itself.

A :class:`NumberField` is a slider (linear or logarithmic) with a text box. Typing a
value outside the range, or something that is not a number, shows the reason next
to the control and keeps the last good value; only good values are emitted.
"""

from __future__ import annotations

import math
import numbers

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QLineEdit, QSlider, QWidget

__all__ = ["NumberField", "ErrorLabel", "parse_number"]

SLIDER_STEPS = 1000


def parse_number(text: str) -> float:
    """A float from what a student types ("1e-3", "0,5", " 2 "); ValueError otherwise."""
    t = text.strip().replace(",", ".").replace("−", "-")
    if not t:
        raise ValueError("Enter a number")
    try:
        v = float(t)
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a number") from None
    if not math.isfinite(v):
        raise ValueError("Enter a finite number")
    return v


class ErrorLabel(QLabel):
    """Red, word-wrapped, hidden when empty: the message next to a control."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setStyleSheet("color: #d03030;")
        self.hide()

    def show_error(self, text: str) -> None:
        self.setText(text)
        self.setVisible(bool(text))

    def clear_error(self) -> None:
        self.show_error("")


class NumberField(QWidget):
    value_changed = Signal(float)

    def __init__(
        self,
        label: str,
        value: float,
        minimum: float,
        maximum: float,
        *,
        log: bool = False,
        integer: bool = False,
        decimals: int = 3,
        tooltip: str = "",
        parent=None,
    ):
        super().__init__(parent)
        if log and minimum <= 0:
            raise ValueError("A logarithmic slider needs a positive minimum")
        self.minimum, self.maximum = minimum, maximum
        self.log, self.integer, self.decimals = log, integer, decimals
        self._value = float(value)
        self.label = QLabel(label)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS if not integer else int(maximum - minimum))
        self.edit = QLineEdit()
        self.edit.setFixedWidth(72)
        self.edit.setAlignment(Qt.AlignRight)
        self.error = ErrorLabel()
        if tooltip:
            for w in (self.label, self.slider, self.edit):
                w.setToolTip(tooltip)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(0)
        grid.addWidget(self.label, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.slider, 1)
        row.addWidget(self.edit)
        grid.addLayout(row, 1, 0)
        grid.addWidget(self.error, 2, 0)
        self._sync_widgets()
        self.slider.valueChanged.connect(self._on_slider)
        self.edit.editingFinished.connect(self._on_edit)

    # -- public --------------------------------------------------------------
    def value(self) -> float:
        return int(self._value) if self.integer else self._value

    def set_value(self, value: float, *, emit: bool = True) -> None:
        """Set programmatically; raises ValueError for an out-of-range value."""
        self.check(value)
        changed = value != self._value
        self._value = float(round(value) if self.integer else value)
        self._sync_widgets()
        self.error.clear_error()
        if changed and emit:
            self.value_changed.emit(self.value())

    def try_text(self, text: str) -> bool:
        """What typing ``text`` and pressing Enter does; False when refused."""
        self.edit.setText(text)
        self._on_edit()
        return not self.error.isVisible()

    def check(self, v: float, maximum: float | None = None) -> None:
        """Raise ValueError, with the reason a student reads, unless ``v`` is a value this
        field accepts (with ``maximum`` as the top of its range, when the range is about to
        move); lets a form check every setting before it changes any."""
        top = self.maximum if maximum is None else maximum
        # Values also come from experiment files, where a number may be text, a list or true.
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise ValueError(f"Must be a number, got {v!r:.40}")
        if not (self.minimum <= v <= top):
            raise ValueError(f"Must be between {self._fmt(self.minimum)} and {self._fmt(top)}")
        if self.integer and v != round(v):
            raise ValueError("Must be a whole number")

    def set_maximum(self, maximum: float) -> None:
        """Move the top of the range; a value above it comes down to it (and is emitted)."""
        self.maximum = maximum
        self.slider.blockSignals(True)
        self.slider.setRange(0, SLIDER_STEPS if not self.integer else int(maximum - self.minimum))
        self.slider.blockSignals(False)
        if self.value() > maximum:
            self.set_value(maximum)
        else:
            self._sync_widgets()

    # -- internals -----------------------------------------------------------

    def _fmt(self, v: float) -> str:
        if self.integer:
            return str(int(v))
        return f"{v:.{self.decimals}g}" if (self.log or abs(v) < 1e-2 and v) else f"{v:.{self.decimals}f}".rstrip("0").rstrip(".")

    def _to_slider(self, v: float) -> int:
        if self.integer:
            return int(round(v - self.minimum))
        if self.log:
            f = (math.log(v) - math.log(self.minimum)) / (math.log(self.maximum) - math.log(self.minimum))
        else:
            f = (v - self.minimum) / (self.maximum - self.minimum)
        return int(round(f * SLIDER_STEPS))

    def _from_slider(self, pos: int) -> float:
        if self.integer:
            return self.minimum + pos
        f = pos / SLIDER_STEPS
        if self.log:
            return math.exp(math.log(self.minimum) + f * (math.log(self.maximum) - math.log(self.minimum)))
        return self.minimum + f * (self.maximum - self.minimum)

    def _sync_widgets(self) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(self._to_slider(self._value))
        self.slider.blockSignals(False)
        self.edit.setText(self._fmt(self._value))

    @Slot(int)
    def _on_slider(self, pos: int) -> None:
        v = self._from_slider(pos)
        if not self.integer:
            v = float(f"{v:.{max(self.decimals, 3)}g}")
            v = min(max(v, self.minimum), self.maximum)
        self._value = float(v)
        self.edit.setText(self._fmt(v))
        self.error.clear_error()
        self.value_changed.emit(self.value())

    @Slot()
    def _on_edit(self) -> None:
        if self.edit.text() == self._fmt(self._value):
            # The value's own (rounded) text, left or entered unchanged: 1.3333 shown as
            # 1.333 must stay 1.3333, not become what the box shows.
            self.error.clear_error()
            return
        try:
            v = parse_number(self.edit.text())
            self.check(v)
        except ValueError as exc:
            self.error.show_error(str(exc))
            return  # keep the last good value; leave the text for the student to fix
        self.set_value(v)
