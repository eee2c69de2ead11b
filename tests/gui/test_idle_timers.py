"""An idle window wakes (almost) no timers, whichever tab is shown.

The real main window shows each tab in turn; once every lab's first job has ended and
what it asked to draw is drawn, an application-wide event filter counts timer events
for two seconds. Redraws are scheduled on change (widgets/redraw.py), so an
idle window has nothing to wake up for.
"""

from collections import Counter

import pytest
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from lab.main_window import MainWindow
from lab.settings import SettingsStore
from lab.tabs import TABS

MAX_TIMER_EVENTS_PER_S = 5
MEASURE_MS = 2000


class TimerCounter(QObject):
    """Counts QEvent.Timer per receiver (class and object name), to name the culprits."""

    def __init__(self):
        super().__init__()
        self.counts: Counter[str] = Counter()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Timer:
            self.counts[f"{obj.metaObject().className()} {obj.objectName()!r} (parent {_parent_name(obj)})"] += 1
        return False

    def total(self) -> int:
        return sum(self.counts.values())


def _parent_name(obj: QObject) -> str:
    parent = obj.parent()
    return parent.metaObject().className() if parent is not None else "none"


@pytest.fixture(scope="module")
def window(qapp, request, tmp_path_factory):
    """One real main window for every tab, as a student clicks from lab to lab (its
    settings live in a temporary file, never the user's own)."""
    win = MainWindow(SettingsStore(str(tmp_path_factory.mktemp("idle") / "settings.ini")))
    win.show()
    QtBot(request).waitUntil(lambda: win.stack.currentWidget() is win.tab_widget, timeout=30000)
    yield win
    win.close()
    win.deleteLater()


@pytest.fixture(params=[t.name for t in TABS])
def idle_window(request, window, qtbot):
    tab = window.tab_instances[request.param]
    window.tab_widget.setCurrentWidget(tab)
    assert window.current_tab() is tab
    # Every lab's first job (some compute on opening) runs to its end, or waits paused
    # (the network builder opens its job paused, ready to step)...
    # (a lab computes its first view just after it is first shown).
    qtbot.waitUntil(lambda: not tab.first_view_pending, timeout=30000)
    qtbot.waitUntil(lambda: all(t.runner.state != "running" for t in window.tab_instances.values()), timeout=30000)
    # ...and what it delivered, and the debounced reactions to it, have been handled.
    qtbot.wait(500)
    return window


def test_an_idle_window_wakes_fewer_than_five_timers_a_second(idle_window, qtbot):
    counter = TimerCounter()
    app = QApplication.instance()
    app.installEventFilter(counter)
    try:
        qtbot.wait(MEASURE_MS)
    finally:
        app.removeEventFilter(counter)
    rate = counter.total() / (MEASURE_MS / 1000)  # qtbot.wait's own timer is one of them
    culprits = ", ".join(f"{name}: {n}" for name, n in counter.counts.most_common(20))
    assert rate < MAX_TIMER_EVENTS_PER_S, f"{rate:.1f} timer events/s while idle on {idle_window.current_tab().name}: {culprits}"
