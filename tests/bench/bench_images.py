"""Benchmark: the image lab's training job against a plain torch loop, and GUI refresh.

    python tests/bench/bench_images.py [--threads 2] [--epochs 4] [--repeats 7]

Both train the same model on the same in-memory tensors (the built-in shapes, 28×28,
8 classes, batch 64, Adam), with the same per-epoch validation, so the ratio is the
cost of the engine: events, checkpoints, metrics, confusion matrices, snapshots.
MLP 784-128-64-8 and CNN conv 1→8 3×3, pool, conv 8→16 3×3, pool, fc. Each variant
runs ``repeats`` times alternately; the ratio is the median of the back-to-back pairs.

Speeds are steps per CPU second of this process (``time.process_time``), so that
other load on a shared machine does not decide the ratio.

Then the tab trains the CNN under a real event loop while a 60 Hz timer asks for a
redraw; ``gui_fps`` is how many of those the GUI thread managed per second.

The last line is JSON with mlp_ratio, cnn_ratio, gui_fps (and the raw numbers).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from core.datasets.images import DataConfig, prepare  # noqa: E402
from core.engine import Finished, run_headless  # noqa: E402
from core.images.models import build_model  # noqa: E402
from core.images.training import ImageTrainConfig, train_images  # noqa: E402

DATA = DataConfig(source="builtin", n_per_class=600, size=28, seed=0)
MLP = [{"type": "flatten"}, {"type": "linear", "units": 128}, {"type": "activation", "fn": "relu"},
       {"type": "linear", "units": 64}, {"type": "activation", "fn": "relu"}]
CNN = [{"type": "conv", "filters": 8, "kernel": 3}, {"type": "activation", "fn": "relu"}, {"type": "maxpool", "kernel": 2, "stride": 2},
       {"type": "conv", "filters": 16, "kernel": 3}, {"type": "activation", "fn": "relu"}, {"type": "maxpool", "kernel": 2, "stride": 2},
       {"type": "flatten"}]
BATCH = 64
# CPU seconds of this process, not wall time: the machine is shared, and other people's
# load would otherwise decide the ratio. Both sides run in this one thread of Python.
CLOCK = time.process_time


def plain_loop(layers, epochs: int) -> float:
    """Steps per second of a textbook loop over the same tensors, with per-epoch validation.

    Timed from the data split on, as the engine's run is: data loading included.
    """
    t0 = CLOCK()
    data = prepare(DATA)
    torch.manual_seed(0)
    model = build_model(layers, data.input_shape, len(data.classes))
    opt = torch.optim.Adam(model.parameters(), lr=0.003)
    x, y, xv, yv = data.x_train, data.y_train, data.x_val, data.y_val
    n = len(y)
    steps_per_epoch = n // BATCH
    gen = torch.Generator().manual_seed(0)
    for _epoch in range(epochs):
        perm = torch.randperm(n, generator=gen)
        running = 0.0
        for i in range(steps_per_epoch):
            idx = perm[i * BATCH : (i + 1) * BATCH]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            running += loss.item()
        model.eval()
        with torch.no_grad():
            val_acc = (model(xv).argmax(1) == yv).float().mean().item()
        model.train()
    assert val_acc >= 0
    return epochs * steps_per_epoch / (CLOCK() - t0)


def engine_run(layers, epochs: int) -> float:
    cfg = ImageTrainConfig(data=DATA, layers_json=json.dumps(layers), optimizer="adam", lr=0.003, batch_size=BATCH,
                           epochs=epochs, evals_per_epoch=1, device="cpu")
    t0 = CLOCK()
    events = run_headless(train_images, cfg)
    elapsed = CLOCK() - t0
    fin = events[-1]
    assert isinstance(fin, Finished), fin
    return fin.summary["steps"] / elapsed


def gui_fps(seconds: float = 4.0) -> dict:
    from PySide6.QtCore import Qt, QTimer

    from lab.app import create_application
    from lab.runner import JobState
    from lab.tabs.base import LabContext
    from lab.tabs.images.tab import ImagesTab

    app = create_application()
    tab = ImagesTab(LabContext("cpu"))
    tab.resize(1400, 900)
    tab.show()
    tab.stack.set_layers(CNN)
    tab.epochs.set_value(200)
    ticks = [0]

    def tick():
        ticks[0] += 1
        tab.results.redraw()
        tab.results.loss_plot.redraw()
        tab.results.acc_plot.redraw()

    timer = QTimer()
    timer.setTimerType(Qt.PreciseTimer)
    timer.setInterval(16)
    timer.timeout.connect(tick)
    assert tab.start()
    deadline = time.perf_counter() + 30
    while tab.results.step < 5 and time.perf_counter() < deadline:  # past data preparation
        app.processEvents()
        time.sleep(0.002)
    redraws0 = tab.results.loss_plot.redraw_count
    timer.start()
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        app.processEvents()
        time.sleep(0.001)
    elapsed = time.perf_counter() - t0
    timer.stop()
    steps = tab.results.step
    running = tab.runner.state == JobState.RUNNING
    tab.shutdown()
    return {
        "gui_fps": ticks[0] / elapsed,
        "plot_updates_per_s": (tab.results.loss_plot.redraw_count - redraws0) / elapsed,
        "steps_while_gui": steps,
        "still_running": running,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    prepare(DATA)  # generate and cache the data once; both sides then index the same tensors
    result = {"threads": args.threads, "batch": BATCH, "optimizer": "adam"}
    for name, layers in (("mlp", MLP), ("cnn", CNN)):
        plain, engine = [], []
        engine_run(layers, 1)  # warm-up
        for _ in range(args.repeats):
            plain.append(plain_loop(layers, args.epochs))
            engine.append(engine_run(layers, args.epochs))
        # The median of back-to-back pairs: robust against bursts of load from elsewhere.
        ratio = statistics.median(e / p for e, p in zip(engine, plain))
        result[f"{name}_plain_steps_per_s"] = round(statistics.median(plain), 1)
        result[f"{name}_engine_steps_per_s"] = round(statistics.median(engine), 1)
        result[f"{name}_ratio"] = round(ratio, 3)
        print(f"{name}: plain {statistics.median(plain):.0f} steps/s, engine {statistics.median(engine):.0f} steps/s "
              f"(medians), median paired ratio {ratio:.3f}", flush=True)
    torch.set_num_threads(max(1, args.threads - 1))  # as the app does: a core for the GUI
    gui = gui_fps()
    print(f"gui: {gui['gui_fps']:.1f} redraw ticks/s while training ({gui['plot_updates_per_s']:.1f} curve updates/s)", flush=True)
    result.update({k: (round(v, 1) if isinstance(v, float) else v) for k, v in gui.items()})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
