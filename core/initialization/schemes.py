"""Weight initialization schemes: torch.nn.init where torch has them, the standard
deviation each implies as a formula with the numbers filled in, and LSUV-style
data-dependent scaling.

A weight matrix has shape ``(fan_out, fan_in)`` as in ``torch.nn.Linear``. Every scheme
is applied with the torch.nn.init function of the same name so that what students see
is exactly what ``nn.Linear`` plus that call would give them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import torch

__all__ = [
    "SchemeParam",
    "InitScheme",
    "SCHEMES",
    "KAIMING_NONLINEARITIES",
    "SchemeChoice",
    "check_scheme",
    "init_weight_",
    "kaiming_gain",
    "implied_std",
    "formula",
    "nonlinearity_for_activation",
    "lsuv_scale_",
]

# The nonlinearities torch.nn.init.calculate_gain knows and that fit a fully connected layer.
KAIMING_NONLINEARITIES = ("relu", "leaky_relu", "tanh", "sigmoid", "selu", "linear")
MODES = ("fan_in", "fan_out")


@dataclass(frozen=True)
class SchemeParam:
    """One adjustable number (``choices`` empty) or one choice among strings."""

    name: str
    label: str
    default: float | str
    minimum: float = 0.0
    maximum: float = 0.0
    log: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class InitScheme:
    key: str
    label: str
    params: tuple[SchemeParam, ...] = ()
    data_dependent: bool = False

    def defaults(self) -> dict[str, float | str]:
        return {p.name: p.default for p in self.params}


_GAIN = SchemeParam("gain", "Gain", 1.0, 0.01, 10.0, log=True)
_MODE = SchemeParam("mode", "Mode", "fan_in", choices=MODES)
_NONLIN = SchemeParam("nonlinearity", "Nonlinearity", "relu", choices=KAIMING_NONLINEARITIES)
_SLOPE = SchemeParam("a", "Leaky slope a", 0.01, 0.0, 1.0)

SCHEMES: dict[str, InitScheme] = {
    s.key: s
    for s in [
        InitScheme("zeros", "Zeros", ()),
        InitScheme("constant", "Constant", (SchemeParam("value", "Value c", 0.1, -10.0, 10.0),)),
        InitScheme("small_normal", "Small Gaussian", (SchemeParam("std", "σ", 0.01, 1e-6, 100.0, log=True),)),
        InitScheme("large_normal", "Large Gaussian", (SchemeParam("std", "σ", 1.0, 1e-6, 100.0, log=True),)),
        InitScheme("uniform", "Uniform ±a", (SchemeParam("bound", "Bound a", 0.05, 1e-6, 100.0, log=True),)),
        InitScheme("xavier_uniform", "Xavier uniform", (_GAIN,)),
        InitScheme("xavier_normal", "Xavier normal", (_GAIN,)),
        InitScheme("kaiming_uniform", "Kaiming uniform", (_MODE, _NONLIN, _SLOPE)),
        InitScheme("kaiming_normal", "Kaiming normal", (_MODE, _NONLIN, _SLOPE)),
        InitScheme("orthogonal", "Orthogonal", (_GAIN,)),
        InitScheme(
            "lsuv",
            "LSUV (data-dependent)",
            (SchemeParam("tolerance", "Variance tolerance", 0.05, 0.001, 0.5, log=True),),
            data_dependent=True,
        ),
    ]
}


@dataclass(frozen=True)
class SchemeChoice:
    """A scheme with its parameters, frozen so that it can sit in a job's config."""

    key: str
    params: tuple[tuple[str, float | str], ...] = ()

    @classmethod
    def of(cls, key: str, params: Mapping[str, float | str] | None = None) -> "SchemeChoice":
        full = check_scheme(key, params)
        return cls(key, tuple(sorted(full.items())))

    @property
    def values(self) -> dict[str, float | str]:
        return dict(self.params)

    @property
    def label(self) -> str:
        return SCHEMES[self.key].label if self.key in SCHEMES else self.key


