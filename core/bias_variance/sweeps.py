"""Bias–variance simulation: one frozen config, one job generator, many analyses.

``biasvar_job(cfg, ctl)`` runs the analysis named by ``cfg.analysis``:

- ``fits``: the M fitted curves at one complexity, their mean, bias and variance;
- ``complexity``: bias², variance, noise, sum, measured test and training error
  against the model's complexity knob (the U-curve);
- ``learning``: the same against the training-set size n (learning curves);
- ``bagging``, ``boosting``, ``cv``, ``early_stopping``: see :mod:`core.bias_variance.ensembles`.

All M fits of one model are computed together (see :mod:`core.bias_variance.fit` and
:mod:`core.bias_variance.mlp`); nothing loops over data sets in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterator

import numpy as np

from core.bias_variance.data import SimData, make_truth, sample_data
from core.bias_variance.fit import fit_knn, fit_poly, fit_tree, scale_inputs
from core.bias_variance.mlp import train_mlp
from core.bias_variance.stats import decompose, pointwise_bias_variance, train_error
from core.devices import torch_device
from core.engine import Diverged, Event, Finished, Message, Metrics, RunControl, Snapshot, Throttle

__all__ = [
    "BiasVarConfig",
    "FAMILIES",
    "ANALYSES",
    "KNOBS",
    "biasvar_job",
    "validate",
    "estimate_memory",
    "MEMORY_LIMIT",
    "fit_predict",
    "sweep_values",
    "sweep_configs",
    "simulate",
    "Progress",
]

FAMILIES = {"poly": "Polynomial", "knn": "k nearest neighbours", "tree": "Tree (CART)", "mlp": "MLP (torch)"}
# The complexity knob of each family: (config field, label, whether a larger value is MORE complex)
KNOBS = {
    "poly": ("degree", "polynomial degree", True),
    "knn": ("k", "neighbours k", False),
    "tree": ("depth", "tree depth", True),
    "mlp": ("width", "hidden units", True),
    "ridge": ("ridge", "ridge λ", False),
}
ANALYSES = ("fits", "complexity", "learning", "bagging", "boosting", "cv", "early_stopping")
MEMORY_LIMIT = 3 * 2**30  # bytes a simulation may allocate at once
CURVES_SHOWN = 60  # fitted curves sent to the GUI; all M enter the statistics


@dataclass(frozen=True)
class BiasVarConfig:
    analysis: str = "fits"
    task: str = "regression"  # or "classification" on a 2-D data set
    dataset: str = "moons"  # classification: a two-class data set of core.datasets.points2d
    class_noise: float = 0.3  # classification: the data set's own noise, 0–1
    truth: str = "cos"
    formula: str = "sin(3*x)"
    x_min: float = 0.0
    x_max: float = 1.0
    noise: float = 0.3  # σ of the label noise
    n: int = 30
    m: int = 200  # repeated data sets
    grid: int = 200  # test grid points
    design: str = "uniform"  # "uniform" random x, or "grid" (fixed x)
    seed: int = 0
    family: str = "poly"
    degree: int = 4
    ridge: float = 0.0
    k: int = 5
    depth: int = 3
    width: int = 16
    layers: int = 1
    epochs: int = 500
    lr: float = 0.01
    sweep_knob: str = ""  # "" = the family's own knob; "ridge" sweeps λ of a polynomial
    sweep: tuple = ()  # values of the knob; () = a default range
    sizes: tuple = (8, 12, 20, 30, 50, 80, 130, 200)
    bags: int = 50  # largest B for bagging
    rounds: int = 100  # boosting rounds
    boost_lr: float = 0.5
    boost_depth: int = 1
    boost_learner: str = "tree"  # weak learner: "tree" (depth boost_depth) or "mlp" (tiny)
    boost_width: int = 3  # hidden units of a tiny-MLP weak learner
    boost_epochs: int = 60  # its full-batch Adam epochs per round
    folds: int = 5
    val_fraction: float = 0.3
    patience: int = 50  # early stopping, in epochs
    device: str = "cpu"

    @property
    def x_range(self) -> tuple[float, float]:
        return (self.x_min, self.x_max)

    @property
    def knob(self) -> str:
        return self.sweep_knob or self.family


@dataclass(frozen=True)
class Progress(Event):
    """How far a long analysis is: ``done`` of ``total`` units, with a label."""

    done: float
    total: float
    label: str = ""


def sweep_values(cfg: BiasVarConfig) -> list:
    if cfg.sweep:
        return list(cfg.sweep)
    if cfg.task == "classification" and cfg.knob in ("poly", "tree"):
        return list(range(1, 9)) if cfg.knob == "poly" else list(range(0, 11))
    return {
        "poly": list(range(0, 16)),
        "knn": [1, 2, 3, 5, 7, 10, 15, 20, 30],
        "tree": list(range(0, 9)),
        "mlp": [1, 2, 4, 8, 16, 32],
        "ridge": [float(v) for v in np.logspace(-8, 2, 11)],
    }[cfg.knob]


def validate(cfg: BiasVarConfig) -> None:
    """Raise ValueError with a student-readable reason for any bad setting."""
    if cfg.analysis not in ANALYSES:
        raise ValueError(f"Unknown analysis {cfg.analysis!r}; choose one of {', '.join(ANALYSES)}")
    if cfg.family not in FAMILIES:
        raise ValueError(f"Unknown model family {cfg.family!r}; choose one of {', '.join(FAMILIES)}")
    if not cfg.x_max > cfg.x_min:
        raise ValueError("The input range needs x max above x min")
    checks = [
        (0 <= cfg.noise <= 100, "Noise σ must be between 0 and 100"),
        (2 <= cfg.n <= 5000, "Training-set size n must be between 2 and 5000"),
        (2 <= cfg.m <= 5000, "Number of data sets M must be between 2 and 5000"),
        (10 <= cfg.grid <= 2000, "Test grid must have between 10 and 2000 points"),
        (0 <= cfg.degree <= 20, "Polynomial degree must be between 0 and 20"),
        (0 <= cfg.ridge <= 1e6, "Ridge λ must be between 0 and 10⁶"),
        (1 <= cfg.k <= 500, "k must be between 1 and 500"),
        (0 <= cfg.depth <= 15, "Tree depth must be between 0 and 15"),
        (1 <= cfg.width <= 512 and 1 <= cfg.layers <= 4, "MLP width must be 1–512 and depth 1–4 layers"),
        (1 <= cfg.epochs <= 20000, "Epochs must be between 1 and 20000"),
        (0 < cfg.lr <= 1, "Learning rate must be in (0, 1]"),
        (1 <= cfg.bags <= 500, "Number of bootstrap resamples B must be between 1 and 500"),
        (1 <= cfg.rounds <= 2000, "Boosting rounds must be between 1 and 2000"),
        (0 < cfg.boost_lr <= 1, "Boosting learning rate must be in (0, 1]"),
        (1 <= cfg.boost_depth <= 6, "Weak learner depth must be between 1 and 6"),
        (cfg.boost_learner in ("tree", "mlp"), "Weak learner must be 'tree' or 'mlp'"),
        (1 <= cfg.boost_width <= 32 and 1 <= cfg.boost_epochs <= 2000, "A tiny MLP weak learner has 1–32 units and 1–2000 epochs"),
        (0.05 <= cfg.val_fraction <= 0.8, "Validation fraction must be between 5 % and 80 %"),
        (cfg.design in ("uniform", "grid"), "Design must be 'uniform' or 'grid'"),
    ]
    for ok, message in checks:
        if not ok:
            raise ValueError(message)
    if cfg.analysis == "cv" and not 2 <= cfg.folds <= cfg.n:
        raise ValueError(f"Number of folds must be between 2 and n = {cfg.n}")
    if cfg.sweep_knob and cfg.sweep_knob not in ("ridge", cfg.family):
        raise ValueError("Only a polynomial's ridge λ can be swept besides the family's own knob")
    if cfg.sweep_knob == "ridge" and cfg.family != "poly":
        raise ValueError("The ridge λ sweep applies to polynomial regression")
    if cfg.analysis in ("complexity", "cv"):
        values = sweep_values(cfg)
        if not values:
            raise ValueError("The sweep needs at least one value")
        for v in values:
            _check_knob(replace(cfg, **{KNOBS[cfg.knob][0]: v}))
    if cfg.analysis == "learning" and (not cfg.sizes or min(cfg.sizes) < 2 or max(cfg.sizes) > 5000):
        raise ValueError("Training-set sizes must be between 2 and 5000")
    if cfg.task not in ("regression", "classification"):
        raise ValueError("Task must be 'regression' or 'classification'")
    if cfg.task == "classification":
        from core.bias_variance.classification import CLASS_DATASETS

        if cfg.analysis not in ("fits", "complexity", "learning"):
            raise ValueError("For classification this lab shows the fits, the U-curve and learning curves; switch to regression for the other pages")
        if cfg.dataset not in CLASS_DATASETS:
            raise ValueError(f"Data set must be one of {', '.join(CLASS_DATASETS)} (two classes)")
        if not 0 <= cfg.class_noise <= 1:
            raise ValueError("Data set noise must be between 0 and 1")
        if cfg.family == "poly" and cfg.degree > 10:
            raise ValueError("For classification the polynomial degree goes up to 10")
    if cfg.analysis == "early_stopping" and cfg.family != "mlp":
        raise ValueError("Early stopping is shown for the MLP; choose the MLP family")
    make_truth(cfg.truth, cfg.formula, cfg.x_range)
    need = estimate_memory(cfg)
    if need > MEMORY_LIMIT:
        raise ValueError(
            f"M = {cfg.m} data sets would need about {need / 2**30:.1f} GiB of memory "
            f"(limit {MEMORY_LIMIT / 2**30:.0f} GiB). Lower M, n or the test grid."
        )


def _check_knob(cfg: BiasVarConfig) -> None:
    validate_knob = {
        "poly": 0 <= cfg.degree <= 20 and 0 <= cfg.ridge <= 1e6,
        "knn": 1 <= cfg.k <= 500,
        "tree": 0 <= cfg.depth <= 15,
        "mlp": 1 <= cfg.width <= 512,
    }[cfg.family]
    if not validate_knob:
        raise ValueError(f"Sweep value out of range for {KNOBS[cfg.knob][1]}")


def estimate_memory(cfg: BiasVarConfig) -> int:
    """Bytes the largest batched fit of this setup allocates (a generous estimate)."""
    n = max([cfg.n, *cfg.sizes]) if cfg.analysis == "learning" else cfg.n
    fits = cfg.m * (min(cfg.bags, BAG_CHUNK) if cfg.analysis == "bagging" else 1)
    q = n + (41 * 41 * 2 if cfg.task == "classification" else cfg.grid)
    base = fits * (q + n) * 8 * 6
    per_family = {
        "poly": fits * q * 21 * 8 * 4,
        "knn": fits * q * n * 8 * 5,
        "tree": fits * n * 8 * 30,
        "mlp": fits * q * cfg.width * cfg.layers * 4 * 6 + fits * cfg.width**2 * cfg.layers * 4 * 8,
    }[cfg.family]
    return int(base + per_family)


BAG_CHUNK = 10  # bootstrap resamples fitted per batch (bounds memory for large M·B)


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


def _data(cfg: BiasVarConfig, n: int | None = None) -> SimData:
    truth = make_truth(cfg.truth, cfg.formula, cfg.x_range)
    return sample_data(truth, cfg.x_range, cfg.noise, n or cfg.n, cfg.m, cfg.grid, cfg.seed, cfg.design)


def _scores(cfg, data: SimData, grid_pred, train_pred) -> dict[str, float]:
    scores = decompose(grid_pred, data.f_grid, data.sigma, data.test_noise)
    scores["train_error"] = train_error(train_pred, data.y)
    return scores


def _diverged(pred: np.ndarray) -> bool:
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


def fits_job(cfg: BiasVarConfig, ctl: RunControl) -> Iterator[Event]:
    ctl.checkpoint()
    result = yield from simulate_finite(cfg, _data(cfg), ctl, "These fits")
    if result is None:
        return
    data, grid_pred, train_pred = result
    mean, bias2_x, var_x = pointwise_bias_variance(grid_pred, data.f_grid)
    scores = _scores(cfg, data, grid_pred, train_pred)
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


def sweep_configs(cfg: BiasVarConfig) -> list[tuple[float, BiasVarConfig]]:
    """(value, config with the knob at that value) for every value of the sweep."""
    field = KNOBS[cfg.knob][0]
    return [(v, replace(cfg, **{field: v})) for v in sweep_values(cfg)]


def complexity_job(cfg: BiasVarConfig, ctl: RunControl) -> Iterator[Event]:
    data = _data(cfg)
    sweep = sweep_configs(cfg)
    results = []
    for i, (v, one) in enumerate(sweep):
        ctl.checkpoint()
        result = yield from simulate_finite(one, data, ctl, f"{KNOBS[cfg.knob][1]} = {v:g}", i, sweep=True)
        if result is None:
            continue
        scores = _scores(one, *result)
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
        data = _data(one, n)
        result = yield from simulate_finite(one, data, ctl, f"n = {n}", i, sweep=True)
        if result is None:
            continue
        yield Metrics(n, {"n": float(n), **_scores(one, *result)})
        yield Progress(i + 1, len(sizes), f"n = {n}")
    yield Finished({"sizes": sizes})


def biasvar_job(cfg: BiasVarConfig, ctl: RunControl) -> Iterator[Event]:
    """The one job of the tab: validates, then runs ``cfg.analysis``."""
    validate(cfg)
    if cfg.task == "classification":
        from core.bias_variance.classification import classification_job

        yield from classification_job(cfg, ctl)
        return
    from core.bias_variance import ensembles as ens

    jobs = {
        "fits": fits_job,
        "complexity": complexity_job,
        "learning": learning_job,
        "bagging": ens.bagging_job,
        "boosting": ens.boosting_job,
        "cv": ens.cv_job,
        "early_stopping": ens.early_stopping_job,
    }
    yield from jobs[cfg.analysis](cfg, ctl)
