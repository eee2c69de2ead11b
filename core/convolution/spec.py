"""What one convolution-stepping layer is: its settings, their checks and closed forms.

A :class:`ConvSpec` describes a 1-D or 2-D convolution, a transposed convolution or a
pooling layer, forward or one of the two backward passes. Everything is stored as
2-D (a 1-D signal is one row of height 1), so that one stepper serves every mode.
The output-size formula, the never-visited rows and columns and the parameter
counts are closed forms here; tests compare each with what torch produces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "OPS",
    "DIRECTIONS",
    "PADDING_MODES",
    "ConvSpec",
    "ConvSettingError",
    "validate",
    "resolve_padding",
    "padding_index",
    "pad_input",
    "output_size",
    "output_size_text",
    "unvisited",
    "unvisited_text",
    "LayerCost",
    "layer_cost",
    "cost_text",
]

OPS = ("conv1d", "conv2d", "transposed", "maxpool", "avgpool")
DIRECTIONS = ("forward", "grad_input", "grad_kernel")
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
CONV_OPS = ("conv1d", "conv2d")


class ConvSettingError(ValueError):
    """A setting a student can fix; ``field`` names the control it belongs to."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


Pair = tuple[int, int]


@dataclass(frozen=True, eq=False)
class ConvSpec:
    """One layer to step through. Arrays are float64 numpy.

    ``x`` is (C, H, W) (H = 1 for conv1d). ``weight`` follows torch: (C_out, C_in, kh, kw)
    for a convolution, (C_in, C_out, kh, kw) for a transposed one; pooling ignores it
    and uses ``window``. ``padding`` is (ph, pw) on both sides, or "same" / "valid".
    ``upstream`` is the gradient of the loss w.r.t. the forward output (backward only;
    ones, i.e. L = sum of outputs, when None).
    """

    op: str = "conv2d"
    x: np.ndarray = field(default_factory=lambda: np.zeros((1, 4, 4)))
    weight: np.ndarray = field(default_factory=lambda: np.zeros((1, 1, 3, 3)))
    bias: np.ndarray | None = None
    stride: Pair = (1, 1)
    padding: Pair | str = (0, 0)
    padding_mode: str = "zeros"
    dilation: Pair = (1, 1)
    output_padding: Pair = (0, 0)
    window: Pair = (2, 2)
    direction: str = "forward"
    upstream: np.ndarray | None = None

    @property
    def is_pool(self) -> bool:
        return self.op in ("maxpool", "avgpool")

    @property
    def kernel_size(self) -> Pair:
        if self.is_pool:
            return tuple(self.window)
        return int(self.weight.shape[2]), int(self.weight.shape[3])

    @property
    def in_channels(self) -> int:
        return int(self.x.shape[0])

    @property
    def out_channels(self) -> int:
        if self.is_pool:
            return self.in_channels
        return int(self.weight.shape[1] if self.op == "transposed" else self.weight.shape[0])

    def bias_or_zeros(self) -> np.ndarray:
        if self.bias is None or self.is_pool:
            return np.zeros(self.out_channels)
        return np.asarray(self.bias, float)


def resolve_padding(spec: ConvSpec) -> tuple[int, int, int, int]:
    """(top, bottom, left, right). "same" splits d(k−1) as torch does: the extra cell at the end."""
    if spec.padding == "valid":
        return 0, 0, 0, 0
    if spec.padding == "same":
        (kh, kw), (dh, dw) = spec.kernel_size, spec.dilation
        th, tw = dh * (kh - 1), dw * (kw - 1)
        return th // 2, th - th // 2, tw // 2, tw - tw // 2
    ph, pw = spec.padding
    if spec.op == "conv1d":
        ph = 0
    return int(ph), int(ph), int(pw), int(pw)


def _check_pair(name: str, field_name: str, pair, minimum: int, why: str) -> None:
    for v in pair:
        if int(v) != v or v < minimum:
            raise ConvSettingError(field_name, f"{name} must be a whole number ≥ {minimum}, got {v}: {why}")