def check_scheme(key: str, params: Mapping[str, float | str] | None = None) -> dict[str, float | str]:
    """The full parameter dict of a scheme; ValueError with a readable reason otherwise."""
    if not (isinstance(key, str) and key in SCHEMES):
        raise ValueError(f"Unknown initialization {key!r}; choose one of {', '.join(SCHEMES)}")
    scheme = SCHEMES[key]
    values = scheme.defaults()
    for p in scheme.params:
        if params is None or p.name not in params:
            continue
        v = params[p.name]
        if p.choices:
            if not (isinstance(v, str) and v in p.choices):
                raise ValueError(f"{scheme.label}: {p.label} must be one of {', '.join(p.choices)}, got {v!r}")
        # The range first: math.isfinite() of an int beyond float's range raises.
        elif not (isinstance(v, (int, float)) and not isinstance(v, bool) and p.minimum <= v <= p.maximum and math.isfinite(v)):
            raise ValueError(f"{scheme.label}: {p.label} must be between {p.minimum:g} and {p.maximum:g}, got {v!r}")
        else:
            v = float(v)
        values[p.name] = v
    return values


def kaiming_gain(params: Mapping[str, float | str]) -> float:
    """The gain torch's Kaiming init uses: ``calculate_gain(nonlinearity, a)``."""
    nonlinearity = str(params.get("nonlinearity", "leaky_relu"))
    return torch.nn.init.calculate_gain(nonlinearity, float(params.get("a", 0.0)) if nonlinearity == "leaky_relu" else None)


def nonlinearity_for_activation(activation: str) -> str:
    """The Kaiming nonlinearity closest to an activation of core.activation_functions.

    Activations torch has no gain for (GELU, SiLU, ELU, ...) behave like ReLU for
    positive inputs and lose about half the variance, so ReLU's √2 is the usual choice.
    """
    if activation in KAIMING_NONLINEARITIES:
        return activation
    if activation == "hardtanh":
        return "tanh"
    return "relu"


