"""Benchmark: the classic initialization experiment, from a settings change to the screen.

1,000 × 500 Gaussian inputs through 10 tanh layers of width 500 (Xavier normal), forward
and backward, 20 histograms of 30 bins (activations and gradients, each on its own range
and on the shared range), drawn by the Initialization tab (offscreen). Target ≤ 0.5 s.

Baseline, measured in the same run: the bare forward + backward of the same network as
nn.Sequential(nn.Linear, nn.Tanh, …), with nothing recorded.

    python tests/bench/bench_init.py

The last line printed is one JSON object: classic_s, core_s, baseline_s, ratio_vs_baseline,
and the single-thread CPU seconds core_cpu_s and baseline_cpu_s (steady under a shared load).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from core.devices import configure_threads  # noqa: E402
from core.engine import run_headless  # noqa: E402
from core.initialization.schemes import SchemeChoice  # noqa: E402
from core.initialization.stats import NetworkSpec, StatsConfig, layer_statistics  # noqa: E402

REPEATS = 5
CLASSIC = {"depth": 10, "widths": "500", "input_dim": 500, "batch": 1000, "activation": "tanh", "schemes": ["xavier_normal"]}


def baseline() -> tuple[float, float]:
    layers = []
    for _ in range(10):
        lin = nn.Linear(500, 500, bias=False)
        nn.init.xavier_normal_(lin.weight)
        lin.weight.requires_grad_(False)
        layers += [lin, nn.Tanh()]
    net = nn.Sequential(*layers)
    x = torch.randn(1000, 500, requires_grad=True)
    g = torch.randn(1000, 500)
    times, cpu = [], []
    for _ in range(REPEATS + 1):
        t0, c0 = time.perf_counter(), time.thread_time()
        net(x).backward(g)
        times.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    return statistics.median(times[1:]), statistics.median(cpu[1:])


def core_only() -> tuple[float, float]:
    cfg = StatsConfig(NetworkSpec((500,) * 10, "tanh"), (SchemeChoice.of("xavier_normal"),))
    times, cpu = [], []
    for _ in range(REPEATS + 1):
        t0, c0 = time.perf_counter(), time.thread_time()
        run_headless(layer_statistics, cfg)
        times.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    return statistics.median(times[1:]), statistics.median(cpu[1:])


def on_screen() -> float:
    """From the start of the recompute to the histograms painted with the new data."""
    from lab.app import create_application
    from lab.runner import JobState
    from lab.tabs.initialization.tab import InitializationTab

    app = create_application()
    tab = InitializationTab()
    tab.resize(1400, 900)
    tab.show()

    def wait(cond, timeout=60.0):
        end = time.perf_counter() + timeout
        while not cond():
            if time.perf_counter() > end:
                raise TimeoutError("the tab did not finish in time")
            app.processEvents()
            time.sleep(0.001)

    state = {**tab.experiment_state(), **CLASSIC}
    tab.apply_experiment_state(state)
    tab._recompute_timer.stop()
    times = []
    try:
        for _ in range(REPEATS + 1):
            wait(lambda: not tab.runner.is_active)
            app.processEvents()
            t0 = time.perf_counter()
            tab.recompute_statistics()
            generation = tab.runner.generation
            wait(lambda g=generation: tab.runner.state == JobState.FINISHED and tab.runner.generation == g)
            column = tab.signals.columns["xavier_normal"]
            painted = column.histograms.paint_count
            wait(lambda c=column, n=painted: c.histograms.paint_count > n and not tab._dirty)
            times.append(time.perf_counter() - t0)
    finally:
        tab.shutdown()
    return statistics.median(times[1:])


def main() -> None:
    configure_threads(leave_for_gui=1)  # as the application does
    base, base_cpu = baseline()
    core, core_cpu = core_only()
    screen = on_screen()
    print(f"baseline forward+backward: {base:.3f} s; statistics job: {core:.3f} s; on screen: {screen:.3f} s")
    print(f"CPU time of one thread (load-independent): baseline {base_cpu:.3f} s, statistics job {core_cpu:.3f} s")
    result = {
        "classic_s": round(screen, 4),
        "core_s": round(core, 4),
        "baseline_s": round(base, 4),
        "ratio_vs_baseline": round(screen / base, 2),
        "core_cpu_s": round(core_cpu, 4),
        "baseline_cpu_s": round(base_cpu, 4),
        "threads": torch.get_num_threads(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
