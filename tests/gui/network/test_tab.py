"""The network builder tab, driven by real clicks; checks what the engine does."""

import json

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from lab.runner import JobState
from widgets.redraw import redraw_scheduler

WAIT = 30000  # ms; the shared test machine can be slow, real work finishes far sooner


@pytest.fixture
def tab(make_tab, qtbot):
    t = make_tab("network", size=(1400, 900))
    qtbot.waitUntil(lambda: t.snapshot is not None, timeout=WAIT)  # the untrained network is shown at once
    return t


def _center(widget_rect) -> QPoint:
    return widget_rect.center().toPoint()


def test_clicks_build_the_network_and_play_pause_train_it(qtbot, tab):
    qtbot.mouseClick(tab.view.layer_bar.plus, Qt.LeftButton)
    assert tab.spec.hidden == (4, 2, 4)
    qtbot.mouseClick(tab.view.layer_row.controls[2].plus, Qt.LeftButton)
    assert tab.spec.hidden == (4, 2, 5)
    feature_row = list(tab.view.diagram.input_names).index("x1x2")
    qtbot.mouseClick(tab.view.diagram, Qt.LeftButton, pos=_center(tab.view.diagram.node_rect(0, feature_row)))
    assert tab.spec.features == ("x1", "x2", "x1x2")
    qtbot.waitUntil(lambda: tab.snapshot is not None and len(tab.snapshot["neurons"]) == 3, timeout=WAIT)
    assert [w.shape for w in tab.snapshot["weights"]] == [(4, 3), (2, 4), (5, 2), (1, 5)]
    qtbot.mouseClick(tab.view.controls.play_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: tab.epoch >= 5, timeout=WAIT)
    qtbot.mouseClick(tab.view.controls.play_button, Qt.LeftButton)
    assert tab.runner.state == JobState.PAUSED
    qtbot.waitUntil(lambda: len(tab.view.loss_plot.names()) == 2 and len(tab.view.loss_plot.data("train loss")[0]) == tab.epoch + 1,
                    timeout=WAIT)  # paused: the curves catch up with every epoch
    x, y = tab.view.loss_plot.data("train loss")
    assert x[0] == 0 and len(x) >= 6 and np.all(np.isfinite(y))
    assert tab.frames_drawn > 0
    assert "Epoch" in tab.view.counter.text() and "iteration" in tab.view.counter.text()


def test_step_trains_exactly_one_epoch_and_records_a_gif(qtbot, tab, tmp_path):
    tab.view.model_panel.record_gif.setChecked(True)
    before = tab.epoch
    qtbot.mouseClick(tab.view.controls.step_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: tab.epoch == before + 1, timeout=WAIT)
    assert tab.snapshot["iteration"] == (before + 1) * 25  # 250 training points, batches of 10
    qtbot.mouseClick(tab.view.controls.step_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(tab.gif_frames) >= 2, timeout=WAIT)
    path = tab.save_gif(tmp_path / "boundary.gif")
    assert path.stat().st_size > 1000
    qtbot.mouseClick(tab.view.controls.reset_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: tab.snapshot is not None and tab.snapshot["epoch"] == 0, timeout=WAIT)
    assert tab.runner.state == JobState.PAUSED and tab.epoch == 0


def test_learning_rate_changes_while_running_without_reset(qtbot, tab):
    qtbot.mouseClick(tab.view.controls.play_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: tab.epoch >= 3, timeout=WAIT)
    generation = tab.runner.generation
    assert tab.view.training.lr.try_text("0.1")
    qtbot.waitUntil(lambda: abs(tab.snapshot["lr"] - 0.1) < 1e-9, timeout=WAIT)
    assert tab.runner.generation == generation and tab.epoch >= 3  # the same run, not restarted
    tab.runner.pause()


