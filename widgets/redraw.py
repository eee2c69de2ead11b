"""One redraw scheduler for every view: redraw on change, at most ~30 times a second.

A view whose data changed calls :func:`request_redraw` (or ``redraw_scheduler().request``);
the scheduler calls the view's ``redraw()`` on its next frame. There is one single-shot
timer for the whole application, armed only while some requested view is visible, so an
idle window wakes no timer at all, and a job that sends sixty snapshots a second costs
thirty redraws, not sixty. A view that is hidden when it asks waits, without a timer,
until it is shown again.

Only the GUI thread calls this (views ask from their slots).
"""

from __future__ import annotations

import math
import time
import weakref

from PySide6.QtCore import QEvent, QObject, QTimer, Slot
from PySide6.QtWidgets import QWidget

__all__ = ["REDRAW_HZ", "RedrawScheduler", "redraw_scheduler", "request_redraw"]

REDRAW_HZ = 30


class RedrawScheduler(QObject):
    """Calls ``redraw()`` of the views that asked, once each, on a shared frame clock."""

    def __init__(self, hz: float = REDRAW_HZ, parent: QObject | None = None):
        super().__init__(parent)
        self.period_s = 1.0 / hz
        self._pending: dict[int, weakref.ref] = {}
        self._watched: set[int] = set()  # hidden pending views whose Show we listen for
        # perf_counter counts from boot, so "never drawn" must be -inf, not 0.0.
        self._last_frame = -math.inf
        self.frames = 0  # frames drawn, for tests and the benchmark
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._frame)

    # -- asking ----------------------------------------------------------------
    def request(self, view: QWidget) -> None:
        """Redraw ``view`` on the next frame (now, if no frame was drawn for a period)."""
        key = id(view)
        if key not in self._pending:
            self._pending[key] = weakref.ref(view, lambda _ref, k=key: self._forget(k))
        if view.isVisible():
            self._arm()
        elif key not in self._watched:
            self._watched.add(key)
            view.installEventFilter(self)

    def cancel(self, view: QWidget) -> None:
        """Drop a request (the view drew itself synchronously, e.g. before an export)."""
        self._forget(id(view))

    def is_pending(self, view: QWidget) -> bool:
        return id(view) in self._pending

    @property
    def active(self) -> bool:
        """True while the frame timer is armed."""
        return self._timer.isActive()

    def flush(self) -> None:
        """Draw every visible pending view now (tests, exports)."""
        self._timer.stop()
        self._frame()

    # -- the frame ---------------------------------------------------------------
    def _arm(self) -> None:
        if self._timer.isActive():
            return
        wait = self._last_frame + self.period_s - time.perf_counter()
        self._timer.start(max(0, math.ceil(wait * 1000)))

    @Slot()
    def _frame(self) -> None:
        self._last_frame = time.perf_counter()
        for key, ref in list(self._pending.items()):
            view = ref()
            if view is None:
                self._forget(key)
                continue
            try:
                visible = view.isVisible()
            except RuntimeError:  # the C++ widget is gone before its wrapper
                self._forget(key)
                continue
            if visible:
                self._forget(key, view)
                view.redraw()
            elif key not in self._watched:  # hidden since it asked: wait for its Show
                self._watched.add(key)
                view.installEventFilter(self)
        self.frames += 1

    def _forget(self, key: int, view: QWidget | None = None) -> None:
        self._pending.pop(key, None)
        if key in self._watched:
            self._watched.discard(key)
            if view is not None:
                view.removeEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Show and id(obj) in self._pending:
            self._arm()
        return False


_scheduler: RedrawScheduler | None = None


def redraw_scheduler() -> RedrawScheduler:
    """The application's scheduler (created on first use, in the GUI thread)."""
    global _scheduler
    if _scheduler is None:
        _scheduler = RedrawScheduler()
    return _scheduler


def request_redraw(view: QWidget) -> None:
    """Shorthand for ``redraw_scheduler().request(view)``."""
    redraw_scheduler().request(view)
