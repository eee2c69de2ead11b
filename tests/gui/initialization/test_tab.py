"""The initialization tab by real clicks: live recompute, views, refusals, training, export."""

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt

from lab.experiments import PRESETS_DIR, load_experiment
from lab.runner import JobState

SMALL = {"depth": 6, "widths": "64", "input_dim": 64, "batch": 200, "train_steps": 0}


@pytest.fixture
def tab(make_tab):
    t = make_tab("initialization", size=(1400, 900))
    t.apply_experiment_state(SMALL)  # replaces the classic-size run the tab starts with
    return t


def settled(tab, qtbot, n_schemes=None, timeout=15000):
    """Wait for the debounced recompute to have run and finished, and for a redraw."""
    qtbot.waitUntil(lambda: not tab._recompute_timer.isActive() and not tab.runner.is_active, timeout=timeout)
    if n_schemes is not None:
        qtbot.waitUntil(lambda: len(tab.results) == n_schemes, timeout=timeout)
    qtbot.waitUntil(lambda: not tab._dirty, timeout=2000)


def type_into(qtbot, edit, text):
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key_Return)


def test_trio_side_by_side_with_formulas_and_depth_curves(tab, qtbot):
    settled(tab, qtbot, 3)
    assert list(tab.signals.columns) == ["small_normal", "large_normal", "xavier_normal"]
    small = tab.results["small_normal"]
    assert len(small["layers"]) == 6 and small["act_std"][-1] < 1e-3 * small["act_std"][0]
    assert tab.results["large_normal"]["saturated"].min() > 0.7
    xavier = tab.signals.columns["xavier_normal"]
    assert "1·√(2/(64+64)) = 0.125" in xavier.header.text()
    counts, edges = xavier.histograms.shown()
    assert counts.shape == (6, 30) and counts.sum(axis=1).tolist() == [200 * 64] * 6
    x, y = tab.signals.act_std.data("Xavier normal")
    np.testing.assert_allclose(y, tab.results["xavier_normal"]["act_std"])
    assert xavier.histograms.paint_count > 0


def test_slider_drag_recomputes_the_latest_depth_only(tab, qtbot):
    settled(tab, qtbot, 3)
    for depth in (7, 9, 12, 15):  # what a drag delivers: a burst of values
        tab.controls.depth.slider.setValue(depth - 1)
        qtbot.wait(5)
    settled(tab, qtbot)
    qtbot.waitUntil(lambda: all(len(d["layers"]) == 15 for d in tab.results.values()), timeout=10000)
    assert len(tab.signals.columns["xavier_normal"].histograms.shown()[0]) == 15


def test_layout_scale_and_gradient_toggles_redraw_without_recompute(tab, qtbot):
    settled(tab, qtbot, 3)
    generation = tab.runner.generation
    grid = tab.signals.columns["small_normal"].histograms
    shared_edges = grid.shown()[1]
    assert np.all(shared_edges == shared_edges[0])
    tab.controls.hist_scale.setCurrentIndex(1)  # per layer
    tab.controls.hist_mode.setCurrentIndex(1)  # ridgeline
    qtbot.waitUntil(lambda: not grid.shared and grid.mode == "ridgeline", timeout=2000)
    own = grid.shown()[1]
    assert own[-1][-1] < 0.01 * own[0][-1]  # the last layer's own range is tiny
    tab.controls.show_what.setCurrentIndex(1)  # gradients
    qtbot.waitUntil(lambda: grid.data is not None and grid.data.counts is tab.results["small_normal"]["grad_hist"], timeout=2000)
    assert tab.signals.act_mean.title == "Gradient mean"
    np.testing.assert_allclose(tab.signals.act_mean.data("Small Gaussian")[1], tab.results["small_normal"]["grad_mean"])
    assert tab.runner.generation == generation


def test_bad_width_is_refused_at_the_control_and_the_last_result_stays(tab, qtbot):
    settled(tab, qtbot, 3)
    before = tab.results["xavier_normal"]
    type_into(qtbot, tab.controls.width_edit, "64, 32")
    assert "2 widths given for a depth of 6" in tab.controls.width_error.text()
    assert tab.controls.width_error.isVisible()
    qtbot.waitUntil(lambda: "widths given" in tab.banner.text(), timeout=3000)
    assert tab.results["xavier_normal"] is before
    type_into(qtbot, tab.controls.width_edit, "64, 32, 32, 16, 16, 8")
    settled(tab, qtbot)
    qtbot.waitUntil(lambda: tab.results["xavier_normal"] is not before, timeout=5000)
    assert not tab.controls.width_error.isVisible()
    assert "(64+32)" in tab.results["xavier_normal"]["formula_last"] or "16+8" in tab.results["xavier_normal"]["formula_last"]


def test_too_large_a_network_is_refused_with_its_size(tab, qtbot):
    settled(tab, qtbot, 3)
    state = {**tab.experiment_state(), "depth": 50, "widths": "8192", "batch": 5000}
    tab.apply_experiment_state(state)
    qtbot.waitUntil(lambda: "GiB" in tab.banner.text(), timeout=5000)
    assert "lower the depth, the width or the batch size" in tab.banner.text()


