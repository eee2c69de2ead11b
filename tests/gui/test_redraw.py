"""The redraw scheduler: requests coalesce into one redraw a frame, frames come at most
at the frame rate, hidden views wait for their Show without a timer, deleted views drop
out, and nothing stays armed once every request is drawn."""

import time

import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

from widgets.redraw import EARLY_S, RedrawScheduler, redraw_scheduler, request_redraw


class View(QWidget):
    """Counts its redraws; ``again`` makes it ask anew from every redraw (a busy job)."""

    def __init__(self, scheduler, parent=None, again=False, max_hz=None):
        super().__init__(parent)
        self.scheduler = scheduler
        self.again = again
        self.max_hz = max_hz
        self.redrawn = 0

    def ask(self):
        self.scheduler.request(self, self.max_hz)

    def redraw(self):
        self.redrawn += 1
        if self.again:
            self.ask()


@pytest.fixture
def scheduler():
    s = RedrawScheduler()
    yield s
    s.deleteLater()


def shown(qtbot, view):
    qtbot.addWidget(view)
    view.show()
    return view


def test_many_requests_before_a_frame_are_one_redraw(scheduler, qtbot):
    view = shown(qtbot, View(scheduler))
    for _ in range(100):
        view.ask()
    assert view.redrawn == 0  # nothing is drawn from inside request()
    qtbot.waitUntil(lambda: view.redrawn == 1)
    assert scheduler.frames == 1
    assert not scheduler.active  # nothing left to draw: no timer


def test_a_view_asked_for_by_another_redraw_is_drawn_in_the_same_frame(scheduler, qtbot):
    plot = shown(qtbot, View(scheduler))

    class Page(View):
        def redraw(self):  # a page that fills its plot: the plot asks for a frame
            super().redraw()
            plot.ask()

    page = shown(qtbot, Page(scheduler))
    page.ask()
    qtbot.waitUntil(lambda: plot.redrawn == 1)
    assert page.redrawn == 1 and scheduler.frames == 1
    assert not scheduler.active  # and no empty frame is left armed behind it


def test_frames_come_at_most_at_the_frame_rate(qtbot):
    scheduler = RedrawScheduler(hz=20)
    busy = shown(qtbot, View(scheduler, again=True))  # asks again from every redraw
    other = shown(qtbot, View(scheduler))
    t0 = time.perf_counter()
    busy.ask()
    asked = 0
    while busy.redrawn < 10:
        other.ask()  # and more requests in between, as fast as the loop turns
        asked += 1
        qtbot.wait(1)
    elapsed = time.perf_counter() - t0
    # Ten frames at 20 Hz need nine gaps of a period; faster would break the limit.
    assert scheduler.frames <= 1 + elapsed / (scheduler.period_s - EARLY_S)
    assert other.redrawn <= scheduler.frames < asked
    busy.again = False
    qtbot.waitUntil(lambda: not scheduler.active)


def test_a_throttled_view_draws_less_often_than_the_frames(scheduler, qtbot):
    fast = shown(qtbot, View(scheduler, again=True))
    slow = shown(qtbot, View(scheduler, again=True, max_hz=5))
    t0 = time.perf_counter()
    fast.ask()
    slow.ask()
    qtbot.waitUntil(lambda: slow.redrawn >= 3, timeout=5000)
    elapsed = time.perf_counter() - t0
    assert slow.redrawn <= 1 + elapsed / (0.2 - EARLY_S)
    assert fast.redrawn > slow.redrawn
    fast.again = slow.again = False


def test_a_hidden_view_arms_no_timer_and_is_drawn_when_shown(scheduler, qtbot):
    page = QWidget()
    qtbot.addWidget(page)
    view = View(scheduler, parent=page)
    QVBoxLayout(page).addWidget(view)
    view.ask()
    assert not scheduler.active and scheduler.is_pending(view)
    qtbot.wait(100)
    assert view.redrawn == 0 and scheduler.frames == 0
    page.show()  # the view is shown with its parent...
    assert view.redrawn == 1  # ...and drawn at once, before it is first painted
    assert not scheduler.is_pending(view) and not scheduler.active


def test_a_view_hidden_after_asking_waits_for_its_show(scheduler, qtbot):
    view = shown(qtbot, View(scheduler))
    other = shown(qtbot, View(scheduler))
    view.ask()
    other.ask()
    view.hide()
    qtbot.waitUntil(lambda: other.redrawn == 1)
    assert view.redrawn == 0 and scheduler.is_pending(view)
    assert not scheduler.active  # the hidden one keeps no timer running
    view.show()
    assert view.redrawn == 1


def test_deleted_views_drop_out(scheduler, qtbot):
    parent = shown(qtbot, QWidget())
    kept = View(scheduler, parent=parent)  # the wrapper outlives its C++ widget
    kept.show()
    kept.ask()
    kept.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gone = View(scheduler, parent=parent)
    gone.show()
    gone.ask()
    gone.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    del gone
    alive = shown(qtbot, View(scheduler))
    alive.ask()
    qtbot.waitUntil(lambda: alive.redrawn == 1)
    assert kept.redrawn == 0
    assert not scheduler.is_pending(kept)
    assert not scheduler.active


def test_draw_now_catches_a_hidden_view_up_and_drops_its_request(scheduler, qtbot):
    view = View(scheduler)
    qtbot.addWidget(view)
    assert not scheduler.draw_now(view)  # nothing asked: nothing drawn
    view.ask()
    assert scheduler.draw_now(view) and view.redrawn == 1
    assert not scheduler.is_pending(view)
    view.show()
    assert view.redrawn == 1  # its Show finds nothing waiting


def test_flush_draws_every_shown_request_now_and_leaves_hidden_ones_waiting(scheduler, qtbot):
    shown_one = shown(qtbot, View(scheduler))
    slow = shown(qtbot, View(scheduler, max_hz=1))
    hidden = View(scheduler)
    qtbot.addWidget(hidden)
    for view in (shown_one, slow, hidden):
        view.ask()
    scheduler.flush()
    assert (shown_one.redrawn, slow.redrawn, hidden.redrawn) == (1, 1, 0)
    assert scheduler.is_pending(hidden) and not scheduler.active


def test_cancel_drops_a_request(scheduler, qtbot):
    view = shown(qtbot, View(scheduler))
    view.ask()
    scheduler.cancel(view)
    qtbot.wait(100)
    assert view.redrawn == 0


def test_one_failing_view_does_not_stop_the_others(scheduler, qtbot):
    class Broken(View):
        def redraw(self):
            raise ValueError("broken view")

    broken = shown(qtbot, Broken(scheduler))
    fine = shown(qtbot, View(scheduler))
    with qtbot.capture_exceptions() as raised:
        broken.ask()
        fine.ask()
        qtbot.waitUntil(lambda: fine.redrawn == 1)
    assert [str(e[1]) for e in raised] == ["broken view"]


def test_the_application_scheduler_is_one(qtbot):
    view = shown(qtbot, View(redraw_scheduler()))
    request_redraw(view)
    assert redraw_scheduler() is redraw_scheduler() and redraw_scheduler().is_pending(view)
    qtbot.waitUntil(lambda: view.redrawn == 1)
