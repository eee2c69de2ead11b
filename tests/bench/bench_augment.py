"""Benchmark: a 64-draw grid of a 256×256 image through the issue's pipeline.

Baseline, measured in the same run: a plain Python loop calling the same
``v2.Compose`` 64 times with the same per-draw seeds (the loop of the lab's generated
code), so both do the same random work. The lab's grid (recording each draw's sampled
parameters, converting each draw for display, streaming) must be no slower. The
loop seeded once (as in training) is printed too; its random work differs.

    python tests/bench/bench_augment.py

The last line printed is one JSON object: grid64_ms, first_draw_ms, ratio_vs_plain_loop.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402

from core.augmentation.draws import GridConfig, draw_grid_job  # noqa: E402
from core.augmentation.pixels import image_tensor  # noqa: E402
from core.datasets.samples import make_sample  # noqa: E402
from core.devices import configure_threads  # noqa: E402
from core.engine import RunControl, Snapshot  # noqa: E402
from core.transforms import build_pipeline, default_entry  # noqa: E402

N = 64
REPEATS = 9


def bench_spec() -> dict:
    def entry(t, **params):
        e = default_entry(t)
        e["params"].update(params)
        return e

    return {
        "version": 1,
        "transforms": [
            entry("RandomResizedCrop", size=224),
            entry("RandomHorizontalFlip"),
            entry("RandomRotation", degrees=30.0),
            entry("ColorJitter", brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1),
            entry("GaussianBlur", kernel_size=5),
            entry("RandomErasing"),
        ],
    }


def plain_loop(spec: dict, image: np.ndarray, seed: int, per_draw_seeds: bool) -> tuple[float, float]:
    """(wall ms, CPU ms of this thread) of a plain loop over ``v2.Compose``.

    With ``per_draw_seeds`` it is exactly the loop of the lab's generated code (seed
    ``seed * 1000 + i`` before draw ``i``), so it does the same random work as the lab's
    grid; without, it is seeded once, like a training loop.
    """
    import torch

    pipeline = build_pipeline(spec)
    x = image_tensor(image)
    torch.manual_seed(seed)
    w0, c0 = time.perf_counter(), time.thread_time()
    for i in range(N):
        if per_draw_seeds:
            torch.manual_seed(seed * 1000 + i)
        pipeline(x)
    return (time.perf_counter() - w0) * 1000, (time.thread_time() - c0) * 1000


def lab_grid(cfg: GridConfig) -> tuple[float, float, float]:
    """(first draw ms, all draws wall ms, CPU ms) of the lab's grid job, as the tab runs it."""
    w0, c0 = time.perf_counter(), time.thread_time()
    first = last = cpu = float("nan")
    for ev in draw_grid_job(cfg, RunControl()):
        if isinstance(ev, Snapshot) and ev.kind == "draws":
            last = (time.perf_counter() - w0) * 1000
            cpu = (time.thread_time() - c0) * 1000
            if first != first:
                first = last
    return first, last, cpu


def main() -> None:
    # One intra-op thread, as on the 2-core machine where the app leaves a core for the GUI.
    configure_threads(leave_for_gui=1)
    spec = bench_spec()
    image = make_sample("scene")
    assert image.shape == (256, 256, 3)
    base = GridConfig(json.dumps(spec), image, seed=0, n_draws=N, stats=False)
    plain_loop(spec, image, 0, True)  # warm up (first calls build kernels, import modules)
    lab_grid(base)
    rows = []
    for r in range(REPEATS):  # interleaved, so that machine load hits all alike
        first, gw, gc = lab_grid(replace(base, seed=r))
        pw, pc = plain_loop(spec, image, r, True)
        uw, _ = plain_loop(spec, image, r, False)
        rows.append((pw, pc, first, gw, gc, uw))
        print(f"plain {pw:7.1f} ms (cpu {pc:7.1f})   lab grid {gw:7.1f} ms (cpu {gc:7.1f})   first draw {first:5.1f} ms   unseeded plain {uw:7.1f} ms")
    med = lambda i: statistics.median(row[i] for row in rows)  # noqa: E731
    result = {
        "grid64_ms": round(med(3), 1),
        "first_draw_ms": round(med(2), 1),
        "plain_loop_ms": round(med(0), 1),
        "plain_unseeded_loop_ms": round(med(5), 1),
        # Median of the back-to-back pairs' ratios: each pair ran under the same load and,
        # with the same seeds, did the same random work. CPU time of this thread is less
        # disturbed by other programs sharing the cores than wall time.
        "ratio_vs_plain_loop": round(statistics.median(r[3] / r[0] for r in rows), 3),
        "cpu_ratio_vs_plain_loop": round(statistics.median(r[4] / r[1] for r in rows), 3),
        "repeats": REPEATS,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
