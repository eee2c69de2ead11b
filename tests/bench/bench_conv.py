"""Benchmark: building the convolution step list, and stepping redraws per second.

Layer: a 32×32×3 input, 8 filters of 3×3, 'same' padding (8,192 steps, 221,184 products).

- steps_build_ms: median time of ``build_steps`` (every window's products, partial
  sums and values at once). Baselines in the same run: the same step list built by a
  plain Python loop over output cells (``loop_build_ms``), and torch's own conv2d for
  the layer (``torch_conv_ms``, which computes only the outputs).
- step_fps: the tab offscreen, stepping one step and repainting the whole stepping
  view (``grab`` forces a full paint of every grid, more than a real step repaints)
  as fast as it can; the play timer needs ≥ 30. ``step_fps_cpu`` counts this thread's
  CPU time only, which other processes on a shared machine do not inflate.

    python tests/bench/bench_conv.py

The last line printed is one JSON object with those keys.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

from core.convolution.spec import ConvSpec  # noqa: E402
from core.convolution.stepper import build_steps  # noqa: E402

REPEATS = 9
FRAMES = 90


def layer() -> ConvSpec:
    rng = np.random.default_rng(0)
    return ConvSpec("conv2d", rng.normal(size=(3, 32, 32)), rng.normal(size=(8, 3, 3, 3)), rng.normal(size=8), padding="same")


def loop_build(spec: ConvSpec) -> np.ndarray:
    """The same products / partial sums / values, one output cell at a time."""
    from core.convolution.spec import output_size, pad_input

    grid, _ = pad_input(spec)
    ho, wo = output_size(spec)
    c_out, c_in, kh, kw = spec.weight.shape
    products = np.empty((c_out, ho, wo, c_in, kh, kw))
    values = np.empty((c_out, ho, wo))
    for o in range(c_out):
        for y in range(ho):
            for x in range(wo):
                window = grid[:, y : y + kh, x : x + kw]
                products[o, y, x] = window * spec.weight[o]
                values[o, y, x] = products[o, y, x].sum() + spec.bias[o]
    return values


def timed(fn, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def step_fps() -> tuple[tuple[float, float], tuple[float, float]]:
    """Frames/s (wall, CPU) stepping the 32×32×3 layer, and on the 5×5 classic example."""
    from lab.app import create_application
    from lab.tabs.convolution.tab import ConvolutionTab

    app = create_application()
    tab = ConvolutionTab()
    tab.resize(1400, 900)
    tab.show()

    def wait_built(count: int) -> None:
        end = time.perf_counter() + 10
        while (tab.steps is None or tab.steps.count != count) and time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.005)

    def measure() -> tuple[float, float]:
        """(wall-clock, CPU-time) frames/s; CPU time is steadier on a shared machine."""
        tab.set_index(-1)
        app.processEvents()
        t0, c0 = time.perf_counter(), time.thread_time()
        for i in range(FRAMES):
            tab.set_index(i)
            tab.view.grab()
        return FRAMES / (time.perf_counter() - t0), FRAMES / (time.thread_time() - c0)

    wait_built(9)
    small = measure()
    spec = layer()
    tab.apply_experiment_state({"input": spec.x.tolist(), "weight": spec.weight.tolist(), "bias": spec.bias.tolist(), "padding_kind": "same"})
    wait_built(8192)
    big = measure()
    tab.shutdown()
    return big, small


def main() -> None:
    import torch
    import torch.nn.functional as F

    from core.devices import configure_threads

    configure_threads()
    spec = layer()
    build_steps(spec)  # warm up
    build_ms = timed(lambda: build_steps(spec))
    np.testing.assert_allclose(build_steps(spec).values, loop_build(spec))
    loop_ms = timed(lambda: loop_build(spec), 3)
    x, w, b = (torch.tensor(a) for a in (spec.x[None], spec.weight, spec.bias))
    torch_ms = timed(lambda: F.conv2d(x, w, b, padding="same"))
    (fps, fps_cpu), (fps_small, _) = step_fps()
    print(f"build_steps {build_ms:.1f} ms; Python loop {loop_ms:.1f} ms ({loop_ms / build_ms:.1f}× slower); torch conv2d {torch_ms:.2f} ms")
    print(f"stepping redraws: {fps:.0f} frames/s ({fps_cpu:.0f} by CPU time) for 32×32×3 with 8 filters, {fps_small:.0f} frames/s on the 5×5 classic")
    print(json.dumps({
        "steps_build_ms": round(build_ms, 2),
        "step_fps": round(fps, 1),
        "step_fps_cpu": round(fps_cpu, 1),
        "step_fps_small": round(fps_small, 1),
        "loop_build_ms": round(loop_ms, 2),
        "speedup_vs_loop": round(loop_ms / build_ms, 1),
        "torch_conv_ms": round(torch_ms, 3),
        "steps": 8192,
    }))


if __name__ == "__main__":
    main()
