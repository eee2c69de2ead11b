"""Seeded draws of an augmentation pipeline, each with the parameters it sampled.

``draw_grid_job`` is the lab's long work: it streams the draws of a grid as they are
made (the first one at once, then at most ~60 chunks a second), then per-channel
statistics, an optional parameter sweep and an optional mixed batch. Draw ``i`` uses
torch seed ``draw_seed(seed, i)``, the same as the generated code, so a grid is
reproducible outside the lab.

The sampled parameters are recorded by wrapping each transform's ``make_params`` (the
hook every v2 transform calls exactly once when it is applied); the policies
(AutoAugment & co.) choose their operations elsewhere, so for them the chosen
operations are recorded instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from core.augmentation.mix import mixed_batch
from core.augmentation.pixels import DISPLAY_MAX_SIDE, as_float_values, channel_histograms, image_tensor, stats_sample, to_display
from core.engine import Event, Finished, RunControl, Snapshot, Throttle, counts
from core.transforms import TRANSFORMS, build_steps, draw_seed, make_transform, normalize_spec, pipeline_code

__all__ = [
    "GridConfig",
    "RecordingPipeline",
    "draw_grid_job",
    "sweep_row",
    "summarize_params",
]

MAX_DRAWS = 64


@dataclass(frozen=True)
class GridConfig:
    spec_json: str  # the pipeline spec as JSON text (keeps the config immutable)
    image: np.ndarray  # (H, W, 3) uint8
    seed: int = 0
    n_draws: int = 16
    sweep_step: int | None = None  # index into spec["transforms"] to sweep, or None
    sweep_cells: int = 7
    mix_images: tuple = ()  # ((H, W, 3) uint8, ...) a labelled batch for MixUp/CutMix
    mix_labels: tuple = ()  # class names of mix_images
    stats: bool = True


class RecordingPipeline:
    """The spec's Compose, plus a record of what each step sampled on the last call."""

    def __init__(self, spec: dict):
        from torchvision.transforms import v2

        self.spec = normalize_spec(spec)
        self.steps = build_steps(self.spec)
        self.compose = v2.Compose([s.module for s in self.steps])
        self._log: dict[int, list] = {}
        for k, step in enumerate(self.steps):
            self._hook(step.module, k)

    def _hook(self, module, k: int) -> None:
        from torchvision.transforms import v2

        inner = module.transforms[0] if isinstance(module, v2.RandomApply) else module
        if hasattr(inner, "_apply_image_or_video_transform"):  # the policies: record chosen ops
            original_op = inner._apply_image_or_video_transform
            log = self._log

            def record_op(image, transform_id, magnitude, *args, **kwargs):
                log.setdefault(k, []).append({"op": transform_id, "magnitude": float(magnitude)})
                return original_op(image, transform_id, magnitude, *args, **kwargs)

            inner._apply_image_or_video_transform = record_op
        original = inner.make_params
        log = self._log

        def record(flat_inputs):
            params = original(flat_inputs)
            log.setdefault(k, []).append(params)
            return params

        inner.make_params = record

    def __call__(self, image):
        self._log.clear()
        return self.compose(image)

    def last_params(self) -> list[str]:
        """One readable line per step: what it sampled, or that it was skipped."""
        lines = []
        for k, step in enumerate(self.steps):
            if step.entry_index is None:
                continue  # the inserted ToDtype samples nothing
            entry = self.spec["transforms"][step.entry_index]
            title = TRANSFORMS[entry["type"]].title
            records = self._log.get(k)
            if not records and TRANSFORMS[entry["type"]].group == "policy":
                lines.append(f"{title}: no operation this time")
                continue
            if not records:
                lines.append(f"{title}: skipped (p={entry['p']:g})")
                continue
            parts = [summarize_params(r) for r in records]
            text = "; ".join(p for p in parts if p) or _applied_text(entry)
            lines.append(f"{title}: {text}")
        return lines


