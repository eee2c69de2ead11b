"""A message strip at the top of a tab: job failures, divergence, notes.

It shows the text, an optional action button (e.g. "Rerun on CPU") and a close
button; the rest of the tab stays usable underneath.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton

__all__ = ["MessageBanner"]

_COLORS = {
    "error": ("#fde8e8", "#8a1c1c", "#e0a0a0"),
    "warning": ("#fff4d6", "#6b4e00", "#e6c870"),
    "info": ("#e6f0fb", "#1c3d6b", "#a0bde0"),
}


class MessageBanner(QFrame):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.action_button = QPushButton()
        self.action_button.hide()
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action_button)
        layout.addWidget(close)
        self._action: Callable[[], None] | None = None
        self.action_button.clicked.connect(self._run_action)
        self.level = ""
        self.hide()

    def show_message(self, text: str, level: str = "error", action: tuple[str, Callable[[], None]] | None = None, details: str = "") -> None:
        bg, fg, border = _COLORS[level]
        self.level = level
        self.setStyleSheet(
            f"MessageBanner {{ background: {bg}; border: 1px solid {border}; border-radius: 4px; }}"
            f" QLabel {{ color: {fg}; }}"
        )
        self.label.setText(text)
        self.label.setToolTip(details)
        if action:
            self.action_button.setText(action[0])
            self._action = action[1]
            self.action_button.show()
        else:
            self._action = None
            self.action_button.hide()
        self.show()

    def text(self) -> str:
        return "" if self.isHidden() else self.label.text()

    def _run_action(self) -> None:
        action = self._action
        self.hide()
        if action is not None:
            action()
