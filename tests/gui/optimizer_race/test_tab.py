"""The optimizer race driven through its real widgets."""

import json

import numpy as np
import pyqtgraph as pg
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from lab.runner import JobState
from lab.tabs.optimizer_race.racers import racer_values

FAST = 10  # the speed slider's "max" position


@pytest.fixture(scope="module")
def shared_tab(make_module_tab):
    """One tab for the module (building it costs a second); each test sets its own state."""
    t = make_module_tab("optimizers", size=(1400, 900))
    t.controls.speed_slider.setValue(FAST)
    return t, t.experiment_state()


@pytest.fixture
def tab(shared_tab, qtbot):
    t, defaults = shared_tab
    qtbot.waitUntil(lambda: not t.runner.is_active or t.runner.stop() or True, timeout=2000)
    t.runner.stop()
    t.apply_experiment_state(defaults)
    t.reset_view()
    t.banner.hide()
    t.pages.setCurrentIndex(0)
    return t


def small_race(tab, racers, surface="quadratic", steps=200, **extra):
    state = tab.experiment_state()
    state["surface"] = dict(state["surface"], surface=surface, steps=steps, racers=racers, start=None, **extra)
    tab.apply_experiment_state(state)


def play_until_done(tab, qtbot, timeout=15000):
    qtbot.mouseClick(tab.controls.play_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: tab.runner.state in (JobState.FINISHED, JobState.STOPPED, JobState.FAILED), timeout=timeout)
    assert tab.runner.state == JobState.FINISHED


def test_play_races_every_optimizer_and_fills_map_curves_and_leaderboard(tab, qtbot):
    page = tab.surface_page
    small_race(tab, [racer_values("sgd"), racer_values("momentum"), racer_values("adam", lr=0.1)])
    play_until_done(tab, qtbot)
    assert page.loss_plot.names() == ["SGD", "Momentum", "Adam"]
    assert len(page.loss_plot.data("Adam")[0]) == 200
    assert page.contour.n_points() == 201
    assert page.board.rowCount() == 3
    statuses = [page.board.item(r, 1).text() for r in range(3)]
    assert any(s.startswith("reached at step") for s in statuses)
    # the map's Adam path is the one the core computed: it ends near the minimum
    assert np.linalg.norm(page.contour.path(2)[-1]) < 0.05


def test_clicking_the_map_sets_the_start_and_a_far_click_is_refused(tab, qtbot):
    page = tab.surface_page
    pos = page.contour.view_to_widget(1.0, -2.0)
    qtbot.mouseClick(page.contour.viewport(), Qt.LeftButton, pos=pos)
    assert float(page.start_x.text()) == pytest.approx(1.0, abs=0.05)
    assert float(page.start_y.text()) == pytest.approx(-2.0, abs=0.05)
    assert page.config("cpu").start == pytest.approx((1.0, -2.0), abs=0.05)
    page.start_x.setText("9")
    page.start_x.editingFinished.emit()
    assert "outside the map" in page.start_error.text()
    assert page.config("cpu").start == pytest.approx((1.0, -2.0), abs=0.05)


def test_a_bad_formula_is_refused_at_the_field_and_the_map_stays(tab, qtbot):
    page = tab.surface_page
    page.surface_combo.setCurrentIndex(page.surface_combo.findData("custom"))
    page.formula.setText("__import__('os')")
    page.formula.editingFinished.emit()
    assert page.formula_error.isVisibleTo(tab) and "not allowed" in page.formula_error.text()
    page.formula.setText("log(x)")
    page.formula.editingFinished.emit()
    assert "not finite everywhere" in page.formula_error.text()
    qtbot.mouseClick(tab.controls.play_button, Qt.LeftButton)
    assert tab.banner.isVisibleTo(tab) and "formula" in tab.banner.text()
    page.formula.setText("(x-1)^2 + 2*y^2")
    page.formula.editingFinished.emit()
    assert not page.formula_error.isVisibleTo(tab)
    assert page.surface.minima[0] == pytest.approx((1.0, 0.0), abs=1e-6)


