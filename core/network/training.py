"""The network builder's training job: a generator of curves and pictures of the network.

``train_network(cfg, ctl)`` trains epoch after epoch on the fast path when it covers
the setup (core/network/fast.py) and on autograd + torch.optim otherwise. It yields

- :class:`History` chunks with one row per epoch (losses, accuracies, rate, iteration);
- :class:`Snapshot` ``kind="network"``: the output over the plane, every neuron's
  activation over the plane, weights, biases and the state_dict — at most once per
  ``frame_s`` of training, and after every single step;
- :class:`Diverged` when a loss becomes NaN/Inf (the last good picture stays on screen);
- :class:`Finished` at ``max_epochs`` or when early stopping ends the run.

Settings can change while it runs and weights can be typed in, through the
:class:`LiveControl` in the config (thread-safe; the job picks changes up between
epochs, and at once while paused).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch

from core.devices import torch_device
from core.engine import Diverged, Event, Finished, Message, MetricsBuffer, RunControl, Snapshot, counts, to_numpy
from core.network import compiled
from core.network.fast import FastTrainer, fast_path_gap
from core.network.model import Network2D, NetworkSpec, build_network, linear_layers
from core.network.settings import PreparedData, TrainSettings
from core.network.torch_trainer import TorchTrainer

__all__ = ["TrainConfig", "LiveControl", "train_network", "make_trainer", "grid_points"]


class LiveControl:
    """Changes made while a job runs: new settings, typed-in weights. GUI → job, thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._settings: TrainSettings | None = None
        self._edits: list[tuple[int, int, int, float]] = []
        self._drawn = threading.Event()

    def update_settings(self, settings: TrainSettings) -> None:
        with self._lock:
            self._settings = settings
        self._wake.set()

    def set_parameter(self, layer: int, row: int, col: int, value: float) -> None:
        """Weight [row, col] of linear layer ``layer`` (``col = -1``: the bias of ``row``)."""
        if not math.isfinite(value):
            raise ValueError("A weight must be a finite number")
        with self._lock:
            self._edits.append((layer, row, col, float(value)))
        self._wake.set()

    def take(self) -> tuple[TrainSettings | None, list[tuple[int, int, int, float]]]:
        with self._lock:
            s, e = self._settings, self._edits
            self._settings, self._edits = None, []
            self._wake.clear()
        return s, e

    def wait(self, timeout: float) -> bool:
        return self._wake.wait(timeout)

    # The frame handshake: after each picture the job waits (briefly) until the GUI has
    # drawn it. Drawing is Python work too; if the job trained meanwhile, the two threads
    # would hand the interpreter lock back and forth on every torch call and both crawl.
    def expect_frame(self) -> None:
        self._drawn.clear()

    def frame_drawn(self) -> None:
        """Called by the GUI when it has drawn the latest picture."""
        self._drawn.set()

    def wait_drawn(self, timeout: float) -> bool:
        return self._drawn.wait(timeout)

    def drawn(self) -> bool:
        """Whether the GUI has drawn the latest picture (without waiting)."""
        return self._drawn.is_set()


