"""Benchmark of the network builder (issue 3): run alone, ``python tests/bench/bench_network2d.py``.

Workload: Playground's default — features x1, x2; hidden layers 4 and 2, tanh; learning
rate 0.03; batch 10; 250 training points of the circle set; one CPU thread.

1. The lab's training engine headless (the same job the tab runs, with its per-epoch
   evaluation and 60 Hz pictures of every neuron) against a plain ``nn.Sequential`` +
   ``torch.optim.SGD`` loop that only trains, over the same data.
2. The tab itself, offscreen, training with every neuron heatmap visible: frames drawn
   per second and epochs trained per second.
3. A warm start: a fresh process (kernels in the disk cache, as on every start after the
   first) builds the tab and presses Play; seconds from Play to the first epoch on screen.

The last line printed is one JSON object (ratios matter: the machine is shared).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import torch  # noqa: E402
from torch import nn  # noqa: E402

from core.datasets.points2d import make_dataset, split_train_test  # noqa: E402
from core.engine import Finished, RunControl  # noqa: E402
from core.network.model import NetworkSpec  # noqa: E402
from core.network.settings import TrainSettings  # noqa: E402
from core.network.training import TrainConfig, train_network  # noqa: E402

SECONDS = 1.0  # per measurement; the two loops alternate ROUNDS times (the machine is shared)
ROUNDS = 5


def workload():
    ds = make_dataset("circle", 500, 0.0, 0)
    return split_train_test(ds, 0.5, 0)


def plain_sgd_epoch(tr):
    """One epoch of Playground's default network as plain torch: nn.Sequential + torch.optim.SGD."""
    X = torch.tensor(tr.X)
    y = torch.tensor(tr.y, dtype=torch.float32)[:, None]
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2), nn.Tanh(), nn.Linear(2, 1))
    opt = torch.optim.SGD(net.parameters(), lr=0.03)
    loss_fn = nn.BCEWithLogitsLoss()

    def epoch():
        perm = torch.randperm(len(X))
        for idx in perm.split(10):
            opt.zero_grad()
            loss_fn(net(X[idx]), y[idx]).backward()
            opt.step()

    return epoch


def make_plain_loop(tr):
    epoch = plain_sgd_epoch(tr)
    for _ in range(5):
        epoch()

    def measure() -> float:
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < SECONDS:
            epoch()
            n += 1
        return n / (time.perf_counter() - t0)

    return measure


def make_engine_run(tr, te):
    def run(epochs):
        cfg = TrainConfig(NetworkSpec(), TrainSettings(), tr.X, tr.y, te.X, te.y, max_epochs=epochs)
        t0 = time.perf_counter()
        for ev in train_network(cfg, RunControl()):
            if isinstance(ev, Finished):
                assert ev.summary["epochs"] == epochs
        return time.perf_counter() - t0

    run(20)  # warm-up: first use of torch.optim imports a lot
    epochs = 100
    while run(epochs) < SECONDS * 0.5:
        epochs *= 2

    def measure() -> float:
        return epochs / run(epochs)

    return measure


def median(values):
    v = sorted(values)
    return v[len(v) // 2]


def gui_numbers(seconds: float = 5.0) -> tuple[float, float]:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from lab.tabs.network.tab import NetworkTab
    from widgets.theme import theme

    app = QApplication.instance() or QApplication([])
    theme().apply_to_application()
    tab = NetworkTab()
    tab.resize(1400, 900)
    tab.show()
    marks: dict[str, float] = {}

    def begin():  # once the paused start-up picture is there, press Play
        if tab.snapshot is None:
            QTimer.singleShot(50, begin)
            return
        assert tab.start()
        QTimer.singleShot(1000, measure_from)  # settle first

    def measure_from():
        marks.update(e0=tab.epoch, f0=tab.frames_drawn, t0=time.perf_counter())
        QTimer.singleShot(int(seconds * 1000), app.quit)

    # A real event loop, as in the application (not processEvents in a busy loop).
    QTimer.singleShot(0, begin)
    app.exec()
    dt = time.perf_counter() - marks["t0"]
    fps = (tab.frames_drawn - marks["f0"]) / dt
    eps = (tab.epoch - marks["e0"]) / dt
    tab.shutdown()
    tab.deleteLater()
    app.processEvents()
    return fps, eps


WARM_START = r"""
import os, sys, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from lab.tabs.network.tab import NetworkTab
app = QApplication([])
tab = NetworkTab()
tab.show()
marks = {}
def begin():
    if tab.snapshot is None:
        QTimer.singleShot(5, begin)
        return
    marks["play"] = time.perf_counter()
    assert tab.start()
    watch()
def watch():
    if tab.epoch >= 1:
        marks["first"] = time.perf_counter()
        app.quit()
    else:
        QTimer.singleShot(1, watch)
QTimer.singleShot(0, begin)
app.exec()
print("WARM", marks["first"] - marks["play"])
tab.shutdown()
"""


def warm_start_first_epoch(repeats: int = 3) -> float:
    """Median seconds from Play to the first epoch on screen, each in a fresh process."""
    import subprocess

    root = Path(__file__).resolve().parents[2]
    times = []
    for _ in range(repeats):
        done = subprocess.run([sys.executable, "-c", WARM_START], cwd=root, capture_output=True, text=True, timeout=300,
                              env=dict(os.environ, PYTHONPATH=str(root)))
        line = next(ln for ln in done.stdout.splitlines() if ln.startswith("WARM"))
        times.append(float(line.split()[1]))
    return median(times)


def main() -> None:
    torch.set_num_threads(1)
    tr, te = workload()
    plain_measure, engine_measure = make_plain_loop(tr), make_engine_run(tr, te)
    plains, engines = [], []
    for _ in range(ROUNDS):  # alternate, so that both see the same load; report medians
        plains.append(plain_measure())
        engines.append(engine_measure())
    plain, engine = median(plains), median(engines)
    ratio = median([e / p for e, p in zip(engines, plains)])
    print(f"plain nn.Sequential + torch.optim.SGD: {plain:8.1f} epochs/s")
    print(f"network builder engine (headless):     {engine:8.1f} epochs/s  (median ratio per round {ratio:.1f}x)")
    result = {"engine_epochs_per_s": round(engine, 1), "plain_epochs_per_s": round(plain, 1),
              "ratio": round(ratio, 2)}
    if "--no-gui" not in sys.argv:
        fps, eps = gui_numbers()
        print(f"tab offscreen, all neuron heatmaps:     {fps:8.1f} frames/s while training {eps:.1f} epochs/s")
        result.update(gui_fps=round(fps, 1), gui_epochs_per_s=round(eps, 1))
        first = warm_start_first_epoch()
        print(f"warm start, Play to the first epoch:     {first:8.3f} s")
        result.update(warm_start_play_to_first_epoch_s=round(first, 3))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
