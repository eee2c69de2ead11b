"""Forward/backward statistics per layer: the classic lecture outcomes, against torch.nn."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from core.engine import Cancelled, Finished, Message, RunControl, Snapshot, run_headless
from core.initialization.schemes import SchemeChoice
from core.initialization.stats import (
    NetworkSpec,
    StatsConfig,
    build_weights,
    estimate_stats_bytes,
    layer_statistics,
    make_inputs,
    parse_widths,
)


def run(widths, activation, keys, *, norm="none", batch=400, input_dim=None, bias=False, **params):
    cfg = StatsConfig(
        NetworkSpec(tuple(widths), activation, bias=bias, norm=norm),
        tuple(SchemeChoice.of(k, params.get(k)) for k in keys),
        input_dim=input_dim or widths[0],
        batch=batch,
    )
    events = run_headless(layer_statistics, cfg)
    assert isinstance(events[-1], Finished)
    return {e.data["scheme"]: e.data for e in events if isinstance(e, Snapshot)}, events


def test_classic_tanh_trio():
    """×0.01 collapses to zero, ×1.0 saturates at ±1, Xavier stays healthy."""
    stats, _ = run([200] * 10, "tanh", ["small_normal", "large_normal", "xavier_normal"])
    small, large, xavier = stats["small_normal"], stats["large_normal"], stats["xavier_normal"]
    assert small["act_std"][-1] < 1e-6 * small["act_std"][0]
    assert small["grad_std"][0] < 1e-6 * small["grad_std"][-1]  # gradients vanish on the way back too
    assert np.all(large["saturated"] > 0.85)
    assert np.all(large["act_std"] > 0.9)
    assert 0.1 < xavier["act_std"][-1] < xavier["act_std"][0] < 1.0
    assert np.all(xavier["saturated"] < 0.1)
    assert xavier["formula"].endswith("= 0.07071")  # 1·√(2/(200+200))


def test_relu_needs_kaiming():
    stats, _ = run([200] * 10, "relu", ["xavier_normal", "kaiming_normal"])
    xavier, kaiming = stats["xavier_normal"], stats["kaiming_normal"]
    assert xavier["act_std"][-1] < 0.1 * xavier["act_std"][0]  # halves in variance each layer
    assert 0.5 < kaiming["act_std"][-1] / kaiming["act_std"][0] < 2.0
    assert np.isnan(kaiming["saturated"]).all()  # ReLU has no upper bound to saturate at


def test_batchnorm_rescues_a_tiny_init():
    stats, _ = run([100] * 8, "tanh", ["small_normal"], norm="batch", batch=200)
    s = stats["small_normal"]["act_std"]
    assert s[-1] > 0.5 * s[0] > 0.2


def test_zero_init_is_all_dead_and_has_no_gradient_below_the_top():
    stats, _ = run([50] * 4, "tanh", ["zeros"])
    z = stats["zeros"]
    assert np.all(z["dead"] == 1.0)
    assert np.all(z["act_std"] == 0) and np.all(z["grad_std"][:-1] == 0)
    assert np.all(z["weight_std"] == 0)


@pytest.mark.parametrize("norm", ["none", "batch", "layer"])
def test_statistics_match_a_torch_nn_network(norm):
    """The same weights in nn.Linear layers (and nn.BatchNorm1d / nn.LayerNorm) give the
    same per-layer activations and activation gradients."""
    spec = NetworkSpec((40, 30, 20), "tanh", bias=True, bias_value=0.1, norm=norm)
    choice = SchemeChoice.of("xavier_uniform", {"gain": 1.5})
    cfg = StatsConfig(spec, (choice,), input_dim=25, batch=64, bins=20, seed=4)
    data = next(e.data for e in run_headless(layer_statistics, cfg) if isinstance(e, Snapshot))

    fans = (25, 40, 30, 20)
    ws, bs = build_weights(spec, [choice], fans, 4, torch.device("cpu"))
    layers = []
    for w, b in zip(ws, bs):
        lin = nn.Linear(w.shape[2], w.shape[1])
        lin.weight.data.copy_(w[0])
        lin.bias.data.copy_(b[0])
        norm_layer = {"batch": nn.BatchNorm1d(w.shape[1], affine=False), "layer": nn.LayerNorm(w.shape[1], elementwise_affine=False)}
        layers.append(nn.Sequential(lin, norm_layer.get(norm, nn.Identity()), nn.Tanh()))
    x = make_inputs("gaussian", 64, 25, torch.Generator().manual_seed(4), torch.device("cpu"))
    acts, h = [], x
    for layer in layers:
        h = layer(h)
        h.retain_grad()
        acts.append(h)
    upstream = torch.randn(64, 20, generator=torch.Generator().manual_seed(5))
    acts[-1].backward(upstream)
    for i, a in enumerate(acts):
        assert data["act_std"][i] == pytest.approx(float(a.detach().double().std(unbiased=False)), rel=1e-4)
        assert data["act_mean"][i] == pytest.approx(float(a.detach().double().mean()), rel=1e-3, abs=1e-6)
        assert data["grad_std"][i] == pytest.approx(float(a.grad.double().std(unbiased=False)), rel=1e-4)
        counts = np.histogram(a.detach().numpy(), 20, (data["act_edges"][i][0], data["act_edges"][i][-1]))[0]
        assert np.abs(data["act_hist"][i] - counts).sum() <= 2  # float rounding at bin edges
        assert data["act_hist"][i].sum() == a.numel()
        assert data["act_hist_shared"][i].sum() == a.numel()
    assert data["weight_std"][0] == pytest.approx(1.5 * math.sqrt(2 / (25 + 40)), rel=0.1)
    assert data["implied_std"][0] == pytest.approx(1.5 * math.sqrt(2 / (25 + 40)))


def test_overflow_is_reported_not_crashed():
    stats, events = run([200] * 50, "relu", ["large_normal"], batch=50)
    d = stats["large_normal"]
    assert 10 < d["overflow_layer"] < 50
    assert d["act_overflow"][d["overflow_layer"] - 1] > 0 and d["act_overflow"][0] == 0
    assert np.isfinite(d["act_hist"]).all() and np.isfinite(d["act_edges_shared"]).all()
    assert any(isinstance(e, Message) and "overflow" in e.text for e in events)


def test_lsuv_gives_unit_pre_activation_variance():
    stats, _ = run([100] * 6, "tanh", ["lsuv"], batch=300)
    d = stats["lsuv"]
    assert len(d["lsuv_factors"]) == 6
    assert 0.3 < d["act_std"][-1] < 1.0 and np.isnan(d["implied_std"]).all()


def test_too_large_a_network_is_refused_with_its_size():
    cfg = StatsConfig(NetworkSpec((8192,) * 50), (SchemeChoice.of("xavier_normal"),), input_dim=8192, batch=20000)
    gib = estimate_stats_bytes(cfg.network, 8192, 20000) / 2**30
    with pytest.raises(ValueError, match=f"{gib:.1f} GiB"):
        next(layer_statistics(cfg, RunControl()))


@pytest.mark.parametrize(
    "cfg_changes,match",
    [
        ({"schemes": ()}, "at least one"),
        ({"batch": 1}, "batch size"),
        ({"inputs": "cauchy"}, "input distribution"),
        ({"network": NetworkSpec((10,) * 51)}, "Depth"),
        ({"network": NetworkSpec((10,), norm="group")}, "normalization"),
        ({"network": NetworkSpec((10,), "nope")}, "activation"),
    ],
)
def test_bad_settings_are_refused_before_work(cfg_changes, match):
    base = dict(network=NetworkSpec((10, 10)), schemes=(SchemeChoice.of("zeros"),), input_dim=10, batch=20)
    base.update(cfg_changes)
    with pytest.raises(ValueError, match=match):
        next(layer_statistics(StatsConfig(**base), RunControl()))


def test_parse_widths():
    assert parse_widths("64", 3) == (64, 64, 64)
    assert parse_widths("64, 32 16", 3) == (64, 32, 16)
    with pytest.raises(ValueError, match="2 widths given for a depth of 3"):
        parse_widths("4,5", 3)
    with pytest.raises(ValueError, match="whole numbers"):
        parse_widths("4.5", 1)
    with pytest.raises(ValueError, match="between 1 and"):
        parse_widths("0", 2)


def test_stop_takes_effect_between_layers():
    ctl = RunControl()
    cfg = StatsConfig(NetworkSpec((100,) * 20), (SchemeChoice.of("xavier_normal"),) * 3, input_dim=100, batch=200)
    gen = layer_statistics(cfg, ctl)
    next(gen)
    ctl.stop()
    with pytest.raises(Cancelled):
        next(gen)


def test_first_layer_weights_are_independent_of_the_inputs():
    """Input and weight streams must differ: W₁·x stays Gaussian with std σ·√fan_in."""
    stats, _ = run([200], "linear", ["small_normal"], batch=500)
    edges = stats["small_normal"]["act_edges"][0]
    std = 0.01 * math.sqrt(200)
    assert stats["small_normal"]["act_std"][0] == pytest.approx(std, rel=0.05)
    assert max(abs(edges[0]), abs(edges[-1])) < 6 * std  # no 20-σ outliers


def test_std_of_finite_layers_is_finite_even_when_squares_overflow_float32():
    # Linear layers of 100 with N(0, 10²) multiply the scale by ~100 each: from layer 10 on
    # the values are finite in float32 but their squares are not.
    stats, _ = run([100] * 22, "linear", ["large_normal"], batch=200, large_normal={"std": 10.0})
    d = stats["large_normal"]
    all_finite = d["act_overflow"] == 0
    assert (d["act_std"][all_finite] > 1e25).any(), "the example must reach squares beyond float32"
    assert np.isfinite(d["act_std"][all_finite]).all()
    ratios = d["act_std"][all_finite][1:] / d["act_std"][all_finite][:-1]
    assert np.allclose(ratios, 100, rtol=0.2)  # σ·√fan_in = 10·√100 per layer
