"""The toolbar's speed counts what the tab counts: epochs, iterations…, not "steps"."""

import re

from PySide6.QtCore import Qt

from lab.runner import JobState


def shown_epoch(tab) -> int:
    return int(re.match(r"Epoch ([\d,]+)", tab.view.counter.text()).group(1).replace(",", ""))


def test_the_network_builder_counts_epochs_and_opens_on_play_not_resume(make_tab, qtbot):
    tab = make_tab("network")
    controls = tab.view.controls
    qtbot.waitUntil(lambda: tab.runner.state == JobState.PAUSED, timeout=10000)  # opens paused at epoch 0
    assert controls.play_button.text() == "Play"
    assert tab.runner.speed_unit == "epochs"
    for _ in range(3):
        qtbot.mouseClick(controls.step_button, Qt.LeftButton)
    assert controls.play_button.text() == "Resume"
    qtbot.waitUntil(lambda: shown_epoch(tab) == 3, timeout=10000)
    assert tab.runner.checkpoints == 3

    controls.speed_slider.setValue(5)  # 50 a second: several speed readings in a short run
    with qtbot.waitSignal(tab.job_speed_changed, timeout=5000) as speed:
        qtbot.mouseClick(controls.play_button, Qt.LeftButton)
    per_s, unit = speed.args
    assert unit == "epochs" and 0 < per_s <= 60
    qtbot.mouseClick(controls.play_button, Qt.LeftButton)
    assert controls.play_button.text() == "Resume"
    # Every checkpoint the speed counted is one epoch the tab shows.
    qtbot.waitUntil(lambda: shown_epoch(tab) == tab.runner.checkpoints, timeout=5000)
    assert shown_epoch(tab) > 3


def test_the_surface_race_counts_iterations_one_per_step_of_its_curves(make_tab, qtbot):
    tab = make_tab("optimizers", size=(1400, 900))
    qtbot.waitUntil(lambda: tab.runner.state == JobState.FINISHED, timeout=15000)
    assert tab.runner.speed_unit == "iterations"
    steps = tab.surface_page.loss_plot.data("SGD")[0]
    assert tab.runner.checkpoints == len(steps) == steps[-1] == 500