@dataclass(frozen=True)
class TrainConfig:
    spec: NetworkSpec
    settings: TrainSettings
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    max_epochs: int | None = None  # None: until stopped (as Playground)
    extent: tuple[float, float, float, float] = (-6.0, 6.0, -6.0, 6.0)  # x1 min, max, x2 min, max
    output_resolution: int = 80
    neuron_resolution: int = 24
    neuron_maps: bool = True
    frame_s: float = 1 / 36  # one picture per frame period (a margin above 30 fps); training gets the rest
    min_train_s: float = 0.008  # the least training time per picture, however slow the drawing
    breather_s: float = 0.0  # without a LiveControl: sleep after a picture
    draw_wait_s: float = 0.15  # with a LiveControl: longest wait for the GUI to draw (stop stays < 200 ms)
    fast: bool = True  # allow the fast path
    compiled: bool = True  # allow the fast path's compiled loop (CPU; see core/network/compiled.py)
    device: str = "cpu"
    initial_state: dict | None = field(default=None, compare=False)  # a state_dict to start from
    live: LiveControl | None = field(default=None, compare=False)

    def __post_init__(self):
        for name in ("X_train", "y_train", "X_test", "y_test"):
            a = np.array(getattr(self, name), copy=True)
            a.setflags(write=False)  # the config is a snapshot: nobody edits it under the job
            object.__setattr__(self, name, a)

    def check(self) -> None:
        spec = self.spec.check()
        n = len(self.X_train)
        if n < 1:
            raise ValueError("The training set is empty: add points or lower the test share")
        if len(self.y_train) != n or len(self.X_test) != len(self.y_test):
            raise ValueError("Every point needs exactly one label")
        if spec.task == "classification":
            labels = np.asarray(self.y_train)
            if labels.size and (labels.min() < 0 or labels.max() >= spec.n_classes):
                raise ValueError(f"Class labels must be 0 to {spec.n_classes - 1}")
            missing = [k for k in range(spec.n_classes) if not np.any(labels == k)]
            if missing:
                raise ValueError(f"Class {missing[0]} has no training points: add some or regenerate the data")
        self.settings.check(n, len(spec.hidden) + 1, spec.task)
        if self.max_epochs is not None and self.max_epochs < 0:
            raise ValueError("The number of epochs cannot be negative")
        x0, x1, y0, y1 = self.extent
        if not (x0 < x1 and y0 < y1):
            raise ValueError("The plot area needs a positive width and height")


def make_trainer(model: Network2D, spec: NetworkSpec, data: PreparedData, settings: TrainSettings,
                 shuffle: torch.Generator, step: int = 0, allow_fast: bool = True):
    if allow_fast and fast_path_gap(spec, settings) is None:
        return FastTrainer(model, spec, data, settings, shuffle, step)
    return TorchTrainer(model, spec, data, settings, shuffle, step)


def grid_points(extent, resolution: int, device) -> torch.Tensor:
    """Points of a resolution × resolution grid, row-major with x2 along rows: out[i2, i1]."""
    x0, x1, y0, y1 = extent
    xs = torch.linspace(x0, x1, resolution, device=device)
    ys = torch.linspace(y0, y1, resolution, device=device)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)


def _output_map(out: torch.Tensor, spec: NetworkSpec, r: int) -> np.ndarray:
    """What the output node shows: P(class 1), class probabilities (r, r, k), or the value."""
    if spec.task == "regression":
        return to_numpy(out[:, 0].reshape(r, r))
    if spec.n_outputs > 1:
        return to_numpy(torch.softmax(out, 1).reshape(r, r, -1))
    return to_numpy(torch.sigmoid(out[:, 0]).reshape(r, r))


def _snapshot(trainer, cfg: TrainConfig, epoch: int, grids, feature_maps) -> Snapshot:
    spec = cfg.spec
    R, r = cfg.output_resolution, cfg.neuron_resolution
    _, out = trainer.maps(grids[0])
    data = {
        "epoch": epoch,
        "iteration": trainer.step,
        "lr": trainer.lr,
        "fast": trainer.fast,
        "output": _output_map(out, spec, R),
    }
    model = trainer.sync_model()
    if cfg.neuron_maps:
        hidden, small_out = trainer.maps(grids[1])
        data["neurons"] = [to_numpy(h.t().reshape(-1, r, r)) for h in hidden]
        data["output_small"] = _output_map(small_out, spec, r)
        data["inputs"] = feature_maps
    lins = linear_layers(model)
    data["weights"] = [to_numpy(lin.weight) for lin in lins]
    data["biases"] = [to_numpy(lin.bias) for lin in lins]
    data["state_dict"] = {k: to_numpy(v) for k, v in model.state_dict().items()}
    return Snapshot(epoch, "network", data)