def test_too_high_learning_rate_diverges_with_a_message(qtbot, tab):
    tab.apply_experiment_state({"data": {"generator": {"dataset": "multi_gaussian", "n_points": 200}},
                                "network": {"hidden": [8, 8], "activations": ["relu", "relu"], "dropout": [0, 0],
                                            "batchnorm": [False, False]},
                                "training": {"lr": 9.0, "batch_size": 1}})
    qtbot.waitUntil(lambda: tab.snapshot is not None, timeout=WAIT)
    qtbot.mouseClick(tab.view.controls.play_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: tab.runner.state == JobState.DIVERGED, timeout=WAIT)
    assert "Diverged at epoch" in tab.banner.text()
    assert np.all(np.isfinite(tab.snapshot["output"]))  # the last good picture stays
    lines = [i for i in tab.view.loss_plot.getPlotItem().items if type(i).__name__ == "InfiniteLine"]
    assert len(lines) == 1 and tab.view.loss_plot.log_y  # where it diverged, on a loss axis that shows the rise
    qtbot.mouseClick(tab.view.controls.reset_button, Qt.LeftButton)
    assert tab.view.loss_plot.log_y is False  # the axis was logarithmic for the divergence, not by the user's choice
    assert not [i for i in tab.view.loss_plot.getPlotItem().items if type(i).__name__ == "InfiniteLine"]


