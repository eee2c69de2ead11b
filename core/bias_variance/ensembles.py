"""Bagging, boosting, k-fold cross-validation and early stopping, simulated.

Each is a job of :func:`core.bias_variance.job.biasvar_job`. Resamples and folds are sample
weights (see :mod:`core.bias_variance.fit`), so all M data sets × B resamples (or K folds)
are fitted in one batched call.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterator

import numpy as np

from core.bias_variance.config import BAG_CHUNK, CURVES_SHOWN, KNOBS, BiasVarConfig, sweep_configs
from core.bias_variance.data import streams
from core.bias_variance.fit import fit_tree, scale_inputs
from core.bias_variance.mlp import train_mlp
from core.bias_variance.simulation import Progress, diverged, error_scores, fit_predict, mlp_settings, simulate, simulated_data
from core.bias_variance.stats import bootstrap_weights, decompose, kfold_weights, pointwise_bias_variance, train_error
from core.devices import torch_device
from core.engine import Diverged, Event, Finished, Message, Metrics, MetricsBuffer, RunControl, Snapshot, Throttle

__all__ = ["bagging_job", "boosting_job", "cv_job", "early_stopping_job", "bagged_predictions", "early_stop_epoch"]


def _queries(x: np.ndarray, x_grid: np.ndarray) -> np.ndarray:
    return np.concatenate([x, np.broadcast_to(x_grid, (x.shape[0], len(x_grid)))], 1)


def bagged_predictions(cfg: BiasVarConfig, x, y, xq, weights, ctl: RunControl | None = None) -> Iterator[Event]:
    """Fit every (data set, resample) pair; returns (M, B, Q) predictions.

    ``weights`` (M, B, n) are bootstrap counts; resamples are fitted BAG_CHUNK at a
    time (each chunk is one batched fit of M·chunk models) to bound memory.
    """
    m, b, n = weights.shape
    out = np.empty((m, b, xq.shape[1]))
    for start in range(0, b, BAG_CHUNK):
        stop = min(b, start + BAG_CHUNK)
        c = stop - start
        if ctl is not None:
            ctl.checkpoint()
        # row m·c + j = set m, resample j
        x_rep, y_rep, xq_rep = (np.repeat(a, c, axis=0) for a in (x, y, xq))
        w = weights[:, start:stop].reshape(m * c, n)
        pred = yield from fit_predict(cfg, x_rep, y_rep, w, xq_rep, ctl)
        out[:, start:stop] = pred.reshape(m, c, -1)
        yield Progress(stop, b, f"{stop} of {b} bootstrap resamples")
    return out


def bagging_job(cfg: BiasVarConfig, ctl: RunControl) -> Iterator[Event]:
    data = simulated_data(cfg)
    m, n = data.x.shape
    xq = _queries(data.x, data.x_grid)
    single = yield from fit_predict(cfg, data.x, data.y, np.ones_like(data.y), xq, ctl)
    ref = error_scores(data, single[:, n:], single[:, :n])
    (rng,) = streams(cfg.seed + 101, 1)
    weights = bootstrap_weights(m, cfg.bags, n, rng)
    preds = yield from bagged_predictions(cfg, data.x, data.y, xq, weights, ctl)
    running = np.cumsum(preds, axis=1)
    for b in range(1, cfg.bags + 1):
        bagged = running[:, b - 1] / b
        scores = error_scores(data, bagged[:, n:], bagged[:, :n])
        yield Metrics(b, {"B": float(b), **scores, **{f"single_{k}": v for k, v in ref.items()}})
    final = running[:, -1] / cfg.bags
    yield Snapshot(
        cfg.bags,
        "bagging",
        {
            "x": data.x_grid,
            "truth": data.f_grid,
            "resamples": preds[0, :CURVES_SHOWN, n:],
            "bagged": final[0, n:],
            "single": single[0, n:],
            "sample_x": data.x[0],
            "sample_y": data.y[0],
            "counts": weights[0, 0],
        },
    )
    last = error_scores(data, final[:, n:], final[:, :n])
    reduction = 1.0 - last["variance"] / ref["variance"] if ref["variance"] > 0 else 0.0
    yield Finished({"single": ref, "bagged": last, "variance_reduction": reduction})


def boosting_job(cfg: BiasVarConfig, ctl: RunControl) -> Iterator[Event]:
    """Gradient boosting with squared loss: each round fits a weak learner — a shallow
    tree, or a batch of tiny MLPs — to the residuals of all M ensembles at once."""
    data = simulated_data(cfg)
    m, n = data.x.shape
    xq = _queries(data.x, data.x_grid)
    w = np.ones_like(data.y)
    ensemble = np.broadcast_to(data.y.mean(1, keepdims=True), xq.shape).copy()
    buffer, throttle = MetricsBuffer(), Throttle(30)

    def record(r: int, learner: np.ndarray | None) -> Iterator[Event]:
        scores = error_scores(data, ensemble[:, n:], ensemble[:, :n])
        buffer.add(r, **scores)
        if throttle.due() or ctl.paused or r == cfg.rounds:
            yield buffer.flush()
            yield Progress(r, cfg.rounds, f"round {r}")
            mean, _, var = pointwise_bias_variance(ensemble[:, n:], data.f_grid)
            yield Snapshot(
                r,
                "boosting",
                {
                    "x": data.x_grid,
                    "truth": data.f_grid,
                    "ensemble": ensemble[0, n:].copy(),
                    "learner": None if learner is None else learner[0, n:].copy(),
                    "residual": data.y[0] - ensemble[0, :n],
                    "sample_x": data.x[0],
                    "sample_y": data.y[0],
                    "mean": mean,
                    "std": np.sqrt(var),
                    "round": r,
                },
            )

    yield from record(0, None)
    for r in range(1, cfg.rounds + 1):
        ctl.checkpoint()
        residual = data.y - ensemble[:, :n]
        if cfg.boost_learner == "mlp":
            weak = yield from _tiny_mlp(cfg, data.x, residual, xq, r, ctl)
        else:
            weak = fit_tree(data.x, residual, w, xq, cfg.boost_depth)
        learner = cfg.boost_lr * weak
        ensemble += learner
        yield from record(r, learner)
    yield Finished({"rounds": cfg.rounds})


def _tiny_mlp(cfg: BiasVarConfig, x, residual, xq, round_: int, ctl: RunControl) -> Iterator[Event]:
    """One boosting round's weak learners: M tiny MLPs (fresh seeds each round)."""
    steps = train_mlp(
        scale_inputs(x, cfg.x_range), residual, np.ones_like(residual), scale_inputs(xq, cfg.x_range),
        width=cfg.boost_width, layers=1, epochs=cfg.boost_epochs, lr=0.03, seed=cfg.seed + 7 * round_, device=torch_device(cfg.device),
    )
    for _, pred in steps:
        ctl.checkpoint()
        if pred is not None:
            return pred
    raise AssertionError("train_mlp ends with predictions")
    yield  # a generator, like the other fitters


