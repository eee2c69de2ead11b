"""The main window builds a lab when it is first shown; everything that reaches into a lab
(experiment files, the command line's --tab, tests) gets it built."""

import pytest
from PySide6.QtWidgets import QLabel

from lab.experiments import PRESETS_DIR
from lab.main_window import MainWindow
from lab.runner import JobState
from lab.settings import SettingsStore
from lab.tabs import TABS
from lab.tabs.base import LabTab

WAIT = 30000


def _open(qtbot, **kwargs) -> MainWindow:
    win = MainWindow(SettingsStore(), **kwargs)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.tab_widget, timeout=WAIT)
    return win


@pytest.fixture
def window(qtbot):
    win = _open(qtbot, initial_tab="activations")
    yield win
    win.close()


def test_only_the_lab_on_show_is_built_at_start_up(window):
    assert [window.tab_widget.tabText(i) for i in range(window.tab_widget.count())] == [t.title for t in TABS]
    assert list(window.tab_instances) == ["activations"]
    assert window.current_tab() is window.tab_instances["activations"]
    others = [window.tab_widget.widget(i) for i in range(window.tab_widget.count()) if TABS[i].name != "activations"]
    assert not any(isinstance(w, LabTab) for w in others)


def test_selecting_a_lab_builds_it_and_binds_the_toolbar_to_it(window, qtbot):
    index = [t.name for t in TABS].index("initialization")
    window.tab_widget.setCurrentIndex(index)
    tab = window.current_tab()
    assert isinstance(tab, LabTab) and tab.name == "initialization"
    assert window.tab_widget.widget(index) is tab and window.tab_widget.tabText(index) == "Initialization"
    assert "initialization" in window.tab_instances
    assert window.prefs.last_tab == "initialization"
    qtbot.waitUntil(lambda: window.job_state_label.text() == tab.runner.state.label, timeout=WAIT)


def test_reaching_into_a_lab_builds_it_without_changing_the_one_on_show(window):
    images = window.tab("images")
    assert isinstance(images, LabTab) and images.name == "images"
    assert window.tab("images") is images and window.tab_instances["images"] is images
    assert window.current_tab().name == "activations"
    with pytest.raises(KeyError):
        window.tab_instances["no_such_lab"]
    assert window.tab("no_such_lab") is None


def test_opening_an_experiment_for_a_lab_not_built_yet_builds_and_shows_it(window):
    assert "optimizers" not in window.tab_instances
    exp = next(iter(sorted((PRESETS_DIR / "optimizers").glob("*.json"))))
    assert window.open_experiment(exp)
    assert window.current_tab() is window.tab_instances["optimizers"]


def test_the_eager_build_builds_every_lab(qtbot):
    win = _open(qtbot, lazy_tabs=False)
    try:
        assert sorted(win.tab_instances) == sorted(t.name for t in TABS)
        assert not any(isinstance(win.tab_widget.widget(i), QLabel) for i in range(win.tab_widget.count()))
    finally:
        win.close()


def test_closing_with_jobs_running_in_two_labs_ends_every_worker(qtbot):
    win = _open(qtbot, initial_tab="activations")
    tab = win.tab_instances["activations"]
    tab.show_page("dead_relu")
    tab.page().fields["epochs"].set_value(5000)
    tab.page().controls.play_button.click()
    net = win.tab("network")
    qtbot.waitUntil(lambda: tab.runner.state == JobState.RUNNING and net.runner.is_active, timeout=WAIT)
    win.close()
    assert tab.runner.thread_count() == 0 and net.runner.thread_count() == 0
