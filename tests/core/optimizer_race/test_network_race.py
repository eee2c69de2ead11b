"""The network race: hand-written batched backward = autograd; batched training = torch.optim."""

import numpy as np
import pytest
import torch

from core.engine import Diverged, Finished, Snapshot, run_headless
from core.optimizer_race.batched_optimizers import OptimizerSetting, make_torch_optimizer
from core.optimizer_race.network_race import BatchedMLP, NetRace, NetRaceConfig, loss_and_grad_out, net_race_job
from core.optimizers import OPTIMIZERS


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "linear"])
@pytest.mark.parametrize("task, n_out", [("binary", 1), ("multiclass", 3), ("regression", 1)])
def test_batched_backward_equals_autograd(activation, task, n_out):
    model = BatchedMLP([2, 5, 3, n_out], activation, 4, seed=2, dtype=torch.float64)
    model.theta += 0.3 * torch.randn(model.theta.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x = torch.randn(9, 2, dtype=torch.float64)
    y = torch.randint(0, 3, (9,)) if task == "multiclass" else torch.rand(9, 1, dtype=torch.float64).round()
    theta = model.theta.clone().requires_grad_(True)
    out, _ = model.forward(x, model.views(theta))
    loss, _ = loss_and_grad_out(out, y, task)
    loss.sum().backward()
    out, acts = model.forward(x)
    _, d_out = loss_and_grad_out(out, y, task)
    torch.testing.assert_close(model.backward(d_out, acts), theta.grad, rtol=1e-10, atol=1e-12)


def _module_copy(model: BatchedMLP):
    """nn.Sequential with the same initial weights as the batched model's copies."""
    layers = []
    for j, (w, b) in enumerate(model.layers):
        lin = torch.nn.Linear(w.shape[1], w.shape[2])
        with torch.no_grad():
            lin.weight.copy_(w[0].T)
            lin.bias.copy_(b[0])
        layers.append(lin)
        if j < len(model.layers) - 1:
            layers.append(torch.nn.Tanh())
    return torch.nn.Sequential(*layers)


def test_batched_network_race_matches_one_torch_optim_per_module():
    racers = tuple(OptimizerSetting(k) for k in OPTIMIZERS) + (OptimizerSetting("adam", schedule="cosine"),)
    cfg = NetRaceConfig(racers=racers, epochs=4, n_points=100)
    race = NetRace(cfg)
    nets = [_module_copy(race.model) for _ in racers]
    total = cfg.epochs * race.steps_per_epoch
    opts = [make_torch_optimizer(s, net.parameters(), total) for s, net in zip(racers, nets)]
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    data = race.data
    for _ in range(cfg.epochs):
        race.epoch()
        perm = torch.randperm(len(data.x_train), generator=gen)
        xs, ys = data.x_train[perm], data.y_train[perm]
        for b in range(0, len(xs), race.batch):
            for net, (opt, sched) in zip(nets, opts):
                opt.zero_grad()
                loss_fn(net(xs[b : b + race.batch]), ys[b : b + race.batch]).backward()
                opt.step()
                if sched is not None:
                    sched.step()
    for i, net in enumerate(nets):
        flat = torch.cat([torch.cat([lin.weight.T.flatten(), lin.bias]) for lin in net if isinstance(lin, torch.nn.Linear)])
        torch.testing.assert_close(race.model.theta[i], flat.detach(), rtol=0, atol=1e-5, msg=racers[i].kind)
    # the copies did learn something different from each other
    assert float((race.model.theta[0] - race.model.theta[-1]).abs().max()) > 1e-3


def test_plateau_schedule_lowers_the_rate_as_torch_does_per_epoch():
    """ReduceLROnPlateau in a network race is fed each epoch's training loss, as in a torch
    loop; a rate too small to make progress is cut after `patience` flat epochs."""
    racer = OptimizerSetting("sgd", lr=1e-5, schedule="plateau", patience=1, gamma=0.5)
    cfg = NetRaceConfig(racers=(racer,), epochs=8, n_points=100)
    race = NetRace(cfg)
    net = _module_copy(race.model)
    opt, sched = make_torch_optimizer(racer, net.parameters(), cfg.epochs * race.steps_per_epoch)
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    data = race.data
    rates = []
    for _ in range(cfg.epochs):
        race.epoch()
        perm = torch.randperm(len(data.x_train), generator=gen)
        xs, ys = data.x_train[perm], data.y_train[perm]
        for b in range(0, len(xs), race.batch):
            opt.zero_grad()
            loss_fn(net(xs[b : b + race.batch]), ys[b : b + race.batch]).backward()
            opt.step()
        rates.append(float(race.opt.current_lr()[0]))  # the rate this epoch's steps used
        assert rates[-1] == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12)
        with torch.no_grad():
            sched.step(float(loss_fn(net(data.x_train), data.y_train)))
    assert rates[-1] < 1e-5, rates


