"""Qt objects caught in reference cycles are destroyed on the GUI thread, never on a worker.

A worker that allocates enough to trigger Python's cyclic collector would otherwise
destroy them there, racing the GUI thread for Qt's mutexes while holding the interpreter
lock: the deadlock that hung the suite (lab.app.collect_garbage_on_the_gui_thread)."""

import gc
import threading

from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication, QWidget


def test_a_widget_in_a_cycle_is_destroyed_on_the_gui_thread_even_when_a_worker_allocates(qtbot):
    assert not gc.isenabled()  # collections happen only where the GUI thread runs them
    destroyed_on = []
    widget = QWidget()
    widget.itself = widget  # a reference cycle: only the cyclic collector can free it
    widget.destroyed.connect(lambda: destroyed_on.append(QThread.currentThread()))
    del widget

    def allocate():  # far past every generation's threshold
        junk = []
        for _ in range(200_000):
            pair = [None]
            pair[0] = pair
            junk.append(pair)
        del junk

    worker = threading.Thread(target=allocate)
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: bool(destroyed_on), timeout=5000)  # the GUI thread's collector got to it
    assert destroyed_on == [QApplication.instance().thread()]


def test_modules_are_frozen_once_torch_loads_but_a_closed_window_is_still_collected(qtbot):
    """A full collection must not walk torch's ~400 000 objects (150–400 ms each time), yet
    the labs built after that stay collectable: a closed window's cycles are freed."""
    import weakref

    from lab.main_window import MainWindow
    from lab.settings import SettingsStore

    win = MainWindow(SettingsStore())
    with qtbot.waitSignal(win.tabs_ready, timeout=60000):
        pass  # torch loads on a thread; the labs are built from the event loop, after this line
    assert gc.get_freeze_count() > 100_000  # torch, numpy, pyqtgraph: out of the collector's walk
    network = win.tab_instances["network"]
    network.itself = network  # a cycle through the lab: only the cyclic collector frees it
    gone = weakref.ref(network)
    del network
    win.close()
    win.deleteLater()
    del win
    qtbot.waitUntil(lambda: (gc.collect(), gone() is None)[1], timeout=10000)