def validate(spec: ConvSpec) -> None:
    """Raise :class:`ConvSettingError` naming the control and the reason; None when fine."""
    if spec.op not in OPS:
        raise ConvSettingError("op", f"Unknown operation {spec.op!r}; choose one of {', '.join(OPS)}")
    if spec.direction not in DIRECTIONS:
        raise ConvSettingError("direction", f"Unknown direction {spec.direction!r}")
    if spec.direction != "forward" and spec.op not in CONV_OPS:
        raise ConvSettingError("direction", "The backward pass is stepped for 1-D and 2-D convolutions; pick one of those first")
    if spec.padding_mode not in PADDING_MODES:
        raise ConvSettingError("padding", f"Unknown padding mode {spec.padding_mode!r}; choose one of {', '.join(PADDING_MODES)}")
    x = spec.x
    if x.ndim != 3 or min(x.shape) < 1:
        raise ConvSettingError("input", "The input needs at least one channel, one row and one column")
    if not np.all(np.isfinite(x)):
        raise ConvSettingError("input", "Every input cell must be a finite number")
    _check_pair("Stride", "stride", spec.stride, 1, "with stride 0 the window would never move")
    _check_pair("Dilation", "dilation", spec.dilation, 1, "dilation 1 means neighbouring cells, 0 would stack every tap on one cell")
    if spec.op == "conv1d" and x.shape[1] != 1:
        raise ConvSettingError("input", "A 1-D convolution takes one row per channel")
    if not spec.is_pool:
        w = spec.weight
        if w.ndim != 4 or min(w.shape) < 1:
            raise ConvSettingError("kernel", "The kernel needs at least one weight")
        if not np.all(np.isfinite(w)):
            raise ConvSettingError("kernel", "Every kernel weight must be a finite number")
        if spec.op == "conv1d" and w.shape[2] != 1:
            raise ConvSettingError("kernel", "A 1-D kernel has height 1")
        c_in = w.shape[0] if spec.op == "transposed" else w.shape[1]
        if c_in != x.shape[0]:
            raise ConvSettingError("kernel", f"The kernel expects {c_in} input channels but the input has {x.shape[0]}")
        if spec.bias is not None and np.asarray(spec.bias).shape != (spec.out_channels,):
            raise ConvSettingError("kernel", f"Give one bias per output channel ({spec.out_channels})")
    else:
        _check_pair("The pooling window", "window", spec.window, 1, "a window needs at least one cell")
    if isinstance(spec.padding, str):
        if spec.padding not in ("same", "valid"):
            raise ConvSettingError("padding", f"Padding is an amount, 'same' or 'valid', not {spec.padding!r}")
        if spec.padding == "same" and tuple(spec.stride) != (1, 1):
            raise ConvSettingError("padding", "'same' padding needs stride 1: with a larger stride the output is smaller than the input whatever the padding")
        if spec.padding == "same" and spec.op == "transposed":
            raise ConvSettingError("padding", "'same' padding is defined for convolutions, not for a transposed convolution")
        if spec.padding == "same" and spec.is_pool:
            raise ConvSettingError("padding", "Pooling takes its padding as a number of cells (torch's pooling has no 'same')")
    else:
        _check_pair("Padding", "padding", spec.padding, 0, "padding adds that many cells on each side")
    if spec.op == "transposed":
        _validate_transposed(spec)
        return
    _validate_sliding(spec)


def _validate_sliding(spec: ConvSpec) -> None:
    top, bottom, left, right = resolve_padding(spec)
    _, h, w = spec.x.shape
    # Pooling pads with −∞ (max) or zeros (average) whatever the mode control says.
    mode = "zeros" if spec.is_pool else spec.padding_mode
    if mode == "reflect" and (max(top, bottom) >= h or max(left, right) >= w):
        raise ConvSettingError("padding", f"Reflect padding must be smaller than the input ({h}×{w}): it mirrors cells inside the input, not the border itself")
    if mode == "circular" and (max(top, bottom) > h or max(left, right) > w):
        raise ConvSettingError("padding", f"Circular padding can wrap at most once around the input ({h}×{w})")
    if spec.is_pool and (2 * top > spec.window[0] or 2 * left > spec.window[1]):
        raise ConvSettingError("padding", "Pooling padding may be at most half the window: otherwise a window could hold padding only")
    if spec.op == "avgpool" and tuple(spec.dilation) != (1, 1):
        raise ConvSettingError("dilation", "Average pooling has no dilation (torch's avg_pool2d does not offer one)")
    (kh, kw), (dh, dw) = spec.kernel_size, spec.dilation
    hp, wp = h + top + bottom, w + left + right
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if span_h > hp or span_w > wp:
        what = "pooling window" if spec.is_pool else "kernel"
        if (kh > hp or kw > wp) or (dh, dw) == (1, 1):
            raise ConvSettingError("window" if spec.is_pool else "kernel", f"The {what} ({kh}×{kw}) is larger than the padded input ({hp}×{wp}): it does not fit anywhere. Make it smaller or pad more.")
        raise ConvSettingError("dilation", f"With dilation {dh}×{dw} the {kh}×{kw} {what} spans {span_h}×{span_w} cells, more than the padded input ({hp}×{wp})")


