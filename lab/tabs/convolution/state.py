"""The convolution tab's saved state (JSON) and how it becomes a :class:`ConvSpec`.

Kept free of Qt so that presets can be checked and turned into layers anywhere.
Weights are stored per filter, ``weight[o][c]`` = the kernel filter ``o`` applies to
input channel ``c``, for every operation; a transposed convolution's torch layout
(C_in, C_out, kh, kw) is made from it when the spec is built.
"""

from __future__ import annotations

import copy

import numpy as np

from core.convolution.kernels import KERNEL_PRESETS, kernel_preset
from core.convolution.spec import OPS, PADDING_MODES, ConvSpec, output_size

__all__ = [
    "DEFAULT_STATE",
    "OP_LABELS",
    "DIRECTION_LABELS",
    "FILLS",
    "check_state",
    "spec_from_state",
    "resized_input",
    "resized_weight",
    "filled_input",
    "INT_RANGES",
    "VALUE_LIMIT",
]

OP_LABELS = {
    "conv2d": "2-D convolution",
    "conv1d": "1-D convolution",
    "transposed": "Transposed convolution",
    "maxpool": "Max pooling",
    "avgpool": "Average pooling",
}
DIRECTION_LABELS = {
    "forward": "Forward",
    "grad_input": "Backward: ∂L/∂input",
    "grad_kernel": "Backward: ∂L/∂kernel",
}
FILLS = ("small integers", "random", "zeros", "ramp")
PADDING_KINDS = ("amount", "same", "valid")
CHOICES = {
    "op": OPS,
    "direction": tuple(DIRECTION_LABELS),
    "source": ("numbers", "image"),
    "padding_kind": PADDING_KINDS,
    "padding_mode": PADDING_MODES,
    "upstream": ("ones", "random", "typed"),
}
INT_KEYS = ("stride", "padding", "dilation", "output_padding", "window", "upstream_seed", "step")
# What the spin boxes can show: a value beyond them could not be put on screen. The low ends
# go below what a layer allows so that a student can type 0 or -1 and read why not.
INT_RANGES = {"stride": (-3, 8), "padding": (-3, 8), "dilation": (-3, 6), "output_padding": (-1, 5), "window": (0, 7),
              "upstream_seed": (0, 9999), "step": (-1, 10**9)}
# Every number of the layer (input cells, kernel weights, biases, a typed upstream gradient):
# far beyond any example, small enough that 8 channels of 7×7 products stay exact, not inf.
VALUE_LIMIT = 1e6

DEFAULT_STATE: dict = {
    "op": "conv2d",
    "direction": "forward",
    "source": "numbers",
    "input": np.array([[[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3], [2, 0, 0, 2, 2], [2, 0, 0, 0, 1]]], float).tolist(),
    "weight": [[[[0, 1, 2], [2, 2, 0], [0, 1, 2]]]],
    "bias": [0.0],
    "stride": 1,
    "padding": 0,
    "padding_kind": "amount",
    "padding_mode": "zeros",
    "dilation": 1,
    "output_padding": 0,
    "window": 2,
    "upstream": "ones",
    "upstream_seed": 0,
    "upstream_values": [],  # (C_out, H′, W′) when "upstream" is "typed"
    "step": -1,
}