def _applied_text(entry: dict) -> str:
    """For transforms that sample nothing we can show (Resize, noise): their settings."""
    settings = ", ".join(f"{k}={_fmt(v)}" for k, v in entry["params"].items())
    return f"applied ({settings})" if settings else "applied"


def _fmt(v: Any) -> str:
    if hasattr(v, "detach"):  # a tensor
        if v.numel() == 1:
            return _fmt(v.item())
        if v.numel() <= 6:
            return "[" + ", ".join(_fmt(x) for x in v.flatten().tolist()) + "]"
        return f"random field {tuple(v.shape)}"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return f"{v:.3g}"
    if isinstance(v, (list, tuple)):
        if len(v) > 4 and all(isinstance(x, (list, tuple)) for x in v):
            return f"{len(v)} points"
        return "(" + ", ".join(_fmt(x) for x in v) + ")"
    return str(v)


def summarize_params(params: dict) -> str:
    """``make_params`` output as short text for a tooltip (tensors and long lists abbreviated)."""
    if "op" in params:
        return f"{params['op']} (magnitude {params['magnitude']:.3g})"
    skip = {"fn_idx", "needs_crop", "needs_pad", "padding", "fill", "num_input_channels"}
    items = []
    for key, value in params.items():
        if key in skip or value is None:
            continue
        if key == "startpoints":
            continue
        if key == "coefficients":
            items.append("corners moved")
            continue
        items.append(f"{key}={_fmt(value)}")
    return ", ".join(items)


def sweep_row(spec: dict, step_index: int, image: np.ndarray, cells: int = 7, seed: int = 0) -> tuple[list[float], list[np.ndarray], str]:
    """The image through one transform with one parameter swept across a row.

    Every cell uses the same seed and p = 1, so only the swept parameter changes.
    Returns (values, images, parameter label).
    """
    import torch

    spec = normalize_spec(spec)
    entries = spec["transforms"]
    if not 0 <= step_index < len(entries):
        raise ValueError("Choose a transform of the pipeline to sweep")
    entry = entries[step_index]
    d = TRANSFORMS[entry["type"]]
    if d.sweep is None:
        raise ValueError(f"{d.title} has no parameter to sweep; try rotation, affine, colour jitter, blur, noise …")
    label, lo, hi, to_params = d.sweep
    values = np.linspace(lo, hi, max(2, cells)).tolist()
    x = image_tensor(image)
    if d.needs_float:
        x = x.float() / 255.0
    out = []
    for v in values:
        kw = to_params(v, dict(entry["params"]))
        kw = d.kwargs(kw, d.needs_float) if d.kwargs else kw
        if d.own_p:
            kw["p"] = 1.0
        module = make_transform(d.type, kw)
        torch.manual_seed(draw_seed(seed, 0))
        out.append(to_display(module(x), DISPLAY_MAX_SIDE))
    return values, out, label


class _DrawStore:
    """Where a grid keeps its draws: one screen buffer and one statistics buffer, each
    allocated once per grid, that every draw is copied into.

    Keeping 64 separately allocated outputs alive makes the transforms' temporaries land
    on fresh memory every draw (measured: about a third slower than a loop that drops
    each output); copying into buffers allocated up front keeps the allocator's reuse.
    A draw whose size differs from the first one is kept as its own array.
    """

    def __init__(self, n: int):
        self.n = n
        self._screen: np.ndarray | None = None
        self._stats = None
        self.samples: list = []  # per draw, what the statistics are computed from

    def keep(self, i: int, y) -> np.ndarray:
        """Store draw ``i``; return its screen image (a view into the screen buffer)."""
        shown = to_display(y, DISPLAY_MAX_SIDE)
        if self._screen is None:
            self._screen = np.empty((self.n, *shown.shape), np.uint8)
        if self._screen.shape[1:] == shown.shape:
            self._screen[i] = shown
            shown = self._screen[i]
        sample = stats_sample(y)
        if self._stats is None:
            self._stats = sample.new_empty((self.n, *sample.shape))
        if self._stats.shape[1:] == sample.shape and self._stats.dtype == sample.dtype:
            self._stats[i].copy_(sample)
            self.samples.append(self._stats[i])
        else:
            self.samples.append(sample.clone())
        return shown


