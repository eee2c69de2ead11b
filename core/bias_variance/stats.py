"""The numbers of the bias–variance lesson, from simulated predictions.

With predictions ``P`` (M, G) of M models on a test grid, the truth ``f`` (G,) and
fresh test noise ``ε`` (M, G) of standard deviation σ:

    variance  = mean_x s²_m P                      (sample variance over the M fits)
    bias²     = mean_x [(mean_m P − f)² − s²_m P / M]
    noise     = σ²
    test err  = mean_{m,x} (f + ε − P)²   (measured, not assumed)

Both are unbiased estimates. The plug-in bias² (mean_m P − f)² carries an extra
variance/M, because the mean of M fits is itself noisy: for a flexible model it would
show a large bias where the true bias is near zero. The unbiased estimate can dip a
little below zero by Monte-Carlo error. Still ``mean_m (f − P)² = bias² + variance``
exactly, so the measured test error differs from bias² + variance + σ² only by
Monte-Carlo error of the test noise.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "decompose",
    "train_error",
    "kfold_weights",
    "bootstrap_weights",
    "pointwise_bias_variance",
]


def pointwise_bias_variance(pred: np.ndarray, f_grid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean prediction and the unbiased bias² and variance over the M fits, at every grid point.

    With a single fit nothing can be said about its variance: it is 0 and bias² the plug-in."""
    m = pred.shape[0]
    mean = pred.mean(0)
    if m < 2:
        return mean, (mean - f_grid) ** 2, np.zeros_like(mean)
    var = pred.var(0, ddof=1)
    return mean, (mean - f_grid) ** 2 - var / m, var


def decompose(pred: np.ndarray, f_grid: np.ndarray, sigma: float, test_noise: np.ndarray) -> dict[str, float]:
    """Bias², variance, noise, their sum and the measured expected test error."""
    _, bias2, var = pointwise_bias_variance(pred, f_grid)
    measured = np.mean((f_grid + test_noise - pred) ** 2)
    b, v, s2 = float(bias2.mean()), float(var.mean()), float(sigma) ** 2
    return {"bias2": b, "variance": v, "noise": s2, "total": b + v + s2, "test_error": float(measured)}


def train_error(pred_train: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> float:
    """Mean squared error on the points each model was fitted to (weighted)."""
    if w is None:
        return float(np.mean((y - pred_train) ** 2))
    return float(np.sum(w * (y - pred_train) ** 2) / np.sum(w))


def kfold_weights(n: int, folds: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Fold of every point (a random partition into near-equal folds) and, per fold,
    training weights (folds, n): 1 outside the fold, 0 in it."""
    if not 2 <= folds <= n:
        raise ValueError(f"Number of folds must be between 2 and n = {n}, got {folds}")
    fold_of = np.empty(n, np.int64)
    fold_of[rng.permutation(n)] = np.arange(n) % folds
    train = (fold_of[None, :] != np.arange(folds)[:, None]).astype(np.float64)
    return fold_of, train


def bootstrap_weights(m: int, b: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """(m, b, n) counts: how often each point appears in each of b resamples of size n."""
    idx = rng.integers(0, n, (m, b, n))
    counts = np.zeros((m, b, n))
    np.add.at(counts, (np.arange(m)[:, None, None], np.arange(b)[None, :, None], idx), 1.0)
    return counts
