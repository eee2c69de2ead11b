"""The activation explorer driven through its real widgets."""

import pytest
from PySide6.QtCore import Qt

from lab.runner import JobState


@pytest.fixture
def tab(make_tab):
    return make_tab("activations")


def check(checklist, label, on=True):
    item = checklist.findItems(label, Qt.MatchExactly)[0]
    assert item.checkState() != (Qt.Checked if on else Qt.Unchecked)
    item.setCheckState(Qt.Checked if on else Qt.Unchecked)


def test_ticking_a_function_draws_it_and_its_derivative(tab, qtbot):
    page = tab.page("curves")
    assert page.f_plot.names() == ["Sigmoid", "Tanh", "ReLU"]
    check(page.checklist, "GELU")
    assert "GELU" in page.f_plot.names() and "GELU" in page.df_plot.names()
    assert page.table.rowCount() == 4
    assert page.table.item(3, 3).text().startswith("no")  # GELU is not monotonic
    check(page.checklist, "Sigmoid", on=False)
    assert "Sigmoid" not in page.f_plot.names()


def test_a_bad_x_range_is_refused_at_the_control_and_the_curves_stay(tab, qtbot):
    page = tab.page("curves")
    page.x_min.edit.setText("abc")
    page.x_min.edit.editingFinished.emit()
    assert page.x_min.error.text() == "'abc' is not a number"
    assert page.x_min.value() == -5
    page.x_min.try_text("4.5")
    before = page.f_plot.data("Tanh")[0].copy()
    page.x_max.try_text("2")
    assert "must be below" in page.range_error.text()
    assert (page.f_plot.data("Tanh")[0] == before).all()
    page.x_min.try_text("-2")
    assert not page.range_error.isVisibleTo(tab)
    assert page.f_plot.data("Tanh")[0][0] == -2


def test_parameter_slider_changes_the_curve(tab):
    page = tab.page("curves")
    check(page.checklist, "ELU")
    page.param_fields["alpha"].try_text("2")
    x, y = page.f_plot.data("ELU")
    assert y[0] == pytest.approx(2 * (2.718281828 ** x[0] - 1), rel=1e-6)
    assert page.param_fields["alpha"].try_text("99") is False
    assert "between" in page.param_fields["alpha"].error.text()


def test_measuring_cost_fills_the_table(tab, qtbot):
    page = tab.page("curves")
    page.cost_button.click()
    qtbot.waitUntil(lambda: tab.runner.state == JobState.FINISHED, timeout=30000)
    col = page.table.columnCount() - 1
    texts = [page.table.item(r, col).text() for r in range(page.table.rowCount())]
    assert texts[2] == "1.00×" and all(t.endswith("×") for t in texts)


def test_depth_experiment_runs_from_the_play_button_and_reruns_on_a_change(tab, qtbot):
    tab.show_page("depth")
    page = tab.page()
    page.fields["trials"].try_text("2")
    page.fields["depth"].try_text("10")
    qtbot.mouseClick(page.controls.play_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: tab.runner.state == JobState.FINISHED, timeout=20000)
    x, y = page.plot.data("Sigmoid")
    assert len(x) == 10 and y[0] < y[-1] / 1e3  # the input-side layer gets far less gradient
    page.fields["depth"].try_text("12")  # results on screen: a change recomputes at once
    qtbot.waitUntil(lambda: tab.runner.state == JobState.FINISHED and len(page.plot.data("Sigmoid")[0]) == 12, timeout=20000)
    # A rerun makes new series: their legend markers keep the activations' colours, once
    # the rerun's curves are drawn (drawing is scheduled, not done as the data arrives).
    def marker_colours():
        return [(sample.item.scatter.opts["brush"].color().name(), page.plot.series(label.text).color.lower())
                for sample, label in page.plot.legend.items]

    qtbot.waitUntil(lambda: all(a == b for a, b in marker_colours()), timeout=5000)
    assert len(marker_colours()) == len(page.plot.names())


def test_a_theme_change_recolours_the_depth_page_without_rerunning_it(tab, qtbot):
    from widgets.theme import theme

    tab.show_page("depth")
    page = tab.page()
    page.fields["trials"].try_text("2")
    page.fields["depth"].try_text("5")
    qtbot.mouseClick(page.controls.play_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: tab.runner.state == JobState.FINISHED, timeout=20000)
    theme().set_style(dark=True)
    qtbot.wait(20)
    assert tab.runner.state == JobState.FINISHED and len(page.plot.data("Sigmoid")[0]) == 5
    silu = page.checklist.findItems("SiLU / Swish", Qt.MatchExactly)[0]
    assert silu.foreground().color().lightness() > 200  # not black on the dark background