@counts("epochs")
def train_network(cfg: TrainConfig, ctl: RunControl) -> Iterator[Event]:
    """Train as the module doc says; one CPU thread, restored afterwards (see below)."""
    cfg.check()
    # Every tensor here is tiny: more intra-op threads only add synchronisation, which on
    # a busy machine made each epoch several times slower. Restored when the job ends.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield from _train(cfg, ctl)
    finally:
        torch.set_num_threads(threads)


def _train(cfg: TrainConfig, ctl: RunControl) -> Iterator[Event]:
    spec, settings = cfg.spec, cfg.settings
    device = torch_device(cfg.device)
    model = build_network(spec, seed=settings.seed)
    if cfg.initial_state is not None:
        try:
            model.load_state_dict({k: torch.as_tensor(np.asarray(v)) for k, v in cfg.initial_state.items()})
        except RuntimeError as exc:
            raise ValueError(f"The saved weights do not fit this network ({str(exc).splitlines()[0]})") from None
    model.to(device)
    data = PreparedData.from_arrays(cfg.X_train, cfg.y_train, cfg.X_test, cfg.y_test, spec.task, spec.n_classes, device)
    shuffle = torch.Generator().manual_seed(settings.seed)
    trainer = make_trainer(model, spec, data, settings, shuffle, allow_fast=cfg.fast)
    grids = (grid_points(cfg.extent, cfg.output_resolution, device), grid_points(cfg.extent, cfg.neuron_resolution, device))
    with torch.no_grad():
        r = cfg.neuron_resolution
        feature_maps = to_numpy(model.features(grids[1]).t().reshape(-1, r, r))
    use_compiled = cfg.fast and cfg.compiled and device.type == "cpu"
    if use_compiled:
        compiled.request()  # loads in the background; until then the torch fast path trains
        _adopt_compiled(trainer)
    engine_text = _engine_text(trainer, spec, settings, use_compiled)
    yield Message(engine_text)

    metrics = MetricsBuffer()
    epoch, best, best_epoch = 0, math.inf, 0
    values = trainer.evaluate()
    metrics.add(0, lr=trainer.lr, iteration=0, **values)
    yield metrics.flush()
    yield _snapshot(trainer, cfg, 0, grids, feature_maps)
    frame_end = time.perf_counter() + cfg.min_train_s
    drawing_since = -math.inf  # when the last picture was handed to the GUI
    while cfg.max_epochs is None or epoch < cfg.max_epochs:
        if cfg.live is not None and ctl.paused and ctl.steps_pending == 0:
            # Paused: serve typed-in weights and new settings at once, so the picture follows.
            while ctl.paused and not ctl.stopped and ctl.steps_pending == 0:
                if cfg.live.wait(0.05):
                    trainer, edited = _apply_live(cfg, trainer, spec, data, shuffle)
                    if edited:
                        yield _snapshot(trainer, cfg, epoch, grids, feature_maps)
        ctl.checkpoint()
        if cfg.live is not None:
            trainer, edited = _apply_live(cfg, trainer, spec, data, shuffle)
        if use_compiled:
            _adopt_compiled(trainer)
        if (text := _engine_text(trainer, spec, trainer.settings, use_compiled)) != engine_text:
            engine_text = text  # the compiled loop took over, or a change of settings moved paths
            yield Message(text)
        trainer.epoch()
        epoch += 1
        values = trainer.evaluate()
        bad = [k for k in ("train_loss", "test_loss") if not math.isfinite(values[k])]
        if bad:
            if (h := metrics.flush()) is not None:
                yield h
            yield Diverged(epoch, f"diverged at epoch {epoch}: the {bad[0].replace('_', ' ')} became {values[bad[0]]}")
            return
        trainer.end_epoch(values["test_loss"])
        metrics.add(epoch, lr=trainer.lr, iteration=trainer.step, **values)
        if values["test_loss"] < best:
            best, best_epoch = values["test_loss"], epoch
        patience = trainer.settings.patience
        stop_early = patience > 0 and epoch - best_epoch >= patience
        last = stop_early or (cfg.max_epochs is not None and epoch >= cfg.max_epochs)
        now = time.perf_counter()
        # The compiled loop trains without the interpreter lock, so it need not stop while
        # the GUI draws: it goes on training on its own core, and only the next picture
        # waits until the last one is on screen (no pile of undrawn pictures).
        overlap = cfg.live is not None and getattr(trainer, "compiled", False)
        drawing = overlap and not cfg.live.drawn() and now < drawing_since + cfg.draw_wait_s
        if (now >= frame_end and not drawing) or ctl.paused or last:
            if cfg.live is not None:
                cfg.live.expect_frame()
                drawing_since = time.perf_counter()
            # Compute the picture first, then hand over curves and picture back to back: the
            # GUI starts work on the first event, and torch work between the two would then
            # compete with it for the interpreter lock.
            snapshot = _snapshot(trainer, cfg, epoch, grids, feature_maps)
            yield metrics.flush()
            yield snapshot
            budget = cfg.frame_s
            if not last and cfg.live is not None and not overlap:
                t0 = time.perf_counter()
                cfg.live.wait_drawn(cfg.draw_wait_s)
                # Time budget per frame: train for what is left of the frame period
                # after the GUI drew, so the screen keeps its rate and training the rest.
                budget = max(cfg.min_train_s, cfg.frame_s - (time.perf_counter() - t0))
            elif not last and cfg.live is None and cfg.breather_s:
                time.sleep(cfg.breather_s)
            frame_end = time.perf_counter() + budget
        if stop_early:
            yield Finished({"epochs": epoch, "early_stopped": epoch, "best_epoch": best_epoch, "best_test_loss": best,
                            "iterations": trainer.step})
            return
    yield Finished({"epochs": epoch, "best_epoch": best_epoch, "best_test_loss": best, "iterations": trainer.step,
                    **{k: v for k, v in values.items()}})


