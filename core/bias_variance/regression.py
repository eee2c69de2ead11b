"""The regression analyses of one model family: its M fits at one complexity (mean,
bias and variance along x), the U-curve of bias², variance, noise and errors against
the complexity knob, and learning curves against the training-set size n."""

from __future__ import annotations

from dataclasses import replace
from typing import Iterator

import numpy as np

from core.bias_variance.config import CURVES_SHOWN, KNOBS, BiasVarConfig, sweep_configs
from core.bias_variance.simulation import Progress, error_scores, simulate_finite, simulated_data
from core.bias_variance.stats import pointwise_bias_variance
from core.engine import Event, Finished, Metrics, RunControl, Snapshot

__all__ = ["fits_job", "complexity_job", "learning_job"]


def fits_job(cfg: BiasVarConfig, ctl: RunControl) -> Iterator[Event]:
    ctl.checkpoint()
    result = yield from simulate_finite(cfg, simulated_data(cfg), ctl, "These fits")
    if result is None:
        return
    data, grid_pred, train_pred = result
    mean, bias2_x, var_x = pointwise_bias_variance(grid_pred, data.f_grid)
    scores = error_scores(data, grid_pred, train_pred)
    yield Snapshot(
        0,
        "fits",
        {
            "x": data.x_grid,
            "truth": data.f_grid,
            "curves": grid_pred[:CURVES_SHOWN],
            "mean": mean,
            "std": np.sqrt(var_x),
            "bias2_x": bias2_x,
            "var_x": var_x,
            "sample_x": data.x[0],
            "sample_y": data.y[0],
            "scores": scores,
            "complexity": getattr(cfg, KNOBS[cfg.family][0]),
        },
    )
    yield Finished(scores)


def complexity_job(cfg: BiasVarConfig, ctl: RunControl) -> Iterator[Event]:
    data = simulated_data(cfg)
    sweep = sweep_configs(cfg)
    results = []
    for i, (v, one) in enumerate(sweep):
        ctl.checkpoint()
        result = yield from simulate_finite(one, data, ctl, f"{KNOBS[cfg.knob][1]} = {v:g}", i, sweep=True)
        if result is None:
            continue
        scores = error_scores(*result)
        results.append((v, scores))
        yield Metrics(i, {"complexity": float(v), **scores})
        yield Progress(i + 1, len(sweep), f"{KNOBS[cfg.knob][1]} = {v:g}")
    yield Finished(_sweep_summary(cfg, results))


def _sweep_summary(cfg: BiasVarConfig, results: list) -> dict:
    if not results:
        return {}
    best_v, best = min(results, key=lambda r: r[1]["test_error"])
    return {"best": best_v, "best_test_error": best["test_error"], "knob": cfg.knob}


def learning_job(cfg: BiasVarConfig, ctl: RunControl) -> Iterator[Event]:
    sizes = sorted(set(int(s) for s in cfg.sizes))
    for i, n in enumerate(sizes):
        ctl.checkpoint()
        one = replace(cfg, n=n, k=min(cfg.k, n))
        data = simulated_data(one, n)
        result = yield from simulate_finite(one, data, ctl, f"n = {n}", i, sweep=True)
        if result is None:
            continue
        yield Metrics(n, {"n": float(n), **error_scores(*result)})
        yield Progress(i + 1, len(sizes), f"n = {n}")
    yield Finished({"sizes": sizes})
