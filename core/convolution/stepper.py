"""The full list of steps of a convolution, built at once with numpy broadcasting.

Every mode reduces to one picture: a window slides over a *grid* (the padded input,
or the zero-inserted input of a transposed convolution, or the upstream gradient),
multiplies what it covers by a kernel, sums (or takes the max) and fills one output
cell. :func:`build_steps` computes every window's products, per-channel partial sums
and final value in a few array operations, so stepping forward and back is only
indexing. Tests check the final results against torch and autograd.

Backward passes are themselves convolutions:
- ∂L/∂input is a transposed convolution of the upstream gradient with the kernel
  (a stride-1 convolution of the zero-inserted, padded gradient with the flipped
  kernel), computed for the padded input and then folded back onto the input;
- ∂L/∂kernel is a convolution of the padded input with the upstream gradient as the
  kernel, whose stride is the forward dilation and whose dilation is the forward stride.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from core.convolution.spec import ConvSettingError, ConvSpec, output_size, pad_input, padding_matrix, resolve_padding, validate
from core.engine import Event, Finished, RunControl, Snapshot

__all__ = ["StepList", "StepView", "build_steps", "steps_job", "MAX_PRODUCTS", "ROLE_INPUT", "ROLE_PADDING", "ROLE_INSERTED"]

ROLE_INPUT, ROLE_PADDING, ROLE_INSERTED = 0, 1, 2
MAX_PRODUCTS = 6_000_000  # ~50 MB of float64: beyond this stepping is no longer readable anyway


@dataclass(frozen=True, eq=False)
class StepView:
    """One step: which output cell, which grid cells, and the arithmetic."""

    index: int
    plane: int
    y: int
    x: int
    rows: np.ndarray  # (KH,) grid rows under the window
    cols: np.ndarray  # (KW,)
    channels: np.ndarray  # (Cs,) grid channels summed over
    kernel: np.ndarray  # (Cs, KH, KW) weights as applied
    products: np.ndarray  # (Cs, KH, KW); for max pooling the window values
    partial: np.ndarray  # (Cs,) per-channel sums (or maxima)
    bias: float
    value: float


@dataclass(frozen=True, eq=False)
class StepList:
    spec: ConvSpec
    kind: str  # conv | transposed | maxpool | avgpool | grad_input | grad_kernel
    grid: np.ndarray  # (G, Hg, Wg) what the window slides over
    grid_role: np.ndarray  # (Hg, Wg) ROLE_INPUT / ROLE_PADDING / ROLE_INSERTED
    kernels: np.ndarray  # (K, Cs, KH, KW) as applied
    bias: np.ndarray  # (K,)
    plane_kernel: np.ndarray  # (P,) kernel used by each output plane
    plane_channels: np.ndarray  # (P, Cs) grid channels each output plane reads
    rows: np.ndarray  # (Ho, KH) grid rows of each output row's window
    cols: np.ndarray  # (Wo, KW)
    products: np.ndarray  # (P, Ho, Wo, Cs, KH, KW)
    partial: np.ndarray  # (P, Ho, Wo, Cs)
    values: np.ndarray  # (P, Ho, Wo): the output being filled
    reduce: str  # "sum" | "max"
    result: np.ndarray  # the layer's answer in torch's shape (after folding, for grad_input)
    plane_labels: tuple[str, ...]
    grid_title: str
    kernel_title: str
    output_title: str
    note: str = ""  # what happens after the last step (folding, bias gradient)
    output_role: np.ndarray | None = None  # (Ho, Wo) roles of the output cells (grad_input: padding to fold back)

    @property
    def count(self) -> int:
        return int(self.values.size)

    @property
    def out_hw(self) -> tuple[int, int]:
        return int(self.values.shape[1]), int(self.values.shape[2])

    def step(self, n: int) -> StepView:
        if not 0 <= n < self.count:
            raise IndexError(f"Step {n} is outside 0…{self.count - 1}")
        p, y, x = (int(v) for v in np.unravel_index(n, self.values.shape))
        k = int(self.plane_kernel[p])
        return StepView(
            n, p, y, x, self.rows[y], self.cols[x], self.plane_channels[p], self.kernels[k],
            self.products[p, y, x], self.partial[p, y, x], float(self.bias[k]), float(self.values[p, y, x]),
        )

    def unvisited_cells(self) -> np.ndarray:
        """(Hg, Wg) bool: input cells that no window covers, so their values never reach
        the output (a stride that does not fit leaves the last rows and columns out)."""
        covered = np.zeros(self.grid_role.shape, bool)
        covered[np.unique(self.rows)[:, None], np.unique(self.cols)[None, :]] = True
        return ~covered & (self.grid_role == ROLE_INPUT)

    def filled(self, n: int) -> np.ndarray:
        """(P, Ho, Wo) bool: output cells computed after steps 0…n (none for n < 0)."""
        mask = np.zeros(self.count, bool)
        mask[: max(0, n + 1)] = True
        return mask.reshape(self.values.shape)


def _slide(grid, kernels, bias, plane_kernel, plane_channels, stride, dilation, out_hw, reduce):
    """Every window of every output plane at once (see StepList for the shapes)."""
    (ho, wo), (sh, sw), (dh, dw) = out_hw, stride, dilation
    kh, kw = kernels.shape[2:]
    rows = np.arange(ho)[:, None] * sh + np.arange(kh)[None, :] * dh
    cols = np.arange(wo)[:, None] * sw + np.arange(kw)[None, :] * dw
    windows = grid[:, rows[:, None, :, None], cols[None, :, None, :]]  # (G, Ho, Wo, KH, KW)
    per_plane = windows[plane_channels].transpose(0, 2, 3, 1, 4, 5)  # (P, Ho, Wo, Cs, KH, KW)
    if reduce == "max":
        products = per_plane
        partial = products.max(axis=(-1, -2))
        values = partial.max(axis=-1)
    else:
        products = per_plane * kernels[plane_kernel][:, None, None]
        partial = products.sum(axis=(-1, -2))
        values = partial.sum(axis=-1) + bias[plane_kernel][:, None, None]
    return rows, cols, products, partial, values


def _check_size(planes: int, hw: tuple[int, int], per_step: int) -> None:
    total = planes * hw[0] * hw[1] * per_step
    if total > MAX_PRODUCTS:
        raise ConvSettingError("input", f"This layer has {total:,} products to step through; use a smaller input, kernel or fewer filters")


def _transposed_grid(z: np.ndarray, stride, padding, dilation, output_padding, kernel_hw):
    """Zero-insert (stride − 1 zeros between cells), pad by D(k−1) − P, add output padding."""
    c, h, w = z.shape
    (sh, sw), (dh, dw), (kh, kw) = stride, dilation, kernel_hw
    eh, ew = dh * (kh - 1), dw * (kw - 1)
    hi, wi = (h - 1) * sh + 1, (w - 1) * sw + 1
    full = np.zeros((c, hi + 2 * eh + output_padding[0], wi + 2 * ew + output_padding[1]))
    role = np.full(full.shape[1:], ROLE_PADDING, np.int8)
    role[eh : eh + hi, ew : ew + wi] = ROLE_INSERTED
    role[eh : eh + hi : sh, ew : ew + wi : sw] = ROLE_INPUT
    full[:, eh : eh + hi : sh, ew : ew + wi : sw] = z
    ph, pw = padding
    crop = (slice(ph, full.shape[1] - ph), slice(pw, full.shape[2] - pw))
    return full[(slice(None), *crop)], role[crop]


def _transposed(spec: ConvSpec, z, weight, bias, padding, output_padding, kind, titles, labels):
    c_in, c_out, kh, kw = weight.shape
    grid, role = _transposed_grid(z, spec.stride, padding, spec.dilation, output_padding, (kh, kw))
    kernels = np.flip(weight, axis=(2, 3)).transpose(1, 0, 2, 3)  # (C_out, C_in, kh, kw)
    out_hw = (grid.shape[1] - spec.dilation[0] * (kh - 1), grid.shape[2] - spec.dilation[1] * (kw - 1))
    _check_size(c_out, out_hw, c_in * kh * kw)
    plane_kernel = np.arange(c_out)
    plane_channels = np.tile(np.arange(c_in), (c_out, 1))
    rows, cols, products, partial, values = _slide(grid, kernels, bias, plane_kernel, plane_channels, (1, 1), spec.dilation, out_hw, "sum")
    return dict(
        kind=kind, grid=grid, grid_role=role, kernels=np.ascontiguousarray(kernels), bias=bias, plane_kernel=plane_kernel,
        plane_channels=plane_channels, rows=rows, cols=cols, products=products, partial=partial, values=values,
        reduce="sum", plane_labels=labels(c_out), grid_title=titles[0], kernel_title=titles[1], output_title=titles[2],
    )


def _forward(spec: ConvSpec) -> StepList:
    c_in = spec.in_channels
    if spec.op == "transposed":
        pads = (0, 0) if isinstance(spec.padding, str) else spec.padding
        parts = _transposed(
            spec, spec.x, spec.weight, spec.bias_or_zeros(), pads, spec.output_padding, "transposed",
            ("input, zero-inserted and padded", "kernel, flipped", "output"), lambda n: tuple(f"filter {o}" for o in range(n)),
        )
        return StepList(spec, result=parts["values"], **parts)
    fill = -np.inf if spec.op == "maxpool" else 0.0
    grid, mask = pad_input(spec, fill)
    out_hw = output_size(spec)
    kh, kw = spec.kernel_size
    if spec.is_pool:
        planes = c_in
        kernels = np.full((1, 1, kh, kw), 1.0 / (kh * kw))
        bias = np.zeros(1)
        plane_kernel = np.zeros(planes, int)
        plane_channels = np.arange(planes)[:, None]
        reduce = "max" if spec.op == "maxpool" else "sum"
        labels = tuple(f"channel {c}" for c in range(planes))
        per_step = kh * kw
    else:
        planes = spec.out_channels
        kernels, bias = np.asarray(spec.weight, float), spec.bias_or_zeros()
        plane_kernel = np.arange(planes)
        plane_channels = np.tile(np.arange(c_in), (planes, 1))
        reduce = "sum"
        labels = tuple(f"filter {o}" for o in range(planes))
        per_step = c_in * kh * kw
    _check_size(planes, out_hw, per_step)
    rows, cols, products, partial, values = _slide(grid, kernels, bias, plane_kernel, plane_channels, spec.stride, spec.dilation, out_hw, reduce)
    kind = spec.op if spec.is_pool else "conv"
    kernel_title = {"maxpool": "max-pooling window", "avgpool": "average-pooling window"}.get(spec.op, "kernel")
    return StepList(
        spec, kind, grid, np.where(mask, ROLE_PADDING, ROLE_INPUT).astype(np.int8), kernels, bias, plane_kernel,
        plane_channels, rows, cols, products, partial, values, reduce, values, labels,
        "padded input" if mask.any() else "input", kernel_title, "output",
    )


def _upstream(spec: ConvSpec) -> np.ndarray:
    shape = (spec.out_channels, *output_size(spec))
    if spec.upstream is None:
        return np.ones(shape)
    g = np.asarray(spec.upstream, float)
    if g.shape != shape:
        raise ConvSettingError("upstream", f"The upstream gradient must have the output's shape {shape}, not {g.shape}")
    if not np.all(np.isfinite(g)):
        raise ConvSettingError("upstream", "Every upstream gradient cell must be a finite number")
    return g


def _grad_input(spec: ConvSpec) -> StepList:
    g = _upstream(spec)
    top, bottom, left, right = resolve_padding(spec)
    _, h, w = spec.x.shape
    hp, wp = h + top + bottom, w + left + right
    (kh, kw), (sh, sw), (dh, dw) = spec.kernel_size, spec.stride, spec.dilation
    ho, wo = g.shape[1:]
    # Rows/columns the forward windows never reached get zero gradient: extra output padding.
    extra = (hp - ((ho - 1) * sh + dh * (kh - 1) + 1), wp - ((wo - 1) * sw + dw * (kw - 1) + 1))
    parts = _transposed(
        spec, g, np.asarray(spec.weight, float), np.zeros(spec.in_channels), (0, 0), extra, "grad_input",
        ("upstream gradient ∂L/∂y, zero-inserted and padded", "kernel, flipped", "∂L/∂(padded input)" if top + bottom + left + right else "∂L/∂input"),
        lambda n: tuple(f"channel {c}" for c in range(n)),
    )
    rows_m = padding_matrix(h, top, bottom, spec.padding_mode)
    cols_m = padding_matrix(w, left, right, spec.padding_mode)
    result = np.einsum("rh,crs,sw->chw", rows_m, parts["values"], cols_m)
    note = ""
    if top + bottom + left + right:
        how = "dropped" if spec.padding_mode == "zeros" else f"added onto the input cells they were copied from ({spec.padding_mode} padding)"
        note = f"Finally the gradient on padding cells is {how}, giving ∂L/∂input of shape {h}×{w}."
    output_role = np.where(pad_input(spec)[1], ROLE_PADDING, ROLE_INPUT).astype(np.int8)
    return StepList(spec, result=result, note=note, output_role=output_role, **parts)


def _grad_kernel(spec: ConvSpec) -> StepList:
    g = _upstream(spec)
    grid, mask = pad_input(spec)
    c_out, c_in = spec.out_channels, spec.in_channels
    kh, kw = spec.kernel_size
    ho, wo = g.shape[1:]
    _check_size(c_out * c_in, (kh, kw), ho * wo)
    kernels = g[:, None]  # (C_out, 1, Ho, Wo): the upstream gradient is the kernel
    plane_kernel = np.repeat(np.arange(c_out), c_in)
    plane_channels = np.tile(np.arange(c_in), c_out)[:, None]
    rows, cols, products, partial, values = _slide(grid, kernels, np.zeros(c_out), plane_kernel, plane_channels, spec.dilation, spec.stride, (kh, kw), "sum")
    labels = tuple(f"∂L/∂W[{o},{c}]" for o in range(c_out) for c in range(c_in))
    bias_grad = ", ".join(f"{v:.4g}" for v in g.sum(axis=(1, 2)))
    return StepList(
        spec, "grad_kernel", grid, np.where(mask, ROLE_PADDING, ROLE_INPUT).astype(np.int8), kernels, np.zeros(c_out),
        plane_kernel, plane_channels, rows, cols, products, partial, values, "sum", values.reshape(c_out, c_in, kh, kw),
        labels, "padded input" if mask.any() else "input", "upstream gradient ∂L/∂y as kernel", "∂L/∂kernel",
        note=f"∂L/∂bias is the sum of the upstream gradient per filter: {bias_grad}.",
    )


def build_steps(spec: ConvSpec) -> StepList:
    """Validate and build every step; ConvSettingError (a ValueError) when a setting is bad."""
    validate(spec)
    if spec.direction == "grad_input":
        return _grad_input(spec)
    if spec.direction == "grad_kernel":
        return _grad_kernel(spec)
    return _forward(spec)


def steps_job(spec: ConvSpec, ctl: RunControl) -> Iterator[Event]:
    """The whole step list as one snapshot, built off the GUI thread."""
    ctl.checkpoint()
    steps = build_steps(spec)
    ctl.checkpoint()
    yield Snapshot(step=steps.count, kind="steps", data={"steps": steps})
    yield Finished({"steps": steps.count})
