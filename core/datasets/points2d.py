"""Two-dimensional toy data sets in the spirit of TensorFlow Playground, and beyond.

Every generator is a pure function of (n, noise, seed) returning float32 numpy
arrays: points ``X`` of shape (n, 2) in roughly [-6, 6]² and targets ``y`` — integer
class labels for classification, floats for regression. The domain is the same as
Playground's so that its lessons carry over.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["Dataset2D", "DATASETS", "make_dataset", "split_train_test", "train_mask", "DOMAIN"]

DOMAIN = (-6.0, 6.0)


@dataclass(frozen=True)
class Dataset2D:
    X: np.ndarray  # (n, 2) float32
    y: np.ndarray  # (n,) int64 class labels, or float32 regression targets
    task: str  # "classification" | "regression"
    n_classes: int  # 0 for regression

    def __len__(self) -> int:
        return len(self.X)


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _circle(n, noise, rng):
    radius = 5.0
    n_in = n // 2
    r = np.concatenate([rng.uniform(0, radius * 0.5, n_in), rng.uniform(radius * 0.7, radius, n - n_in)])
    angle = rng.uniform(0, 2 * np.pi, n)
    X = np.stack([r * np.sin(angle), r * np.cos(angle)], 1)
    X += rng.uniform(-radius, radius, X.shape) * noise
    # Labels come from the clean radius so that noise blurs the boundary as in Playground.
    y = np.concatenate([np.zeros(n_in, np.int64), np.ones(n - n_in, np.int64)])
    return X, y


def _xor(n, noise, rng):
    padding = 0.3
    X = rng.uniform(-5, 5, (n, 2))
    X += np.where(X > 0, padding, -padding)
    y = ((X[:, 0] * X[:, 1]) < 0).astype(np.int64)
    X = X + rng.uniform(-5, 5, X.shape) * noise
    return X, y


def _gaussians(n, noise, rng):
    variance = 0.5 + 3.5 * noise
    n0 = n // 2
    a = rng.normal([2, 2], np.sqrt(variance), (n0, 2))
    b = rng.normal([-2, -2], np.sqrt(variance), (n - n0, 2))
    return np.concatenate([a, b]), np.concatenate([np.zeros(n0, np.int64), np.ones(n - n0, np.int64)])


def _spiral_arms(n, noise, rng, arms):
    per = [n // arms + (1 if i < n % arms else 0) for i in range(arms)]
    X, y = [], []
    for k, m in enumerate(per):
        i = np.arange(m)
        r = i / max(m, 1) * 5
        t = 1.75 * i / max(m, 1) * 2 * np.pi + 2 * np.pi * k / arms
        pts = np.stack([r * np.sin(t), r * np.cos(t)], 1) + rng.uniform(-1, 1, (m, 2)) * noise
        X.append(pts)
        y.append(np.full(m, k, np.int64))
    return np.concatenate(X), np.concatenate(y)


def _spiral(n, noise, rng):
    return _spiral_arms(n, noise, rng, 2)


def _spiral3(n, noise, rng):
    return _spiral_arms(n, noise, rng, 3)


def _moons(n, noise, rng):
    n0 = n // 2
    t0 = rng.uniform(0, np.pi, n0)
    t1 = rng.uniform(0, np.pi, n - n0)
    a = np.stack([np.cos(t0), np.sin(t0)], 1)
    b = np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], 1)
    X = np.concatenate([a, b])
    X = (X - [0.5, 0.25]) * 3.5 + rng.normal(0, 1, X.shape) * noise * 1.5
    return X, np.concatenate([np.zeros(n0, np.int64), np.ones(n - n0, np.int64)])


def _blobs(n, noise, rng, k=4):
    angles = 2 * np.pi * np.arange(k) / k + np.pi / 4
    centres = 3.5 * np.stack([np.cos(angles), np.sin(angles)], 1)
    y = np.arange(n) % k
    X = centres[y] + rng.normal(0, 0.6 + 2.5 * noise, (n, 2))
    return X, y.astype(np.int64)


def _plane(n, noise, rng):
    X = rng.uniform(-6, 6, (n, 2))
    y = (X[:, 0] + X[:, 1]) / 12 + rng.normal(0, 1, n) * noise * 0.5
    return X, y


def _multi_gaussian(n, noise, rng):
    X = rng.uniform(-6, 6, (n, 2))
    bumps = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]
    y = np.zeros(n)
    for cx, cy, sign in bumps:
        y += sign * np.exp(-((X[:, 0] - cx) ** 2 + (X[:, 1] - cy) ** 2) / 2.5)
    y += rng.normal(0, 1, n) * noise * 0.3
    return X, y


_Maker = Callable[[int, float, np.random.Generator], tuple]

# name -> (label, task, classes, maker)
DATASETS: dict[str, tuple[str, str, int, _Maker]] = {
    "circle": ("Circle", "classification", 2, _circle),
    "xor": ("Exclusive or", "classification", 2, _xor),
    "gaussians": ("Two Gaussians", "classification", 2, _gaussians),
    "spiral": ("Spiral", "classification", 2, _spiral),
    "moons": ("Two moons", "classification", 2, _moons),
    "blobs": ("Four blobs", "classification", 4, _blobs),
    "spiral3": ("Three-arm spiral", "classification", 3, _spiral3),
    "plane": ("Plane (regression)", "regression", 0, _plane),
    "multi_gaussian": ("Gaussian bumps (regression)", "regression", 0, _multi_gaussian),
}


def make_dataset(name: str, n: int = 500, noise: float = 0.0, seed: int = 0) -> Dataset2D:
    """Generate a named data set; ``noise`` in [0, 1] as Playground's 0–50 % slider / 50."""
    if name not in DATASETS:
        raise ValueError(f"Unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    if not 2 <= n <= 100_000:
        raise ValueError(f"Number of points must be between 2 and 100000, got {n}")
    if not 0.0 <= noise <= 1.0:
        raise ValueError(f"Noise must be between 0 and 1, got {noise}")
    _, task, k, maker = DATASETS[name]
    X, y = maker(n, noise, _rng(seed))
    X = np.asarray(X, np.float32)
    y = np.asarray(y, np.int64 if task == "classification" else np.float32)
    return Dataset2D(X, y, task, k)


def split_train_test(ds: Dataset2D, train_fraction: float, seed: int = 0) -> tuple[Dataset2D, Dataset2D]:
    """Shuffle and split; both parts keep at least one point."""
    if not 0.05 <= train_fraction <= 0.95:
        raise ValueError(f"Training fraction must be between 5 % and 95 %, got {train_fraction:.0%}")
    n = len(ds)
    if n < 2:
        raise ValueError("Need at least two points to split into training and test data")
    mask = train_mask(n, train_fraction, seed)
    order = _rng(seed + 7919).permutation(n)
    tr, te = order[mask[order]], order[~mask[order]]
    return (
        Dataset2D(ds.X[tr], ds.y[tr], ds.task, ds.n_classes),
        Dataset2D(ds.X[te], ds.y[te], ds.task, ds.n_classes),
    )


def train_mask(n: int, train_fraction: float, seed: int = 0) -> np.ndarray:
    """Which of ``n`` points are training points (bool), as :func:`split_train_test` splits."""
    order = _rng(seed + 7919).permutation(n)
    n_train = min(n - 1, max(1, round(n * train_fraction))) if n >= 2 else n
    mask = np.zeros(n, bool)
    mask[order[:n_train]] = True
    return mask
