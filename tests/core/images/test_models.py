"""Layer-stack inference against torch: shapes, parameters, multiply-adds, receptive fields."""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from core.images.models import PRESETS, build_model, count_macs, infer_stack, normalize_layer, preset_layers


@st.composite
def valid_stacks(draw):
    """Random stacks that fit their input: conv/pool while the maps are big enough, then a head."""
    c = draw(st.sampled_from([1, 3]))
    size = draw(st.integers(6, 20))
    layers, h = [], size
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["conv", "maxpool", "avgpool", "batchnorm", "activation", "dropout"]))
        if kind == "conv":
            k, d = draw(st.integers(1, 5)), draw(st.integers(1, 2))
            p, s = draw(st.integers(0, 2)), draw(st.integers(1, 2))
            if d * (k - 1) + 1 > h + 2 * p:
                continue
            filters = draw(st.integers(1, 6))
            layers.append({"type": "conv", "filters": filters, "kernel": k, "stride": s, "padding": p, "dilation": d})
            h = (h + 2 * p - d * (k - 1) - 1) // s + 1
        elif kind in ("maxpool", "avgpool"):
            k, s = draw(st.integers(1, 3)), draw(st.integers(1, 3))
            if k > h:
                continue
            layers.append({"type": kind, "kernel": k, "stride": s})
            h = (h - k) // s + 1
        elif kind == "activation":
            layers.append({"type": "activation", "fn": draw(st.sampled_from(["relu", "tanh", "gelu"]))})
        else:
            layers.append({"type": kind})
    layers.append({"type": "flatten"})
    for _ in range(draw(st.integers(0, 2))):
        layers.append({"type": "linear", "units": draw(st.integers(1, 20))})
        if draw(st.booleans()):
            layers.append({"type": "batchnorm"})
    return layers, (c, size, size), draw(st.integers(2, 10))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_stacks())
def test_inference_matches_torch(case):
    layers, input_shape, n_classes = case
    report = infer_stack(layers, input_shape, n_classes)
    assert report.ok, report.error
    model = build_model(layers, input_shape, n_classes).eval()
    x = torch.zeros(2, *input_shape)
    for module, row in zip(model, report.rows):
        x = module(x)
        assert tuple(x.shape[1:]) == row.out_shape, row.label
        assert sum(p.numel() for p in module.parameters()) == row.params, row.label
    assert len(report.rows) == len(model) == len(layers) + 1
    out, macs = count_macs(model, input_shape)
    assert out.shape == (1, n_classes)
    assert report.total_macs == macs
    assert report.total_params == sum(p.numel() for p in model.parameters())


def _receptive_field_by_gradient(model: nn.Module, input_shape) -> int:
    """Height of the input region that moves the centre output value, measured by autograd."""
    x = torch.zeros(1, *input_shape, requires_grad=True)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.fill_(1.0)
    y = model(x)
    y[0, 0, y.shape[2] // 2, y.shape[3] // 2].backward()
    rows = (x.grad[0].abs().sum((0, 2)) > 0).nonzero()
    return int(rows.max() - rows.min() + 1)


def test_receptive_field_matches_autograd():
    layers = [
        {"type": "conv", "filters": 2, "kernel": 3},
        {"type": "avgpool", "kernel": 2, "stride": 2},  # max pooling's gradient reaches one input only
        {"type": "conv", "filters": 2, "kernel": 3, "dilation": 2},
        {"type": "avgpool", "kernel": 2, "stride": 2},
        {"type": "conv", "filters": 1, "kernel": 3},
    ]
    shape = (1, 64, 64)
    report = infer_stack([*layers, {"type": "flatten"}], shape, 2)
    assert report.ok
    model = nn.Sequential(*list(build_model([*layers, {"type": "flatten"}], shape, 2))[: len(layers)])
    assert report.rows[len(layers) - 1].receptive_field == _receptive_field_by_gradient(model, shape) == 22


def test_fully_connected_equivalent_of_a_convolution():
    report = infer_stack([{"type": "conv", "filters": 4, "kernel": 3, "padding": 1}, {"type": "flatten"}], (1, 10, 10), 3)
    conv = report.rows[0]
    assert conv.params == 4 * 9 + 4
    assert conv.fc_equivalent == nn.Linear(100, 400).weight.numel() + 400
    assert report.total_fc_equivalent == conv.fc_equivalent + report.rows[-1].params


@pytest.mark.parametrize(
    "layers, shape, index, reason",
    [
        ([{"type": "conv", "kernel": 7}, {"type": "flatten"}], (1, 5, 5), 0, "larger than its 5×5 input"),
        ([{"type": "conv", "kernel": 3}, {"type": "linear", "units": 4}], (1, 8, 8), 1, "add Flatten"),
        ([{"type": "conv", "kernel": 3}], (1, 8, 8), 1, "output layer needs a flat vector"),
        ([{"type": "flatten"}, {"type": "conv"}], (1, 8, 8), 1, "move it before Flatten"),
        ([{"type": "maxpool", "kernel": 2, "stride": 2}] * 4 + [{"type": "flatten"}], (1, 8, 8), 3, "larger than its 1×1 input"),
        ([{"type": "conv", "kernel": 3, "stride": 1, "dilation": 4}, {"type": "flatten"}], (1, 8, 8), 0, "dilation 4 spans 9×9"),
        ([{"type": "conv", "filters": 0}], (1, 8, 8), 0, "filters must be between"),
        ([{"type": "wobble"}], (1, 8, 8), 0, "unknown layer type"),
        ([{"type": "flatten"}, {"type": "torchvision", "arch": "resnet18"}], (3, 32, 32), 1, "only layer"),
    ],
)
def test_impossible_stacks_name_the_layer_and_reason(layers, shape, index, reason):
    report = infer_stack(layers, shape, 3)
    assert not report.ok
    assert report.error_index == index
    assert reason in report.error
    with pytest.raises(ValueError, match=reason.split()[0]):
        build_model(layers, shape, 3)


def test_torchvision_architecture_row_matches_the_model():
    layers = [{"type": "torchvision", "arch": "shufflenet_v2_x0_5"}]
    report = infer_stack(layers, (1, 28, 28), 5)
    assert report.ok, report.error
    model = build_model(layers, (1, 28, 28), 5)
    assert report.rows[0].out_shape == (5,)
    assert report.total_params == sum(p.numel() for p in model.parameters())
    assert model.eval()(torch.zeros(2, 1, 28, 28)).shape == (2, 5)


def test_torchvision_architecture_too_big_for_the_input_says_so():
    report = infer_stack([{"type": "torchvision", "arch": "alexnet"}], (1, 28, 28), 5)
    assert not report.ok and "does not fit a 1×28×28 input" in report.error


@pytest.mark.parametrize("name", [n for n in PRESETS if PRESETS[n][1][0]["type"] != "torchvision"])
def test_presets_fit_the_builtin_and_cifar_shapes(name):
    for shape in ((1, 28, 28), (3, 32, 32)):
        report = infer_stack(preset_layers(name), shape, 10)
        assert report.ok, (name, shape, report.error)


def test_normalize_layer_fills_defaults_and_refuses_floats_for_ints():
    assert normalize_layer({"type": "conv"}) == {"type": "conv", "filters": 8, "kernel": 3, "stride": 1, "padding": 0, "dilation": 1}
    with pytest.raises(ValueError, match="whole number"):
        normalize_layer({"type": "linear", "units": 2.5})
    assert normalize_layer({"type": "dropout", "p": 0}) == {"type": "dropout", "p": 0.0}
