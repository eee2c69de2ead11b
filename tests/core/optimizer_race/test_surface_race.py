"""The 2-D race: batched updates equal torch.optim, divergence stops one racer alone."""

import math

import numpy as np
import pytest
import torch

from core.engine import Cancelled, Diverged, Finished, RunControl, Snapshot, run_headless
from core.optimizer_race.batched_optimizers import BatchedOptimizers, OptimizerSetting, make_torch_optimizer
from core.optimizer_race.explain import vec
from core.optimizer_race.surface_race import RaceConfig, leaderboard, race_job, reference_race, simulate_race
from core.optimizers import OPTIMIZERS

ALL_KINDS = tuple(OptimizerSetting(k) for k in OPTIMIZERS)
SCHEDULED = (
    OptimizerSetting("sgd", lr=0.05, schedule="step", step_size=20, gamma=0.5),
    OptimizerSetting("momentum", lr=0.02, schedule="exponential", gamma=0.98),
    OptimizerSetting("adam", lr=0.05, schedule="cosine"),
    OptimizerSetting("nadam", lr=0.05, schedule="onecycle"),
    OptimizerSetting("sgd", lr=0.05, schedule="onecycle"),
    OptimizerSetting("rmsprop", lr=0.02, schedule="plateau", patience=3, gamma=0.5),
    OptimizerSetting("adamax", lr=0.05, noise=0.3),
    OptimizerSetting("adagrad", lr=0.3, noise=0.5),
)


def test_batched_race_matches_torch_optim_on_a_well_conditioned_surface():
    cfg = RaceConfig(surface="quadratic", condition=2.0, racers=ALL_KINDS + SCHEDULED, steps=100, seed=3)
    batched = simulate_race(cfg).path
    direct = reference_race(cfg)
    assert np.isfinite(direct).all()
    np.testing.assert_allclose(batched, direct, atol=1e-5, rtol=0)
    # and they really moved
    assert np.all(np.abs(batched[-1] - batched[0]).sum(-1) > 1e-3)


@pytest.mark.parametrize("surface", ["rosenbrock", "beale", "himmelblau", "rastrigin", "two_minima", "plateau", "saddle"])
def test_each_surface_trajectory_is_torch_optims(surface):
    racers = (OptimizerSetting("momentum", lr=1e-4), OptimizerSetting("adam", lr=1e-2), OptimizerSetting("adadelta"),
              OptimizerSetting("radam", lr=1e-4))
    cfg = RaceConfig(surface=surface, racers=racers, steps=60)
    result = simulate_race(cfg)
    direct = reference_race(cfg)
    for i, stop in enumerate(result.escaped_at):  # on the saddle a racer stops when it leaves the map
        end = stop + 1 if stop >= 0 else None
        np.testing.assert_allclose(result.path[:end, i], direct[:end, i], atol=1e-8, rtol=0)
    assert (result.escaped_at >= 0).any() == (surface == "saddle")


def test_custom_formula_race_uses_autograd_and_matches_torch_optim():
    cfg = RaceConfig(surface="custom", formula="(x-1)^2 + 3*(y+0.5)^2 + 0.5*sin(2*x)",
                     racers=ALL_KINDS[:5], steps=50, start=(-2.0, 2.0))
    np.testing.assert_allclose(simulate_race(cfg).path, reference_race(cfg), atol=1e-8, rtol=0)


def test_inspected_state_is_torch_optims_state():
    racers = ALL_KINDS
    n = len(racers)
    batched = BatchedOptimizers(racers, 2, 30)
    p = torch.tensor([[0.7, -1.2]] * n, dtype=torch.float64)
    refs = []
    for s in racers:
        q = torch.tensor([0.7, -1.2], dtype=torch.float64, requires_grad=True)
        refs.append((q, make_torch_optimizer(s, [q], 30)[0]))
    for _ in range(30):
        batched.step(p, torch.stack([2 * p[:, 0], 6 * p[:, 1]], 1))
        for q, opt in refs:
            opt.zero_grad()
            (q[0] ** 2 + 3 * q[1] ** 2).backward()
            opt.step()
    for i, (q, opt) in enumerate(refs):
        mine = batched.torch_state(i)
        theirs = opt.state[q]
        for key, value in mine.items():
            np.testing.assert_allclose(value, theirs[key].numpy(), rtol=1e-9, atol=1e-12, err_msg=f"{racers[i].kind} {key}")
        assert mine or racers[i].kind == "sgd"


def test_diverging_racer_stops_alone_and_is_marked():
    racers = (OptimizerSetting("sgd", lr=0.5), OptimizerSetting("adam", lr=0.01))
    cfg = RaceConfig(surface="rosenbrock", racers=racers, steps=200)
    events = run_headless(race_job, cfg)
    diverged = [e for e in events if isinstance(e, Diverged)]
    assert len(diverged) == 1 and diverged[0].series == "SGD"
    assert "diverged at step" in diverged[0].message
    board = events[-1].summary["leaderboard"]
    assert isinstance(events[-1], Finished) and events[-1].summary["steps"] == 200
    assert board[-1]["name"] == "SGD" and board[-1]["status"].startswith("diverged at step")
    last = [e for e in events if isinstance(e, Snapshot) and e.kind == "race"][-1]
    assert last.data["alive"].tolist() == [False, True]
    assert "diverged at step" in " ".join(last.data["inspect"][0]["lines"])