def cv_job(cfg: BiasVarConfig, ctl: RunControl) -> Iterator[Event]:
    """K-fold CV on one data set (what a student would have) vs the simulated truth."""
    data = simulated_data(cfg)
    n = cfg.n
    (rng,) = streams(cfg.seed + 202, 1)
    fold_of, train_w = kfold_weights(n, cfg.folds, rng)
    x0, y0 = data.x[:1], data.y[:1]
    yield Snapshot(0, "folds", {"fold_of": fold_of, "x": x0[0], "y": y0[0], "folds": cfg.folds})
    sweep = sweep_configs(cfg)
    results = []
    for i, (v, one) in enumerate(sweep):
        ctl.checkpoint()
        if one.family == "knn":
            one = replace(one, k=min(one.k, n - int(np.ceil(n / cfg.folds))))
        rep = lambda a: np.repeat(a, cfg.folds, axis=0)  # noqa: E731
        held = yield from fit_predict(one, rep(x0), rep(y0), train_w, rep(x0), ctl)
        in_fold = 1.0 - train_w
        per_fold = (in_fold * (held - y0) ** 2).sum(1) / in_fold.sum(1)
        grid_pred, train_pred = yield from simulate(one, data, ctl)
        if diverged(grid_pred) or diverged(per_fold):
            yield Message(f"{KNOBS[cfg.knob][1]} = {v:g}: some fits diverged and are left out")
            continue
        scores = error_scores(data, grid_pred, train_pred)
        cv = {"cv_mean": float(per_fold.mean()), "cv_std": float(per_fold.std(ddof=1))}
        results.append((v, cv["cv_mean"], scores["test_error"]))
        yield Metrics(i, {"complexity": float(v), **cv, **scores})
        yield Progress(i + 1, len(sweep), f"{KNOBS[cfg.knob][1]} = {v:g}")
    if results:
        chosen = min(results, key=lambda r: r[1])
        best = min(results, key=lambda r: r[2])
        yield Finished(
            {
                "cv_choice": chosen[0],
                "true_choice": best[0],
                "cv_choice_test_error": chosen[2],
                "true_best_test_error": best[2],
                "knob": cfg.knob,
            }
        )
    else:
        yield Finished({})


