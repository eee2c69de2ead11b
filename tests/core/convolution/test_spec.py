"""Closed forms shown to students (output size, unvisited cells, costs) against torch."""

import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from core.convolution.kernels import KERNEL_PRESETS, kernel_preset, sample_image, to_gray
from core.convolution.spec import (
    ConvSettingError,
    ConvSpec,
    cost_text,
    layer_cost,
    output_size,
    output_size_text,
    padding_index,
    unvisited,
    unvisited_text,
    validate,
)
from core.convolution.stepper import ROLE_INPUT, build_steps
from core.convolution.text import backward_text, describe_step, fmt, step_csv_rows


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3), st.integers(0, 2))
def test_output_size_formula_and_its_text_match_torch(h, w, k, c_out, s, d, p):
    spec = ConvSpec("conv2d", np.zeros((2, h, w)), np.zeros((c_out, 2, k, k)), stride=(s, s), padding=(p, p), dilation=(d, d))
    try:
        validate(spec)
    except ConvSettingError:
        assert d * (k - 1) + 1 > min(h, w) + 2 * p  # refused only when the window cannot fit
        return
    got = torch.nn.Conv2d(2, c_out, k, s, p, d)(torch.zeros(1, 2, h, w)).shape[2:]
    assert output_size(spec) == tuple(got)
    last_numbers = [int(line.rsplit("= ", 1)[1]) for line in output_size_text(spec).splitlines()[1:]]
    assert last_numbers == list(got)
    # A cell is never visited exactly when its row or its column is: compare with the
    # cells whose gradient stays zero under an all-ones kernel.
    x = torch.zeros(1, 2, h, w, requires_grad=True)
    probe = torch.nn.Conv2d(2, c_out, k, s, p, d)
    torch.nn.init.constant_(probe.weight, 1.0)
    probe(x).sum().backward()
    dead = (x.grad[0].abs().sum(dim=0) == 0).numpy()
    rows, cols = unvisited(spec)
    expected = np.zeros((h, w), bool)
    expected[rows, :] = True
    expected[:, cols] = True
    np.testing.assert_array_equal(dead, expected)
    assert bool(unvisited_text(spec)) == bool(rows or cols)


def test_unvisited_text_explains_the_remainder():
    spec = ConvSpec("conv2d", np.zeros((1, 6, 6)), np.zeros((1, 1, 3, 3)), stride=(2, 2))
    assert unvisited(spec) == ([5], [5])
    text = unvisited_text(spec)
    assert "row 5" in text and "6 + 0 − 1·(3 − 1) − 1 = 3 is not a multiple of the stride 2" in text


def test_transposed_output_size_matches_torch():
    for h, k, s, p, op, d in [(2, 3, 1, 0, 0, 1), (2, 3, 2, 0, 1, 1), (3, 3, 2, 1, 0, 1), (4, 2, 3, 1, 2, 2)]:
        spec = ConvSpec("transposed", np.zeros((1, h, h)), np.zeros((1, 2, k, k)), stride=(s, s), padding=(p, p), output_padding=(op, op), dilation=(d, d))
        ref = torch.nn.ConvTranspose2d(1, 2, k, s, p, op, dilation=d)(torch.zeros(1, 1, h, h)).shape[2:]
        assert output_size(spec) == tuple(ref)
        assert output_size_text(spec).splitlines()[-1].endswith(f"= {ref[1]}")


@pytest.mark.parametrize("c_in,c_out,k,h", [(1, 1, 3, 4), (3, 8, 3, 32), (2, 5, 5, 9)])
def test_parameter_counts_match_torch_modules(c_in, c_out, k, h):
    spec = ConvSpec("conv2d", np.zeros((c_in, h, h)), np.zeros((c_out, c_in, k, k)), padding=(1, 1))
    cost = layer_cost(spec)
    conv = torch.nn.Conv2d(c_in, c_out, k, padding=1)
    assert cost.params == sum(t.numel() for t in conv.parameters())
    ho, wo = output_size(spec)
    n_in, n_out = c_in * h * h, c_out * ho * wo
    assert cost.fc_params == n_in * n_out + n_out  # == nn.Linear(n_in, n_out) parameters, closed form
    if n_in * n_out < 2_000_000:
        assert cost.fc_params == sum(t.numel() for t in torch.nn.Linear(n_in, n_out).parameters())
    # multiply-adds: exactly the products the stepper writes out
    assert cost.mult_adds == build_steps(spec).products.size
    assert f"= {cost.params:,}" in cost_text(spec)


def test_transposed_and_pooling_costs():
    t = ConvSpec("transposed", np.zeros((2, 3, 3)), np.zeros((2, 4, 3, 3)))
    assert layer_cost(t).params == sum(p.numel() for p in torch.nn.ConvTranspose2d(2, 4, 3).parameters())
    # every input cell scatters a whole kernel: the stepper's products that touch a real input cell
    steps = build_steps(t)
    on_input = steps.grid_role[steps.rows[:, None, :, None], steps.cols[None, :, None, :]] == ROLE_INPUT  # (Ho, Wo, kh, kw)
    assert layer_cost(t).mult_adds == on_input.sum() * 2 * 4
    pool = ConvSpec("maxpool", np.zeros((3, 4, 4)), window=(2, 2), stride=(2, 2))
    assert layer_cost(pool).params == 0 and "0 learnable parameters" in cost_text(pool)


