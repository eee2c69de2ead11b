"""The job runner with real worker threads and real queued signals."""

import gc
import threading
import tracemalloc

import pytest
from PySide6.QtCore import QObject, QThread, Slot
from PySide6.QtWidgets import QApplication

from core.engine import Finished, Metrics
from lab.runner import JobRunner, JobState


def counting(cfg, ctl):
    n, tag = cfg
    for i in range(n):
        ctl.checkpoint()
        yield Metrics(step=i, values={"tag": tag})
    yield Finished({"tag": tag})


def endless(cfg, ctl):
    i = 0
    while True:
        ctl.checkpoint()
        i += 1
        # An event per 2000 checkpoints: with a checkpoint that takes no lock, one per 50
        # made hundreds of thousands a second, more than any job yields, and on a loaded
        # machine the GUI thread fell behind draining them (gigabytes queued).
        if i % 2000 == 0:
            yield Metrics(step=i, values={"tag": cfg})


def failing(cfg, ctl):
    ctl.checkpoint()
    yield Metrics(step=0, values={})
    raise RuntimeError("the model exploded on purpose")


class Recorder(QObject):
    """A GUI-thread receiver, as every tab is."""

    def __init__(self):
        super().__init__()
        self.events, self.threads, self.states, self.failures = [], [], [], []

    @Slot(object)
    def on_event(self, ev):
        self.events.append(ev)
        self.threads.append(QThread.currentThread())

    @Slot(object)
    def on_state(self, s):
        self.states.append(s)

    @Slot(object)
    def on_failed(self, f):
        self.failures.append(f)


@pytest.fixture
def runner(qtbot):
    r = JobRunner()
    rec = Recorder()
    r.event.connect(rec.on_event)
    r.state_changed.connect(rec.on_state)
    r.failed.connect(rec.on_failed)
    r.recorder = rec
    yield r
    assert r.shutdown(2000)


def test_events_arrive_in_order_on_the_gui_thread(runner, qtbot):
    runner.start(counting, (300, "a"))
    with qtbot.waitSignal(runner.state_changed, timeout=5000, check_params_cb=lambda s: s == JobState.FINISHED):
        pass
    rec = runner.recorder
    steps = [e.step for e in rec.events if isinstance(e, Metrics)]
    assert steps == list(range(300))
    assert isinstance(rec.events[-1], Finished)
    gui = QApplication.instance().thread()
    assert all(t is gui for t in rec.threads)
    assert rec.states == [JobState.RUNNING, JobState.FINISHED]
    assert all(type(s) is JobState for s in rec.states)  # the enum itself, not its text


def test_pause_holds_the_job_and_resume_continues(runner, qtbot):
    runner.start(endless, "p")
    qtbot.waitUntil(lambda: len(runner.recorder.events) > 2, timeout=5000)
    runner.pause()
    assert runner.state == JobState.PAUSED
    held = runner.checkpoints
    qtbot.wait(100)
    assert runner.checkpoints <= held + 1  # at most the checkpoint in flight
    runner.resume()
    qtbot.waitUntil(lambda: runner.checkpoints > held + 100, timeout=5000)
    assert runner.state == JobState.RUNNING


def test_single_step_while_paused(runner, qtbot):
    runner.start(counting, (1000, "s"), paused=True)
    runner.step()
    qtbot.waitUntil(lambda: runner.checkpoints == 1, timeout=2000)
    runner.step(4)
    qtbot.waitUntil(lambda: runner.checkpoints == 5, timeout=2000)
    qtbot.waitUntil(lambda: len(runner.recorder.events) == 5, timeout=2000)
    assert runner.state == JobState.PAUSED


def test_stop_ends_the_worker_within_200_ms(runner, qtbot):
    runner.start(endless, "x")
    qtbot.waitUntil(lambda: len(runner.recorder.events) > 1, timeout=5000)
    assert runner.thread_count() == 1
    runner.stop()
    qtbot.waitUntil(lambda: runner.thread_count() == 0, timeout=200)  # the worker ended within 200 ms
    assert runner.state == JobState.STOPPED


def test_a_stale_job_is_dropped_when_a_new_one_starts(runner, qtbot):
    runner.start(endless, "old")
    qtbot.waitUntil(lambda: len(runner.recorder.events) > 3, timeout=5000)
    runner.start(counting, (50, "new"))
    cut = len(runner.recorder.events)
    qtbot.waitUntil(lambda: runner.state == JobState.FINISHED, timeout=5000)
    later = runner.recorder.events[cut:]
    assert later and all(getattr(e, "values", {}).get("tag", "new") == "new" for e in later if isinstance(e, Metrics))
    assert later[-1].summary == {"tag": "new"}


def test_an_exception_is_surfaced_as_a_readable_failure(runner, qtbot):
    with qtbot.waitSignal(runner.failed, timeout=5000) as blocker:
        runner.start(failing, None)
    failure = blocker.args[0]
    assert failure.message == "RuntimeError: the model exploded on purpose"
    assert "Traceback" in failure.details
    assert runner.state == JobState.FAILED
    runner.start(counting, (3, "after"))  # the runner stays usable
    qtbot.waitUntil(lambda: runner.state == JobState.FINISHED, timeout=5000)


def test_200_start_stop_cycles_leave_no_thread_and_no_memory_growth(qtbot):
    runner = JobRunner()
    baseline_threads = threading.active_count()

    def cycles(n):
        for _ in range(n):
            runner.start(endless, "c")
            runner.pause()
            runner.resume()
            runner.stop()
        assert runner.shutdown(5000)
        qtbot.waitUntil(lambda: runner.thread_count() == 0, timeout=5000)
        QApplication.processEvents()
        gc.collect()

    cycles(20)  # warm-up: first-use allocations are not growth
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    cycles(200)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    growth = sum(s.size_diff for s in after.compare_to(before, "filename"))
    assert growth < 512 * 1024, f"memory grew by {growth} bytes over 200 cycles"
    assert threading.active_count() <= baseline_threads
    assert runner.thread_count() == 0


def test_job_states_compare_with_their_names_and_show_as_words():
    assert JobState.RUNNING == "running" and JobState("paused") is JobState.PAUSED  # widgets compare names
    assert [s for s in JobState if s.is_active] == [JobState.RUNNING, JobState.PAUSED]
    assert JobState.DIVERGED.label == "Diverged"
