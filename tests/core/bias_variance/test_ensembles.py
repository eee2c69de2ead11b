"""Bagging, boosting, cross-validation, early stopping and the batched MLP."""

import threading

import numpy as np
import pytest

from core.bias_variance.config import BiasVarConfig
from core.bias_variance.ensembles import early_stop_epoch
from core.bias_variance.job import biasvar_job
from core.bias_variance.mlp import train_mlp
from core.bias_variance.simulation import Progress
from core.engine import Cancelled, Finished, History, Metrics, RunControl, Snapshot, run_headless
from tests.core.bias_variance.test_sweeps import drive

pytestmark = pytest.mark.usefixtures("one_torch_thread")



def finished(events):
    return [e for e in events if isinstance(e, Finished)][-1].summary


def test_bagging_reduces_the_variance_of_deep_trees():
    events = run_headless(biasvar_job, BiasVarConfig(analysis="bagging", family="tree", depth=8, m=100, bags=30))
    rows = [e.values for e in events if isinstance(e, Metrics)]
    assert [r["B"] for r in rows] == list(range(1, 31))
    summary = finished(events)
    assert summary["bagged"]["variance"] < 0.7 * summary["single"]["variance"]
    assert summary["variance_reduction"] > 0.3
    snap = [e for e in events if isinstance(e, Snapshot) and e.kind == "bagging"][0]
    assert snap.data["resamples"].shape == (30, 200) and snap.data["counts"].sum() == 30


def test_boosting_lowers_bias_and_raises_variance_round_by_round():
    cfg = BiasVarConfig(analysis="boosting", truth="step", x_min=-1.0, family="tree", m=100, rounds=60, boost_lr=0.5)
    events = run_headless(biasvar_job, cfg)
    chunks = [e for e in events if isinstance(e, History)]
    steps = np.concatenate([c.steps for c in chunks])
    np.testing.assert_array_equal(steps, np.arange(61))  # round 0 (the mean) … round 60, none lost
    bias2 = np.concatenate([c.values["bias2"] for c in chunks])
    variance = np.concatenate([c.values["variance"] for c in chunks])
    assert bias2[-1] < 0.3 * bias2[0] and variance[-1] > variance[1]


def test_boosting_steps_one_round_at_a_time():
    ctl = RunControl(paused=True)
    gen = biasvar_job(BiasVarConfig(analysis="boosting", family="tree", m=20, rounds=50), ctl)
    rounds = []
    ctl.step(3)
    for ev in gen:
        if isinstance(ev, Snapshot):
            rounds.append(ev.data["round"])
        if rounds and rounds[-1] == 3:
            break
    assert rounds == [0, 1, 2, 3]


def test_cross_validation_reports_its_choice_and_the_true_optimum():
    cfg = BiasVarConfig(analysis="cv", family="poly", m=200, folds=5, sweep=(0, 1, 2, 3, 5, 8, 12))
    events = run_headless(biasvar_job, cfg)
    folds = [e for e in events if isinstance(e, Snapshot) and e.kind == "folds"][0]
    assert np.bincount(folds.data["fold_of"]).tolist() == [6] * 5
    rows = [e.values for e in events if isinstance(e, Metrics)]
    assert len(rows) == 7 and all(r["cv_std"] > 0 for r in rows)
    summary = finished(events)
    assert summary["cv_choice"] in cfg.sweep and summary["true_choice"] in cfg.sweep
    assert summary["true_best_test_error"] == min(r["test_error"] for r in rows)


def test_early_stop_epoch_waits_for_patience():
    epochs = np.arange(10, 110, 10)
    val = np.array([5, 4, 3, 3.5, 3.2, 3.1, 2.9, 3.0, 3.3, 3.4])
    assert early_stop_epoch(epochs, val, patience=100) == 70
    assert early_stop_epoch(epochs, val, patience=30) == 30  # stops at 60, before the later minimum


def test_early_stopping_job_curves_and_summary():
    cfg = BiasVarConfig(analysis="early_stopping", family="mlp", width=32, m=12, n=20, epochs=150, lr=0.03, noise=0.5)
    events = run_headless(biasvar_job, cfg)
    chunks = [e for e in events if isinstance(e, History)]
    train = np.concatenate([c.values["train_error"] for c in chunks])
    assert train[-1] < train[0]
    summary = finished(events)
    assert 0 < summary["stop_epoch"] <= 150 and 0 < summary["best_epoch"] <= 150


def test_batched_mlp_members_train_independently():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (3, 16))
    y = np.sin(3 * x)
    kwargs = dict(width=8, layers=1, epochs=40, lr=0.05, seed=0)
    *_, (_, together) = train_mlp(x, y, np.ones_like(x), x, **kwargs)
    y_changed = y.copy()
    y_changed[2] = 0.0  # another member's data must not move member 0
    *_, (_, apart) = train_mlp(x, y_changed, np.ones_like(x), x, **kwargs)
    np.testing.assert_allclose(together[0], apart[0], rtol=1e-5, atol=1e-6)
    assert np.mean((together - y) ** 2) < np.mean(y**2)


