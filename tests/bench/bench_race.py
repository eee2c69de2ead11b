"""Benchmark of the optimizer race (run alone: ``python tests/bench/bench_race.py``).

Measures, in one run so that the ratios hold on a busy machine:
* race2d_s: a 2-D race of 9 optimizers x 1000 steps, computed headless (target <= 0.5 s);
* net_race_epochs_per_s: 8 optimizers racing the Playground default network (2-4-2-1
  tanh, 250 circle training points, batch 10) in one batched tensor program
  (target >= 300), and the same race as 8 nn.Sequential modules each with its own
  torch.optim optimizer in a Python loop (the baseline; ratio_vs_loop target >= 20);
* gui_fps: frames per second of the optimizers tab's contour view while a race runs
  (target >= 30), offscreen.
The last line printed is one JSON object.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402

from core.engine import run_headless  # noqa: E402
from core.optimizer_race.batched_optimizers import make_torch_optimizer  # noqa: E402
from core.optimizer_race.network_race import NetRace, NetRaceConfig  # noqa: E402
from core.optimizer_race.surface_race import RaceConfig, race_job  # noqa: E402


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def bench_race2d() -> float:
    cfg = RaceConfig(surface="rosenbrock", steps=1000)
    run_headless(race_job, cfg)  # warm-up
    return best_of(lambda: run_headless(race_job, cfg), 5)


def bench_net_race(epochs: int = 60) -> float:
    race = NetRace(NetRaceConfig(epochs=10_000))
    race.train_epoch()

    def run():
        for _ in range(epochs):
            race.train_epoch()

    return epochs / best_of(run, 5)


def bench_module_loop(epochs: int = 3) -> float:
    """The naive way: 8 nn.Sequential networks, 8 torch.optim optimizers, one Python loop."""
    cfg = NetRaceConfig(epochs=10_000)
    race = NetRace(cfg)  # only for its data and initial weights
    data = race.data
    models, opts = [], []
    for s in cfg.racers:
        torch.manual_seed(cfg.seed)
        net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2), torch.nn.Tanh(),
                                  torch.nn.Linear(2, 1))
        models.append(net)
        opts.append(make_torch_optimizer(s, net.parameters(), 10_000)[0])
    loss_fn = torch.nn.BCEWithLogitsLoss()
    gen = torch.Generator().manual_seed(1)

    def run():
        for _ in range(epochs):
            perm = torch.randperm(len(data.x_train), generator=gen)
            xs, ys = data.x_train[perm], data.y_train[perm]
            for b in range(0, len(xs), 10):
                xb, yb = xs[b : b + 10], ys[b : b + 10]
                for net, opt in zip(models, opts):
                    opt.zero_grad()
                    loss_fn(net(xb), yb).backward()
                    opt.step()

    run()
    return epochs / best_of(run, 3)


def bench_gui_fps(seconds: float = 3.0) -> tuple[float, float]:
    from PySide6.QtCore import QEventLoop

    from lab.app import create_application
    from lab.tabs.optimizer_race.tab import OptimizersTab

    app = create_application()
    tab = OptimizersTab()
    tab.resize(1400, 900)
    tab.show()
    app.processEvents()
    tab.surface_page.steps_field.set_value(5000)
    tab.start()
    view = tab.surface_page.contour
    end = time.perf_counter() + 0.5
    while time.perf_counter() < end:
        app.processEvents(QEventLoop.AllEvents, 5)
    # Frames = paints of the contour view that showed new race data.
    start_frames, start_paints, t0 = view.frames_drawn, view.frames_painted, time.perf_counter()
    cpu0 = time.thread_time()
    while time.perf_counter() - t0 < seconds:
        app.processEvents(QEventLoop.AllEvents, 5)
    elapsed = time.perf_counter() - t0
    cpu = max(time.thread_time() - cpu0, 1e-9)
    frames = min(view.frames_drawn - start_frames, view.frames_painted - start_paints)
    tab.shutdown()
    tab.close()
    # Frames per wall-clock second, and per second of the GUI thread's own CPU time: on
    # a machine shared with other jobs the first is what we got, the second what one
    # free core would give.
    return frames / elapsed, frames / cpu


def main() -> None:
    torch.set_num_threads(1)
    race2d_s = bench_race2d()
    print(f"2-D race, 9 optimizers x 1000 steps: {race2d_s:.3f} s")
    batched = bench_net_race()
    print(f"network race, 8 optimizers batched: {batched:.0f} race epochs/s")
    loop = bench_module_loop()
    print(f"network race, 8 modules + 8 torch.optim in a loop: {loop:.1f} race epochs/s")
    fps, fps_cpu = bench_gui_fps()
    print(f"whole tab while racing: {fps:.1f} frames/s wall clock, {fps_cpu:.1f} frames per GUI-thread CPU second")
    print(json.dumps({
        "race2d_s": round(race2d_s, 4),
        "net_race_epochs_per_s": round(batched, 1),
        "loop_epochs_per_s": round(loop, 2),
        "ratio_vs_loop": round(batched / loop, 1),
        "gui_fps": round(fps, 1),
        "gui_fps_per_cpu_s": round(fps_cpu, 1),
    }))


if __name__ == "__main__":
    main()
