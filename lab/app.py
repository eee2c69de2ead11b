"""Start the application: the window first, torch behind it."""

from __future__ import annotations

import logging
import os
import sys

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

import lab
from assets import icon_path
from lab.crash_reports import install_logging
from lab.settings import SettingsStore
from widgets.theme import theme

__all__ = ["application_icon", "create_application", "collect_garbage_on_the_gui_thread", "run_app"]

# Windows groups a window under its process's AppUserModelID and shows that ID's icon in
# the taskbar; without an ID of our own the lab would sit under python.exe's icon.
WINDOWS_APP_ID = "dllab.dllab"


def application_icon() -> QIcon:
    """The lab's icon: the window, the taskbar and the About box show it."""
    return QIcon(str(icon_path()))


def create_application(argv: list[str] | None = None) -> QApplication:
    """The one QApplication, with the lab's name and icon (also on one made elsewhere, e.g. by a test)."""
    app = QApplication.instance()
    if app is None:
        if sys.platform == "win32":
            import ctypes

            ctypes.windll.shell32.SetCurrentProcessExplicitAppUserModelID(WINDOWS_APP_ID)
        app = QApplication(argv if argv is not None else sys.argv[:1])
        app.setApplicationName("dllab")
        app.setOrganizationName("dllab")
    app.setWindowIcon(application_icon())
    collect_garbage_on_the_gui_thread(app)
    return app


def collect_garbage_on_the_gui_thread(app: QApplication) -> None:
    """Python's cyclic garbage collector, run only on the GUI thread (once per application):
    see lab.garbage for why."""
    if getattr(app, "dllab_garbage_collector", None) is None:
        from lab.garbage import GuiThreadCollector

        app.dllab_garbage_collector = GuiThreadCollector(parent=app)


def run_app(
    *,
    tab: str | None = None,
    device: str | None = None,
    presentation: bool = False,
    preset: str | None = None,
    exit_after_paint: bool = False,
) -> int:
    from dataclasses import replace

    from lab.main_window import MainWindow

    app = create_application()
    store = SettingsStore()
    prefs = store.load()
    if device:
        prefs = replace(prefs, device=device)
    # --presentation is this run's view; the saved preference changes only from the View menu.
    presentation_now = presentation or prefs.presentation
    theme().set_style(dark=prefs.theme == "dark", font_scale=prefs.font_scale, presentation=presentation_now)
    log = install_logging()
    window = MainWindow(store, prefs, initial_tab=tab, preset=preset, presentation=presentation_now)
    window.report_uncaught_exceptions()
    logging.getLogger("dllab").info("dllab %s started; log at %s", lab.__version__, log)
    if exit_after_paint:
        # Used by the start-up benchmark: report when the first frame is painted.
        def report(t: float) -> None:
            print(f"first_paint_time={t:.6f}", flush=True)
            window.close()  # joins the torch loader thread before the app ends
            app.quit()

        window.first_painted.connect(report)
    window.show()
    return finish(app.exec(), end_process=True)


def finish(exit_code: int, *, end_process: bool = False) -> int:
    """The exit code, once nothing is left that would abort the interpreter on its way out.

    A job still inside a step it cannot leave (a long torch call) keeps its thread running;
    Python's shutdown would destroy that QThread under it and Qt aborts the process. The
    settings and window state are saved by then, so the process ends here, at once.

    ``end_process`` ends it here in any case (the window's own exit): tearing down an
    interpreter that has imported torch, torchvision and every lab takes seconds (3-4 s
    measured on a loaded 2-core machine), and it would only free memory the system takes
    back anyway."""
    from lab.runner import workers_still_running

    still_running = workers_still_running()
    if still_running or end_process:
        if still_running:
            logging.getLogger("dllab").info("A job was still inside a step at exit; ending without waiting for it")
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(exit_code)
    return exit_code