def test_mlp_sweep_stops_promptly_and_reports_progress():
    ctl = RunControl()
    cfg = BiasVarConfig(analysis="complexity", family="mlp", m=20, epochs=20000, sweep=(8,))
    gen = biasvar_job(cfg, ctl)
    first = next(ev for ev in gen if isinstance(ev, Progress))
    assert first.total == 20000
    stopper = threading.Timer(0.05, ctl.stop)
    stopper.start()
    with pytest.raises(Cancelled):
        for _ in gen:
            pass
    stopper.join()


def test_nd_tree_in_one_dimension_equals_the_1d_tree():
    from core.bias_variance.fit import fit_tree
    from core.bias_variance.tree import fit_tree_nd

    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (20, 40))
    y = np.sin(6 * x) + rng.normal(0, 0.3, x.shape)
    w = rng.integers(0, 3, x.shape).astype(float)  # bootstrap-like counts, zeros included
    xq = np.broadcast_to(np.linspace(0, 1, 300), (20, 300)).copy()
    for depth in (0, 1, 3, 6):
        nd = fit_tree_nd(x[..., None], y[..., None], w, xq[..., None], depth)[..., 0]
        np.testing.assert_allclose(nd, fit_tree(x, y, w, xq, depth), atol=1e-12)


def test_classification_decomposition_identity_within_monte_carlo_error():
    from core.bias_variance.classification import class_decompose, class_fit_predict, sample_class_data

    cfg = BiasVarConfig(task="classification", family="knn", k=9, m=100, n=60, dataset="moons", class_noise=0.3)
    data = sample_class_data(cfg.dataset, cfg.class_noise, cfg.n, cfg.m, cfg.seed)
    p, _ = drive(class_fit_predict(cfg, data.x, data.y, np.ones(data.y.shape), np.broadcast_to(data.grid, (cfg.m, *data.grid.shape))))
    scores = class_decompose((p > 0.5).astype(np.int64), data.p1, data.test_labels)
    # Only the fresh test labels are random here: Bernoulli(p1) at every grid point.
    standard_error = np.sqrt(np.mean(data.p1 * (1 - data.p1)) / data.test_labels.size)
    assert abs(scores["test_error"] - scores["total"]) < 5 * standard_error + 1e-12
    assert 0 < scores["bias2"] < 0.2 and scores["bayes_error"] > 0


@pytest.mark.parametrize("family", ["poly", "knn", "tree", "mlp"])
def test_classification_runs_every_family(family):
    cfg = BiasVarConfig(task="classification", analysis="fits", family=family, m=6, n=40, epochs=30, degree=2, width=4)
    events = run_headless(biasvar_job, cfg)
    snap = [e for e in events if isinstance(e, Snapshot) and e.kind == "class_fits"][0]
    assert snap.data["vote"].shape == (41, 41) and snap.data["boundaries"].shape == (6, 41, 41)
    assert 0 <= finished(events)["test_error"] <= 1


def test_boosting_tiny_mlps_lowers_the_bias():
    cfg = BiasVarConfig(analysis="boosting", boost_learner="mlp", boost_epochs=30, m=30, rounds=8, boost_lr=0.5)
    chunks = [e for e in run_headless(biasvar_job, cfg) if isinstance(e, History)]
    bias2 = np.concatenate([c.values["bias2"] for c in chunks])
    assert len(bias2) == 9 and bias2[-1] < 0.5 * bias2[0]


def test_fits_that_diverge_are_left_out_and_reported():
    from dataclasses import replace

    from core.bias_variance.simulation import simulate_finite, simulated_data
    from core.engine import Diverged, Message

    cfg = BiasVarConfig(family="mlp", m=4, n=10, epochs=20)
    data = simulated_data(cfg)
    y = data.y.copy()
    y[1, 3] = np.nan  # member 1's loss is NaN from the first step: it diverges alone
    (kept, grid_pred, _), events = drive(simulate_finite(cfg, replace(data, y=y), RunControl(), "width 16"))
    assert any(isinstance(e, Message) and "1 of 4 fits diverged" in e.text for e in events)
    assert grid_pred.shape == (3, cfg.grid) and np.isfinite(grid_pred).all() and len(kept.test_noise) == 3
    result, events = drive(simulate_finite(cfg, replace(data, y=np.full_like(y, np.nan)), RunControl(), "width 16", sweep=True))
    assert result is None
    assert [e.series for e in events if isinstance(e, Diverged)] == ["width 16"]
