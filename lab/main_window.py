"""The main window: tabs from the registry, device selector, job state, menus.

The window is shown before torch is imported (≈1.5 s): a background thread imports
torch and the tab modules. Then only the tab on show is built; each other tab is built on
the GUI thread when it is first selected (or reached through :meth:`MainWindow.tab`),
so that the window answers at once instead of freezing while eight labs are built.
"""

from __future__ import annotations

import importlib
import platform
import time
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QTabWidget,
    QToolBar,
    QWidget,
)

import lab
from lab.crash_reports import ExceptionReporter, log_path
from lab.experiments import Experiment, list_presets, load_experiment, save_experiment
from lab.garbage import freeze_long_lived_objects, release_frozen_objects
from lab.runner import JobState
from lab.settings import Preferences, SettingsStore
from lab.tabs import TABS, load_tab_class, tab_spec
from lab.tabs.base import LabContext, LabTab
from widgets.export import export_widget_png
from widgets.theme import theme

CLOSE_BUDGET_S = 0.8  # joining every lab's job when the window closes

__all__ = ["MainWindow", "fit_to_screen"]

STATE_COLORS = {JobState.DIVERGED: "#b36b00", JobState.FAILED: "#c02020", JobState.RUNNING: "#208020"}


# The window manager's title bar and borders lie outside geometry(): leave room for them.
FRAME_ALLOWANCE = QSize(16, 40)


def fit_to_screen(rect: QRect, available: QRect) -> QRect:
    """``rect`` (a window's client area) where it lies inside ``available``; otherwise as large
    as it was but no larger than ``available`` leaves for it beside the title bar and
    borders, centred there."""
    if available.contains(rect):
        return QRect(rect)
    side = FRAME_ALLOWANCE.width() // 2
    room = available.adjusted(side, FRAME_ALLOWANCE.height() - side, -side, -side)
    fitted = QRect(QPoint(0, 0), rect.size().boundedTo(room.size()))
    fitted.moveCenter(room.center())
    return fitted


class _BackgroundImport(QThread):
    """Imports torch and the tab modules off the GUI thread; creates no Qt objects."""

    loaded = Signal(object)  # list of DeviceInfo
    failed = Signal(str)

    def run(self) -> None:
        try:
            import torch  # noqa: F401

            from core.devices import configure_threads, list_devices, warm_up

            configure_threads()
            warm_up()
            for spec in TABS:
                try:
                    importlib.import_module(spec.module)
                except Exception:
                    pass  # _add_tab shows this lab's error in its own tab
            self.loaded.emit(list_devices())
        except BaseException as exc:  # shown in the window, never a silent trace
            self.failed.emit(f"{type(exc).__name__}: {exc}")


class _BuiltTabs(dict):
    """The labs built so far, by name. Indexing by a registered name that is not built
    yet builds it (``window.tab_instances["images"]``), as selecting it would; iterating
    gives only the built ones, so that closing never builds a lab just to stop it."""

    def __init__(self, window: "MainWindow"):
        super().__init__()
        self._window = window

    def __missing__(self, name: str) -> LabTab:
        tab = self._window.tab(name)
        if tab is None:
            raise KeyError(name)
        return tab


