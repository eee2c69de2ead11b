"""The reference trainer: the network as an nn.Module, autograd and torch.optim.

It covers everything the builder offers (every activation, dropout, batch norm, noise
injection, every optimizer and schedule). The fast path (core/network/fast.py) is
tested against it; the job falls back to it for whatever the fast path does not cover.
"""

from __future__ import annotations

import torch
from torch import nn

from core.network.model import Network2D, NetworkSpec, layer_outputs, linear_layers
from core.network.settings import PreparedData, TrainSettings, accuracy, data_loss, make_lr_holder, step_schedule

__all__ = ["TorchTrainer", "evaluate_outputs"]


def evaluate_outputs(out_train, out_test, data: PreparedData, spec: NetworkSpec) -> dict[str, float]:
    """Full-set losses (and accuracies) from outputs (n, outputs): one sync for all numbers."""
    k, task = data.n_classes, data.task
    parts = [data_loss(out_train, data.y_train, task, k, spec.loss), data_loss(out_test, data.y_test, task, k, spec.loss)]
    if task == "classification":
        parts += [accuracy(out_train, data.y_train, k), accuracy(out_test, data.y_test, k)]
    values = torch.stack(parts).tolist()
    names = ["train_loss", "test_loss", "train_accuracy", "test_accuracy"]
    return dict(zip(names, values))


class TorchTrainer:
    """Trains ``model`` in place, one epoch per call, with torch.optim."""

    fast = False

    def __init__(self, model: Network2D, spec: NetworkSpec, data: PreparedData, settings: TrainSettings,
                 shuffle: torch.Generator, step: int = 0):
        self.model, self.spec, self.data = model, spec, data
        self.device = data.X_train.device
        self.shuffle = shuffle
        self.noise_gen = torch.Generator(self.device).manual_seed(settings.seed + 1)
        # nn.Dropout draws from the global generator: seed it, so the same seed gives the same run.
        torch.manual_seed(settings.seed + 2)
        self.step = step
        with torch.no_grad():
            self.features_train = model.features(data.X_train)
        self.optimizer = self.scheduler = None
        self.settings = settings
        self._make_optimizer(settings, keep_state=False)

    # -- settings -----------------------------------------------------------------
    def _groups(self, settings: TrainSettings) -> list[dict]:
        """One parameter group per linear layer (with the batch norm that follows it)."""
        groups: list[dict] = []
        for m in self.model.body:
            if isinstance(m, nn.Linear):
                groups.append({"params": list(m.parameters())})
            elif isinstance(m, nn.BatchNorm1d):
                groups[-1]["params"].extend(m.parameters())
        for g, mult in zip(groups, settings.multipliers(len(groups))):
            g["lr"] = settings.lr * mult
        return groups

    def _make_optimizer(self, settings: TrainSettings, keep_state: bool) -> None:
        old = self.optimizer
        self.optimizer, self.scheduler = make_lr_holder(settings, self._groups(settings))
        if keep_state and old is not None:
            self.optimizer.state = old.state  # same optimizer, same parameters: keep its buffers

    def apply_settings(self, settings: TrainSettings) -> None:
        old = self.settings
        self.settings = settings
        optimizer_keys = ("optimizer", "lr", "weight_decay", "schedule", "layer_lr", "schedule_epochs")
        if any(getattr(old, k) != getattr(settings, k) for k in optimizer_keys):
            self._make_optimizer(settings, keep_state=old.optimizer == settings.optimizer)

    @property
    def lr(self) -> float:
        """The scheduled base learning rate (before per-layer multipliers)."""
        mult = self.settings.multipliers(len(self.optimizer.param_groups))[0]
        return float(self.optimizer.param_groups[0]["lr"]) / mult if mult else self.settings.lr

    # -- training -----------------------------------------------------------------
    def _penalty(self) -> torch.Tensor | None:
        s = self.settings
        if s.regularization == "none" or s.reg_rate == 0:
            return None
        ws = [lin.weight for lin in linear_layers(self.model)]
        if s.regularization == "l2":
            return s.reg_rate * sum(0.5 * (w * w).sum() for w in ws)
        return s.reg_rate * sum(w.abs().sum() for w in ws)

    def epoch(self) -> None:
        s, data, model = self.settings, self.data, self.model
        perm = torch.randperm(len(data.X_train), generator=self.shuffle).to(self.device)
        model.train()
        weights = [lin.weight for lin in linear_layers(model)]
        for idx in perm.split(s.batch_size):
            if len(idx) < 2 and self.spec.batchnorm and any(self.spec.batchnorm):
                continue  # batch norm cannot normalize a single example; skip that remainder
            yb = data.y_train[idx]
            weight_noise = []
            if s.noise == "weights" and s.noise_std > 0:
                with torch.no_grad():
                    for w in weights:
                        n = torch.randn(w.shape, generator=self.noise_gen, device=self.device) * s.noise_std
                        w.add_(n)
                        weight_noise.append(n)
            if s.noise == "input" and s.noise_std > 0:
                xb = data.X_train[idx]
                xb = xb + torch.randn(xb.shape, generator=self.noise_gen, device=self.device) * s.noise_std
                out = model(xb)
            else:
                out = model.body(self.features_train[idx])
            loss = data_loss(out, yb, data.task, data.n_classes, self.spec.loss, s.label_smoothing)
            penalty = self._penalty()
            if penalty is not None:
                loss = loss + penalty
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if weight_noise:
                with torch.no_grad():
                    for w, n in zip(weights, weight_noise):
                        w.sub_(n)  # the gradient was taken at the noisy weights; update the clean ones
            self.optimizer.step()
            self.step += 1

    def end_epoch(self, test_loss: float) -> None:
        step_schedule(self.scheduler, test_loss, self.settings.schedule_epochs)

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        self.model.eval()
        out_train = self.model.body(self.features_train)
        out_test = self.model(self.data.X_test)
        self.model.train()
        return evaluate_outputs(out_train, out_test, self.data, self.spec)

    def maps(self, grid: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Hidden activations (n, width) per layer and outputs over ``grid`` points."""
        return layer_outputs(self.model, grid)

    # -- weights --------------------------------------------------------------------
    def sync_model(self) -> Network2D:
        return self.model

    @torch.no_grad()
    def set_parameter(self, layer: int, row: int, col: int, value: float) -> None:
        """Weight [row, col] of linear layer ``layer``; ``col == -1`` sets the bias of ``row``."""
        lin = linear_layers(self.model)[layer]
        if col < 0:
            lin.bias[row] = value
        else:
            lin.weight[row, col] = value
