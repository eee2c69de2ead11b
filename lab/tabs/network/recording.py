"""The network builder's GIF recording: the output map as on screen, frame by frame.

A long recording keeps every other frame whenever it is full: memory stays bounded and the
GIF spans the whole run. While playing, at most ``GIF_FPS`` frames a second are kept, so the
GIF plays in real time and a fast run is not slowed by drawing frames nobody would see.
"""

from __future__ import annotations

import math
import time
from typing import Callable

import numpy as np

__all__ = ["GifRecording", "GIF_FPS", "MAX_GIF_FRAMES"]

GIF_FPS = 15
MAX_GIF_FRAMES = 200  # ~0.7 MB each at the GIF's size


class GifRecording:
    def __init__(self):
        self.frames: list[np.ndarray] = []
        self.stride = 1  # every how many GIF periods a frame is kept (doubles when the recording is full)
        self._grabbed_at = -math.inf

    def restart(self) -> None:
        """Drop every frame: a new recording (or a new run) begins."""
        self.frames = []
        self.stride = 1
        self._grabbed_at = -math.inf

    @property
    def fps(self) -> float:
        """The rate that plays the kept frames in real time."""
        return GIF_FPS / self.stride

    def offer(self, grab: Callable[[], np.ndarray], *, playing: bool) -> None:
        """Keep a frame (``grab()`` makes it) unless, while playing, one was kept less than
        a GIF period ago; a single step is always kept."""
        now = time.perf_counter()
        if playing and now - self._grabbed_at < self.stride / GIF_FPS:
            return
        self._grabbed_at = now
        self.frames.append(grab())
        if len(self.frames) >= MAX_GIF_FRAMES:
            self.frames = self.frames[::2]
            self.stride *= 2
