"""The augmentation pipeline spec: builds, round-trips, refuses bad input, and the
generated Python code reproduces the lab's grid."""

import json
import runpy

import numpy as np
import pytest

from assets import presets_dir
from core.augmentation.draws import GridConfig, RecordingPipeline, draw_grid_job
from core.augmentation.pixels import image_tensor, to_display
from core.datasets.samples import load_sample
from core.engine import Finished, Snapshot, run_headless
from core.transforms import (
    TRANSFORMS,
    build_pipeline,
    build_steps,
    default_entry,
    default_spec,
    normalize_spec,
    pipeline_code,
    pipeline_from_json,
    search_transforms,
    spec_to_json,
)

REQUIRED = [
    "RandomHorizontalFlip", "RandomVerticalFlip", "RandomCrop", "RandomResizedCrop", "Resize", "RandomRotation",
    "RandomAffine", "RandomPerspective", "ElasticTransform", "ColorJitter", "RandomGrayscale", "GaussianBlur",
    "GaussianNoise", "RandomErasing", "RandomPosterize", "RandomSolarize", "RandomEqualize", "RandomAutocontrast",
    "RandomAdjustSharpness", "AutoAugment", "RandAugment", "TrivialAugmentWide", "AugMix", "Normalize",
]


def _spec(*entries, mix=None):
    return {"version": 1, "transforms": list(entries), "mix": mix or {"kind": "none", "alpha": 1.0, "label_smoothing": 0.0}}


def _entry(type_name, p=None, **params):
    e = default_entry(type_name)
    e["params"].update(params)
    if p is not None:
        e["p"] = p
    return e


def _draws(events):
    out = {}
    for ev in events:
        if isinstance(ev, Snapshot) and ev.kind == "draws":
            for d in ev.data["draws"]:
                out[d["index"]] = d
    return [out[i] for i in sorted(out)]


@pytest.fixture(scope="module")
def scene():
    return load_sample("scene")


def test_every_listed_transform_is_offered():
    assert set(REQUIRED) <= set(TRANSFORMS)


@pytest.mark.parametrize("type_name", REQUIRED)
def test_each_transform_builds_from_json_and_round_trips(type_name, scene):
    from torchvision.transforms import v2

    spec = _spec(_entry(type_name, p=0.7))
    text = spec_to_json(spec)
    again = json.loads(text)
    assert normalize_spec(again) == normalize_spec(spec)
    steps = build_steps(again)
    module = steps[-1].module
    inner = module.transforms[0] if isinstance(module, v2.RandomApply) else module
    assert type(inner).__name__ == type_name
    p = module.p
    assert p == pytest.approx(0.7)
    out = build_pipeline(again)(image_tensor(scene[:64, :64]))
    assert out.shape[0] == 3


def test_float_transforms_get_a_todtype_in_front_and_in_the_code():
    spec = _spec(_entry("RandomRotation"), _entry("Normalize"))
    codes = [s.code for s in build_steps(spec)]
    assert codes[1] == "v2.ToDtype(torch.float32, scale=True)"
    assert "ToDtype" in pipeline_code(spec)


@pytest.mark.parametrize(
    "entry, words",
    [
        (_entry("RandomRotation", degrees=400.0), ["Rotation", "between 0 and 180"]),
        (_entry("GaussianBlur", kernel_size=4), ["Gaussian blur", "odd"]),
        (_entry("RandomResizedCrop", scale=[0.9, 0.2]), ["Random resized crop", "larger than the maximum"]),
        (_entry("RandAugment", magnitude=40, num_magnitude_bins=31), ["RandAugment", "smaller"]),
        (_entry("Normalize", std=[0.2, 0.0, 0.2]), ["Normalize", "std"]),
        (_entry("ColorJitter", hue="lots"), ["Colour jitter", "number"]),
        ({"type": "Twirl"}, ["Unknown transform"]),
        ({**_entry("RandomHorizontalFlip"), "p": 1.5}, ["probability"]),
    ],
)
def test_bad_settings_are_refused_with_a_readable_reason(entry, words):
    with pytest.raises(ValueError) as info:
        normalize_spec(_spec(entry))
    for w in words:
        assert w in str(info.value)


