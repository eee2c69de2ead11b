"""Convolution stepping: the kernel slides one multiply-add at a time, forward and backward.

The whole step list is built at once by the core (on the runner's worker thread) each
time a setting changes; stepping forward, back, playing and jumping to the end are
then only an index into it, driven by a timer on the GUI thread.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QImage, QKeySequence, QShortcut
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QSplitter, QStyle, QVBoxLayout, QWidget

from core.convolution.kernels import kernel_preset, sample_image, to_gray
from core.convolution.spec import cost_text, output_size, output_size_text, unvisited_text, validate
from core.convolution.stepper import StepList, steps_job
from core.convolution.text import backward_text
from core.engine import Event, Snapshot
from lab.runner import JobState
from lab.tabs.base import LabTab
from lab.tabs.convolution.controls import ConvControls
from lab.tabs.convolution.export import GifRecorder, export_csv, export_frame, export_gif
from lab.tabs.convolution.state import check_state, filled_input, resized_input, resized_weight, spec_from_state
from widgets.export import export_widget_png, qimage_to_array
from widgets.play_controls import SPEED_STEPS, PlayControls

__all__ = ["ConvolutionTab"]

FRAME_MS = 16  # the play timer: ~60 ticks/s, several steps per tick above that speed
FULL_SPEED_SECONDS = 4.0  # at "max" a whole layer plays in about this long
IMAGE_KERNELS = ("sobel_x", "sobel_y", "laplacian", "gaussian")
SIZE_NAMES = {"channels": "number of channels", "height": "height", "width": "width", "filters": "number of filters", "kh": "kernel height", "kw": "kernel width"}


class ConvolutionTab(LabTab):
    name = "convolution"
    title = "Convolution"

    def __init__(self, context=None, parent=None):
        super().__init__(context, parent)
        from lab.tabs.convolution.view import SteppingView

        self._state = check_state({})
        self._steps: StepList | None = None
        self._index = -1
        self._speed: float | None = SPEED_STEPS[3]
        self._image_source = "sample"
        self._carry = 0.0  # fractional steps owed by the play timer
        self._speed_mark = (-math.inf, -1)  # (time, index) the toolbar's steps/s counts from

        self.controls = ConvControls()
        self.view = SteppingView()
        self.play = PlayControls()
        self.play.speed_slider.setValue(3)
        self.back_button = QPushButton(self.style().standardIcon(QStyle.SP_MediaSeekBackward), "Back")
        self.back_button.setToolTip("One step back (←)")
        self.end_button = QPushButton(self.style().standardIcon(QStyle.SP_MediaSkipForward), "End")
        self.end_button.setToolTip("Jump to the last step (End)")
        self.position = QLabel()
        self.position.setMinimumWidth(110)
        bar = QHBoxLayout()
        bar.addWidget(self.back_button)
        bar.addWidget(self.play, 1)
        bar.addWidget(self.end_button)
        bar.addWidget(self.position)
        self.export_png = QPushButton("Frame PNG…")
        self.export_gif = QPushButton("Stepping GIF…")
        self.export_csv = QPushButton("Numbers CSV…")
        # The exports in a row of their own: beside the stepping buttons they made the tab
        # wider than a projector.
        exports = QHBoxLayout()
        for b in (self.export_png, self.export_gif, self.export_csv):
            exports.addWidget(b)
        exports.addStretch(1)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.info.setAlignment(Qt.AlignTop | Qt.AlignLeft)

        right = QWidget()
        col = QVBoxLayout(right)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(self.view, 1)
        col.addLayout(bar)
        col.addLayout(exports)
        col.addWidget(self.info)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(self.controls)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([370, 1030])
        self.set_content(split)

        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self._tick)

        self.controls.changed.connect(self._on_control)
        self.controls.fill_requested.connect(self._fill_input)
        self.controls.image_requested.connect(self.load_image)
        self.controls.open_image_requested.connect(self._open_image_dialog)
        self.controls.preset_requested.connect(self._apply_preset)
        self.view.input_edited.connect(self._on_input_edited)
        self.view.kernel_edited.connect(self._on_kernel_edited)
        self.play.play_pause_requested.connect(self.toggle_play)
        self.play.step_requested.connect(self.step_forward)
        self.play.reset_requested.connect(self.reset_view)
        self.play.speed_changed.connect(self._on_speed)
        self.back_button.clicked.connect(self.step_back)
        self.end_button.clicked.connect(self.jump_to_end)
        for key, slot in ((Qt.Key_Left, self.step_back), (Qt.Key_End, self.jump_to_end)):
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.WidgetWithChildrenShortcut)
            sc.activated.connect(slot)
        self.export_png.clicked.connect(lambda: self._export_dialog("PNG image (*.png)", ".png", self.save_frame))
        self.export_gif.clicked.connect(lambda: self._export_dialog("Animated GIF (*.gif)", ".gif", self.record_gif))
        self.gif_recorder = GifRecorder(self)
        self.gif_recorder.progress.connect(lambda text: self.banner.show_message(text, "info"))
        self.gif_recorder.saved.connect(self._on_gif_saved)
        self.gif_recorder.failed.connect(lambda text: self.banner.show_message(text, "warning"))
        self.export_csv.clicked.connect(lambda: self._export_dialog("CSV data (*.csv)", ".csv", self.save_csv))
        self.controls.show_state(self._state)
        self._rebuild()

    # -- LabTab ----------------------------------------------------------------
    def current_job(self):
        spec = spec_from_state(self._state)
        validate(spec)
        return steps_job, spec

    @Slot(object)
    def on_event(self, event: Event) -> None:
        if isinstance(event, Snapshot) and event.kind == "steps":
            self._show_steps(event.data["steps"])

    def reset_view(self) -> None:
        self._stop_timer()
        self.set_index(-1)
        self._report_state()

    def job_state(self) -> JobState:
        # The runner only builds the step list; playing it is this tab's timer, and that
        # is what the toolbar should say while the kernel slides.
        if self.runner.is_active:
            return self.runner.state
        if self.timer.isActive():
            return JobState.RUNNING
        if self._steps is None or self._index < 0:
            return JobState.IDLE
        return JobState.FINISHED if self._index >= self._steps.count - 1 else JobState.PAUSED

    def plots(self) -> dict[str, QWidget]:
        return {"stepping": self.view}

    def experiment_state(self) -> dict:
        return {**self._state, "step": self._index}

    def apply_experiment_state(self, state: dict) -> None:
        new = check_state(state)
        validate(spec_from_state(new))  # a ConvSettingError is a ValueError: nothing changes
        self._stop_timer()
        self._index = new["step"]
        self._commit(new)

    def run_to_end(self, job_spec=None, max_events=None) -> int:
        """Headless: build synchronously and show the last step."""
        n = super().run_to_end(job_spec, max_events)
        self.jump_to_end()
        return n

    def export_views(self, out: Path, scale: float = 2.0) -> list[Path]:
        out = Path(out)
        written = [self.save_frame(out / "stepping.png", scale), self.save_csv(out / "numbers.csv"), self.save_gif(out / "stepping.gif")]
        written.append(export_widget_png(self, out / f"{self.name}_tab.png", 1.0))
        return written

    def shutdown(self) -> None:
        self._stop_timer()
        self.gif_recorder.shutdown()
        super().shutdown()

    # -- stepping --------------------------------------------------------------
    @property
    def steps(self) -> StepList | None:
        return self._steps

    @property
    def index(self) -> int:
        return self._index

    def set_index(self, index: int) -> None:
        if self._steps is None:
            self._index = index
            return
        self._index = max(-1, min(index, self._steps.count - 1))
        self.view.set_index(self._index)
        self.position.setText(f"step {self._index + 1} / {self._steps.count}")

    @Slot()
    def step_forward(self) -> None:
        self._stop_timer()
        self.set_index(self._index + 1)
        self._report_state()

    @Slot()
    def step_back(self) -> None:
        self._stop_timer()
        self.set_index(self._index - 1)
        self._report_state()

    @Slot()
    def jump_to_end(self) -> None:
        self._stop_timer()
        if self._steps is not None:
            self.set_index(self._steps.count - 1)
        self._report_state()

    def _report_state(self) -> None:
        self.job_state_changed.emit(self.job_state())

    @Slot()
    def toggle_play(self) -> None:
        if self.timer.isActive():
            self._stop_timer()
            return
        if self._steps is None:
            return
        if self._index >= self._steps.count - 1:
            self.set_index(-1)  # play again from the start
        self._carry = 0.0
        self._speed_mark = (time.perf_counter(), self._index)
        self.timer.start()
        self.play.set_state(JobState.RUNNING)
        self._report_state()

    def _stop_timer(self) -> None:
        if self.timer.isActive():
            self.timer.stop()
            self.play.set_state(JobState.PAUSED)
            self._report_state()

    def steps_per_tick(self) -> float:
        if self._steps is None:
            return 1.0
        if self._speed is None:
            return max(1.0, self._steps.count / (FULL_SPEED_SECONDS * 1000 / FRAME_MS))
        return self._speed * FRAME_MS / 1000

    @Slot()
    def _tick(self) -> None:
        if self._steps is None:
            self._stop_timer()
            return
        self._carry += self.steps_per_tick()
        advance = int(self._carry)
        if advance:
            self._carry -= advance
            self.set_index(self._index + advance)
        self._measure_speed()
        if self._index >= self._steps.count - 1:
            self._stop_timer()

    def _measure_speed(self) -> None:
        """Multiply-adds shown per second, for the toolbar, about twice a second."""
        t0, i0 = self._speed_mark
        now = time.perf_counter()
        if now - t0 >= 0.5:
            self.job_speed_changed.emit((self._index - i0) / (now - t0), "steps")
            self._speed_mark = (now, self._index)

    @Slot(object)
    def _on_speed(self, speed) -> None:
        self._speed = speed

    # -- settings --------------------------------------------------------------
    def _rebuild(self) -> None:
        try:
            job, spec = self.current_job()
        except ValueError as exc:  # cannot happen for a committed state, but never crash
            self.banner.show_message(str(exc), "warning")
            return
        self.info.setText(self._info_text(spec))
        self.runner.start(job, spec)

    def _info_text(self, spec) -> str:
        parts = [output_size_text(spec).replace("\n", "<br>")]
        why = unvisited_text(spec)
        if why:
            parts.append(f"<span style='color:#b35c00'>{why}</span>")
        parts.append(cost_text(spec).replace("\n", "<br>"))
        if spec.direction != "forward":
            parts.append(f"<b>{backward_text(spec)}</b>")
        if spec.op == "conv1d":
            parts.append("1-D: each channel is one row; the kernel slides along it.")
        return "<br>".join(parts)

    def _show_steps(self, steps: StepList) -> None:
        self._steps = steps
        image = self._state["source"] == "image"
        editable_kernel = steps.kind in ("conv", "transposed", "grad_kernel")  # grad_kernel: the upstream gradient
        editable_input = steps.kind == "grad_input" or not image  # grad_input: the grid is the upstream gradient
        self.view.show_steps(steps, min(self._index, steps.count - 1), image_mode=image, input_editable=editable_input, kernel_editable=editable_kernel)
        self.set_index(self._index)

    def _commit(self, new: dict) -> None:
        self._state = new
        self.controls.show_state(new)
        self.controls.clear_errors()
        self._rebuild()

    def _propose(self, new: dict, key: str) -> bool:
        """Accept a changed state if its layer is valid; otherwise refuse at ``key``."""
        try:
            checked = check_state(new)
            validate(spec_from_state(checked))
        except ValueError as exc:
            self.controls.show_state(self._state)  # put the control back to the last good value
            if key in ("input", "kernel") and self._steps is not None:
                self._show_steps(self._steps)  # the typed cell too: the grid shows only what is in effect
            self.controls.refuse(key, str(exc))
            return False
        self._commit(checked)
        return True

    @Slot(str, object)
    def _on_control(self, key: str, value) -> None:
        self._stop_timer()
        s = dict(self._state)
        x, w = np.asarray(s["input"]), np.asarray(s["weight"])
        c, h, wd = x.shape
        f, _, kh, kw = w.shape
        if key in SIZE_NAMES and int(value) < 1:
            self.controls.show_state(self._state)
            self.controls.refuse(key, f"The {SIZE_NAMES[key]} must be at least 1")
            return
        if key in ("channels", "height", "width"):
            c, h, wd = (int(value) if key == k else v for k, v in (("channels", c), ("height", h), ("width", wd)))
            s["input"] = resized_input(x, c, h, wd).tolist()
            s["weight"] = resized_weight(w, f, c, kh, kw).tolist()
        elif key in ("filters", "kh", "kw"):
            f, kh, kw = (int(value) if key == k else v for k, v in (("filters", f), ("kh", kh), ("kw", kw)))
            s["weight"] = resized_weight(w, f, c, kh, kw).tolist()
            s["bias"] = (list(s["bias"]) + [0.0] * f)[:f]
        elif key == "bias":
            if len(value) != f:
                self.controls.show_state(self._state)
                self.controls.refuse(key, f"Give {f} bias value{'s' if f > 1 else ''}, one per filter")
                return
            s["bias"] = list(value)
        elif key == "op":
            s["op"] = value
            if value == "conv1d":
                s["input"] = x[:, :1].tolist()
                s["weight"] = w[:, :, (kh - 1) // 2 : (kh - 1) // 2 + 1].tolist()
            if value in ("maxpool", "avgpool", "transposed"):
                s["direction"] = "forward"  # backward stepping is for 1-D and 2-D convolutions
            if value in ("maxpool", "avgpool") and self._state["op"] not in ("maxpool", "avgpool"):
                s["stride"] = s["window"]
                s["padding_kind"], s["padding"] = "amount", 0
        elif key == "upstream":
            s["upstream"] = value
            if value != "typed":
                s["upstream_values"] = []
            elif not s["upstream_values"]:
                s["upstream_values"] = self._current_upstream().tolist()  # start from what is shown
        elif key == "source" and value == "image":
            self.load_image(self._image_source)
            return
        else:
            s[key] = value
        self._propose(s, key)

    @Slot(int, int, int, float)
    def _on_input_edited(self, channel: int, r: int, c: int, value: float) -> None:
        cell = self.view.grid_to_input(r, c)
        if cell is None:
            grid = self.view.inputs.grids[channel]
            grid.set_values(self._steps.grid[channel], roles=self._steps.grid_role, marked=self._steps.unvisited_cells())
            grid.show_error("Padding and inserted zeros follow the input; edit a cell of the input itself.")
            return
        if self._steps.kind == "grad_input":
            self._set_upstream(channel, *cell, value)
            return
        s = dict(self._state)
        x = np.asarray(s["input"], float)
        x[channel, cell[0], cell[1]] = value
        s["input"] = x.tolist()
        self._propose(s, "input")

    @Slot(int, int, int, float)
    def _on_kernel_edited(self, channel: int, r: int, c: int, value: float) -> None:
        steps = self._steps
        plane = self.view.kernel_plane
        w = np.asarray(self._state["weight"], float)
        kh, kw = w.shape[2:]
        if steps.kind == "grad_kernel":
            self._set_upstream(int(steps.plane_kernel[plane]), r, c, value)
            return
        if steps.kind == "transposed":
            # shown flipped, as the stride-1 convolution applies it
            w[channel, plane, kh - 1 - r, kw - 1 - c] = value
        else:
            w[int(steps.plane_kernel[plane]), channel, r, c] = value
        self._propose({**self._state, "weight": w.tolist()}, "kernel")

    def _current_upstream(self) -> np.ndarray:
        spec = spec_from_state(self._state)
        return np.ones((spec.out_channels, *output_size(spec))) if spec.upstream is None else np.array(spec.upstream, float)

    def _set_upstream(self, plane: int, r: int, c: int, value: float) -> None:
        """Type one cell of ∂L/∂y: the upstream gradient becomes "typed"."""
        g = self._current_upstream()
        g[plane, r, c] = value
        self._propose({**self._state, "upstream": "typed", "upstream_values": g.tolist()}, "upstream")

    @Slot(str)
    def _fill_input(self, kind: str) -> None:
        x = np.asarray(self._state["input"])
        seed = int(np.random.default_rng().integers(1 << 16)) if kind in ("small integers", "random") else 0
        self._propose({**self._state, "source": "numbers", "input": filled_input(kind, *x.shape, seed=seed).tolist()}, "input")

    @Slot(str, bool)
    def _apply_preset(self, preset: str, all_filters: bool) -> None:
        w = np.asarray(self._state["weight"], float)
        f, c, kh, kw = w.shape
        target = range(f) if all_filters else [min(self.controls.preset_filter.value(), f - 1)]
        rng = np.random.default_rng()
        for o in target:
            k = kernel_preset(preset, kh, kw, rng)
            w[o] = k[None] / (c if preset not in ("random",) else 1)  # a preset on every channel, averaged
        self._propose({**self._state, "weight": w.tolist()}, "kernel")

    # -- images ----------------------------------------------------------------
    def image_array(self, source: str, size: int, gray: bool) -> np.ndarray:
        """(C, size, size) in [0, 1]: the sample scene or a file, downscaled."""
        if source == "sample":
            img = sample_image(size)
        else:
            qimg = QImage(source)
            if qimg.isNull():
                raise ValueError(f"Cannot read {Path(source).name} as an image")
            small = qimg.scaled(size, size, Qt.IgnoreAspectRatio, Qt.SmoothTransformation)
            img = qimage_to_array(small).transpose(2, 0, 1) / 255.0
        img = to_gray(img) if gray else img
        return np.round(img, 2)

    @Slot(str)
    def load_image(self, source: str) -> None:
        self._stop_timer()
        try:
            img = self.image_array(source, self.controls.image_size.value(), self.controls.gray.isChecked())
        except ValueError as exc:
            self.controls.refuse("input", str(exc))
            return
        self._image_source = source
        s = dict(self._state)
        w, c = np.asarray(s["weight"]), img.shape[0]
        if s["source"] != "image" or w.shape[1] != c:
            # several classic kernels at once: one feature map each
            s["op"] = "conv2d" if s["op"] == "conv1d" else s["op"]
            s["weight"] = [[kernel_preset(p, 3, 3) / c for _ in range(c)] for p in IMAGE_KERNELS]
            s["bias"] = [0.0] * len(IMAGE_KERNELS)
            s["padding_kind"], s["stride"], s["dilation"] = "same", 1, 1
        s["source"], s["input"] = "image", img.tolist()
        self._propose(s, "input")

    def _open_image_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open an image", "", "Images (*.png *.jpg *.jpeg *.bmp *.gif)")
        if path:
            self.load_image(path)

    # -- export ----------------------------------------------------------------
    def save_frame(self, path, scale: float = 2.0) -> Path:
        return export_frame(self.view, path, scale)

    def save_gif(self, path, max_frames: int = 120) -> Path:
        return export_gif(self, path, max_frames)

    def record_gif(self, path) -> None:
        """The window's GIF export: frames recorded between events, encoded on a worker."""
        self._stop_timer()
        if self.gif_recorder.busy:
            raise ValueError("A GIF is already being written; wait for it to finish")
        self.gif_recorder.start(path)

    @Slot(str)
    def _on_gif_saved(self, path: str) -> None:
        self.banner.show_message(f"Saved {path}", "info")

    def save_csv(self, path) -> Path:
        if self._steps is None:
            raise ValueError("Nothing to export yet: the steps are still being built")
        return export_csv(self._steps, path)

    def _export_dialog(self, filt: str, suffix: str, save) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export", f"convolution{suffix}", filt)
        if not path:
            return
        try:
            save(path if path.lower().endswith(suffix) else path + suffix)
        except (OSError, ValueError) as exc:
            self.banner.show_message(f"Export failed: {exc}", "error")