def _array(value, ndim: int, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value, float)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"'{name}' must be nested lists of numbers") from None
    if arr.ndim != ndim or arr.size == 0:
        raise ValueError(f"'{name}' must have {ndim} dimensions, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"'{name}' holds a value that is not a finite number")
    if np.abs(arr).max() > VALUE_LIMIT:
        raise ValueError(f"'{name}': {arr.flat[np.abs(arr).argmax()]:g} is too large; every value must be between {-VALUE_LIMIT:g} and {VALUE_LIMIT:g}")
    return arr


def check_state(state: dict) -> dict:
    """A complete, type-checked copy (defaults for missing keys); ValueError when bad."""
    if not isinstance(state, dict):
        raise ValueError("The convolution state must be a JSON object")
    unknown = set(state) - set(DEFAULT_STATE)
    if unknown:
        raise ValueError(f"Unknown convolution settings: {', '.join(sorted(unknown))}")
    s = copy.deepcopy(DEFAULT_STATE)
    s.update(copy.deepcopy(state))
    for key, allowed in CHOICES.items():
        if not (isinstance(s[key], str) and s[key] in allowed):
            raise ValueError(f"'{key}' must be one of {', '.join(allowed)}, not {s[key]!r}")
    for key in INT_KEYS:
        v = s[key]
        lo, hi = INT_RANGES[key]
        # Compared before int(): int() of inf or NaN raises, and a huge int fits no spin box.
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi or v != int(v):
            raise ValueError(f"'{key}' must be a whole number from {lo} to {hi}, got {v!r:.40}")
        s[key] = int(v)
    x = _array(s["input"], 3, "input")
    w = _array(s["weight"], 4, "weight")
    b = _array(s["bias"], 1, "bias")
    if w.shape[1] != x.shape[0]:
        raise ValueError(f"'weight' has {w.shape[1]} input channels but 'input' has {x.shape[0]}")
    if b.shape[0] != w.shape[0]:
        raise ValueError(f"'bias' needs one value per filter ({w.shape[0]})")
    if max(x.shape[1:]) > 64 or x.shape[0] > 8 or w.shape[0] > 16 or max(w.shape[2:]) > 7:
        raise ValueError("At most 8 channels of 64×64, 16 filters and 7×7 kernels")
    s["input"], s["weight"], s["bias"] = x.tolist(), w.tolist(), b.tolist()
    if s["upstream"] == "typed":
        s["upstream_values"] = _array(s["upstream_values"], 3, "upstream_values").tolist()
    elif s["upstream_values"] != []:
        raise ValueError("'upstream_values' is only used when 'upstream' is 'typed'")
    return s


def spec_from_state(s: dict) -> ConvSpec:
    """The layer a (checked) state describes; ConvSettingError from validate() comes later."""
    x = np.asarray(s["input"], float)
    w = np.asarray(s["weight"], float)
    op = s["op"]
    if op == "conv1d":
        x = x[:, :1]
        w = w[:, :, :1]
    if op == "transposed":
        w = w.transpose(1, 0, 2, 3)
    padding = s["padding_kind"] if s["padding_kind"] != "amount" else (s["padding"], s["padding"])
    stride, dil = (s["stride"], s["stride"]), (s["dilation"], s["dilation"])
    spec = ConvSpec(
        op, x, np.ascontiguousarray(w), np.asarray(s["bias"], float), stride=stride, padding=padding,
        # Only padded convolutions use the mode; its greyed-out control must not reach the others.
        padding_mode=s["padding_mode"] if op in ("conv1d", "conv2d") else "zeros", dilation=dil, output_padding=(s["output_padding"],) * 2,
        window=(s["window"], s["window"]), direction=s["direction"],
    )
    if op == "conv1d":
        spec = _replace(spec, stride=(1, s["stride"]), dilation=(1, s["dilation"]))
    # A stride of 0 is refused by validate() later; the output size would divide by it here.
    if s["direction"] != "forward" and s["upstream"] != "ones" and min(spec.stride) > 0:
        shape = (spec.out_channels, *output_size(spec))
        if min(shape) > 0:
            spec = _replace(spec, upstream=_upstream(s, shape))
    return spec


def _upstream(s: dict, shape: tuple[int, int, int]) -> np.ndarray:
    if s["upstream"] == "random":
        return np.round(np.random.default_rng(s["upstream_seed"]).normal(size=shape), 1)
    # Typed values keep their place when the output changes size; new cells are 1.
    typed = np.asarray(s["upstream_values"], float)
    g = np.ones(shape)
    c, h, w = (min(a, b) for a, b in zip(shape, typed.shape))
    g[:c, :h, :w] = typed[:c, :h, :w]
    return g


def _replace(spec: ConvSpec, **changes) -> ConvSpec:
    return ConvSpec(**{**spec.__dict__, **changes})


def filled_input(kind: str, c: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "small integers":
        return rng.integers(0, 4, (c, h, w)).astype(float)
    if kind == "random":
        return np.round(rng.normal(size=(c, h, w)), 1)
    if kind == "zeros":
        return np.zeros((c, h, w))
    if kind == "ramp":
        return np.broadcast_to(np.arange(h * w, dtype=float).reshape(h, w), (c, h, w)).copy()
    raise ValueError(f"Unknown fill {kind!r}; choose one of {', '.join(FILLS)}")


def resized_input(values, c: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    """Keep the overlapping cells; new cells get small random integers."""
    old = np.asarray(values, float)
    new = filled_input("small integers", c, h, w, seed)
    cc, hh, ww = min(c, old.shape[0]), min(h, old.shape[1]), min(w, old.shape[2])
    new[:cc, :hh, :ww] = old[:cc, :hh, :ww]
    return new


def resized_weight(weight, filters: int, channels: int, kh: int, kw: int, preset: str = "random", seed: int = 0) -> np.ndarray:
    """Keep each kernel where the size is unchanged; otherwise start from ``preset``."""
    if preset not in KERNEL_PRESETS:
        raise ValueError(f"Unknown kernel preset {preset!r}")
    old = np.asarray(weight, float)
    rng = np.random.default_rng(seed)
    new = np.stack([np.stack([kernel_preset(preset, kh, kw, rng) for _ in range(channels)]) for _ in range(filters)])
    if old.shape[2:] == (kh, kw):
        ff, cc = min(filters, old.shape[0]), min(channels, old.shape[1])
        new[:ff, :cc] = old[:ff, :cc]
    return new
