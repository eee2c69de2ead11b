"""Bias–variance lab: under- and overfitting measured over M repeated data sets,
decomposed into bias², variance and noise, with bagging, boosting, k-fold
cross-validation and early stopping.

Play runs the analysis of the page on show. On the "Fitted curves" page a change of
any setting refits at once (all M fits take milliseconds), except for the MLP,
which trains for seconds and waits for Play.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QProgressBar, QSplitter, QVBoxLayout, QWidget

from core.bias_variance.config import FAMILIES, KNOBS, validate
from core.bias_variance.job import biasvar_job
from core.bias_variance.simulation import Progress
from core.engine import Diverged, Event, Message
from lab.tabs.base import LabTab, PagedTab
from lab.tabs.bias_variance.controls import SettingsPanel
from lab.tabs.bias_variance.ensembles import BaggingPage, BoostingPage, CrossValidationPage
from lab.tabs.bias_variance.pages import ComplexityPage, EarlyStoppingPage, FitsPage, LearningPage, Page
from widgets.control_panel import fit_narrow
from widgets.lazy_page import LazyTabs
from widgets.live_plot import LivePlot
from widgets.play_controls import PlayControls

__all__ = ["BiasVarianceTab"]

AUTO_RUN_DELAY_MS = 120  # coalesce a slider drag into one refit


class BiasVarianceTab(PagedTab, LabTab):
    name = "bias_variance"
    title = "Bias–variance"

    def __init__(self, context=None, parent=None):
        super().__init__(context, parent)
        self.settings = SettingsPanel()
        fit_narrow(self.settings.widget())  # its combo boxes shrink to the column
        # Each page is made when first shown or first needed: making all seven (ten plots)
        # froze the window for a second when the lab was first selected.
        self._page_types: list[type[Page]] = [FitsPage, ComplexityPage, LearningPage, BaggingPage, BoostingPage,
                                              CrossValidationPage, EarlyStoppingPage]
        self._configured: dict | None = None  # the sweep pages' axes, for pages built later
        self.page_tabs = LazyTabs()
        for page_type in self._page_types:
            self.page_tabs.add_lazy_tab(page_type, page_type.title, page_type.key).built.connect(self._on_page_built)
        self.controls = PlayControls()
        self.bind_play_controls(self.controls)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumWidth(220)
        self.progress.hide()  # shown while a long analysis reports progress
        self.progress_label = QLabel(" ")
        self.progress_label.setMinimumHeight(self.progress.sizeHint().height())

        status = QHBoxLayout()
        status.addWidget(self.progress)
        status.addWidget(self.progress_label, 1)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.controls)
        right_layout.addLayout(status)
        right_layout.addWidget(self.page_tabs, 1)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(self.settings)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([290, 1000])
        self.set_content(split)

        self._job_page: Page = self.page()
        self._auto = QTimer(self)
        self._auto.setSingleShot(True)
        self._auto.setInterval(AUTO_RUN_DELAY_MS)
        self._auto.timeout.connect(self._auto_run)
        self.settings.changed.connect(self._on_setting_changed)
        self.page_tabs.currentChanged.connect(self._on_page_changed)

    # -- pages ------------------------------------------------------------------------
    @property
    def pages(self) -> list[Page]:
        """Every page, each built now if it was not yet (prefer :meth:`page`)."""
        return [self.page_tabs.widget(i) for i in range(self.page_tabs.count())]

    @property
    def fits_page(self) -> FitsPage:
        return self.page("fits")

    def page(self, key: str | None = None) -> Page:
        """The page shown now, or the page called ``key``; built now if it was not yet."""
        return self.page_tabs.content(key)

    def _built_pages(self) -> list[Page]:
        return [self.page_tabs.widget(i) for i in range(self.page_tabs.count()) if self.page_tabs.is_built(i)]

    @Slot(object)
    def _on_page_built(self, page: Page) -> None:
        first = next((p for p in page.plots().values() if isinstance(p, LivePlot)), None)
        if first is not None:
            first.set_hint(f"Play (Space) runs “{page.title}” on M simulated data sets and draws the result here")
        if self._configured is not None and hasattr(page, "configure"):
            page.configure(**self._configured)

    def first_view(self) -> None:
        # The fitted curves of the default setup take milliseconds: open on them. (The MLP
        # trains for seconds; its page keeps the hint and waits for Play.)
        self._on_page_changed(self.page_tabs.currentIndex())

    # -- LabTab -----------------------------------------------------------------------
    def current_job(self):
        page = self.page()
        cfg = self.settings.config(page.analysis, self.device)
        validate(cfg)  # a bad setup is refused here, before anything runs
        field, label, more_complex_right = KNOBS[cfg.knob]
        x_label = "log₁₀ ridge λ" if cfg.knob == "ridge" else label
        self._configured = dict(x_label=x_label, log_x=cfg.knob == "ridge", more_complex_right=more_complex_right,
                                task=cfg.task)
        for p in self._built_pages():  # a page built later is configured as it is built
            if hasattr(p, "configure"):
                p.configure(**self._configured)
        knob_field = KNOBS[cfg.family][0]
        if isinstance(page, FitsPage):  # its label names the model of the fits it draws
            page.model_label = f"{FAMILIES[cfg.family]}, {knob_field} = {getattr(cfg, knob_field)}"
            if cfg.family == "poly" and cfg.ridge > 0:
                page.model_label += f", λ = {cfg.ridge:g}"
        page.prepare(cfg)
        self._job_page = page
        self.progress.setValue(0)
        self.progress_label.setText(" ")
        return biasvar_job, cfg

    @Slot(object)
    def on_event(self, event: Event) -> None:
        if isinstance(event, Progress):
            self.progress.show()
            self.progress.setValue(round(1000 * event.done / max(event.total, 1e-9)))
            self.progress_label.setText(event.label)
        elif isinstance(event, Message):
            self.banner.show_message(event.text, "info")
        elif isinstance(event, Diverged) and event.series:  # one point of a sweep (the base shows a whole-job one)
            self.banner.show_message(f"Diverged: {event.message}", "warning")
        else:
            self._job_page.on_event(event)

    def reset_view(self) -> None:
        self._job_page = self.page()
        self._job_page.reset()
        self.progress.hide()
        self.progress.setValue(0)
        self.progress_label.setText(" ")

    def run_to_end(self, job_spec=None, max_events=None) -> int:
        n = super().run_to_end(job_spec, max_events)
        self._job_page.flush()
        # Let the plots lay out their new ranges (axes, legends) before the tab is rendered.
        QApplication.processEvents()
        return n

    def plots(self) -> dict:
        self.page().flush()
        return self.page().plots()

    def experiment_state(self) -> dict:
        return {"page": self.page().key, "settings": self.settings.state()}

    def apply_experiment_state(self, state: dict) -> None:
        if not isinstance(state, dict):
            raise ValueError("The experiment state must be an object")
        unknown = set(state) - {"page", "settings"}
        if unknown:
            raise ValueError(f"Unknown keys in the experiment: {', '.join(sorted(unknown))}")
        page_key = state.get("page", "fits")
        self.page(page_key)  # checks the name before anything changes
        settings = state.get("settings", {})
        if not isinstance(settings, dict):
            raise ValueError("'settings' must be an object")
        previous = self.settings.state()
        try:
            self.settings.apply_state(settings)
        except ValueError:
            self.settings.apply_state(previous)  # a bad file changes nothing
            raise
        finally:
            self._auto.stop()
        self.show_page(page_key)
        if self.isVisible():
            self._on_setting_changed("state")

    # -- live refit -----------------------------------------------------------------
    @Slot(str)
    def _on_setting_changed(self, _name: str) -> None:
        if self.page().key == "fits" and self.settings.family.currentData() != "mlp":
            self._auto.start()

    @Slot(int)
    def _on_page_changed(self, _index: int) -> None:
        if self.page().key == "fits" and self.page().data is None and not self.runner.is_active:
            if self.settings.family.currentData() != "mlp":
                self._auto.start()

    @Slot()
    def _auto_run(self) -> None:
        if self.page().key == "fits":
            self.start()
