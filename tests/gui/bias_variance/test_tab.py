"""The bias–variance lab driven through its real widgets."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from lab.experiments import list_presets
from lab.runner import JobState

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def tab(make_tab):
    return make_tab("bias_variance", size=(1400, 900))


def type_into(qtbot, field, text):
    field.edit.clear()
    qtbot.keyClicks(field.edit, text)
    qtbot.keyClick(field.edit, Qt.Key_Return)


def click_page(qtbot, tab, key):
    bar = tab.page_tabs.tabBar()
    index = tab.page_tabs.indexOf(tab.page(key))
    qtbot.mouseClick(bar, Qt.LeftButton, pos=bar.tabRect(index).center())
    assert tab.page() is tab.page(key)


def finished(qtbot, tab, timeout=20000):
    qtbot.waitUntil(lambda: tab.runner.state == JobState.FINISHED, timeout=timeout)


def test_changing_the_degree_refits_all_curves(tab, qtbot):
    type_into(qtbot, tab.settings.numbers["m"], "80")
    type_into(qtbot, tab.settings.numbers["degree"], "1")
    page = tab.fits_page
    qtbot.waitUntil(lambda: page.data is not None and page.data["complexity"] == 1, timeout=10000)
    line = dict(page.data["scores"])
    assert page.data["curves"].shape == (60, 200)
    type_into(qtbot, tab.settings.numbers["degree"], "6")
    qtbot.waitUntil(lambda: page.data is not None and page.data["complexity"] == 6, timeout=10000)
    wiggly = page.data["scores"]
    assert wiggly["variance"] > 3 * line["variance"] and wiggly["bias2"] < line["bias2"]
    assert "degree = 6" in page.summary.text()
    assert "fits (60 shown)" in page.fit_plot.names()
    x, y = page.fit_plot.data("mean fit")
    np.testing.assert_allclose(y, page.data["mean"])
    type_into(qtbot, tab.settings.numbers["degree"], "15")
    qtbot.waitUntil(lambda: page.data is not None and page.data["complexity"] == 15, timeout=10000)
    _, fits = page.fit_plot.data("fits (60 shown)")
    assert np.nanmax(np.abs(fits)) > 20  # some curves shoot off near the ends …
    qtbot.waitUntil(lambda: page.fit_plot.redraw_count > 0)
    y_lo, y_hi = page.fit_plot.getPlotItem().vb.viewRange()[1]
    assert -4 < y_lo < -1 and 1 < y_hi < 4  # … but the view stays framed on the truth and the data


def test_running_the_sweep_draws_the_u_curve(tab, qtbot):
    type_into(qtbot, tab.settings.numbers["m"], "100")
    click_page(qtbot, tab, "complexity")
    qtbot.mouseClick(tab.controls.play_button, Qt.LeftButton)
    finished(qtbot, tab)
    page = tab.page("complexity")
    for name in ("bias²", "variance", "noise σ²", "bias² + variance + σ²", "test error (measured)", "training error"):
        assert name in page.plot.names()
    degrees, test = page.plot.data("test error (measured)")
    assert degrees.tolist() == list(range(16))
    _, total = page.plot.data("bias² + variance + σ²")
    np.testing.assert_allclose(test, total, rtol=0.2)  # the decomposition, within Monte-Carlo error
    qtbot.waitUntil(lambda: page.best_line.isVisible())
    assert page.best_line.value() == degrees[np.argmin(test)]
    assert page.gap is not None and all(label.isVisible() for label in page.labels)
    assert tab.progress.value() == 1000


def test_boosting_steps_round_by_round(tab, qtbot):
    type_into(qtbot, tab.settings.numbers["m"], "30")
    click_page(qtbot, tab, "boosting")
    qtbot.mouseClick(tab.controls.step_button, Qt.LeftButton)
    page = tab.page("boosting")
    qtbot.waitUntil(lambda: page.snapshot is not None and page.snapshot["round"] == 1, timeout=10000)
    qtbot.mouseClick(tab.controls.step_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: page.snapshot["round"] == 2, timeout=10000)
    assert tab.runner.state == JobState.PAUSED
    rounds, _ = page.curve_plot.data("bias²")
    assert rounds.tolist() == [0, 1, 2]


def test_cross_validation_shows_folds_and_both_choices(tab, qtbot):
    type_into(qtbot, tab.settings.numbers["m"], "60")
    type_into(qtbot, tab.settings.numbers["folds"], "3")
    click_page(qtbot, tab, "cv")
    qtbot.mouseClick(tab.controls.play_button, Qt.LeftButton)
    finished(qtbot, tab)
    page = tab.page("cv")
    assert sorted(np.bincount(page.strip.fold_of).tolist()) == [10, 10, 10]
    assert "CV picks polynomial degree" in page.summary.text()
    qtbot.waitUntil(page.lines["cv"].isVisible)  # drawn by the page's frame timer


def test_bad_settings_are_refused_with_a_message(tab, qtbot):
    click_page(qtbot, tab, "complexity")
    type_into(qtbot, tab.settings.numbers["x_min"], "2")  # above "x to" = 1
    qtbot.mouseClick(tab.controls.play_button, Qt.LeftButton)
    assert "x max above x min" in tab.banner.text() and tab.runner.state == JobState.IDLE
    type_into(qtbot, tab.settings.numbers["x_min"], "0")
    tab.settings.family.setCurrentIndex(tab.settings.family.findData("knn"))
    for name, value in (("n", "500"), ("m", "5000")):
        type_into(qtbot, tab.settings.numbers[name], value)
    qtbot.mouseClick(tab.controls.play_button, Qt.LeftButton)
    assert "GiB" in tab.banner.text() and "M = 5000" in tab.banner.text()
    type_into(qtbot, tab.settings.numbers["k"], "abc")
    assert tab.settings.numbers["k"].error.isVisible() and tab.settings.numbers["k"].value() == 5


def test_a_bad_formula_is_refused_at_the_box(tab, qtbot):
    tab.settings.truth.setCurrentIndex(tab.settings.truth.findData("formula"))
    box = tab.settings.formula
    box.clear()
    qtbot.keyClicks(box, "1/(x-0.5)")
    qtbot.keyClick(box, Qt.Key_Return)
    assert "not finite" in tab.settings.formula_error.text()
    assert tab.settings.config("fits", "cpu").formula == "sin(3*x)"  # the last good formula
    box.clear()
    qtbot.keyClicks(box, "x**2")
    qtbot.keyClick(box, Qt.Key_Return)
    assert not tab.settings.formula_error.isVisible()
    assert tab.settings.config("fits", "cpu").formula == "x**2"


def test_presets_round_trip_and_a_bad_state_changes_nothing(tab):
    presets = {p.path.stem: p for p in list_presets("bias_variance")}
    assert {"degree_01_underfit", "degree_04_good_fit", "degree_15_overfit", "bagging_deep_tree", "boosting_stumps_step", "ridge_lambda_sweep"} <= set(presets)
    tab.apply_experiment_state(presets["ridge_lambda_sweep"].state)
    assert tab.page().key == "complexity" and tab.settings.sweep_ridge.isChecked()
    before = tab.experiment_state()
    with pytest.raises(ValueError, match="degree"):
        tab.apply_experiment_state({"page": "fits", "settings": {"family": "tree", "degree": 99}})
    assert tab.experiment_state() == before
    tab.apply_experiment_state(presets["degree_15_overfit"].state)
    assert tab.settings.numbers["degree"].value() == 15 and not tab.settings.ridge_on.isChecked()


def test_ridge_sweep_preset_renders(tab, tmp_path):
    exp = {p.path.stem: p for p in list_presets("bias_variance")}["ridge_lambda_sweep"]
    tab.apply_experiment_state({**exp.state, "settings": {**exp.state["settings"], "m": 60}})
    written = tab.render_to(tmp_path, scale=1)
    names = {p.name for p in written}
    assert {"bias_variance_complexity.png", "bias_variance_complexity.csv", "bias_variance_tab.png"} <= names
    header = (tmp_path / "bias_variance_complexity.csv").read_text().splitlines()[0]
    assert header.startswith("log₁₀ ridge λ") and "test error (measured)" in header
    page = tab.page("complexity")
    assert page.plot.getPlotItem().vb.state["xInverted"]  # strong penalty (simple) on the left


def test_classification_on_a_2d_data_set(tab, qtbot):
    s = tab.settings
    type_into(qtbot, s.numbers["m"], "30")
    type_into(qtbot, s.numbers["n"], "60")
    s.family.setCurrentIndex(s.family.findData("tree"))
    s.task.setCurrentIndex(s.task.findData("classification"))
    assert s.dataset.isVisible() and not s.truth.isVisible()
    page = tab.fits_page
    qtbot.waitUntil(lambda: page.classification and page.plane.data is not None, timeout=15000)
    assert page.plane.data["vote"].shape == (41, 41) and len(page.plane.model_curves) == 12
    assert "0-1 loss" in page.summary.text() and "bias_variance_classification" in tab.plots()
    qtbot.waitUntil(lambda: not tab.runner.is_active and not tab._auto.isActive(), timeout=15000)
    click_page(qtbot, tab, "bagging")
    qtbot.mouseClick(tab.controls.play_button, Qt.LeftButton)
    assert "switch to regression" in tab.banner.text()


def test_bagging_deep_trees_and_early_stopping_by_play(tab, qtbot):
    s = tab.settings
    type_into(qtbot, s.numbers["m"], "40")
    s.family.setCurrentIndex(s.family.findData("tree"))
    type_into(qtbot, s.numbers["depth"], "8")
    type_into(qtbot, s.numbers["bags"], "20")
    qtbot.waitUntil(lambda: not tab.runner.is_active and not tab._auto.isActive(), timeout=15000)
    click_page(qtbot, tab, "bagging")
    qtbot.mouseClick(tab.controls.play_button, Qt.LeftButton)
    finished(qtbot, tab)
    page = tab.page("bagging")
    b, bagged = page.curve_plot.data("variance, bagged")
    _, single = page.curve_plot.data("variance, one model")
    assert b.tolist() == list(range(1, 21)) and bagged[-1] < single[-1]
    assert "cuts the variance" in page.summary.text()

    s.family.setCurrentIndex(s.family.findData("mlp"))
    type_into(qtbot, s.numbers["epochs"], "100")
    type_into(qtbot, s.numbers["m"], "10")
    click_page(qtbot, tab, "early_stopping")
    qtbot.mouseClick(tab.controls.play_button, Qt.LeftButton)
    finished(qtbot, tab)
    page = tab.page("early_stopping")
    epochs, _ = page.plot.data("validation error")
    assert epochs[-1] == 100
    qtbot.waitUntil(page.lines["stop"].isVisible)  # drawn by the page's frame timer
    assert "Early stopping" in page.summary.text()
