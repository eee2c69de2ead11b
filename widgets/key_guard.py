"""Keeps single-key shortcuts (Space, →, R…) off keys that the focused widget needs.

Qt offers every key to the focused widget as a ShortcutOverride first; only when the
widget does not accept it does a shortcut fire. Line edits accept it for what they
type, but a checkbox or button does not claim Space, a slider not the arrows, a combo
box not its letters: Space on a focused checkbox would start training instead of
ticking it. The guard accepts the override for those, so the key reaches the widget;
with the focus anywhere else (a plot, a label, the window) the shortcuts work as before.
Shortcuts with Ctrl, Alt or Meta are never touched.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTabBar,
    QTextEdit,
    QWidget,
)

__all__ = ["install_key_guard", "widget_uses_key"]

_ARROWS = {Qt.Key_Left, Qt.Key_Right, Qt.Key_Up, Qt.Key_Down}
_NAVIGATION = _ARROWS | {Qt.Key_Home, Qt.Key_End, Qt.Key_PageUp, Qt.Key_PageDown}
_EDITING = _NAVIGATION | {Qt.Key_Backspace, Qt.Key_Delete}
_COMMAND_MODIFIERS = Qt.ControlModifier | Qt.AltModifier | Qt.MetaModifier


def widget_uses_key(widget: QWidget | None, key: int, text: str) -> bool:
    """Whether ``widget`` (the focus widget) does something with this unmodified key."""
    if widget is None:
        return False
    typed = bool(text) and text.isprintable()
    if isinstance(widget, (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit)):
        return typed or key in _EDITING
    if isinstance(widget, QComboBox):  # Space opens it, arrows and letters choose
        return typed or key in _NAVIGATION
    if isinstance(widget, QAbstractButton):  # Space presses a button, ticks a checkbox
        return key == Qt.Key_Space
    if isinstance(widget, QAbstractSlider):
        return key in _NAVIGATION
    if isinstance(widget, QAbstractItemView):
        # Tables and lists move with the arrows; only an editable one types (a read-only
        # leaderboard clicked a moment ago must not take Space from Play).
        return key in _NAVIGATION or (typed and bool(widget.editTriggers() & QAbstractItemView.AnyKeyPressed))
    if isinstance(widget, QTabBar):
        return key in _ARROWS
    return False


class _KeyGuard(QObject):
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.ShortcutOverride and not (event.modifiers() & _COMMAND_MODIFIERS):
            focus = QApplication.focusWidget()
            if obj is focus and widget_uses_key(focus, event.key(), event.text()):
                event.accept()  # the key goes to the widget as a key press, not to a shortcut
                return True
        return False


def install_key_guard() -> None:
    """Install the guard once on the running application (what PlayControls does)."""
    app = QApplication.instance()
    if app is None or app.property("dllab_key_guard"):
        return
    guard = _KeyGuard(app)
    app.installEventFilter(guard)
    app.setProperty("dllab_key_guard", True)
