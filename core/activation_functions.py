"""Activation functions: one registry for every lab, curves and derivatives by autograd,
and properties measured from torch rather than written by hand.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ParamSpec",
    "ActivationSpec",
    "ACTIVATIONS",
    "make_activation",
    "activation_module",
    "check_params",
    "curves",
    "Properties",
    "measure_properties",
]


@dataclass(frozen=True)
class ParamSpec:
    name: str
    label: str
    default: float
    minimum: float
    maximum: float


@dataclass(frozen=True)
class ActivationSpec:
    key: str
    label: str
    fn: Callable[..., torch.Tensor]  # fn(x, **params)
    params: tuple[ParamSpec, ...] = ()
    module: Callable[..., nn.Module] | None = None  # module(**params)

    def defaults(self) -> dict[str, float]:
        return {p.name: p.default for p in self.params}


SLOPE = ParamSpec("negative_slope", "Leaky slope", 0.01, 0.0, 1.0)
ALPHA = ParamSpec("alpha", "α", 1.0, 0.05, 5.0)
BETA = ParamSpec("beta", "β", 1.0, 0.1, 10.0)

ACTIVATIONS: dict[str, ActivationSpec] = {
    s.key: s
    for s in [
        ActivationSpec("sigmoid", "Sigmoid", lambda x: torch.sigmoid(x), module=lambda: nn.Sigmoid()),
        ActivationSpec("tanh", "Tanh", lambda x: torch.tanh(x), module=lambda: nn.Tanh()),
        ActivationSpec("relu", "ReLU", lambda x: F.relu(x), module=lambda: nn.ReLU()),
        ActivationSpec(
            "leaky_relu",
            "Leaky ReLU",
            lambda x, negative_slope=0.01: F.leaky_relu(x, negative_slope),
            (SLOPE,),
            lambda negative_slope=0.01: nn.LeakyReLU(negative_slope),
        ),
        ActivationSpec("elu", "ELU", lambda x, alpha=1.0: F.elu(x, alpha), (ALPHA,), lambda alpha=1.0: nn.ELU(alpha)),
        ActivationSpec("selu", "SELU", lambda x: F.selu(x), module=lambda: nn.SELU()),
        ActivationSpec("gelu", "GELU", lambda x: F.gelu(x), module=lambda: nn.GELU()),
        ActivationSpec("silu", "SiLU / Swish", lambda x: F.silu(x), module=lambda: nn.SiLU()),
        ActivationSpec(
            "softplus", "Softplus", lambda x, beta=1.0: F.softplus(x, beta), (BETA,), lambda beta=1.0: nn.Softplus(beta)
        ),
        ActivationSpec("mish", "Mish", lambda x: F.mish(x), module=lambda: nn.Mish()),
        ActivationSpec("hardtanh", "Hard tanh", lambda x: F.hardtanh(x), module=lambda: nn.Hardtanh()),
        ActivationSpec("linear", "Linear (identity)", lambda x: x, module=lambda: nn.Identity()),
    ]
}


def check_params(key: str, params: Mapping[str, float] | None) -> dict[str, float]:
    """The full parameter dict for ``key``; ValueError for unknown names or bad values."""
    if not (isinstance(key, str) and key in ACTIVATIONS):
        raise ValueError(f"Unknown activation {key!r}; choose one of {', '.join(ACTIVATIONS)}")
    spec = ACTIVATIONS[key]
    values = spec.defaults()
    for name, v in (params or {}).items():
        match = [p for p in spec.params if p.name == name]
        if not match:
            continue  # parameters of other functions are simply not used here
        p = match[0]
        # The range first: math.isfinite() of an int beyond float's range raises.
        if not (isinstance(v, (int, float)) and not isinstance(v, bool) and p.minimum <= v <= p.maximum and math.isfinite(v)):
            raise ValueError(f"{spec.label}: {p.label} must be between {p.minimum} and {p.maximum}, got {v}")
        values[name] = float(v)
    return values


def make_activation(key: str, params: Mapping[str, float] | None = None) -> Callable[[torch.Tensor], torch.Tensor]:
    """A tensor function for the activation ``key`` with its parameters bound."""
    values = check_params(key, params)
    fn = ACTIVATIONS[key].fn
    return lambda x: fn(x, **values)


def activation_module(key: str, params: Mapping[str, float] | None = None) -> nn.Module:
    """The torch.nn module for ``key`` (what a network built by a lab contains)."""
    values = check_params(key, params)
    return ACTIVATIONS[key].module(**values)


def curves(keys, params: Mapping[str, float] | None, x_min: float, x_max: float, n: int = 801) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """For each key: (x, f(x), f'(x)), the derivative by autograd in float64."""
    if not (math.isfinite(x_min) and math.isfinite(x_max)) or x_min >= x_max:
        raise ValueError("The x range needs a minimum below its maximum")
    out = {}
    for key in keys:
        f = make_activation(key, params)
        x = torch.linspace(x_min, x_max, n, dtype=torch.float64, requires_grad=True)
        y = f(x)
        (grad,) = torch.autograd.grad(y.sum(), x)
        out[key] = (x.detach().numpy(), y.detach().numpy(), grad.numpy())
    return out


# -- properties --------------------------------------------------------------------


@dataclass(frozen=True)
class Properties:
    output_range: str
    zero_centred: str
    saturating: str
    monotonic: str
    differentiable_at_0: str
    mean_for_normal_input: float
    lower: float
    upper: float


def _fmt(v: float) -> str:
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    if abs(v) < 1e-9:
        v = 0.0  # grid points such as −4e−16 are zero
    s = f"{v:.3g}"
    return s.replace("-", "−")


def measure_properties(key: str, params: Mapping[str, float] | None = None) -> Properties:
    """Measure, with torch in float64, what students are told about an activation.

    Cached per function and its own parameters: the explorer asks again on every
    slider move and every cost update, and each measurement takes ~10 ms.
    """
    values = check_params(key, params)
    return _measure_properties(key, tuple(sorted(values.items())))


# Properties are read off a grid dense near 0 (steps of ~4e-4) that reaches ±1000, far
# enough for every parameter the registry allows (softplus with β = 0.1 saturates below
# x ≈ −46); limits at ±∞ come from the function's slope far out, not from the grid.
GRID_REACH = 1000.0
FAR = 1e8
SATURATED_SLOPE = 0.01


def _slope(f, x: float) -> float:
    xt = torch.tensor([x], dtype=torch.float64, requires_grad=True)
    (d,) = torch.autograd.grad(f(xt).sum(), xt)
    return float(d[0])


def _limit(f, direction: float) -> float:
    """lim f(x) for x → direction·∞: infinite while the slope far out is not exactly 0."""
    slope = _slope(f, direction * FAR)
    if slope != 0.0:
        return math.copysign(math.inf, slope * direction)
    return float(f(torch.tensor([direction * FAR], dtype=torch.float64))[0]) + 0.0


def _saturation_edge(f, flat_x: float, steep_x: float) -> float:
    """Where |f′| crosses SATURATED_SLOPE between a flat and a steep grid point (bisection)."""
    for _ in range(60):
        mid = 0.5 * (flat_x + steep_x)
        if abs(_slope(f, mid)) < SATURATED_SLOPE:
            flat_x = mid
        else:
            steep_x = mid
    return 0.5 * (flat_x + steep_x)


@functools.lru_cache(maxsize=256)
def _measure_properties(key: str, params: tuple[tuple[str, float], ...]) -> Properties:
    f = make_activation(key, dict(params))
    u = torch.linspace(-math.asinh(GRID_REACH), math.asinh(GRID_REACH), 40001, dtype=torch.float64)
    x = torch.sinh(u).requires_grad_(True)
    y = f(x)
    (d,) = torch.autograd.grad(y.sum(), x)
    xs, ys, ds = x.detach().numpy(), y.detach().numpy(), d.numpy()

    def bound(upper: bool) -> tuple[float, str]:
        v = float(ys.max() if upper else ys.min())
        hits = xs[ys == v]
        limit = _limit(f, 1.0 if upper else -1.0)
        if np.abs(hits).min() < 10 and (limit == v or (limit > v) != upper):
            # Reached at a finite point (hard tanh at ±1, ReLU at 0, GELU's dip): closed.
            return v, ("]" if upper else "[")
        # Approached only far out: the end is the limit, open (or infinite).
        return limit, (")" if upper else "(")

    lo, lb = bound(upper=False)
    hi, rb = bound(upper=True)
    output_range = f"{lb}{_fmt(lo)}, {_fmt(hi)}{rb}"

    g = torch.Generator().manual_seed(0)
    z = torch.randn(200_000, generator=g, dtype=torch.float64)
    mean = round(float(f(z).mean()), 2) + 0.0  # + 0.0 turns −0.0 into 0.0
    zero_centred = f"yes (mean {mean:+.2f} for N(0,1) input)" if abs(mean) < 0.05 else f"no (mean {mean:+.2f} for N(0,1) input)"

    flat = np.abs(ds) < SATURATED_SLOPE
    regions = []
    if flat[0] and not flat.all():
        last_flat = int(np.argmin(flat)) - 1
        regions.append(f"x < {_fmt(_saturation_edge(f, xs[last_flat], xs[last_flat + 1]))}")
    if flat[-1] and not flat.all():
        first_flat = len(flat) - int(np.argmin(flat[::-1]))
        regions.append(f"x > {_fmt(_saturation_edge(f, xs[first_flat], xs[first_flat - 1]))}")
    saturating = " and ".join(regions) if regions else "none"
    if flat.all():
        saturating = "everywhere"

    monotonic = "yes" if (ds >= -1e-9).all() else f"no (f′ down to {_fmt(ds.min())})"

    h = 1e-6
    xl = torch.tensor([-h, h], dtype=torch.float64, requires_grad=True)
    (dl,) = torch.autograd.grad(f(xl).sum(), xl)
    left, right = float(dl[0]), float(dl[1])
    differentiable = "yes" if abs(left - right) < 1e-3 else f"no (f′ jumps {_fmt(left)} → {_fmt(right)})"
    return Properties(output_range, zero_centred, saturating, monotonic, differentiable, mean, lo, hi)
