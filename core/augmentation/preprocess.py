"""Preprocessing as the lectures teach it: zero-centre, normalize, decorrelate (PCA),
whiten — on 2-D toy data with covariance ellipses, and on a batch of images (mean
image, per-channel mean/std, principal components as images).

Statistics come from the training set and are applied unchanged to the test set; a
switch computes them on the test set instead so that the student sees the warning
(and the slightly different numbers) of that mistake. All statistics are computed
with torch in float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Stage",
    "STAGE_NAMES",
    "toy_data",
    "preprocess_stages",
    "covariance_ellipse",
    "ImageBatchStats",
    "image_batch_stats",
    "TEST_STATS_WARNING",
    "stats_warning",
]

STAGE_NAMES = ("original", "zero-centred", "normalized", "decorrelated (PCA)", "whitened")
TEST_STATS_WARNING = (
    "Statistics computed on the test set: the test data now shapes the preprocessing, "
    "so test scores are optimistic (data leakage). Compute mean, std and PCA on the "
    "training set only and apply them unchanged to the test set."
)
WHITEN_EPS = 1e-8


def stats_warning(source: str) -> str:
    if source not in ("train", "test"):
        raise ValueError("Statistics come from 'train' or 'test'")
    return TEST_STATS_WARNING if source == "test" else ""


@dataclass(frozen=True)
class Stage:
    name: str
    train: np.ndarray  # (n, 2)
    test: np.ndarray  # (m, 2)
    mean: np.ndarray  # (2,) of the train points at this stage
    cov: np.ndarray  # (2, 2) of the train points at this stage
    ellipse: np.ndarray  # (k, 2) the 2-σ covariance ellipse of the train points


def toy_data(n_train: int = 300, n_test: int = 100, seed: int = 0, shift_test: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Correlated, off-centre, unequally scaled 2-D Gaussian points (train, test)."""
    if n_train < 3 or n_test < 1:
        raise ValueError("Need at least 3 training points and 1 test point")
    rng = np.random.default_rng(seed)
    mean = np.array([3.0, -2.0])
    cov = np.array([[4.0, 2.4], [2.4, 2.0]])
    train = rng.multivariate_normal(mean, cov, n_train)
    test = rng.multivariate_normal(mean + shift_test, cov, n_test)
    return train, test


def covariance_ellipse(mean: np.ndarray, cov: np.ndarray, n_std: float = 2.0, points: int = 100) -> np.ndarray:
    """Points on the ellipse ``(x - μ)ᵀ Σ⁻¹ (x - μ) = n_std²``."""
    vals, vecs = np.linalg.eigh(np.asarray(cov, float))
    t = np.linspace(0, 2 * np.pi, points)
    circle = np.stack([np.cos(t), np.sin(t)], 1) * n_std
    return circle * np.sqrt(np.clip(vals, 0, None)) @ vecs.T + np.asarray(mean, float)


def _moments(x):
    import torch

    mean = x.mean(0)
    centred = x - mean
    cov = centred.T @ centred / (x.shape[0] - 1)
    return mean, cov, torch


def preprocess_stages(train: np.ndarray, test: np.ndarray, source: str = "train") -> list[Stage]:
    """The five stages, each fitted on ``source`` ("train" or "test") and applied to both."""
    import torch

    stats_warning(source)  # checks ``source``
    tr = torch.as_tensor(np.asarray(train, np.float64))
    te = torch.as_tensor(np.asarray(test, np.float64))
    fit = tr if source == "train" else te
    if fit.shape[0] < 3:
        raise ValueError("Need at least 3 points to compute a covariance")
    mean, cov, _ = _moments(fit)
    std = fit.std(0, unbiased=True)
    eigvals, eigvecs = torch.linalg.eigh(cov)
    order = torch.argsort(eigvals, descending=True)  # first axis = largest variance
    eigvals, eigvecs = eigvals[order], eigvecs[:, order]
    # Fix each eigenvector's sign so that the decorrelated picture does not flip at random.
    eigvecs = eigvecs * torch.sign(eigvecs[0:1, :] + 1e-300)
    maps = {
        "original": lambda x: x,
        "zero-centred": lambda x: x - mean,
        "normalized": lambda x: (x - mean) / std,
        "decorrelated (PCA)": lambda x: (x - mean) @ eigvecs,
        "whitened": lambda x: (x - mean) @ eigvecs / torch.sqrt(eigvals + WHITEN_EPS),
    }
    stages = []
    for name in STAGE_NAMES:
        a, b = maps[name](tr), maps[name](te)
        m, c, _ = _moments(a)
        m_np, c_np = m.numpy(), c.numpy()
        stages.append(Stage(name, a.numpy(), b.numpy(), m_np, c_np, covariance_ellipse(m_np, c_np)))
    return stages


@dataclass(frozen=True)
class ImageBatchStats:
    mean_image: np.ndarray  # (H, W, 3) float in [0, 1]
    channel_mean: np.ndarray  # (3,)
    channel_std: np.ndarray  # (3,)
    components: np.ndarray  # (k, H, W, 3) principal components, each scaled to [0, 1] for display
    explained: np.ndarray  # (k,) fraction of the variance each explains
    source: str
    warning: str


def image_batch_stats(train_images, test_images=None, source: str = "train", n_components: int = 8, size: int = 32) -> ImageBatchStats:
    """Mean image, per-channel mean/std and the first principal components of a batch.

    Images are (H, W, 3) uint8 arrays (any sizes); they are resized to ``size`` × ``size``
    for the mean image and PCA (a pixel per dimension: 3·size² dimensions).
    """
    import torch
    import torch.nn.functional as F

    warning = stats_warning(source)
    images = train_images if source == "train" else test_images
    if images is None or len(images) < 2:
        raise ValueError(f"Need at least two {source} images for statistics")
    batch = torch.stack([
        F.interpolate(torch.as_tensor(np.asarray(im)).permute(2, 0, 1)[None].double() / 255.0, size=(size, size), mode="bilinear", align_corners=False, antialias=True)[0]
        for im in images
    ])  # (B, 3, s, s)
    flat_channels = torch.cat([torch.as_tensor(np.asarray(im)).reshape(-1, 3).double() / 255.0 for im in images])
    channel_mean = flat_channels.mean(0)
    channel_std = flat_channels.std(0)
    mean_image = batch.mean(0)
    centred = (batch - mean_image).reshape(len(batch), -1)
    _, s, vh = torch.linalg.svd(centred, full_matrices=False)
    k = min(n_components, vh.shape[0])
    var = s**2
    explained = (var[:k] / var.sum().clamp_min(1e-300)).numpy()
    comps = vh[:k].reshape(k, 3, size, size)
    lim = comps.abs().amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)
    comps_display = (comps / lim * 0.5 + 0.5).permute(0, 2, 3, 1).numpy()
    return ImageBatchStats(
        mean_image.permute(1, 2, 0).numpy(),
        channel_mean.numpy(),
        channel_std.numpy(),
        comps_display,
        explained,
        source,
        warning,
    )