def test_search_finds_transforms_by_words():
    names = [d.type for d in search_transforms("blur")]
    assert names == ["GaussianBlur"]
    assert "RandomErasing" in [d.type for d in search_transforms("cutout")]


def test_generated_code_reproduces_the_grid(scene, tmp_path):
    spec = _spec(
        _entry("RandomResizedCrop", size=96), _entry("RandomHorizontalFlip"), _entry("RandomRotation", degrees=40.0),
        _entry("ColorJitter", p=0.8), _entry("RandomErasing", p=0.6), _entry("GaussianNoise", sigma=0.05), _entry("Normalize"),
    )
    events = run_headless(draw_grid_job, GridConfig(json.dumps(spec), scene, seed=7, n_draws=6, stats=False))
    lab = [d["image"] for d in _draws(events)]
    code = tmp_path / "pipeline.py"
    code.write_text(pipeline_code(spec, seed=7, n_draws=6))
    result = runpy.run_path(str(code), init_globals={"image": image_tensor(scene)})
    theirs = [to_display(d) for d in result["draws"]]
    assert len(lab) == len(theirs) == 6
    for a, b in zip(lab, theirs):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(lab[0], x) for x in lab[1:])  # the draws do differ


def test_same_seed_same_grid_new_seed_new_grid(scene):
    spec = _spec(_entry("RandomRotation"), _entry("ColorJitter"))
    scene = scene[:96, :96].copy()
    a = _draws(run_headless(draw_grid_job, GridConfig(json.dumps(spec), scene, seed=1, n_draws=3, stats=False)))
    b = _draws(run_headless(draw_grid_job, GridConfig(json.dumps(spec), scene, seed=1, n_draws=3, stats=False)))
    c = _draws(run_headless(draw_grid_job, GridConfig(json.dumps(spec), scene, seed=2, n_draws=3, stats=False)))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x["image"], y["image"])
        assert x["params"] == y["params"]
    assert not np.array_equal(a[0]["image"], c[0]["image"])


def test_recorded_parameters_are_what_was_applied(scene):
    import torch
    from torchvision.transforms.v2 import functional as F

    spec = _spec(_entry("RandomVerticalFlip", p=0.0), _entry("RandomRotation", degrees=25.0))
    rec = RecordingPipeline(spec)
    x = image_tensor(scene)
    torch.manual_seed(123)
    y = rec(x)
    lines = rec.last_params()
    assert lines[0] == "Vertical flip: skipped (p=0)"
    angle = float(lines[1].split("angle=")[1])
    assert -25 <= angle <= 25
    # Rotating by the recorded angle by hand gives the same image (up to the 3 digits shown).
    by_hand = F.rotate(x, angle)
    assert (y.float() - by_hand.float()).abs().mean() < 2.0


def test_grid_streams_the_first_draw_alone_then_stats_and_finishes(scene):
    spec = default_spec()
    events = run_headless(draw_grid_job, GridConfig(json.dumps(spec), scene, seed=0, n_draws=8))
    first = events[0]
    assert first.kind == "draws" and len(first.data["draws"]) == 1
    assert len(_draws(events)) == 8
    stats = [e for e in events if isinstance(e, Snapshot) and e.kind == "stats"][0].data
    assert stats["before"]["counts"].shape == (3, 64)
    # The before histogram counts every pixel of each channel once.
    assert stats["before"]["counts"].sum(1).tolist() == [scene.shape[0] * scene.shape[1]] * 3
    np.testing.assert_allclose(stats["before"]["mean"], scene.reshape(-1, 3).mean(0) / 255.0, rtol=1e-6)
    assert isinstance(events[-1], Finished)


