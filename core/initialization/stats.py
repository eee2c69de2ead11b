"""How signals and gradients live or die through a deep network under each initialization.

The network is a plain stack of fully connected layers, written as tensor code rather
than nn.Sequential so that several schemes can share one program (weights stacked
along a leading scheme axis) and so that every intermediate activation is at hand:

    z_l = a_{l-1} W_lᵀ + b_l,  optional BatchNorm/LayerNorm of z_l,  a_l = f(z_l)

:func:`layer_statistics` is the job: for each scheme it runs one forward pass of the
same inputs and one backward pass of the same unit-Gaussian gradient injected at the
last layer, and yields per-layer histograms, mean/std, saturated, dead and overflowed
fractions as a Snapshot. Values that overflow float32 are counted as overflow and left
out of the histograms instead of breaking them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from core.activation_functions import check_params, make_activation, measure_properties
from core.devices import list_devices, resolve, torch_device
from core.engine import Event, Finished, Message, RunControl, Snapshot, to_numpy
from core.initialization.schemes import SCHEMES, SchemeChoice, formula, implied_std, init_weight_, lsuv_scale_

__all__ = [
    "NetworkSpec",
    "StatsConfig",
    "check_stats_config",
    "INPUTS",
    "NORMS",
    "MAX_DEPTH",
    "MAX_WIDTH",
    "parse_widths",
    "check_network",
    "estimate_stats_bytes",
    "check_memory",
    "make_inputs",
    "build_weights",
    "forward_layers",
    "saturation_bounds",
    "layer_statistics",
]

MAX_DEPTH = 50
MAX_WIDTH = 8192
NORMS = {"none": "None", "batch": "BatchNorm", "layer": "LayerNorm"}
INPUTS = {
    "gaussian": "Gaussian N(0, 1)",
    "uniform": "Uniform U(−√3, √3) (variance 1)",
    "positive": "Uniform U(0, 1) (all positive)",
}
SATURATION_MARGIN = 0.03  # saturated: within 3 % of the half-range from a bound (|tanh| > 0.97)
NORM_EPS = 1e-5  # torch's default for BatchNorm1d and LayerNorm


@dataclass(frozen=True)
class NetworkSpec:
    widths: tuple[int, ...]  # hidden layer widths; depth = len(widths)
    activation: str = "tanh"
    activation_params: tuple[tuple[str, float], ...] = ()
    bias: bool = True
    bias_value: float = 0.0
    norm: str = "none"  # "none" | "batch" | "layer"

    @property
    def depth(self) -> int:
        return len(self.widths)


@dataclass(frozen=True)
class StatsConfig:
    network: NetworkSpec
    schemes: tuple[SchemeChoice, ...]
    input_dim: int = 500
    batch: int = 1000
    inputs: str = "gaussian"
    bins: int = 30
    seed: int = 0
    device: str = "cpu"
    memory_limit_bytes: int = 3 * 2**30


def parse_widths(text: str, depth: int) -> tuple[int, ...]:
    """Widths from what a student types: one number (every layer) or a comma list."""
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p]
    if not parts:
        raise ValueError("Enter a width, or a list of widths separated by commas")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"Widths must be whole numbers, got {text.strip()!r}") from None
    if len(values) == 1:
        values = values * depth
    elif len(values) != depth:
        raise ValueError(f"{len(values)} widths given for a depth of {depth}: give one width or {depth}")
    check_network(NetworkSpec(tuple(values)))
    return tuple(values)


def check_network(spec: NetworkSpec) -> None:
    if not 1 <= spec.depth <= MAX_DEPTH:
        raise ValueError(f"Depth must be between 1 and {MAX_DEPTH}, got {spec.depth}")
    for w in spec.widths:
        if not 1 <= w <= MAX_WIDTH:
            raise ValueError(f"Every width must be between 1 and {MAX_WIDTH}, got {w}")
    check_params(spec.activation, dict(spec.activation_params))
    if spec.norm not in NORMS:
        raise ValueError(f"Unknown normalization {spec.norm!r}; choose one of {', '.join(NORMS)}")
    if not math.isfinite(spec.bias_value) or abs(spec.bias_value) > 100:
        raise ValueError(f"The initial bias must be between −100 and 100, got {spec.bias_value}")


def _fmt_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError


def estimate_stats_bytes(spec: NetworkSpec, input_dim: int, batch: int) -> int:
    """Peak memory of one scheme's forward + backward pass, in bytes (float32).

    Per layer autograd keeps the pre-activation and the activation, the backward pass
    a gradient of each and the retained gradient of the activation; normalization
    keeps two more copies. Weights count once (they need no gradient here).
    """
    per_unit = 5 + (2 if spec.norm != "none" else 0)
    fans = (input_dim, *spec.widths)
    weights = sum(fans[i] * fans[i + 1] for i in range(spec.depth))
    activations = batch * (sum(spec.widths) * per_unit + input_dim)
    return 4 * (weights + activations)


def _memory_limit(device: str, limit: int) -> int:
    dev = resolve(device)
    for info in list_devices():
        if info.id == dev and info.free_memory:
            return min(limit, int(info.free_memory * 0.8))
    return limit


def check_memory(needed: int, device: str, limit: int) -> None:
    allowed = _memory_limit(device, limit)
    if needed > allowed:
        raise ValueError(
            f"This network needs about {_fmt_bytes(needed)} for one pass, more than the {_fmt_bytes(allowed)} "
            f"allowed on {resolve(device)}: lower the depth, the width or the batch size"
        )


def check_stats_config(cfg: StatsConfig) -> None:
    check_network(cfg.network)
    if not cfg.schemes:
        raise ValueError("Choose at least one initialization to compare")
    for s in cfg.schemes:
        SchemeChoice.of(s.key, s.values)  # re-validates the parameters
    if not 1 <= cfg.input_dim <= MAX_WIDTH:
        raise ValueError(f"The input dimension must be between 1 and {MAX_WIDTH}, got {cfg.input_dim}")
    if not 2 <= cfg.batch <= 20_000:
        raise ValueError(f"The batch size must be between 2 and 20000, got {cfg.batch}")
    if cfg.inputs not in INPUTS:
        raise ValueError(f"Unknown input distribution {cfg.inputs!r}; choose one of {', '.join(INPUTS)}")
    if not 5 <= cfg.bins <= 200:
        raise ValueError(f"Histogram bins must be between 5 and 200, got {cfg.bins}")
    check_memory(estimate_stats_bytes(cfg.network, cfg.input_dim, cfg.batch), cfg.device, cfg.memory_limit_bytes)


def make_inputs(kind: str, batch: int, dim: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    if kind == "gaussian":
        x = torch.randn(batch, dim, generator=generator)
    elif kind == "uniform":
        x = (torch.rand(batch, dim, generator=generator) * 2 - 1) * math.sqrt(3.0)
    elif kind == "positive":
        x = torch.rand(batch, dim, generator=generator)
    else:
        raise ValueError(f"Unknown input distribution {kind!r}; choose one of {', '.join(INPUTS)}")
    return x.to(device)


def build_weights(
    spec: NetworkSpec,
    schemes: Sequence[SchemeChoice],
    fans: Sequence[int],
    seed: int,
    device: torch.device,
) -> tuple[list[torch.Tensor], list[torch.Tensor | None]]:
    """Weights (S, fan_out, fan_in) and biases (S, fan_out) for S schemes, by torch.nn.init.

    Every scheme draws from a generator seeded alike, so two schemes that differ only
    by a scale factor see the same random directions.
    """
    weights, biases = [], []
    for i in range(len(fans) - 1):
        w = torch.empty(len(schemes), fans[i + 1], fans[i])
        for s, choice in enumerate(schemes):
            g = torch.Generator().manual_seed(_weight_seed(seed, i))
            init_weight_(w[s], choice.key, choice.values, generator=g)
        weights.append(w.to(device))
        biases.append(torch.full((len(schemes), fans[i + 1]), float(spec.bias_value), device=device) if spec.bias else None)
    return weights, biases


def _weight_seed(seed: int, layer: int) -> int:
    """A stream per layer that never meets the inputs' (``seed``) or the upstream
    gradient's (``seed + 1``): the same seed would make W₁'s rows copies of the inputs."""
    return 1_000_003 * (layer + 1) + seed


def normalize(z: torch.Tensor, norm: str) -> torch.Tensor:
    """BatchNorm (training mode, no affine) over the batch axis, LayerNorm over features."""
    if norm == "batch":
        var, mean = torch.var_mean(z, dim=-2, unbiased=False, keepdim=True)
        return (z - mean) * torch.rsqrt(var + NORM_EPS)
    if norm == "layer":
        return F.layer_norm(z, z.shape[-1:], eps=NORM_EPS)
    return z


def linear(h: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
    """h (..., B, in) times w (..., out, in) transposed, plus b (..., out)."""
    z = torch.matmul(h, w.transpose(-1, -2))
    return z if b is None else z + b.unsqueeze(-2)


def forward_layers(
    x: torch.Tensor,
    weights: Sequence[torch.Tensor],
    biases: Sequence[torch.Tensor | None],
    act: Callable[[torch.Tensor], torch.Tensor],
    norm: str,
    *,
    track_from_first: bool = False,
    checkpoint: Callable[[], None] | None = None,
) -> list[torch.Tensor]:
    """Every hidden activation a_1 … a_L. ``track_from_first`` makes z_1 a leaf that
    requires grad, so a backward pass reaches every activation without weight grads."""
    acts = []
    h = x
    for i, (w, b) in enumerate(zip(weights, biases)):
        if checkpoint is not None:
            checkpoint()
        z = linear(h, w, b)
        if i == 0 and track_from_first:
            z = z.detach().requires_grad_(True)
        h = act(normalize(z, norm))
        acts.append(h)
    return acts


def lsuv_init_(x, weights, biases, act, norm, tolerance: float) -> list[float]:
    """LSUV on already orthogonal weights: scale layer by layer so Var(z_l) = 1 on ``x``."""
    state = {"layer": 0, "h": x}

    def layer_output(i: int) -> torch.Tensor:
        while state["layer"] < i:  # the layers below are final: move the input up once
            j = state["layer"]
            state["h"] = act(normalize(linear(state["h"], weights[j], biases[j]), norm))
            state["layer"] += 1
        return linear(state["h"], weights[i], biases[i])

    return lsuv_scale_(weights, layer_output, tolerance)


@lru_cache(maxsize=64)
def saturation_bounds(activation: str, params: tuple[tuple[str, float], ...] = ()) -> tuple[float, float] | None:
    """(lower, upper) output bounds when the activation is bounded on both sides."""
    props = measure_properties(activation, dict(params))
    if math.isfinite(props.lower) and math.isfinite(props.upper):
        return props.lower, props.upper
    return None


def _histogram(t: torch.Tensor, bins: int, lo: float, hi: float) -> np.ndarray:
    """Counts of ``t`` in ``bins`` equal bins over [lo, hi], the top edge included, as
    torch.histc counts them; every value must lie in the range (callers' ranges cover
    the finite values). Binning by hand and bincount is about 4× faster than histc."""
    index = t.reshape(-1).sub(lo).mul_(bins / (hi - lo)).clamp_(0, bins - 1).to(torch.int32)
    return to_numpy(torch.bincount(index, minlength=bins)).astype(np.float64)


# Beyond this magnitude a float32 deviation squared overflows to inf (sqrt of float32's max).
FLOAT32_SQUARE_LIMIT = 1.8e19


def _mean_std(t: torch.Tensor, peak: float | None = None) -> tuple[float, float]:
    """Mean and population std, accumulated in float64 (std_mean is ~5× slower here).

    ``peak`` is the largest magnitude in ``t`` when the caller knows it already. Finite
    values whose squares overflow float32 are summed in float64 (a finite layer must never
    show std = inf)."""
    flat = t.reshape(-1)
    if flat.dtype != torch.float64 and flat.numel():
        if peak is None:
            peak = float(flat.abs().max())
        if peak > FLOAT32_SQUARE_LIMIT / 2:  # the deviation can be twice the peak
            flat = flat.double()
    mean = float(flat.sum(dtype=torch.float64)) / flat.numel()
    var = float((flat - mean).square_().sum(dtype=torch.float64)) / flat.numel()
    return mean, math.sqrt(var)


def _finite_range(t: torch.Tensor) -> tuple[float, float, torch.Tensor]:
    """min, max and the finite values of ``t`` (``t`` itself when all are finite)."""
    lo, hi = (float(v) for v in torch.aminmax(t))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        t = t[torch.isfinite(t)]
        if t.numel() == 0:
            return math.nan, math.nan, t
        lo, hi = (float(v) for v in torch.aminmax(t))
    return lo, hi, t


def _padded(lo: float, hi: float) -> tuple[float, float]:
    """A range histc accepts: a layer whose values are all equal gets a small window."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return -1.0, 1.0
    if hi - lo <= 1e-12 * max(1.0, abs(lo), abs(hi)):
        pad = max(abs(lo) * 0.01, 1e-6)
        return lo - pad, hi + pad
    return lo, hi


