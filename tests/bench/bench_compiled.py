"""Benchmark of the network builder's compiled loop (issue 15): ``python tests/bench/bench_compiled.py``.

Workload: TensorFlow Playground's default — circle, 250 training points, features x1, x2,
hidden 4 and 2 with tanh, sigmoid output, SGD, learning rate 0.03, batch 10; one thread.

1. Epochs per second of three trainers on that workload, alternating in rounds (the
   machine is shared): a plain ``nn.Sequential`` + ``torch.optim.SGD`` loop, the torch
   fast path (core/network/fast.py) and the compiled loop (core/network/compiled.py).
2. The interpreter lock: a Python loop on the main thread (standing in for the GUI
   thread) counts its iterations per second alone and while each trainer trains on a
   second thread; the share it keeps says how much of the lock the trainer leaves it.
   A control thread that only keeps a core busy (no lock held) shows what a taken core
   alone costs on this machine at this moment.
3. Loading the kernels from the disk cache in a fresh process (a later start).

The last line printed is one JSON object.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from core.datasets.points2d import make_dataset, split_train_test  # noqa: E402
from core.network import compiled  # noqa: E402
from core.network.fast import FastTrainer  # noqa: E402
from core.network.model import NetworkSpec, build_network  # noqa: E402
from core.network.settings import PreparedData, TrainSettings  # noqa: E402
from tests.bench.bench_network2d import plain_sgd_epoch  # noqa: E402  (the same baseline in both benches)

SECONDS = 1.0  # per measurement
ROUNDS = 5


def workload():
    ds = make_dataset("circle", 500, 0.0, 0)
    tr, te = split_train_test(ds, 0.5, 0)
    return tr, te, PreparedData.from_arrays(tr.X, tr.y, te.X, te.y, ds.task, ds.n_classes)


def fast_trainer(data, kernels=None):
    spec = NetworkSpec()
    t = FastTrainer(build_network(spec, seed=0), spec, data, TrainSettings(), torch.Generator().manual_seed(0))
    if kernels is not None:
        t.switch_to_compiled(kernels)
    return t.epoch


def busy_core():
    """The control: a second thread busy in code that holds no lock (a large matrix product).

    What the main thread loses to it is a core taken, not the interpreter lock: a trainer
    that truly leaves the lock costs the main thread no more than this.
    """
    a = np.random.default_rng(0).random((300, 300))
    return lambda: a @ a


def epochs_per_second(epoch) -> float:
    for _ in range(3):
        epoch()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < SECONDS:
        epoch()
        n += 1
    return n / (time.perf_counter() - t0)


def main_thread_rate(epoch=None) -> float:
    """Iterations per second of a pure-Python loop here while ``epoch`` runs on another thread."""
    stop = threading.Event()

    def train():
        while not stop.is_set():
            epoch()

    worker = threading.Thread(target=train) if epoch else None
    if worker:
        worker.start()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < SECONDS:
        for _ in range(1000):
            n += 1
    rate = n / (time.perf_counter() - t0)
    stop.set()
    if worker:
        worker.join()
    return rate


def cached_load_seconds() -> float:
    script = ("import time; t = time.perf_counter(); from core.network import compiled; compiled.wait_ready(600); "
              "print(time.perf_counter() - t)")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(done.stdout.strip())


def main() -> None:
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    assert compiled.wait_ready(600), compiled.status()
    first_load = time.perf_counter() - t0
    tr, _, data = workload()
    trainers = {"plain_torch": plain_sgd_epoch(tr), "torch_fast_path": fast_trainer(data),
                "compiled": fast_trainer(data, compiled.kernels()), "control_busy_core": busy_core()}
    speed = {k: [] for k in trainers}
    lock = {k: [] for k in trainers}
    alone = []
    for _ in range(ROUNDS):
        alone.append(main_thread_rate())
        for name, epoch in trainers.items():
            speed[name].append(epochs_per_second(epoch))
            lock[name].append(main_thread_rate(epoch) / alone[-1])
    med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    for name in trainers:
        if name.startswith("control"):
            print(f"{name:16s} {'':8s}            main thread keeps {med(lock[name]):5.0%} of its speed")
            continue
        print(f"{name:16s} {med(speed[name]):8.0f} epochs/s   main thread keeps {med(lock[name]):5.0%} of its speed")
    cached = cached_load_seconds()
    print(f"kernels ready in this process after {first_load:.2f} s; from the disk cache in a fresh process: {cached:.2f} s")
    result = {
        "bench": "compiled",
        "epochs_per_s": {k: round(med(v)) for k, v in speed.items() if not k.startswith("control")},
        "compiled_vs_plain_torch": round(med(speed["compiled"]) / med(speed["plain_torch"]), 1),
        "compiled_vs_torch_fast_path": round(med(speed["compiled"]) / med(speed["torch_fast_path"]), 1),
        "main_thread_share_kept": {k: round(med(v), 2) for k, v in lock.items()},
        "first_load_s": round(first_load, 2),
        "cached_load_s": round(cached, 2),
        "numba_cache_dir": os.environ.get("NUMBA_CACHE_DIR", str(compiled.cache_dir())),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