def test_normalize_statistics_are_reported_and_zero_centred(scene):
    mean = (scene.reshape(-1, 3) / 255.0).mean(0).tolist()
    std = (scene.reshape(-1, 3) / 255.0).std(0).tolist()
    spec = _spec(_entry("Normalize", mean=mean, std=std))
    events = run_headless(draw_grid_job, GridConfig(json.dumps(spec), scene, n_draws=1))
    stats = [e for e in events if isinstance(e, Snapshot) and e.kind == "stats"][0].data
    assert stats["normalize"] == {"mean": pytest.approx(mean), "std": pytest.approx(std)}
    np.testing.assert_allclose(stats["after"]["mean"], 0.0, atol=1e-5)
    np.testing.assert_allclose(stats["after"]["std"], 1.0, atol=1e-4)


def test_a_crop_larger_than_the_image_is_a_readable_error(scene):
    spec = _spec(_entry("RandomCrop", size=400, pad_if_needed=False))
    with pytest.raises(ValueError, match="cannot transform this 256×256 image"):
        run_headless(draw_grid_job, GridConfig(json.dumps(spec), scene, n_draws=2))


def test_sweep_row_shows_one_parameter_and_bad_sweeps_do_not_cost_the_grid(scene):
    spec = _spec(_entry("RandomHorizontalFlip"), _entry("RandomRotation"))
    events = run_headless(draw_grid_job, GridConfig(json.dumps(spec), scene, n_draws=2, sweep_step=1, sweep_cells=5))
    sweep = [e for e in events if isinstance(e, Snapshot) and e.kind == "sweep"][0].data
    assert sweep["values"] == pytest.approx([-45, -22.5, 0, 22.5, 45])
    np.testing.assert_array_equal(sweep["images"][2], scene)  # 0° leaves the image as it is
    events = run_headless(draw_grid_job, GridConfig(json.dumps(spec), scene, n_draws=2, sweep_step=0))
    sweep = [e for e in events if isinstance(e, Snapshot) and e.kind == "sweep"][0].data
    assert "no parameter to sweep" in sweep["error"]
    assert len(_draws(events)) == 2


def test_pipeline_from_json_reads_spec_files_and_presets(tmp_path):
    from core.transforms import load_spec

    path = tmp_path / "p.json"
    path.write_text(spec_to_json(default_spec()))
    assert len(pipeline_from_json(path).transforms) == 4
    presets = sorted((presets_dir() / "augmentation").glob("*.json"))
    assert len(presets) >= 3
    for preset in presets:
        load_spec(preset)  # every preset holds a valid pipeline
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        pipeline_from_json(bad)


def test_large_draws_are_scaled_for_the_screen_and_sampled_for_statistics():
    big = np.zeros((600, 1000, 3), np.uint8)
    big[:, 500:] = 255  # right half white: half the pixels are 1.0 at any sampling
    spec = _spec(_entry("Resize", size=1024))
    events = run_headless(draw_grid_job, GridConfig(json.dumps(spec), big, n_draws=2))
    draw = _draws(events)[0]
    assert draw["shape"] == (3, 1024, 1706) and draw["image"].shape == (192, 320, 3)
    stats = [e for e in events if isinstance(e, Snapshot) and e.kind == "stats"][0].data
    assert stats["after"]["counts"].sum() < 3 * 2 * 256 * 256 + 1
    np.testing.assert_allclose(stats["after"]["mean"], 0.5, atol=0.01)


def test_a_pipeline_for_float_training_images(scene):
    """What another lab trains with: float images in [0, 1], the same spec."""
    import torch

    spec = _spec(_entry("RandomSolarize", p=1.0, threshold=0.5), _entry("RandomErasing", p=1.0, value=1.0), _entry("Normalize"))
    x = image_tensor(scene).float() / 255.0
    torch.manual_seed(0)
    y_float = build_pipeline(spec, float_input=True)(x)
    torch.manual_seed(0)
    y_uint8 = build_pipeline(spec)(image_tensor(scene))
    assert y_float.dtype == torch.float32
    torch.testing.assert_close(y_float, y_uint8, atol=0.02, rtol=0)  # same picture, either way in
