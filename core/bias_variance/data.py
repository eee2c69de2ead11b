"""True functions and repeated noisy data sets for the bias–variance simulation.

A simulation draws ``M`` independent training sets of ``n`` points from the same
truth ``y = f(x) + σ ε`` and evaluates every fitted model on one fixed test grid,
where fresh test noise is drawn too, so that the expected test error is *measured*
and can be compared with bias² + variance + σ².
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from core.safe_expr import ExpressionError, parse_expression

__all__ = ["TRUTHS", "make_truth", "SimData", "sample_data", "streams"]


def _gaussians(x):
    return (
        0.9 * np.exp(-(((x + 0.55) / 0.15) ** 2))
        - 0.7 * np.exp(-(((x - 0.05) / 0.12) ** 2))
        + 1.0 * np.exp(-(((x - 0.6) / 0.2) ** 2))
    )


# name -> (label shown to students, function of a numpy array)
TRUTHS: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = {
    "cos": ("cos(1.5πx)", lambda x: np.cos(1.5 * np.pi * x)),
    "sin": ("sin(3x)", lambda x: np.sin(3.0 * x)),
    "poly": ("x³ − x (cubic)", lambda x: x**3 - x),
    "step": ("step at x = 0", lambda x: np.where(x > 0, 1.0, -1.0)),
    "gaussians": ("sum of Gaussians", _gaussians),
    "formula": ("your formula f(x)", None),
}


def make_truth(name: str, formula: str = "", x_range: tuple[float, float] = (-1.0, 1.0)) -> Callable[[np.ndarray], np.ndarray]:
    """The truth as a numpy function; a user formula goes through the safe parser."""
    if name not in TRUTHS:
        raise ValueError(f"Unknown true function {name!r}; choose one of {', '.join(TRUTHS)}")
    if name != "formula":
        return TRUTHS[name][1]
    try:
        parsed = parse_expression(formula, ("x",))
    except ExpressionError as exc:
        raise ValueError(f"Formula: {exc}") from None

    def truth(x: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):  # non-finite values are reported below, not warned
            return np.broadcast_to(np.asarray(parsed(x), np.float64), np.shape(x)).copy()

    probe = np.linspace(x_range[0], x_range[1], 401)
    try:
        values = truth(probe)
    except (ArithmeticError, TypeError, ValueError) as exc:  # the parser folds constants; never crash
        raise ValueError(f"Formula: cannot be evaluated ({exc})") from None
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(f"Formula: not finite at x = {probe[bad][0]:.3g}; choose another formula or input range")
    if np.abs(values).max() > 1e6:
        raise ValueError("Formula: values above 10⁶ on the input range; scale it down")
    return truth


@dataclass(frozen=True)
class SimData:
    """M training sets and one test grid, as float64 numpy arrays."""

    x: np.ndarray  # (M, n) inputs
    y: np.ndarray  # (M, n) noisy targets
    x_grid: np.ndarray  # (G,) test inputs
    f_grid: np.ndarray  # (G,) truth on the grid
    test_noise: np.ndarray  # (M, G) fresh noise for measuring the test error
    sigma: float


def streams(seed: int, count: int) -> list[np.random.Generator]:
    """Independent random streams, so that changing one part never shifts another."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(count)]


def sample_data(
    truth: Callable[[np.ndarray], np.ndarray],
    x_range: tuple[float, float],
    sigma: float,
    n: int,
    m: int,
    grid: int,
    seed: int,
    design: str = "uniform",
) -> SimData:
    """Draw ``m`` training sets; ``design="grid"`` keeps x fixed (only the noise varies)."""
    lo, hi = x_range
    rng_x, rng_noise, rng_test = streams(seed, 3)
    if design == "grid":
        x = np.broadcast_to(np.linspace(lo, hi, n), (m, n)).copy()
    elif design == "uniform":
        x = rng_x.uniform(lo, hi, (m, n))
    else:
        raise ValueError(f"Unknown design {design!r}; use 'uniform' or 'grid'")
    y = truth(x) + sigma * rng_noise.standard_normal((m, n))
    x_grid = np.linspace(lo, hi, grid)
    f_grid = truth(x_grid)
    test_noise = sigma * rng_test.standard_normal((m, grid))
    return SimData(x, y, x_grid, f_grid, test_noise, float(sigma))