class MainWindow(QMainWindow):
    torch_loaded = Signal()  # torch and the tab modules are imported; the tab on show is built next
    tabs_ready = Signal()
    first_painted = Signal(float)  # time.time() of the first paint

    def __init__(self, store: SettingsStore | None = None, prefs: Preferences | None = None, *, initial_tab: str | None = None,
                 preset: str | None = None, presentation: bool | None = None, lazy_tabs: bool = True):
        """``presentation`` is this run's view (``--presentation``), not a preference: only the
        View menu changes the saved one. None: the saved preference."""
        super().__init__()
        self._lazy_tabs = lazy_tabs  # False builds every lab at start-up (the start-up benchmark's baseline)
        self._unbuilt_pages: dict[str, QWidget] = {}  # the empty page each lab has until it is first shown
        self.store = store or SettingsStore()
        self.prefs = prefs or self.store.load()
        self._presentation_now = self.prefs.presentation if presentation is None else presentation
        self._initial_tab = initial_tab or self.prefs.last_tab
        self._initial_preset = preset
        self.context = LabContext(device="cpu", settings=self.store, parent=self)
        self.tab_instances: dict[str, LabTab] = _BuiltTabs(self)
        self._bound_tab: LabTab | None = None
        self._painted = False
        self.setWindowTitle("Deep-learning lab")
        self.resize(1400, 900)

        self.stack = QStackedWidget()
        self.loading_label = QLabel("Loading PyTorch…")
        self.loading_label.setAlignment(Qt.AlignCenter)
        self.tab_widget = QTabWidget()
        self.tab_widget.setDocumentMode(True)
        self.stack.addWidget(self.loading_label)
        self.stack.addWidget(self.tab_widget)
        self.setCentralWidget(self.stack)

        self._build_toolbar()
        self._build_menus()
        self._build_status_bar()
        if self.store.set_aside:
            self.statusBar().showMessage(
                f"The settings file was too large to be the lab's: it was moved to {self.store.set_aside}, "
                "and the lab starts with its default settings."
            )

        geometry, state = self.store.window_state()
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        self._fit_to_screen()

        self._closed = False
        self._loader = _BackgroundImport(self)
        self._loader.loaded.connect(self._on_torch_loaded)
        self._loader.failed.connect(self._on_load_failed)
        QTimer.singleShot(0, self._loader.start)

    # -- construction -------------------------------------------------------------
    def _fit_to_screen(self) -> None:
        """A geometry saved on a larger screen (or the default size) would open the window
        partly off a projector's 1280×720: shrink it to the screen, centred."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return
        fitted = fit_to_screen(self.geometry(), screen.availableGeometry())
        if fitted != self.geometry():
            self.setGeometry(fitted)
    def _build_toolbar(self) -> None:
        tb = QToolBar("Main")
        tb.setObjectName("main_toolbar")
        tb.setMovable(False)
        self.addToolBar(tb)
        tb.addWidget(QLabel(" Device: "))
        self.device_combo = QComboBox()
        self.device_combo.setMinimumWidth(260)
        self.device_combo.setEnabled(False)
        self.device_combo.addItem("detecting…", "cpu")
        self.device_combo.currentIndexChanged.connect(self._on_device_chosen)
        tb.addWidget(self.device_combo)
        self.device_note = QLabel()
        self.device_note.setStyleSheet("color: #d03030;")
        tb.addWidget(self.device_note)
        spacer = QWidget()
        spacer.setSizePolicy(spacer.sizePolicy().horizontalPolicy().Expanding, spacer.sizePolicy().verticalPolicy())
        tb.addWidget(spacer)
        self.job_state_label = QLabel("Idle")
        self.job_speed_label = QLabel("")
        self.job_speed_label.setMinimumWidth(110)
        tb.addWidget(QLabel("Job: "))
        tb.addWidget(self.job_state_label)
        tb.addWidget(QLabel("  "))
        tb.addWidget(self.job_speed_label)

    def _build_menus(self) -> None:
        mb = self.menuBar()
        file_menu = mb.addMenu("&File")
        self._action(file_menu, "&Open experiment…", self.open_experiment_dialog, QKeySequence.Open)
        self._action(file_menu, "&Save experiment…", self.save_experiment_dialog, QKeySequence.Save)
        self.presets_menu = file_menu.addMenu("&Presets")
        self.presets_menu.aboutToShow.connect(self._fill_presets_menu)
        file_menu.addSeparator()
        self._action(file_menu, "&Export tab as PNG…", self.export_tab_dialog, "Ctrl+E")
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.Quit)

        view = mb.addMenu("&View")
        self.presentation_action = self._action(view, "&Presentation mode", self._toggle_presentation, "F5", checkable=True)
        self.presentation_action.setChecked(self._presentation_now)
        self._action(view, "&Larger font", lambda: self.change_font_scale(1.15), QKeySequence.ZoomIn)
        self._action(view, "&Smaller font", lambda: self.change_font_scale(1 / 1.15), QKeySequence.ZoomOut)
        self._action(view, "&Full screen", self._toggle_full_screen, "F11")
        self.dark_action = self._action(view, "&Dark theme", self._toggle_dark, "Ctrl+Shift+D", checkable=True)
        self.dark_action.setChecked(self.prefs.theme == "dark")

        help_menu = mb.addMenu("&Help")
        self._action(help_menu, "&About", self.show_about)

    def _action(self, menu, text, slot, shortcut=None, checkable=False) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        act.setCheckable(checkable)
        act.triggered.connect(lambda *_: slot())
        menu.addAction(act)
        return act

    def _build_status_bar(self) -> None:
        self.status_device = QLabel("Device: –")
        self.statusBar().addPermanentWidget(self.status_device)

    # -- loading -----------------------------------------------------------------------
    @Slot(object)
    def _on_torch_loaded(self, devices) -> None:
        if self._closed:
            return  # closed while torch loaded: a lab built now would start a job no one stops
        from core.devices import resolve

        self.torch_loaded.emit()
        self.device_combo.blockSignals(True)
        self.device_combo.clear()
        self.device_combo.addItem("auto (best available)", "auto")
        for d in devices:
            self.device_combo.addItem(d.label, d.id)
        wanted = self.prefs.device
        idx = self.device_combo.findData(wanted)
        self.device_combo.setCurrentIndex(idx if idx >= 0 else 0)
        self.device_combo.setEnabled(True)
        self.device_combo.blockSignals(False)
        self._apply_device(self.device_combo.currentData(), resolve)
        freeze_long_lived_objects()

        for spec in TABS:
            empty_page = QWidget()
            self._unbuilt_pages[spec.name] = empty_page
            self.tab_widget.addTab(empty_page, spec.title)
        names = [spec.name for spec in TABS]
        if self._initial_tab in names:
            self.tab_widget.setCurrentIndex(names.index(self._initial_tab))
        if not self._lazy_tabs:
            for name in names:
                self.tab(name)
        self.tab_widget.currentChanged.connect(self._on_tab_changed)
        self._on_tab_changed(self.tab_widget.currentIndex())  # builds the tab on show
        self.stack.setCurrentWidget(self.tab_widget)
        if self._initial_preset:
            self.open_experiment(self._initial_preset)
        self.tabs_ready.emit()

    def tab(self, name: str) -> LabTab | None:
        """The lab called ``name``, built now if it was not yet; None for a lab that could
        not start (its page says why) and before torch has loaded."""
        if name in self.tab_instances:
            return dict.__getitem__(self.tab_instances, name)
        empty_page = self._unbuilt_pages.pop(name, None)
        if empty_page is None:
            return None
        spec = tab_spec(name)
        try:
            page = tab = load_tab_class(spec)(self.context)
        except Exception as exc:  # one broken lab must not take the others down
            tab = None
            page = QLabel(f"The {spec.title} lab could not start:\n{type(exc).__name__}: {exc}")
            page.setAlignment(Qt.AlignCenter)
        index = self.tab_widget.indexOf(empty_page)
        current = self.tab_widget.currentIndex()
        # Swapping the page moves the current index for a moment: nobody needs to hear it.
        self.tab_widget.blockSignals(True)
        self.tab_widget.removeTab(index)
        self.tab_widget.insertTab(index, page, spec.title)
        self.tab_widget.setCurrentIndex(current)
        self.tab_widget.blockSignals(False)
        empty_page.deleteLater()
        if tab is not None:
            dict.__setitem__(self.tab_instances, name, tab)
            tab.status_message.connect(self._show_status)
        return tab

    @Slot(str, int)
    def _show_status(self, text: str, timeout_ms: int) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    @Slot(str)
    def _on_load_failed(self, message: str) -> None:
        self.loading_label.setText(f"PyTorch could not be loaded:\n{message}\n\nReinstall with: pip install dllab")

    # -- devices -------------------------------------------------------------------------
    @Slot(int)
    def _on_device_chosen(self, _index: int) -> None:
        from core.devices import resolve

        self._apply_device(self.device_combo.currentData(), resolve)

    def _apply_device(self, choice: str, resolve) -> None:
        from core.devices import check_device

        try:
            device = resolve(choice)
        except ValueError as exc:
            self.device_note.setText(str(exc))
            return
        ok, why = check_device(device)
        if not ok:
            self.device_note.setText(f" {why}; using the CPU")
            device = "cpu"
        else:
            self.device_note.setText("")
        before = self.context.device
        self.context.set_device(device)
        self.prefs = replace(self.prefs, device=choice)
        self.status_device.setText(f"Device: {device}")
        running = [t for t in self.tab_instances.values() if t.runner.is_active]
        if device != before and running:
            # A job keeps the device it started on (its tensors live there): say so.
            names = ", ".join(self.tab_widget.tabText(self.tab_widget.indexOf(t)) for t in running)
            self.statusBar().showMessage(f"{device} applies from the next run; {names} keeps running on {before}.", 10_000)

    # -- current tab, job state ------------------------------------------------------------
    def report_uncaught_exceptions(self) -> ExceptionReporter:
        """Show every exception nobody caught (any thread) in the current tab's banner."""
        reporter = ExceptionReporter(self)
        reporter.reported.connect(self.show_uncaught)
        reporter.install()
        self.destroyed.connect(reporter.uninstall)
        return reporter

    @Slot(str, str)
    def show_uncaught(self, message: str, details: str) -> None:
        """An uncaught exception, where the student looks: the banner, with details to copy."""
        tab = self.current_tab()
        text = f"{message}. The lab keeps running; the details are in the log ({log_path()})."
        if tab is None:
            self.statusBar().showMessage(text)
            return
        copy = ("Copy details", lambda: QApplication.clipboard().setText(details))
        tab.banner.show_message(text, "error", action=copy, details=details)

    def current_tab(self) -> LabTab | None:
        w = self.tab_widget.currentWidget()
        return w if isinstance(w, LabTab) else None

    @Slot(int)
    def _on_tab_changed(self, index: int) -> None:
        empty_page = self.tab_widget.widget(index)
        for name, w in list(self._unbuilt_pages.items()):
            if w is empty_page:
                self.tab(name)
        if self._bound_tab is not None:
            self._bound_tab.job_state_changed.disconnect(self._on_job_state)
            self._bound_tab.job_speed_changed.disconnect(self._on_job_speed)
            self._bound_tab = None
        tab = self.current_tab()
        if tab is None:
            return
        tab.job_state_changed.connect(self._on_job_state)
        tab.job_speed_changed.connect(self._on_job_speed)
        self._bound_tab = tab
        self._on_job_state(tab.job_state())
        self.prefs = replace(self.prefs, last_tab=tab.name)

    @Slot(object)
    def _on_job_state(self, state: JobState) -> None:
        self.job_state_label.setText(state.label)
        color = STATE_COLORS.get(state)
        self.job_state_label.setStyleSheet(f"color: {color}; font-weight: bold;" if color else "")
        if state != JobState.RUNNING:
            self.job_speed_label.setText("")

    @Slot(float, str)
    def _on_job_speed(self, per_s: float, unit: str) -> None:
        if self._bound_tab is not None and self._bound_tab.job_state() == JobState.RUNNING:
            # Slow jobs (a few epochs a second) need the decimal to read as moving at all.
            self.job_speed_label.setText(f"{per_s:,.1f} {unit}/s" if per_s < 10 else f"{per_s:,.0f} {unit}/s")

    # -- experiments -------------------------------------------------------------------------
    def open_experiment(self, path: str | Path) -> bool:
        try:
            exp = load_experiment(path)
            tab = self.tab(exp.tab)
            if tab is None:
                raise ValueError(f"The experiment is for the {exp.tab!r} lab, which this version does not have")
            tab.apply_experiment_state(exp.state)
        except ValueError as exc:
            QMessageBox.warning(self, "Cannot open experiment", str(exc))
            return False
        self.tab_widget.setCurrentWidget(tab)
        self.statusBar().showMessage(f"Opened {exp.title or Path(path).name}", 5000)
        return True

    def open_experiment_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open experiment", "", "Experiments (*.json)")
        if path:
            self.open_experiment(path)

    def save_experiment_dialog(self) -> None:
        tab = self.current_tab()
        if tab is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save experiment", f"{tab.name}.json", "Experiments (*.json)")
        if path:
            save_experiment(Experiment(tab.name, tab.experiment_state(), title=Path(path).stem), path)
            self.statusBar().showMessage(f"Saved {path}", 5000)

    def _fill_presets_menu(self) -> None:
        self.presets_menu.clear()
        tab = self.current_tab()
        presets = list_presets(tab.name) if tab else []
        if not presets:
            self.presets_menu.addAction("(no presets for this lab)").setEnabled(False)
        for exp in presets:
            act = self.presets_menu.addAction(exp.title or exp.path.stem)
            act.setToolTip(exp.description)
            act.triggered.connect(lambda _=False, p=exp.path: self.open_experiment(p))

    def export_tab_dialog(self) -> None:
        tab = self.current_tab()
        if tab is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export tab", f"{tab.name}.png", "PNG image (*.png)")
        if path:
            export_widget_png(tab, path if path.lower().endswith(".png") else path + ".png", scale=2.0)

    # -- view ------------------------------------------------------------------------------
    def _toggle_presentation(self) -> None:
        on = self.presentation_action.isChecked()
        theme().set_style(presentation=on)
        self.prefs = replace(self.prefs, presentation=on)

    def change_font_scale(self, factor: float) -> None:
        scale = min(3.0, max(0.5, theme().style.font_scale * factor))
        theme().set_style(font_scale=scale)
        self.prefs = replace(self.prefs, font_scale=scale)

    def _toggle_dark(self) -> None:
        dark = self.dark_action.isChecked()
        theme().set_style(dark=dark)
        self.prefs = replace(self.prefs, theme="dark" if dark else "light")

    def _toggle_full_screen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    def about_text(self) -> str:
        import torch

        cuda = torch.version.cuda or "none"
        cuda_ok = "available" if torch.cuda.is_available() else "not available"
        from PySide6 import __version__ as pyside_version
        from PySide6.QtCore import qVersion

        return (
            f"<h3>Deep-learning lab {lab.__version__}</h3>"
            f"<p>A teaching lab: live torch experiments, plots and exports.</p>"
            f"<table>"
            f"<tr><td>PyTorch</td><td>{torch.__version__}</td></tr>"
            f"<tr><td>CUDA</td><td>{cuda} ({cuda_ok})</td></tr>"
            f"<tr><td>Qt</td><td>{qVersion()} (PySide6 {pyside_version})</td></tr>"
            f"<tr><td>Python</td><td>{platform.python_version()} on {platform.system()}</td></tr>"
            f"<tr><td>Log file</td><td>{log_path()}</td></tr>"
            f"</table>"
        )

    def show_about(self) -> QMessageBox:
        # QMessageBox.about() does the same but blocks in exec(); opened window-modal, the
        # box can be looked at (and closed) by a test.
        box = QMessageBox(QMessageBox.NoIcon, "About the deep-learning lab", self.about_text(), QMessageBox.Ok, self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.setIconPixmap(self.windowIcon().pixmap(QSize(64, 64), self.devicePixelRatioF()))
        box.open()
        return box

    # -- lifetime --------------------------------------------------------------------------
    def event(self, e: QEvent) -> bool:
        # The first UpdateRequest after show() is the first frame painted to the screen.
        # (event() runs during construction too, before _painted exists.)
        if e.type() == QEvent.UpdateRequest and getattr(self, "_painted", True) is False:
            result = super().event(e)
            self._painted = True
            self.first_painted.emit(time.time())
            return result
        return super().event(e)

    def closeEvent(self, event) -> None:
        self._closed = True
        # Ask every lab's job to stop first, then join them: they wind down together. One
        # budget for all: a step that cannot be interrupted (a long torch call) is left to
        # end on its own, and the window still closes within about a second.
        for tab in self.tab_instances.values():
            tab.runner.request_stop()
        deadline = time.perf_counter() + CLOSE_BUDGET_S
        for tab in self.tab_instances.values():
            tab.runner.shutdown(timeout_ms=max(0, int((deadline - time.perf_counter()) * 1000)))
        for tab in self.tab_instances.values():
            tab.shutdown()
        if self._loader.isRunning():
            self._loader.wait()  # an import cannot be interrupted; it always ends
        self.store.save(self.prefs)
        self.store.save_window_state(self.saveGeometry(), self.saveState())
        release_frozen_objects()
        super().closeEvent(event)
