"""What each activation function costs: forward + backward time per element, relative to ReLU."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterator, Mapping

import numpy as np
import torch

from core.activation_functions import make_activation
from core.devices import torch_device
from core.engine import Event, Finished, RunControl, Snapshot, counts

__all__ = ["CostConfig", "measure_costs"]


@dataclass(frozen=True)
class CostConfig:
    keys: tuple[str, ...]
    params: Mapping[str, float] = field(default_factory=dict)
    device: str = "cpu"
    elements: int = 1_000_000
    repeats: int = 7


@counts("passes")
def measure_costs(cfg: CostConfig, ctl: RunControl) -> Iterator[Event]:
    """Time forward + backward per element for each activation, relative to ReLU.

    Yields a Snapshot after each function so that the table fills in as it goes.
    """
    if not 1_000 <= cfg.elements <= 50_000_000:
        raise ValueError("Elements per timing must be between 1,000 and 50,000,000")
    dev = torch_device(cfg.device)
    x = torch.randn(cfg.elements, device=dev, requires_grad=True)
    keys = ("relu",) + tuple(k for k in cfg.keys if k != "relu")

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    times: dict[str, float] = {}
    for key in keys:
        f = make_activation(key, cfg.params)
        samples = []
        for r in range(cfg.repeats + 1):
            ctl.checkpoint()  # one per timed pass, the unit of this job's speed
            sync()
            t0 = time.perf_counter()
            y = f(x)
            (g,) = torch.autograd.grad(y.sum(), x)
            sync()
            if r:  # the first run warms up caches and kernels
                samples.append(time.perf_counter() - t0)
        times[key] = float(np.median(samples))
        yield Snapshot(
            len(times),
            "costs",
            {k: {"ns_per_element": t / cfg.elements * 1e9, "relative_to_relu": t / times["relu"]} for k, t in times.items()},
        )
    yield Finished({"device": str(dev)})
