"""Runs one core job at a time on a worker thread and hands its events to the GUI thread.

The worker never touches a widget: it appends events to a mailbox and pokes the GUI
thread with a queued signal, at most one poke outstanding at a time, so a job that
yields thousands of events a second cannot flood the event loop. The GUI side drains
the mailbox in order and drops anything from a stale job (older generation).
"""

from __future__ import annotations

import math
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Callable, Iterator

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from core.engine import Cancelled, Diverged, Event, Finished, RunControl, checkpoint_unit

__all__ = ["JobRunner", "JobFailure", "workers_still_running", "JobState"]


class JobState(StrEnum):
    """Where a runner's job stands. A str too, so code that only knows the names (the
    widgets, which know nothing of lab/) compares it with "running" and so on."""

    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    STOPPED = "stopped"
    DIVERGED = "diverged"
    FAILED = "failed"

    @property
    def is_active(self) -> bool:
        """A job is on its worker thread, running or paused."""
        return self in (JobState.RUNNING, JobState.PAUSED)

    @property
    def label(self) -> str:
        """The state as the window shows it ("Running")."""
        return self.value.capitalize()


@dataclass(frozen=True)
class JobFailure:
    message: str
    details: str  # the traceback, for a "details" expander
    exception: BaseException


_STILL_RUNNING: list = []  # workers that outlived their runner's shutdown wait


def workers_still_running() -> bool:
    """Whether a job's thread is still inside a step it cannot leave (after shutdown gave
    up waiting): the process must then end without destroying it (see lab.app)."""
    return any(t.isRunning() for t in _STILL_RUNNING)


class _Mailbox(QObject):
    """Lives in the GUI thread; the worker posts into it.

    At most one poke is outstanding, and after a drain the GUI re-arms the poke only
    after a short pause (``REARM_MS``): a job that yields without pause can then never
    keep the event loop busy with nothing but its events (nor livelock a
    ``processEvents()`` call), and its events still arrive at least every few ms.
    """

    ready = Signal()
    REARM_MS = 8

    def __init__(self, parent=None):
        super().__init__(parent)
        self._lock = threading.Lock()
        self._items: deque = deque()
        self._poked = False
        self._rearm = QTimer(self)
        self._rearm.setSingleShot(True)
        self._rearm.setInterval(self.REARM_MS)
        self._rearm.timeout.connect(self._on_rearm)

    def post(self, item) -> None:  # worker thread
        with self._lock:
            self._items.append(item)
            if self._poked:
                return
            self._poked = True
        self.ready.emit()

    def take_all(self) -> list:  # GUI thread; the poke stays armed until _on_rearm
        with self._lock:
            items = list(self._items)
            self._items.clear()
        return items

    def drained(self) -> None:
        """Called after the items were handled: count the pause from now, so that even
        slow handling leaves the event loop time for everything else."""
        self._rearm.start()

    @Slot()
    def _on_rearm(self) -> None:
        with self._lock:
            pending = bool(self._items)
            if not pending:
                self._poked = False
        if pending:
            self.ready.emit()  # same thread: the runner drains at once


class _JobThread(QThread):
    def __init__(self, job, cfg, ctl: RunControl, generation: int, mailbox: _Mailbox):
        super().__init__()
        self.job, self.cfg, self.ctl = job, cfg, ctl
        self.generation = generation
        self.mailbox = mailbox

    def run(self) -> None:
        gen = self.generation

        def post(item) -> None:
            try:
                self.mailbox.post(item)
            except RuntimeError:  # the window is gone (closed while we finished): no one to tell
                pass

        try:
            for event in self.job(self.cfg, self.ctl):
                post((gen, "event", event))
                if self.ctl.stopped:
                    raise Cancelled()
        except Cancelled:
            post((gen, "end", JobState.STOPPED))
        except BaseException as exc:  # everything, so the GUI can show it
            post((gen, "error", JobFailure(_readable(exc), traceback.format_exc(), exc)))
        else:
            post((gen, "end", JobState.FINISHED))
        finally:
            # Drop references to config and generator state held by the thread object.
            self.job = self.cfg = None


