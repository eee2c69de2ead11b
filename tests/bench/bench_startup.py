"""Benchmark of the window's slow edges: start-up, closing, the largest network, GIF export.

    python tests/bench/bench_startup.py [--baseline-root DIR] [--repeats N] [--train-s S]

Every figure comes from a fresh process, started as a student starts the lab, with a 5 ms
timer on the GUI thread whose lateness is how long the event loop was blocked (a stall):

  start-up   launch → torch loaded → window usable (the first timer tick after the tabs
             are ready), and the longest stall from torch loaded until then; then each
             other tab is selected once (the longest stall of a first selection);
  close      window.close() with the network builder's job alive, and close() → process
             gone (torch's thread pools, joins, settings);
  train      ~10 s of training the largest network the builder allows (8 × 32): worst
             stall and 99th percentile;
  gif        recording the network builder's GIF while it trains, then writing it: the
             longest stall while writing, and the frame size.

Baselines, measured in the same run: the eager build of every tab at start-up
(``MainWindow(lazy_tabs=False)``, the old path) for the start-up figures, and, with
``--baseline-root`` (a checkout of the base commit, e.g. ``git archive main | tar -x -C
/tmp/base``), the same scripts run against that code. Runs are interleaved; the JSON gives
medians, and every run's own figures are printed before it.

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import json, os, sys, time
T_LAUNCH = float(os.environ["BENCH_T0"])
sys.path.insert(0, os.getcwd())
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
from lab.app import create_application
from lab.main_window import MainWindow
from lab.settings import SettingsStore

MODE = os.environ["BENCH_MODE"]
LAZY = os.environ.get("BENCH_LAZY")
app = create_application([])
clock = QElapsedTimer()
ticks = []  # (time.perf_counter(), lateness in ms)

def on_tick():
    late = clock.restart() - 5
    ticks.append((time.perf_counter(), max(0.0, late)))

probe = QTimer()
probe.setInterval(5)
probe.timeout.connect(on_tick)
kwargs = {} if LAZY is None else {"lazy_tabs": LAZY == "1"}
window = MainWindow(SettingsStore(), **kwargs)
window.resize(1400, 900)
marks = {}
def mark_loaded(*_):
    marks.setdefault("loaded", time.perf_counter())

if hasattr(window, "torch_loaded"):
    window.torch_loaded.connect(mark_loaded)
else:  # the base commit has no public signal: hear its loader before the window does
    window._loader.loaded.disconnect(window._on_torch_loaded)
    window._loader.loaded.connect(mark_loaded)
    window._loader.loaded.connect(window._on_torch_loaded)
window.tabs_ready.connect(lambda: marks.setdefault("ready", time.perf_counter()))
window.show()
clock.start()
probe.start()
out = {}

def wait_until(cond, timeout_s=120):
    # The real event loop (idle, it sleeps, as in the app) until cond() holds.
    end = time.perf_counter() + timeout_s
    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(10)
    poll.timeout.connect(lambda: (cond() or time.perf_counter() > end) and loop.quit())
    if not cond():
        poll.start()
        loop.exec()
        poll.stop()
    if not cond():
        raise RuntimeError("timed out")

def pump(seconds):
    end = time.perf_counter() + seconds
    wait_until(lambda: time.perf_counter() >= end, seconds + 60)

def stalls(t0, t1):
    return [late for t, late in ticks if t0 <= t <= t1 + 1e-3]

def tick_after(t):
    wait_until(lambda: any(tt > t for tt, _ in ticks))
    return next(tt for tt, _ in ticks if tt > t)

wait_until(lambda: "ready" in marks)
usable = tick_after(marks["ready"])
out["launch_to_loaded_s"] = marks["loaded"] - (T_LAUNCH - time.time() + time.perf_counter())
out["loaded_to_usable_s"] = usable - marks["loaded"]
out["launch_to_usable_s"] = out["launch_to_loaded_s"] + out["loaded_to_usable_s"]
pump(1.0)  # what the first tab does once shown (its first job, deferred layouts)
out["build_stall_ms"] = max(stalls(marks["loaded"], time.perf_counter()))

net = window.tab_instances["network"]
if MODE == "startup":
    worst = 0.0
    by_tab = {}
    for i in range(window.tab_widget.count()):
        t0 = time.perf_counter()
        window.tab_widget.setCurrentIndex(i)
        tick_after(time.perf_counter())
        pump(0.3)
        by_tab[window.tab_widget.tabText(i)] = max(stalls(t0, time.perf_counter()))
        worst = max(worst, by_tab[window.tab_widget.tabText(i)])
    out["first_selection_stall_ms"] = worst
    out["first_selection_stall_by_tab_ms"] = by_tab  # which lab's first selection froze longest
    window.tab_widget.setCurrentWidget(net)
    pump(0.3)
elif MODE in ("train", "gif"):
    from lab.experiments import PRESETS_DIR, load_experiment
    state = load_experiment(PRESETS_DIR / "network" / "spiral_needs_depth.json").state
    state["network"].update(hidden=[32] * 8, activations=["tanh"] * 8, dropout=[0.0] * 8, batchnorm=[False] * 8)
    window.tab_widget.setCurrentWidget(net)
    net.apply_experiment_state(state)
    pump(1.0)
    record = MODE == "gif"
    if record:
        net.view.model_panel.record_gif.blockSignals(True)  # no dialog at the end: the bench writes the file
        net.view.model_panel.record_gif.setChecked(True)
    train_s = float(os.environ.get("BENCH_TRAIN_S", "10"))
    t0 = time.perf_counter()
    net.view.controls.play_button.click()
    pump(train_s)
    s = stalls(t0, time.perf_counter())
    out["epochs"] = net.epoch
    out["train_worst_stall_ms"] = max(s)
    out["train_p99_stall_ms"] = float(sorted(s)[int(0.99 * (len(s) - 1))])
    if record:
        net.runner.pause()
        pump(0.3)
        path = os.path.join(os.environ["BENCH_TMP"], "bench.gif")
        t0 = time.perf_counter()
        if hasattr(net, "write_gif"):  # this branch: encoded on a worker
            done = []
            net.gif_writer.saved.connect(lambda p: done.append(p))
            net.gif_writer.failed.connect(lambda m: done.append(m))
            net.write_gif(path)
            wait_until(lambda: done)
        else:
            net.save_gif(path)
        out["gif_write_s"] = time.perf_counter() - t0
        tick_after(time.perf_counter())
        out["gif_write_stall_ms"] = max(stalls(t0, time.perf_counter()))
        from PIL import Image
        with Image.open(path) as im:
            out["gif_frame_px"] = list(im.size)
            out["gif_frames"] = getattr(im, "n_frames", 1)
    net.view.controls.play_button.click()  # keep a job alive for the close

t0 = time.perf_counter()
out["close_at"] = time.time()
window.close()
out["close_s"] = time.perf_counter() - t0
print("BENCH " + json.dumps(out), flush=True)
import inspect
from lab.app import finish
app.quit()
# As the app ends: this branch's window ends the process at once (end_process), the base's did not.
sys.exit(finish(0, end_process=True) if "end_process" in inspect.signature(finish).parameters else finish(0))
"""