def _layer_histograms(tensors: Sequence[torch.Tensor], bins: int) -> dict[str, np.ndarray]:
    """Per-layer histograms on each layer's own range and on one range shared by all."""
    finite, ranges = [], []
    n_total, overflow, means, stds = [], [], [], []
    for t in tensors:
        lo, hi, vals = _finite_range(t.detach())
        finite.append(vals)
        ranges.append((lo, hi))
        n_total.append(t.numel())
        overflow.append(1.0 - vals.numel() / t.numel())
        if vals.numel():
            mean, std = _mean_std(vals, peak=max(abs(lo), abs(hi)))
            means.append(mean)
            stds.append(std)
        else:
            means.append(math.nan)
            stds.append(math.nan)
    good = [r for r in ranges if math.isfinite(r[0])]
    shared = _padded(min(r[0] for r in good), max(r[1] for r in good)) if good else (-1.0, 1.0)
    own_counts, own_edges, shared_counts = [], [], []
    for vals, r in zip(finite, ranges):
        lo, hi = _padded(*r)
        own_edges.append(np.linspace(lo, hi, bins + 1))
        own_counts.append(_histogram(vals, bins, lo, hi) if vals.numel() else np.zeros(bins))
        shared_counts.append(_histogram(vals, bins, *shared) if vals.numel() else np.zeros(bins))
    return {
        "hist": np.stack(own_counts),
        "edges": np.stack(own_edges),
        "hist_shared": np.stack(shared_counts),
        "edges_shared": np.linspace(shared[0], shared[1], bins + 1),
        "mean": np.asarray(means),
        "std": np.asarray(stds),
        "overflow": np.asarray(overflow),
    }


