"""The fair race: the tuner picks a finite, stable learning rate for each optimizer."""

import dataclasses
import math

import numpy as np
import pytest

from core.engine import Finished, run_headless
from core.optimizer_race.batched_optimizers import OptimizerSetting
from core.optimizer_race.surface_race import RaceConfig, simulate_race
from core.optimizer_race.tuning import TuningConfig, lr_grid, score_rows, tune_job


def test_tuner_picks_finite_rates_that_do_not_diverge():
    race = RaceConfig(surface="quadratic", condition=10.0, steps=300,
                      racers=(OptimizerSetting("sgd", lr=5.0), OptimizerSetting("adam"), OptimizerSetting("adagrad")))
    events = run_headless(tune_job, TuningConfig(race, points=13))
    done = events[-1]
    assert isinstance(done, Finished)
    lrs = done.summary["lrs"]
    assert all(lr is not None and math.isfinite(lr) and lr > 0 for lr in lrs)
    # SGD on this bowl is stable only below 2 / (largest curvature) = 2 / sqrt(10)
    assert lrs[0] < 2 / math.sqrt(10)
    tuned = dataclasses.replace(race, racers=tuple(dataclasses.replace(s, lr=lr) for s, lr in zip(race.racers, lrs)))
    result = simulate_race(tuned)
    assert (result.diverged_at < 0).all()
    assert (result.reached_at() >= 0).all()
    # and the untuned SGD at lr = 5 diverges: the tuner really changed something
    assert simulate_race(race).diverged_at[0] >= 0


def test_scores_rank_reached_then_not_reached_then_diverged():
    s = score_rows(np.array([10, -1, -1, 5]), np.array([-1, -1, -1, -1]), np.array([-1, -1, 3, -1]),
                   np.array([0.0, 0.5, np.nan, 0.0]))
    assert list(np.argsort(s)) == [3, 0, 1, 2] and np.isinf(s[2])


def test_bad_grid_is_refused():
    with pytest.raises(ValueError, match="learning-rate range"):
        lr_grid(1.0, 0.1, 5)
    with pytest.raises(ValueError, match="between 2 and 40"):
        lr_grid(1e-3, 1.0, 1)
