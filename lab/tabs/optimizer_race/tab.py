"""The optimizer race: SGD to Adam side by side, on 2-D loss surfaces and on real networks.

Three pages share one runner and one set of play controls: the race on a surface
(with a fair-race tuner and a step-by-step panel), the race on a network, and the
batch-size experiment. Play starts the visible page's job.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from core.engine import Diverged, Event, Finished, Message
from lab.tabs.base import LabTab
from lab.tabs.optimizer_race.network_race import BatchPage, NetPage
from lab.tabs.optimizer_race.surface import SurfacePage
from widgets.export import save_gif
from widgets.lazy_page import LazyTabs
from widgets.play_controls import PlayControls

__all__ = ["OptimizersTab"]

PAGES = ("surface", "network", "batch")
GIF_FRAMES = 60


class OptimizersTab(LabTab):
    name = "optimizers"
    title = "Optimizer race"

    def __init__(self, context=None, parent=None):
        super().__init__(context, parent)
        self.gif_writer = self.make_gif_writer()
        # Each page (14 plots in all) is made when first shown or first needed: making
        # them all froze the window for over a second when the lab was first selected.
        self.pages = LazyTabs()
        self._lazy = {}
        for key, make, title in (("surface", SurfacePage, "Race on a surface"), ("network", NetPage, "Race on a network"),
                                 ("batch", BatchPage, "Batch size")):
            self._lazy[key] = self.pages.add_lazy_tab(make, title)
            self._lazy[key].built.connect(self._on_page_built)
        self.controls = PlayControls()
        self.controls.speed_slider.setValue(7)  # 200 steps/s: slow enough to watch the paths
        self.gif_button = QPushButton("Save race as GIF…")
        self.gif_button.setToolTip("The contour map with every path, step by step, as an animated GIF")
        self.gif_button.clicked.connect(self._save_gif_dialog)
        bar = QHBoxLayout()
        bar.addWidget(self.controls, 1)
        bar.addWidget(self.gif_button)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.pages, 1)
        self.set_content(body)
        self.bind_play_controls(self.controls)
        self.runner.set_max_rate(self.controls.speed)
        self._job_page: QWidget | None = None
        self._tuning = False
        self._tuning_text = ""

    # -- pages ------------------------------------------------------------------
    @property
    def surface_page(self) -> SurfacePage:
        return self._lazy["surface"].ensure_built()

    @property
    def net_page(self) -> NetPage:
        return self._lazy["network"].ensure_built()

    @property
    def batch_page(self) -> BatchPage:
        return self._lazy["batch"].ensure_built()

    @Slot(object)
    def _on_page_built(self, page) -> None:
        page.setup_changed.connect(self._on_setup_changed)
        if isinstance(page, SurfacePage):
            page.tune_requested.connect(self.start_tuning)

    # -- jobs -------------------------------------------------------------------
    def current_page(self) -> str:
        return PAGES[self.pages.currentIndex()]

    def _page(self, key: str):
        return self._lazy[key].ensure_built()

    def current_job(self):
        page = self._page(self.current_page())
        job = page.job(self.device)
        self._job_page = page
        self._tuning = False
        return job

    def first_view(self) -> None:
        # The default race takes a fraction of a second at full speed: open on its paths
        # and leaderboard, not on an empty map. Play then races again at the slider's pace.
        if self.current_page() != "surface":
            return
        try:
            job, cfg = self.current_job()
        except ValueError:
            return
        self.reset_view()
        self.start_preview(job, cfg, full_speed=True)

    @Slot()
    def _on_setup_changed(self) -> None:
        if self._job_page is self.sender():
            self.runner.stop()  # its next chunk would draw the old race over the new setup

    @Slot()
    def start_tuning(self) -> bool:
        """The fair race: tune every learning rate as a job, then race with the results."""
        try:
            job, cfg = self.surface_page.tuning_job(self.device)
        except ValueError as exc:
            self.banner.show_message(str(exc), "warning")
            return False
        self.pages.setCurrentIndex(0)
        self.banner.show_message("Tuning each optimizer's learning rate…", "info")
        self._job_page, self._tuning = self.surface_page, True
        self.surface_page.reset()
        self.runner.set_max_rate(None)  # tuning runs at full speed whatever the slider says
        self.runner.start(job, cfg)
        return True

    @Slot(object)
    def on_event(self, ev: Event) -> None:
        if self._tuning:
            if isinstance(ev, Message):
                self._tuning_text = ev.text
                self.banner.show_message(ev.text, "info")
            elif isinstance(ev, Finished) and "lrs" in ev.summary:
                self._tuning = False
                self.surface_page.apply_tuning(ev.summary)
                self.runner.set_max_rate(self.controls.speed)
                if self.start():
                    self.banner.show_message(self._tuning_text, "info")
            return
        if isinstance(ev, Diverged) and ev.series:
            self.banner.show_message(ev.message + " (the others race on)", "warning")
        if self._job_page is not None:
            self._job_page.on_event(ev)

    def reset_view(self) -> None:
        page = self._job_page or self._page(self.current_page())
        page.reset()

    # -- views and export ---------------------------------------------------------
    def plots(self) -> dict:
        """The views of the page on show (the other pages' plots are empty or stale)."""
        return self._page(self.current_page()).plots()

    def export_views(self, out: Path, scale: float = 2.0) -> list[Path]:
        # After a headless run no frame has drawn yet: bring the map and panels up to date.
        if self._lazy["surface"].is_built:
            self.surface_page.contour.redraw()
            self.surface_page.redraw()
        written = super().export_views(out, scale)
        # The map also gives SVG and its paths as CSV (the base writes plain plots as PNG only).
        if self.current_page() != "surface":
            return written
        written += [p for p in self.surface_page.contour.export(out / "contour", scale) if p not in written]
        if self.surface_page.contour.n_points() > 1:
            written.append(self.save_gif(out / "race.gif"))
        return written

    def save_gif(self, path: str | Path, frames: int = GIF_FRAMES) -> Path:
        """The race on the map as an animated GIF of ``frames`` pictures."""
        images = self.surface_page.contour.frames(frames)
        return save_gif(images, path, fps=12)

    @Slot()
    def _save_gif_dialog(self) -> None:
        if self.surface_page.contour.n_points() < 2:
            self.banner.show_message("Run or step the race on a surface first, then save it as a GIF", "warning")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save race as GIF", "optimizer_race.gif", "*.gif")
        if path:
            self.write_gif(path if path.lower().endswith(".gif") else path + ".gif")

    def write_gif(self, path: str | Path, frames: int = GIF_FRAMES) -> None:
        """The window's GIF export: one frame grabbed per pass of the event loop, encoded on a worker."""
        contour = self.surface_page.contour
        self.runner.pause()  # the frames replay the paths drawn so far; a running race would draw over them
        marks = contour.frame_marks(frames)
        try:
            self.gif_writer.record(lambda i: contour.frame_upto(marks[i]), len(marks), path, fps=12,
                                   finish=lambda: contour.show_upto(None))
        except ValueError as exc:
            self.banner.show_message(str(exc), "warning")

    def render_to(self, out_dir, scale: float = 2.0) -> list[Path]:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.run_to_end()
        return self.export_views(out, scale)

    # -- experiment files -------------------------------------------------------
    def experiment_state(self) -> dict:
        # A page never shown is built here: its defaults are what it would show.
        return {
            "page": self.current_page(),
            "surface": self.surface_page.state(),
            "network": self.net_page.state(),
            "batch": self.batch_page.state(),
        }

    def apply_experiment_state(self, state: dict) -> None:
        if not isinstance(state, dict):
            raise ValueError("An optimizer-race experiment must be a JSON object")
        page = state.get("page", "surface")
        if not (isinstance(page, str) and page in PAGES):
            raise ValueError(f"'page' must be one of {', '.join(PAGES)}")
        parts = {key: state.get(key, {}) for key in PAGES}
        for key, part in parts.items():
            if not isinstance(part, dict):
                raise ValueError(f"'{key}' must be an object")
        # A page not built yet already shows the defaults an empty part asks for: it stays
        # unbuilt. Every other page is built, and checked before any changes, so that a bad
        # file changes nothing.
        keys = [key for key in PAGES if parts[key] or self._lazy[key].is_built or key == page]
        for key in keys:
            try:
                self._page(key).check_state(parts[key])
            except ValueError as exc:
                raise ValueError(f"'{key}' page: {exc}") from None
        for key in keys:
            self._page(key).apply_state(parts[key])
        self.pages.setCurrentIndex(PAGES.index(page))
