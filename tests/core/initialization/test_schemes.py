"""Initialization schemes: torch.nn.init's draws, the std each implies, LSUV scaling."""

import math

import pytest
import torch

from core.initialization.schemes import (
    SCHEMES,
    SchemeChoice,
    check_scheme,
    formula,
    implied_std,
    init_weight_,
    kaiming_gain,
    lsuv_scale_,
    nonlinearity_for_activation,
)

FAN_OUT, FAN_IN = 300, 500

# What each scheme must be, written with torch.nn.init directly.
TORCH_REFERENCE = {
    "zeros": lambda w, g: torch.nn.init.zeros_(w),
    "constant": lambda w, g: torch.nn.init.constant_(w, 0.1),
    "small_normal": lambda w, g: torch.nn.init.normal_(w, 0.0, 0.01, generator=g),
    "large_normal": lambda w, g: torch.nn.init.normal_(w, 0.0, 1.0, generator=g),
    "uniform": lambda w, g: torch.nn.init.uniform_(w, -0.05, 0.05, generator=g),
    "xavier_uniform": lambda w, g: torch.nn.init.xavier_uniform_(w, generator=g),
    "xavier_normal": lambda w, g: torch.nn.init.xavier_normal_(w, generator=g),
    "kaiming_uniform": lambda w, g: torch.nn.init.kaiming_uniform_(w, nonlinearity="relu", a=0.01, generator=g),
    "kaiming_normal": lambda w, g: torch.nn.init.kaiming_normal_(w, nonlinearity="relu", a=0.01, generator=g),
    "orthogonal": lambda w, g: torch.nn.init.orthogonal_(w, generator=g),
    "lsuv": lambda w, g: torch.nn.init.orthogonal_(w, generator=g),
}


def test_every_scheme_has_a_torch_reference():
    assert set(TORCH_REFERENCE) == set(SCHEMES)


@pytest.mark.parametrize("key", sorted(SCHEMES))
def test_schemes_are_torch_nn_init(key):
    ours = init_weight_(torch.empty(60, 80), key, generator=torch.Generator().manual_seed(3))
    ref = TORCH_REFERENCE[key](torch.empty(60, 80), torch.Generator().manual_seed(3))
    assert torch.equal(ours, ref)


@pytest.mark.parametrize("key", sorted(k for k in SCHEMES if k != "lsuv"))
@pytest.mark.parametrize("shape", [(150, 250), (250, 100)])
def test_weight_std_matches_the_formula(key, shape):
    w = init_weight_(torch.empty(*shape), key, generator=torch.Generator().manual_seed(0))
    expected = implied_std(key, shape[1], shape[0])
    measured = float(w.double().std(unbiased=False))
    if expected == 0:
        assert measured == 0
    else:
        # ≥ 2.5·10⁴ samples: the std of a sample std is about σ/√(2n) ≈ 0.5 % of σ.
        assert measured == pytest.approx(expected, rel=0.02)


@pytest.mark.parametrize("mode,fan", [("fan_in", FAN_IN), ("fan_out", FAN_OUT)])
@pytest.mark.parametrize("nonlinearity", ["relu", "tanh", "linear", "leaky_relu", "selu", "sigmoid"])
def test_kaiming_std_follows_mode_and_gain(mode, fan, nonlinearity):
    params = {"mode": mode, "nonlinearity": nonlinearity, "a": 0.2}
    w = init_weight_(torch.empty(FAN_OUT, FAN_IN), "kaiming_normal", params, torch.Generator().manual_seed(1))
    gain = torch.nn.init.calculate_gain(nonlinearity, 0.2 if nonlinearity == "leaky_relu" else None)
    assert kaiming_gain(params) == pytest.approx(gain)
    assert implied_std("kaiming_normal", FAN_IN, FAN_OUT, params) == pytest.approx(gain / math.sqrt(fan))
    assert float(w.std()) == pytest.approx(gain / math.sqrt(fan), rel=0.02)


def test_uniform_bounds_are_respected():
    w = init_weight_(torch.empty(200, 200), "uniform", {"bound": 0.3})
    assert float(w.abs().max()) <= 0.3
    xu = init_weight_(torch.empty(200, 300), "xavier_uniform", {"gain": 2.0})
    assert float(xu.abs().max()) <= 2.0 * math.sqrt(6 / 500) + 1e-7


def test_formula_shows_the_numbers():
    text = formula("xavier_normal", 500, 500)
    assert "√(2/(500+500))" in text and "0.04472" in text
    assert "1.414/√500 = 0.06325" in formula("kaiming_normal", 500, 500, {"nonlinearity": "relu"})
    assert "σ = 0.01" in formula("small_normal", 500, 500)
    assert "0.05/√3 = 0.02887" in formula("uniform", 10, 10)
    assert "same thing" in formula("zeros", 3, 4)


@pytest.mark.parametrize(
    "key,params,match",
    [
        ("nope", {}, "Unknown initialization"),
        ("small_normal", {"std": -1.0}, "between"),
        ("small_normal", {"std": float("nan")}, "between"),
        ("kaiming_normal", {"mode": "fan_sideways"}, "one of"),
        ("kaiming_normal", {"nonlinearity": "gelu"}, "one of"),
    ],
)
def test_bad_parameters_are_refused(key, params, match):
    with pytest.raises(ValueError, match=match):
        check_scheme(key, params)
    with pytest.raises(ValueError):
        SchemeChoice.of(key, params)


def test_choice_is_frozen_and_complete():
    c = SchemeChoice.of("kaiming_normal", {"mode": "fan_out"})
    assert c.values == {"a": 0.01, "mode": "fan_out", "nonlinearity": "relu"}
    assert hash(c) == hash(SchemeChoice.of("kaiming_normal", {"mode": "fan_out"}))


def test_nonlinearity_for_activation():
    assert nonlinearity_for_activation("tanh") == "tanh"
    assert nonlinearity_for_activation("gelu") == "relu"
    assert nonlinearity_for_activation("leaky_relu") == "leaky_relu"


def test_lsuv_gives_unit_variance_layer_by_layer():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(512, 64, generator=g) * 5.0
    weights = [init_weight_(torch.empty(64, 64), "lsuv", generator=g) for _ in range(4)]

    def layer_output(i):
        h = x
        for w in weights[:i]:
            h = torch.tanh(h @ w.T)
        return h @ weights[i].T

    factors = lsuv_scale_(weights, layer_output, tolerance=0.01)
    assert len(factors) == 4 and factors[0] == pytest.approx(1 / 5, rel=0.1)
    for i in range(4):
        assert float(layer_output(i).var()) == pytest.approx(1.0, abs=0.011)