def _readable(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, ValueError) and text:
        return text
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


class JobRunner(QObject):
    """Owns at most one running job; exposes start / pause / resume / step / stop."""

    event = Signal(object)  # each fresh Event, in order, on the GUI thread
    state_changed = Signal(object)  # the new JobState
    failed = Signal(object)  # JobFailure
    speed_changed = Signal(float)  # checkpoints per second while running (in speed_unit)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._mailbox = _Mailbox(self)
        self._mailbox.ready.connect(self._drain)
        self._generation = 0
        self._ctl: RunControl | None = None
        self._thread: _JobThread | None = None
        self._retired: list[_JobThread] = []
        self._state = JobState.IDLE
        self._max_rate: float | None = None
        self._job_factory: tuple[Callable, Any] | None = None
        self._speed_timer = QTimer(self)
        self._speed_timer.setInterval(500)
        self._speed_timer.timeout.connect(self._measure_speed)
        self._speed_mark = (-math.inf, 0)
        self._unit = "steps"
        self._has_run = False

    # -- queries ---------------------------------------------------------------
    @property
    def state(self) -> JobState:
        return self._state

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def is_active(self) -> bool:
        return self._state.is_active

    @property
    def speed_unit(self) -> str:
        """What one checkpoint of the current job counts ("epochs", "iterations"…): the
        unit of :attr:`speed_changed`."""
        return self._unit

    @property
    def has_run(self) -> bool:
        """Whether the current job was ever let run (played, resumed or stepped); a job
        started paused to show its starting point has not."""
        return self._has_run

    @property
    def checkpoints(self) -> int:
        """Checkpoints the current job has passed (0 when there is none): how far a paused
        or single-stepped job has got."""
        return self._ctl.checkpoints if self._ctl is not None else 0

    def thread_count(self) -> int:
        """Worker threads not yet finished (the current one and retired ones)."""
        threads = [t for t in [self._thread, *self._retired] if t is not None]
        return sum(1 for t in threads if t.isRunning())

    # -- commands ----------------------------------------------------------------
    def start(self, job: Callable[[Any, RunControl], Iterator[Event]], cfg: Any, *, paused: bool = False,
              full_speed: bool = False) -> int:
        """Stop any current job and start ``job(cfg, ctl)``; return its generation.
        ``full_speed`` ignores the speed limit for this job (a quick preview)."""
        self._retire_current()
        self._generation += 1
        self._ctl = RunControl(paused=paused, max_rate=None if full_speed else self._max_rate)
        self._job_factory = (job, cfg)
        self._unit = checkpoint_unit(job, cfg)
        self._has_run = not paused
        thread = _JobThread(job, cfg, self._ctl, self._generation, self._mailbox)
        thread.finished.connect(self._on_thread_finished)
        self._thread = thread
        thread.start()
        state = JobState.PAUSED if paused else JobState.RUNNING
        if state == self._state:
            self.state_changed.emit(state)  # the same state, but a new job: e.g. a preview became the user's run
        self._set_state(state)
        self._follow_speed()  # also when the state stays "running": a new job counts from 0
        return self._generation

    def rerun(self, transform_cfg: Callable[[Any], Any] | None = None) -> int | None:
        """Start the last job again, optionally with a changed config (e.g. on the CPU)."""
        if self._job_factory is None:
            return None
        job, cfg = self._job_factory
        return self.start(job, transform_cfg(cfg) if transform_cfg else cfg)

    def pause(self) -> None:
        if self._ctl is not None and self._state == JobState.RUNNING:
            self._ctl.pause()
            self._set_state(JobState.PAUSED)

    def resume(self) -> None:
        if self._ctl is not None and self._state == JobState.PAUSED:
            self._ctl.resume()
            self._has_run = True
            self._set_state(JobState.RUNNING)

    def toggle(self) -> None:
        if self._state == JobState.RUNNING:
            self.pause()
        elif self._state == JobState.PAUSED:
            self.resume()

    def step(self, n: int = 1) -> None:
        if self._ctl is not None and self.is_active:
            self._ctl.step(n)
            started, self._has_run = self._has_run, True
            if self._state == JobState.PAUSED and not started:
                self.state_changed.emit(self._state)  # same state, but now it has run (Play → Resume)
            self._set_state(JobState.PAUSED)

    def stop(self) -> None:
        if self._ctl is not None and self.is_active:
            self._ctl.stop()
            # What the job still yields belongs to a run the user ended: a late chunk
            # drawn after Reset would put the old results back on the cleared view.
            self._generation += 1
            self._set_state(JobState.STOPPED)

    def set_max_rate(self, checkpoints_per_s: float | None) -> None:
        self._max_rate = checkpoints_per_s
        if self._ctl is not None:
            self._ctl.set_max_rate(checkpoints_per_s)

    def request_stop(self) -> None:
        """Ask every job to stop without waiting (see :meth:`shutdown`)."""
        self._retire_current()

    def shutdown(self, timeout_ms: int = 2000) -> bool:
        """Stop every job and join every worker; True when all have ended."""
        self._retire_current()
        self._speed_timer.stop()
        deadline = time.perf_counter() + timeout_ms / 1000
        ok = True
        for t in list(self._retired):
            remaining = max(0, int((deadline - time.perf_counter()) * 1000))
            if not t.wait(remaining):
                ok = False
                # Still inside a long torch call: keep the thread object alive until the
                # process ends (destroying a running QThread aborts the interpreter), and
                # wait for it no more (a second shutdown must not wait again).
                self._retired.remove(t)
                t.setParent(None)
                _STILL_RUNNING.append(t)
        self._mailbox.take_all()
        return ok

    # -- internals -----------------------------------------------------------------
    def _retire_current(self) -> None:
        if self._ctl is not None:
            self._ctl.stop()
        if self._thread is not None:
            if self._thread.isFinished():
                self._thread.deleteLater()
            else:
                self._retired.append(self._thread)
        self._thread, self._ctl = None, None

    def _set_state(self, state: JobState) -> None:
        if state != self._state:
            self._state = state
            self._follow_speed()
            self.state_changed.emit(state)

    def _follow_speed(self) -> None:
        """Measure the speed only while running: a paused or ended job wakes no timer."""
        if self._state == JobState.RUNNING and self._ctl is not None:
            self._speed_mark = (time.perf_counter(), self._ctl.checkpoints)
            self._speed_timer.start()
        else:
            self._speed_timer.stop()

    @Slot()
    def _drain(self) -> None:
        try:
            self._handle(self._mailbox.take_all())
        finally:
            self._mailbox.drained()

    def _handle(self, items: list) -> None:
        for generation, kind, payload in items:
            if generation != self._generation:
                continue  # a stale job: its results no longer match what is on screen
            if kind == "event":
                if isinstance(payload, Diverged) and not payload.series:
                    self._set_state(JobState.DIVERGED)
                self.event.emit(payload)
                if isinstance(payload, Finished) and self._state != JobState.DIVERGED:
                    self._set_state(JobState.FINISHED)
            elif kind == "error":
                self._set_state(JobState.FAILED)
                self.failed.emit(payload)
            elif kind == "end":
                if self._state.is_active:
                    self._set_state(payload)

    @Slot()
    def _on_thread_finished(self) -> None:
        for t in [t for t in self._retired if t.isFinished()]:
            self._retired.remove(t)
            t.deleteLater()

    @Slot()
    def _measure_speed(self) -> None:
        if self._ctl is None:
            return
        now, count = time.perf_counter(), self._ctl.checkpoints
        t0, c0 = self._speed_mark
        if now > t0:
            self.speed_changed.emit((count - c0) / (now - t0))
        self._speed_mark = (now, count)
