"""Sample images: the committed PNGs are what the generator draws; user files of every
awkward kind load or are refused with a reason."""

import numpy as np
import pytest
from PIL import Image

from core.datasets.samples import IMAGES_DIR, load_image_file, load_sample, make_sample, sample_names


@pytest.mark.parametrize("name", sample_names())
def test_committed_png_matches_the_generator(name):
    path = IMAGES_DIR / (name.replace(" ", "_") + ".png")
    committed, note = load_image_file(path)
    assert note == ""
    drawn = make_sample(name)
    assert committed.shape == drawn.shape and committed.dtype == np.uint8
    # Text rendering may differ by a pixel between Pillow versions; the picture may not.
    assert np.abs(committed.astype(int) - drawn.astype(int)).mean() < 3.0
    np.testing.assert_array_equal(load_sample(name), committed)


def test_assets_stay_small():
    assert sum(p.stat().st_size for p in IMAGES_DIR.glob("*.png")) < 200_000


def test_grayscale_rgba_and_huge_images_load_with_notes(tmp_path):
    Image.fromarray(np.full((20, 30), 128, np.uint8)).save(tmp_path / "gray.png")
    arr, note = load_image_file(tmp_path / "gray.png")
    assert arr.shape == (20, 30, 3) and "grayscale" in note

    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:8, :, 3] = 255  # top half opaque red, bottom half transparent
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    arr, note = load_image_file(tmp_path / "rgba.png")
    assert arr[0, 0].tolist() == [255, 0, 0] and arr[-1, 0].tolist() == [255, 255, 255] and "transparent" in note

    Image.new("RGB", (3000, 1500), (10, 200, 30)).save(tmp_path / "huge.webp")
    arr, note = load_image_file(tmp_path / "huge.webp", max_side=512)
    assert arr.shape == (256, 512, 3) and "scaled down from 3000×1500" in note


def test_files_that_are_not_images_are_refused_with_a_reason(tmp_path):
    (tmp_path / "notes.png").write_text("certainly not a PNG")
    with pytest.raises(ValueError, match="not an image"):
        load_image_file(tmp_path / "notes.png")
    with pytest.raises(ValueError, match="does not exist"):
        load_image_file(tmp_path / "missing.jpg")
    Image.new("RGB", (4, 4)).save(tmp_path / "tiny.bmp")
    with pytest.raises(ValueError, match="at least 8×8"):
        load_image_file(tmp_path / "tiny.bmp")
