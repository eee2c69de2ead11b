"""Preprocessing stages: zero mean, unit variance, diagonal and identity covariance."""

import numpy as np
import pytest

from core.augmentation.preprocess import (
    STAGE_NAMES,
    TEST_STATS_WARNING,
    covariance_ellipse,
    image_batch_stats,
    preprocess_stages,
    stats_warning,
    toy_data,
)
from core.datasets.samples import load_sample


@pytest.fixture(scope="module")
def stages():
    train, test = toy_data(seed=3)
    return {s.name: s for s in preprocess_stages(train, test)}


def test_the_five_stages_in_order(stages):
    assert tuple(stages) == STAGE_NAMES


def test_each_stage_does_what_its_name_says(stages):
    original = stages["original"]
    np.testing.assert_allclose(original.cov, np.cov(original.train.T), rtol=1e-10)
    for name in STAGE_NAMES[1:]:
        np.testing.assert_allclose(stages[name].mean, 0.0, atol=1e-12)
    np.testing.assert_allclose(np.diag(stages["normalized"].cov), 1.0, rtol=1e-10)
    assert abs(stages["normalized"].cov[0, 1]) > 0.5  # normalizing does not decorrelate
    pca = stages["decorrelated (PCA)"].cov
    assert abs(pca[0, 1]) < 1e-10 and pca[0, 0] > pca[1, 1]
    np.testing.assert_allclose(np.linalg.eigvalsh(pca), np.linalg.eigvalsh(original.cov), rtol=1e-10)
    np.testing.assert_allclose(stages["whitened"].cov, np.eye(2), atol=1e-8)


def test_test_points_use_the_training_statistics(stages):
    train, test = toy_data(seed=3)
    mean, std = train.mean(0), train.std(0, ddof=1)
    np.testing.assert_allclose(stages["normalized"].test, (test - mean) / std, rtol=1e-10)
    assert np.abs(np.cov(stages["whitened"].test.T) - np.eye(2)).max() > 1e-3  # not fitted on test


def test_statistics_from_the_test_set_whiten_the_test_set_and_warn():
    train, test = toy_data(seed=3)
    whitened = preprocess_stages(train, test, source="test")[-1]
    np.testing.assert_allclose(np.cov(whitened.test.T), np.eye(2), atol=1e-8)
    assert stats_warning("test") == TEST_STATS_WARNING and stats_warning("train") == ""
    with pytest.raises(ValueError):
        stats_warning("validation")


def test_covariance_ellipse_is_at_two_sigma():
    mean, cov = np.array([1.0, -2.0]), np.array([[3.0, 1.0], [1.0, 2.0]])
    pts = covariance_ellipse(mean, cov, n_std=2.0)
    d = pts - mean
    maha = np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov), d)
    np.testing.assert_allclose(maha, 4.0, rtol=1e-10)


def test_image_batch_statistics():
    images = [load_sample(n) for n in ("scene", "shapes", "text", "digit 6")]
    stats = image_batch_stats(images[:3], images[3:], n_components=4, size=16)
    pixels = np.concatenate([im.reshape(-1, 3) for im in images[:3]]) / 255.0
    np.testing.assert_allclose(stats.channel_mean, pixels.mean(0), rtol=1e-10)
    np.testing.assert_allclose(stats.channel_std, pixels.std(0, ddof=1), rtol=1e-10)
    assert stats.mean_image.shape == (16, 16, 3)
    assert stats.components.shape[0] == 3  # three images have at most three components
    assert stats.components.min() >= 0 and stats.components.max() <= 1
    assert np.all(np.diff(stats.explained) <= 1e-12) and stats.explained.sum() == pytest.approx(1.0)
    assert stats.warning == ""
    with pytest.raises(ValueError, match="at least two test images"):
        image_batch_stats(images[:3], images[3:], source="test")
