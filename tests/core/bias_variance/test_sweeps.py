"""Bias–variance simulation: the numbers against closed forms and identities."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.bias_variance.config import BiasVarConfig, estimate_memory, validate
from core.bias_variance.data import make_truth, sample_data, streams
from core.bias_variance.ensembles import bagged_predictions
from core.bias_variance.fit import fit_poly, fit_tree, scale_inputs
from core.bias_variance.job import biasvar_job
from core.bias_variance.simulation import fit_predict, simulate
from core.bias_variance.stats import bootstrap_weights, decompose, kfold_weights
from core.engine import Finished, Message, Metrics, run_headless

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def drive(gen):
    """Run a ``yield from``-style generator to its return value, collecting events."""
    events = []
    try:
        while True:
            events.append(next(gen))
    except StopIteration as stop:
        return stop.value, events


def data_for(cfg):
    truth = make_truth(cfg.truth, cfg.formula, cfg.x_range)
    return sample_data(truth, cfg.x_range, cfg.noise, cfg.n, cfg.m, cfg.grid, cfg.seed, cfg.design)


@pytest.mark.parametrize("family, knob", [("poly", {"degree": 3}), ("knn", {"k": 4}), ("tree", {"depth": 3})])
def test_decomposition_identity_within_monte_carlo_error(family, knob):
    cfg = BiasVarConfig(family=family, m=1500, n=25, grid=60, noise=0.4, seed=3, **knob)
    data = data_for(cfg)
    (grid_pred, _), _ = drive(simulate(cfg, data))
    scores = decompose(grid_pred, data.f_grid, data.sigma, data.test_noise)
    # The identity mean_m (f − P)² = bias² + variance is exact; the rest is test noise.
    assert np.mean((data.f_grid - grid_pred) ** 2) == pytest.approx(scores["bias2"] + scores["variance"], rel=1e-10)
    eps = data.test_noise
    terms = eps**2 - data.sigma**2 + 2 * eps * (data.f_grid - grid_pred)
    standard_error = terms.std() / np.sqrt(terms.size)
    assert abs(scores["test_error"] - scores["total"]) < 5 * standard_error
    assert scores["variance"] > 0 and scores["bias2"] > 0


def test_linear_regression_matches_closed_form_bias_and_variance():
    # Fixed design: only the noise varies, so f̂ = H y with H known in closed form.
    cfg = BiasVarConfig(truth="cos", family="poly", degree=2, design="grid", n=20, m=4000, grid=50, noise=0.5, seed=11)
    data = data_for(cfg)
    (grid_pred, _), _ = drive(simulate(cfg, data))
    x = data.x[0]
    phi = np.vander(x, 3)
    phi_q = np.vander(data.x_grid, 3)
    hat_q = phi_q @ np.linalg.pinv(phi)  # maps training targets to grid predictions
    mean_closed = hat_q @ make_truth("cos")(x)
    var_closed = cfg.noise**2 * np.sum(hat_q**2, axis=1)
    var_sim = grid_pred.var(0)
    np.testing.assert_allclose(var_sim, var_closed, rtol=0.12)
    assert var_sim.mean() == pytest.approx(var_closed.mean(), rel=0.05)
    standard_error = np.sqrt(var_closed / cfg.m)
    assert np.all(np.abs(grid_pred.mean(0) - mean_closed) < 5 * standard_error)
    bias2_closed = np.mean((mean_closed - data.f_grid) ** 2)
    assert np.mean((grid_pred.mean(0) - data.f_grid) ** 2) == pytest.approx(bias2_closed, rel=0.05)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 60), folds=st.integers(2, 10), seed=st.integers(0, 1000))
def test_kfold_splits_partition_the_data(n, folds, seed):
    if folds > n:
        with pytest.raises(ValueError):
            kfold_weights(n, folds, np.random.default_rng(seed))
        return
    fold_of, train = kfold_weights(n, folds, np.random.default_rng(seed))
    assert sorted(set(fold_of.tolist())) == list(range(folds))
    sizes = np.bincount(fold_of, minlength=folds)
    assert sizes.sum() == n and sizes.max() - sizes.min() <= 1
    held_out = 1.0 - train
    np.testing.assert_array_equal(held_out.sum(0), np.ones(n))  # each point in exactly one fold
    for k in range(folds):
        np.testing.assert_array_equal(held_out[k], (fold_of == k).astype(float))


@pytest.mark.parametrize("family", ["poly", "knn", "tree"])
def test_bagging_with_one_resample_equals_one_bootstrap_fit(family):
    cfg = BiasVarConfig(family=family, m=8, n=25, degree=5, k=3, depth=4, seed=5)
    data = data_for(cfg)
    weights = bootstrap_weights(cfg.m, 1, cfg.n, np.random.default_rng(9))
    xq = np.broadcast_to(data.x_grid, (cfg.m, cfg.grid)).copy()
    bagged, _ = drive(bagged_predictions(cfg, data.x, data.y, xq, weights))
    # The same resample as an explicit data set: each point repeated by its count.
    for m in range(cfg.m):
        idx = np.repeat(np.arange(cfg.n), weights[m, 0].astype(int))
        x, y = data.x[m : m + 1, idx], data.y[m : m + 1, idx]
        single, _ = drive(fit_predict(cfg, x, y, np.ones_like(x), xq[m : m + 1]))
        np.testing.assert_allclose(bagged[m, 0], single[0], rtol=1e-7, atol=1e-9)


def _complexity_metrics(cfg):
    return [e.values for e in run_headless(biasvar_job, cfg) if isinstance(e, Metrics)]


def test_results_are_reproducible_given_a_seed():
    cfg = BiasVarConfig(analysis="complexity", family="poly", m=100, sweep=(1, 3, 9))
    first, again = _complexity_metrics(cfg), _complexity_metrics(cfg)
    assert first == again and len(first) == 3
    other = _complexity_metrics(BiasVarConfig(analysis="complexity", family="poly", m=100, sweep=(1, 3, 9), seed=1))
    assert other != first


def test_u_curve_bias_falls_and_variance_rises_with_degree():
    rows = _complexity_metrics(BiasVarConfig(analysis="complexity", family="poly", m=300, sweep=(0, 1, 4, 12)))
    bias2 = [r["bias2"] for r in rows]
    variance = [r["variance"] for r in rows]
    assert bias2[0] > bias2[2] and variance[3] > variance[2] > variance[0]
    assert rows[3]["train_error"] < rows[2]["train_error"] < rows[0]["train_error"]


def test_underdetermined_fit_is_reported_and_finite():
    cfg = BiasVarConfig(family="poly", degree=15, n=6, m=20)
    events = run_headless(biasvar_job, cfg)
    assert any(isinstance(e, Message) and "minimum-norm" in e.text for e in events)
    scores = [e for e in events if isinstance(e, Finished)][0].summary
    assert all(np.isfinite(v) for v in scores.values())
    # Minimum-norm interpolates the 6 points exactly.
    assert scores["train_error"] < 1e-12
    ridge = run_headless(biasvar_job, BiasVarConfig(family="poly", degree=15, n=6, m=20, ridge=1e-3))
    assert not any(isinstance(e, Message) for e in ridge)


def test_ill_conditioned_fits_stay_quiet_and_finite():
    # Degree 20 on 21 points crowded into a corner of the range: near-singular Gram.
    t = np.concatenate([np.linspace(-1, -0.9, 20), [1.0]])[None].repeat(3, 0)
    y = np.cos(3 * t)
    fit = fit_poly(t, y, np.ones_like(t), np.linspace(-1, 1, 50)[None].repeat(3, 0), 20)
    assert np.all(np.isfinite(fit.pred))


def test_noise_zero_with_fixed_design_has_no_variance():
    rows = run_headless(biasvar_job, BiasVarConfig(family="poly", degree=3, noise=0.0, design="grid", m=10))
    scores = [e for e in rows if isinstance(e, Finished)][0].summary
    assert scores["variance"] < 1e-20 and scores["noise"] == 0
    assert scores["test_error"] == pytest.approx(scores["bias2"], rel=1e-9)


def test_tree_depth_zero_is_the_mean_and_deep_tree_interpolates():
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 1, (4, 30)), rng.normal(size=(4, 30))
    flat = fit_tree(x, y, np.ones_like(x), x, 0)
    np.testing.assert_allclose(flat, np.broadcast_to(y.mean(1, keepdims=True), y.shape))
    # Greedy cuts may peel one point a level, so n − 1 levels always reach single points.
    deep = fit_tree(x, y, np.ones_like(x), x, 29)
    np.testing.assert_allclose(deep, y)
    errors = [np.mean((fit_tree(x, y, np.ones_like(x), x, d) - y) ** 2) for d in range(6)]
    assert all(a > b for a, b in zip(errors, errors[1:]))


def test_memory_estimate_refuses_too_many_data_sets():
    big = BiasVarConfig(family="knn", m=5000, n=5000, grid=2000)
    assert estimate_memory(big) > 3 * 2**30
    with pytest.raises(ValueError, match="GiB"):
        validate(big)
    validate(BiasVarConfig(family="knn", m=200))


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"truth": "formula", "formula": "__import__('os')"}, "Formula"),
        ({"truth": "formula", "formula": "1/x", "x_min": -1.0}, "not finite"),
        ({"x_min": 2.0, "x_max": 1.0}, "range"),
        ({"analysis": "cv", "folds": 50}, "folds"),
        ({"analysis": "early_stopping", "family": "poly"}, "MLP"),
    ],
)
def test_bad_settings_are_refused_with_a_reason(changes, match):
    with pytest.raises(ValueError, match=match):
        validate(BiasVarConfig(**changes))


def test_user_formula_is_the_truth():
    cfg = BiasVarConfig(truth="formula", formula="2*x + 1", m=5)
    data = data_for(cfg)
    np.testing.assert_allclose(data.f_grid, 2 * data.x_grid + 1)


def test_streams_are_independent_of_each_other():
    a1, _ = streams(1, 2)
    (b1,) = streams(1, 1)
    assert a1.random() == b1.random()


def test_scaled_inputs_cover_minus_one_to_one():
    np.testing.assert_allclose(scale_inputs(np.array([2.0, 3.0, 4.0]), (2.0, 4.0)), [-1, 0, 1])


def test_knn_with_k_not_below_n_predicts_the_mean_and_says_so():
    events = run_headless(biasvar_job, BiasVarConfig(family="knn", k=40, n=30, m=5))
    assert any(isinstance(e, Message) and "k = 40" in e.text for e in events)
    scores = [e for e in events if isinstance(e, Finished)][0].summary
    assert scores["variance"] > 0 and np.isfinite(scores["test_error"])


def test_bias_is_zero_within_monte_carlo_error_when_the_model_can_represent_the_truth():
    """A constant truth is a polynomial of every degree: the true bias is 0 at every degree.

    The plug-in (mean of the fits − f)² would show variance/M instead, which at degree 12
    and above is most of the U-curve's bias² (the mean of 200 wild fits is itself wild)."""
    ratios = []
    for seed in range(3):
        for degree in range(16):
            cfg = BiasVarConfig(truth="formula", formula="0.5", family="poly", degree=degree, m=200, seed=seed)
            data = data_for(cfg)
            (grid_pred, _), _ = drive(simulate(cfg, data))
            scores = decompose(grid_pred, data.f_grid, data.sigma, data.test_noise)
            # Per point, with no bias, (mean − f)² − s²/M has standard deviation ≈ √2·variance/M.
            per_point_error = np.sqrt(2) * scores["variance"] / cfg.m
            assert abs(scores["bias2"]) < 4 * per_point_error, (seed, degree, scores)
            ratios.append(scores["bias2"] / (scores["variance"] / cfg.m))
    # In units of variance/M the plug-in averages 1; the unbiased estimate 0 (± ~0.1 here).
    assert abs(np.mean(ratios)) < 0.45