def test_saddle_racers_escape_and_are_ranked_by_escape_step():
    cfg = RaceConfig(surface="saddle", racers=(OptimizerSetting("sgd", lr=0.01), OptimizerSetting("momentum", lr=0.01)),
                     steps=1000)
    result = simulate_race(cfg)
    assert (result.escaped_at > 0).all() and (result.diverged_at < 0).all()
    board = leaderboard(result)
    assert board[0]["name"] == "Momentum" and board[0]["status"].startswith("escaped")


def test_leaderboard_ranks_reached_before_not_reached():
    cfg = RaceConfig(surface="quadratic", condition=5.0,
                     racers=(OptimizerSetting("sgd", lr=1e-4), OptimizerSetting("momentum", lr=0.1)), steps=300)
    board = leaderboard(simulate_race(cfg))
    assert board[0]["name"] == "Momentum" and board[0]["status"].startswith("reached at step")
    assert board[1]["status"] == "not reached" and board[1]["loss_gap"] > 0


def test_job_snapshots_carry_metrics_and_are_throttled():
    cfg = RaceConfig(surface="quadratic", steps=2000)
    events = run_headless(race_job, cfg)
    snaps = [e for e in events if isinstance(e, Snapshot) and e.kind == "race"]
    assert len(snaps) < 200
    steps = np.concatenate([s.data["steps"] for s in snaps])
    assert steps.tolist() == list(range(1, 2001))
    n = len(cfg.racers)
    for key in ("path", "gap", "distance", "grad_norm", "step_size", "lr"):
        assert np.concatenate([s.data[key] for s in snaps]).shape[:2] == (2000, n)


def test_stop_takes_effect_at_the_next_step():
    ctl = RunControl()
    seen = []
    with pytest.raises(Cancelled):
        for ev in race_job(RaceConfig(surface="quadratic", steps=100_000), ctl):
            seen.append(ev)
            if len(seen) == 3:
                ctl.stop()
    assert len(seen) == 3


@pytest.mark.parametrize(
    "cfg, message",
    [
        (RaceConfig(racers=()), "at least one"),
        (RaceConfig(racers=(OptimizerSetting("adam", lr=-1.0),)), "learning rate"),
        (RaceConfig(racers=(OptimizerSetting("adam", hyper=(("beta1", 1.5),)),)), "β₁"),
        (RaceConfig(racers=(OptimizerSetting("adagrad", schedule="onecycle"),)), "one-cycle"),
        # torch.optim.SGD refuses Nesterov without momentum; the racer is named either way.
        (RaceConfig(racers=(OptimizerSetting("nesterov", hyper=(("momentum", 0.0),), schedule="step"),)), "^Nesterov: .*momentum above 0"),
        (RaceConfig(racers=(OptimizerSetting("nesterov", hyper=(("momentum", 0.0),), label="N0"),)), "^N0: .*momentum above 0"),
        (RaceConfig(start=(10.0, 0.0)), "outside the map"),
        (RaceConfig(surface="custom", formula="import os"), "Not a formula"),
        (RaceConfig(surface="custom", formula="sqrt(x)"), "not finite"),
        (RaceConfig(steps=0), "Steps"),
    ],
)
def test_bad_settings_are_refused_before_the_race(cfg, message):
    with pytest.raises(ValueError, match=message):
        next(race_job(cfg, RunControl()))


def test_step_explanation_shows_the_racers_numbers():
    cfg = RaceConfig(surface="quadratic", racers=(OptimizerSetting("adam", lr=0.1),), steps=3)
    events = run_headless(race_job, cfg)
    info = [e for e in events if isinstance(e, Snapshot) and e.kind == "race"][-1].data["inspect"][0]
    text = "\n".join(info["lines"])
    assert info["step"] == 3
    assert vec(info["state"]["exp_avg"]) in text and vec(info["state"]["exp_avg_sq"]) in text
    assert vec(info["grad"]) in text
    assert math.isclose(info["lr"], 0.1)


def test_the_effective_learning_rate_is_each_optimizers_closed_form():
    """SGD: η; Adagrad: η/(√G + ε) with G the sum of squared gradients; RMSprop:
    η/(√v + ε) with v the running average; per parameter, then the mean over x and y."""
    settings = [OptimizerSetting("sgd", lr=0.05), OptimizerSetting("adagrad", lr=0.3),
                OptimizerSetting("rmsprop", lr=0.01, hyper=(("alpha", 0.9),))]
    opt = BatchedOptimizers(settings, 2, 50, track_rate=True)
    p = torch.tensor([[1.0, -2.0]] * 3, dtype=torch.float64)
    G, v = torch.zeros(2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    for _ in range(20):
        g = 2 * p * torch.tensor([1.0, 5.0], dtype=torch.float64)
        G, v = G + g[1] ** 2, 0.9 * v + 0.1 * g[2] ** 2
        opt.step(p, g)
        rate = opt.last_rate.numpy()
        np.testing.assert_allclose(rate[0], [0.05, 0.05])
        np.testing.assert_allclose(rate[1], (0.3 / (G.sqrt() + 1e-10)).numpy(), rtol=1e-9)
        np.testing.assert_allclose(rate[2], (0.01 / (v.sqrt() + 1e-8)).numpy(), rtol=1e-9)