def early_stop_epoch(epochs: np.ndarray, val: np.ndarray, patience: int) -> int:
    """Epoch of the best validation error, stopping once it has not improved for
    ``patience`` epochs (as a training loop with early stopping would)."""
    best_i = 0
    for i in range(len(val)):
        if val[i] < val[best_i]:
            best_i = i
        elif epochs[i] - epochs[best_i] >= patience:
            break
    return int(epochs[best_i])


def early_stopping_job(cfg: BiasVarConfig, ctl: RunControl) -> Iterator[Event]:
    data = simulated_data(cfg)
    m, n = data.x.shape
    (rng,) = streams(cfg.seed + 303, 1)
    n_val = max(1, min(n - 1, round(cfg.val_fraction * n)))
    val_w = np.zeros((m, n))
    val_w[np.arange(m)[:, None], np.argsort(rng.random((m, n)), 1)[:, :n_val]] = 1.0
    train_w = 1.0 - val_w
    xq = _queries(data.x, data.x_grid)
    every = max(1, cfg.epochs // 100)  # ~100 points per curve
    buffer, throttle = MetricsBuffer(), Throttle(30)
    epochs, vals, tests = [], [], []
    inputs, queries = scale_inputs(data.x, cfg.x_range), scale_inputs(xq, cfg.x_range)
    device = torch_device(cfg.device)
    for epoch, pred in train_mlp(inputs, data.y, train_w, queries, device=device, predict_every=every, **mlp_settings(cfg)):
        ctl.checkpoint()
        if pred is None:
            continue
        if diverged(pred):
            chunk = buffer.flush()
            if chunk is not None:
                yield chunk
            yield Diverged(epoch, "the MLPs' loss became NaN or infinite; lower the learning rate")
            break
        grid = pred[:, n:]
        scores = decompose(grid, data.f_grid, data.sigma, data.test_noise)
        val = train_error(pred[:, :n], data.y, val_w)
        epochs.append(epoch)
        vals.append(val)
        tests.append(scores["test_error"])
        buffer.add(epoch, train_error=train_error(pred[:, :n], data.y, train_w), val_error=val, **scores)
        if throttle.due() or epoch == cfg.epochs:
            yield buffer.flush()
            yield Progress(epoch, cfg.epochs, f"epoch {epoch}")
    if not epochs:
        yield Finished({})
        return
    stop = early_stop_epoch(np.array(epochs), np.array(vals), cfg.patience)
    best = epochs[int(np.argmin(tests))]
    yield Finished(
        {
            "stop_epoch": stop,
            "best_epoch": best,
            "stop_test_error": tests[epochs.index(stop)],
            "best_test_error": min(tests),
            "final_test_error": tests[-1],
        }
    )