def _activation_fractions(acts: Sequence[torch.Tensor], bounds: tuple[float, float] | None) -> tuple[np.ndarray, np.ndarray]:
    """Saturated fraction (bounded activations only, else NaN) and dead fraction per layer.

    Dead: a unit whose output is exactly 0 for every example of the batch.
    """
    saturated, dead = [], []
    for a in acts:
        a = a.detach()
        if bounds is None:
            saturated.append(math.nan)
        else:
            mid, half = (bounds[0] + bounds[1]) / 2, (bounds[1] - bounds[0]) / 2
            centred = a if mid == 0 else a - mid
            saturated.append(int(torch.count_nonzero(centred.abs() > (1 - SATURATION_MARGIN) * half)) / a.numel())
        dead.append(int(torch.count_nonzero((a == 0).all(dim=-2))) / a.shape[-1])
    return np.asarray(saturated), np.asarray(dead)


def layer_statistics(cfg: StatsConfig, ctl: RunControl) -> Iterator[Event]:
    """One forward and backward pass per scheme; a Snapshot ``"layers"`` after each."""
    check_stats_config(cfg)
    dev = torch_device(cfg.device)
    spec = cfg.network
    act = make_activation(spec.activation, dict(spec.activation_params))
    bounds = saturation_bounds(spec.activation, spec.activation_params)
    x = make_inputs(cfg.inputs, cfg.batch, cfg.input_dim, torch.Generator().manual_seed(cfg.seed), dev)
    upstream = torch.randn(cfg.batch, spec.widths[-1], generator=torch.Generator().manual_seed(cfg.seed + 1)).to(dev)
    fans = (cfg.input_dim, *spec.widths)
    for index, choice in enumerate(cfg.schemes):
        ctl.checkpoint()
        weights, biases = build_weights(spec, [choice], fans, cfg.seed, dev)
        weights = [w[0] for w in weights]
        biases = [None if b is None else b[0] for b in biases]
        lsuv_factors: list[float] = []
        if SCHEMES[choice.key].data_dependent:
            with torch.no_grad():
                lsuv_factors = lsuv_init_(x, weights, biases, act, spec.norm, float(choice.values["tolerance"]))
        with torch.enable_grad():
            acts = forward_layers(x, weights, biases, act, spec.norm, track_from_first=True, checkpoint=ctl.checkpoint)
            ctl.checkpoint()
            grads = torch.autograd.grad(acts[-1], acts, grad_outputs=upstream, allow_unused=True)
        grads = [torch.zeros_like(a) if g is None else g for a, g in zip(acts, grads)]
        ctl.checkpoint()
        a_stats = _layer_histograms(acts, cfg.bins)
        ctl.checkpoint()
        g_stats = _layer_histograms(grads, cfg.bins)
        saturated, dead = _activation_fractions(acts, bounds)
        data = {
            "scheme": choice.key,
            "label": choice.label,
            "index": index,
            "n_schemes": len(cfg.schemes),
            "layers": np.arange(1, spec.depth + 1),
            "saturated": saturated,
            "dead": dead,
            "weight_std": np.asarray([_mean_std(w)[1] for w in weights]),
            "implied_std": np.asarray(
                [_nan_if_none(implied_std(choice.key, fans[i], fans[i + 1], choice.values)) for i in range(spec.depth)]
            ),
            "formula": formula(choice.key, fans[0], fans[1], choice.values),
            "formula_last": formula(choice.key, fans[-2], fans[-1], choice.values),
            "lsuv_factors": np.asarray(lsuv_factors),
            "saturation_bounds": bounds,
        }
        data.update({f"act_{k}": v for k, v in a_stats.items()})
        data.update({f"grad_{k}": v for k, v in g_stats.items()})
        overflow_at = _first_overflow(a_stats["overflow"])
        data["overflow_layer"] = overflow_at
        del acts, grads
        yield Snapshot(index, "layers", data)
        if overflow_at:
            yield Message(f"{choice.label}: activations overflow float32 (Inf) from layer {overflow_at} on")
    yield Finished({"schemes": [s.key for s in cfg.schemes]})


def _nan_if_none(v: float | None) -> float:
    return math.nan if v is None else v


def _first_overflow(fractions: np.ndarray) -> int:
    """1-based layer where values first stop being finite; 0 when none do."""
    hits = np.nonzero(fractions > 0)[0]
    return int(hits[0]) + 1 if len(hits) else 0