def run_child(root: Path, mode: str, *, lazy: bool | None = None, train_s: float = 10.0) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "BENCH_MODE": mode, "BENCH_TMP": tmp, "BENCH_TRAIN_S": str(train_s),
               "DLLAB_SETTINGS": str(Path(tmp) / "settings.ini"), "QT_QPA_PLATFORM": "offscreen"}
        if lazy is not None:
            env["BENCH_LAZY"] = "1" if lazy else "0"
        env["BENCH_T0"] = repr(time.time())
        proc = subprocess.run([sys.executable, "-c", CHILD], cwd=root, env=env, capture_output=True, text=True, timeout=300)
        gone = time.time()
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"the {mode} run did not report:\n{proc.stdout}\n{proc.stderr[-3000:]}")
    out = json.loads(line[6:])
    out["close_to_exit_s"] = gone - out.pop("close_at")
    return out


def median(runs: list[dict], key: str) -> float | None:
    values = [r[key] for r in runs if key in r]
    return round(float(np.median(values)), 3) if values else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline-root", type=Path, help="a checkout of the base commit, measured the same way")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--train-s", type=float, default=10.0)
    args = parser.parse_args()

    variants = {"lazy": (ROOT, True), "eager": (ROOT, False)}
    if args.baseline_root:
        variants["base"] = (args.baseline_root.resolve(), None)
    runs: dict[str, dict[str, list[dict]]] = {v: {"startup": [], "train": [], "gif": []} for v in variants}
    for _ in range(args.repeats):
        for mode in ("startup", "train", "gif"):
            for name, (root, lazy) in variants.items():
                if name == "eager" and mode != "startup":
                    continue  # the same code as "lazy" once the tabs are built
                r = run_child(root, mode, lazy=lazy, train_s=args.train_s)
                print(name, mode, json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}), flush=True)
                runs[name][mode].append(r)

    figures: dict[str, dict] = {}
    for name in variants:
        st, tr, gf = runs[name]["startup"], runs[name]["train"], runs[name]["gif"]
        f = {
            "launch_to_loaded_s": median(st, "launch_to_loaded_s"),
            "loaded_to_usable_s": median(st, "loaded_to_usable_s"),
            "launch_to_usable_s": median(st, "launch_to_usable_s"),
            "build_stall_ms": median(st, "build_stall_ms"),
            "first_selection_stall_ms": median(st, "first_selection_stall_ms"),
            "close_s": median(st + tr + gf, "close_s"),
            "close_to_exit_s": median(st + tr + gf, "close_to_exit_s"),
        }
        by_tab = [r["first_selection_stall_by_tab_ms"] for r in st if "first_selection_stall_by_tab_ms" in r]
        if by_tab:
            f["first_selection_stall_by_tab_ms"] = {t: round(float(np.median([r[t] for r in by_tab])))
                                                    for t in by_tab[0]}
        if tr:
            f.update({"train_8x32_worst_stall_ms": median(tr, "train_worst_stall_ms"),
                      "train_8x32_p99_stall_ms": median(tr, "train_p99_stall_ms"),
                      "train_8x32_epochs": median(tr, "epochs")})
        if gf:
            f.update({"gif_record_worst_stall_ms": median(gf, "train_worst_stall_ms"),
                      "gif_write_stall_ms": median(gf, "gif_write_stall_ms"),
                      "gif_write_s": median(gf, "gif_write_s"),
                      "gif_frame_px": gf[-1].get("gif_frame_px"), "gif_frames": gf[-1].get("gif_frames")})
        figures[name] = {k: v for k, v in f.items() if v is not None}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
