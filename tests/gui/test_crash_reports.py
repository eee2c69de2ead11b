"""Uncaught exceptions, in the GUI thread or any other, reach the tab's banner and the log."""

import threading

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from lab.crash_reports import install_logging, log_path
from lab.main_window import MainWindow
from lab.settings import SettingsStore


@pytest.fixture
def window(qtbot):
    install_logging()
    win = MainWindow(SettingsStore())
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.tab_widget, timeout=30000)
    reporter = win.report_uncaught_exceptions()
    yield win
    reporter.uninstall()
    win.close()


@pytest.mark.qt_no_exception_capture
def test_an_exception_in_a_worker_thread_reaches_the_banner_and_the_log(window, qtbot):
    def broken_worker():
        raise RuntimeError("the worker fell over")

    t = threading.Thread(target=broken_worker, name="broken-worker")
    t.start()
    t.join()
    banner = window.current_tab().banner
    qtbot.waitUntil(lambda: "the worker fell over" in banner.text(), timeout=5000)
    assert "thread broken-worker" in banner.text() and str(log_path()) in banner.text()
    assert "Traceback" in banner.label.toolTip()
    qtbot.mouseClick(banner.action_button, Qt.LeftButton)  # Copy details
    assert "RuntimeError: the worker fell over" in QApplication.clipboard().text()
    logged = log_path().read_text(encoding="utf-8")
    assert "Uncaught exception in thread broken-worker" in logged and "broken_worker" in logged


@pytest.mark.qt_no_exception_capture
def test_an_exception_in_a_slot_reaches_the_banner_and_the_app_keeps_running(window, qtbot):
    def broken_slot():
        raise ValueError("a slot fell over")

    QTimer.singleShot(0, broken_slot)
    banner = window.current_tab().banner
    qtbot.waitUntil(lambda: "a slot fell over" in banner.text(), timeout=5000)
    assert window.isVisible()


def test_the_about_box_names_the_log_file(window):
    assert str(log_path()) in window.about_text()


CLOSE_WHILE_A_STEP_RUNS = r"""
import os, sys, threading, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QTimer
from lab.app import create_application, finish
from lab.main_window import MainWindow
from lab.settings import SettingsStore

inside_step = threading.Event()

def uninterruptible(cfg, ctl):
    ctl.checkpoint()
    inside_step.set()
    time.sleep(cfg)  # one torch call that never reaches a checkpoint (a huge batch, say)
    yield None

app = create_application([])
window = MainWindow(SettingsStore())
window.show()

def start_then_close():
    if not window.tab_instances:
        QTimer.singleShot(100, start_then_close)
        return
    tab = next(iter(window.tab_instances.values()))
    tab.runner.start(uninterruptible, 20.0)
    inside_step.wait(10)
    window.close()
    app.quit()

QTimer.singleShot(0, start_then_close)
code = app.exec()
print("closed", flush=True)
sys.exit(finish(code))
"""


def test_closing_while_a_step_cannot_be_interrupted_ends_the_process_cleanly(tmp_path):
    """Destroying a QThread that still runs aborts the interpreter (SIGABRT)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "DLLAB_SETTINGS": str(tmp_path / "settings.ini")}
    out = subprocess.run([sys.executable, "-c", CLOSE_WHILE_A_STEP_RUNS], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, (out.returncode, out.stderr[-2000:])
    assert "closed" in out.stdout
    assert (tmp_path / "settings.ini").exists()  # the window saved its state before the end
