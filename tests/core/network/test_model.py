"""The network builder's engine: the fast path equals torch.optim, runs reproduce, faults are events."""

import math
import runpy

import numpy as np
import pytest
import torch

from core.activation_functions import ACTIVATIONS
from core.datasets.points2d import make_dataset, split_train_test
from core.engine import Diverged, Finished, History, Message, RunControl, Snapshot, run_headless
from core.model_io import load_model, quiet_jit, save_model_archive
from core.network import compiled
from core.network.fast import FAST_ACTIVATIONS, FAST_OPTIMIZERS, ONECYCLE_OPTIMIZERS, FastTrainer, fast_path_gap
from core.network.model import NetworkSpec, build_network, layer_outputs, linear_layers
from core.network.settings import PreparedData, TrainSettings
from core.network.torch_trainer import TorchTrainer
from core.network.training import LiveControl, TrainConfig, make_trainer, train_network


def _data(name="circle", n=200, noise=0.1):
    ds = make_dataset(name, n, noise, 0)
    tr, te = split_train_test(ds, 0.5, 0)
    return tr, te, PreparedData.from_arrays(tr.X, tr.y, te.X, te.y, ds.task, ds.n_classes)


def _pair(spec, settings, data, seed=3):
    fast = FastTrainer(build_network(spec, seed=seed), spec, data, settings, torch.Generator().manual_seed(9))
    ref = TorchTrainer(build_network(spec, seed=seed), spec, data, settings, torch.Generator().manual_seed(9))
    return fast, ref


def _max_gap(fast, ref):
    model = fast.sync_model()
    return max((a - b).abs().max().item() for a, b in zip(model.parameters(), ref.model.parameters()))


CIRCLE = _data()
BLOBS = _data("blobs", 160)
PLANE = _data("multi_gaussian", 160)

TEST_LR = {"sgd": 0.05, "momentum": 0.05, "nesterov": 0.05, "adagrad": 0.05, "adadelta": 0.5}

VARIANTS = {
    "playground": (NetworkSpec(), {}),
    "l2_wd_layer_lr": (NetworkSpec(activations=("relu", "sigmoid")),
                       {"regularization": "l2", "reg_rate": 0.01, "weight_decay": 0.001, "layer_lr": (1.0, 0.5, 2.0)}),
    "l1_smoothing_odd_batch": (NetworkSpec(hidden=(5,), activations=("leaky_relu",), dropout=(0.0,), batchnorm=(False,)),
                               {"regularization": "l1", "reg_rate": 0.003, "label_smoothing": 0.1, "batch_size": 7}),
    "no_hidden_layer_step_schedule": (NetworkSpec(features=("x1", "x2", "x1x2"), hidden=(), activations=(), dropout=(),
                                                 batchnorm=()), {"schedule": "step"}),
    "input_noise_on_derived_features": (NetworkSpec(features=("x1", "x2", "x1_sq", "sin_x2"), hidden=(4,), activations=("tanh",),
                                                    dropout=(0.0,), batchnorm=(False,)), {"noise": "input", "noise_std": 0.3}),
    "weight_noise": (NetworkSpec(), {"noise": "weights", "noise_std": 0.05, "batch_size": 15}),
    # Activations whose derivative needs the pre-activation, and hard tanh's clipped ends
    "gelu_elu_hardtanh": (NetworkSpec(hidden=(6, 4, 3), activations=("gelu", "elu", "hardtanh"), dropout=(0.0,) * 3,
                                      batchnorm=(False,) * 3), {"batch_size": 7}),
    "selu_silu_mish_softplus": (NetworkSpec(hidden=(5, 4, 3, 3), activations=("selu", "silu", "mish", "softplus"),
                                            dropout=(0.0,) * 4, batchnorm=(False,) * 4), {}),
    # squared error on the sigmoid's probability; the curve's loss ignores label smoothing there
    "mse_on_probability": (NetworkSpec(loss="mse"), {"label_smoothing": 0.1}),
}


