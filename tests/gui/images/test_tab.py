"""The image-networks tab by real clicks: build a stack, train, look inside, save and reload."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QPoint, Qt

from core.datasets.images import DownloadConfig, download_job
from lab.runner import JobState

pytestmark = pytest.mark.usefixtures("_one_thread")


@pytest.fixture
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # a shared 2-core machine: two threads make tiny nets crawl
    yield
    torch.set_num_threads(n)


@pytest.fixture
def tab(make_tab):
    t = make_tab("images")
    # A small, quick problem: 20 shapes per class at 16×16, two epochs.
    t.data_panel.n_per_class.setValue(20)
    t.data_panel.size.setValue(16)
    t.epochs.set_value(2)
    return t


def _train(tab, qtbot):
    qtbot.mouseClick(tab.controls.play_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: tab.runner.state in (JobState.FINISHED, JobState.FAILED, JobState.DIVERGED), timeout=60000)
    assert tab.runner.state == JobState.FINISHED, tab.banner.text()


def _click_at_center(qtbot, widget, rect):
    qtbot.mouseClick(widget, Qt.LeftButton, pos=QPoint(int(rect.center().x()), int(rect.center().y())))


def test_stack_rows_show_shapes_and_counts(tab, qtbot):
    tree = tab.stack.tree
    first = tree.topLevelItem(0)
    assert first.text(1).startswith("Conv2d 8") and first.text(2) == "8×14×14" and first.text(3) == "80"
    out = tree.topLevelItem(tree.topLevelItemCount() - 1)
    assert out.text(1).startswith("Output") and out.text(2) == "8"
    assert "4,456" not in tab.stack.totals.text()  # 16×16 input: different total than at 28×28
    tab.data_panel.size.setValue(28)
    assert "4,456 parameters" in tab.stack.totals.text()


def test_impossible_stack_is_marked_and_play_refused(tab, qtbot):
    tab.stack.select_row(0)
    editor = tab.stack.field_editor("kernel")
    editor.setValue(11)  # then the second conv gets a 3×3 input
    editor.setValue(9)
    tab.stack.select_row(3)
    tab.stack.field_editor("kernel").setValue(5)
    assert "larger than its" in tab.stack.error.text()
    bad_row = tab.stack.tree.topLevelItem(3)
    assert bad_row.text(2).startswith("✗")
    qtbot.mouseClick(tab.controls.play_button, Qt.LeftButton)
    assert not tab.runner.is_active
    assert "cannot be built" in tab.banner.text() and "Layer 4" in tab.banner.text()


def test_add_move_remove_layers(tab, qtbot):
    n = len(tab.stack.layers())
    tab.stack.select_row(n - 1)  # Flatten
    linear = next(a for a in tab.stack.add_button.menu().actions() if a.text() == "Linear")
    linear.trigger()
    assert tab.stack.layers()[-1]["type"] == "linear" and not tab.stack.error.text()
    qtbot.mouseClick(tab.stack.up_button, Qt.LeftButton)  # Linear before Flatten: impossible
    assert tab.stack.layers()[-2]["type"] == "linear"
    assert "add Flatten" in tab.stack.error.text()
    qtbot.mouseClick(tab.stack.remove_button, Qt.LeftButton)
    assert len(tab.stack.layers()) == n and not tab.stack.error.text()


def test_train_look_inside_save_load_predict(tab, qtbot, tmp_path):
    _train(tab, qtbot)
    res = tab.results
    conf = res.confusion.matrix()
    assert conf.shape == (8, 8) and conf.sum() == 32  # 160 images, 20 % for validation
    assert "images/s" in res.stats.text()
    assert len(res.loss_plot.data("train loss")[0]) == 2 * (128 // 64)
    # Confusion cell → prediction grid filtered to those images.
    res.setCurrentIndex(1)
    r, c = np.unravel_index(np.argmax(conf), conf.shape)
    _click_at_center(qtbot, res.confusion, res.confusion.cell_rect(int(r), int(c)))
    assert res.currentIndex() == 2 and res.show_all.isVisible()
    shown = res.grid.visible_indices()
    assert all(res.grid_labels[i] == r and res.grid_pred[i] == c for i in shown)
    qtbot.mouseClick(res.show_all, Qt.LeftButton)
    qtbot.mouseClick(res.only_mistakes, Qt.LeftButton)
    assert all(res.grid_pred[i] != res.grid_labels[i] for i in res.grid.visible_indices())
    qtbot.mouseClick(res.only_mistakes, Qt.LeftButton)
    # Click an image: the Inside page shows its feature maps and probabilities.
    qtbot.wait(50)
    _click_at_center(qtbot, res.grid, res.grid.cell_rect(3))
    assert res.selected == 3
    res.setCurrentIndex(3)
    res.redraw()
    names, probs = res.probs.values()
    assert names == res.classes and probs.sum() == pytest.approx(1, abs=1e-5)
    assert res.maps.count() == 8 and res.map_layer.count() == 6
    assert res.filters.count() == 8
    # Save, load back, predict an image file: same answer as the trained model.
    panel = tab.model_panel
    assert panel.save_button.isEnabled()
    panel.save(tmp_path / "model.zip")
    Image.fromarray((res.grid_images[5, 0] * 255).astype(np.uint8)).save(tmp_path / "shape.png")
    trained_answer = panel.predict(tmp_path / "shape.png")
    panel.load(tmp_path / "model.zip")
    assert panel.predict(tmp_path / "shape.png") == pytest.approx(trained_answer)
    assert "Loaded model.zip: 8 classes" in panel.status.text() or "shape.png" in panel.status.text()


def test_loading_a_foreign_file_keeps_the_previous_model(tab, tmp_path):
    (tmp_path / "x.zip").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="neither a model folder nor a zip"):
        tab.model_panel.load(tmp_path / "x.zip")
    assert tab.model_panel.loaded is None


def test_an_archive_with_class_names_that_are_not_names_is_refused_and_nothing_is_loaded(tab, tmp_path):
    from core.images.models import preset_layers
    from core.images.training import SPEC_KIND, model_from_spec
    from core.model_io import save_model_archive
    from tests.core.test_model_archive_fuzz import rewrite_spec

    spec = {"kind": SPEC_KIND, "layers": preset_layers("small_cnn"), "input_shape": [1, 16, 16], "classes": ["a", "b"],
            "mean": [0.5], "std": [0.25]}
    good = save_model_archive(tmp_path / "good.zip", model_from_spec(spec), spec, {}, torchscript=False)
    path = tmp_path / "m.zip"
    path.write_bytes(rewrite_spec(good.read_bytes(), lambda s: s.update(classes=[1, 2])))
    with pytest.raises(ValueError, match="class names"):
        tab.model_panel.load(path)
    assert tab.model_panel.loaded is None and not tab.model_panel.predict_button.isEnabled()


def test_onnx_button_says_what_to_install(tab):
    from lab.tabs.images.export import ONNX_HINT, onnx_available

    if onnx_available():
        assert tab.model_panel.onnx_button.text() == "Export ONNX…"
    else:
        assert "onnx" in tab.model_panel.onnx_button.text() and tab.model_panel.onnx_button.toolTip() == ONNX_HINT


def test_image_folder_with_a_corrupt_file(tab, qtbot, tmp_path):
    rng = np.random.default_rng(0)
    for k, name in enumerate(("dark", "bright")):
        (tmp_path / "set" / name).mkdir(parents=True)
        for i in range(12):
            Image.fromarray(rng.integers(0, 100, (10, 10), np.uint8) + 120 * k).save(tmp_path / "set" / name / f"{i}.png")
    (tmp_path / "set" / "dark" / "bad.png").write_bytes(b"broken")
    tab.data_panel.set_folder(str(tmp_path / "set"))
    tab.data_panel.size.setValue(16)
    assert tab.stack.tree.topLevelItem(tab.stack.tree.topLevelItemCount() - 1).text(2) == "2"
    _train(tab, qtbot)
    assert "1 unreadable file(s) skipped" in tab.run_note.text()
    assert tab.results.classes == ["bright", "dark"]


def test_failed_download_offers_the_builtin_set(tab, qtbot, tmp_path):
    panel = tab.data_panel
    panel.data_dir = str(tmp_path)
    panel.source.setCurrentIndex(panel.source.findData("mnist"))
    assert "Not downloaded yet" in panel.download_status.text() and panel.download_button.isEnabled()
    qtbot.mouseClick(tab.controls.play_button, Qt.LeftButton)
    assert not tab.runner.is_active and "not downloaded yet" in tab.banner.text()
    missing = ("sub", "f.gz", "0" * 32, ((tmp_path / "nowhere.gz").as_uri(),))
    panel.runner.start(download_job, DownloadConfig("mnist", str(tmp_path), resources=(missing,)))
    qtbot.waitUntil(lambda: panel.runner.state == JobState.FAILED, timeout=10000)
    assert "built-in" in tab.banner.text()
    qtbot.mouseClick(tab.banner.action_button, Qt.LeftButton)
    assert panel.source.currentData() == "builtin"


def test_experiment_state_round_trip_and_refusal(tab, make_tab):
    tab.training.set_values({"optimizer": "sgd", "lr": 0.05})
    tab.stack.set_layers([{"type": "flatten"}, {"type": "linear", "units": 32}])
    state = tab.experiment_state()
    assert json.loads(json.dumps(state)) == state
    other = make_tab("images", show=False)
    other.apply_experiment_state(state)
    assert other.experiment_state() == state
    before = other.experiment_state()
    for bad in ({"layers": [{"type": "conv", "kernel": 99}]}, {"epochs": 0}, {"data": {"source": "imagenet"}}, {"training": {"lr": -1}}):
        with pytest.raises(ValueError):
            other.apply_experiment_state({**state, **bad})
        assert other.experiment_state() == before


def test_download_progress_and_success(tab, qtbot, tmp_path):
    import hashlib

    payload = b"x" * 200_000
    (tmp_path / "file.gz").write_bytes(payload)
    resource = ("sub", "file.gz", hashlib.md5(payload).hexdigest(), ((tmp_path / "file.gz").as_uri(),))
    panel = tab.data_panel
    panel.data_dir = str(tmp_path / "data")
    with qtbot.waitSignal(panel.downloaded, timeout=10000):
        panel.runner.start(download_job, DownloadConfig("mnist", panel.data_dir, resources=(resource,)))
    assert panel.progress.value() == panel.progress.maximum()
    assert "downloaded and ready" in tab.banner.text()