def _adopt_compiled(trainer) -> bool:
    """Move a fast-path trainer onto the compiled loop once it is loaded; True if it moved."""
    kernels = compiled.kernels()
    if kernels is None or not trainer.fast or trainer.compiled:
        return False
    trainer.switch_to_compiled(kernels)
    return True


def _engine_text(trainer, spec: NetworkSpec, settings: TrainSettings, use_compiled: bool = False) -> str:
    if trainer.fast and trainer.compiled:
        return "Engine: fast path, compiled (numba, off the interpreter lock; tested equal to torch.optim)"
    if trainer.fast:
        text = "Engine: fast path (hand-fused updates, tested equal to torch.optim)"
        if use_compiled:
            state, reason = compiled.status()
            if state == "unavailable":
                text += f"; no compiled loop: {reason}"
            else:
                text += "; the compiled loop takes over once it is loaded"
        return text
    gap = fast_path_gap(spec, settings)
    return f"Engine: autograd + torch.optim (for {gap})" if gap else "Engine: autograd + torch.optim"


def _apply_live(cfg: TrainConfig, trainer, spec, data, shuffle):
    """Apply pending settings and weight edits; may switch between fast and reference path."""
    new, edits = cfg.live.take()
    if new is not None and new != trainer.settings:
        try:
            new.check(len(cfg.X_train), len(spec.hidden) + 1, spec.task)
        except ValueError:
            new = None  # the tab checks before sending; a bad change never reaches the weights
    if new is not None and new != trainer.settings:
        fits_fast = cfg.fast and fast_path_gap(spec, new) is None
        if fits_fast == trainer.fast:
            trainer.apply_settings(new)
        else:
            trainer = make_trainer(trainer.sync_model(), spec, data, new, shuffle, trainer.step, allow_fast=cfg.fast)
    for layer, row, col, value in edits:
        trainer.set_parameter(layer, row, col, value)
    return trainer, bool(edits)