def test_overflow_is_shown_as_overflow(tab, qtbot):
    settled(tab, qtbot, 3)
    tab.apply_experiment_state({"depth": 50, "widths": "100", "activation": "relu", "schemes": ["large_normal"]})
    settled(tab, qtbot, 1)
    col = tab.signals.columns["large_normal"]
    assert "overflow to Inf from layer" in col.header.text()
    assert any(n.startswith("overflow") for n in col.histograms.data.notes)
    assert "overflow" in tab.banner.text()
    tab.controls.show_what.setCurrentIndex(1)  # gradients: Inf/NaN below the overflow, drawn as overflow
    qtbot.waitUntil(lambda: col.histograms.data.notes[0].startswith("overflow"), timeout=2000)
    qtbot.waitUntil(lambda: tab.signals.act_mean.title == "Gradient mean" and not tab._dirty, timeout=2000)
    assert np.isfinite(col.histograms.data.counts).all()


def test_play_trains_each_scheme_and_zero_init_stays_symmetric(tab, qtbot):
    preset = load_experiment(PRESETS_DIR / "initialization" / "zero_init_symmetry.json")
    tab.apply_experiment_state({**preset.state, "train_steps": 25})
    settled(tab, qtbot, 3)
    qtbot.mouseClick(tab.play.play_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: tab.runner.state == JobState.FINISHED, timeout=30000)
    assert sorted(tab.training.loss.names()) == ["Constant", "Xavier normal", "Zeros"]
    steps, _ = tab.training.loss.data("Xavier normal")
    assert steps[-1] == 25
    assert "Zeros</b>: all neurons of every hidden layer are still identical" in tab.training.symmetry.text()
    assert "Xavier normal</b>: the neurons of every layer differ" in tab.training.symmetry.text()
    # Zeros came first but has no ratio (‖W‖ = 0 at the start): the plot shows a scheme that has.
    assert tab.training.ratio_scheme.currentData() != "zeros"
    tab.training.ratio_scheme.setCurrentIndex(tab.training.ratio_scheme.findData("xavier_normal"))
    assert sorted(tab.training.ratio.names()) == ["layer 1", "layer 2", "layer 3", "output layer"]


def test_scheme_parameter_and_formula_follow_the_controls(tab, qtbot):
    settled(tab, qtbot, 3)
    row = list(tab.controls.scheme_values).index("small_normal")
    tab.controls.scheme_list.setCurrentRow(row)
    sigma = tab.controls.param_fields["std"]
    qtbot.waitUntil(sigma.isVisible, timeout=2000)
    assert not sigma.try_text("-1")
    assert sigma.error.isVisible()
    assert sigma.try_text("0.05")
    assert "σ = 0.05" in tab.controls.formula_label.text()
    settled(tab, qtbot)
    qtbot.waitUntil(lambda: tab.results["small_normal"]["weight_std"][0] == pytest.approx(0.05, rel=0.05), timeout=5000)


def test_experiment_state_round_trips_and_bad_state_changes_nothing(tab, qtbot):
    settled(tab, qtbot, 3)
    state = tab.experiment_state()
    json.dumps(state)
    changed = {**state, "activation": "relu", "norm": "layer", "schemes": ["kaiming_uniform"], "layout": "ridgeline"}
    tab.apply_experiment_state(changed)
    assert tab.experiment_state() == changed
    for bad in ({"depth": 0}, {"activation": "nope"}, {"schemes": ["nope"]}, {"widths": "1,2"}, {"lr": "fast"}):
        with pytest.raises(ValueError):
            tab.apply_experiment_state({**changed, **bad})
        assert tab.experiment_state() == changed


def test_presets_load_and_the_trio_renders(tab, qtbot, tmp_path):
    presets = sorted((PRESETS_DIR / "initialization").glob("*.json"))
    assert {p.stem for p in presets} >= {"tanh_trio", "relu_xavier_vs_kaiming", "zero_init_symmetry", "batchnorm_rescue"}
    for p in presets:
        exp = load_experiment(p)
        assert exp.tab == "initialization"
        tab.apply_experiment_state(exp.state)
        assert tab.experiment_state() == exp.state
    trio = load_experiment(PRESETS_DIR / "initialization" / "tanh_trio.json")
    tab.apply_experiment_state({**trio.state, "widths": "100", "input_dim": 100, "batch": 300})
    written = tab.render_to(tmp_path, scale=1.0)
    names = {p.name for p in written}
    assert {"comparison_sheet.png", "histograms_xavier_normal.svg", "histograms_xavier_normal.csv", "activation_std_by_layer.csv"} <= names
    rows = (tmp_path / "histograms_xavier_normal.csv").read_text().splitlines()
    assert rows[0] == "layer,bin_low,bin_high,count" and len(rows) == 1 + 10 * 30


def test_comparison_sheet_and_histogram_files(tab, qtbot, tmp_path):
    from PySide6.QtGui import QImage

    settled(tab, qtbot, 3)
    sheet = tab.save_comparison_sheet(tmp_path / "sheet.png", scale=1.0)
    image = QImage(str(sheet))
    assert image.width() == tab.signals.width() and image.height() == tab.signals.height()
    grid = tab.signals.columns["large_normal"].histograms
    svg = grid.export_file(tmp_path / "h.svg")
    assert svg.read_text().count("<path") >= 6  # one filled outline per layer at least
    rows = grid.export_file(tmp_path / "h.csv").read_text().splitlines()
    assert len(rows) == 1 + 6 * 30
    with pytest.raises(ValueError, match="use .png, .svg or .csv"):
        grid.export_file(tmp_path / "h.jpg")
