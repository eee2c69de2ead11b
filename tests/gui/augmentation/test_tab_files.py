"""The augmentation tab with files: drag-and-drop of good and bad images, pipeline
JSON save/load, presets (MixUp/CutMix soft labels), preprocessing, headless render."""

import json

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from lab.experiments import PRESETS_DIR, load_experiment
from lab.runner import JobState
from tests.gui.augmentation.test_tab import open_tab, settled


@pytest.fixture
def tab(make_tab, qtbot):
    return open_tab(make_tab, qtbot, 4)


def drop(tab, path):
    """What the window system delivers when a file is dragged from a file manager and let go."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    pos = QPoint(tab.width() // 2, tab.height() // 2)
    try:  # Qt 6.12 deprecates the QPoint constructor that is the only one 6.11 has
        enter = QDragEnterEvent(QPointF(pos), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    except TypeError:
        enter = QDragEnterEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(tab, enter)
    assert enter.isAccepted()
    event = QDropEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(tab, event)


def test_dropped_images_of_every_kind_and_bad_files(tab, qtbot, tmp_path):
    gray = tmp_path / "gray.png"
    Image.fromarray((np.arange(64 * 80) % 251).reshape(64, 80).astype(np.uint8)).save(gray)
    drop(tab, gray)
    assert tab.image.shape == (64, 80, 3) and "grayscale" in tab.controls.image_note.text()
    settled(tab, qtbot)
    assert tab.runner.state == JobState.FINISHED and tab.grid_view.filled() == 4
    good = tab.grid_view.image_for(0).copy()

    rgba = tmp_path / "logo.webp"
    Image.new("RGBA", (40, 30), (255, 0, 0, 128)).save(rgba)
    huge = tmp_path / "huge.jpg"
    Image.new("RGB", (4000, 3000), (30, 90, 200)).save(huge, quality=50)
    drop(tab, huge)
    assert tab.image.shape == (768, 1024, 3) and "scaled down from 4000×3000" in tab.controls.image_note.text()
    drop(tab, rgba)
    assert "transparent" in tab.controls.image_note.text()
    settled(tab, qtbot)

    not_image = tmp_path / "essay.png"
    not_image.write_text("this is text, not pixels")
    before = tab.image.copy()
    drop(tab, not_image)
    assert "not an image" in tab.banner.text()
    np.testing.assert_array_equal(tab.image, before)
    assert tab.grid_view.filled() == 4 and tab.experiment_state()["image"] == str(rgba)
    assert good is not None


def test_pipeline_json_save_and_load_and_a_bad_file(tab, qtbot, tmp_path):
    tab.controls.editor.add_transform("GaussianNoise")
    settled(tab, qtbot)
    path = tab.save_pipeline(tmp_path / "pipe.json")
    saved = json.loads(path.read_text())
    assert [t["type"] for t in saved["transforms"]][-1] == "GaussianNoise"
    tab.controls.editor.set_entries([])
    assert tab.load_pipeline(path)
    assert tab.experiment_state()["pipeline"] == saved
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"transforms": [{"type": "RandomRotation", "params": {"degrees": -5}}]}))
    assert not tab.load_pipeline(bad)
    assert "Rotation" in tab.banner.text() and tab.experiment_state()["pipeline"] == saved


@pytest.mark.parametrize("preset, kind", [("cutmix", "cutmix"), ("mixup", "mixup")])
def test_mixing_presets_show_soft_labels_that_sum_to_one(tab, qtbot, preset, kind):
    exp = load_experiment(PRESETS_DIR / "augmentation" / f"{preset}.json")
    tab.apply_experiment_state(exp.state)
    assert tab.views.currentWidget() is tab.mix_page
    settled(tab, qtbot)
    grid = tab.mix_page.grid
    assert grid.count() == 5
    for i in range(grid.count()):
        shares = [float(x.split()[-1]) for x in grid.tooltip_for(i).split(": ")[1].split("  (")[0].split(", ")]
        assert sum(shares) == pytest.approx(1.0, abs=2e-3)
    word = "MixUp" if kind == "mixup" else "CutMix"
    assert tab.mix_page.explain.text().startswith(word)


def test_preprocessing_view_warns_when_statistics_come_from_the_test_set(tab, qtbot):
    page = tab.preprocess_page
    tab.views.setCurrentWidget(page)
    # 4 draws: 2 for training, 2 for test; two training images have two components.
    qtbot.waitUntil(lambda: page.image_grid.count() == 3)
    assert page.image_grid.caption_for(0) == "mean image" and page.image_grid.caption_for(1).startswith("PC 1")
    assert not page.warning.isVisible()
    qtbot.mouseClick(page.test_button, Qt.LeftButton)
    assert page.warning.isVisible() and "leakage" in page.warning.text()
    assert tab.experiment_state()["stats_source"] == "test"
    assert page.stage_notes[-1].text() != ""  # whitened covariance shown
    for plot in page.stage_plots:  # every 2σ ellipse is drawn whole (not clipped away as if sorted in x)
        (curve,) = [c for c in plot.getPlotItem().listDataItems() if c.name() == "2σ ellipse"]
        assert len(curve.getData()[0]) == 100


def test_render_writes_grid_code_and_json(tab, tmp_path):
    exp = load_experiment(PRESETS_DIR / "augmentation" / "digits_label_breaking.json")
    tab.apply_experiment_state(exp.state)
    written = tab.render_to(tmp_path, scale=1.0)
    names = {p.name for p in written}
    assert {"grid.png", "pipeline.py", "pipeline.json", "augmentation_tab.png"} <= names
    assert "v2.RandomVerticalFlip(p=0.5)" in (tmp_path / "pipeline.py").read_text()
    assert tab.grid_view.filled() == 16


def test_a_dropped_folder_becomes_the_labelled_batch(tab, qtbot, tmp_path):
    folder = tmp_path / "pets"
    folder.mkdir()
    for name, colour in (("cat", (200, 120, 40)), ("dog", (90, 60, 30)), ("fish", (20, 120, 220))):
        Image.new("RGB", (48, 40), colour).save(folder / f"{name}.png")
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    drop(tab, folder)
    assert "batch of 3 images from pets (1 unreadable files skipped)" in tab.controls.image_note.text()
    images, labels = tab.mix_batch_images()
    assert labels == ("cat", "dog", "fish") and len(images) == 3
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    Image.new("RGB", (20, 20)).save(lonely / "one.png")
    drop(tab, lonely)
    assert "fewer than two readable images" in tab.banner.text()
    assert tab.mix_batch_images()[1] == ("cat", "dog", "fish")


def test_the_image_lab_shapes_data_set_as_batch(tab, qtbot):
    qtbot.mouseClick(tab.controls.dataset_button, Qt.LeftButton)
    images, labels = tab.mix_batch_images()
    assert labels[:3] == ("disk", "ring", "square") and images[0].shape == (64, 64, 3)
    state = tab.experiment_state()
    assert state["image"] == "dataset:shapes"
    tab.controls.sample_combo.setCurrentText("shapes")
    tab.apply_experiment_state(state)
    assert tab.experiment_state() == state and tab.mix_batch_images()[1] == labels
    settled(tab, qtbot)
    assert tab.grid_view.filled() == 4
