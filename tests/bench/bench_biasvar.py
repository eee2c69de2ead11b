"""Benchmark: the bias–variance sweeps, batched vs the same fits in a Python loop.

- Polynomial sweep: degrees 0–15 × M = 200 data sets × n = 30, the whole complexity
  analysis (fits, decomposition, training error). Target ≤ 0.5 s.
- MLP sweep: 5 widths × M = 50 members × 500 full-batch epochs, with live progress.
  Target ≤ 5 s.
- Baselines in the same run: the same fits one data set at a time (the polynomial
  loop in full; the MLP loop on a sample of members, scaled to all 250, since the
  full loop would take minutes).

    python tests/bench/bench_biasvar.py

The last line printed is one JSON object with poly_sweep_s, mlp_sweep_s, speedup_vs_loop
(the smaller of the two speedups) and the details.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402

from core.bias_variance.config import BiasVarConfig  # noqa: E402
from core.bias_variance.data import make_truth, sample_data  # noqa: E402
from core.bias_variance.job import biasvar_job  # noqa: E402
from core.bias_variance.mlp import train_mlp  # noqa: E402
from core.bias_variance.simulation import Progress, fit_predict  # noqa: E402
from core.bias_variance.stats import decompose, train_error  # noqa: E402
from core.devices import configure_threads  # noqa: E402
from core.engine import Metrics, run_headless  # noqa: E402

DEGREES = tuple(range(16))
WIDTHS = (4, 8, 16, 32, 64)
MLP_LOOP_SAMPLE = 3  # members per width trained alone for the loop baseline


def timed(fn, repeats: int = 1) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def drain(gen):
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        return stop.value


def poly_loop(cfg: BiasVarConfig) -> list[dict]:
    """The same sweep, one data set at a time through the same fitter."""
    truth = make_truth(cfg.truth, cfg.formula, cfg.x_range)
    data = sample_data(truth, cfg.x_range, cfg.noise, cfg.n, cfg.m, cfg.grid, cfg.seed, cfg.design)
    rows = []
    for degree in DEGREES:
        one = BiasVarConfig(**{**cfg.__dict__, "degree": degree})
        grid_pred, train_pred = np.empty((cfg.m, cfg.grid)), np.empty((cfg.m, cfg.n))
        for m in range(cfg.m):
            xq = np.concatenate([data.x[m], data.x_grid])[None]
            pred = drain(fit_predict(one, data.x[m : m + 1], data.y[m : m + 1], np.ones((1, cfg.n)), xq))
            train_pred[m], grid_pred[m] = pred[0, : cfg.n], pred[0, cfg.n :]
        rows.append({**decompose(grid_pred, data.f_grid, data.sigma, data.test_noise), "train_error": train_error(train_pred, data.y)})
    return rows


def mlp_loop_per_member(width: int, epochs: int) -> float:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (1, 30))
    xq = np.concatenate([x, np.linspace(-1, 1, 200)[None]], 1)
    t0 = time.perf_counter()
    for i in range(MLP_LOOP_SAMPLE):
        for _ in train_mlp(x, np.cos(4.7 * x), np.ones_like(x), xq, width=width, layers=1, epochs=epochs, lr=0.01, seed=i):
            pass
    return (time.perf_counter() - t0) / MLP_LOOP_SAMPLE


def main() -> None:
    threads = configure_threads()  # as the app does: leave a core for the GUI
    poly_cfg = BiasVarConfig(analysis="complexity", family="poly", m=200, n=30, sweep=DEGREES)
    run_headless(biasvar_job, poly_cfg)  # warm-up (imports, allocator)
    poly_s, events = timed(lambda: run_headless(biasvar_job, poly_cfg), repeats=5)
    batched_rows = [e.values for e in events if isinstance(e, Metrics)]
    poly_loop_s, loop_rows = timed(lambda: poly_loop(poly_cfg))
    agree = max(abs(a["test_error"] - b["test_error"]) / b["test_error"] for a, b in zip(batched_rows, loop_rows))
    print(f"polynomial sweep: batched {poly_s:.3f} s, loop {poly_loop_s:.3f} s (max rel. difference {agree:.1e})")

    mlp_cfg = BiasVarConfig(analysis="complexity", family="mlp", m=50, n=30, epochs=500, sweep=WIDTHS)
    for _ in train_mlp(np.zeros((2, 4)), np.zeros((2, 4)), np.ones((2, 4)), np.zeros((2, 4)), width=4, layers=1, epochs=5, lr=0.01, seed=0):
        pass  # warm-up: the first optimizer step imports and initialises much of torch
    progress: list[float] = []
    t0 = time.perf_counter()
    events = run_headless(biasvar_job, mlp_cfg, on_event=lambda e: progress.append(time.perf_counter() - t0) if isinstance(e, Progress) else None)
    mlp_s = time.perf_counter() - t0
    gaps = np.diff([0.0, *progress, mlp_s])
    mlp_loop_s = sum(mlp_loop_per_member(w, mlp_cfg.epochs) for w in WIDTHS) * mlp_cfg.m
    print(
        f"MLP sweep: batched {mlp_s:.2f} s ({len(progress)} progress events, longest gap {gaps.max() * 1000:.0f} ms), "
        f"loop {mlp_loop_s:.1f} s (scaled from {MLP_LOOP_SAMPLE} members per width)"
    )
    poly_speedup, mlp_speedup = poly_loop_s / poly_s, mlp_loop_s / mlp_s
    print(
        json.dumps(
            {
                "poly_sweep_s": round(poly_s, 4),
                "mlp_sweep_s": round(mlp_s, 3),
                "speedup_vs_loop": round(min(poly_speedup, mlp_speedup), 1),
                "poly_speedup": round(poly_speedup, 1),
                "mlp_speedup": round(mlp_speedup, 1),
                "poly_loop_s": round(poly_loop_s, 3),
                "mlp_loop_s_scaled": round(mlp_loop_s, 1),
                "mlp_progress_events": len(progress),
                "mlp_longest_progress_gap_s": round(float(gaps.max()), 3),
                "torch_threads": threads,
            }
        )
    )


if __name__ == "__main__":
    main()
