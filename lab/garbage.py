"""Python's cyclic garbage collector, run on the GUI thread only, and kept short.

Left automatic, a collection runs in whichever thread happens to allocate when the counts
overflow: a training worker then destroys Qt objects from reference cycles (a closed plot,
a menu) while the GUI thread deletes their siblings, and the two wait for each other for
good, one holding a Qt mutex and wanting the interpreter lock, the other the reverse (a CI
run and a local run of the suite hung exactly so). So the automatic collector is off and a
timer on the GUI thread collects by the same generation thresholds, as pyqtgraph's
GarbageCollector does.

A full collection walks every tracked object: with torch, numba and eight labs loaded that
is ~400 000 objects and 150–250 ms, a visible freeze every couple of minutes. Almost all of
them live as long as the window (modules, built tabs), so once they exist they are moved
out of the collector's sight (``gc.freeze``) and a full collection walks only what was made
since.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer, Slot

__all__ = ["GuiThreadCollector", "freeze_long_lived_objects", "release_frozen_objects"]


class GuiThreadCollector(QObject):
    def __init__(self, interval_ms: int = 1000, parent: QObject | None = None):
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(interval_ms)

    @Slot()
    def check(self) -> None:
        young, middle, old = gc.get_count()
        if young > self.threshold[0]:
            gc.collect(0)
            if middle > self.threshold[1]:
                gc.collect(1)
                if old > self.threshold[2]:
                    gc.collect(2)


_released_before = False


def freeze_long_lived_objects() -> None:
    """When torch and the other heavy modules have been imported: what is alive then
    (modules, their functions and types, the window's frame) lives as long as the window,
    so full collections stop walking it.

    Frozen objects are still freed by reference counting; only a cycle among them would
    never be collected, so the window unfreezes them when it closes
    (``release_frozen_objects``). A process that opens another window after that (a test
    suite) collects first, so the closed window's cycles are not frozen for good.
    """
    if gc.get_freeze_count():
        return
    if _released_before:
        gc.collect()
    gc.freeze()


def release_frozen_objects() -> None:
    """The window is closing: what was frozen may become garbage now."""
    global _released_before
    if gc.get_freeze_count():
        gc.unfreeze()
        _released_before = True
