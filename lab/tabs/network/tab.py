"""Network builder: build and train small networks on 2-D data, live, neuron by neuron.

TensorFlow Playground's experience on a real torch core: the data on the left, the
network in the middle (every neuron shows what it computes; every edge its weight),
the decision boundary and the loss curves on the right. Architecture changes start a
fresh network (as in Playground); training settings change while it runs.
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Slot

from core.engine import Diverged, Event, Finished, History, Message, Snapshot
from core.network import compiled
from core.network.data import DataSettings, PointSet, generate_points, load_points_csv, save_points_csv
from core.network.model import FEATURES, MAX_NEURONS, NetworkSpec
from core.network.settings import TrainSettings
from core.network.state import read_state
from core.network.training import LiveControl, TrainConfig, train_network
from lab.runner import JobState
from lab.tabs.base import LabTab
from lab.tabs.network.files import FileActions
from lab.tabs.network.model_files import read_network_model, save_network_model
from lab.tabs.network.pictures import feature_images, network_images
from lab.tabs.network.recording import GifRecording
from lab.tabs.network.view import NetworkView
from widgets.export import save_gif
from widgets.redraw import redraw_scheduler, request_redraw

__all__ = ["NetworkTab"]

CURVE_PERIOD_S = 0.2  # loss curves redraw at ~5 Hz: their painting is the costliest part of a frame
RENDER_EPOCHS = 300
SPLIT_FRAME_EDGES = 1500  # weights above which a frame is drawn in two passes of the event loop


class NetworkTab(LabTab):
    name = "network"
    title = "Network builder"

    def __init__(self, context=None, parent=None):
        super().__init__(context, parent)
        # Load the compiled loop now, in the background (another process compiles it the
        # first time), so that a later Play trains on it from its first epoch.
        compiled.request()
        self.points: PointSet = generate_points(DataSettings())
        self.data_settings: DataSettings | None = DataSettings()
        self.spec = NetworkSpec()
        self.render_epochs = RENDER_EPOCHS
        self.live: LiveControl | None = None
        self.snapshot: dict | None = None
        self.epoch = 0
        self.frames_drawn = 0
        self.metrics: dict[str, list[float]] = {}
        self.recording = GifRecording()
        self._dirty = False
        self._redraw_scheduled = False
        self._headless = False
        self._dirty_gif = False
        self._network_due: tuple[dict, bool] | None = None
        self._last_values: dict[str, float] = {}
        self._run_seed = 0
        self._job_live: LiveControl | None = None
        self._pending_history: list[History] = []
        self._curves_pushed_at = -math.inf  # perf_counter counts from boot: 0.0 would be a real time
        self._initial_weights: dict | None = None  # a loaded or hand-edited network, for the next start
        # No periodic timer: each new picture schedules one redraw (the job sends at most
        # ~60 a second), and a timer waking while the job trains would cost it the
        # interpreter lock for nothing. The curves redraw more slowly than pictures
        # arrive; this single shot brings them the last epochs when no picture follows.
        self._curve_timer = QTimer(self)
        self._curve_timer.setSingleShot(True)
        self._curve_timer.setInterval(round(CURVE_PERIOD_S * 1000))
        self._curve_timer.timeout.connect(self._request_redraw)
        self.gif_writer = self.make_gif_writer()
        self.view = NetworkView(max_batch=int(self.points.is_train.sum()))
        self.set_content(self.view)
        self.bind_play_controls(self.view.controls)
        self.view.controls.reset_requested.connect(self.show_fresh_network)  # after the runner's own reset
        self._connect_view()
        self.runner.state_changed.connect(self._mark_dirty)  # paused or finished: curves catch up at once
        self._sync_controls_from_spec()
        self._points_changed(restart=False)
        self.start(paused=True)  # show the untrained network at once

    def _connect_view(self) -> None:
        v = self.view
        v.layer_count_requested.connect(self._change_layer_count)
        v.neurons_requested.connect(self._change_neurons)
        v.layers_edited.connect(self._layers_edited)
        v.feature_toggled.connect(self.toggle_feature)
        v.selection_changed.connect(self._mark_dirty)
        v.weight_edited.connect(self._edit_weight)
        v.training_changed.connect(self._training_changed)
        v.network_changed.connect(self._network_changed)
        v.data_settings_changed.connect(self._data_settings_changed)
        v.regenerate_requested.connect(self._regenerate)
        v.map_clicked.connect(self._map_clicked)
        v.discretize_toggled.connect(self._mark_dirty)
        v.record_gif_toggled.connect(self._record_toggled)
        self.file_actions = FileActions(self)

    # -- the setup -------------------------------------------------------------------------
    def training_settings(self) -> TrainSettings:
        t = self.view.training.values()
        ex = self.view.extras
        extras = {
            "label_smoothing": float(ex.label_smoothing.value()) if self.spec.task == "classification" else 0.0,
            "noise": ex.noise.currentData(),
            "noise_std": float(ex.noise_std.value()),
            "layer_lr": self.view.layer_lr_multipliers(),
        }
        if all(m == 1.0 for m in extras["layer_lr"]):
            extras["layer_lr"] = ()
        return TrainSettings(**t, **extras)

    def current_job(self):
        settings = self.training_settings()
        Xtr, ytr, Xte, yte = self.points.split()
        cfg = TrainConfig(self.spec, settings, Xtr, ytr, Xte, yte, extent=self.points.extent(),
                          live=LiveControl(), initial_state=self._initial_weights)
        cfg.check()
        self._job_live = cfg.live
        self._run_seed = settings.seed
        return train_network, cfg

    def start(self, *, paused: bool = False) -> bool:
        started = super().start(paused=paused)
        if started:
            self.live = self._job_live  # the channel for settings and typed weights of this run
        return started

    @Slot()
    def show_fresh_network(self) -> None:
        """Reset: a newly initialized network on screen at epoch 0, paused (as Playground)."""
        self._initial_weights = None
        self.start(paused=True)

    def restart(self) -> None:
        """A fresh network for the new setup; keeps playing if it was playing."""
        running = self.runner.state == JobState.RUNNING
        self._initial_weights = None
        self.start(paused=not running)

    def run_to_end(self, job_spec=None, max_events=None) -> int:
        """Headless run (``dllab render``, tests): the preset's epochs, every picture drawn."""
        if job_spec is None:
            job, cfg = self.current_job()
            job_spec = (job, dataclasses.replace(cfg, max_epochs=self.render_epochs, live=None))
        # Stop and join the shown job and drop what it already posted: those events would
        # otherwise arrive during export (pyqtgraph's exporters process events) and
        # overwrite this run's picture and curves.
        self.runner.shutdown()
        self.live = None
        self.recording.restart()
        self._headless = True
        try:
            n = super().run_to_end(job_spec, max_events)
        finally:
            self._headless = False
        self._push_curves()
        self.redraw()
        return n

    def export_views(self, out: Path, scale: float = 2.0) -> list[Path]:
        written = super().export_views(out, scale)
        written += self.view.heatmap.export(out / "output", scale)  # adds the map's SVG and its values as CSV
        if len(self.gif_frames) > 1:
            written.append(self.save_gif(out / "output.gif"))
        return written

    # -- network edits -----------------------------------------------------------------------
    def _spec_with(self, **changes) -> NetworkSpec | None:
        try:
            return dataclasses.replace(self.spec, **changes).check()
        except ValueError as exc:
            self.banner.show_message(str(exc), "warning")
            return None

    def _set_spec(self, spec: NetworkSpec | None) -> None:
        if spec is None or spec == self.spec:
            return
        self.spec = spec
        self._sync_controls_from_spec()
        self.restart()

    @Slot(int)
    def _change_layer_count(self, delta: int) -> None:
        s = self.spec
        if delta > 0:
            act = s.activations[-1] if s.activations else "tanh"
            spec = self._spec_with(hidden=(*s.hidden, 4), activations=(*s.activations, act), dropout=(*s.dropout, 0.0),
                                   batchnorm=(*s.batchnorm, False))
        elif s.hidden:
            spec = self._spec_with(hidden=s.hidden[:-1], activations=s.activations[:-1], dropout=s.dropout[:-1],
                                   batchnorm=s.batchnorm[:-1])
        else:
            return
        self._set_spec(spec)

    @Slot(int, int)
    def _change_neurons(self, layer: int, delta: int) -> None:
        hidden = list(self.spec.hidden)
        n = hidden[layer] + delta
        if not 1 <= n <= MAX_NEURONS:
            self.banner.show_message(f"A layer has 1 to {MAX_NEURONS} neurons", "info")
            return
        hidden[layer] = n
        self._set_spec(self._spec_with(hidden=tuple(hidden)))

    @Slot()
    def _layers_edited(self) -> None:
        spec = self._spec_with(**self.view.layer_settings())
        if spec is not None and spec != self.spec:
            self._set_spec(spec)
        else:
            self._training_changed()  # only a learning-rate multiplier changed

    @Slot(str)
    def toggle_feature(self, name: str) -> None:
        feats = [f for f in FEATURES if (f in self.spec.features) != (f == name)]
        if not feats:
            self.banner.show_message("Keep at least one input feature", "info")
            return
        self._set_spec(self._spec_with(features=tuple(feats)))

    @Slot()
    def _network_changed(self) -> None:
        extras = self.view.extras
        self._set_spec(self._spec_with(loss=extras.loss.currentData(), init=extras.init.currentData()))

    def _sync_controls_from_spec(self) -> None:
        self.view.show_spec(self.spec)
        self._feature_images = feature_images(self.points.extent(), 24)

    # -- training settings while running ---------------------------------------------------------
    @Slot()
    def _training_changed(self) -> None:
        try:
            settings = self.training_settings()
            settings.check(int(self.points.is_train.sum()), len(self.spec.hidden) + 1, self.spec.task)
        except ValueError as exc:
            self.banner.show_message(str(exc), "warning")
            return
        if self.live is not None and self.runner.is_active:
            if settings.seed != self._run_seed:
                self.restart()  # the seed picks the initial weights: a new run
            else:
                self.live.update_settings(settings)

    @Slot(int, int, int, float)
    def _edit_weight(self, layer: int, row: int, col: int, value: float) -> None:
        if self.live is None or not self.runner.is_active:
            # The run has ended (diverged, stopped early): go on from the weights on screen.
            if self.snapshot is not None:
                self._initial_weights = dict(self.snapshot["state_dict"])
            self.start(paused=True)
        self.live.set_parameter(layer, row, col, value)

    # -- data ---------------------------------------------------------------------------------
    @Slot(object)
    def _data_settings_changed(self, settings: DataSettings) -> None:
        try:
            points = generate_points(settings)
        except ValueError as exc:
            self.view.data_panel.error.show_error(str(exc))
            return
        self.view.data_panel.error.clear_error()
        self.data_settings = settings
        self.set_points(points)

    @Slot()
    def _regenerate(self) -> None:
        self._data_settings_changed(self.view.data_panel.settings())

    def set_points(self, points: PointSet, *, restart: bool = True) -> None:
        task_changed = (points.task, points.n_classes) != (self.spec.task, self.spec.n_classes)
        self.points = points
        if task_changed:
            loss = "mse" if points.task == "regression" else self.spec.loss
            self.spec = dataclasses.replace(self.spec, task=points.task, n_classes=max(points.n_classes, 2) if points.task == "classification" else 0, loss=loss)
            self._sync_controls_from_spec()
        self._points_changed(restart=restart)

    def _points_changed(self, restart: bool = True) -> None:
        p, v = self.points, self.view
        v.data_panel.set_task(p.task, p.n_classes)
        v.heatmap.set_extent(p.extent())
        v.heatmap.set_points(p.X, p.y, p.is_train, p.task, p.n_classes, self._value_scale())
        v.training.set_max_batch(int(p.is_train.sum()))
        self._feature_images = feature_images(p.extent(), 24)
        if restart:
            self.restart()

    def _value_scale(self) -> float:
        if self.points.task != "regression" or len(self.points.y) == 0:
            return 1.0
        return float(max(np.abs(self.points.y).max(), 1e-6))

    @Slot(float, float, int)
    def _map_clicked(self, x: float, y: float, button: int) -> None:
        p, panel = self.points, self.view.data_panel
        try:
            if panel.erase.isChecked():
                radius = 0.03 * (p.extent()[1] - p.extent()[0])
                new = p.without_nearest(x, y, radius)
                if new is p:
                    return
            elif p.task == "regression":
                new = p.with_point(x, y, float(panel.target_value.value()))
            else:
                choice = panel.click_class.currentData()
                label = (0 if button == Qt.RightButton.value else 1) if choice == -1 else int(choice)
                new = p.with_point(x, y, label)
        except ValueError as exc:
            panel.error.show_error(str(exc))
            return
        if new.task == "classification":
            labels = new.y[new.is_train]
            empty = [k for k in range(new.n_classes) if not (labels == k).any()]
            if empty:  # refuse the edit: a class without training points cannot be learned
                panel.error.show_error(f"That would leave class {empty[0]} without training points")
                return
        panel.error.clear_error()
        self.data_settings = None  # edited by hand: saved as points from now on
        self.set_points(new)

    # -- events --------------------------------------------------------------------------------
    @Slot(object)
    def on_event(self, ev: Event) -> None:
        if isinstance(ev, History):
            self._add_history(ev)
        elif isinstance(ev, Snapshot):
            self.snapshot = dict(ev.data)
            self.epoch = int(ev.data["epoch"])
            if self.view.model_panel.record_gif.isChecked():
                self._dirty_gif = True
            self._dirty = True
            if self._headless:
                self._dirty_gif = True  # a rendered run records its boundary for the GIF
                self.redraw()
                return
            # Draw as soon as the event loop is free: the job waits for this picture
            # (see LiveControl.expect_frame), so latency here is training time lost.
            self._schedule_redraw()
        elif isinstance(ev, Message):
            self.view.set_engine_text(ev.text)
        elif isinstance(ev, Diverged):
            self.view.mark_divergence(ev.step)
            self.banner.show_message(
                f"Diverged at epoch {ev.step}: the loss became NaN or infinite. The picture shows the last good "
                "epoch; lower the learning rate and press Reset.", "warning")
        elif isinstance(ev, Finished):
            stop = ev.summary.get("early_stopped")
            if stop:
                best = ev.summary.get("best_epoch", stop)
                self.view.mark_early_stop(stop, best)
                self.banner.show_message(
                    f"Early stopping at epoch {stop}: the test loss last improved at epoch {best} (green line).", "info")

    def _add_history(self, ev: History) -> None:
        v = ev.values
        for name in v:
            self.metrics.setdefault(name, []).extend(v[name].tolist())
        self.metrics.setdefault("epoch", []).extend(ev.steps.tolist())
        self._pending_history.append(ev)
        self._last_values = {k: float(a[-1]) for k, a in v.items()}

    def _push_curves(self) -> None:
        """Hand the stored epochs to the curves: a few times a second is plenty for the eye."""
        pending, self._pending_history = self._pending_history, []
        for ev in pending:
            self.view.extend_curves(ev.steps, ev.values)
        self.view.redraw_curves()
        self._curves_pushed_at = time.perf_counter()

    def reset_view(self) -> None:
        self.view.clear_curves()
        self.metrics = {}
        self._pending_history = []
        self.snapshot = None
        self.epoch = 0
        self._last_values = {}
        self.view.diagram.set_structure(list(self.spec.hidden), self.spec.n_outputs)
        self._dirty = True

    @Slot()
    def _mark_dirty(self, *_):
        """An edit or a new runner state: redraw on the application's next frame, once shown."""
        self._dirty = True
        request_redraw(self)

    @Slot()
    def _request_redraw(self) -> None:
        request_redraw(self)

    @Slot()
    def _schedule_redraw(self) -> None:
        """A new picture: draw it as soon as the event loop is free, shown or not, not on the
        shared frame clock. The job waits for each picture to be drawn and paces its own
        frames (LiveControl.expect_frame, TrainConfig.frame_s); a wait for the next frame
        tick would be training time lost, and a hidden tab would stall its job."""
        if not self._redraw_scheduled:
            self._redraw_scheduled = True
            QTimer.singleShot(0, self.redraw)

    # -- drawing -------------------------------------------------------------------------------------
    @Slot()
    def redraw(self) -> None:
        """Draw what changed (called by the redraw scheduler, for the job's pictures, and headless)."""
        redraw_scheduler().cancel(self)  # this draw serves a pending request too
        deferred = False
        try:
            deferred = self._draw()
        finally:
            if not deferred and self.live is not None:
                self.live.frame_drawn()  # even after a drawing error the job must not wait for it

    @Slot()
    def _draw_deferred_network(self) -> None:
        """The second half of a big network's frame: its neuron pictures and the diagram."""
        try:
            if self._network_due is not None:
                snap, discrete = self._network_due
                self._network_due = None
                self._draw_network(snap, discrete)
                if self.isVisible():
                    self.view.diagram.repaint()
        finally:
            if self.live is not None:
                self.live.frame_drawn()

    def _draw(self) -> bool:
        """Draw what changed; True when the network's half of the frame was left for the next
        pass of the event loop (it ends the frame, see :meth:`_draw_deferred_network`)."""
        self._redraw_scheduled = False
        if self._pending_history:
            if time.perf_counter() - self._curves_pushed_at > CURVE_PERIOD_S or self.runner.state != JobState.RUNNING:
                self._push_curves()
            elif not self._curve_timer.isActive():
                self._curve_timer.start()  # the last epochs of a run must reach the curves too
        if not self._dirty or self.snapshot is None:
            return False
        self._dirty = False
        snap = self.snapshot
        v = self.view
        discrete = v.discretize.isChecked()
        classes = self.spec.n_outputs > 1
        sel = v.diagram.selected
        if sel is not None and "neurons" in snap and sel[0] - 1 < len(snap["neurons"]):
            col, i = sel
            field = snap["neurons"][col - 1][i]
            v.heatmap.set_field(field, discrete=discrete)
        else:
            scale = self._value_scale()
            field = snap["output"]
            if self.spec.task == "classification" and not classes:
                field, scale = 2 * field - 1, 1.0  # P(class 1) ∈ [0, 1] → [-1, 1], white at 0.5
            v.heatmap.set_field(field, scale=scale, discrete=discrete, classes=classes)
        # A big network's neuron pictures and thousands of edges cost as much as the rest of
        # the frame: drawn in a second pass, the event loop answers in between.
        deferred = sum(np.size(w) for w in snap["weights"]) > SPLIT_FRAME_EDGES and self.isVisible() and not self._headless
        if deferred:
            self._network_due = (snap, discrete)
            QTimer.singleShot(0, self._draw_deferred_network)
        else:
            self._draw_network(snap, discrete)
        v.show_counter(snap["epoch"], snap["iteration"], snap["lr"], self._last_values.get("test_loss"))
        if self._dirty_gif:
            self._dirty_gif = False
            self._record_frame()
        if self.isVisible():
            # Paint now, while the job waits, rather than later while it trains.
            v.heatmap.repaint_field()
            if not deferred:
                v.diagram.repaint()
        self.frames_drawn += 1
        return deferred

    def _draw_network(self, snap: dict, discrete: bool) -> None:
        images = network_images(snap, self._feature_images, self.spec, self._value_scale(), discrete)
        self.view.diagram.set_state(snap["weights"], snap["biases"], images)

    def _record_frame(self) -> None:
        """The output map as on screen (points, axes, epoch) for the GIF."""
        playing = self.runner.state == JobState.RUNNING and not self._headless  # a step is always kept
        self.recording.offer(lambda: self.view.output_frame(self.epoch), playing=playing)

    @Slot(bool)
    def _record_toggled(self, on: bool) -> None:
        if on:
            self.recording.restart()
            return
        if not self.gif_frames:
            self.banner.show_message("No frames recorded: play while recording", "info")
            return
        path = self.view.ask_gif_path()
        if path:
            self.write_gif(path if path.lower().endswith(".gif") else path + ".gif")

    def write_gif(self, path: str | Path) -> None:
        """The window's GIF export: the recorded frames encoded on a worker (see GifWriter)."""
        try:
            self.gif_writer.write(self.gif_frames, path, self.recording.fps)
        except ValueError as exc:
            self.banner.show_message(str(exc), "warning")

    @property
    def gif_frames(self) -> list[np.ndarray]:
        """The frames recorded so far."""
        return self.recording.frames

    # -- files ----------------------------------------------------------------------------------------
    def save_model(self, path: str | Path) -> Path:
        """Save the network on screen, its metrics and its setup as a model folder or .zip."""
        extra = {"training": self.training_settings().to_dict(), "epoch": self.epoch,
                 "data": dataclasses.asdict(self.data_settings) if self.data_settings else None}
        return save_network_model(path, self.spec, self.snapshot, self.metrics, extra)

    def load_model(self, path: str | Path) -> None:
        """Show a saved network with its weights (paused); ValueError if it does not fit the data."""
        spec, weights = read_network_model(path, self.points)  # changes nothing on a bad file
        self.runner.stop()
        self.spec = spec
        self._sync_controls_from_spec()
        self._initial_weights = weights
        self.start(paused=True)

    def save_points_csv(self, path: str | Path) -> Path:
        """Write every point (training and test) as CSV."""
        return save_points_csv(path, self.points)

    def load_points_csv(self, path: str | Path) -> None:
        """Train on the points of a CSV file; ValueError (naming the row) changes nothing."""
        points = load_points_csv(path, self.view.data_panel.settings().train_fraction)
        self.data_settings = None
        self.set_points(points)

    def save_gif(self, path: str | Path) -> Path:
        """The recorded output maps as an animated GIF, written now (headless use)."""
        return save_gif(self.gif_frames, path, fps=self.recording.fps, fast_palette=True)

    # -- export and experiment files ----------------------------------------------------------------
    def plots(self) -> dict:
        v = self.view
        return {"output": v.heatmap, "loss": v.loss_plot, "accuracy": v.accuracy_plot, "network": v.diagram}

    def experiment_state(self) -> dict:
        return {
            "data": {"generator": dataclasses.asdict(self.data_settings)} if self.data_settings else
                    {"points": self.points.to_state()},
            "network": self.spec.to_dict(),
            "training": self.training_settings().to_dict(),
            "view": {"discretize": self.view.discretize.isChecked(), "show_test": self.view.show_test.isChecked()},
            "render_epochs": self.render_epochs,
        }

    def apply_experiment_state(self, state: dict) -> None:
        """Put a saved setup on screen and show its fresh network (paused)."""
        parsed = read_state(state)  # raises ValueError and changes nothing on bad input
        # All or nothing: the form's own limits (the batch size against the new data's
        # training points, the learning rate's range) are checked before anything changes.
        n_train = int(parsed["points"].is_train.sum())
        form_keys = set(self.view.training.values())
        self.view.training.check_values({k: v for k, v in parsed["training"].to_dict().items() if k in form_keys}, max_batch=n_train)
        if parsed["data_settings"] is not None:
            self.view.data_panel.check_settings(parsed["data_settings"])
        self.runner.stop()
        self.view.training.set_max_batch(n_train)
        if parsed["data_settings"] is not None:
            self.view.data_panel.set_settings(parsed["data_settings"])
        self.data_settings = parsed["data_settings"]
        self.points = parsed["points"]
        self.spec = parsed["spec"]
        self.render_epochs = parsed["render_epochs"]
        self._sync_controls_from_spec()
        self.view.show_training(parsed["training"], self.spec)
        self.view.set_view_options(**parsed["view"])
        self._points_changed(restart=False)
        self._initial_weights = None
        self.start(paused=True)

    def shutdown(self) -> None:
        self._curve_timer.stop()
        redraw_scheduler().cancel(self)
        super().shutdown()
