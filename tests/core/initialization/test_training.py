"""Short training runs per scheme: symmetry under zero init, batching equals separate runs."""

import numpy as np
import pytest
import torch

from core.engine import Diverged, Finished, History, RunControl, Snapshot, run_headless
from core.initialization.schemes import SchemeChoice
from core.initialization.stats import NetworkSpec
from core.initialization.training import InitTrainConfig, symmetry_spread, train_schemes


def train(keys, steps=30, widths=(16, 16, 16), activation="tanh", **kw):
    cfg = InitTrainConfig(NetworkSpec(widths, activation), tuple(SchemeChoice.of(k) for k in keys), steps=steps, n_points=120, **kw)
    events = run_headless(train_schemes, cfg)
    curves: dict[str, dict[str, list]] = {}
    for e in events:
        if isinstance(e, History):
            c = curves.setdefault(e.series, {})
            c.setdefault("step", []).extend(e.steps.tolist())
            for k, v in e.values.items():
                c.setdefault(k, []).extend(v.tolist())
    symmetry = [e for e in events if isinstance(e, Snapshot) and e.kind == "symmetry"]
    return curves, symmetry, events


def test_zero_and_constant_init_never_break_symmetry():
    curves, symmetry, events = train(["zeros", "constant", "xavier_normal"], steps=40, activation="tanh", lr=0.2, dataset="gaussians")
    assert isinstance(events[-1], Finished)
    last = symmetry[-1].data
    assert last["schemes"] == ("zeros", "constant", "xavier_normal")
    assert last["identical"][0].all() and last["identical"][1].all()
    assert not last["identical"][2].any()
    # The constant-init network did learn (one effective neuron per layer is enough for
    # two Gaussians), still with identical neurons.
    assert curves["constant"]["loss"][-1] < 0.5 * curves["constant"]["loss"][0]
    assert max(curves["constant"]["ratio_1"]) > 0
    assert curves["zeros"]["step"] == list(range(1, 41))


def test_training_schemes_together_equals_training_each_alone():
    together, _, _ = train(["xavier_normal", "kaiming_uniform"], optimizer="adam", lr=0.01, seed=2)
    alone, _, _ = train(["kaiming_uniform"], optimizer="adam", lr=0.01, seed=2)
    np.testing.assert_allclose(together["kaiming_uniform"]["loss"], alone["kaiming_uniform"]["loss"], rtol=1e-5)
    np.testing.assert_allclose(together["kaiming_uniform"]["ratio_2"], alone["kaiming_uniform"]["ratio_2"], rtol=1e-4)


def test_update_ratio_is_lr_times_gradient_over_weight_for_sgd():
    """At step 1 with plain SGD, ‖ΔW‖/‖W‖ = lr·‖∇W‖/‖W‖, checked with an nn reference."""
    from core.datasets.points2d import make_dataset
    from core.initialization.stats import build_weights

    spec = NetworkSpec((8,), "tanh", bias=False)
    choice = SchemeChoice.of("xavier_normal")
    cfg = InitTrainConfig(spec, (choice,), steps=1, n_points=120, lr=0.2, optimizer="sgd", dataset="circle")
    h = next(e for e in run_headless(train_schemes, cfg) if isinstance(e, History))
    ds = make_dataset("circle", 120, 0.1, 0)
    X = torch.from_numpy(ds.X)
    X = (X - X.mean(0)) / X.std(0)
    ws, _ = build_weights(spec, [choice], (2, 8, 2), 0, torch.device("cpu"))
    w1, w2 = (w[0].clone().requires_grad_() for w in ws)
    loss = torch.nn.functional.cross_entropy(torch.tanh(X @ w1.T) @ w2.T, torch.from_numpy(ds.y))
    loss.backward()
    assert h.values["loss"][0] == pytest.approx(float(loss.detach()), rel=1e-5)
    expected = 0.2 * float(w1.grad.norm()) / float(w1.detach().norm())
    assert h.values["ratio_1"][0] == pytest.approx(expected, rel=1e-4)


def test_symmetry_spread():
    w = torch.zeros(2, 4, 3)
    w[1, 0, 0] = 1.0
    s = symmetry_spread(w)
    assert s[0] == 0 and s[1] == pytest.approx(0.75)


def test_divergence_is_an_event_per_scheme():
    _, _, events = train(["large_normal", "xavier_normal"], steps=30, activation="linear", widths=(64,) * 6, lr=0.1)
    diverged = [e for e in events if isinstance(e, Diverged)]
    assert [d.series for d in diverged] == ["large_normal"]
    assert isinstance(events[-1], Finished)


def test_bad_settings_are_refused():
    base = dict(network=NetworkSpec((8,)), schemes=(SchemeChoice.of("zeros"),))
    for changes, match in [
        ({"schemes": ()}, "at least one"),
        ({"schemes": (SchemeChoice.of("zeros"),) * 2}, "only once"),
        ({"dataset": "mnist3d"}, "data set"),
        ({"lr": 0.0}, "learning rate"),
        ({"steps": 0}, "steps"),
        ({"network": NetworkSpec((8192,) * 50)}, "GiB"),
    ]:
        with pytest.raises(ValueError, match=match):
            next(train_schemes(InitTrainConfig(**{**base, **changes}), RunControl()))
