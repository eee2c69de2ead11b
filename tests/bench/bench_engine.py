"""Benchmark of the engine: a real training job headless vs under the real window.

    python tests/bench/bench_engine.py [--epochs N]

Measures, in one process run, the activation explorer's dead-ReLU experiment (three
MLPs trained side by side, every epoch recorded):
  (a) headless, driving the generator directly;
  (b) under the main window, started with the Play button, with its live plots;
(interleaved, three times each, medians) and reports the throughput ratio (b)/(a), the worst event-loop stall during (b) (the
lateness of a 5 ms timer), plot redraws per second, and the time from process start to
the first painted window (a separate process, like a user starting the app).

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def first_paint_seconds(runs: int = 3) -> float:
    """Best of a few cold starts: process launch to the first frame of the window."""
    env = {**os.environ, "DLLAB_SETTINGS": str(Path(os.environ.get("TMPDIR", "/tmp")) / "dllab-bench-settings.ini")}
    best = float("inf")
    for _ in range(runs):
        t0 = time.time()
        out = subprocess.run(
            [sys.executable, "-m", "lab", "--exit-after-paint"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        line = next((ln for ln in out.stdout.splitlines() if ln.startswith("first_paint_time=")), None)
        if line is None:
            raise RuntimeError(f"the app did not report its first paint:\n{out.stderr}")
        best = min(best, float(line.split("=")[1]) - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=1500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    paint_s = first_paint_seconds()

    os.environ["DLLAB_SETTINGS"] = "/tmp/dllab-bench-settings.ini"
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer

    from core.activations.experiments import DeadReluConfig, dead_relu
    from core.devices import configure_threads, warm_up
    from core.engine import run_headless
    from lab.app import create_application
    from lab.main_window import MainWindow
    from lab.runner import JobState
    from lab.settings import SettingsStore

    configure_threads()
    warm_up()
    cfg = DeadReluConfig(epochs=args.epochs)

    run_headless(dead_relu, DeadReluConfig(epochs=20))  # warm caches

    def headless_run() -> float:
        t0 = time.perf_counter()
        run_headless(dead_relu, cfg)
        return args.epochs / (time.perf_counter() - t0)

    app = create_application()
    win = MainWindow(SettingsStore())
    win.resize(1400, 900)
    win.show()
    while win.stack.currentWidget() is not win.tab_widget:
        app.processEvents()
    tab = win.tab_instances["activations"]
    win.tab_widget.setCurrentWidget(tab)
    tab.show_page("dead_relu")
    page = tab.page()
    page.fields["epochs"].set_value(args.epochs)
    for _ in range(20):
        app.processEvents()

    # A 5 ms timer: how late it fires is how long the event loop was blocked.
    stall = {"worst_ms": 0.0}
    clock = QElapsedTimer()
    probe = QTimer()
    probe.setInterval(5)

    def on_probe():
        elapsed = clock.restart()
        stall["worst_ms"] = max(stall["worst_ms"], elapsed - 5)

    probe.timeout.connect(on_probe)
    plots = list(page.plots().values())
    loop = QEventLoop()
    # The runner lives on the GUI thread, so this connection is direct and safe.
    tab.runner.state_changed.connect(lambda state: state != JobState.RUNNING and loop.quit())

    def gui_run() -> tuple[float, float, float]:
        """epochs/s, redraws/s (the slowest plot), GUI-thread CPU share."""
        redraws0 = [p.redraw_count for p in plots]
        t0, cpu0 = time.perf_counter(), time.thread_time()
        page.controls.play_button.click()
        clock.start()
        probe.start()
        loop.exec()  # the real event loop, as in the app
        gui_s = time.perf_counter() - t0
        cpu_share = (time.thread_time() - cpu0) / gui_s
        probe.stop()
        for _ in range(10):
            app.processEvents()
        redraws = min(p.redraw_count - r0 for p, r0 in zip(plots, redraws0))
        return args.epochs / gui_s, redraws / gui_s, cpu_share

    # Interleaved repeats, medians: the machine's speed drifts more than the effect.
    headless, gui = [], []
    for _ in range(args.repeats):
        headless.append(headless_run())
        gui.append(gui_run())
    headless_eps = float(np.median(headless))
    gui_eps = float(np.median([g[0] for g in gui]))
    redraws_per_s = float(np.median([g[1] for g in gui]))
    cpu_share = float(np.median([g[2] for g in gui]))
    ratio = float(np.median([g[0] / h for g, h in zip(gui, headless)]))
    win.grab().save("/tmp/bench_engine_window.png")
    win.close()

    figures = {
        "epochs": args.epochs,
        "headless_epochs_per_s": round(headless_eps, 1),
        "gui_epochs_per_s": round(gui_eps, 1),
        "throughput_ratio": round(ratio, 3),
        "worst_stall_ms": round(stall["worst_ms"], 1),
        "redraws_per_s": round(redraws_per_s, 1),
        "gui_thread_cpu_share": round(cpu_share, 3),
        "first_paint_s": round(paint_s, 3),
    }
    print(f"headless {headless_eps:.0f} epochs/s, under the window {gui_eps:.0f} epochs/s")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
