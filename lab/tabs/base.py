"""What every lab tab is: a widget with a job runner, a message banner, named plots,
an experiment state that saves to JSON, and a headless render for ``dllab render``.

A subclass builds its controls and plots, implements :meth:`on_event` (a slot on the
GUI thread), :meth:`current_job`, :meth:`experiment_state` and
:meth:`apply_experiment_state`, and lists its exportable views in :meth:`plots`.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator

import pyqtgraph as pg
from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication, QTabWidget, QVBoxLayout, QWidget

from core.engine import Cancelled, Diverged, Event, RunControl
from lab.gif_writer import GifWriter
from lab.runner import JobFailure, JobRunner, JobState
from lab.settings import SettingsStore
from widgets.banner import MessageBanner
from widgets.export import export_plot, export_widget_png
from widgets.live_plot import LivePlot
from widgets.play_controls import PlayControls

__all__ = ["LabTab", "LabContext", "JobSpec", "PagedTab"]

JobSpec = tuple[Callable[[Any, RunControl], Iterator[Event]], Any]

# What a check written for a number or a list raises when a file gives it a value of
# another kind or size ('<=' on a string, float() of 10**400, a dict where a list was).
WRONG_KIND_ERRORS = (TypeError, KeyError, AttributeError, IndexError, OverflowError)


def refusing_as_value_error(title: str, apply: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    """``apply`` that raises ValueError only, its message starting with the lab's title,
    so that the main window and ``dllab render`` show every refusal the same way. A tab
    still checks the whole state before it changes anything; this only makes sure that
    a check it forgot reads as a refusal, not as a crash."""

    def named(message: str) -> str:
        return message if message.startswith(f"{title}:") else f"{title}: {message}"

    @functools.wraps(apply)
    def apply_or_refuse(self, state) -> None:
        try:
            apply(self, state)
        except ValueError as exc:
            raise ValueError(named(str(exc))) from None
        except WRONG_KIND_ERRORS as exc:
            raise ValueError(named(f"a value in the experiment is of the wrong kind or size ({exc})")) from None

    return apply_or_refuse


class LabContext(QObject):
    """What the main window shares with every tab: the chosen device and the settings."""

    device_changed = Signal(str)

    def __init__(self, device: str = "cpu", settings: SettingsStore | None = None, parent=None):
        super().__init__(parent)
        self._device = device
        self.settings = settings

    @property
    def device(self) -> str:
        return self._device

    def set_device(self, device: str) -> None:
        if device != self._device:
            self._device = device
            self.device_changed.emit(device)


class LabTab(QWidget):
    name: ClassVar[str] = ""
    title: ClassVar[str] = ""

    # What the window's toolbar shows: the tab's work, which is its runner's job unless
    # the tab plays something of its own (the convolution stepper).
    job_state_changed = Signal(object)  # JobState
    job_speed_changed = Signal(float, str)  # how many per second, and of what ("epochs")
    status_message = Signal(str, int)  # text, milliseconds to show it (0: until the next); the window's status bar

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "apply_experiment_state" in cls.__dict__:
            cls.apply_experiment_state = refusing_as_value_error(cls.title or cls.__name__, cls.__dict__["apply_experiment_state"])

    def __init__(self, context: LabContext | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context or LabContext()
        self.runner = JobRunner(self)
        self.banner = MessageBanner()
        self._outer = QVBoxLayout(self)
        self._outer.setContentsMargins(6, 6, 6, 6)
        self._outer.addWidget(self.banner)
        self.runner.event.connect(self._dispatch)
        self.runner.failed.connect(self._on_job_failed)
        self.runner.state_changed.connect(self._on_runner_state)
        self.runner.speed_changed.connect(self._on_runner_speed)
        self._shown_once = False
        self._first_view_wanted = True
        self._first_view_done = False
        self._preview_generation = -1
        self._gif_writers: list[GifWriter] = []

    # -- for subclasses ---------------------------------------------------------
    def set_content(self, widget: QWidget) -> None:
        self._outer.addWidget(widget, 1)

    @property
    def device(self) -> str:
        return self.context.device

    def current_job(self) -> JobSpec:
        """The job Play starts, from the controls as they are now (ValueError if bad)."""
        raise NotImplementedError

    @Slot(object)
    def on_event(self, event: Event) -> None:
        """Handle one event from the job, on the GUI thread."""

    def reset_view(self) -> None:
        """Clear results before a fresh run (Reset)."""

    def first_view(self) -> None:
        """Called once, just after the tab is first shown (not at construction, so that
        the window opens fast): start the default experiment where its result takes
        under a second, so the tab opens on a result, not on empty plots."""

    def job_state(self) -> JobState:
        """What the tab is doing now, as the toolbar shows it."""
        return self.runner.state

    def plots(self) -> dict[str, QWidget]:
        """The views that export and render: name -> LivePlot or any widget."""
        return {}

    def experiment_state(self) -> dict:
        return {}

    def apply_experiment_state(self, state: dict) -> None:
        """Restore a saved setup; raise ValueError (and change nothing) when it is bad.

        A subclass checks the whole state first (types, ranges, choices, lengths, with
        the field's name in the message) and only then changes anything; the class
        makes whatever its checks raise a ValueError that names the lab."""

    # -- running ----------------------------------------------------------------
    def start(self, *, paused: bool = False) -> bool:
        """Start the current setup as a job; a bad setup shows its reason instead."""
        try:
            job, cfg = self.current_job()
        except ValueError as exc:
            self.banner.show_message(str(exc), "warning")
            return False
        self.banner.hide()
        self.reset_view()
        self.runner.start(job, cfg, paused=paused)
        return True

    def start_preview(self, job, cfg, *, full_speed: bool = False) -> int:
        """Run a job the tab starts by itself (its first view, a refresh after a setting
        changed), not one the user asked for: Play while it runs starts the user's run of
        the setup on screen, rather than pausing the preview (which would leave a half
        result and a Play button that does nothing visible), and the play button says
        "Play" meanwhile."""
        self._preview_generation = self.runner.generation + 1  # before start() reports the new state
        return self.runner.start(job, cfg, full_speed=full_speed)

    def preview_running(self) -> bool:
        return self.runner.is_active and self.runner.generation == self._preview_generation

    def bind_play_controls(self, controls: PlayControls, start: Callable[..., bool] | None = None) -> None:
        """Wire play/pause, step, reset and speed to this tab's runner."""
        start = start or self.start

        def play_pause():
            if self.runner.is_active and not self.preview_running():
                self.runner.toggle()
            else:
                start()

        def step():
            if self.runner.is_active and not self.preview_running():
                self.runner.step()
            elif start(paused=True):
                self.runner.step()

        def reset():
            self.runner.stop()
            self.reset_view()

        def show_state(state):
            controls.set_state(JobState.IDLE if self.preview_running() else state, self.runner.has_run)

        controls.play_pause_requested.connect(play_pause)
        controls.step_requested.connect(step)
        controls.reset_requested.connect(reset)
        controls.speed_changed.connect(self.runner.set_max_rate)
        self.runner.state_changed.connect(show_state)
        show_state(self.runner.state)

    def run_to_end(self, job_spec: JobSpec | None = None, max_events: int | None = None) -> int:
        """Run a job here, synchronously, through the same event handler (headless use)."""
        job, cfg = job_spec or self.current_job()
        # This run's result replaces the view: a job still running (the first view's
        # preview) would draw over it, and a first view still due would start one.
        self._first_view_wanted = False
        if self.runner.is_active:
            self.runner.stop()
        self.reset_view()
        n = 0
        try:
            for ev in job(cfg, RunControl()):
                self._dispatch(ev)
                n += 1
                if max_events is not None and n >= max_events:
                    break
        except Cancelled:
            pass
        for w in self.plots().values():
            if isinstance(w, LivePlot):
                w.redraw()
        return n

    def render_to(self, out_dir: str | Path, scale: float = 2.0) -> list[Path]:
        """Run the current setup to its end and write every view as PNG (and CSV)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.run_to_end()
        return self.export_views(out, scale)

    def export_views(self, out: Path, scale: float = 2.0) -> list[Path]:
        # After a synchronous run the axes and layouts have not caught up with the data
        # yet (they update from the event loop); let them, or the figures show old ticks.
        QApplication.processEvents()
        written = []
        for name, view in self.plots().items():
            if isinstance(view, LivePlot):
                written.append(view.export(out / f"{name}.png", scale))
                if view.names():
                    written.append(view.export(out / f"{name}.csv"))
            elif isinstance(view, pg.PlotWidget):
                written.append(export_plot(view, out / f"{name}.png", scale))
            elif hasattr(view, "export"):
                written.extend(view.export(out / name, scale))
            else:
                written.append(export_widget_png(view, out / f"{name}.png", scale))
        written.append(export_widget_png(self, out / f"{self.name}_tab.png", 1.0))
        return written

    def make_gif_writer(self) -> GifWriter:
        """A GIF writer of this tab's own: its progress and end in the status bar, its
        errors in the banner too; stopped and joined with the tab."""
        writer = GifWriter(self)
        writer.progress.connect(self._gif_progress)
        writer.saved.connect(self._gif_saved)
        writer.failed.connect(self._gif_failed)
        self._gif_writers.append(writer)
        return writer

    def shutdown(self) -> None:
        for writer in self._gif_writers:
            writer.shutdown()
        self.runner.shutdown()

    # -- internals ------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            QTimer.singleShot(0, self._on_first_shown)  # after the first frame is painted

    @property
    def first_view_pending(self) -> bool:
        """Shown, or about to be, but its first view has not had its turn yet."""
        return not self._first_view_done

    @Slot()
    def _on_first_shown(self) -> None:
        self._first_view_done = True
        # Not when a preset opened with the window runs already, or a result is on screen.
        if self._first_view_wanted and not self.runner.is_active:
            self.first_view()

    @Slot(object)
    def _on_runner_state(self, _state) -> None:
        self.job_state_changed.emit(self.job_state())

    @Slot(float)
    def _on_runner_speed(self, per_s: float) -> None:
        self.job_speed_changed.emit(per_s, self.runner.speed_unit)

    @Slot(object)
    def _dispatch(self, event: Event) -> None:
        if isinstance(event, Diverged) and not event.series:
            self.banner.show_message(f"Diverged at step {event.step}: {event.message}", "warning")
        self.on_event(event)

    @Slot(object)
    def _on_job_failed(self, failure: JobFailure) -> None:
        from core.devices import describe_failure, is_accelerator_failure

        if is_accelerator_failure(failure.exception, self.device):
            self.banner.show_message(
                describe_failure(failure.exception, self.device),
                "error",
                action=("Rerun on CPU", self._rerun_on_cpu),
                details=failure.details,
            )
        else:
            self.banner.show_message(f"The run stopped with an error: {failure.message}", "error", details=failure.details)

    @Slot(str)
    def _gif_progress(self, text: str) -> None:
        self.status_message.emit(text, 0)

    @Slot(str)
    def _gif_saved(self, path: str) -> None:
        self.status_message.emit(f"Saved {path}", 8000)

    @Slot(str)
    def _gif_failed(self, text: str) -> None:
        self.status_message.emit(text, 8000)
        self.banner.show_message(text, "warning")

    def _rerun_on_cpu(self) -> None:
        self.context.set_device("cpu")

        def on_cpu(cfg):
            if dataclasses.is_dataclass(cfg) and hasattr(cfg, "device"):
                return dataclasses.replace(cfg, device="cpu")
            return cfg

        self.reset_view()
        self.runner.rerun(on_cpu)


class PagedTab:
    """Mixin for a lab whose content is a QTabWidget ``page_tabs`` of ``pages``, each
    with a ``key`` (used in experiment files and by the command line)."""

    pages: list
    page_tabs: QTabWidget

    def page(self, key: str | None = None):
        """The page shown now, or the page called ``key``."""
        if key is None:
            return self.pages[self.page_tabs.currentIndex()]
        for p in self.pages:
            if p.key == key:
                return p
        raise ValueError(f"No page {key!r}; choose one of {', '.join(p.key for p in self.pages)}")

    def show_page(self, key: str) -> None:
        self.page_tabs.setCurrentWidget(self.page(key))
