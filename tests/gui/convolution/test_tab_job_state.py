"""While the stepper plays, the window's job state says so (the runner only built the steps)."""

from PySide6.QtCore import Qt

from lab.runner import JobState


def test_playing_the_stepper_is_a_running_job_with_a_speed_in_steps(make_tab, qtbot):
    tab = make_tab("convolution")
    qtbot.waitUntil(lambda: tab.steps is not None, timeout=5000)
    assert tab.job_state() == JobState.IDLE  # built, nothing played yet
    assert tab.play.play_button.text() == "Play"
    tab.play.speed_slider.setValue(2)  # 5 steps a second: the 9 steps play for about 2 s
    with qtbot.waitSignal(tab.job_state_changed, check_params_cb=lambda s: s == JobState.RUNNING, timeout=2000):
        qtbot.mouseClick(tab.play.play_button, Qt.LeftButton)
    with qtbot.waitSignal(tab.job_speed_changed, timeout=3000) as speed:
        pass
    per_s, unit = speed.args
    assert unit == "steps" and 1 < per_s < 10
    with qtbot.waitSignal(tab.job_state_changed, check_params_cb=lambda s: s == JobState.PAUSED, timeout=2000):
        qtbot.mouseClick(tab.play.play_button, Qt.LeftButton)
    assert tab.play.play_button.text() == "Resume"
    with qtbot.waitSignal(tab.job_state_changed, check_params_cb=lambda s: s == JobState.FINISHED, timeout=2000):
        qtbot.mouseClick(tab.end_button, Qt.LeftButton)
