"""MixUp, CutMix and label smoothing: soft labels sum to 1 and match the mixing."""

import json

import numpy as np
import pytest
import torch

from core.augmentation.draws import GridConfig, RecordingPipeline, draw_grid_job
from core.augmentation.mix import mix_batch, mixed_batch, smooth_labels, top_classes
from core.datasets.samples import load_sample
from core.engine import Snapshot, run_headless
from core.transforms import default_entry


def _flat_batch(b=4, size=32):
    # Image i is the constant (i + 1) / 10 so that every pixel tells where it came from.
    return torch.stack([torch.full((3, size, size), (i + 1) / 10.0) for i in range(b)])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mixup_blends_images_and_labels_by_the_same_lambda(seed):
    x = _flat_batch()
    labels = torch.arange(4)
    mixed, soft, params = mix_batch("mixup", 0.4, x, labels, 4, seed)
    lam = params["lam"]
    torch.testing.assert_close(mixed, lam * x + (1 - lam) * x.roll(1, 0))
    s = soft.numpy()
    np.testing.assert_allclose(s.sum(1), 1.0, atol=1e-6)
    for i in range(4):
        assert s[i, i] == pytest.approx(lam, abs=1e-6)
        assert s[i, (i - 1) % 4] == pytest.approx(1 - lam, abs=1e-6)


@pytest.mark.parametrize("seed", [0, 3, 5])
def test_cutmix_label_share_is_the_pasted_area(seed):
    x = _flat_batch()
    labels = torch.arange(4)
    mixed, soft, params = mix_batch("cutmix", 1.0, x, labels, 4, seed)
    s = soft.numpy()
    np.testing.assert_allclose(s.sum(1), 1.0, atol=1e-6)
    x1, y1, x2, y2 = params["box"]
    for i in range(4):
        from_neighbour = (mixed[i, 0] == x[(i - 1) % 4, 0, 0, 0]).float().mean().item()
        assert from_neighbour == pytest.approx((x2 - x1) * (y2 - y1) / 32**2)
        assert s[i, (i - 1) % 4] == pytest.approx(from_neighbour, abs=1e-6)
        assert s[i, i] == pytest.approx(1 - from_neighbour, abs=1e-6)


def test_label_smoothing_matches_torch_cross_entropy():
    logits = torch.randn(5, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    target = torch.tensor([0, 1, 2, 3, 1])
    smoothed = torch.as_tensor(smooth_labels(np.eye(4)[target.numpy()], 0.2))
    ours = -(smoothed * torch.log_softmax(logits, 1)).sum(1).mean()
    theirs = torch.nn.functional.cross_entropy(logits, target, label_smoothing=0.2)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-12)
    np.testing.assert_allclose(smoothed.sum(1).numpy(), 1.0)


def test_mixed_batch_of_sample_images_for_display():
    spec = {"version": 1, "transforms": [default_entry("RandomResizedCrop")], "mix": {"kind": "mixup", "alpha": 1.0, "label_smoothing": 0.1}}
    names = ["scene", "shapes", "text"]
    images = [load_sample(n) for n in names]
    out = mixed_batch(spec, RecordingPipeline(spec), images, names, seed=4)
    assert len(out["images"]) == 3 and out["images"][0].shape == (128, 128, 3)
    np.testing.assert_allclose(out["soft_labels"].sum(1), 1.0)
    lam = out["params"]["lam"]
    assert out["soft_labels"][0, 0] == pytest.approx(0.9 * lam + 0.1 / 3)
    top = top_classes(out["soft_labels"][0], names, 2)
    assert {c for c, _ in top} <= set(names) and top[0][1] >= top[1][1]


def test_the_grid_job_yields_the_mixed_batch():
    spec = {"version": 1, "transforms": [default_entry("RandomHorizontalFlip")], "mix": {"kind": "cutmix", "alpha": 1.0, "label_smoothing": 0.0}}
    imgs = (load_sample("digit 6"), load_sample("digit 9"))
    cfg = GridConfig(json.dumps(spec), imgs[0], n_draws=2, mix_images=imgs, mix_labels=("6", "9"))
    mix = [e for e in run_headless(draw_grid_job, cfg) if isinstance(e, Snapshot) and e.kind == "mix"][0].data
    assert mix["kind"] == "cutmix" and mix["classes"] == ("6", "9")
    np.testing.assert_allclose(mix["soft_labels"].sum(1), 1.0)
