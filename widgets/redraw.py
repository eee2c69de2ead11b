"""One redraw scheduler for every view: redraw on change, at most ~30 times a second.

A view whose data changed calls :func:`request_redraw` (or ``redraw_scheduler().request``);
the scheduler calls the view's ``redraw()`` on its next frame. There is one single-shot
timer for the whole application, armed only while some requested view is visible, so an
idle window wakes no timer at all, and a job that sends sixty snapshots a second costs
thirty redraws, not sixty. A view that is hidden when it asks waits, without a timer,
until it is shown; it is then drawn at once, before it paints, so it never shows a
stale picture. A view whose drawing is costly may ask for fewer frames (``max_hz``).

A view that must be up to date now (before an export) draws itself and drops its
request with :meth:`RedrawScheduler.draw_now`.

Only the GUI thread calls this (views ask from their slots).
"""

from __future__ import annotations

import math
import sys
import time
import weakref

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Slot
from PySide6.QtWidgets import QWidget

__all__ = ["REDRAW_HZ", "RedrawScheduler", "redraw_scheduler", "request_redraw"]

REDRAW_HZ = 30
# A frame that comes this early still draws the views due at it: waiting a millisecond
# more would cost another timer event for nothing anyone could see.
EARLY_S = 0.002


class RedrawScheduler(QObject):
    """Calls ``redraw()`` of the views that asked, once each, on a shared frame clock."""

    def __init__(self, hz: float = REDRAW_HZ, parent: QObject | None = None):
        super().__init__(parent)
        self.period_s = 1.0 / hz
        # Weak keys: a view deleted while it waits simply drops out.
        self._pending: weakref.WeakKeyDictionary[QWidget, float] = weakref.WeakKeyDictionary()  # view -> its period
        self._last_drawn: weakref.WeakKeyDictionary[QWidget, float] = weakref.WeakKeyDictionary()
        self._watched: weakref.WeakSet[QWidget] = weakref.WeakSet()  # hidden pending views: we wait for their Show
        # perf_counter counts from boot, so "never drawn" must be -inf, not 0.0.
        self._last_frame = -math.inf
        self._armed_for = math.inf  # when the armed timer fires (perf_counter time)
        self._in_frame = False
        self.frames = 0  # frames run (timer firings), for tests and the benchmark
        self.redraws = 0  # view.redraw() calls made by the scheduler
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)  # a coarse timer may fire 5 % early: a wasted frame
        self._timer.timeout.connect(self._frame)

    # -- asking ----------------------------------------------------------------
    def request(self, view: QWidget, max_hz: float | None = None) -> None:
        """Redraw ``view`` on the next frame (at once if none was drawn for a period).

        ``max_hz`` draws this view less often than the frame rate (a costly table, say):
        its requests then wait until ``1 / max_hz`` has passed since its last redraw.
        """
        period = self.period_s if max_hz is None else max(self.period_s, 1.0 / max_hz)
        self._pending[view] = period
        if view.isVisible():
            if not self._in_frame:  # a frame running now draws it or arms for it itself
                self._arm(self._due(view, period))
        else:
            self._watch(view)

    def cancel(self, view: QWidget) -> None:
        """Drop a request (the view drew itself by other means)."""
        self._pending.pop(view, None)
        self._unwatch(view)

    def draw_now(self, view: QWidget) -> bool:
        """If ``view`` asked, redraw it now, shown or not, and drop its request (before an
        export: the file must show the latest data). True when it was drawn."""
        if view not in self._pending:
            return False
        self._draw(view, time.perf_counter())
        return True

    def is_pending(self, view: QWidget) -> bool:
        return view in self._pending

    @property
    def active(self) -> bool:
        """True while the frame timer is armed."""
        return self._timer.isActive()

    def flush(self) -> None:
        """Draw every visible pending view now, throttled ones too (tests, exports)."""
        self._timer.stop()
        self._armed_for = math.inf
        now = time.perf_counter()
        for view in list(self._pending.keys()):
            if self._shown(view):
                self._draw(view, now)

    # -- the frame ---------------------------------------------------------------
    def _due(self, view: QWidget, period: float) -> float:
        return max(self._last_frame + self.period_s, self._last_drawn.get(view, -math.inf) + period)

    def _arm(self, at: float) -> None:
        """Have a frame run at ``at`` (perf_counter time), or earlier if one is armed."""
        if self._timer.isActive() and self._armed_for <= at:
            return
        now = time.perf_counter()
        self._armed_for = max(at, now)
        self._timer.start(math.ceil((self._armed_for - now) * 1000))

    @Slot()
    def _frame(self) -> None:
        now = time.perf_counter()
        self._last_frame = now
        self._armed_for = math.inf
        self.frames += 1
        later = math.inf  # the earliest view not due in this frame
        drew = True
        self._in_frame = True
        try:
            # Views asked for by a redraw in this frame (a page that fills its plots) are
            # drawn in it too; a view drawn once is not due again in the same frame, so
            # this ends.
            while drew:
                drew = False
                for view, period in list(self._pending.items()):
                    if not self._shown(view):
                        continue
                    due = self._last_drawn.get(view, -math.inf) + period
                    if due > now + EARLY_S:
                        later = min(later, due)
                    else:
                        self._draw(view, now)
                        drew = True
        finally:
            self._in_frame = False
        if later < math.inf:
            self._arm(later)

    def _shown(self, view: QWidget) -> bool:
        """Visible now; a hidden view waits for its Show, a deleted one is dropped."""
        try:
            visible = view.isVisible()
        except RuntimeError:  # the C++ widget is gone before its Python wrapper
            self._pending.pop(view, None)
            self._watched.discard(view)
            return False
        if not visible:
            self._watch(view)
        return visible

    def _draw(self, view: QWidget, now: float) -> None:
        self._pending.pop(view, None)
        self._unwatch(view)
        self._last_drawn[view] = now
        self.redraws += 1
        try:
            view.redraw()
        except Exception:  # one broken view must not stop every other view's drawing
            sys.excepthook(*sys.exc_info())

    def _watch(self, view: QWidget) -> None:
        if view not in self._watched:
            self._watched.add(view)
            view.installEventFilter(self)

    def _unwatch(self, view: QWidget) -> None:
        if view in self._watched:
            self._watched.discard(view)
            try:
                view.removeEventFilter(self)
            except RuntimeError:  # deleted: its filters went with it
                pass

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        # Shown again with a request waiting: draw before the first paint.
        if event.type() == QEvent.Type.Show and obj in self._pending:
            self._draw(obj, time.perf_counter())
        return False


_scheduler: RedrawScheduler | None = None


def redraw_scheduler() -> RedrawScheduler:
    """The application's scheduler (created on first use, in the GUI thread)."""
    global _scheduler
    if _scheduler is None:
        _scheduler = RedrawScheduler()
    return _scheduler


def request_redraw(view: QWidget, max_hz: float | None = None) -> None:
    """Shorthand for ``redraw_scheduler().request(view, max_hz)``."""
    redraw_scheduler().request(view, max_hz)