def test_step_button_explains_one_step_with_its_numbers(tab, qtbot):
    page = tab.surface_page
    small_race(tab, [racer_values("momentum"), racer_values("adam")], steps=50)
    page.inspect_combo.setCurrentIndex(1)
    qtbot.mouseClick(tab.controls.step_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "step 1," in page.inspector.text(), timeout=10000)
    text = page.inspector.text()
    assert "Adam" in text and "m̂" in text and "β₁ = 0.9" in text
    assert page.contour.arrows_shown() == 4  # −g, Δp, −m, √v
    page.inspect_combo.setCurrentIndex(0)
    assert "velocity v" in page.inspector.text()
    qtbot.mouseClick(tab.controls.step_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "step 2," in page.inspector.text(), timeout=10000)


def test_a_diverging_racer_is_marked_and_the_others_finish(tab, qtbot):
    page = tab.surface_page
    small_race(tab, [racer_values("sgd", lr=5.0), racer_values("adam", lr=0.05)], steps=100)
    play_until_done(tab, qtbot)
    assert "SGD diverged at step" in tab.banner.text()
    rows = {page.board.item(r, 0).text(): page.board.item(r, 1).text() for r in range(2)}
    assert rows["SGD"].startswith("diverged at step") and not rows["Adam"].startswith("diverged")
    assert len(page.loss_plot.data("Adam")[0]) == 100


def test_fair_race_tunes_learning_rates_then_races(tab, qtbot):
    page = tab.surface_page
    small_race(tab, [racer_values("sgd", lr=5.0), racer_values("adagrad", lr=1e-4)], steps=150)
    qtbot.mouseClick(page.tune_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: tab.runner.state == JobState.FINISHED and page.board.rowCount() == 2, timeout=20000)
    lrs = [v["lr"] for v in page.racers.values()]
    assert lrs[0] < 0.6 and lrs[1] > 1e-4
    assert not any(page.board.item(r, 1).text().startswith("diverged") for r in range(2))
    assert "Tuned:" in tab.banner.text()


def test_racer_list_copies_removes_and_refuses_bad_values(tab, qtbot):
    racers = tab.surface_page.racers
    n = len(racers.rows())
    adam = next(r for r in racers.rows() if r.kind.currentData() == "adam")
    qtbot.mouseClick(adam.copy_button, Qt.LeftButton)
    assert len(racers.rows()) == n + 1
    copy = racers.rows()[-1]
    copy.lr.try_text("0.1")
    names = [s.name for s in tab.surface_page.config("cpu").racers]
    assert "Adam η=0.01" in names and "Adam η=0.1" in names
    beta = copy.hyper_field("beta1")
    beta.setText("1.5")
    beta.editingFinished.emit()
    assert "β₁ must be between" in copy.error.text() and copy.value()["hyper"]["beta1"] == 0.9
    copy.lr.try_text("-1")
    assert copy.lr.error.text() and copy.value()["lr"] == 0.1
    qtbot.mouseClick(copy.remove_button, Qt.LeftButton)
    assert len(racers.rows()) == n


def test_network_race_page_trains_every_optimizer(tab, qtbot):
    tab.pages.setCurrentIndex(1)
    page = tab.net_page
    state = tab.experiment_state()
    state["network"] = dict(state["network"], epochs=20, racers=[racer_values("sgd"), racer_values("adam", lr=0.03)])
    tab.apply_experiment_state(state)
    play_until_done(tab, qtbot)
    x, acc = page.test_acc.data("Adam")
    assert list(x) == list(range(1, 21)) and acc[-1] > 0.9
    assert "1. Adam" in page.summary.text()


def test_batch_size_page_draws_curves_and_the_landscape_slice(tab, qtbot):
    tab.pages.setCurrentIndex(2)
    page = tab.batch_page
    state = tab.experiment_state()
    state["batch"] = dict(state["batch"], epochs=8, hidden="8", batch_sizes="10, 250")
    tab.apply_experiment_state(state)
    play_until_done(tab, qtbot, timeout=30000)
    assert set(page.landscape.names()) == {"start → batch 10", "start → batch 250", "batch 10 → batch 250"}
    assert "sharpness" in page.summary.text()
    page.batch_sizes.setText("10")
    qtbot.mouseClick(tab.controls.play_button, Qt.LeftButton)
    assert "two and four" in tab.banner.text()


