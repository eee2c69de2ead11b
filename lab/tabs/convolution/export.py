"""Exports of the convolution tab: the current frame, the whole stepping as a GIF, the numbers.

In the window a GIF is recorded by :class:`GifRecorder`: one frame per pass of the event
loop (so the window stays responsive), then encoded on a worker thread. Headless
(``dllab render``, tests) :func:`export_gif` does the same synchronously.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication

from core.convolution.stepper import StepList
from core.convolution.text import step_csv_rows
from core.engine import Event, Finished, RunControl
from lab.runner import JobFailure, JobRunner
from widgets.export import export_widget_png, qimage_to_array, save_gif, write_csv

__all__ = ["export_frame", "export_gif", "export_csv", "gif_indices", "GifRecorder", "GifJob", "gif_job"]

MAX_GIF_FRAMES = 120


def export_frame(view, path, scale: float = 2.0) -> Path:
    QApplication.processEvents()  # grids created since the last event loop pass need their layout
    return export_widget_png(view, path, scale)


def gif_indices(count: int, max_frames: int = MAX_GIF_FRAMES) -> list[int]:
    """−1 (nothing computed) … count − 1, evenly thinned to at most ``max_frames``; the end held."""
    frames = list(range(-1, count))
    if len(frames) > max_frames - 3:
        frames = sorted(set(np.linspace(-1, count - 1, max_frames - 3).round().astype(int).tolist()))
    return frames + [count - 1] * 3  # pause on the finished output before looping


def gif_fps(count: int) -> float:
    return 4.0 if count <= 60 else 12.0


@dataclass(frozen=True, eq=False)
class GifJob:
    frames: tuple[np.ndarray, ...]
    path: str
    fps: float


def gif_job(cfg: GifJob, ctl: RunControl) -> Iterator[Event]:
    """Encode recorded frames (RGB arrays) into a GIF; stoppable between frames."""
    ctl.checkpoint()
    path = save_gif(cfg.frames, cfg.path, cfg.fps, fast_palette=True, checkpoint=ctl.checkpoint)
    yield Finished({"path": str(path)})


def export_gif(tab, path, max_frames: int = MAX_GIF_FRAMES) -> Path:
    """Step the tab's view through the whole list and save every frame; the index is restored."""
    steps = tab.steps
    if steps is None:
        raise ValueError("Nothing to export yet: the steps are still being built")
    keep = tab.index
    images = []
    try:
        for i in gif_indices(steps.count, max_frames):
            tab.view.set_index(i)
            QApplication.processEvents()  # let the grids lay out before they are grabbed
            images.append(tab.view.grab().toImage())
    finally:
        tab.set_index(keep)
    return save_gif(images, path, fps=gif_fps(steps.count), fast_palette=True)


class GifRecorder(QObject):
    """Records the tab's stepping frame by frame from a timer, then encodes on a worker."""

    progress = Signal(str)
    saved = Signal(str)  # path
    failed = Signal(str)

    def __init__(self, tab):
        super().__init__(tab)
        self.tab = tab
        self.runner = JobRunner(self)
        self.runner.event.connect(self._on_event)
        self.runner.failed.connect(self._on_failed)
        self.timer = QTimer(self)
        self.timer.setInterval(0)
        self.timer.timeout.connect(self._capture)
        self._pending: list[int] = []
        self._frames: list[np.ndarray] = []
        self._steps: StepList | None = None
        self._path = ""
        self._keep = -1

    @property
    def busy(self) -> bool:
        return self.timer.isActive() or self.runner.is_active

    def start(self, path: str | Path, max_frames: int = MAX_GIF_FRAMES) -> None:
        steps = self.tab.steps
        if steps is None:
            raise ValueError("Nothing to export yet: the steps are still being built")
        self._steps, self._path, self._keep = steps, str(path), self.tab.index
        self._pending = gif_indices(steps.count, max_frames)
        self._frames = []
        self.progress.emit(f"Recording {len(self._pending)} frames for {Path(path).name}…")
        self.timer.start()

    @Slot()
    def _capture(self) -> None:
        if self.tab.steps is not self._steps:  # a setting changed: these frames no longer match
            self.timer.stop()
            self.failed.emit("The settings changed while the GIF was being recorded; export it again.")
            return
        i = self._pending.pop(0)
        self.tab.view.set_index(i)
        self._frames.append(qimage_to_array(self.tab.view.grab().toImage()))
        if self._pending:
            return
        self.timer.stop()
        self.tab.set_index(self._keep)
        self.progress.emit(f"Writing {Path(self._path).name}…")
        self.runner.start(gif_job, GifJob(tuple(self._frames), self._path, gif_fps(self._steps.count)))
        self._frames = []

    @Slot(object)
    def _on_event(self, event: Event) -> None:
        if isinstance(event, Finished):
            self.saved.emit(event.summary["path"])

    @Slot(object)
    def _on_failed(self, failure: JobFailure) -> None:
        self.failed.emit(f"Could not write the GIF: {failure.message}")

    def shutdown(self) -> None:
        self.timer.stop()
        self.runner.shutdown()


def export_csv(steps: StepList, path) -> Path:
    return write_csv(path, step_csv_rows(steps))