def test_clicks_on_the_map_add_and_remove_points_and_csv(qtbot, tab, tmp_path):
    n = len(tab.points)
    tab.view.heatmap.click_at(1.0, 1.0, Qt.RightButton)
    assert len(tab.points) == n + 1 and tab.points.y[-1] == 0 and tab.data_settings is None
    tab.view.data_panel.erase.setChecked(True)
    tab.view.heatmap.click_at(1.0, 1.0)
    assert len(tab.points) == n
    assert "points" in tab.experiment_state()["data"]
    saved = tab.save_points_csv(tmp_path / "points.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("x1,x2,label\n1,2,0\n3,oops,1\n")
    with pytest.raises(ValueError, match="data row 2"):
        tab.load_points_csv(bad)
    assert len(tab.points) == n  # a malformed file changes nothing
    tab.load_points_csv(saved)
    assert len(tab.points) == n
    tab.set_points(tab.points.__class__(tab.points.X[:3], np.array([0, 1, 1]), np.array([True, True, False]),
                                        "classification", 2))
    x1, x2 = tab.points.X[0]
    tab.view.heatmap.click_at(float(x1), float(x2))  # erasing the only training point of class 0: refused
    assert len(tab.points) == 3 and "class 0" in tab.view.data_panel.error.text()


def test_batch_larger_than_training_set_is_refused_at_the_control(qtbot, tab):
    assert not tab.view.training.batch_size.try_text("400")
    assert "between 1 and 250" in tab.view.training.batch_size.error.text()
    assert tab.view.training.values()["batch_size"] == 10


def test_typed_weight_reaches_the_network(qtbot, tab):
    w = tab.snapshot["weights"][0][1, 0]
    assert tab.view.diagram.value_text(tab.view.diagram.edge_midpoint(0, 1, 0)) == f"Weight {w:.4g} — click to type a new value"
    qtbot.mouseClick(tab.view.diagram, Qt.LeftButton, pos=tab.view.diagram.edge_midpoint(0, 1, 0).toPoint())
    assert tab.view.diagram.editing == (0, 1, 0)
    editor = tab.view.diagram.editor
    editor.clear()
    qtbot.keyClicks(editor, "abc")
    qtbot.keyClick(editor, Qt.Key_Return)
    assert editor.isVisible() and tab.view.diagram.edit_error  # refused, box stays open
    editor.clear()
    qtbot.keyClicks(editor, "1.5")
    qtbot.keyClick(editor, Qt.Key_Return)
    qtbot.waitUntil(lambda: abs(tab.snapshot["weights"][0][1, 0] - 1.5) < 1e-6, timeout=WAIT)


def test_experiment_round_trip_and_bad_state(qtbot, tab, tmp_path):
    state = tab.experiment_state()
    state["network"]["hidden"] = [6]
    state["network"]["activations"] = ["relu"]
    state["network"]["dropout"] = [0.0]
    state["network"]["batchnorm"] = [False]
    state["training"]["optimizer"] = "adam"
    tab.apply_experiment_state(json.loads(json.dumps(state)))
    assert tab.experiment_state() == state
    with pytest.raises(ValueError):
        tab.apply_experiment_state({**state, "training": {**state["training"], "batch_size": 10_000}})
    assert tab.experiment_state() == state


def test_model_saves_and_loads_back(qtbot, tab, tmp_path):
    tab.run_to_end((tab.current_job()[0], __import__("dataclasses").replace(tab.current_job()[1], max_epochs=3, live=None)))
    weights = [w.copy() for w in tab.snapshot["weights"]]
    path = tab.save_model(tmp_path / "model.zip")
    tab.apply_experiment_state(tab.experiment_state())  # a fresh network
    tab.load_model(path)
    qtbot.waitUntil(lambda: tab.snapshot is not None, timeout=WAIT)
    for a, b in zip(tab.snapshot["weights"], weights):
        assert np.allclose(a, b)


@pytest.mark.parametrize("dataset", ["blobs", "multi_gaussian"])
def test_multiclass_and_regression_draw(qtbot, tab, dataset):
    tab.view.data_panel.dataset.setCurrentIndex(tab.view.data_panel.dataset.findData(dataset))
    qtbot.waitUntil(lambda: tab.snapshot is not None, timeout=WAIT)
    assert tab.spec.task == tab.points.task and tab.spec.n_outputs == (4 if dataset == "blobs" else 1)
    qtbot.mouseClick(tab.view.controls.step_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: tab.epoch == 1, timeout=WAIT)
    frames = tab.frames_drawn
    qtbot.mouseClick(tab.view.diagram, Qt.LeftButton, pos=_center(tab.view.diagram.node_rect(1, 0)))  # a neuron, large
    qtbot.waitUntil(lambda: tab.frames_drawn > frames, timeout=WAIT)
    assert tab.view.heatmap.rgba() is not None and tab.view.show_output.isVisibleTo(tab)


def test_a_hidden_tab_still_draws_the_pictures_its_job_waits_for(qtbot, tab):
    # The job waits for each picture to be drawn (LiveControl.expect_frame): were pictures
    # drawn only while the tab is on screen, a tab behind another would stall its job.
    tab.hide()
    frames, epoch = tab.frames_drawn, tab.epoch
    assert tab.start()
    qtbot.waitUntil(lambda: tab.frames_drawn >= frames + 5 and tab.epoch >= epoch + 10, timeout=WAIT)
    assert not tab.isVisible()
    tab.runner.pause()


def test_every_preset_opens_after_every_other_and_a_refusal_changes_nothing(qtbot, tab):
    """Overfitting (30 training points) then batch 250: the batch limit of the new data, not
    the old, decides -- and a state the form cannot show changes nothing at all."""
    from lab.experiments import find_preset, load_experiment

    small, full = (load_experiment(find_preset(f"network/{n}")).state for n in ("overfitting", "batch_size_250"))
    tab.apply_experiment_state(small)
    tab.apply_experiment_state(full)
    assert tab.view.training.values()["batch_size"] == full["training"]["batch_size"]
    tab.apply_experiment_state(small)
    before = tab.experiment_state()
    too_fast = {**full, "training": {**full["training"], "lr": 50.0}}  # the core allows 1000, the form 10
    with pytest.raises(ValueError, match="Learning rate"):
        tab.apply_experiment_state(too_fast)
    assert tab.experiment_state() == before


def test_an_edit_behind_another_tab_is_drawn_once_the_tab_is_shown(qtbot, tab):
    tab.hide()
    frames = tab.frames_drawn
    tab.view.discretize.setChecked(True)  # a hidden box takes no clicks
    assert redraw_scheduler().is_pending(tab)  # asked; drawn when shown, not before
    tab.show()
    qtbot.waitUntil(lambda: tab.frames_drawn > frames, timeout=WAIT)
    assert not redraw_scheduler().is_pending(tab)


def test_a_refused_csv_changes_nothing_and_its_message_goes_once_a_good_one_loads(qtbot, tab, tmp_path):
    before = tab.points
    bad = tmp_path / "far.csv"
    bad.write_text("1e39,0,0\n1,1,1\n2,2,0\n")  # finite in float64, inf in float32
    tab.view.load_points_requested.emit(str(bad))  # what the Load CSV… dialog sends
    error = tab.view.data_panel.error
    assert "within ±10000" in error.text() and tab.points is before
    good = tmp_path / "good.csv"
    good.write_text("".join(f"{x},{y},{int(x * y > 0)}\n" for x in (-2, -1, 1, 2) for y in (-2, -1, 1, 2)))
    tab.view.load_points_requested.emit(str(good))
    assert not error.isVisible() and len(tab.points) == 16
    assert np.isfinite(tab.points.extent()).all()
