"""The image training job: learns above chance, reports what the views show, exports and reloads."""

import json

import numpy as np
import pytest
import torch

from core.datasets.images import DataConfig, prepare
from core.engine import Diverged, Finished, History, Message, Metrics, RunControl, Snapshot, run_headless
from core.images.models import infer_stack, preset_layers
from core.images.training import (
    SPEC_KIND,
    ImageTrainConfig,
    class_probabilities,
    estimate_training_bytes,
    feature_maps,
    load_state,
    model_from_spec,
    train_images,
)
from core.model_io import load_model, save_model_archive

SMALL_DATA = DataConfig(n_per_class=100, size=16, seed=0)
CNN = preset_layers("small_cnn")  # conv 8, relu, pool, conv 16, relu, pool, flatten


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    # The machine is shared: two threads on a busy CPU run tiny nets ~20× slower.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _cfg(**kw):
    base = dict(data=SMALL_DATA, layers_json=json.dumps(CNN), lr=0.005, batch_size=32, epochs=12, seed=0)
    base.update(kw)
    return ImageTrainConfig(**base)


@pytest.fixture(scope="module")
def trained():
    return run_headless(train_images, _cfg())


def test_training_reaches_well_above_chance(trained):
    fin = trained[-1]
    assert isinstance(fin, Finished)
    assert fin.summary["steps"] == 12 * (640 // 32)  # 800 images, 160 for validation
    chance = 1 / 8
    assert fin.summary["val_acc"] > 3 * chance


def test_events_carry_curves_confusion_and_grid(trained):
    data = next(e for e in trained if isinstance(e, Snapshot) and e.kind == "data")
    assert data.data["grid_images"].shape == (64, 1, 16, 16)
    assert data.data["classes"][0] == "disk"
    steps = np.concatenate([e.steps for e in trained if isinstance(e, History)])
    assert np.array_equal(steps, np.arange(1, len(steps) + 1))  # every step, none lost
    evals = [e for e in trained if isinstance(e, Snapshot) and e.kind == "eval"]
    last = evals[-1].data
    assert last["confusion"].sum() == 160 and last["confusion"].shape == (8, 8)
    assert last["grid_pred"].shape == (64,) and 0 <= last["grid_pred"].min() and last["grid_pred"].max() < 8
    assert last["filters"].shape == (8, 1, 3, 3)
    metrics = [e for e in trained if isinstance(e, Metrics)]
    assert metrics[-1].values["images_per_s"] > 0 and metrics[-1].values["epoch_time_s"] > 0
    assert metrics[-1].values["val_acc"] == pytest.approx(np.trace(last["confusion"]) / 160)


def test_confusion_and_grid_predictions_match_the_rebuilt_model(trained):
    fin = trained[-1].summary
    model = load_state(model_from_spec(fin["spec"]), fin["state"]).eval()
    data = prepare(SMALL_DATA)
    with torch.no_grad():
        pred = model(data.x_val).argmax(1)
    assert float((pred == data.y_val).float().mean()) == pytest.approx(fin["val_acc"])
    last_eval = [e for e in trained if isinstance(e, Snapshot) and e.kind == "eval"][-1].data
    grid = len(last_eval["grid_pred"])  # the image grid shows the first validation images
    assert np.array_equal(last_eval["grid_pred"], pred[:grid].numpy())


def test_export_load_gives_identical_predictions(trained, tmp_path):
    fin = trained[-1].summary
    model = load_state(model_from_spec(fin["spec"]), fin["state"]).eval()
    save_model_archive(tmp_path / "m.zip", model, fin["spec"], {"val_acc": [fin["val_acc"]]})
    loaded, spec, metrics, _ = load_model(tmp_path / "m.zip")
    x = prepare(SMALL_DATA).x_val
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    assert spec["mean"] == fin["spec"]["mean"] and metrics["val_acc"] == [pytest.approx(fin["val_acc"])]


def test_feature_maps_and_probabilities_for_one_image(trained):
    fin = trained[-1].summary
    model = load_state(model_from_spec(fin["spec"]), fin["state"])
    image = prepare(SMALL_DATA).x_val[0]
    maps = feature_maps(model, image)
    assert [m[2].shape for m in maps] == [(8, 14, 14), (8, 14, 14), (8, 7, 7), (16, 5, 5), (16, 5, 5), (16, 2, 2)]
    probs = class_probabilities(model, image)
    assert probs.shape == (8,) and probs.sum() == pytest.approx(1, abs=1e-5)
    assert model.training  # restored after the look


def test_mlp_filters_are_weight_images():
    events = run_headless(train_images, _cfg(layers_json=json.dumps(preset_layers("mlp")), max_steps=3, epochs=1))
    ev = [e for e in events if isinstance(e, Snapshot) and e.kind == "eval"][-1]
    assert ev.data["filters"].shape == (64, 1, 16, 16)  # first 64 of the 128 hidden units


def test_huge_learning_rate_diverges_as_an_event():
    # A penalty step of 2·lr·rate = 200 times the weight flips and grows them until they overflow.
    events = run_headless(train_images, _cfg(optimizer="sgd", lr=10.0, regularization="l2", reg_rate=10.0, epochs=2))
    assert any(isinstance(e, Diverged) for e in events)
    assert not any(isinstance(e, Finished) for e in events)


def test_early_stopping_restores_best_weights():
    events = run_headless(train_images, _cfg(lr=0.05, epochs=200, patience=2, evals_per_epoch=1, data=DataConfig(n_per_class=20, size=16)))
    fin = events[-1]
    assert fin.summary["stopped_early"] and fin.summary["steps"] < 200 * 4
    assert any(isinstance(e, Message) and "early" in e.text for e in events)


def test_bad_settings_fail_before_work():
    with pytest.raises(ValueError, match="Flatten"):
        run_headless(train_images, _cfg(layers_json=json.dumps(CNN[:-1])))
    with pytest.raises(ValueError, match="Batch size"):
        run_headless(train_images, _cfg(batch_size=0))
    with pytest.raises(ValueError, match="learning rate"):
        run_headless(train_images, _cfg(lr=-1.0))


def test_stop_takes_effect_at_once():
    ctl = RunControl()
    gen = train_images(_cfg(epochs=1000), ctl)
    for ev in gen:
        if isinstance(ev, History):
            ctl.stop()
            break
    with pytest.raises(Exception) as info:
        next(gen)
    assert type(info.value).__name__ == "Cancelled"


def test_same_seed_same_run():
    a = run_headless(train_images, _cfg(max_steps=10))[-1].summary
    b = run_headless(train_images, _cfg(max_steps=10))[-1].summary
    assert a["val_loss"] == b["val_loss"]


def test_augmentation_pipeline_from_the_augmentation_lab():
    from core.transforms import default_entry

    flip = {"version": 1, "transforms": [default_entry("RandomHorizontalFlip")]}
    fin = run_headless(train_images, _cfg(max_steps=4, augment_json=json.dumps(flip)))[-1]
    assert isinstance(fin, Finished)
    crop = dict(default_entry("RandomResizedCrop"), params={"size": 24, "scale": [0.5, 1.0], "ratio": [0.75, 1.3333]})
    with pytest.raises(ValueError, match="size unchanged"):
        run_headless(train_images, _cfg(max_steps=4, augment_json=json.dumps({"version": 1, "transforms": [crop]})))


def test_archive_of_another_architecture_is_refused(trained, tmp_path):
    fin = trained[-1].summary
    model = load_state(model_from_spec(fin["spec"]), fin["state"])
    folder = save_model_archive(tmp_path / "m", model, fin["spec"], {}, torchscript=False)
    header = json.loads((folder / "spec.json").read_text())
    header["spec"]["layers"][0]["filters"] = 4  # the weights were saved for 8 filters
    (folder / "spec.json").write_text(json.dumps(header))
    with pytest.raises(ValueError, match="do not fit"):
        load_model(folder)


def test_feature_maps_of_a_torchvision_model_come_from_its_convolutions():
    from core.images.models import build_model

    model = build_model([{"type": "torchvision", "arch": "shufflenet_v2_x0_5"}], (1, 28, 28), 8)
    maps = feature_maps(model, torch.zeros(1, 28, 28))
    n_convs = sum(isinstance(m, torch.nn.Conv2d) for m in model.modules())
    assert len(maps) == min(24, n_convs)
    assert maps[0][1].startswith("conv1") and maps[0][2].shape == (24, 14, 14)


def run_rebuild_script(folder, tmp_path) -> str:
    """python rebuild.py in a fresh, isolated interpreter that has torch but is not told of dllab."""
    import subprocess
    import sys

    script = (folder / "rebuild.py").read_text(encoding="utf-8")
    assert "core." not in script and "load_model" not in script and "torchscript" not in script
    out = subprocess.run([sys.executable, "-I", str(folder / "rebuild.py")], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize("layers", [
    [{"type": "conv", "filters": 4, "kernel": 3}, {"type": "batchnorm"}, {"type": "activation", "fn": "leaky_relu"},
     {"type": "maxpool"}, {"type": "dropout", "p": 0.2}, {"type": "flatten"}, {"type": "linear", "units": 7},
     {"type": "activation", "fn": "gelu"}],
    [{"type": "torchvision", "arch": "squeezenet1_1"}],
])
def test_image_archive_rebuilds_from_spec_and_state_dict_with_torch_alone(layers, tmp_path):
    spec = {"kind": SPEC_KIND, "layers": layers, "input_shape": [1, 32, 32], "classes": ["a", "b", "c"],
            "mean": [0.5], "std": [0.25]}
    torch.manual_seed(0)
    model = model_from_spec(spec).eval()
    folder = save_model_archive(tmp_path / "m", model, spec, {}, torchscript=False)
    printed = run_rebuild_script(folder, tmp_path)
    with torch.no_grad():
        expected = model(torch.zeros(1, 1, 32, 32))
    assert f"{expected[0, 0].item():.4f}" in printed


def test_a_network_the_device_cannot_hold_is_refused_with_the_estimate_before_any_allocation():
    # 100 × Linear(4096): 1.66 G parameters, ~27 GB with Adam -- more than this machine has.
    layers = [{"type": "flatten"}] + [{"type": "linear", "units": 4096} for _ in range(100)]
    events = []
    with pytest.raises(ValueError, match=r"needs about 2\d\.\d GiB to train \(1,6\d\d,\d{3},\d{3} parameters, Adam") as err:
        for event in train_images(_cfg(layers_json=json.dumps(layers), optimizer="adam"), RunControl()):
            events.append(event)
    assert "available" in str(err.value)
    assert not any(isinstance(e, (Metrics, Snapshot)) for e in events)


def test_training_memory_estimate_counts_weights_gradients_state_and_activations():
    report = infer_stack([{"type": "flatten"}, {"type": "linear", "units": 10}], (1, 4, 4), 3)
    params = 16 * 10 + 10 + 10 * 3 + 3
    activations = 16 + 10 + 3  # flatten, linear, output per image
    assert report.total_params == params
    assert estimate_training_bytes(report, "sgd", 8) == 4 * (2 * params + 2 * 8 * activations)
    assert estimate_training_bytes(report, "adam", 8) == 4 * (4 * params + 2 * 8 * activations)
