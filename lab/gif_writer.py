"""Animated GIFs written without freezing the window.

Frames are grabbed on the GUI thread (only it may draw widgets), one per pass of the event
loop when there are many, and encoded with Pillow on a worker thread. Progress, the end
and errors come back as signals, for the status bar and the tab's banner. Headless
(``dllab render``, tests) the tabs call :func:`widgets.export.save_gif` directly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtGui import QImage

from core.engine import Event, Finished, Message, RunControl
from lab.runner import JobFailure, JobRunner
from widgets.export import gif_frame, qimage_to_array, write_gif

__all__ = ["GifJob", "GifWriter", "encode_gif"]

PROGRESS_PERIOD_S = 0.25


@dataclass(frozen=True, eq=False)
class GifJob:
    frames: tuple[np.ndarray, ...]  # RGB, (h, w, 3) uint8
    path: str
    fps: float


def encode_gif(cfg: GifJob, ctl: RunControl) -> Iterator[Event]:
    """Quantise each frame and write the file; stoppable between frames."""
    name = Path(cfg.path).name
    images, said = [], -float("inf")
    for i, frame in enumerate(cfg.frames):
        ctl.checkpoint()
        images.append(gif_frame(frame, fast_palette=True))
        if time.perf_counter() - said > PROGRESS_PERIOD_S:
            said = time.perf_counter()
            yield Message(f"Writing {name}: frame {i + 1} of {len(cfg.frames)}…")
    ctl.checkpoint()
    write_gif(images, cfg.path, cfg.fps)
    yield Finished({"path": cfg.path, "frames": len(images)})


class GifWriter(QObject):
    """Grabs frames on the GUI thread, then encodes them on a worker (one GIF at a time)."""

    progress = Signal(str)
    saved = Signal(str)  # path
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.runner = JobRunner(self)
        self.runner.event.connect(self._on_event)
        self.runner.failed.connect(self._on_failed)
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._grab_next)
        self._grab: Callable[[int], np.ndarray | QImage] | None = None
        self._finish: Callable[[], None] | None = None
        self._pending: list[int] = []
        self._frames: list[np.ndarray] = []
        self._path, self._fps = "", 10.0

    @property
    def busy(self) -> bool:
        return self._timer.isActive() or self.runner.is_active

    def write(self, frames: Sequence[np.ndarray | QImage], path: str | Path, fps: float) -> None:
        """Encode frames already recorded into ``path`` on the worker."""
        if self.busy:
            raise ValueError("A GIF is already being written; wait for it to finish")
        if not len(frames):
            raise ValueError("No frames recorded: run or step the experiment first")
        self._path, self._fps = str(path), fps
        self._encode([_rgb(f) for f in frames])

    def record(self, grab: Callable[[int], np.ndarray | QImage], count: int, path: str | Path, fps: float,
               finish: Callable[[], None] | None = None) -> None:
        """Grab frame ``grab(i)`` for i < count, one per pass of the event loop (so that
        the window keeps answering), call ``finish()`` (to put the view back), then encode."""
        if self.busy:
            raise ValueError("A GIF is already being written; wait for it to finish")
        if count < 1:
            raise ValueError("No frames to record: run or step the experiment first")
        self._grab, self._finish = grab, finish
        self._pending, self._frames = list(range(count)), []
        self._path, self._fps = str(path), fps
        self.progress.emit(f"Recording {count} frames for {Path(path).name}…")
        self._timer.start()

    def shutdown(self, timeout_ms: int = 1000) -> bool:
        self._timer.stop()
        self._end_recording()
        self.runner.stop()
        return self.runner.shutdown(timeout_ms)

    @Slot()
    def _grab_next(self) -> None:
        try:
            self._frames.append(_rgb(self._grab(self._pending.pop(0))))
        except Exception as exc:  # a view that cannot be drawn: say so, never a silent trace
            self._timer.stop()
            self._end_recording()
            self.failed.emit(f"Could not record the GIF: {type(exc).__name__}: {exc}")
            return
        if self._pending:
            return
        self._timer.stop()
        self._end_recording()
        frames, self._frames = self._frames, []
        self._encode(frames)

    def _end_recording(self) -> None:
        finish, self._finish, self._grab = self._finish, None, None
        if finish is not None:
            finish()

    def _encode(self, frames: list[np.ndarray]) -> None:
        self.progress.emit(f"Writing {Path(self._path).name}…")
        self.runner.start(encode_gif, GifJob(tuple(frames), self._path, self._fps))

    @Slot(object)
    def _on_event(self, event: Event) -> None:
        if isinstance(event, Message):
            self.progress.emit(event.text)
        elif isinstance(event, Finished):
            self.saved.emit(event.summary["path"])

    @Slot(object)
    def _on_failed(self, failure: JobFailure) -> None:
        self.failed.emit(f"Could not write the GIF: {failure.message}")


def _rgb(frame: np.ndarray | QImage) -> np.ndarray:
    # Copied on the GUI thread: the worker gets plain arrays, no Qt object.
    return qimage_to_array(frame) if isinstance(frame, QImage) else np.ascontiguousarray(np.asarray(frame, np.uint8)[..., :3])