@pytest.mark.parametrize("optimizer", FAST_OPTIMIZERS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_fast_path_matches_torch_optim(optimizer, variant):
    spec, extra = VARIANTS[variant]
    lr = TEST_LR.get(optimizer, 0.01)  # a step that each optimizer takes steadily
    settings = TrainSettings(optimizer=optimizer, lr=lr, **extra)
    assert fast_path_gap(spec, settings) is None
    fast, ref = _pair(spec, settings, CIRCLE[2])
    for _ in range(4):
        fast.epoch()
        ref.epoch()
        ev_f, ev_r = fast.evaluate(), ref.evaluate()
        fast.end_epoch(ev_f["test_loss"])
        ref.end_epoch(ev_r["test_loss"])
        assert _max_gap(fast, ref) < 1e-5
        assert ev_f["train_loss"] == pytest.approx(ev_r["train_loss"], abs=1e-5)
    assert fast.step == ref.step == 4 * math.ceil(100 / settings.batch_size)
    assert fast.lr == pytest.approx(ref.lr)


ONECYCLE_LR = {"sgd": 0.3, "momentum": 0.3, "nesterov": 0.3}  # the peak; the cycle starts at 1/25 of it


@pytest.mark.parametrize("optimizer", ONECYCLE_OPTIMIZERS)
def test_fast_path_follows_the_one_cycle_schedule_and_its_momentum(optimizer):
    """The rate rises and falls and momentum (SGD's, or Adam's beta1) falls and rises over
    8 epochs, then both hold; the updates must follow both as torch.optim does."""
    spec, extra = VARIANTS["l2_wd_layer_lr"]
    settings = TrainSettings(optimizer=optimizer, lr=ONECYCLE_LR.get(optimizer, 0.05), schedule="onecycle",
                             schedule_epochs=8, **extra)
    assert fast_path_gap(spec, settings) is None
    fast, ref = _pair(spec, settings, CIRCLE[2])
    for _ in range(10):
        fast.epoch()
        ref.epoch()
        fast.end_epoch(fast.evaluate()["test_loss"])
        ref.end_epoch(ref.evaluate()["test_loss"])
        assert _max_gap(fast, ref) < 1e-5
        assert fast.lr == pytest.approx(ref.lr)


@pytest.mark.parametrize("which", ["multiclass", "multiclass_mse", "regression"])
def test_fast_path_matches_on_other_tasks(which):
    *_, data = PLANE if which == "regression" else BLOBS
    spec = NetworkSpec(hidden=(6, 3), task=data.task, n_classes=data.n_classes, loss="cross_entropy" if which == "multiclass" else "mse")
    settings = TrainSettings(optimizer="momentum", lr=0.02 if which != "multiclass_mse" else 0.2,
                             label_smoothing=0.05 if which != "regression" else 0.0)
    fast, ref = _pair(spec, settings, data)
    for _ in range(3):
        fast.epoch()
        ref.epoch()
        assert fast.evaluate()["train_loss"] == pytest.approx(ref.evaluate()["train_loss"], abs=1e-6)
    assert _max_gap(fast, ref) < 1e-5


def test_the_fast_path_covers_every_activation_the_builder_offers():
    for key in ACTIVATIONS:
        assert key in FAST_ACTIVATIONS and key in compiled.ACTIVATION_CODES, key
        spec = NetworkSpec(hidden=(3,), activations=(key,), dropout=(0.0,), batchnorm=(False,))
        assert fast_path_gap(spec, TrainSettings()) is None


def test_fast_path_gaps_fall_back_to_torch_optim():
    spec = NetworkSpec()
    cases = [
        (NetworkSpec(dropout=(0.2, 0.0)), TrainSettings(optimizer="adam", lr=0.03), "dropout"),
        (NetworkSpec(batchnorm=(True, False)), TrainSettings(optimizer="adam", lr=0.03), "batch norm"),
        (spec, TrainSettings(optimizer="rmsprop", schedule="onecycle", lr=0.01, schedule_epochs=10), "one-cycle"),
    ]
    data = CIRCLE[2]
    for s, settings, words in cases:
        assert words in fast_path_gap(s, settings)
        trainer = make_trainer(build_network(s, seed=0), s, data, settings, torch.Generator().manual_seed(0))
        assert isinstance(trainer, TorchTrainer)
        before = trainer.evaluate()["train_loss"]
        for _ in range(10):
            trainer.epoch()
            trainer.end_epoch(0.0)
        assert trainer.evaluate()["train_loss"] < before - 0.1, words  # every fallback really trains


def _cfg(**kw):
    tr, te, _ = CIRCLE
    base = dict(spec=NetworkSpec(), settings=TrainSettings(), X_train=tr.X, y_train=tr.y, X_test=te.X, y_test=te.y,
                max_epochs=30, breather_s=0.0, neuron_resolution=8, output_resolution=16)
    base.update(kw)
    return TrainConfig(**base)


def _history(events):
    chunks = [e for e in events if isinstance(e, History)]
    return {k: np.concatenate([c.values[k] for c in chunks]) for k in chunks[0].values}


def test_same_seed_same_run_and_events_are_plain_data():
    # Once loaded, every run is on the compiled loop; while it loads, a run may move onto
    # it between two epochs and differ from the next run by float32 rounding.
    compiled.wait_ready(600)
    a = run_headless(train_network, _cfg())
    b = run_headless(train_network, _cfg())
    c = run_headless(train_network, _cfg(settings=TrainSettings(seed=1)))
    ha, hb, hc = _history(a), _history(b), _history(c)
    assert np.array_equal(ha["train_loss"], hb["train_loss"])
    assert not np.array_equal(ha["train_loss"], hc["train_loss"])
    assert len(ha["train_loss"]) == 31 and ha["iteration"][-1] == 30 * 10
    assert isinstance(a[-1], Finished) and a[-1].summary["epochs"] == 30
    snap = [e for e in a if isinstance(e, Snapshot)][-1]
    assert snap.data["output"].shape == (16, 16)
    assert [n.shape for n in snap.data["neurons"]] == [(4, 8, 8), (2, 8, 8)]
    for v in snap.data["weights"] + list(snap.data["state_dict"].values()):
        assert isinstance(v, np.ndarray)


def test_neuron_maps_are_what_the_module_computes():
    events = run_headless(train_network, _cfg(max_epochs=3))
    snap = [e for e in events if isinstance(e, Snapshot)][-1]
    model = build_network(NetworkSpec())
    model.load_state_dict({k: torch.tensor(v) for k, v in snap.data["state_dict"].items()})
    xs = torch.linspace(-6, 6, 8)
    point = torch.tensor([[xs[5].item(), xs[2].item()]])  # column 5 (x1), row 2 (x2)
    hidden, out = layer_outputs(model, point)
    assert snap.data["neurons"][0][:, 2, 5] == pytest.approx(hidden[0][0].numpy(), abs=1e-5)
    assert snap.data["output_small"][2, 5] == pytest.approx(torch.sigmoid(out[0, 0]).item(), abs=1e-5)


def test_divergence_is_an_event_and_keeps_the_last_good_picture():
    spec = NetworkSpec(hidden=(8, 8), activations=("relu", "relu"), dropout=(0, 0), batchnorm=(False, False),
                       task="regression", n_classes=0, loss="mse")
    tr, te, _ = PLANE
    events = run_headless(train_network, _cfg(spec=spec, settings=TrainSettings(lr=9.0, batch_size=1), X_train=tr.X,
                                               y_train=tr.y, X_test=te.X, y_test=te.y, max_epochs=50))
    assert isinstance(events[-1], Diverged) and "diverged at epoch" in events[-1].message
    snaps = [e for e in events if isinstance(e, Snapshot)]
    assert all(np.isfinite(s.data["output"]).all() for s in snaps)
    assert all(np.isfinite(v).all() for v in _history(events)["train_loss"])


def test_bad_settings_are_refused_before_work():
    with pytest.raises(ValueError, match="larger than the training set"):
        next(train_network(_cfg(settings=TrainSettings(batch_size=500)), RunControl()))
    tr, te, _ = CIRCLE
    with pytest.raises(ValueError, match="Class 1 has no training points"):
        next(train_network(_cfg(X_train=tr.X[tr.y == 0], y_train=tr.y[tr.y == 0]), RunControl()))
    with pytest.raises(ValueError, match="at least one input feature"):
        next(train_network(_cfg(spec=NetworkSpec(features=())), RunControl()))


def test_early_stopping_finishes_the_run():
    tr, te, _ = _data("circle", 60, 0.6)
    events = run_headless(train_network, _cfg(settings=TrainSettings(lr=0.3, patience=5), X_train=tr.X, y_train=tr.y,
                                               X_test=te.X, y_test=te.y, max_epochs=2000))
    summary = events[-1].summary
    assert summary["early_stopped"] == summary["best_epoch"] + 5 < 2000


def test_live_changes_apply_between_epochs_and_can_switch_paths():
    live = LiveControl()
    ctl = RunControl()
    job = train_network(_cfg(max_epochs=None, live=live), ctl)
    events = [next(job) for _ in range(3)]  # message, history, first snapshot
    assert "fast path" in events[0].text
    live.update_settings(TrainSettings(optimizer="rmsprop", schedule="onecycle", lr=0.1, schedule_epochs=1000))
    live.set_parameter(0, 0, 1, 0.75)
    seen = []
    for ev in job:
        seen.append(ev)
        if isinstance(ev, Snapshot):
            break
    snap = seen[-1]
    assert snap.data["fast"] is False
    assert [e.text for e in seen if isinstance(e, Message)] == ["Engine: autograd + torch.optim (for the one-cycle schedule "
                                                                "with rmsprop)"]
    ctl.stop()


def test_paused_job_applies_a_typed_weight_at_once():
    live = LiveControl()
    ctl = RunControl(paused=True)
    job = train_network(_cfg(max_epochs=None, live=live), ctl)
    for _ in range(3):
        next(job)
    live.set_parameter(1, 1, -1, 2.5)  # bias of neuron 1 in the second hidden layer
    snap = next(job)
    assert snap.data["epoch"] == 0 and snap.data["biases"][1][1] == pytest.approx(2.5)
    ctl.stop()


def test_model_archive_rebuilds_the_network(tmp_path, capsys):
    spec = NetworkSpec(features=("x1", "x2", "sin_x1"), hidden=(3, 2), activations=("elu", "tanh"),
                       dropout=(0.1, 0.0), batchnorm=(True, False))
    model = build_network(spec, seed=4)
    model.eval()
    path = save_model_archive(tmp_path / "net", model, spec.model_spec(), {"epoch": [0, 1]})
    rebuilt, loaded_spec, metrics, _ = load_model(path)
    assert NetworkSpec.from_dict(loaded_spec) == spec
    x = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    assert torch.allclose(rebuilt(x), model(x))
    with quiet_jit():
        scripted = torch.jit.load(str(path / "model.torchscript.pt"))  # the feature map scripts too
    assert torch.allclose(scripted(x), model(x))
    # The stand-alone script (needs only torch) gives the same numbers; python rebuild.py in-process.
    runpy.run_path(str(path / "rebuild.py"), run_name="__main__")
    assert f"{model(torch.tensor([[0.0, 0.0]]))[0, 0].item():.4f}" in capsys.readouterr().out
    assert [lin.out_features for lin in linear_layers(rebuilt)] == [3, 2, 1]
