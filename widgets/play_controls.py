"""Play / pause, step, reset and a speed slider, with the lecture-friendly shortcuts.

The widget only emits requests and shows the state it is told; the lab binds it to a
job runner. Shortcuts (space, →, R) are active while the controls are visible, so
each page of a tab may have its own set; a focused field, checkbox or button that
needs one of those keys gets it instead (see widgets.key_guard).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QStyle, QVBoxLayout, QWidget

from widgets.key_guard import install_key_guard

__all__ = ["PlayControls", "SPEED_STEPS"]

# Slider positions → checkpoints per second; the last is "as fast as possible".
SPEED_STEPS: list[float | None] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, None]


class PlayControls(QWidget):
    play_pause_requested = Signal()
    step_requested = Signal()
    reset_requested = Signal()
    speed_changed = Signal(object)  # float steps/s, or None for full speed

    def __init__(self, parent: QWidget | None = None, *, with_speed: bool = True):
        super().__init__(parent)
        style = self.style()
        self._icon_play = style.standardIcon(QStyle.SP_MediaPlay)
        self._icon_pause = style.standardIcon(QStyle.SP_MediaPause)
        self.play_button = QPushButton(self._icon_play, "Play")
        self.play_button.setToolTip("Play / pause (Space)")
        self.step_button = QPushButton(style.standardIcon(QStyle.SP_MediaSeekForward), "Step")
        self.step_button.setToolTip("One step (→)")
        self.reset_button = QPushButton(style.standardIcon(QStyle.SP_BrowserReload), "Reset")
        self.reset_button.setToolTip("Reset (R)")
        self.play_button.clicked.connect(self.play_pause_requested)
        self.step_button.clicked.connect(self.step_requested)
        self.reset_button.clicked.connect(self.reset_requested)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        layout = QHBoxLayout()
        for b in (self.play_button, self.step_button, self.reset_button):
            b.setFocusPolicy(Qt.TabFocus)
            layout.addWidget(b)
        outer.addLayout(layout)
        speed_row = QHBoxLayout()
        outer.addLayout(speed_row)

        self.speed_slider = QSlider(Qt.Horizontal)
        self.speed_slider.setRange(0, len(SPEED_STEPS) - 1)
        self.speed_slider.setValue(len(SPEED_STEPS) - 1)
        self.speed_slider.setToolTip("Speed: slow it down for a lecture")
        self.speed_label = QLabel()
        self.speed_slider.valueChanged.connect(self._on_speed)
        self.speed_label.setMinimumWidth(48)
        if with_speed:
            speed_row.addWidget(QLabel("Speed"))
            speed_row.addWidget(self.speed_slider, 1)
            speed_row.addWidget(self.speed_label)
        else:
            self.speed_slider.hide()
        self._on_speed(self.speed_slider.value(), emit=False)

        install_key_guard()
        for key, signal in ((Qt.Key_Space, self.play_pause_requested), (Qt.Key_Right, self.step_requested), (Qt.Key_R, self.reset_requested)):
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.WindowShortcut)
            sc.activated.connect(signal)

    @property
    def speed(self) -> float | None:
        return SPEED_STEPS[self.speed_slider.value()]

    @Slot(int)
    def _on_speed(self, index: int, emit: bool = True) -> None:
        v = SPEED_STEPS[index]
        self.speed_label.setText("max" if v is None else f"{v:g}/s")
        if emit:
            self.speed_changed.emit(v)

    @Slot(str)
    def set_state(self, state: str, started: bool = True) -> None:
        """Show the runner's state: the play button turns into pause while running.

        ``started`` says whether the paused job has taken a step yet: a job opened
        paused to show its starting point (nothing ran) is played, not resumed."""
        running = state == "running"
        self.play_button.setIcon(self._icon_pause if running else self._icon_play)
        self.play_button.setText("Pause" if running else ("Resume" if state == "paused" and started else "Play"))
