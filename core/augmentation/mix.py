"""Batch-level mixing (MixUp, CutMix) and label smoothing, with the soft labels shown.

Both mixers are torchvision's own (``v2.MixUp``, ``v2.CutMix``): each pairs image ``i``
with image ``i - 1`` of the batch (a roll by one) and returns soft labels. Label
smoothing is the target distribution of ``CrossEntropyLoss(label_smoothing=ε)``:
``(1 - ε) · y + ε / K``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.augmentation.pixels import image_tensor, to_display
from core.transforms import draw_seed

__all__ = ["mix_batch", "smooth_labels", "mixed_batch", "top_classes"]

MIX_SIZE = 128  # images of different sizes are resized to this square before mixing


def smooth_labels(soft: np.ndarray, epsilon: float) -> np.ndarray:
    """Label smoothing of (B, K) probability rows; rows still sum to 1."""
    soft = np.asarray(soft, np.float64)
    k = soft.shape[-1]
    return (1.0 - epsilon) * soft + epsilon / k


def mix_batch(kind: str, alpha: float, images, labels, num_classes: int, seed: int = 0) -> tuple[Any, Any, dict]:
    """Mix a float batch (B, 3, H, W) with integer ``labels``; returns (images, soft labels, params).

    ``params`` holds what torchvision sampled: ``lam`` for MixUp; ``box`` (x1, y1, x2, y2)
    and ``lam`` (the true kept area after clipping the box) for CutMix.
    """
    import torch
    from torchvision.transforms import v2

    if kind not in ("mixup", "cutmix"):
        raise ValueError(f"Mixing must be 'mixup' or 'cutmix', not {kind!r}")
    mixer = (v2.MixUp if kind == "mixup" else v2.CutMix)(alpha=float(alpha), num_classes=int(num_classes))
    sampled: dict = {}
    original = mixer.make_params

    def record(flat_inputs):
        params = original(flat_inputs)
        sampled.update(params)
        return params

    mixer.make_params = record
    torch.manual_seed(draw_seed(seed, 999))
    mixed, soft = mixer(images, labels)
    params: dict[str, Any] = {}
    if kind == "mixup":
        params["lam"] = float(sampled["lam"])
    else:
        params["box"] = tuple(int(v) for v in sampled["box"])
        params["lam"] = float(sampled["lam_adjusted"])
    return mixed, soft, params


def top_classes(soft_row: np.ndarray, classes: list[str], k: int = 3) -> list[tuple[str, float]]:
    """The ``k`` largest entries of one soft label, as (class name, probability)."""
    order = np.argsort(-np.asarray(soft_row))[:k]
    return [(classes[i], float(soft_row[i])) for i in order if soft_row[i] > 1e-6]


def mixed_batch(spec: dict, pipeline, images: list[np.ndarray], classes: list[str], seed: int) -> dict:
    """Augment a labelled batch (one image per class), mix it as ``spec["mix"]`` says,
    smooth the labels, and return display images with their soft labels."""
    import torch
    from torchvision.transforms.v2 import functional as F

    if len(images) < 2:
        raise ValueError("Mixing needs a batch of at least two labelled images")
    mix = spec["mix"]
    batch = []
    for i, im in enumerate(images):
        torch.manual_seed(draw_seed(seed, 500 + i))
        y = pipeline(image_tensor(im))
        y = y.float() / 255.0 if y.dtype == torch.uint8 else y.float()
        if y.shape[-2:] != (MIX_SIZE, MIX_SIZE):
            y = F.resize(y, [MIX_SIZE, MIX_SIZE], antialias=True)
        batch.append(y)
    x = torch.stack(batch)
    labels = torch.arange(len(images))
    params: dict[str, Any] = {}
    if mix["kind"] == "none":
        soft = np.eye(len(images))
    else:
        x, soft_t, params = mix_batch(mix["kind"], mix["alpha"], x, labels, len(images), seed)
        soft = soft_t.numpy().astype(np.float64)
    soft = smooth_labels(soft, mix["label_smoothing"])
    return {
        "kind": mix["kind"],
        "images": tuple(to_display(x[i]) for i in range(len(x))),
        "soft_labels": soft,
        "classes": tuple(classes),
        "params": params,
        "label_smoothing": mix["label_smoothing"],
    }
