"""The engine every lab runs on: long work is a generator of small frozen events.

A job is a generator function ``job(cfg, ctl) -> Iterator[Event]``. It calls
``ctl.checkpoint()`` between units of work so that pause, single-step and stop take
effect promptly, and yields events carrying numbers and detached numpy arrays. The
same generator runs headless (tests, benchmarks, ``dllab render``) and under the GUI.

Nothing here knows about Qt.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

import numpy as np

__all__ = [
    "Event",
    "Metrics",
    "History",
    "MetricsBuffer",
    "Snapshot",
    "Message",
    "Diverged",
    "Finished",
    "Cancelled",
    "RunControl",
    "Throttle",
    "run_headless",
    "counts",
    "checkpoint_unit",
]


@dataclass(frozen=True)
class Event:
    """Base of everything a job yields."""


@dataclass(frozen=True)
class Metrics(Event):
    """Scalars at one step, e.g. ``{"train_loss": 0.3}``; appended to curves."""

    step: int
    values: Mapping[str, float]
    series: str = ""  # which run/model these belong to, when a job races several


@dataclass(frozen=True)
class History(Event):
    """A chunk of consecutive metrics: ``steps`` and, per name, one value per step.

    Jobs that run thousands of steps a second send their curves in chunks (see
    :class:`MetricsBuffer`) so that nothing is lost and the GUI gets few events.
    """

    steps: np.ndarray
    values: Mapping[str, np.ndarray]
    series: str = ""


@dataclass(frozen=True)
class Snapshot(Event):
    """Arrays describing the current state; a newer snapshot replaces an older one."""

    step: int
    kind: str
    data: Mapping[str, Any]


@dataclass(frozen=True)
class Message(Event):
    text: str


@dataclass(frozen=True)
class Diverged(Event):
    """The loss became NaN or infinite; the job stops (or drops that series)."""

    step: int
    message: str
    series: str = ""


@dataclass(frozen=True)
class Finished(Event):
    summary: Mapping[str, Any] = field(default_factory=dict)


class Cancelled(Exception):
    """Raised by :meth:`RunControl.checkpoint` when the job was asked to stop."""


class RunControl:
    """Thread-safe pause / resume / single step / stop / speed for one job.

    The GUI thread calls the commands; the job's thread calls :meth:`checkpoint`.
    """

    def __init__(self, *, paused: bool = False, max_rate: float | None = None):
        # A plain Lock, not the default RLock: on CPython 3.13 the RLock is not fair, and a
        # worker that releases and retakes it in a tight loop kept a GUI thread's pause()
        # waiting for it for good (a CI run hung on this).
        self._cond = threading.Condition(threading.Lock())
        self._paused = paused
        self._stopped = False
        self._steps_allowed = 0
        self._max_rate = max_rate
        # perf_counter counts from boot: 0.0 is not "long ago" on a machine up for minutes.
        self._last_pass = -math.inf
        self.checkpoints = 0  # read by the GUI for steps/s; an int read is atomic

    # -- commands (any thread) -------------------------------------------------
    def pause(self) -> None:
        with self._cond:
            self._paused = True
            self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def step(self, n: int = 1) -> None:
        """Let ``n`` more checkpoints pass, then stay paused."""
        with self._cond:
            self._paused = True
            self._steps_allowed += n
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def set_max_rate(self, checkpoints_per_s: float | None) -> None:
        """Slow a job down for a lecture; ``None`` runs at full speed."""
        with self._cond:
            self._max_rate = checkpoints_per_s if checkpoints_per_s else None
            self._cond.notify_all()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def steps_pending(self) -> int:
        """Single steps requested but not yet taken (a paused job may still run them)."""
        return self._steps_allowed

    # -- the job's side --------------------------------------------------------
    def checkpoint(self) -> None:
        """Block while paused, raise :class:`Cancelled` once stopped."""
        if not (self._paused or self._stopped or self._max_rate):
            # Running at full speed takes no lock at all, so a command from the GUI thread
            # never queues behind a worker that passes here thousands of times a second.
            # The flags are read without it: a command set just after this read is seen
            # at the next checkpoint.
            self._last_pass = time.perf_counter()
            self.checkpoints += 1
            return
        with self._cond:
            while True:
                if self._stopped:
                    raise Cancelled()
                if not self._paused:
                    break
                if self._steps_allowed > 0:
                    self._steps_allowed -= 1
                    break
                self._cond.wait()
            if self._max_rate:
                wait_until = self._last_pass + 1.0 / self._max_rate
                while not self._stopped and (now := time.perf_counter()) < wait_until:
                    self._cond.wait(wait_until - now)
                if self._stopped:
                    raise Cancelled()
            self._last_pass = time.perf_counter()
            self.checkpoints += 1


def counts(unit: str | Callable[[Any], str]) -> Callable[[Callable], Callable]:
    """Name what one ``ctl.checkpoint()`` of a job stands for, plural ("epochs",
    "iterations", "images"): the window shows the job's speed in that unit. A job whose
    checkpoints depend on its config gives a function of the config instead.

    >>> @counts("epochs")
    ... def train(cfg, ctl): ...
    """

    def mark(job: Callable) -> Callable:
        job.checkpoint_unit = unit
        return job

    return mark


def checkpoint_unit(job: Callable, cfg: Any = None) -> str:
    """What a job's checkpoints count for ``cfg`` (see :func:`counts`); "steps" when it does not say."""
    unit = getattr(job, "checkpoint_unit", "steps")
    return unit(cfg) if callable(unit) else unit


class Throttle:
    """Says when a job should yield its next snapshot: at most ``hz`` a second.

    The first call is always due so that something appears at once.
    """

    def __init__(self, hz: float = 60.0):
        self.interval = 1.0 / hz
        self._next = 0.0

    def due(self) -> bool:
        now = time.perf_counter()
        if now >= self._next:
            self._next = now + self.interval
            return True
        return False


class MetricsBuffer:
    """Collects per-step metrics and hands them out as one :class:`History` chunk."""

    def __init__(self, series: str = ""):
        self.series = series
        self._steps: list[int] = []
        self._values: dict[str, list[float]] = {}

    def add(self, step: int, **values: float) -> None:
        self._steps.append(step)
        for k, v in values.items():
            self._values.setdefault(k, []).append(float(v))

    def __len__(self) -> int:
        return len(self._steps)

    def flush(self) -> History | None:
        if not self._steps:
            return None
        ev = History(
            np.asarray(self._steps, np.int64),
            {k: np.asarray(v, np.float64) for k, v in self._values.items()},
            self.series,
        )
        self._steps, self._values = [], {}
        return ev


def run_headless(
    job: Callable[..., Iterator[Event]],
    cfg: Any,
    ctl: RunControl | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> list[Event]:
    """Drive a job to its end in this thread; return every event (tests, CLI, benches)."""
    ctl = ctl or RunControl()
    events: list[Event] = []
    try:
        for ev in job(cfg, ctl):
            if on_event is not None:
                on_event(ev)
            events.append(ev)
    except Cancelled:
        pass
    return events


def to_numpy(t) -> np.ndarray:
    """Detach a tensor to a CPU numpy array, the only form arrays leave a job in."""
    return t.detach().to("cpu").numpy().copy()
