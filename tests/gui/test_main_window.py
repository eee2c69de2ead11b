import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from lab.experiments import PRESETS_DIR
from lab.main_window import MainWindow
from lab.runner import JobState
from lab.settings import Preferences, SettingsStore
from widgets.theme import theme


@pytest.fixture
def window(qtbot):
    win = MainWindow(SettingsStore())
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.tab_widget, timeout=30000)
    yield win
    win.close()


def test_window_opens_with_every_registered_tab_and_a_working_device(window):
    from lab.tabs import TABS

    titles = [window.tab_widget.tabText(i) for i in range(window.tab_widget.count())]
    assert titles == [t.title for t in TABS]
    assert window.device_combo.isEnabled()
    ids = [window.device_combo.itemData(i) for i in range(window.device_combo.count())]
    assert ids[:2] == ["auto", "cpu"]
    assert window.context.device == "cpu"
    assert window.status_device.text() == "Device: cpu"


def test_choosing_a_device_flows_into_the_context(window):
    window.device_combo.setCurrentIndex(window.device_combo.findData("cpu"))
    assert window.context.device == "cpu"
    assert window.prefs.device == "cpu"


def test_a_device_chosen_while_a_job_runs_is_said_to_apply_from_the_next_run(window, qtbot):
    window.device_combo.setCurrentIndex(window.device_combo.findData("cpu"))
    tab = window.current_tab()
    qtbot.waitUntil(lambda: tab.runner.is_active, timeout=30000)  # the network builder opens its job paused
    window.context.set_device("cpu:fake-before")  # as if the job had started on another device
    window.device_combo.setCurrentIndex(window.device_combo.findData("auto"))
    assert "applies from the next run" in window.statusBar().currentMessage()
    assert "keeps running on cpu:fake-before" in window.statusBar().currentMessage()


def test_job_state_and_speed_show_in_the_toolbar(window, qtbot):
    tab = window.tab_instances["activations"]
    window.tab_widget.setCurrentWidget(tab)
    tab.show_page("zero_centred")
    page = tab.page()
    page.fields["steps"].set_value(5000)
    page.controls.speed_slider.setValue(5)  # 50 steps/s: long enough to read the state
    page.controls.play_button.click()
    qtbot.waitUntil(lambda: window.job_state_label.text() == "Running", timeout=5000)
    qtbot.waitUntil(lambda: "iterations/s" in window.job_speed_label.text(), timeout=5000)  # one SGD step each
    page.controls.play_button.click()
    qtbot.waitUntil(lambda: window.job_state_label.text() == "Paused", timeout=5000)
    tab.runner.stop()


def test_view_menu_changes_the_theme(window):
    window.presentation_action.trigger()
    from widgets.theme import Style

    assert theme().style.presentation and theme().style.line_width >= 3 * Style().line_width
    window.change_font_scale(1.5)
    assert theme().style.font_scale == pytest.approx(1.5)
    window.dark_action.trigger()
    assert theme().style.dark
    assert window.prefs.theme == "dark" and window.prefs.presentation


def test_about_names_every_version(window):
    import torch
    from PySide6.QtCore import qVersion

    text = window.about_text()
    assert torch.__version__ in text and qVersion() in text and "Python" in text and "CUDA" in text


def test_preferences_and_last_tab_persist(qtbot, tmp_path):
    store = SettingsStore()
    win = MainWindow(store)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.tabs_ready and win.stack.currentWidget() is win.tab_widget, timeout=30000)
    win.dark_action.trigger()
    win.change_font_scale(1.2)
    win.tab_widget.setCurrentWidget(win.tab_instances["activations"])
    win.close()
    prefs = SettingsStore().load()
    assert prefs.theme == "dark" and prefs.font_scale == pytest.approx(1.2)
    assert prefs.last_tab == "activations"
    assert SettingsStore().window_state()[0] is not None


def test_a_corrupt_settings_file_falls_back_to_defaults(tmp_path, monkeypatch):
    path = tmp_path / "broken.ini"
    path.write_bytes(b"[preferences]\nfont_scale=lots\ntheme=purple\n\x00\xff\xfe garbage\n[[[")
    store = SettingsStore(str(path))
    assert store.load() == Preferences()
    path.write_text("[General]\nversion=7\n")
    assert SettingsStore(str(path)).load() == Preferences()


