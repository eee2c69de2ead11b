"""Fitting the M simulated data sets at once: the family dispatcher, progress while
MLPs train, leaving out fits that diverged, and the error scores every analysis reports.

All M fits of one model are computed together (see :mod:`core.bias_variance.fit` and
:mod:`core.bias_variance.mlp`); nothing loops over data sets in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterator

import numpy as np

from core.bias_variance.config import BiasVarConfig
from core.bias_variance.data import SimData, make_truth, sample_data
from core.bias_variance.fit import fit_knn, fit_poly, fit_tree, scale_inputs
from core.bias_variance.mlp import train_mlp
from core.bias_variance.stats import decompose, train_error
from core.devices import torch_device
from core.engine import Diverged, Event, Message, RunControl, Throttle

__all__ = [
    "Progress",
    "fit_predict",
    "mlp_settings",
    "until_predictions",
    "simulate",
    "simulate_finite",
    "simulated_data",
    "error_scores",
    "diverged",
]


@dataclass(frozen=True)
class Progress(Event):
    """How far a long analysis is: ``done`` of ``total`` units, with a label."""

    done: float
    total: float
    label: str = ""


def fit_predict(cfg: BiasVarConfig, x: np.ndarray, y: np.ndarray, w: np.ndarray, xq: np.ndarray, ctl: RunControl | None = None) -> Iterator[Event]:
    """Fit the family of ``cfg`` to every row at once; a generator returning (M, Q).

    Only the MLP yields while it trains (progress); the closed-form fitters return
    at once. Use as ``pred = yield from fit_predict(...)``.
    """
    device = torch_device(cfg.device)
    if cfg.family == "poly":
        t, tq = scale_inputs(x, cfg.x_range), scale_inputs(xq, cfg.x_range)
        fit = fit_poly(t, y, w, tq, cfg.degree, cfg.ridge, device)
        if fit.min_rank < fit.n_coef and cfg.ridge == 0:
            yield Message(
                f"Degree {cfg.degree} has {fit.n_coef} coefficients but some data sets pin down only "
                f"{fit.min_rank}: the minimum-norm fit is used there (or set a ridge λ)."
            )
        return fit.pred
    if cfg.family == "knn":
        if cfg.k >= x.shape[1]:
            yield Message(f"k = {cfg.k} is not below n = {x.shape[1]}: every prediction is the mean of all the points.")
        return fit_knn(x, y, w, xq, cfg.k, device)
    if cfg.family == "tree":
        return fit_tree(x, y, w, xq, cfg.depth)
    steps = train_mlp(scale_inputs(x, cfg.x_range), y, w, scale_inputs(xq, cfg.x_range), device=device, **mlp_settings(cfg))
    return (yield from until_predictions(steps, cfg.epochs, f"training {x.shape[0]} MLPs", ctl))


def mlp_settings(cfg: BiasVarConfig) -> dict:
    """The MLP's shape and training, as keyword arguments of :func:`train_mlp`."""
    return {"width": cfg.width, "layers": cfg.layers, "epochs": cfg.epochs, "lr": cfg.lr, "seed": cfg.seed + 1}


def until_predictions(steps, epochs: int, label: str, ctl: RunControl | None) -> Iterator[Event]:
    """Drive a :func:`train_mlp` run: honour stop/pause, report progress (≤ 20/s),
    return its final predictions."""
    throttle = Throttle(20)
    for epoch, pred in steps:
        if ctl is not None:
            ctl.checkpoint()
        if pred is not None:
            return pred
        if throttle.due():
            yield Progress(epoch, epochs, label)
    raise AssertionError("train_mlp ends with predictions")


def simulate(cfg: BiasVarConfig, data: SimData, ctl: RunControl | None = None) -> Iterator[Event]:
    """Fit all M data sets; returns (predictions on the grid (M, G), on the training points (M, n))."""
    m, n = data.x.shape
    xq = np.concatenate([data.x, np.broadcast_to(data.x_grid, (m, len(data.x_grid)))], 1)
    pred = yield from fit_predict(cfg, data.x, data.y, np.ones_like(data.y), xq, ctl)
    return pred[:, n:], pred[:, :n]


def simulated_data(cfg: BiasVarConfig, n: int | None = None) -> SimData:
    """The M training sets of ``cfg`` (of ``n`` points, default ``cfg.n``) and its test grid."""
    truth = make_truth(cfg.truth, cfg.formula, cfg.x_range)
    return sample_data(truth, cfg.x_range, cfg.noise, n or cfg.n, cfg.m, cfg.grid, cfg.seed, cfg.design)


def error_scores(data: SimData, grid_pred, train_pred) -> dict[str, float]:
    """Bias², variance, noise and test error of the grid predictions, and the training error."""
    scores = decompose(grid_pred, data.f_grid, data.sigma, data.test_noise)
    scores["train_error"] = train_error(train_pred, data.y)
    return scores


def diverged(pred: np.ndarray) -> bool:
    """Whether any prediction is NaN or infinite (an MLP whose loss blew up)."""
    return not np.all(np.isfinite(pred))


def simulate_finite(cfg: BiasVarConfig, data: SimData, ctl: RunControl, where: str, step: int = 0, sweep: bool = False) -> Iterator[Event]:
    """:func:`simulate`, leaving out the fits that diverged (an MLP whose loss became
    NaN/inf; members are independent, so the others stand). Returns (data, grid
    predictions, training predictions) of the finite fits, or None when none is left
    (a Diverged event: of the whole job, or of this point of a sweep)."""
    grid_pred, train_pred = yield from simulate(cfg, data, ctl)
    ok = np.isfinite(grid_pred).all(1) & np.isfinite(train_pred).all(1)
    if ok.all():
        return data, grid_pred, train_pred
    if not ok.any():
        yield Diverged(step, f"{where}: every fit diverged (loss NaN or infinite); lower the learning rate", where if sweep else "")
        return None
    yield Message(f"{where}: {int((~ok).sum())} of {len(ok)} fits diverged and are left out; lower the learning rate")
    kept = replace(data, x=data.x[ok], y=data.y[ok], test_noise=data.test_noise[ok])
    return kept, grid_pred[ok], train_pred[ok]
