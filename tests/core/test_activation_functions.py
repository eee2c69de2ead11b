import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from core.activation_functions import (
    ACTIVATIONS,
    activation_module,
    check_params,
    curves,
    make_activation,
    measure_properties,
)

# Derivatives in closed form, to check what autograd gives the students.
CLOSED_FORM = {
    "sigmoid": lambda x: (s := 1 / (1 + np.exp(-x))) * (1 - s),
    "tanh": lambda x: 1 - np.tanh(x) ** 2,
    "relu": lambda x: (x > 0).astype(float),
    "leaky_relu": lambda x: np.where(x > 0, 1.0, 0.01),
    "elu": lambda x: np.where(x > 0, 1.0, np.exp(x)),
    "softplus": lambda x: 1 / (1 + np.exp(-x)),
    "silu": lambda x: (s := 1 / (1 + np.exp(-x))) * (1 + x * (1 - s)),
    "hardtanh": lambda x: ((x > -1) & (x < 1)).astype(float),
    "linear": lambda x: np.ones_like(x),
}


@pytest.mark.parametrize("key", sorted(CLOSED_FORM))
def test_autograd_derivative_matches_closed_form(key):
    (x, y, dy) = curves([key], None, -4.0, 4.0, n=400)[key]
    np.testing.assert_allclose(dy, CLOSED_FORM[key](x), atol=1e-9)


def test_every_activation_has_a_module_that_agrees_with_its_function():
    x = torch.linspace(-3, 3, 101)
    for key in ACTIVATIONS:
        torch.testing.assert_close(activation_module(key)(x), make_activation(key)(x))


def test_parameters_change_the_function_and_are_range_checked():
    x = torch.tensor([-2.0])
    assert make_activation("leaky_relu", {"negative_slope": 0.2})(x).item() == pytest.approx(-0.4)
    assert make_activation("elu", {"alpha": 2.0})(x).item() == pytest.approx(2 * (math.exp(-2) - 1))
    with pytest.raises(ValueError, match="between"):
        check_params("elu", {"alpha": -1.0})
    with pytest.raises(ValueError, match="Unknown activation"):
        make_activation("swishy")


def test_curves_refuse_an_empty_range():
    with pytest.raises(ValueError, match="minimum below"):
        curves(["relu"], None, 1.0, 1.0)


@pytest.mark.parametrize(
    "key, output_range",
    [("sigmoid", "(0, 1)"), ("tanh", "(−1, 1)"), ("relu", "[0, ∞)"), ("leaky_relu", "(−∞, ∞)"), ("hardtanh", "[−1, 1]"), ("elu", "(−1, ∞)")],
)
def test_measured_output_ranges(key, output_range):
    assert measure_properties(key).output_range == output_range


def test_measured_properties_tell_the_textbook_story():
    sig, tanh, relu = (measure_properties(k) for k in ("sigmoid", "tanh", "relu"))
    assert sig.zero_centred.startswith("no") and sig.mean_for_normal_input == pytest.approx(0.5, abs=0.01)
    assert tanh.zero_centred.startswith("yes")
    assert "x < −4.58" in sig.saturating and "x > 4.58" in sig.saturating  # σ'(x) < 0.01
    assert relu.saturating == "x < 0"
    assert relu.differentiable_at_0.startswith("no")
    assert tanh.differentiable_at_0 == "yes"
    assert measure_properties("gelu").monotonic.startswith("no")  # GELU dips below zero
    assert measure_properties("softplus").monotonic == "yes"
    # ELU is smooth at 0 only for α = 1.
    assert measure_properties("elu", {"alpha": 1.0}).differentiable_at_0 == "yes"
    assert measure_properties("elu", {"alpha": 2.0}).differentiable_at_0.startswith("no")


@settings(max_examples=30, deadline=None)
@given(st.floats(0.0, 1.0))
def test_leaky_relu_range_is_derived_for_every_slope(slope):
    # A slope of 1e-5 reaches only -1e3 at x = -1e8 but is unbounded all the same.
    expected = "[0, ∞)" if slope == 0.0 else "(−∞, ∞)"
    assert measure_properties("leaky_relu", {"negative_slope": slope}).output_range == expected


@settings(max_examples=20, deadline=None)
@given(st.floats(0.1, 10.0))
def test_softplus_saturates_where_its_slope_falls_below_0_01(beta):
    # softplus′(x) = σ(βx) < 0.01  ⟺  x < logit(0.01) / β, for every β the registry allows.
    edge = math.log(0.01 / 0.99) / beta
    props = measure_properties("softplus", {"beta": beta})
    assert props.saturating.startswith("x < ")
    shown = float(props.saturating.split("x < ")[1].split(" ")[0].replace("−", "-"))
    assert shown == pytest.approx(edge, rel=5e-3)
    assert props.output_range == "(0, ∞)"


@settings(max_examples=20, deadline=None)
@given(st.floats(0.05, 5.0))
def test_elu_lower_limit_is_minus_alpha_and_open(alpha):
    props = measure_properties("elu", {"alpha": alpha})
    assert props.lower == pytest.approx(-alpha) and props.output_range.startswith("(")
