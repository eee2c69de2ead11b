"""The optimizers and learning-rate schedules the labs offer, all from torch.optim.

One registry so that the network builder, the optimizer race and the image lab
offer the same names with the same defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import torch

__all__ = [
    "OptimizerSpec",
    "OPTIMIZERS",
    "make_optimizer",
    "SCHEDULES",
    "make_scheduler",
]


@dataclass(frozen=True)
class OptimizerSpec:
    label: str
    cls: type
    lr: float  # a sensible default learning rate for the toy problems
    defaults: Mapping[str, Any] = field(default_factory=dict)  # extra keyword arguments
    ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)


OPTIMIZERS: dict[str, OptimizerSpec] = {
    "sgd": OptimizerSpec("SGD", torch.optim.SGD, 0.03),
    "momentum": OptimizerSpec(
        "Momentum", torch.optim.SGD, 0.03, {"momentum": 0.9}, {"momentum": (0.0, 0.999)}
    ),
    "nesterov": OptimizerSpec(
        "Nesterov", torch.optim.SGD, 0.03, {"momentum": 0.9, "nesterov": True}, {"momentum": (0.0, 0.999)}
    ),
    "adagrad": OptimizerSpec("Adagrad", torch.optim.Adagrad, 0.1, {"eps": 1e-10}),
    "adadelta": OptimizerSpec("Adadelta", torch.optim.Adadelta, 1.0, {"rho": 0.9, "eps": 1e-6}, {"rho": (0.0, 0.999)}),
    "rmsprop": OptimizerSpec("RMSprop", torch.optim.RMSprop, 0.01, {"alpha": 0.99, "eps": 1e-8}, {"alpha": (0.0, 0.9999)}),
    "adam": OptimizerSpec(
        "Adam", torch.optim.Adam, 0.01, {"betas": (0.9, 0.999), "eps": 1e-8}
    ),
    "adamw": OptimizerSpec(
        "AdamW", torch.optim.AdamW, 0.01, {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.01}
    ),
    "nadam": OptimizerSpec("NAdam", torch.optim.NAdam, 0.01, {"betas": (0.9, 0.999), "eps": 1e-8}),
    "radam": OptimizerSpec("RAdam", torch.optim.RAdam, 0.01, {"betas": (0.9, 0.999), "eps": 1e-8}),
    "adamax": OptimizerSpec("Adamax", torch.optim.Adamax, 0.02, {"betas": (0.9, 0.999), "eps": 1e-8}),
}


def make_optimizer(name: str, params: Iterable, lr: float | None = None, **overrides) -> torch.optim.Optimizer:
    """Build a torch.optim optimizer by registry name; unknown keywords are refused."""
    if name not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    spec = OPTIMIZERS[name]
    lr = spec.lr if lr is None else float(lr)
    if not (lr > 0 and lr < 1e3):
        raise ValueError(f"Learning rate must be positive and below 1000, got {lr}")
    kwargs = dict(spec.defaults)
    kwargs.update({k: v for k, v in overrides.items() if v is not None})
    for key, (lo, hi) in spec.ranges.items():
        if key in kwargs and not lo <= kwargs[key] <= hi:
            raise ValueError(f"{spec.label}: {key} must be between {lo} and {hi}, got {kwargs[key]}")
    if kwargs.get("nesterov") and not kwargs.get("momentum"):
        raise ValueError(f"{spec.label}: Nesterov's look-ahead needs a momentum above 0 (with 0 it is plain SGD)")
    return spec.cls(params, lr=lr, **kwargs)


SCHEDULES = {
    "none": "Constant",
    "step": "Step (×γ every N steps)",
    "exponential": "Exponential (×γ each step)",
    "cosine": "Cosine annealing",
    "onecycle": "One-cycle",
    "plateau": "Reduce on plateau",
}


def make_scheduler(
    name: str,
    optimizer: torch.optim.Optimizer,
    total_steps: int,
    *,
    step_size: int = 100,
    gamma: float = 0.5,
    patience: int = 10,
):
    """A torch.optim.lr_scheduler for the schedule name, or None for a constant rate.

    ``plateau`` must be stepped with the monitored loss; the others without argument.
    """
    sched = torch.optim.lr_scheduler
    if name == "none":
        return None
    if name == "step":
        return sched.StepLR(optimizer, step_size=max(1, step_size), gamma=gamma)
    if name == "exponential":
        return sched.ExponentialLR(optimizer, gamma=gamma)
    if name == "cosine":
        return sched.CosineAnnealingLR(optimizer, T_max=max(1, total_steps))
    if name == "onecycle":
        max_lr = [g["lr"] for g in optimizer.param_groups]
        return sched.OneCycleLR(optimizer, max_lr=max_lr, total_steps=max(2, total_steps))
    if name == "plateau":
        return sched.ReduceLROnPlateau(optimizer, factor=gamma, patience=patience)
    raise ValueError(f"Unknown schedule {name!r}; choose one of {', '.join(SCHEDULES)}")
