"""Exports of the convolution tab: the current frame, the whole stepping as a GIF, the numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QApplication

from core.conv_stepper import StepList
from core.conv_text import step_csv_rows
from widgets.export import export_widget_png, save_gif, write_csv

__all__ = ["export_frame", "export_gif", "export_csv", "gif_indices"]


def export_frame(view, path, scale: float = 2.0) -> Path:
    QApplication.processEvents()  # grids created since the last event loop pass need their layout
    return export_widget_png(view, path, scale)


def gif_indices(count: int, max_frames: int) -> list[int]:
    """−1 (nothing computed) … count − 1, evenly thinned to at most ``max_frames``; the end held."""
    frames = list(range(-1, count))
    if len(frames) > max_frames - 3:
        frames = sorted(set(np.linspace(-1, count - 1, max_frames - 3).round().astype(int).tolist()))
    return frames + [count - 1] * 3  # pause on the finished output before looping


def export_gif(tab, path, max_frames: int = 120, fps: float = 4.0) -> Path:
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
    return save_gif(images, path, fps=fps if steps.count <= 60 else 12.0)


def export_csv(steps: StepList, path) -> Path:
    return write_csv(path, step_csv_rows(steps))