def test_experiment_round_trip_and_refusal(tab):
    state = tab.experiment_state()
    json.dumps(state)
    changed = json.loads(json.dumps(state))
    changed["surface"]["surface"] = "beale"
    changed["page"] = "network"
    tab.apply_experiment_state(changed)
    assert tab.experiment_state() == changed
    bad = json.loads(json.dumps(changed))
    bad["surface"]["racers"][0]["lr"] = -1
    with pytest.raises(ValueError, match="learning rate"):
        tab.apply_experiment_state(bad)
    assert tab.experiment_state() == changed


def test_race_exports_png_svg_csv_and_gif(tab, qtbot, tmp_path):
    small_race(tab, [racer_values("sgd"), racer_values("adam")], steps=60)
    play_until_done(tab, qtbot)
    written = tab.surface_page.contour.export(tmp_path / "contour", 1.0)
    assert [p.name for p in written] == ["contour.png", "contour.svg", "contour.csv"]
    tab.save_gif(tmp_path / "race.gif", frames=8)
    with Image.open(tmp_path / "race.gif") as gif:
        assert gif.n_frames == 8
    assert not QImage(str(tmp_path / "contour.png")).isNull()
    header = (tmp_path / "contour.csv").read_text().splitlines()[0]
    assert header == "SGD x,SGD y,Adam x,Adam y"


def test_changing_the_surface_replaces_its_contours(tab):
    page = tab.surface_page
    page.surface_combo.setCurrentIndex(page.surface_combo.findData("rosenbrock"))
    n = len(page.contour._isos)
    page.surface_combo.setCurrentIndex(page.surface_combo.findData("saddle"))
    isos_in_scene = [i for i in page.contour.scene().items() if isinstance(i, pg.IsocurveItem)]
    assert len(isos_in_scene) == len(page.contour._isos) <= n


def test_gif_button_before_any_race_says_what_to_do(tab, qtbot):
    qtbot.mouseClick(tab.gif_button, Qt.LeftButton)
    assert "Run or step the race" in tab.banner.text()


def test_hidden_layers_are_checked_at_the_field_before_play(tab, qtbot):
    tab.pages.setCurrentIndex(1)
    field = tab.net_page.controls.hidden
    field.setFocus()
    field.selectAll()
    qtbot.keyClicks(field, "4, x")
    qtbot.keyClick(field, Qt.Key_Return)
    error = tab.net_page.controls.error
    assert "Hidden layers" in error.text() and error.isVisible()
    field.selectAll()
    qtbot.keyClicks(field, "4, 2")
    qtbot.keyClick(field, Qt.Key_Return)
    assert not error.isVisible()


def test_on_the_saddle_the_loss_plot_shows_f_itself_on_a_linear_axis_since_there_is_no_f_star(tab, qtbot):
    page = tab.surface_page
    small_race(tab, [racer_values("sgd"), racer_values("adam", lr=0.1)], surface="saddle", steps=150)
    play_until_done(tab, qtbot)
    assert not page.loss_plot.log_y and "no minimum" in page.loss_plot.title
    assert page.board.horizontalHeaderItem(2).text() == "f"
    _, f = page.loss_plot.data("Adam")
    assert f.min() < -4  # escaped below the plotted domain's lowest value: f − (min on the grid) would be < 0
    shown = {page.board.item(r, 0).text(): float(page.board.item(r, 2).text()) for r in range(2)}
    assert shown["Adam"] == pytest.approx(float(f[-1]), rel=1e-2)

    small_race(tab, [racer_values("adam", lr=0.1)], surface="quadratic", steps=50)
    play_until_done(tab, qtbot)
    assert page.loss_plot.log_y and page.board.horizontalHeaderItem(2).text() == "f − f*"