def init_weight_(
    weight: torch.Tensor, key: str, params: Mapping[str, float | str] | None = None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Fill ``weight`` (fan_out, fan_in) in place with torch.nn.init's version of ``key``.

    LSUV starts from the orthogonal init; its scaling needs data (:func:`lsuv_scale_`).
    """
    values = check_scheme(key, params)
    init = torch.nn.init
    with torch.no_grad():
        if key == "zeros":
            return init.zeros_(weight)
        if key == "constant":
            return init.constant_(weight, float(values["value"]))
        if key in ("small_normal", "large_normal"):
            return init.normal_(weight, 0.0, float(values["std"]), generator=generator)
        if key == "uniform":
            a = float(values["bound"])
            return init.uniform_(weight, -a, a, generator=generator)
        if key == "xavier_uniform":
            return init.xavier_uniform_(weight, gain=float(values["gain"]), generator=generator)
        if key == "xavier_normal":
            return init.xavier_normal_(weight, gain=float(values["gain"]), generator=generator)
        if key in ("kaiming_uniform", "kaiming_normal"):
            fn = init.kaiming_uniform_ if key == "kaiming_uniform" else init.kaiming_normal_
            return fn(weight, a=float(values["a"]), mode=str(values["mode"]), nonlinearity=str(values["nonlinearity"]), generator=generator)
        if key == "orthogonal":
            return init.orthogonal_(weight, gain=float(values["gain"]), generator=generator)
        if key == "lsuv":
            return init.orthogonal_(weight, gain=1.0, generator=generator)
    raise AssertionError(key)  # check_scheme refused every other key


def implied_std(key: str, fan_in: int, fan_out: int, params: Mapping[str, float | str] | None = None) -> float | None:
    """The standard deviation of the weights the scheme draws; None for LSUV (data decides)."""
    values = check_scheme(key, params)
    if key in ("zeros", "constant"):
        return 0.0
    if key in ("small_normal", "large_normal"):
        return float(values["std"])
    if key == "uniform":
        return float(values["bound"]) / math.sqrt(3.0)
    if key in ("xavier_uniform", "xavier_normal"):
        return float(values["gain"]) * math.sqrt(2.0 / (fan_in + fan_out))
    if key in ("kaiming_uniform", "kaiming_normal"):
        fan = fan_in if values["mode"] == "fan_in" else fan_out
        return kaiming_gain(values) / math.sqrt(fan)
    if key == "orthogonal":
        # A semi-orthogonal (out, in) matrix has min(out, in) unit rows or columns.
        return float(values["gain"]) / math.sqrt(max(fan_in, fan_out))
    return None


def _n(v: float) -> str:
    return f"{v:.4g}"


def formula(key: str, fan_in: int, fan_out: int, params: Mapping[str, float | str] | None = None) -> str:
    """The std a scheme implies, as a formula with this layer's numbers filled in."""
    values = check_scheme(key, params)
    std = implied_std(key, fan_in, fan_out, values)
    if key == "zeros":
        return "W = 0 (σ = 0: every neuron computes the same thing)"
    if key == "constant":
        return f"W = {_n(float(values['value']))} everywhere (σ = 0: every neuron computes the same thing)"
    if key in ("small_normal", "large_normal"):
        return f"W ~ N(0, σ²), σ = {_n(std)}"
    if key == "uniform":
        a = float(values["bound"])
        return f"W ~ U(−a, a), σ = a/√3 = {_n(a)}/√3 = {_n(std)}"
    if key in ("xavier_uniform", "xavier_normal"):
        g = float(values["gain"])
        core = f"σ = gain·√(2/(fan_in+fan_out)) = {_n(g)}·√(2/({fan_in}+{fan_out})) = {_n(std)}"
        if key == "xavier_uniform":
            bound = std * math.sqrt(3.0)
            return f"W ~ U(−b, b), b = √3·σ = {_n(bound)}; {core}"
        return f"W ~ N(0, σ²), {core}"
    if key in ("kaiming_uniform", "kaiming_normal"):
        fan = fan_in if values["mode"] == "fan_in" else fan_out
        gain = kaiming_gain(values)
        core = f"σ = gain/√{values['mode']} = {_n(gain)}/√{fan} = {_n(std)} (gain of {values['nonlinearity']})"
        if key == "kaiming_uniform":
            return f"W ~ U(−b, b), b = √3·σ = {_n(std * math.sqrt(3.0))}; {core}"
        return f"W ~ N(0, σ²), {core}"
    if key == "orthogonal":
        g = float(values["gain"])
        return f"W = gain·(semi-)orthogonal, σ = gain/√max(fan_in, fan_out) = {_n(g)}/√{max(fan_in, fan_out)} = {_n(std)}"
    return (
        f"orthogonal (σ = 1/√{max(fan_in, fan_out)} = {_n(1 / math.sqrt(max(fan_in, fan_out)))}), then each layer's W "
        f"divided by the std of its outputs on the batch until Var = 1 ± {_n(float(values['tolerance']))}"
    )


def lsuv_scale_(
    weights: Sequence[torch.Tensor],
    layer_output: Callable[[int], torch.Tensor],
    tolerance: float = 0.05,
    max_iterations: int = 10,
) -> list[float]:
    """Layer-sequential unit-variance scaling (Mishkin & Matas, 2016), in place.

    ``layer_output(i)`` recomputes layer ``i``'s pre-activation output on the batch with
    the weights as they are now (the layers below already scaled). Each weight is divided
    by that output's std until its variance is within ``tolerance`` of 1. Returns the
    total factor applied per layer (what the formula panel reports).
    """
    factors = []
    with torch.no_grad():
        for i, w in enumerate(weights):
            total = 1.0
            for _ in range(max_iterations):
                std = float(layer_output(i).std())
                if not math.isfinite(std) or std == 0.0:
                    break  # nothing to scale (a dead layer): leave it as it is
                if abs(std * std - 1.0) <= tolerance:
                    break
                w.div_(std)
                total /= std
            factors.append(total)
    return factors