@pytest.mark.parametrize(
    "kwargs,field,pattern",
    [
        (dict(stride=(0, 1)), "stride", "Stride must be"),
        (dict(stride=(-1, -1)), "stride", "never move"),
        (dict(weight=np.zeros((1, 1, 6, 6))), "kernel", "larger than the padded input"),
        (dict(dilation=(3, 3)), "dilation", "spans 7×7"),
        (dict(dilation=(0, 1)), "dilation", "Dilation must be"),
        (dict(padding=(-1, 0)), "padding", "Padding must be"),
        (dict(padding=(4, 4), padding_mode="reflect"), "padding", "Reflect padding"),
        (dict(padding="same", stride=(2, 2)), "padding", "needs stride 1"),
        (dict(x=np.array([[[1.0, np.nan]]])), "input", "finite"),
        (dict(weight=np.zeros((1, 2, 3, 3))), "kernel", "expects 2 input channels"),
    ],
)
def test_bad_settings_are_refused_with_the_control_and_reason(kwargs, field, pattern):
    base = dict(op="conv2d", x=np.zeros((1, 4, 4)), weight=np.zeros((1, 1, 3, 3)))
    with pytest.raises(ConvSettingError, match=re.escape(pattern)) as err:
        validate(ConvSpec(**{**base, **kwargs}))
    assert err.value.field == field


def test_padding_index_matches_torch_pad():
    x = torch.arange(5.0)[None, None]
    for mode in ("reflect", "replicate", "circular"):
        ref = torch.nn.functional.pad(x, (3, 2), mode=mode)[0, 0].long().tolist()
        assert padding_index(5, 3, 2, mode).tolist() == ref
    assert padding_index(3, 1, 1, "zeros").tolist() == [-1, 0, 1, 2, -1]


def test_kernel_presets_are_the_textbook_ones():
    assert kernel_preset("sobel_x", 3, 3).tolist() == [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    assert kernel_preset("laplacian", 3, 3).sum() == 0
    for name in KERNEL_PRESETS:
        for kh, kw in [(1, 1), (3, 3), (2, 5), (7, 7)]:
            k = kernel_preset(name, kh, kw, np.random.default_rng(0))
            assert k.shape == (kh, kw) and np.all(np.isfinite(k))
    assert kernel_preset("gaussian", 5, 5).sum() == pytest.approx(1.0)
    assert kernel_preset("identity", 4, 4)[1, 1] == 1.0
    with pytest.raises(ValueError, match="Unknown kernel preset"):
        kernel_preset("blurry", 3, 3)


def test_sample_image_and_gray():
    img = sample_image(24)
    assert img.shape == (3, 24, 24) and 0 <= img.min() and img.max() <= 1 and img.std() > 0.1
    assert to_gray(img).shape == (1, 24, 24)


def test_step_text_writes_out_products_partial_sums_and_bias():
    x = np.arange(18.0).reshape(2, 3, 3)
    spec = ConvSpec("conv2d", x, np.ones((1, 2, 2, 2)), np.array([-0.5]))
    steps = build_steps(spec)
    text = describe_step(steps, 0)
    assert "channel 0: 0·1 + 1·1 + 3·1 + 4·1 = 8" in text
    assert "channel 1: 9·1 + 10·1 + 12·1 + 13·1 = 44" in text
    assert "8 + 44 = 52" in text and "52 + bias (−0.5) = 51.5" in text
    pool = build_steps(ConvSpec("maxpool", x, window=(2, 2), stride=(1, 1), padding=(1, 1)))
    assert describe_step(pool, 0).endswith("max(−∞, −∞, −∞, 0) = 0")
    cols = step_csv_rows(steps)
    assert list(cols["value"]) == list(steps.values.ravel()) and len(cols["step"]) == 4
    assert fmt(1 / 3) == "0.333" and fmt(-2.0) == "−2"
    # a bias of 1e308 printed in full was 309 digits wide; tiny values are not a false 0
    assert fmt(1e308) == "1e+308" and fmt(-3e-12) == "−3e−12" and fmt(2.5e6) == "2.5e+06"


def test_backward_text_names_the_equivalent_convolution():
    base = dict(op="conv2d", x=np.zeros((2, 6, 6)), weight=np.zeros((3, 2, 3, 3)), stride=(2, 2), dilation=(1, 1), padding=(1, 1))
    assert backward_text(ConvSpec(**base)) == ""
    grad_in = backward_text(ConvSpec(**base, direction="grad_input"))
    assert "1×1 zeros between cells (stride 2×2)" in grad_in and "padded by D·(k − 1) = 2×2" in grad_in
    grad_k = backward_text(ConvSpec(**base, direction="grad_kernel"))
    assert "(3×2×3×3)" in grad_k and "dilation is the forward stride (2×2)" in grad_k

