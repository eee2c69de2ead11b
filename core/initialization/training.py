"""Short training runs from each initialization, all schemes in one tensor program.

The same network as :mod:`core.initialization.stats` (weights stacked along a leading scheme
axis) learns a 2-D data set of :mod:`core.datasets.points2d`. Every optimizer of the registry
updates each element on its own, so one optimizer over the stacked weights is exactly
one optimizer per scheme, at a fraction of the per-op overhead.

Per step and per scheme the job records the loss and, per layer, the update-to-weight
ratio ‖ΔW‖ / ‖W‖ (healthy near 10⁻³). It also reports how far the neurons of each hidden
layer are from one another: zero or constant init leaves them identical for good.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from core.activation_functions import make_activation
from core.datasets.points2d import DATASETS, make_dataset
from core.devices import torch_device
from core.engine import Diverged, Event, Finished, MetricsBuffer, RunControl, Snapshot, Throttle, counts
from core.initialization.schemes import SCHEMES, SchemeChoice
from core.initialization.stats import (
    NetworkSpec,
    StatsConfig,
    build_weights,
    check_memory,
    check_network,
    check_stats_config,
    forward_layers,
    layer_statistics,
    linear,
    lsuv_init_,
)
from core.optimizers import OPTIMIZERS, make_optimizer

__all__ = [
    "InitTrainConfig",
    "train_schemes",
    "symmetry_spread",
    "estimate_train_bytes",
    "SYMMETRY_TOLERANCE",
    "InitExperimentConfig",
    "run_experiment",
]

SYMMETRY_TOLERANCE = 1e-6  # relative: neurons this close count as identical


@dataclass(frozen=True)
class InitTrainConfig:
    network: NetworkSpec
    schemes: tuple[SchemeChoice, ...]
    dataset: str = "spiral"
    n_points: int = 400
    noise: float = 0.1
    steps: int = 300
    optimizer: str = "sgd"
    lr: float = 0.1
    seed: int = 0
    device: str = "cpu"
    memory_limit_bytes: int = 3 * 2**30


def estimate_train_bytes(cfg: InitTrainConfig) -> int:
    """Weights with gradient, optimizer state and last-step copy; activations with grads."""
    s = len(cfg.schemes)
    fans = (2, *cfg.network.widths, 10)
    weights = sum(fans[i] * fans[i + 1] for i in range(len(fans) - 1))
    per_unit = 4 + (2 if cfg.network.norm != "none" else 0)
    activations = cfg.n_points * sum(cfg.network.widths) * per_unit
    return 4 * s * (5 * weights + activations)


def _check(cfg: InitTrainConfig) -> None:
    check_network(cfg.network)
    if not cfg.schemes:
        raise ValueError("Choose at least one initialization to train from")
    if len({s.key for s in cfg.schemes}) != len(cfg.schemes):
        raise ValueError("Each initialization can be trained only once per run")
    for s in cfg.schemes:
        SchemeChoice.of(s.key, s.values)
    if cfg.dataset not in DATASETS:
        raise ValueError(f"Unknown data set {cfg.dataset!r}; choose one of {', '.join(DATASETS)}")
    if not 1 <= cfg.steps <= 100_000:
        raise ValueError(f"Training steps must be between 1 and 100000, got {cfg.steps}")
    if cfg.optimizer not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer {cfg.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    if not (math.isfinite(cfg.lr) and 0 < cfg.lr <= 10):
        raise ValueError(f"The learning rate must be above 0 and at most 10, got {cfg.lr}")
    check_memory(estimate_train_bytes(cfg), cfg.device, cfg.memory_limit_bytes)


def symmetry_spread(w: torch.Tensor) -> torch.Tensor:
    """Per scheme, the largest difference between a neuron's weights (and the mean
    neuron's), relative to the largest weight: 0 means every neuron is the same."""
    w = w.detach()
    spread = (w - w.mean(dim=-2, keepdim=True)).abs().amax(dim=(-2, -1))
    scale = w.abs().amax(dim=(-2, -1)).clamp_min(1e-30)
    return torch.where(w.abs().amax(dim=(-2, -1)) > 0, spread / scale, torch.zeros_like(spread))


