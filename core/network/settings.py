"""Training settings and the prepared data of the network builder, shared by both trainers.

:class:`TrainSettings` holds everything a student may change while training runs
(optimizer, learning rate, batch size, penalties, schedule, noise, ...). The trainers
read it; :func:`data_loss` and :func:`accuracy` are the numbers the curves show, in
one place so that the fast path and the torch.optim path report the same thing.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

import numpy as np
import torch
import torch.nn.functional as F

from core.optimizers import OPTIMIZERS, SCHEDULES, make_optimizer, make_scheduler

__all__ = ["TrainSettings", "PreparedData", "data_loss", "accuracy", "NOISE_KINDS", "make_lr_holder", "step_schedule"]

NOISE_KINDS = {"none": "None", "input": "Gaussian noise on inputs", "weights": "Gaussian noise on weights"}
REGULARIZATIONS = ("none", "l1", "l2")


@dataclass(frozen=True)
class TrainSettings:
    optimizer: str = "sgd"
    lr: float = 0.03
    batch_size: int = 10
    regularization: str = "none"
    reg_rate: float = 0.001
    weight_decay: float = 0.0
    schedule: str = "none"
    patience: int = 0  # early stopping on the test loss; 0 = off
    seed: int = 0
    label_smoothing: float = 0.0
    noise: str = "none"
    noise_std: float = 0.1
    layer_lr: tuple[float, ...] = ()  # multiplier per linear layer; empty = all 1
    schedule_epochs: int = 500  # the horizon of cosine and one-cycle schedules

    def __post_init__(self):
        object.__setattr__(self, "layer_lr", tuple(float(v) for v in self.layer_lr))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "TrainSettings":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"Unknown training setting(s): {', '.join(sorted(unknown))}")
        try:
            return cls(**d)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"Bad training settings: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["layer_lr"] = list(self.layer_lr)
        return d

    def check(self, n_train: int, n_linear: int, task: str) -> "TrainSettings":
        """ValueError naming the setting a student must fix."""
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"Unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        if not (math.isfinite(self.lr) and 0 < self.lr < 1e3):
            raise ValueError(f"Learning rate must be positive and below 1000, got {self.lr}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"Batch size must be a whole number of at least 1, got {self.batch_size}")
        if self.batch_size > n_train:
            raise ValueError(f"Batch size {self.batch_size} is larger than the training set ({n_train} points)")
        if self.regularization not in REGULARIZATIONS:
            raise ValueError(f"Regularization must be one of {', '.join(REGULARIZATIONS)}")
        if not (0 <= self.reg_rate <= 10):
            raise ValueError(f"Regularization rate must be between 0 and 10, got {self.reg_rate}")
        if not (0 <= self.weight_decay <= 1):
            raise ValueError(f"Weight decay must be between 0 and 1, got {self.weight_decay}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"Unknown schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")
        if not (isinstance(self.patience, int) and 0 <= self.patience <= 100_000):
            raise ValueError(f"Patience must be a whole number of epochs (0 = off), got {self.patience}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"Label smoothing must be at least 0 and below 1, got {self.label_smoothing}")
        if self.label_smoothing and task != "classification":
            raise ValueError("Label smoothing applies to classification only")
        if self.noise not in NOISE_KINDS:
            raise ValueError(f"Noise must be one of {', '.join(NOISE_KINDS)}")
        if not 0 <= self.noise_std <= 10:
            raise ValueError(f"Noise standard deviation must be between 0 and 10, got {self.noise_std}")
        if self.layer_lr and len(self.layer_lr) != n_linear:
            raise ValueError(f"Give one learning-rate multiplier per layer ({n_linear}), got {len(self.layer_lr)}")
        if any(not (0 <= m <= 100) for m in self.layer_lr):
            raise ValueError("Learning-rate multipliers must be between 0 and 100")
        if self.schedule_epochs < 2:
            raise ValueError("The schedule needs at least 2 epochs")
        return self

    def multipliers(self, n_linear: int) -> list[float]:
        return list(self.layer_lr) if self.layer_lr else [1.0] * n_linear


def make_lr_holder(settings: TrainSettings, params) -> tuple[torch.optim.Optimizer, Any]:
    """The torch.optim optimizer for ``params`` and its per-epoch scheduler (or None)."""
    opt = make_optimizer(settings.optimizer, params, settings.lr, weight_decay=settings.weight_decay)
    gamma = 0.99 if settings.schedule == "exponential" else 0.5
    sched = make_scheduler(settings.schedule, opt, settings.schedule_epochs, step_size=100, gamma=gamma, patience=10)
    return opt, sched


def step_schedule(scheduler, test_loss: float, horizon: int) -> None:
    """Advance an epoch-wise schedule; plateau watches the test loss; hold at the horizon."""
    if scheduler is None:
        return
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(test_loss)
    elif scheduler.last_epoch < horizon - 1:
        scheduler.step()  # one-cycle refuses to step past its horizon; hold the last rate


@dataclass(frozen=True)
class PreparedData:
    """Training and test points as tensors on the job's device."""

    X_train: torch.Tensor  # (n, 2) float32
    y_train: torch.Tensor  # (n,) int64 labels or float32 targets
    X_test: torch.Tensor
    y_test: torch.Tensor
    task: str
    n_classes: int

    @classmethod
    def from_arrays(cls, X_train, y_train, X_test, y_test, task: str, n_classes: int, device="cpu") -> "PreparedData":
        ydtype = torch.int64 if task == "classification" else torch.float32

        def t(a, dtype):
            return torch.tensor(np.asarray(a), dtype=dtype, device=device)  # a copy: the job owns it

        return cls(
            t(X_train, torch.float32).reshape(-1, 2), t(y_train, ydtype).reshape(-1),
            t(X_test, torch.float32).reshape(-1, 2), t(y_test, ydtype).reshape(-1),
            task, n_classes,
        )


def data_loss(out: torch.Tensor, y: torch.Tensor, task: str, n_classes: int, loss: str, smoothing: float = 0.0) -> torch.Tensor:
    """The mean data loss of network outputs ``out`` (n, outputs) — the curve's number."""
    if len(y) == 0:
        return torch.zeros((), device=out.device)
    if task == "regression":
        return F.mse_loss(out[:, 0], y)
    if loss == "mse":
        if n_classes > 2:
            return F.mse_loss(torch.softmax(out, 1), F.one_hot(y, n_classes).to(out.dtype))
        return F.mse_loss(torch.sigmoid(out[:, 0]), y.to(out.dtype))
    if n_classes > 2:
        return F.cross_entropy(out, y, label_smoothing=smoothing)
    target = y.to(out.dtype)
    if smoothing:
        target = target * (1 - smoothing) + smoothing / 2
    return F.binary_cross_entropy_with_logits(out[:, 0], target)


def accuracy(out: torch.Tensor, y: torch.Tensor, n_classes: int) -> torch.Tensor:
    if len(y) == 0:
        return torch.zeros((), device=out.device)
    pred = out.argmax(1) if n_classes > 2 else (out[:, 0] > 0).long()
    return (pred == y).float().mean()
