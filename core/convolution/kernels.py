"""Kernel presets (identity, blur, edges, …) of any size, and a procedural sample image.

The 3×3 presets are the textbook ones; other sizes use the natural generalisation
(binomial smoothing for Gaussian and Sobel, centre-minus-surround for Laplacian).
"""

from __future__ import annotations

import numpy as np

__all__ = ["KERNEL_PRESETS", "kernel_preset", "sample_image", "to_gray"]

KERNEL_PRESETS = ("identity", "box", "gaussian", "sharpen", "sobel_x", "sobel_y", "laplacian", "emboss", "random")

_CLASSIC_3X3 = {
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "sobel_x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel_y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
}


def _binomial(n: int) -> np.ndarray:
    row = np.array([1.0])
    for _ in range(n - 1):
        row = np.convolve(row, [1.0, 1.0])
    return row


def _derivative(n: int) -> np.ndarray:
    """Antisymmetric ramp: −1 0 1 for 3, −2 −1 0 1 2 for 5 (zero-free for even n)."""
    return np.arange(n) - (n - 1) / 2.0


def kernel_preset(name: str, kh: int, kw: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """A (kh, kw) kernel; ValueError for an unknown name."""
    if name not in KERNEL_PRESETS:
        raise ValueError(f"Unknown kernel preset {name!r}; choose one of {', '.join(KERNEL_PRESETS)}")
    if (kh, kw) == (3, 3) and name in _CLASSIC_3X3:
        return np.array(_CLASSIC_3X3[name], float)
    centre = np.zeros((kh, kw))
    centre[(kh - 1) // 2, (kw - 1) // 2] = 1.0
    box = np.full((kh, kw), 1.0 / (kh * kw))
    if name == "identity":
        return centre
    if name == "box":
        return box
    if name == "gaussian":
        g = np.outer(_binomial(kh), _binomial(kw))
        return g / g.sum()
    if name == "sharpen":
        return 2 * centre - box
    if name == "sobel_x":
        return np.outer(_binomial(kh), _derivative(kw))
    if name == "sobel_y":
        return np.outer(_derivative(kh), _binomial(kw))
    if name == "laplacian":
        return kh * kw * centre - np.ones((kh, kw))
    if name == "emboss":
        ramp = _derivative(kh)[:, None] + _derivative(kw)[None, :]
        return ramp + centre
    rng = rng or np.random.default_rng()
    return np.round(rng.normal(0.0, 1.0 / np.sqrt(kh * kw), (kh, kw)), 2)


def sample_image(size: int = 32, seed: int = 0) -> np.ndarray:
    """An RGB scene (3, size, size) in [0, 1]: sky gradient, sun, house, striped field.

    Straight edges in both directions, a round edge, stripes and flat areas: each
    kernel preset has something to show.
    """
    n = size
    yy, xx = np.mgrid[0:n, 0:n] / max(n - 1, 1)
    img = np.zeros((3, n, n))
    img[0] = 0.45 + 0.25 * yy  # sky, lighter towards the horizon
    img[1] = 0.65 + 0.2 * yy
    img[2] = 0.95 - 0.1 * yy
    sun = (xx - 0.78) ** 2 + (yy - 0.2) ** 2 < 0.012
    img[:, sun] = np.array([1.0, 0.85, 0.2])[:, None]
    ground = yy > 0.62
    stripes = (np.floor((xx + yy) * 12) % 2).astype(bool)
    img[:, ground & stripes] = np.array([0.25, 0.55, 0.2])[:, None]
    img[:, ground & ~stripes] = np.array([0.35, 0.7, 0.25])[:, None]
    wall = (xx > 0.12) & (xx < 0.48) & (yy > 0.42) & (yy < 0.8)
    img[:, wall] = np.array([0.85, 0.8, 0.7])[:, None]
    roof = (yy > 0.22) & (yy <= 0.42) & (np.abs(xx - 0.3) < (yy - 0.22) * 1.0)
    img[:, roof] = np.array([0.7, 0.2, 0.15])[:, None]
    door = (xx > 0.26) & (xx < 0.34) & (yy > 0.6) & (yy < 0.8)
    img[:, door] = np.array([0.3, 0.2, 0.1])[:, None]
    noise = np.random.default_rng(seed).normal(0, 0.01, img.shape)
    return np.clip(img + noise, 0.0, 1.0)


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """(1, H, W) luminance of a (3, H, W) image (ITU-R BT.601 weights)."""
    return np.tensordot(np.array([0.299, 0.587, 0.114]), rgb, axes=1)[None]
