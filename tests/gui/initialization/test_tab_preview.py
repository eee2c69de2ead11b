"""Play just after a preset loaded runs the preset's experiment; it does not pause the
statistics the preset started on its own."""

from PySide6.QtCore import Qt

from lab.experiments import PRESETS_DIR, load_experiment
from lab.runner import JobState

SMALL = {"depth": 6, "widths": "64", "input_dim": 64, "batch": 200}


def test_play_during_a_presets_own_statistics_runs_the_whole_experiment(make_tab, qtbot):
    tab = make_tab("initialization", size=(1400, 900))
    tab.play.speed_slider.setValue(0)  # one checkpoint a second: the statistics are still going below
    preset = load_experiment(PRESETS_DIR / "initialization" / "zero_init_symmetry.json")
    # On the signals page (the preset itself opens on training and trains at once)
    tab.apply_experiment_state({**preset.state, **SMALL, "train_steps": 25, "page": "signals"})
    qtbot.waitUntil(tab.preview_running, timeout=5000)
    assert tab.play.play_button.text() == "Play"  # nothing the student started is running
    preview = tab.runner.generation
    qtbot.mouseClick(tab.play.play_button, Qt.LeftButton)
    assert tab.runner.generation == preview + 1 and tab.runner.state == JobState.RUNNING
    assert tab.play.play_button.text() == "Pause"
    tab.play.speed_slider.setValue(tab.play.speed_slider.maximum())  # full speed for the rest
    qtbot.waitUntil(lambda: tab.runner.state == JobState.FINISHED, timeout=30000)
    assert sorted(tab.training.loss.names()) == ["Constant", "Xavier normal", "Zeros"]