@counts("iterations")
def train_schemes(cfg: InitTrainConfig, ctl: RunControl) -> Iterator[Event]:
    _check(cfg)
    dev = torch_device(cfg.device)
    spec = cfg.network
    ds = make_dataset(cfg.dataset, cfg.n_points, cfg.noise, cfg.seed)
    X = torch.from_numpy(ds.X)
    X = ((X - X.mean(0)) / X.std(0).clamp_min(1e-6)).to(dev)  # unit-variance inputs, as the init formulas assume
    regression = ds.task == "regression"
    y = torch.from_numpy(ds.y).to(dev)
    n_out = 1 if regression else ds.n_classes
    fans = (2, *spec.widths, n_out)
    keys = [s.key for s in cfg.schemes]
    weights, biases = build_weights(spec, cfg.schemes, fans, cfg.seed, dev)
    act = make_activation(spec.activation, dict(spec.activation_params))
    with torch.no_grad():
        for s, choice in enumerate(cfg.schemes):
            if SCHEMES[choice.key].data_dependent:
                ws = [w[s] for w in weights[:-1]]
                bs = [None if b is None else b[s] for b in biases[:-1]]
                lsuv_init_(X, ws, bs, act, spec.norm, float(choice.values["tolerance"]))
    params = [w.requires_grad_() for w in weights] + [b.requires_grad_() for b in biases if b is not None]
    opt = make_optimizer(cfg.optimizer, params, lr=cfg.lr)
    previous = [w.detach().clone() for w in weights]
    layer_names = [f"ratio_{i + 1}" for i in range(spec.depth)] + ["ratio_out"]
    buffers = {k: MetricsBuffer(series=k) for k in keys}
    alive = np.ones(len(keys), bool)
    throttle = Throttle(20)
    yield _symmetry_snapshot(0, weights, keys)
    for step in range(1, cfg.steps + 1):
        ctl.checkpoint()
        opt.zero_grad(set_to_none=True)
        hidden = forward_layers(X, weights[:-1], biases[:-1], act, spec.norm)
        out = linear(hidden[-1], weights[-1], biases[-1])  # (S, N, n_out)
        if regression:
            losses = ((out[..., 0] - y) ** 2).mean(dim=-1)
        else:
            flat = out.reshape(-1, n_out)
            losses = F.cross_entropy(flat, y.repeat(len(keys)), reduction="none").view(len(keys), -1).mean(dim=-1)
        # Sum over schemes: each scheme's weights get exactly its own loss's gradient.
        torch.where(torch.isfinite(losses), losses, torch.zeros_like(losses)).sum().backward()
        opt.step()
        with torch.no_grad():
            ratios = []
            for w, prev in zip(weights, previous):
                norm_w = torch.linalg.vector_norm(prev, dim=(-2, -1))
                delta = torch.linalg.vector_norm(w - prev, dim=(-2, -1))
                ratios.append(torch.where(norm_w > 0, delta / norm_w.clamp_min(1e-30), torch.full_like(delta, math.nan)))
                prev.copy_(w)
            ratios_np = torch.stack(ratios, dim=1).cpu().numpy()  # (S, layers)
            losses_np = losses.detach().cpu().numpy()
        for s, key in enumerate(keys):
            if not alive[s]:
                continue
            if not math.isfinite(float(losses_np[s])):
                alive[s] = False
                chunk = buffers[key].flush()
                if chunk is not None:
                    yield chunk
                yield Diverged(step, f"{cfg.schemes[s].label}: the loss became {losses_np[s]}", series=key)
                continue
            buffers[key].add(step, loss=float(losses_np[s]), **dict(zip(layer_names, ratios_np[s].tolist())))
        if throttle.due() or step == cfg.steps:
            for key in keys:
                chunk = buffers[key].flush()
                if chunk is not None:
                    yield chunk
            yield _symmetry_snapshot(step, weights, keys)
        if not alive.any():
            break
    yield Finished({"steps": step, "final_loss": {k: float(losses_np[s]) for s, k in enumerate(keys)}})


def _symmetry_snapshot(step: int, weights, keys) -> Snapshot:
    """How different the neurons of each hidden layer are, per scheme (hidden layers only:
    the output layer's rows belong to different classes)."""
    spreads = torch.stack([symmetry_spread(w) for w in weights[:-1]], dim=1).cpu().numpy()  # (S, L)
    return Snapshot(
        step,
        "symmetry",
        {"schemes": tuple(keys), "spread": spreads, "identical": spreads <= SYMMETRY_TOLERANCE},
    )


@dataclass(frozen=True)
class InitExperimentConfig:
    """What the tab's Play runs: the statistics, then (optionally) the training runs."""

    stats: StatsConfig
    training: InitTrainConfig | None = None
    device: str = "cpu"


@counts("iterations")
def run_experiment(cfg: InitExperimentConfig, ctl: RunControl) -> Iterator[Event]:
    """Statistics of every scheme, then a short training run from each; one Finished."""
    stats = replace(cfg.stats, device=cfg.device)
    training = None if cfg.training is None else replace(cfg.training, device=cfg.device)
    check_stats_config(stats)  # refuse bad settings of either part before any work
    if training is not None:
        _check(training)
    summary: dict = {}
    for ev in layer_statistics(stats, ctl):
        if isinstance(ev, Finished):
            summary.update(ev.summary)
        else:
            yield ev
    if training is not None:
        for ev in train_schemes(training, ctl):
            if isinstance(ev, Finished):
                summary.update(ev.summary)
            else:
                yield ev
    yield Finished(summary)
