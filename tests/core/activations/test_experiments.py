import numpy as np
import pytest

from core.activations.experiments import (
    DeadReluConfig,
    DepthConfig,
    ZeroCentredConfig,
    dead_relu,
    gradients_through_depth,
    zero_centred,
)
from core.engine import Diverged, Finished, History, Snapshot, run_headless


def test_sigmoid_loses_the_gradient_through_depth_and_relu_does_not():
    cfg = DepthConfig(activations=("sigmoid", "relu"), depth=15, width=32, batch=64, trials=3)
    events = run_headless(gradients_through_depth, cfg)
    snaps = [e for e in events if isinstance(e, Snapshot)]
    assert [s.data["trials"] for s in snaps] == [1, 2, 3]
    logs = snaps[-1].data["log10_norms"]
    assert logs["sigmoid"].shape == (15,)
    sigmoid_lost = logs["sigmoid"][-1] - logs["sigmoid"][0]  # decades between last and first layer
    relu_lost = logs["relu"][-1] - logs["relu"][0]
    assert sigmoid_lost > 5  # each sigmoid layer multiplies by at most 0.25
    assert abs(relu_lost) < 1.5


@pytest.mark.parametrize(
    "bad, message",
    [({"depth": 51}, "Depth"), ({"activations": ()}, "at least one"), ({"init": "magic"}, "initialization")],
)
def test_bad_depth_config_is_refused_before_work(bad, message):
    with pytest.raises(ValueError, match=message):
        next(gradients_through_depth(DepthConfig(**bad), None))


def _series(events, key, name):
    return np.concatenate([e.values[name] for e in events if isinstance(e, History) and e.series == key])


def test_negative_initial_bias_leaves_relus_dead_while_leaky_and_elu_learn():
    cfg = DeadReluConfig(
        dataset="circle", initial_bias=-1.0, learning_rate=0.3, epochs=120, points=120,
        params={"negative_slope": 0.1},
    )
    events = run_headless(dead_relu, cfg)
    assert isinstance(events[-1], Finished)
    relu_dead = _series(events, "relu", "dead")
    assert len(relu_dead) == 120
    assert relu_dead[-1] > 0.5
    assert _series(events, "relu", "loss")[-1] > 0.6  # dead network: stuck near log 2
    assert _series(events, "elu", "loss")[-1] < 0.5


def test_a_diverging_series_stops_alone():
    cfg = DeadReluConfig(activations=("relu", "elu"), learning_rate=20.0, initial_bias=0.0, epochs=200, points=60)
    events = run_headless(dead_relu, cfg)
    diverged = [e for e in events if isinstance(e, Diverged)]
    assert diverged, "a learning rate of 20 should make at least one network diverge"
    assert all(d.series in ("relu", "elu") and d.step >= 1 for d in diverged)
    assert isinstance(events[-1], Finished)


def test_all_positive_inputs_force_same_sign_updates():
    events = run_headless(zero_centred, ZeroCentredConfig(steps=200))
    final = events[-1]
    assert isinstance(final, Finished)
    fractions = final.summary["same_sign_fraction"]
    assert fractions["positive"] == 1.0
    assert 0.3 < fractions["centred"] < 0.7
    landscape = events[0]
    assert landscape.kind == "landscape" and landscape.data["loss"]["positive"].shape == (81, 81)
    path = [e for e in events if isinstance(e, Snapshot) and e.kind == "paths"][-1].data["paths"]["positive"]
    assert path.shape == (201, 2)


def _reference_losses(cfg: DeadReluConfig, key: str) -> np.ndarray:
    """One plain network trained with torch.optim.SGD, as the experiment defined it before
    the networks were stacked: same initial weights, same data order, full-batch loss per epoch."""
    import torch

    from core.activation_functions import make_activation
    from core.activations.experiments import mlp_initial_params
    from core.datasets.points2d import make_dataset

    ds = make_dataset(cfg.dataset, cfg.points, cfg.noise, cfg.seed)
    X, y = torch.from_numpy(ds.X / 6.0), torch.from_numpy(ds.y)  # scaled as the experiment does
    params = [p.clone().requires_grad_() for p in mlp_initial_params(cfg, 2, ds.n_classes)]
    f = make_activation(key, cfg.params)
    opt = torch.optim.SGD(params, lr=cfg.learning_rate)
    order = torch.Generator().manual_seed(cfg.seed + 1)
    batch = cfg.batch_size or len(X)

    def forward(x):
        h = x
        for i in range(0, len(params), 2):
            h = h @ params[i] + params[i + 1]
            if i < len(params) - 2:
                h = f(h)
        return h

    losses = []
    for _ in range(cfg.epochs):
        perm = torch.randperm(len(X), generator=order) if batch < len(X) else None
        for start in range(0, len(X), batch):
            idx = perm[start : start + batch] if perm is not None else slice(None)
            opt.zero_grad()
            torch.nn.functional.cross_entropy(forward(X[idx]), y[idx]).backward()
            opt.step()
        with torch.no_grad():
            losses.append(torch.nn.functional.cross_entropy(forward(X), y).item())
    return np.array(losses)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stacked_networks_train_exactly_like_separate_torch_optim_networks(seed):
    rng = np.random.default_rng(seed)
    cfg = DeadReluConfig(
        activations=("relu", "leaky_relu", "elu", "tanh")[: int(rng.integers(2, 5))],
        dataset=str(rng.choice(["moons", "circle", "xor"])),
        points=int(rng.integers(30, 120)),
        width=int(rng.integers(2, 20)),
        depth=int(rng.integers(1, 5)),
        learning_rate=float(rng.uniform(0.05, 1.0)),
        initial_bias=float(rng.uniform(-0.5, 0.5)),
        batch_size=int(rng.choice([0, 16])),
        epochs=100 if seed == 0 else 40,
        seed=seed,
        params={"negative_slope": 0.1},
    )
    events = run_headless(dead_relu, cfg)
    for key in cfg.activations:
        np.testing.assert_allclose(_series(events, key, "loss"), _reference_losses(cfg, key), rtol=1e-5, atol=1e-6)
