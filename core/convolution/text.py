"""The arithmetic of one step written out for students, and the numbers as CSV rows."""

from __future__ import annotations

import math

import numpy as np

from core.convolution.spec import ConvSpec, resolve_padding
from core.convolution.stepper import StepList

__all__ = ["fmt", "describe_step", "step_csv_rows", "backward_text"]

MAX_TERMS = 16  # per channel; longer sums are shortened with "…"


def fmt(v: float, digits: int = 3) -> str:
    """Short and exact where possible: 2, −0.5, 0.333, −∞."""
    v = float(v)
    if math.isinf(v):
        return "−∞" if v < 0 else "∞"
    if math.isnan(v):
        return "nan"
    if v != 0 and (abs(v) >= 1e6 or abs(v) < 10.0**-digits):
        # 1e+308 rather than 309 digits (which widened the window past any screen), and
        # 3e−12 rather than a false 0.
        s = f"{v:.{digits}g}"
    elif abs(v - round(v)) < 1e-9:
        s = str(int(round(v)))
    else:
        s = f"{v:.{digits}f}".rstrip("0").rstrip(".")
        if s in ("-0", "0"):
            s = f"{v:.{digits}g}"
    return s.replace("-", "−")


def _paren(v: float) -> str:
    s = fmt(v)
    return f"({s})" if s.startswith("−") else s


def _terms(values: list[str], total_count: int) -> str:
    if total_count > MAX_TERMS:
        return " + ".join(values[: MAX_TERMS - 2]) + f" + … ({total_count - MAX_TERMS + 2} more) + " + values[-1]
    return " + ".join(values)


def _cell_name(steps: StepList, plane: int, y: int, x: int) -> str:
    label = steps.plane_labels[plane]
    if steps.kind == "grad_kernel":
        return f"{label}, weight [{y}, {x}]"
    if steps.kind == "grad_input":
        return f"{label}: {steps.output_title}[{y}, {x}]"
    if steps.spec.op == "conv1d" and steps.kind in ("conv", "grad_input"):
        return f"{label}: out[{x}]"
    return f"{label}: out[{y}, {x}]"


def describe_step(steps: StepList, n: int) -> str:
    """Several lines: which cell, the products, per-channel sums, total plus bias."""
    s = steps.step(n)
    head = f"Step {n + 1} of {steps.count} — {_cell_name(steps, s.plane, s.y, s.x)}"
    if steps.reduce == "max":
        vals = [fmt(v) for v in s.products.ravel()]
        return f"{head}\nmax({', '.join(vals)}) = {fmt(s.value)}"
    if steps.kind == "avgpool":
        vals = [_paren(v) for v in steps.grid[s.channels[0]][np.ix_(s.rows, s.cols)].ravel()]
        return f"{head}\n({_terms(vals, len(vals))}) / {s.kernel.size} = {fmt(s.value)}"
    lines = [head]
    multi = len(s.channels) > 1
    for ci, c in enumerate(s.channels):
        terms = _grid_times_weight(steps, s, ci)
        prefix = f"channel {c}: " if multi else ""
        lines.append(f"{prefix}{_terms(terms, len(terms))} = {fmt(s.partial[ci])}")
    total = float(s.partial.sum())
    if multi:
        lines.append(f"sum over channels: {' + '.join(_paren(p) for p in s.partial)} = {fmt(total)}")
    if s.bias != 0.0 or steps.kind in ("conv", "transposed"):
        lines.append(f"{fmt(total)} + bias {_paren(s.bias)} = {fmt(s.value)}")
    return "\n".join(lines)


def _grid_times_weight(steps: StepList, s, ci: int) -> list[str]:
    grid = steps.grid[s.channels[ci]][np.ix_(s.rows, s.cols)]
    return [f"{_paren(a)}·{_paren(w)}" for a, w in zip(grid.ravel(), s.kernel[ci].ravel())]


def step_csv_rows(steps: StepList) -> dict[str, np.ndarray]:
    """One row per step: output cell, per-channel partial sums and the value (CSV columns)."""
    p, y, x = np.unravel_index(np.arange(steps.count), steps.values.shape)
    cols: dict[str, np.ndarray] = {"step": np.arange(1, steps.count + 1), "plane": p, "row": y, "col": x}
    partial = steps.partial.reshape(steps.count, -1)
    for ci in range(partial.shape[1]):
        cols[f"partial_{ci}"] = partial[:, ci]
    cols["bias"] = steps.bias[steps.plane_kernel[p]]
    cols["value"] = steps.values.ravel()
    return cols


def backward_text(spec: ConvSpec) -> str:
    """Why each backward pass is itself a convolution, with this layer's numbers ("" forward)."""
    (kh, kw), (sh, sw), (dh, dw) = spec.kernel_size, spec.stride, spec.dilation
    c, h, w = spec.x.shape
    if spec.direction == "grad_input":
        top, bottom, left, right = resolve_padding(spec)
        zeros = f"{sh - 1}×{sw - 1} zeros between cells (stride {sh}×{sw}), " if (sh, sw) != (1, 1) else ""
        fold = "; the gradient on the padding cells is then folded back onto the input" if top + bottom + left + right else ""
        return (
            f"∂L/∂input ({c}×{h}×{w}) is a transposed convolution: ∂L/∂y with {zeros}"
            f"padded by D·(k − 1) = {dh * (kh - 1)}×{dw * (kw - 1)}, convolved with stride 1 by the kernel flipped "
            f"top-to-bottom and left-to-right, input and output channels swapped{fold}."
        )
    if spec.direction == "grad_kernel":
        return (
            f"∂L/∂kernel has the kernel's shape ({spec.out_channels}×{c}×{kh}×{kw}): each weight's gradient is the input "
            f"convolved with ∂L/∂y as the kernel, whose stride is the forward dilation ({dh}×{dw}) and whose dilation "
            f"is the forward stride ({sh}×{sw})."
        )
    return ""
