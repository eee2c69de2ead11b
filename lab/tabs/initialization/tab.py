"""Initialization explorer: watch signals and gradients live or die through a deep network.

The classic lecture experiment (a 10-layer tanh network of width 500 fed 1,000 Gaussian
inputs; weights ×0.01 collapse, ×1.0 saturate, Xavier stays healthy) and its
generalizations. Changing a control recomputes the statistics on the worker thread at
once (a newer run drops the older one's results); Play also trains a copy of the
network from each ticked scheme.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QTimer, Slot
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from core.engine import Diverged, Event, History, Message, Snapshot
from core.initialization.stats import StatsConfig
from core.initialization.training import InitExperimentConfig, InitTrainConfig, run_experiment
from lab.tabs.base import LabTab
from lab.tabs.initialization.controls import InitControls
from lab.tabs.initialization.views import SignalsView, TrainingView
from widgets.export import export_widget_png
from widgets.lazy_page import LazyTabs
from widgets.play_controls import PlayControls
from widgets.redraw import request_redraw

__all__ = ["InitializationTab"]

PAGES = ("signals", "training")  # the pages' keys in experiment files, in tab order
RECOMPUTE_EVERY_MS = 40  # a slider drag starts at most one run per 40 ms, the last value always


class InitializationTab(LabTab):
    name = "initialization"
    title = "Initialization"

    def __init__(self, context=None, parent=None):
        super().__init__(context, parent)
        self.controls = InitControls()
        self.signals = SignalsView()
        self.pages = LazyTabs()
        self.pages.addTab(self.signals, "Signals through depth")
        # The training page (two plots) is made when first shown or needed; what a run
        # sends it before then waits here, in order, and is replayed into it when it is made.
        self._training_backlog: list[tuple[str, tuple]] = []
        self._training = self.pages.add_lazy_tab(self._make_training_view, "Training from each scheme")
        self.play = PlayControls()
        self.play.setToolTip("Play: the statistics, then a short training run from each ticked scheme")
        self.sheet_button = QPushButton("Comparison sheet PNG…")
        self.sheet_button.setToolTip("The histograms of every scheme side by side and the curves below, as one PNG")
        self.export_button = QPushButton("Export all views…")
        self.export_button.setToolTip("Every plot as PNG (and CSV, SVG for the histograms) into a folder")
        self.sheet_button.clicked.connect(self._comparison_sheet_dialog)
        self.export_button.clicked.connect(self._export_all_dialog)
        top = QHBoxLayout()
        top.addWidget(self.play, 1)
        top.addWidget(self.sheet_button)
        top.addWidget(self.export_button)
        right = QWidget()
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(top)
        column.addWidget(self.pages, 1)
        content = QWidget()
        layout = QHBoxLayout(content)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.controls)
        layout.addWidget(right, 1)
        self.set_content(content)

        self.results: dict[str, dict] = {}
        self.notes: list[str] = []
        self._dirty = False  # results or view choices changed since the signals view was drawn
        self._recompute_timer = QTimer(self)
        self._recompute_timer.setSingleShot(True)
        self._recompute_timer.setInterval(RECOMPUTE_EVERY_MS)
        self._recompute_timer.timeout.connect(self.recompute_statistics)

        self.bind_play_controls(self.play)
        self.controls.changed.connect(self._schedule_recompute)
        self.controls.view_changed.connect(self._mark_dirty)
        self.signals.set_schemes(self.controls.checked_schemes())
        self._recompute_timer.start()

    # -- the training page ---------------------------------------------------------------
    def _make_training_view(self) -> TrainingView:
        view = TrainingView()
        for method, args in self._training_backlog:
            getattr(view, method)(*args)
        self._training_backlog.clear()
        return view

    @property
    def training(self) -> TrainingView:
        return self._training.ensure_built()

    def _to_training(self, method: str, *args) -> None:
        """Call the training view's ``method``, or keep the call for when it is made."""
        if self._training.is_built:
            getattr(self.training, method)(*args)
        elif method == "clear":
            self._training_backlog.clear()
        else:
            self._training_backlog.append((method, args))

    # -- configs ---------------------------------------------------------------------------
    def _stats_config(self) -> StatsConfig:
        c = self.controls
        schemes = c.scheme_choices()
        if not schemes:
            raise ValueError("Tick at least one initialization to compare")
        return StatsConfig(
            c.network(),
            schemes,
            input_dim=int(c.input_dim.value()),
            batch=int(c.batch.value()),
            inputs=c.inputs.currentData(),
            device=self.device,
        )

    def _train_config(self) -> InitTrainConfig | None:
        c = self.controls
        steps = int(c.train_steps.value())
        if steps == 0:
            return None
        return InitTrainConfig(
            c.network(),
            c.scheme_choices(),
            dataset=c.dataset.currentData(),
            steps=steps,
            optimizer=c.optimizer.currentData(),
            lr=float(c.lr.value()),
            device=self.device,
        )

    def current_job(self):
        """Play: the statistics, then the short training runs."""
        return run_experiment, InitExperimentConfig(self._stats_config(), self._train_config(), self.device)

    @Slot()
    def _schedule_recompute(self) -> None:
        """Throttle, not debounce: a continuous drag keeps updating the plots, and the
        recompute reads the controls when it fires, so the last value is never lost."""
        if not self._recompute_timer.isActive():
            self._recompute_timer.start()

    def start(self, *, paused: bool = False) -> bool:
        """Play: a pending recompute would replace this run, so it is dropped."""
        self._recompute_timer.stop()
        return super().start(paused=paused)

    @Slot()
    def recompute_statistics(self) -> None:
        """Rerun the statistics only, keeping the columns on screen until new ones arrive."""
        try:
            cfg = InitExperimentConfig(self._stats_config(), None, self.device)
        except ValueError as exc:
            self.banner.show_message(f"{exc}. The last good result stays on screen.", "warning")
            return
        self.banner.hide()
        self.notes = []
        self._to_training("clear")  # trained under other settings: no longer what is shown
        keys = self.controls.checked_schemes()
        self.results = {k: v for k, v in self.results.items() if k in keys}
        self.signals.set_schemes(keys)
        # A preview: Play while it runs (e.g. just after a preset loaded) starts the whole
        # experiment, statistics and training, instead of pausing these statistics.
        self.start_preview(run_experiment, cfg)

    # -- events ------------------------------------------------------------------------------
    @Slot(object)
    def on_event(self, event: Event) -> None:
        if isinstance(event, Snapshot) and event.kind == "layers":
            self.results[event.data["scheme"]] = event.data
            self._mark_dirty()
        elif isinstance(event, Snapshot) and event.kind == "symmetry":
            self._to_training("show_symmetry", {**event.data, "step": event.step})
        elif isinstance(event, History):
            self._to_training("add_history", event.series, event.steps, event.values)
        elif isinstance(event, Diverged) and event.series:
            self.notes.append(f"{event.message} (diverged at step {event.step})")
            self.banner.show_message("; ".join(self.notes), "warning")
        elif isinstance(event, Message):
            self.notes.append(event.text)
            self.banner.show_message("; ".join(self.notes), "warning")

    @Slot()
    def _mark_dirty(self) -> None:
        self._dirty = True
        request_redraw(self)

    def redraw(self) -> None:
        """Draw the signals view from the latest results (the redraw scheduler calls this
        after a change; exports call it to catch up)."""
        if not self._dirty:
            return
        self._dirty = False
        c = self.controls
        self.signals.show_results(
            self.results, c.show_what.currentData(), c.hist_mode.currentData(), c.hist_scale.currentData() == "shared"
        )

    def reset_view(self) -> None:
        self.results = {}
        self.notes = []
        self.signals.set_schemes(self.controls.checked_schemes())
        self.signals.clear()
        self._to_training("clear")
        self._mark_dirty()

    # -- export and state ---------------------------------------------------------------------
    def plots(self) -> dict:
        views: dict[str, QWidget] = {"comparison_sheet": self.signals}
        views.update({f"histograms_{key}": col.histograms for key, col in self.signals.columns.items()})
        views.update(self.signals.depth_plots())
        views.update({"training_loss": self.training.loss, "update_weight_ratio": self.training.ratio})
        return views

    def save_comparison_sheet(self, path: str | Path, scale: float = 2.0) -> Path:
        """The signals view (every scheme's histograms and the curves across depth) as PNG."""
        self.redraw()
        for plot in self.signals.depth_plots().values():
            plot.redraw()
        return export_widget_png(self.signals, path, scale)

    def _comparison_sheet_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save comparison sheet", "initialization_comparison.png", "*.png")
        if path:
            written = self.save_comparison_sheet(path if path.lower().endswith(".png") else path + ".png")
            self.banner.show_message(f"Saved {written}", "info")

    def _export_all_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export every view into a folder")
        if folder:
            self.redraw()
            written = self.export_views(Path(folder), 2.0)
            self.banner.show_message(f"Wrote {len(written)} files to {folder}", "info")

    def render_to(self, out_dir: str | Path, scale: float = 2.0) -> list[Path]:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self._recompute_timer.stop()  # the synchronous run below replaces it
        self.runner.shutdown()  # and a run in flight must not deliver its (other) results into it
        self.run_to_end()
        self.redraw()
        for plot in self.signals.depth_plots().values():
            plot.redraw()
        QCoreApplication.processEvents()  # let the headers' layout take their new text
        written = self.export_views(out, scale)
        if self.controls.train_steps.value():
            shown = self.pages.currentIndex()
            self.pages.setCurrentWidget(self.training)
            written.append(export_widget_png(self.training, out / "training_page.png", 1.0))
            self.pages.setCurrentIndex(shown)
        return written

    def experiment_state(self) -> dict:
        return {**self.controls.state(), "page": PAGES[self.pages.currentIndex()]}

    def apply_experiment_state(self, state: dict) -> None:
        """The setup, on the page it names. A setup on the training page is Played at
        once: that page is empty until Play trains, and a preset about training (the
        zero-init symmetry check) must show its result without a second step."""
        if not isinstance(state, dict):
            raise ValueError("The experiment state must be an object")
        state = dict(state)
        page = state.pop("page", "signals")
        if page not in PAGES:
            raise ValueError(f"'page' must be one of {', '.join(PAGES)}, got {page!r}")
        if page == "training" and not state.get("train_steps", self.controls.state()["train_steps"]):
            raise ValueError("The training page needs 'train_steps' above 0")
        self.controls.apply_state(state)
        self.signals.set_schemes(self.controls.checked_schemes())
        self.pages.setCurrentIndex(PAGES.index(page))
        self._mark_dirty()
        if page == "training":
            self.start()
        else:
            self._recompute_timer.start()
