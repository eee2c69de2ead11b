"""The stepper's final answers equal torch's, over random shapes (hypothesis)."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from core.convolution.spec import ConvSettingError, ConvSpec, validate
from core.convolution.stepper import ROLE_INPUT, ROLE_INSERTED, build_steps, steps_job
from core.engine import Snapshot, run_headless

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MODES = ["zeros", "reflect", "replicate", "circular"]


@st.composite
def conv_layers(draw, one_d=False):
    """A valid conv layer: sizes drawn so that the dilated kernel fits the padded input."""
    c_in, c_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh = 1 if one_d else draw(st.integers(1, 4))
    kw = draw(st.integers(1, 4))
    sh, sw = (1 if one_d else draw(st.integers(1, 3))), draw(st.integers(1, 3))
    dh, dw = (1 if one_d else draw(st.integers(1, 3))), draw(st.integers(1, 3))
    ph, pw = (0 if one_d else draw(st.integers(0, 2))), draw(st.integers(0, 2))
    mode = draw(st.sampled_from(MODES))
    h = 1 if one_d else draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph, ph + 1), 11))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw, pw + 1), 11))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    spec = ConvSpec(
        "conv1d" if one_d else "conv2d",
        rng.normal(size=(c_in, h, w)),
        rng.normal(size=(c_out, c_in, kh, kw)),
        rng.normal(size=c_out),
        stride=(sh, sw),
        padding=(ph, pw),
        padding_mode=mode,
        dilation=(dh, dw),
    )
    validate(spec)
    return spec, rng


def torch_padded(spec, x):
    ph, pw = spec.padding
    if ph == pw == 0:
        return x
    mode = "constant" if spec.padding_mode == "zeros" else spec.padding_mode
    return F.pad(x, (pw, pw, ph, ph), mode=mode)


def torch_conv(spec, x, w):
    b = torch.tensor(spec.bias)
    if spec.op == "conv1d":
        pw = spec.padding[1]
        xp = x[:, :, 0]
        if pw:
            xp = F.pad(xp, (pw, pw), mode="constant" if spec.padding_mode == "zeros" else spec.padding_mode)
        return F.conv1d(xp, w[:, :, 0], b, stride=spec.stride[1], dilation=spec.dilation[1])[:, :, None]
    return F.conv2d(torch_padded(spec, x), w, b, stride=spec.stride, dilation=spec.dilation)


@FAST
@given(conv_layers())
def test_forward_conv2d_equals_torch(layer):
    spec, _ = layer
    steps = build_steps(spec)
    ref = torch_conv(spec, torch.tensor(spec.x)[None], torch.tensor(spec.weight))[0].numpy()
    np.testing.assert_allclose(steps.result, ref, rtol=1e-10, atol=1e-10)
    assert steps.count == ref.size


@FAST
@given(conv_layers(one_d=True))
def test_forward_conv1d_equals_torch(layer):
    spec, _ = layer
    ref = torch_conv(spec, torch.tensor(spec.x)[None], torch.tensor(spec.weight))[0].numpy()
    np.testing.assert_allclose(build_steps(spec).result, ref, rtol=1e-10, atol=1e-10)


@FAST
@given(st.one_of(conv_layers(), conv_layers(one_d=True)), st.sampled_from(["grad_input", "grad_kernel"]))
def test_backward_steps_equal_autograd(layer, direction):
    spec, rng = layer
    x = torch.tensor(spec.x)[None].requires_grad_()
    w = torch.tensor(spec.weight).requires_grad_()
    out = torch_conv(spec, x, w)
    upstream = rng.normal(size=out.shape[1:])
    (out[0] * torch.tensor(upstream)).sum().backward()
    steps = build_steps(ConvSpec(**{**spec.__dict__, "direction": direction, "upstream": upstream}))
    expected = x.grad[0] if direction == "grad_input" else w.grad
    np.testing.assert_allclose(steps.result, expected.numpy(), rtol=1e-9, atol=1e-9)


@FAST
@given(
    st.integers(1, 3), st.integers(1, 3), st.integers(1, 5), st.integers(1, 5), st.integers(1, 3), st.integers(1, 3),
    st.integers(1, 3), st.integers(1, 3), st.integers(0, 2), st.integers(0, 2), st.integers(0, 2**16),
)
def test_transposed_equals_torch(c_in, c_out, h, w, k, s, d, p, op_h, op_w, seed):
    op = (op_h, op_w)
    assume(max(op) < max(s, d))
    rng = np.random.default_rng(seed)
    spec = ConvSpec("transposed", rng.normal(size=(c_in, h, w)), rng.normal(size=(c_in, c_out, k, k)), rng.normal(size=c_out),
                    stride=(s, s), padding=(p, p), dilation=(d, d), output_padding=op)
    try:
        validate(spec)
    except ConvSettingError:
        assume(False)
    ref = F.conv_transpose2d(torch.tensor(spec.x)[None], torch.tensor(spec.weight), torch.tensor(spec.bias),
                             stride=s, padding=p, output_padding=op, dilation=d)[0].numpy()
    steps = build_steps(spec)
    np.testing.assert_allclose(steps.result, ref, rtol=1e-10, atol=1e-10)
    # The grid shows the input cells where torch scatters them, zeros in between.
    if p == 0:
        assert (steps.grid_role == ROLE_INPUT).sum() == h * w
        assert (steps.grid_role == ROLE_INSERTED).sum() == ((h - 1) * s + 1) * ((w - 1) * s + 1) - h * w


@FAST
@given(st.sampled_from(["maxpool", "avgpool"]), st.integers(1, 3), st.integers(2, 8), st.integers(2, 8),
       st.integers(1, 3), st.integers(1, 3), st.integers(0, 1), st.integers(1, 2), st.integers(0, 2**16))
def test_pooling_equals_torch(op, c, h, w, k, s, p, d, seed):
    if op == "avgpool":
        d = 1
    assume(2 * p <= k)
    rng = np.random.default_rng(seed)
    spec = ConvSpec(op, rng.normal(size=(c, h, w)), window=(k, k), stride=(s, s), padding=(p, p), dilation=(d, d))
    try:
        validate(spec)
    except ConvSettingError:
        assume(False)
    x = torch.tensor(spec.x)[None]
    if op == "maxpool":
        ref = F.max_pool2d(x, k, s, p, d)
    else:
        ref = F.avg_pool2d(x, k, s, p)
    np.testing.assert_allclose(build_steps(spec).result, ref[0].numpy(), rtol=1e-12, atol=1e-12)


def test_same_padding_matches_torch_same():
    rng = np.random.default_rng(1)
    for k, d in [(3, 1), (4, 1), (2, 3), (5, 2)]:
        spec = ConvSpec("conv2d", rng.normal(size=(2, 7, 6)), rng.normal(size=(3, 2, k, k)), rng.normal(size=3), padding="same", dilation=(d, d))
        with warnings.catch_warnings():  # torch notes that even kernels need an internal padded copy
            warnings.filterwarnings("ignore", "Using padding='same'", UserWarning)
            ref = F.conv2d(torch.tensor(spec.x)[None], torch.tensor(spec.weight), torch.tensor(spec.bias), padding="same", dilation=d)
        np.testing.assert_allclose(build_steps(spec).result, ref[0].numpy(), atol=1e-10)


def test_each_step_shows_products_that_sum_to_its_value():
    rng = np.random.default_rng(2)
    spec = ConvSpec("conv2d", rng.normal(size=(3, 5, 5)), rng.normal(size=(2, 3, 3, 3)), np.array([0.5, -1.0]), padding=(1, 1), stride=(2, 2))
    steps = build_steps(spec)
    for n in range(steps.count):
        s = steps.step(n)
        window = steps.grid[:, s.rows][:, :, s.cols]
        np.testing.assert_allclose(s.products, window * s.kernel)
        np.testing.assert_allclose(s.partial, s.products.sum(axis=(1, 2)))
        assert s.value == pytest.approx(s.partial.sum() + s.bias)
    assert steps.filled(-1).sum() == 0 and steps.filled(3).sum() == 4 and steps.filled(steps.count - 1).all()
    with pytest.raises(IndexError):
        steps.step(steps.count)


def test_steps_job_yields_one_snapshot_then_finishes():
    spec = ConvSpec("conv2d", np.ones((1, 4, 4)), np.ones((1, 1, 3, 3)))
    events = run_headless(steps_job, spec)
    assert isinstance(events[0], Snapshot) and events[0].data["steps"].count == 4
    np.testing.assert_array_equal(events[0].data["steps"].result, np.full((1, 2, 2), 9.0))


def test_too_large_a_layer_is_refused_with_a_reason():
    spec = ConvSpec("conv2d", np.zeros((8, 64, 64)), np.zeros((64, 8, 7, 7)), padding="same")
    with pytest.raises(ConvSettingError, match="products") as err:
        build_steps(spec)
    assert err.value.field == "input"


def test_grad_input_marks_the_padding_cells_it_folds_back():
    spec = ConvSpec("conv2d", np.ones((1, 4, 4)), np.ones((1, 1, 3, 3)), padding=(1, 1), direction="grad_input")
    steps = build_steps(spec)
    assert steps.values.shape == (1, 6, 6) and steps.output_role.shape == (6, 6)
    assert steps.output_role[0].tolist() == [1] * 6 and steps.output_role[1, 1:5].tolist() == [0] * 4
    assert build_steps(ConvSpec("conv2d", np.ones((1, 4, 4)), np.ones((1, 1, 3, 3)))).output_role is None


@FAST
@given(conv_layers())
def test_the_cells_no_window_covers_are_those_autograd_gives_no_gradient(layer):
    """A forward zero-padded convolution: the crossed-out cells are exactly the inputs
    whose gradient is zero whatever the kernel (all-ones kernel, so no weight hides one)."""
    spec, _ = layer
    assume(spec.padding_mode == "zeros")
    steps = build_steps(spec)
    x = torch.tensor(spec.x, dtype=torch.float64, requires_grad=True)
    w = torch.ones(spec.weight.shape, dtype=torch.float64)
    F.conv2d(x[None], w, stride=spec.stride, padding=spec.padding, dilation=spec.dilation).sum().backward()
    role = steps.grid_role
    rows = np.flatnonzero((role == ROLE_INPUT).any(axis=1))
    cols = np.flatnonzero((role == ROLE_INPUT).any(axis=0))
    marked = steps.unvisited_cells()[np.ix_(rows, cols)]
    np.testing.assert_array_equal(marked, (x.grad == 0).all(0).numpy())
    assert not steps.unvisited_cells()[role != ROLE_INPUT].any()
