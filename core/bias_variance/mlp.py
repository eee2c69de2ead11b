"""A batch of M small MLPs trained at once, as one tensor program.

Each member m has its own weights, stacked along a leading axis: a layer is one
batched matrix product ``h ← tanh(b + h · W)`` with W of shape (M, in, out). The
loss is the sum of the members' own mean losses, so each member's gradient is its
own and Adam (element-wise) trains every member exactly as if it were alone — but
with one optimizer step for all of them instead of M (tiny networks are per-op
overhead; see the bench).
"""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np
import torch

__all__ = ["BatchedMLP", "train_mlp"]


class BatchedMLP:
    def __init__(self, members: int, d_in: int, width: int, layers: int, d_out: int, seed: int, device: torch.device):
        gen = torch.Generator().manual_seed(int(seed))
        sizes = [d_in] + [width] * layers + [d_out]
        self.weights: list[torch.Tensor] = []
        self.biases: list[torch.Tensor] = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            bound = 1.0 / math.sqrt(a)  # the default of torch.nn.Linear
            W = (torch.rand(members, a, b, generator=gen) * 2 - 1) * bound
            B = (torch.rand(members, 1, b, generator=gen) * 2 - 1) * bound
            self.weights.append(W.to(device).requires_grad_())
            self.biases.append(B.to(device).requires_grad_())

    def parameters(self) -> list[torch.Tensor]:
        return [*self.weights, *self.biases]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        last = len(self.weights) - 1
        for i, (W, B) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(B, h, W)
            if i < last:
                h = torch.tanh(h)
        return h


def _member_loss(out: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Per-member weighted mean loss, (M,): squared error or cross-entropy."""
    if n_classes:
        per_point = torch.nn.functional.cross_entropy(out.transpose(1, 2), target, reduction="none")
    else:
        per_point = (out.squeeze(-1) - target) ** 2
    return (per_point * weight).sum(1) / weight.sum(1).clamp(min=1e-12)


def train_mlp(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    xq: np.ndarray,
    *,
    width: int,
    layers: int,
    epochs: int,
    lr: float,
    seed: int,
    device: torch.device | str = "cpu",
    n_classes: int = 0,
    report_every: int = 1,
    predict_every: int = 0,
    weight_decay: float = 0.0,
) -> Iterator[tuple[int, np.ndarray | None]]:
    """Full-batch Adam on all members; yields ``(epoch, predictions or None)``.

    ``x`` is (M, n, d) (or (M, n) for one input), ``xq`` likewise (M, Q[, d]);
    ``layers = 0`` is a linear model (logistic regression with ``n_classes``). Every
    ``report_every`` epochs it yields ``(epoch, None)`` so the caller can check for
    stop and report progress; every ``predict_every`` epochs (if > 0), and always at
    the end, it yields the predictions at ``xq``: (M, Q) for regression, class
    probabilities (M, Q, C) for classification. Members whose loss turns non-finite
    keep their last weights' predictions as NaN for the caller to report. By default
    it yields after every epoch: the caller's checkpoints are then epochs, which is
    what the window's speed and the speed slider count.
    """
    device = torch.device(device)
    X = torch.from_numpy(np.array(x, np.float32)).to(device)
    Xq = torch.from_numpy(np.array(xq, np.float32)).to(device)
    if X.dim() == 2:
        X, Xq = X[..., None], Xq[..., None]
    target = torch.from_numpy(np.array(y, np.int64 if n_classes else np.float32)).to(device)
    weight = torch.from_numpy(np.array(w, np.float32)).to(device)
    net = BatchedMLP(X.shape[0], X.shape[-1], width, layers, n_classes or 1, seed, device)
    opt = torch.optim.Adam(net.parameters(), lr=lr, foreach=True, weight_decay=weight_decay)

    def predict() -> np.ndarray:
        with torch.no_grad():
            out = net(Xq)
            out = torch.softmax(out, -1) if n_classes else out.squeeze(-1)
            return out.cpu().numpy().astype(np.float64)

    for epoch in range(1, epochs + 1):
        opt.zero_grad(set_to_none=True)
        loss = _member_loss(net(X), target, weight, n_classes).sum()
        loss.backward()
        opt.step()
        if predict_every and epoch % predict_every == 0 and epoch != epochs:
            yield epoch, predict()
        elif epoch % report_every == 0 and epoch != epochs:
            yield epoch, None
    yield epochs, predict()
