"""The activation explorer's experiments, each a job generator.

- :func:`gradients_through_depth`: per-layer gradient norms of a deep chain.
- :func:`dead_relu`: ReLU units dying during training, against Leaky ReLU and ELU.
- :func:`zero_centred`: the zig-zag of a sigmoid neuron fed all-positive inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterator, Mapping

import numpy as np
import torch
import torch.nn.functional as F

from core.activation_functions import check_params, make_activation
from core.datasets.points2d import DATASETS, make_dataset
from core.devices import torch_device
from core.engine import Diverged, Event, Finished, MetricsBuffer, RunControl, Snapshot, Throttle, counts, to_numpy

__all__ = [
    "DepthConfig",
    "gradients_through_depth",
    "INIT_SCHEMES",
    "DeadReluConfig",
    "dead_relu",
    "mlp_initial_params",
    "ZeroCentredConfig",
    "zero_centred",
]

RELU_FAMILY = {"relu", "leaky_relu", "elu", "selu", "gelu", "silu", "mish", "softplus"}

INIT_SCHEMES = {
    "recommended": "Kaiming for the ReLU family, Xavier otherwise",
    "xavier": "Xavier: std = √(2 / (fan_in + fan_out))",
    "kaiming": "Kaiming: std = √(2 / fan_in)",
    "lecun": "LeCun: std = √(1 / fan_in)",
}


def _init_std(scheme: str, key: str, fan_in: int, fan_out: int) -> float:
    if scheme == "recommended":
        scheme = "kaiming" if key in RELU_FAMILY else "xavier"
    if scheme == "xavier":
        return math.sqrt(2.0 / (fan_in + fan_out))
    if scheme == "kaiming":
        return math.sqrt(2.0 / fan_in)
    if scheme == "lecun":
        return math.sqrt(1.0 / fan_in)
    raise ValueError(f"Unknown initialization {scheme!r}; choose one of {', '.join(INIT_SCHEMES)}")


def _check_activations(keys, params) -> None:
    if not keys:
        raise ValueError("Tick at least one activation function to compare")
    for k in keys:
        check_params(k, params)


# -- gradients through depth ------------------------------------------------------------


@dataclass(frozen=True)
class DepthConfig:
    activations: tuple[str, ...] = ("sigmoid", "tanh", "relu")
    params: Mapping[str, float] = field(default_factory=dict)
    depth: int = 20
    width: int = 64
    batch: int = 256
    init: str = "recommended"
    trials: int = 20
    seed: int = 0
    device: str = "cpu"

    def validate(self) -> None:
        _check_activations(self.activations, self.params)
        if not 1 <= self.depth <= 50:
            raise ValueError(f"Depth must be between 1 and 50, got {self.depth}")
        if not 2 <= self.width <= 1024:
            raise ValueError(f"Width must be between 2 and 1024, got {self.width}")
        if not 1 <= self.trials <= 1000:
            raise ValueError(f"Trials must be between 1 and 1000, got {self.trials}")
        _init_std(self.init, "relu", 1, 1)


@counts("passes")
def gradients_through_depth(cfg: DepthConfig, ctl: RunControl) -> Iterator[Event]:
    """Mean (over trials) of log10 ‖∂L/∂W_l‖ for every layer l and activation.

    Every activation sees the same inputs, targets and base weight draws in a trial,
    scaled by its initialization's std, so the curves differ only by the activation.
    """
    cfg.validate()
    dev = torch_device(cfg.device)
    gen = torch.Generator().manual_seed(cfg.seed)
    log_sums = {k: np.zeros(cfg.depth) for k in cfg.activations}
    fns = {k: make_activation(k, cfg.params) for k in cfg.activations}
    for trial in range(1, cfg.trials + 1):
        x = torch.randn(cfg.batch, cfg.width, generator=gen).to(dev)
        target = torch.randn(cfg.batch, cfg.width, generator=gen).to(dev)
        base = torch.randn(cfg.depth, cfg.width, cfg.width, generator=gen).to(dev)
        for key in cfg.activations:
            ctl.checkpoint()
            std = _init_std(cfg.init, key, cfg.width, cfg.width)
            weights = [(base[i] * std).requires_grad_() for i in range(cfg.depth)]
            h = x
            for w in weights:
                h = fns[key](h @ w)
            loss = 0.5 * ((h - target) ** 2).mean()
            grads = torch.autograd.grad(loss, weights)
            norms = torch.stack([g.norm() for g in grads])
            log_sums[key] += to_numpy(torch.log10(norms.clamp_min(1e-45)))
        yield Snapshot(
            trial,
            "depth",
            {"trials": trial, "log10_norms": {k: v / trial for k, v in log_sums.items()}},
        )
    summary = {k: float(v[0] - v[-1]) / cfg.trials for k, v in log_sums.items()}
    yield Finished({"decades_lost_first_vs_last": summary})


# -- dead ReLU ------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadReluConfig:
    activations: tuple[str, ...] = ("relu", "leaky_relu", "elu")
    params: Mapping[str, float] = field(default_factory=dict)
    dataset: str = "moons"
    points: int = 200
    noise: float = 0.1
    width: int = 16
    depth: int = 3
    learning_rate: float = 1.0
    initial_bias: float = 0.0
    epochs: int = 600
    batch_size: int = 0  # 0 = full batch
    seed: int = 0
    device: str = "cpu"

    def validate(self) -> None:
        _check_activations(self.activations, self.params)
        if self.dataset not in DATASETS or DATASETS[self.dataset][1] != "classification":
            raise ValueError(f"Choose a classification data set, not {self.dataset!r}")
        if not 1 <= self.depth <= 8:
            raise ValueError(f"Hidden layers must be between 1 and 8, got {self.depth}")
        if not 1 <= self.width <= 256:
            raise ValueError(f"Units per layer must be between 1 and 256, got {self.width}")
        if not 0 < self.learning_rate <= 100:
            raise ValueError(f"Learning rate must be in (0, 100], got {self.learning_rate}")
        if not -10 <= self.initial_bias <= 10:
            raise ValueError(f"Initial bias must be between −10 and 10, got {self.initial_bias}")
        if not 1 <= self.epochs <= 100_000:
            raise ValueError(f"Epochs must be between 1 and 100000, got {self.epochs}")
        if self.batch_size < 0 or self.batch_size > self.points:
            raise ValueError(f"Batch size must be between 1 and the number of points ({self.points}), or 0 for full batch")


def mlp_initial_params(cfg: DeadReluConfig, n_in: int, n_out: int) -> list[torch.Tensor]:
    """The Dead ReLU experiment's starting weights and biases, [W1, b1, W2, b2, …], from its seed.

    Kaiming-normal weights (W is in × out), hidden biases at ``cfg.initial_bias``; every
    compared network starts from these same values.
    """
    gen = torch.Generator().manual_seed(cfg.seed)
    sizes = [n_in] + [cfg.width] * cfg.depth + [n_out]
    params = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        w = torch.randn(a, b, generator=gen) * math.sqrt(2.0 / a)
        bias = torch.full((b,), cfg.initial_bias if b == cfg.width else 0.0)
        params += [w, bias]
    return params


def _stacked_forward(weights, biases, x, fns, record=None):
    """All models at once: weights (M, in, out), biases (M, out), x (N, in) or (M, N, in).

    Each model's slice is its own network; only the activation differs per slice.
    """
    n_models = len(fns)
    h = x.expand(n_models, *x.shape) if x.dim() == 2 else x
    last = len(weights) - 1
    for i, (w, b) in enumerate(zip(weights, biases)):
        z = torch.baddbmm(b.unsqueeze(1), h, w)
        if i < last:
            if record is not None:
                record.append(z)
            h = torch.stack([f(z[m]) for m, f in enumerate(fns)])
        else:
            h = z
    return h


@counts("iterations")
def dead_relu(cfg: DeadReluConfig, ctl: RunControl) -> Iterator[Event]:
    """Train one MLP per activation from identical weights; track dead units per layer.

    A unit is dead when its pre-activation is ≤ 0 for every training point: a ReLU
    unit there gets no gradient and never recovers; Leaky ReLU and ELU units still do.

    The MLPs are stacked along a leading model axis and trained as one tensor program
    (one SGD over the stacked weights is one SGD per model, element by element): a step
    is a few large torch ops, so the worker holds the interpreter lock far less often
    than with one small op per model and layer.
    """
    cfg.validate()
    dev = torch_device(cfg.device)
    ds = make_dataset(cfg.dataset, cfg.points, cfg.noise, cfg.seed)
    X = torch.from_numpy(ds.X / 6.0).to(dev)  # inputs scaled to about [-1, 1]
    y = torch.from_numpy(ds.y).to(dev)
    init = mlp_initial_params(cfg, 2, ds.n_classes)
    keys = list(cfg.activations)
    n_models = len(keys)
    fns = [make_activation(k, cfg.params) for k in keys]
    weights = [init[2 * i].to(dev).expand(n_models, -1, -1).clone().requires_grad_() for i in range(len(init) // 2)]
    biases = [init[2 * i + 1].to(dev).expand(n_models, -1).clone().requires_grad_() for i in range(len(init) // 2)]
    opt = torch.optim.SGD(weights + biases, lr=cfg.learning_rate)
    buffers = {k: MetricsBuffer(series=k) for k in keys}
    alive = np.ones(n_models, bool)
    throttle = Throttle(60)
    batch = cfg.batch_size or len(X)
    order_gen = torch.Generator().manual_seed(cfg.seed + 1)

    def model_losses(logits, target):
        flat = logits.reshape(-1, logits.shape[-1])
        return F.cross_entropy(flat, target.repeat(n_models), reduction="none").view(n_models, -1).mean(dim=-1)

    for epoch in range(1, cfg.epochs + 1):
        perm = torch.randperm(len(X), generator=order_gen).to(dev) if batch < len(X) else None
        for start in range(0, len(X), batch):
            ctl.checkpoint()
            idx = perm[start : start + batch] if perm is not None else slice(None)
            opt.zero_grad(set_to_none=True)
            losses = model_losses(_stacked_forward(weights, biases, X[idx], fns), y[idx])
            # Summed, each model's weights get exactly its own loss's gradient; a diverged
            # model's non-finite loss is left out so it cannot reach the others' sum.
            torch.where(torch.isfinite(losses), losses, torch.zeros_like(losses)).sum().backward()
            opt.step()
        with torch.no_grad():
            pre: list[torch.Tensor] = []
            logits = _stacked_forward(weights, biases, X, fns, pre)
            losses = model_losses(logits, y)
            acc = (logits.argmax(-1) == y).float().mean(-1)
            dead = torch.stack([(z <= 0).all(1).float().mean(-1) for z in pre], dim=1)  # (M, layers)
            stats = torch.cat([losses[:, None], acc[:, None], dead.mean(1, keepdim=True), dead], 1).cpu().tolist()
        for m, k in enumerate(keys):
            if not alive[m]:
                continue
            row = stats[m]
            if not math.isfinite(row[0]):
                alive[m] = False
                flushed = buffers[k].flush()
                if flushed is not None:
                    yield flushed
                yield Diverged(epoch, f"{k}: loss became {row[0]}", series=k)
                continue
            values = {"loss": row[0], "accuracy": row[1], "dead": row[2]}
            values.update({f"dead_layer{i + 1}": v for i, v in enumerate(row[3:])})
            buffers[k].add(epoch, **values)
        if throttle.due() or epoch == cfg.epochs:
            for k in keys:
                chunk = buffers[k].flush()
                if chunk is not None:
                    yield chunk
        if not alive.any():
            break
    yield Finished({"epochs": epoch})


# -- not zero-centred --------------------------------------------------------------------


@dataclass(frozen=True)
class ZeroCentredConfig:
    learning_rate: float = 1.0
    steps: int = 400
    start: tuple[float, float] = (-2.0, 2.0)
    target: tuple[float, float] = (2.0, -2.0)
    samples: int = 256
    seed: int = 0
    device: str = "cpu"

    def validate(self) -> None:
        if not 0 < self.learning_rate <= 50:
            raise ValueError(f"Learning rate must be in (0, 50], got {self.learning_rate}")
        if not 1 <= self.steps <= 100_000:
            raise ValueError(f"Steps must be between 1 and 100000, got {self.steps}")
        for name, p in (("start", self.start), ("target", self.target)):
            if len(p) != 2 or not all(math.isfinite(v) and abs(v) <= 10 for v in p):
                raise ValueError(f"The {name} weights must be two numbers between −10 and 10")


LANDSCAPE_SIZE = 81
LANDSCAPE_EXTENT = 4.0


@counts("iterations")
def zero_centred(cfg: ZeroCentredConfig, ctl: RunControl) -> Iterator[Event]:
    """Per-example SGD of a two-input sigmoid neuron, fed inputs in (0, 1) or in (−1, 1).

    ∂L/∂w = δ·x: with every x_i > 0 both components share δ's sign, so each update
    points into the first or third quadrant and the path has to zig-zag towards a
    target such as (2, −2). Zero-centred inputs allow any direction.
    """
    cfg.validate()
    dev = torch_device(cfg.device)
    gen = torch.Generator().manual_seed(cfg.seed)
    u = torch.rand(cfg.samples, 2, generator=gen, dtype=torch.float64)
    inputs = {"positive": u.to(dev), "centred": (2 * u - 1).to(dev)}
    w_star = torch.tensor(cfg.target, dtype=torch.float64, device=dev)
    targets = {k: torch.sigmoid(x @ w_star) for k, x in inputs.items()}

    axis = torch.linspace(-LANDSCAPE_EXTENT, LANDSCAPE_EXTENT, LANDSCAPE_SIZE, dtype=torch.float64, device=dev)
    grid = torch.stack(torch.meshgrid(axis, axis, indexing="xy"), -1).reshape(-1, 2)
    landscapes = {}
    for k, x in inputs.items():
        pred = torch.sigmoid(grid @ x.T)  # (grid points, samples)
        landscapes[k] = to_numpy(0.5 * ((pred - targets[k]) ** 2).mean(1).reshape(LANDSCAPE_SIZE, LANDSCAPE_SIZE))
    yield Snapshot(0, "landscape", {"extent": LANDSCAPE_EXTENT, "loss": landscapes, "target": cfg.target})

    w = {k: torch.tensor(cfg.start, dtype=torch.float64, device=dev) for k in inputs}
    paths = {k: [tuple(cfg.start)] for k in inputs}
    same_sign = {k: 0 for k in inputs}
    order = torch.randint(0, cfg.samples, (cfg.steps,), generator=gen)
    throttle = Throttle(30)
    for step in range(1, cfg.steps + 1):
        ctl.checkpoint()
        i = int(order[step - 1])
        for k, x in inputs.items():
            xi = x[i]
            p = torch.sigmoid(xi @ w[k])
            delta = (p - targets[k][i]) * p * (1 - p)  # dL/dz of 0.5 (σ(z) − t)²
            grad = delta * xi
            if float(grad[0]) * float(grad[1]) > 0:
                same_sign[k] += 1
            w[k] = w[k] - cfg.learning_rate * grad
            paths[k].append(tuple(w[k].tolist()))
        if throttle.due() or step == cfg.steps:
            yield Snapshot(
                step,
                "paths",
                {
                    "paths": {k: np.asarray(v) for k, v in paths.items()},
                    "same_sign_fraction": {k: same_sign[k] / step for k in inputs},
                    "distance": {k: float(torch.linalg.norm(w[k] - w_star)) for k in inputs},
                },
            )
    yield Finished({"same_sign_fraction": {k: same_sign[k] / cfg.steps for k in inputs}})
