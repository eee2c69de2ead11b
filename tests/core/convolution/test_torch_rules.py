"""Validation follows torch's own rules: a layer is refused exactly when torch refuses it,
and where both accept it the output has torch's shape. Every operation, every padding kind."""

import warnings

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from core.convolution.spec import OPS, PADDING_MODES, ConvSettingError, ConvSpec, output_size, unvisited, validate


@st.composite
def layers(draw):
    op = draw(st.sampled_from(OPS))
    c_in, c_out = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    h = 1 if op == "conv1d" else draw(st.integers(1, 7))
    w = draw(st.integers(1, 7))
    kh = 1 if op == "conv1d" else draw(st.integers(1, 5))
    kw = draw(st.integers(1, 5))
    stride = draw(st.integers(1, 3))
    dilation = draw(st.integers(1, 3))
    padding = draw(st.one_of(st.integers(0, 4), st.sampled_from(["same", "valid"])))
    mode = draw(st.sampled_from(PADDING_MODES))
    output_padding = draw(st.integers(0, 3)) if op == "transposed" else 0
    x = np.ones((c_in, h, w))
    if op == "transposed":
        weight = np.ones((c_in, c_out, kh, kw))
    else:
        weight = np.ones((c_out, c_in, kh, kw))
    pad = padding if isinstance(padding, str) else ((0 if op == "conv1d" else padding), padding)
    two = (lambda v: (1, v)) if op == "conv1d" else (lambda v: (v, v))
    spec = ConvSpec(
        op, x, weight, None, stride=two(stride), padding=pad, padding_mode=mode, dilation=two(dilation),
        output_padding=(output_padding, output_padding), window=(kh, kw),
    )
    return spec, dict(k=(kh, kw), stride=stride, dilation=dilation, padding=padding, mode=mode, output_padding=output_padding)


def torch_output_shape(spec: ConvSpec, p: dict):
    """What torch's own modules make of the layer (None when torch refuses it)."""
    x = torch.as_tensor(spec.x)[None]
    c_in = spec.in_channels
    (kh, kw), s, d, pad, mode = p["k"], p["stride"], p["dilation"], p["padding"], p["mode"]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if spec.op == "conv1d":
                layer = nn.Conv1d(c_in, spec.out_channels, kw, s, pad, d, padding_mode=mode, dtype=torch.float64)
                return tuple(layer(x[:, :, 0]).shape[-1:])
            if spec.op == "conv2d":
                layer = nn.Conv2d(c_in, spec.out_channels, (kh, kw), s, pad, d, padding_mode=mode, dtype=torch.float64)
            elif isinstance(pad, str):
                # Transposed convolutions and pooling take a number of cells: "valid" is 0
                # in every library, "same" has no torch meaning for them.
                if pad != "valid":
                    return None
                pad = 0
            if spec.op == "transposed":
                layer = nn.ConvTranspose2d(c_in, spec.out_channels, (kh, kw), s, pad, p["output_padding"], dilation=d, dtype=torch.float64)
            if spec.op == "maxpool":
                layer = nn.MaxPool2d((kh, kw), s, pad, d)
            elif spec.op == "avgpool":
                if d != 1:
                    return None  # avg_pool2d has no dilation
                layer = nn.AvgPool2d((kh, kw), s, pad)
            out = layer(x)
    except (RuntimeError, ValueError):
        return None
    if min(out.shape) < 1:
        return None
    return tuple(out.shape[-2:])


@settings(max_examples=600, deadline=None)
@given(layers())
def test_validation_refuses_exactly_what_torch_refuses(case):
    spec, p = case
    expected = torch_output_shape(spec, p)
    try:
        validate(spec)
    except ConvSettingError as e:
        assert expected is None, f"refused ({e}) but torch gives {expected} for {p} on {spec.x.shape}"
        return
    assert expected is not None, f"accepted, but torch refuses {spec.op} {p} on {spec.x.shape}"
    shape = output_size(spec)
    assert (shape[-1:] if spec.op == "conv1d" else shape) == expected


def autograd_unreached(spec: ConvSpec, p: dict) -> tuple[list[int], list[int]]:
    """Rows and columns whose gradient autograd gives as zero, with an all-positive kernel."""
    x = torch.as_tensor(spec.x)[None].clone().requires_grad_(True)
    (kh, kw), s, d, pad, mode = p["k"], p["stride"], p["dilation"], p["padding"], p["mode"]
    pad = 0 if pad == "valid" and spec.op in ("transposed", "avgpool") else pad
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if spec.op == "conv1d":
            layer = nn.Conv1d(spec.in_channels, spec.out_channels, kw, s, pad, d, padding_mode=mode, dtype=torch.float64)
            inp = x[:, :, 0]
        elif spec.op == "conv2d":
            layer = nn.Conv2d(spec.in_channels, spec.out_channels, (kh, kw), s, pad, d, padding_mode=mode, dtype=torch.float64)
            inp = x
        elif spec.op == "transposed":
            layer = nn.ConvTranspose2d(spec.in_channels, spec.out_channels, (kh, kw), s, pad, p["output_padding"], dilation=d, dtype=torch.float64)
            inp = x
        else:
            layer, inp = nn.AvgPool2d((kh, kw), s, pad), x
    for param in layer.parameters():
        torch.nn.init.uniform_(param, 0.5, 1.0)
    layer(inp).sum().backward()
    g = x.grad[0].abs().sum(0)  # (H, W)
    rows = [] if spec.op == "conv1d" else [r for r in range(g.shape[0]) if float(g[r].sum()) == 0.0]
    return rows, [c for c in range(g.shape[1]) if float(g[:, c].sum()) == 0.0]


@settings(max_examples=400, deadline=None)
@given(layers())
def test_never_visited_is_what_autograd_says(case):
    spec, p = case
    if spec.op == "maxpool":  # max pooling routes the gradient to one cell per window by value
        spec = ConvSpec("avgpool", spec.x, spec.weight, None, stride=spec.stride, padding=spec.padding, window=spec.window)
        p = {**p, "dilation": 1}
    try:
        validate(spec)
    except ConvSettingError:
        return
    assert unvisited(spec) == autograd_unreached(spec, p)
