"""Augmentation preview and preprocessing: build a real torchvision pipeline and see
what the network will see.

Every change to the pipeline, the image, the seed or the number of draws starts a
fresh grid job (the runner stops the old one and drops its stale results); the draws
arrive progressively and are painted on the redraw scheduler's frames (at most ~30 a
second). The grid on screen is only replaced draw by draw, so a pipeline that fails on
an image leaves the last good grid.
torchvision is imported by the job (on the worker thread), never by this module.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QFileDialog, QHBoxLayout, QLabel, QPlainTextEdit, QSplitter, QVBoxLayout, QWidget

from core.augmentation.draws import MAX_DRAWS, GridConfig, draw_grid_job
from core.datasets.samples import load_image_file, load_sample, sample_names
from core.engine import Event, Finished, Snapshot
from core.transforms import default_spec, load_spec, normalize_spec, spec_to_json
from lab.tabs.augmentation.controls import ControlColumn
from lab.tabs.augmentation.views import HistogramPanel, MixPage, PreprocessPage
from lab.tabs.base import LabTab
from widgets.export import export_widget_png
from widgets.image_grid_view import ImageGridView
from widgets.lazy_page import LazyTabs
from widgets.live_plot import LivePlot
from widgets.redraw import request_redraw

__all__ = ["AugmentationTab"]

VIEWS = ("grid", "mix", "preprocess", "code")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff"}
MAX_FOLDER_IMAGES = 16


SHAPES_DATASET = "dataset:shapes"  # the image reference of the built-in shapes batch


def shapes_batch(size: int = 64) -> list[tuple[str, np.ndarray]]:
    """One generated shape per class of the image-networks lab, as RGB uint8 images."""
    from core.datasets.images import builtin_dataset

    images, labels, names = builtin_dataset(n_per_class=1, size=size, seed=0)
    batch = []
    for k, name in enumerate(names):
        gray = (images[int((labels == k).nonzero()[0, 0])][0].numpy() * 255).round().astype(np.uint8)
        batch.append((name, np.repeat(gray[..., None], 3, axis=2)))
    return batch


class AugmentationTab(LabTab):
    name = "augmentation"
    title = "Augmentation"

    def __init__(self, context=None, parent=None):
        super().__init__(context, parent)
        self.controls = ControlColumn()
        self.original_view = ImageGridView(1, cell_size=180, columns=1)
        self.original_view.setMaximumWidth(240)
        self.grid_view = ImageGridView(16, cell_size=110)
        self.grid_view.setToolTip("")
        self.sweep_view = ImageGridView(0, cell_size=90, caption_lines=1)
        self.sweep_view.setMinimumHeight(110)
        self.sweep_label = QLabel()
        self.histograms = HistogramPanel()
        self.mix_page = MixPage()
        self.code_view = QPlainTextEdit()
        self.code_view.setReadOnly(True)
        self.code_view.setLineWrapMode(QPlainTextEdit.NoWrap)
        font = self.code_view.font()
        font.setFamily("monospace")
        self.code_view.setFont(font)
        self.views = LazyTabs()
        self.views.addTab(self._grid_page(), "Grid")
        self.views.addTab(self.mix_page, "Mix and labels")
        # Its six plots are made when the page is first shown or needed (they were most of
        # the lab's first-selection freeze); until then the tab keeps what it would be given.
        self._stats_images: list[np.ndarray] = []
        self._stats_source = "train"
        self._preprocess = self.views.add_lazy_tab(self._make_preprocess_page, "Preprocessing")
        self.views.addTab(self.code_view, "Python code")
        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(self.controls)
        splitter.addWidget(self.views)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([400, 1000])
        self.set_content(splitter)
        self.setAcceptDrops(True)

        self.image_name = "scene"  # a sample name, or the path of the user's file
        self.image = load_sample("scene")
        self.batch: list[tuple[str, np.ndarray]] | None = None  # a folder's images, when chosen
        self.code_text = ""
        self.draws: dict[int, dict] = {}  # index -> draw of the grid on screen
        self._pending: list[dict] = []
        self._pending_n = 0
        self._awaiting_first = True
        self._regen = QTimer(self)
        self._regen.setSingleShot(True)
        self._regen.setInterval(5)  # coalesces a burst of changes (one event-loop pass) into one restart
        self._regen.timeout.connect(self.regenerate)

        c = self.controls
        c.editor.set_entries(default_spec()["transforms"])
        c.fill_sweep_choices(c.editor.entries(), 2)  # the rotation sweep: −45°…45° across a row
        c.editor.changed.connect(self._on_pipeline_changed)
        c.sample_combo.currentTextChanged.connect(self._on_sample_chosen)
        c.open_button.clicked.connect(self.open_image_dialog)
        c.folder_button.clicked.connect(self.open_folder_dialog)
        c.dataset_button.clicked.connect(self.load_shapes_dataset)
        c.seed_spin.valueChanged.connect(self.schedule)
        c.reroll_button.clicked.connect(self.reroll)
        c.count_spin.valueChanged.connect(self.schedule)
        c.sweep_combo.currentIndexChanged.connect(self._on_sweep_chosen)
        c.sweep_cells.valueChanged.connect(self.schedule)
        c.mix_combo.currentIndexChanged.connect(self.schedule)
        c.alpha_field.value_changed.connect(self.schedule)
        c.smoothing_field.value_changed.connect(self.schedule)
        c.copy_code_button.clicked.connect(self.copy_code)
        c.save_json_button.clicked.connect(self.save_pipeline_dialog)
        c.load_json_button.clicked.connect(self.load_pipeline_dialog)
        c.export_grid_button.clicked.connect(self.export_grid_dialog)
        self._show_original()
        self.schedule()

    def _make_preprocess_page(self) -> PreprocessPage:
        page = PreprocessPage()
        page.set_source(self._stats_source)
        page.set_images(self._stats_images)
        return page

    @property
    def preprocess_page(self) -> PreprocessPage:
        return self._preprocess.ensure_built()

    def _grid_page(self) -> QWidget:
        top = QWidget()
        row = QHBoxLayout(top)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.original_view)
        row.addWidget(self.grid_view, 1)
        self.grid_panel = top
        sweep = self.sweep_panel = QWidget()
        sl = QVBoxLayout(sweep)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(self.sweep_label)
        sl.addWidget(self.sweep_view, 1)
        splitter = QSplitter(Qt.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(sweep)
        splitter.addWidget(self.histograms)
        splitter.setStretchFactor(0, 5)
        splitter.setStretchFactor(1, 2)
        splitter.setStretchFactor(2, 2)
        sweep.hide()
        hint = QLabel("Hover a draw to see what each transform sampled for it.")
        hint.setWordWrap(True)
        page = QWidget()
        pl = QVBoxLayout(page)
        pl.setContentsMargins(2, 2, 2, 2)
        pl.addWidget(hint)
        pl.addWidget(splitter, 1)
        return page

    # -- the setup ------------------------------------------------------------------
    def spec(self) -> dict:
        c = self.controls
        return {
            "version": 1,
            "transforms": c.editor.entries(),
            "mix": {"kind": c.mix_combo.currentData(), "alpha": c.alpha_field.value(), "label_smoothing": c.smoothing_field.value()},
        }

    def mix_batch_images(self) -> tuple[tuple, tuple]:
        """The labelled batch for mixing: a chosen folder, else the samples plus the user's image."""
        if self.batch:
            return tuple(im for _, im in self.batch), tuple(n for n, _ in self.batch)
        names = [n for n in sample_names()]
        images = [load_sample(n) for n in names]
        if self.image_name not in sample_names():
            names.insert(0, "your image")
            images.insert(0, self.image)
        return tuple(images), tuple(names)

    def current_job(self):
        spec = normalize_spec(self.spec())
        c = self.controls
        images, labels = self.mix_batch_images() if (spec["mix"]["kind"] != "none" or spec["mix"]["label_smoothing"]) else ((), ())
        cfg = GridConfig(
            spec_json=json.dumps(spec),
            image=self.image,
            seed=c.seed_spin.value(),
            n_draws=c.count_spin.value(),
            sweep_step=c.sweep_step(),
            sweep_cells=c.sweep_cells.value(),
            mix_images=images,
            mix_labels=labels,
        )
        return draw_grid_job, cfg

    @Slot()
    def schedule(self, *_args) -> None:
        self._regen.start()

    @Slot()
    def regenerate(self) -> None:
        """Start a grid for the current setup, once the previous job has let go of the CPU.

        A job stops at its next draw; starting the new one only after that keeps at most
        one grid job running, so a slider drag never piles up stale work.
        """
        if self.runner.thread_count() > 0:
            self.runner.stop()
            self._regen.start()
            return
        self.start()

    def reroll(self) -> None:
        self.controls.seed_spin.setValue(int(np.random.default_rng().integers(0, 1_000_000)))

    @Slot()
    def _on_pipeline_changed(self) -> None:
        c = self.controls
        c.fill_sweep_choices(c.editor.entries(), c.sweep_step())
        self.schedule()

    @Slot()
    def _on_sweep_chosen(self) -> None:
        self.sweep_panel.setVisible(self.controls.sweep_step() is not None)
        self.schedule()

    # -- images -----------------------------------------------------------------------
    @Slot(str)
    def _on_sample_chosen(self, name: str) -> None:
        if name:
            self.batch = None  # a single picture again: the samples form the mixing batch
            self.set_image(load_sample(name), name, "")

    def set_image(self, image: np.ndarray, name: str, note: str) -> None:
        self.image, self.image_name = image, name
        self._show_original(note)
        self.schedule()

    def load_image(self, path: str | Path) -> bool:
        """Use a file as the image; a bad file shows why and changes nothing."""
        path = Path(path)
        if path.is_dir():
            return self.load_folder(path)
        try:
            image, note = load_image_file(path)
        except ValueError as exc:
            self.banner.show_message(f"{exc}. The last good image stays.", "warning")
            return False
        self.banner.hide()
        self.batch = None
        self.set_image(image, str(path), note)
        return True

    def load_folder(self, folder: str | Path) -> bool:
        folder = Path(folder)
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if folder.is_dir() else []
        batch, skipped = [], 0
        for p in files:
            if len(batch) >= MAX_FOLDER_IMAGES:
                break
            try:
                batch.append((p.stem, load_image_file(p)[0]))
            except ValueError:
                skipped += 1
        if len(batch) < 2:
            self.banner.show_message(f"{folder.name} holds fewer than two readable images; the last good batch stays.", "warning")
            return False
        self.batch = batch
        note = f"batch of {len(batch)} images from {folder.name}" + (f" ({skipped} unreadable files skipped)" if skipped else "")
        self.banner.hide()
        self.set_image(batch[0][1], str(files[0]), note)
        return True

    def load_shapes_dataset(self) -> bool:
        """The image-networks lab's built-in shapes, one image per class, as the batch."""
        self.batch = shapes_batch()
        self.banner.hide()
        self.set_image(self.batch[0][1], SHAPES_DATASET, f"batch of {len(self.batch)} built-in shapes (image-networks lab)")
        return True

    def open_image_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open an image", "", "Images (*.png *.jpg *.jpeg *.bmp *.webp);;All files (*)")
        if path:
            self.load_image(path)

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a folder of images")
        if path:
            self.load_folder(path)

    def _show_original(self, note: str = "") -> None:
        h, w = self.image.shape[:2]
        if self.image_name == SHAPES_DATASET:
            label = f"shapes data set: {self.batch[0][0] if self.batch else 'shape'}"
        else:
            label = self.image_name if self.image_name in sample_names() else Path(self.image_name).name
        self.original_view.set_cell(0, self.image, caption=f"original {w}×{h}", tooltip=f"{label}\n{note}".strip())
        self.controls.image_note.setText(f"{label}: {w}×{h}" + (f" — {note}" if note else ""))

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if files:
            event.acceptProposedAction()
            self.load_image(files[0])

    # -- results ------------------------------------------------------------------------
    @Slot(object)
    def on_event(self, ev: Event) -> None:
        if isinstance(ev, Snapshot):
            if ev.kind == "draws":
                self._pending.extend(ev.data["draws"])
                self._pending_n = ev.data["n"]
                if self._awaiting_first:  # the first draw after a change goes on screen at once
                    self._awaiting_first = False
                    self.redraw()
                else:
                    request_redraw(self)
            elif ev.kind == "stats":
                self.histograms.show_stats(ev.data)
            elif ev.kind == "sweep":
                self._show_sweep(ev.data)
            elif ev.kind == "mix":
                self.mix_page.show_batch(ev.data)
            elif ev.kind == "code":
                self.code_text = ev.data["text"]
                self.code_view.setPlainText(self.code_text)
        elif isinstance(ev, Finished):
            self.redraw()
            self._stats_images = [d["image"] for _, d in sorted(self.draws.items())]
            if self._preprocess.is_built:
                self.preprocess_page.set_images(self._stats_images)

    def redraw(self) -> None:
        """Paint the draws that arrived since the last frame (the redraw scheduler calls
        this at most ~30 times a second while draws arrive)."""
        if not self._pending:
            return
        if self.grid_view.count() != self._pending_n:
            self.grid_view.set_count(self._pending_n)
            self.draws = {i: d for i, d in self.draws.items() if i < self._pending_n}
        for d in self._pending:
            self.draws[d["index"]] = d
            h, w = d["shape"][-2:]
            tip = f"draw {d['index'] + 1} ({w}×{h})\n" + "\n".join(d["params"])
            self.grid_view.set_cell(d["index"], d["image"], tooltip=tip)
        self._pending = []

    def _show_sweep(self, data: dict) -> None:
        self.sweep_panel.show()
        if "error" in data:
            self.sweep_view.clear()
            self.sweep_label.setText(data["error"])
            return
        label = data["label"]
        captions = [f"{label.split(' ')[0]} {v:.3g}" for v in data["values"]]
        self.sweep_view.fixed_columns = len(captions)
        self.sweep_view.set_images(list(data["images"]), captions, [f"{label} = {v:.4g}" for v in data["values"]])
        self.sweep_label.setText(f"Sweep of step {data['step'] + 1}: {label} from {data['values'][0]:.3g} to {data['values'][-1]:.3g} (same seed, p = 1)")

    def reset_view(self) -> None:
        """Nothing to clear: the grid on screen is replaced draw by draw (last good grid stays)."""
        self._awaiting_first = True

    def plots(self) -> dict:
        return {"grid": self.grid_panel, "sweep": self.sweep_view, "histograms": self.histograms.plot, "mix": self.mix_page, "preprocess": self.preprocess_page}

    # -- save, load, export -------------------------------------------------------------
    def copy_code(self) -> None:
        QGuiApplication.clipboard().setText(self.code_text)
        self.banner.show_message("The pipeline's Python code is on the clipboard.", "info")

    def save_pipeline(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(spec_to_json(self.spec()), encoding="utf-8")
        return path

    def load_pipeline(self, path: str | Path) -> bool:
        try:
            spec = load_spec(path)
        except ValueError as exc:
            self.banner.show_message(f"{exc}. The pipeline was not changed.", "warning")
            return False
        state = self.experiment_state()
        state["pipeline"] = spec
        self.apply_experiment_state(state)
        return True

    def save_pipeline_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the pipeline", "pipeline.json", "JSON (*.json)")
        if path:
            self.save_pipeline(path)

    def load_pipeline_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load a pipeline", "", "JSON (*.json)")
        if path:
            self.load_pipeline(path)

    def export_grid(self, path: str | Path, scale: float = 1.0) -> Path:
        return export_widget_png(self.grid_panel, path, scale)

    def export_grid_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the grid", "augmentation_grid.png", "PNG image (*.png)")
        if path:
            self.export_grid(path)

    def export_views(self, out: Path, scale: float = 2.0) -> list[Path]:
        """Each view is exported from its own page, shown, so that it has its real size."""
        pages = {"grid": 0, "sweep": 0, "histograms": 0, "mix": 1, "preprocess": 2}
        current = self.views.currentIndex()
        written: list[Path] = []
        try:
            for name, view in self.plots().items():
                self.views.setCurrentIndex(pages[name])
                QApplication.processEvents()  # lay the page out at the tab's size
                if isinstance(view, LivePlot):
                    view.redraw()
                    written += [view.export(out / f"{name}.png", scale), view.export(out / f"{name}.csv")]
                else:
                    written.append(export_widget_png(view, out / f"{name}.png", scale))
        finally:
            self.views.setCurrentIndex(current)
        written.append(export_widget_png(self, out / f"{self.name}_tab.png", 1.0))
        return written

    def render_to(self, out_dir, scale: float = 2.0) -> list[Path]:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.run_to_end()
        self.redraw()
        written = self.export_views(out, scale)  # showing the preprocessing page refreshes it
        (out / "pipeline.py").write_text(self.code_text, encoding="utf-8")
        written += [out / "pipeline.py", self.save_pipeline(out / "pipeline.json")]
        return written

    # -- experiment files ---------------------------------------------------------------
    def experiment_state(self) -> dict:
        c = self.controls
        return {
            "pipeline": normalize_spec(self.spec()),
            "image": self.image_name,
            "seed": c.seed_spin.value(),
            "n_draws": c.count_spin.value(),
            "sweep_step": c.sweep_step(),
            "sweep_cells": c.sweep_cells.value(),
            "view": VIEWS[self.views.currentIndex()],
            "stats_source": self.preprocess_page.source if self._preprocess.is_built else self._stats_source,
        }

    def apply_experiment_state(self, state: dict) -> None:
        if not isinstance(state, dict):
            raise ValueError("An augmentation setup must be a JSON object")
        spec = normalize_spec(state.get("pipeline", default_spec()))
        image_ref = state.get("image", "scene")
        batch = None
        if image_ref in sample_names():
            image, note = load_sample(image_ref), ""
        elif image_ref == SHAPES_DATASET:
            batch = shapes_batch()
            image, note = batch[0][1], f"batch of {len(batch)} built-in shapes (image-networks lab)"
        elif isinstance(image_ref, str):
            image, note = load_image_file(image_ref)  # ValueError for a missing or bad file
        else:
            raise ValueError("'image' must be a sample name or an image file path")
        seed, n = state.get("seed", 0), state.get("n_draws", 16)
        cells = state.get("sweep_cells", 7)
        for name, v, lo, hi in (("seed", seed, 0, 999_999), ("n_draws", n, 1, MAX_DRAWS), ("sweep_cells", cells, 3, 11)):
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise ValueError(f"'{name}' must be a whole number from {lo} to {hi}")
        sweep = state.get("sweep_step")
        if sweep is not None and (not isinstance(sweep, int) or not 0 <= sweep < len(spec["transforms"])):
            raise ValueError("'sweep_step' must be the index of a pipeline step, or null")
        view = state.get("view", "grid")
        source = state.get("stats_source", "train")
        if view not in VIEWS or source not in ("train", "test"):
            raise ValueError(f"'view' must be one of {', '.join(VIEWS)} and 'stats_source' train or test")

        c = self.controls
        widgets = (c.sample_combo, c.seed_spin, c.count_spin, c.sweep_combo, c.sweep_cells, c.mix_combo, c.editor)
        for w in widgets:
            w.blockSignals(True)
        try:
            c.editor.set_entries(spec["transforms"])
            c.fill_sweep_choices(spec["transforms"], sweep)
            c.seed_spin.setValue(seed)
            c.count_spin.setValue(n)
            c.sweep_cells.setValue(cells)
            c.mix_combo.setCurrentIndex(c.mix_combo.findData(spec["mix"]["kind"]))
            c.alpha_field.set_value(spec["mix"]["alpha"], emit=False)
            c.smoothing_field.set_value(spec["mix"]["label_smoothing"], emit=False)
            if image_ref in sample_names():
                c.sample_combo.setCurrentText(image_ref)
        finally:
            for w in widgets:
                w.blockSignals(False)
        self.sweep_panel.setVisible(sweep is not None)
        self.batch = batch
        self.image, self.image_name = image, image_ref
        self._show_original(note)
        self.views.setCurrentIndex(VIEWS.index(view))
        self._stats_source = source
        if self._preprocess.is_built:
            self.preprocess_page.set_source(source)
        self.schedule()