def test_net_race_job_curves_and_leaderboard():
    cfg = NetRaceConfig(epochs=30, racers=(OptimizerSetting("sgd", lr=0.01), OptimizerSetting("adam", lr=0.03)))
    events = run_headless(net_race_job, cfg)
    snaps = [e for e in events if isinstance(e, Snapshot) and e.kind == "net_race"]
    epochs = np.concatenate([s.data["epochs"] for s in snaps])
    assert epochs.tolist() == list(range(1, 31))
    acc = np.concatenate([s.data["test_acc"] for s in snaps])
    assert acc.shape == (30, 2) and acc[-1, 1] > 0.9  # Adam solves the circle
    board = events[-1].summary["leaderboard"]
    assert isinstance(events[-1], Finished) and board[0]["name"] == "Adam"


def test_diverging_network_stops_alone():
    cfg = NetRaceConfig(epochs=20, racers=(OptimizerSetting("sgd", lr=50.0), OptimizerSetting("adam")),
                        dataset="plane", activation="linear", hidden=(8,))
    events = run_headless(net_race_job, cfg)
    div = [e for e in events if isinstance(e, Diverged)]
    assert [d.series for d in div] == ["SGD"]
    assert events[-1].summary["epochs"] == 20
    last = [e for e in events if isinstance(e, Snapshot) and e.kind == "net_race"][-1]
    assert np.isnan(last.data["train_loss"][-1, 0]) and np.isfinite(last.data["train_loss"][-1, 1])


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"dataset": "nope"}, "Unknown data set"),
        ({"racers": ()}, "at least one"),
        ({"hidden": (0,)}, "hidden layers"),
        ({"activation": "swish"}, "Unknown activation"),
        ({"epochs": 0}, "Epochs"),
    ],
)
def test_bad_network_race_settings_are_refused(changes, message):
    import dataclasses

    with pytest.raises(ValueError, match=message):
        NetRace(dataclasses.replace(NetRaceConfig(), **changes))


def test_batch_size_experiment_gives_curves_slices_and_sharpness():
    from core.optimizer_race.batch_size import BatchSizeConfig, batch_size_job, describe

    cfg = BatchSizeConfig(net=NetRaceConfig(epochs=15, racers=(OptimizerSetting("sgd", lr=0.3),)), batch_sizes=(5, 250),
                          slice_points=21)
    events = run_headless(batch_size_job, cfg)
    curves = [e for e in events if isinstance(e, Snapshot) and e.kind == "batch_curves"]
    assert {c.data["name"] for c in curves} == {"batch 5", "batch 250"}
    land = [e for e in events if isinstance(e, Snapshot) and e.kind == "landscape"][0].data
    assert set(land["lines"]) == {"start → batch 5", "start → batch 250", "batch 5 → batch 250"}
    train, test = land["lines"]["start → batch 5"]
    summary = land["summary"]
    # α = 0 is the start, α = 1 the small-batch solution: the slice ends at its final loss
    i1 = int(np.argmin(np.abs(land["alpha"] - 1.0)))
    assert train[i1] == pytest.approx(summary["batch 5"]["train_loss"], rel=1e-4)
    assert summary["batch 5"]["steps"] == 15 * 50 and summary["batch 250"]["steps"] == 15
    assert all(np.isfinite(s["sharpness"]) for s in summary.values())
    assert "sharpness" in describe(summary)