@counts("draws")
def draw_grid_job(cfg: GridConfig, ctl: RunControl) -> Iterator[Event]:
    """Draws of the grid (streamed), then stats, sweep and mixed batch; see module doc."""
    import json

    import torch

    n = int(cfg.n_draws)
    if not 1 <= n <= MAX_DRAWS:
        raise ValueError(f"Number of draws must be between 1 and {MAX_DRAWS}")
    spec = normalize_spec(json.loads(cfg.spec_json))
    pipeline = RecordingPipeline(spec)
    x = image_tensor(cfg.image)
    throttle = Throttle(60.0)
    pending: list[dict] = []
    store = _DrawStore(n)
    t0, cpu0 = time.perf_counter(), time.thread_time()
    for i in range(n):
        ctl.checkpoint()
        # Only the CPU generator: the same numbers as torch.manual_seed for CPU transforms,
        # without its per-call cost of seeding every other backend (~0.2 ms a draw).
        torch.default_generator.manual_seed(draw_seed(cfg.seed, i))
        try:
            y = pipeline(x)
        except (ValueError, RuntimeError, TypeError) as exc:  # e.g. a crop larger than the image
            raise ValueError(f"The pipeline cannot transform this {cfg.image.shape[1]}×{cfg.image.shape[0]} image: {exc}") from None
        pending.append({"index": i, "image": store.keep(i, y), "params": pipeline.last_params(), "shape": tuple(y.shape)})
        if throttle.due() or i == n - 1:
            yield Snapshot(i, "draws", {"draws": tuple(pending), "n": n, "elapsed_s": time.perf_counter() - t0})
            pending = []
    # Wall and CPU time of the draws: under the GUI they differ by the time this thread
    # waited for the CPU or the interpreter lock.
    summary: dict[str, Any] = {"grid_s": time.perf_counter() - t0, "grid_cpu_s": time.thread_time() - cpu0, "n": n}
    yield Snapshot(n, "code", {"text": pipeline_code(spec, seed=cfg.seed, n_draws=n)})
    if cfg.stats:
        ctl.checkpoint()
        before = as_float_values(stats_sample(x))
        after = [as_float_values(y) for y in store.samples]
        lo = min(0.0, min(float(a.min()) for a in after))
        hi = max(1.0, max(float(a.max()) for a in after))
        yield Snapshot(n, "stats", {
            "before": channel_histograms([before], value_range=(lo, hi)),
            "after": channel_histograms(after, value_range=(lo, hi)),
            "normalize": _normalize_used(spec),
        })
    if cfg.sweep_step is not None:
        ctl.checkpoint()
        try:
            values, images, label = sweep_row(spec, cfg.sweep_step, cfg.image, cfg.sweep_cells, cfg.seed)
        except ValueError as exc:  # a sweep that cannot be made must not cost the grid
            yield Snapshot(n, "sweep", {"error": str(exc), "step": cfg.sweep_step})
        else:
            yield Snapshot(n, "sweep", {"values": tuple(values), "images": tuple(images), "label": label, "step": cfg.sweep_step})
    if spec["mix"]["kind"] != "none" or spec["mix"]["label_smoothing"] > 0:
        if cfg.mix_images:
            ctl.checkpoint()
            yield Snapshot(n, "mix", mixed_batch(spec, pipeline, list(cfg.mix_images), list(cfg.mix_labels), cfg.seed))
    yield Finished(summary)


def _normalize_used(spec: dict) -> dict | None:
    for entry in spec["transforms"]:
        if entry["type"] == "Normalize" and entry["enabled"]:
            return {"mean": list(entry["params"]["mean"]), "std": list(entry["params"]["std"])}
    return None