def _validate_transposed(spec: ConvSpec) -> None:
    _check_pair("Output padding", "output_padding", spec.output_padding, 0, "it adds rows and columns at the bottom and right")
    for op, s, d in zip(spec.output_padding, spec.stride, spec.dilation):
        if op >= max(s, d):
            raise ConvSettingError("output_padding", f"Output padding must be smaller than the stride or the dilation (here {max(s, d)}); otherwise it would add cells no input can reach")
    if min(output_size(spec)) < 1:
        raise ConvSettingError("padding", "This padding crops the whole output away; use less padding")


def padding_index(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """For each padded position, the input index it copies (−1 for a zero)."""
    i = np.arange(-before, n + after)
    if mode == "zeros":
        return np.where((i >= 0) & (i < n), i, -1)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    if mode == "circular":
        return np.mod(i, n)
    if mode == "reflect":
        if n == 1:
            return np.zeros_like(i)
        period = 2 * (n - 1)
        j = np.mod(i, period)
        return np.where(j < n, j, period - j)
    raise ValueError(f"Unknown padding mode {mode!r}")


def padding_matrix(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """(n + before + after, n) 0/1 matrix M with padded = M @ signal (and grad = Mᵀ @ grad)."""
    idx = padding_index(n, before, after, mode)
    m = np.zeros((len(idx), n))
    ok = idx >= 0
    m[np.nonzero(ok)[0], idx[ok]] = 1.0
    return m


def pad_input(spec: ConvSpec, fill: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The padded input (C, Hp, Wp) and a mask (Hp, Wp) that is True on padding cells."""
    top, bottom, left, right = resolve_padding(spec)
    _, h, w = spec.x.shape
    mode = "zeros" if spec.is_pool else spec.padding_mode
    rows = padding_matrix(h, top, bottom, mode)
    cols = padding_matrix(w, left, right, mode)
    padded = np.einsum("rh,chw,sw->crs", rows, spec.x, cols)
    mask = np.ones((h + top + bottom, w + left + right), bool)
    mask[top : top + h, left : left + w] = False
    if fill != 0.0:
        padded[:, mask] = fill
    return padded, mask


def _sliding_size(n: int, pad_total: int, k: int, d: int, s: int) -> int:
    return (n + pad_total - d * (k - 1) - 1) // s + 1


def output_size(spec: ConvSpec) -> Pair:
    """(H′, W′) of the forward layer, from the closed forms."""
    _, h, w = spec.x.shape
    (kh, kw), (sh, sw), (dh, dw) = spec.kernel_size, spec.stride, spec.dilation
    if spec.op == "transposed":
        ph, pw = (0, 0) if isinstance(spec.padding, str) else spec.padding
        oh, ow = spec.output_padding
        return (h - 1) * sh - 2 * ph + dh * (kh - 1) + oh + 1, (w - 1) * sw - 2 * pw + dw * (kw - 1) + ow + 1
    top, bottom, left, right = resolve_padding(spec)
    return _sliding_size(h, top + bottom, kh, dh, sh), _sliding_size(w, left + right, kw, dw, sw)


def output_size_text(spec: ConvSpec) -> str:
    """The general formula, then the same with this layer's numbers substituted."""
    _, h, w = spec.x.shape
    (kh, kw), (sh, sw), (dh, dw) = spec.kernel_size, spec.stride, spec.dilation
    out_h, out_w = output_size(spec)
    dims = [("W", w, kw, sw, dw, out_w, 1)] if spec.op == "conv1d" else [("H", h, kh, sh, dh, out_h, 0), ("W", w, kw, sw, dw, out_w, 1)]
    lines = []
    if spec.op == "transposed":
        lines.append("Transposed: H′ = (H − 1)·S − 2P + D·(k − 1) + P_out + 1")
        pads = (0, 0) if isinstance(spec.padding, str) else spec.padding
        for name, n, k, s, d, out, axis in dims:
            lines.append(f"{name}′ = ({n} − 1)·{s} − 2·{pads[axis]} + {d}·({k} − 1) + {spec.output_padding[axis]} + 1 = {out}")
        return "\n".join(lines)
    top, bottom, left, right = resolve_padding(spec)
    symmetric = top == bottom and left == right
    size = "L" if spec.op == "conv1d" else "H"
    lines.append(f"{size}′ = ⌊({size} + 2P − D·(k − 1) − 1) / S⌋ + 1" if symmetric else f"{size}′ = ⌊({size} + P_before + P_after − D·(k − 1) − 1) / S⌋ + 1")
    for name, n, k, s, d, out, axis in dims:
        name = "L" if spec.op == "conv1d" else name
        before, after = (top, bottom) if axis == 0 else (left, right)
        pad = f"2·{before}" if before == after else f"{before} + {after}"
        lines.append(f"{name}′ = ⌊({n} + {pad} − {d}·({k} − 1) − 1) / {s}⌋ + 1 = {out}")
    return "\n".join(lines)


def _reached_by_windows(n: int, before: int, after: int, mode: str, k: int, s: int, d: int, out: int) -> set[int]:
    """Input indices that some window tap reads, directly or through a padding cell that copies them."""
    copies = padding_index(n, before, after, mode)
    taps = {y * s + i * d for y in range(out) for i in range(k)}
    return {int(copies[p]) for p in taps if copies[p] >= 0}


def _reached_by_scatter(n: int, k: int, s: int, d: int, crop: int, out: int) -> set[int]:
    """Input indices of a transposed convolution whose scattered kernel lands inside the output."""
    return {i for i in range(n) if any(0 <= i * s - crop + j * d < out for j in range(k))}


def unvisited(spec: ConvSpec) -> tuple[list[int], list[int]]:
    """Input rows and columns (0-based, unpadded) that reach no output cell.

    This is what autograd says: their gradient is zero whatever the kernel. A row the
    windows skip still counts as reached when a replicate/reflect/circular padding cell
    copies it; in a transposed convolution an input is unreached when the padding crops
    away every output cell its kernel lands on."""
    _, h, w = spec.x.shape
    (kh, kw), (sh, sw), (dh, dw) = spec.kernel_size, spec.stride, spec.dilation
    out_h, out_w = output_size(spec)
    if spec.op == "transposed":
        ph, pw = (0, 0) if isinstance(spec.padding, str) else spec.padding
        seen_rows = _reached_by_scatter(h, kh, sh, dh, ph, out_h)
        seen_cols = _reached_by_scatter(w, kw, sw, dw, pw, out_w)
    else:
        top, bottom, left, right = resolve_padding(spec)
        mode = "zeros" if spec.is_pool else spec.padding_mode
        seen_rows = _reached_by_windows(h, top, bottom, mode, kh, sh, dh, out_h)
        seen_cols = _reached_by_windows(w, left, right, mode, kw, sw, dw, out_w)
    # A cell is reached when its row and its column are: with no column reached, no row is.
    if not seen_cols:
        seen_rows = set()
    if not seen_rows and spec.op != "conv1d":
        seen_cols = set()
    rows = [] if spec.op == "conv1d" else [r for r in range(h) if r not in seen_rows]
    return rows, [c for c in range(w) if c not in seen_cols]


def unvisited_text(spec: ConvSpec) -> str:
    """Why some input rows/columns never reach the output ("" when every cell does)."""
    rows, cols = unvisited(spec)
    if not rows and not cols:
        return ""
    _, h, w = spec.x.shape
    (kh, kw), (sh, sw), (dh, dw) = spec.kernel_size, spec.stride, spec.dilation
    parts = []
    if spec.op == "transposed":
        pads = (0, 0) if isinstance(spec.padding, str) else spec.padding
        for label, items, p in (("rows", rows, pads[0]), ("columns", cols, pads[1])):
            if items:
                named = ", ".join(str(i) for i in items)
                noun, verb = (label, "are") if len(items) > 1 else (label[:-1], "is")
                parts.append(
                    f"Input {noun} {named} (counting from 0) {verb} cropped away: every output {label[:-1]} "
                    f"{'they reach' if len(items) > 1 else 'it reaches'} lies in the padding {p} that the transposed "
                    "convolution removes from each side, so their gradient is zero."
                )
        return " ".join(parts)
    top, bottom, left, right = resolve_padding(spec)
    copied = "" if spec.is_pool or spec.padding_mode == "zeros" else f", and no {spec.padding_mode} padding cell copies them"
    for label, items, n, pad, k, s, d in (("rows", rows, h, top + bottom, kh, sh, dh), ("columns", cols, w, left + right, kw, sw, dw)):
        if not items:
            continue
        reach = n + pad - d * (k - 1) - 1
        named = ", ".join(str(i) for i in items)
        reasons = []
        if reach % s:
            reasons.append(f"{n} + {pad} − {d}·({k} − 1) − 1 = {reach} is not a multiple of the stride {s}, so the last window stops short")
        elif s > 1:
            reasons.append(f"the stride {s} jumps over them between windows")
        if d > 1:
            reasons.append(f"with dilation {d} the taps of each window skip cells")
        why = "; ".join(reasons) or "no window tap lands on their cells"
        noun, verb = (label, "are") if len(items) > 1 else (label[:-1], "is")
        parts.append(f"Input {noun} {named} (counting from 0) {verb} never visited: {why}{copied}.")
    return " ".join(parts)


@dataclass(frozen=True)
class LayerCost:
    params: int
    mult_adds: int
    fc_params: int
    fc_mult_adds: int


def layer_cost(spec: ConvSpec) -> LayerCost:
    """Learnable parameters and multiply-adds, and those of the dense layer with the same shapes."""
    c_in, h, w = spec.x.shape
    c_out = spec.out_channels
    out_h, out_w = output_size(spec)
    kh, kw = spec.kernel_size
    n_in, n_out = c_in * h * w, c_out * out_h * out_w
    fc_params, fc_macs = n_in * n_out + n_out, n_in * n_out
    if spec.is_pool:
        return LayerCost(0, 0 if spec.op == "maxpool" else n_out * kh * kw, fc_params, fc_macs)
    params = kh * kw * c_in * c_out + c_out
    if spec.op == "transposed":
        macs = h * w * c_in * c_out * kh * kw  # every input cell scatters one whole kernel
    else:
        macs = out_h * out_w * c_out * c_in * kh * kw
    return LayerCost(params, macs, fc_params, fc_macs)


def cost_text(spec: ConvSpec) -> str:
    c_in, h, w = spec.x.shape
    c_out = spec.out_channels
    out_h, out_w = output_size(spec)
    kh, kw = spec.kernel_size
    cost = layer_cost(spec)
    n_in, n_out = c_in * h * w, c_out * out_h * out_w
    if spec.is_pool:
        own = f"Pooling: 0 learnable parameters ({'comparisons only' if spec.op == 'maxpool' else f'{cost.mult_adds:,} additions'})"
    else:
        own = (
            f"Parameters k_h·k_w·C_in·C_out + C_out = {kh}·{kw}·{c_in}·{c_out} + {c_out} = {cost.params:,}; "
            f"multiply-adds = {cost.mult_adds:,}"
        )
    ratio = f" ({cost.fc_params / cost.params:,.0f}× more parameters)" if cost.params else ""
    fc = (
        f"Fully connected {n_in}→{n_out}: {n_in}·{n_out} + {n_out} = {cost.fc_params:,} parameters{ratio}; "
        f"multiply-adds = {cost.fc_mult_adds:,}"
    )
    return own + "\n" + fc
