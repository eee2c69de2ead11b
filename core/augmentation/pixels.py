"""Images as the pipeline takes them and as the screen shows them, and their channel
statistics: the conversions the draws and the mixed batches share."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["to_display", "image_tensor", "stats_sample", "as_float_values", "channel_histograms", "HIST_BINS", "DISPLAY_MAX_SIDE"]

HIST_BINS = 64
DISPLAY_MAX_SIDE = 320
STATS_MAX_PIXELS = 256 * 256


def to_display(img, max_side: int | None = None) -> np.ndarray:
    """A pipeline output (tensor C×H×W, uint8 or float) as an RGB uint8 array H×W×3.

    Floats in [0, 1] map to 0–255; anything else (after Normalize) is stretched from its
    own minimum to maximum, because that is the only honest way to show negative values.
    With ``max_side``, larger outputs are scaled down for the screen (a grid cell is small;
    64 full-size 1024² draws would be 200 MB of pixels).
    """
    import torch

    t = img.detach()
    if t.ndim == 2:
        t = t[None]
    if t.shape[0] == 1:
        t = t.expand(3, *t.shape[1:])
    if max_side and max(t.shape[-2:]) > max_side:
        import torch.nn.functional as F

        h, w = t.shape[-2:]
        s = max_side / max(h, w)
        small = F.interpolate(t[None].float(), size=(max(1, round(h * s)), max(1, round(w * s))), mode="bilinear", antialias=True, align_corners=False)[0]
        t = small.round().clamp(0, 255).to(torch.uint8) if t.dtype == torch.uint8 else small
    if t.dtype == torch.uint8:
        return t.permute(1, 2, 0).contiguous().numpy()  # contiguous() made a private copy
    t = t.float()
    lo, hi = float(t.min()), float(t.max())
    if lo < 0.0 or hi > 1.0:
        t = (t - lo) / max(hi - lo, 1e-12)
    return (t.clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).permute(1, 2, 0).contiguous().numpy()


def stats_sample(img):
    """Every k-th pixel in both directions so that at most STATS_MAX_PIXELS remain (exact
    for images up to 256×256): bounded memory for the histograms of 64 large draws."""
    h, w = img.shape[-2:]
    step = math.ceil(math.sqrt(h * w / STATS_MAX_PIXELS))
    return img[..., ::step, ::step] if step > 1 else img


def as_float_values(img) -> np.ndarray:
    """Channel values as the network sees them: uint8 scaled to [0, 1], floats as they are."""
    import torch

    t = img.detach()
    if t.dtype == torch.uint8:
        return t.float().numpy() / 255.0
    return t.float().numpy()


def channel_histograms(images: list[np.ndarray], bins: int = HIST_BINS, value_range: tuple[float, float] | None = None) -> dict:
    """Per-channel histograms and mean/std over a list of (3, H, W) float arrays."""
    flat = np.concatenate([im.reshape(im.shape[0], -1) for im in images], axis=1)
    lo, hi = value_range or (float(flat.min()), float(flat.max()))
    if hi <= lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    counts = np.stack([np.histogram(flat[c], bins=edges)[0] for c in range(flat.shape[0])])
    return {
        "edges": edges,
        "counts": counts.astype(np.int64),
        "mean": flat.mean(axis=1),
        "std": flat.std(axis=1),
    }


def image_tensor(image: np.ndarray):
    """An (H, W, 3) uint8 array as the (3, H, W) uint8 tensor the pipeline takes."""
    import torch

    return torch.from_numpy(np.array(image, np.uint8, copy=True)).permute(2, 0, 1).contiguous()