def test_a_settings_file_too_large_to_be_ours_is_set_aside_before_it_is_parsed(tmp_path):
    path = tmp_path / "huge.ini"
    path.write_text("[General]\n" + "".join(f"key{i}=" + "x" * 60 + "\n" for i in range(30_000)))  # ~2 MB
    store = SettingsStore(str(path))
    assert store.set_aside == str(path) + ".too-large" and Path(store.set_aside).exists()
    assert store.load() == Preferences()
    assert not path.exists() or path.stat().st_size < 1000


def test_tests_never_touch_the_real_settings():
    default = QSettings(QSettings.IniFormat, QSettings.UserScope, "dllab", "dllab").fileName()
    assert SettingsStore().path != default


def test_closing_mid_run_stops_every_job_within_a_second(qtbot):
    win = MainWindow(SettingsStore())
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.tab_widget, timeout=30000)
    tab = win.tab_instances["activations"]
    tab.show_page("dead_relu")
    tab.page().fields["epochs"].set_value(5000)
    tab.page().controls.play_button.click()
    qtbot.waitUntil(lambda: tab.runner.state == JobState.RUNNING, timeout=5000)
    t0 = time.perf_counter()
    win.close()
    elapsed = time.perf_counter() - t0
    assert tab.runner.thread_count() == 0
    assert elapsed < 1.0, f"closing took {elapsed:.2f} s"


def test_opening_a_bad_experiment_keeps_the_tab_as_it_was(window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a: warnings.append(a[2]))
    tab = window.tab_instances["activations"]
    before = tab.experiment_state()
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "dllab-experiment", "version": 1, "tab": "activations", "state": {"page": "depth", "depth": {"depth": 500}}}')
    assert not window.open_experiment(bad)
    assert "between 1 and 50" in warnings[0]
    assert tab.experiment_state() == before
    assert window.open_experiment(PRESETS_DIR / "activations" / "zero_centred.json")
    assert tab.page().key == "zero_centred"


def test_fit_to_screen_keeps_a_geometry_that_fits_and_shrinks_one_that_does_not():
    from PySide6.QtCore import QRect

    from lab.main_window import FRAME_ALLOWANCE, fit_to_screen

    projector = QRect(0, 0, 1280, 720)
    fits = QRect(100, 60, 1000, 600)
    assert fit_to_screen(fits, projector) == fits
    fitted = fit_to_screen(QRect(40, 30, 1579, 900), projector)  # saved on a larger monitor
    assert fitted.width() <= 1280 - FRAME_ALLOWANCE.width() and fitted.height() <= 720 - FRAME_ALLOWANCE.height()
    assert projector.contains(fitted)
    assert abs(fitted.center().x() - projector.center().x()) <= 1  # centred across
    second = QRect(1920, 0, 1280, 720)  # a projector right of the laptop
    assert second.contains(fit_to_screen(QRect(1900, -20, 1579, 900), second))


def test_a_saved_geometry_larger_than_the_screen_is_fitted_to_it(qtbot):
    from PySide6.QtWidgets import QMainWindow

    big = QMainWindow()
    qtbot.addWidget(big)
    screen = big.screen().availableGeometry()
    big.setGeometry(screen.x() + 20, screen.y() + 20, screen.width() + 700, screen.height() + 300)
    store = SettingsStore()
    store.save_window_state(big.saveGeometry(), big.saveState())
    win = MainWindow(SettingsStore())
    qtbot.addWidget(win)
    assert screen.contains(win.geometry()), f"{win.geometry()} is not inside the screen's {screen}"
    win.close()


def test_presentation_from_the_command_line_is_for_this_run_only(qtbot):
    win = MainWindow(SettingsStore(), presentation=True)  # as `dllab --presentation` opens it
    qtbot.addWidget(win)
    assert win.presentation_action.isChecked()
    win.close()
    assert SettingsStore().load().presentation is False


def test_presentation_chosen_from_the_view_menu_is_remembered(qtbot):
    win = MainWindow(SettingsStore())
    qtbot.addWidget(win)
    win.presentation_action.trigger()
    win.close()
    assert SettingsStore().load().presentation is True
    again = MainWindow(SettingsStore())
    qtbot.addWidget(again)
    assert again.presentation_action.isChecked()
    again.close()
