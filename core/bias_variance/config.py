"""The bias–variance lab's settings: one frozen config, the model families and their
complexity knobs, the sweeps over a knob, and the checks a config passes before any
work starts (with the memory it would need)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from core.bias_variance.data import make_truth
from core.datasets.points2d import DATASETS

__all__ = [
    "BiasVarConfig",
    "FAMILIES",
    "ANALYSES",
    "KNOBS",
    "CLASS_DATASETS",
    "validate",
    "estimate_memory",
    "MEMORY_LIMIT",
    "sweep_values",
    "sweep_configs",
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
BAG_CHUNK = 10  # bootstrap resamples fitted per batch (bounds memory for large M·B)
# The two-class sets of the 2-D data the classification task draws from
CLASS_DATASETS = [k for k, (_, task, classes, _) in DATASETS.items() if task == "classification" and classes == 2]


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


def sweep_configs(cfg: BiasVarConfig) -> list[tuple[float, BiasVarConfig]]:
    """(value, config with the knob at that value) for every value of the sweep."""
    field = KNOBS[cfg.knob][0]
    return [(v, replace(cfg, **{field: v})) for v in sweep_values(cfg)]


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
