"""One curve's numbers: a growable buffer, and how a long one is thinned for the screen."""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import pyqtgraph as pg

__all__ = ["Series", "decimate_peaks"]


def decimate_peaks(x: np.ndarray, y: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` points that keep every bucket's lowest and highest value,
    so a long noisy curve looks the same at screen resolution."""
    buckets = max(1, max_points // 2)
    k = int(np.ceil(len(x) / buckets))
    m = (len(x) // k) * k
    yb = y[:m].reshape(-1, k)
    rows = np.arange(yb.shape[0])[:, None]
    picks = np.sort(np.stack([yb.argmin(1), yb.argmax(1)], 1), axis=1) + rows * k
    idx = np.concatenate([picks.ravel(), np.arange(m, len(x))])
    return x[idx], y[idx]


class Series:
    """A growable (x, y) buffer with doubling capacity.

    ``on_change`` is called when the series turns dirty (not at every append): its plot
    asks for one frame, and the appends until that frame cost nothing more."""

    def __init__(self, name: str, color: str, width_factor: float = 1.0, dash: bool = False, symbol: str | None = None,
                 on_change: Callable[[], None] | None = None):
        self.name = name
        self.color = color
        self.width_factor = width_factor
        self.dash = dash
        self.symbol = symbol
        self._x = np.empty(256)
        self._y = np.empty(256)
        self.n = 0
        self.dirty = False
        self.curve: pg.PlotDataItem | None = None
        self._on_change = on_change

    def _changed(self) -> None:
        if not self.dirty:
            self.dirty = True
            if self._on_change is not None:
                self._on_change()

    def append(self, x: float, y: float) -> None:
        if self.n == len(self._x):
            self._x = np.resize(self._x, 2 * self.n)
            self._y = np.resize(self._y, 2 * self.n)
        self._x[self.n] = x
        self._y[self.n] = y
        self.n += 1
        self._changed()

    def extend(self, xs: Iterable[float], ys: Iterable[float]) -> None:
        xs, ys = np.asarray(xs, float).ravel(), np.asarray(ys, float).ravel()
        need = self.n + len(xs)
        if need > len(self._x):
            cap = max(need, 2 * len(self._x))
            self._x, self._y = np.resize(self._x, cap), np.resize(self._y, cap)
        self._x[self.n : need] = xs
        self._y[self.n : need] = ys
        self.n = need
        self._changed()

    def set(self, xs, ys) -> None:
        self.n = 0
        self.extend(xs, ys)

    @property
    def x(self) -> np.ndarray:
        return self._x[: self.n]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.n]