def test_dead_relu_step_and_play(tab, qtbot):
    tab.show_page("dead_relu")
    page = tab.page()
    page.fields["epochs"].try_text("40")
    qtbot.keyClick(tab, Qt.Key_Right)  # → : one step
    qtbot.waitUntil(lambda: tab.runner.state == JobState.PAUSED and tab.runner.checkpoints == 1, timeout=20000)
    qtbot.keyClick(tab, Qt.Key_Space)  # space: play
    qtbot.waitUntil(lambda: tab.runner.state == JobState.FINISHED, timeout=30000)
    tab.page().layers_plot.redraw()
    x, _ = page.dead_plot.data("ReLU")
    assert x[-1] == 40
    assert set(page.layers_plot.names()) == {"layer 1", "layer 2", "layer 3"}


def test_divergence_is_shown_per_network(tab, qtbot):
    tab.show_page("dead_relu")
    page = tab.page()
    page.fields["learning_rate"].try_text("20")
    page.fields["epochs"].try_text("200")
    page.controls.play_button.click()
    qtbot.waitUntil(lambda: tab.runner.state == JobState.FINISHED, timeout=30000)
    assert "diverged at epoch" in tab.banner.text()


def test_zero_centred_page_reports_the_sign_pattern(tab, qtbot):
    tab.show_page("zero_centred")
    page = tab.page()
    page.fields["steps"].try_text("100")
    page.controls.play_button.click()
    qtbot.waitUntil(lambda: tab.runner.state == JobState.FINISHED, timeout=20000)
    assert "100%</b> with positive inputs" in page.stats.text()
    assert page.positive.path.getData()[0].shape == (101,)


def test_reset_clears_the_plots(tab, qtbot):
    tab.show_page("zero_centred")
    page = tab.page()
    page.controls.play_button.click()
    qtbot.waitUntil(lambda: tab.runner.state == JobState.FINISHED, timeout=20000)
    qtbot.keyClick(tab, Qt.Key_R)
    assert page.distance_plot.names() == [] and page.stats.text() == ""


def test_experiment_state_round_trips_and_bad_state_changes_nothing(tab, make_tab):
    tab.show_page("depth")
    tab.page().fields["depth"].set_value(33)
    state = tab.experiment_state()
    other = make_tab("activations", show=False)
    other.apply_experiment_state(state)
    assert other.experiment_state() == state
    with pytest.raises(ValueError, match="Depth"):
        other.apply_experiment_state({"page": "curves", "curves": {"functions": ["relu"]}, "depth": {"depth": 0}})
    assert other.experiment_state() == state


def test_render_writes_figures_and_data(tab, tmp_path):
    from lab.experiments import find_preset, load_experiment

    tab.apply_experiment_state(load_experiment(find_preset("activations/zero_centred")).state)
    written = tab.render_to(tmp_path)
    names = sorted(p.name for p in written)
    assert "distance_to_target.csv" in names and "path_positive_inputs.png" in names and "activations_tab.png" in names
    assert all(p.stat().st_size > 0 for p in written)


def test_a_job_failing_on_an_accelerator_offers_a_cpu_rerun(make_tab, qtbot):
    """A real out-of-memory error class raised on a 'cuda:0' config; the rerun goes to the CPU."""
    import torch

    from core.engine import Finished

    def picky(cfg, ctl):
        ctl.checkpoint()
        if cfg.device != "cpu":
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 8.00 GiB")
        yield Finished({"device": cfg.device})

    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Cfg:
        device: str

    t = make_tab("activations", device="cuda:0", show=False)
    t.runner.start(picky, Cfg("cuda:0"))
    qtbot.waitUntil(lambda: t.runner.state == JobState.FAILED, timeout=5000)
    assert "Out of memory on cuda:0" in t.banner.text()
    assert t.banner.action_button.text() == "Rerun on CPU"
    t.banner.action_button.click()
    qtbot.waitUntil(lambda: t.runner.state == JobState.FINISHED, timeout=5000)
    assert t.context.device == "cpu"
