"""Small batches against large ones: the same network, the same start, the same epochs.

Each batch size trains its own copy (one :class:`core.optimizer_race.network_race.NetRace` each, stepped
epoch by epoch side by side). Afterwards a 1-D slice of the loss landscape is drawn
along the straight lines between the initial weights and each solution, and between
the two solutions; a sharpness number (the mean rise of the training loss when the
weights are nudged in random directions by a fixed fraction of their norm) says
which minimum is flat and which is sharp.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch

from core.engine import Diverged, Event, Finished, RunControl, Snapshot, Throttle, counts
from core.optimizer_race.network_race import NetRace, NetRaceConfig, check_net_config, loss_and_grad_out

__all__ = ["BatchSizeConfig", "batch_size_job", "check_batch_config", "landscape_slice", "sharpness", "describe"]


@dataclass(frozen=True)
class BatchSizeConfig:
    net: NetRaceConfig = NetRaceConfig(epochs=100)  # its first racer is the optimizer used
    batch_sizes: tuple[int, ...] = (4, 250)
    slice_points: int = 61
    slice_from: float = -0.5
    slice_to: float = 1.5
    nudge: float = 0.05  # sharpness: random steps of this fraction of the weight norm
    nudges: int = 32


def check_batch_config(cfg: BatchSizeConfig) -> None:
    """ValueError with a readable reason for settings the experiment cannot run."""
    if not 2 <= len(cfg.batch_sizes) <= 4:
        raise ValueError("Compare between two and four batch sizes")
    if any(b < 1 for b in cfg.batch_sizes) or len(set(cfg.batch_sizes)) != len(cfg.batch_sizes):
        raise ValueError("Batch sizes must be different whole numbers of at least 1")
    if not 5 <= cfg.slice_points <= 401:
        raise ValueError("Use between 5 and 401 points along the landscape slice")
    if not cfg.slice_from < 0 < 1 < cfg.slice_to:
        raise ValueError("The slice must run from below 0 to above 1 (0 = start, 1 = end)")
    if not cfg.net.racers:
        raise ValueError("Choose the optimizer to train with")
    check_net_config(cfg.net)


@torch.no_grad()
def _losses(race: NetRace, thetas: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Training and test loss (P,) of the network at each row of ``thetas`` (P, D)."""
    model, d = race.model, race.data
    layers = model.views(thetas.contiguous())
    out_tr, _ = model.forward(d.x_train, layers)
    out_te, _ = model.forward(d.x_test, layers)
    return (loss_and_grad_out(out_tr, d.y_train, d.task)[0].cpu().numpy().astype(np.float64),
            loss_and_grad_out(out_te, d.y_test, d.task)[0].cpu().numpy().astype(np.float64))


def landscape_slice(race: NetRace, a: torch.Tensor, b: torch.Tensor, alphas: np.ndarray):
    """Losses along θ(α) = a + α·(b − a): (train (P,), test (P,))."""
    al = torch.as_tensor(alphas, dtype=a.dtype, device=a.device)[:, None]
    return _losses(race, a[None, :] + al * (b - a)[None, :])


def sharpness(race: NetRace, theta: torch.Tensor, fraction: float, count: int, seed: int = 0) -> float:
    """Mean rise of the training loss under random nudges of ``fraction`` × |θ|."""
    gen = torch.Generator().manual_seed(seed)
    dirs = torch.randn((count, theta.numel()), generator=gen, dtype=torch.float64).to(theta.dtype).to(theta.device)
    dirs = dirs / dirs.norm(dim=1, keepdim=True) * (fraction * theta.norm())
    base, _ = _losses(race, theta[None, :])
    nudged, _ = _losses(race, theta[None, :] + dirs)
    return float(np.mean(nudged) - base[0])


@counts("epochs")
def batch_size_job(cfg: BatchSizeConfig, ctl: RunControl) -> Iterator[Event]:
    check_batch_config(cfg)
    setting = cfg.net.racers[0]
    races = {b: NetRace(dataclasses.replace(cfg.net, batch_size=b, racers=(setting,))) for b in cfg.batch_sizes}
    names = {b: f"batch {min(b, len(r.data.x_train))}" for b, r in races.items()}
    start = next(iter(races.values())).model.theta[0].clone()
    throttle = Throttle(30)
    pending: dict[int, list] = {b: [] for b in races}
    alive = {b: True for b in races}
    yield Snapshot(0, "batch_start", {"names": [names[b] for b in races], "optimizer": setting.name})
    for e in range(1, cfg.net.epochs + 1):
        ctl.checkpoint()
        for b, race in races.items():
            if not alive[b]:
                continue
            m = race.epoch()
            if not np.isfinite(m["train_loss"][0]):
                alive[b] = False
                yield Diverged(e, f"{names[b]} diverged at epoch {e}", series=names[b])
                continue
            pending[b].append((e, m))
        if throttle.due() or e == cfg.net.epochs:
            for b, items in pending.items():
                if items:
                    yield Snapshot(e, "batch_curves", _curves(names[b], items))
            pending = {b: [] for b in races}
        if not any(alive.values()):
            break
    finals = {b: r.model.theta[0].clone() for b, r in races.items() if alive[b]}
    alphas = np.linspace(cfg.slice_from, cfg.slice_to, cfg.slice_points)
    lines: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    any_race = next(iter(races.values()))
    for b, theta in finals.items():
        ctl.checkpoint()
        lines[f"start → {names[b]}"] = landscape_slice(any_race, start, theta, alphas)
    solved = list(finals)
    if len(solved) >= 2:
        a, b = solved[0], solved[-1]
        lines[f"{names[a]} → {names[b]}"] = landscape_slice(any_race, finals[a], finals[b], alphas)
    summary = {}
    for b, theta in finals.items():
        m = races[b].evaluate()
        summary[names[b]] = {
            "train_loss": float(m["train_loss"][0]), "test_loss": float(m["test_loss"][0]),
            "train_acc": float(m["train_acc"][0]), "test_acc": float(m["test_acc"][0]),
            "gap": float(m["test_loss"][0] - m["train_loss"][0]),
            "sharpness": sharpness(any_race, theta, cfg.nudge, cfg.nudges, cfg.net.seed),
            "steps": races[b].opt.t,
        }
    yield Snapshot(cfg.net.epochs, "landscape", {"alpha": alphas, "lines": lines, "summary": summary})
    yield Finished({"batches": summary})


def _curves(name: str, items) -> dict:
    out = {"name": name, "epochs": np.array([e for e, _ in items])}
    for key in items[0][1]:
        out[key] = np.array([m[key][0] for _, m in items])
    return out


def describe(summary: dict) -> str:
    """One line per batch size for the result panel."""
    parts = []
    for name, s in summary.items():
        gap = s["gap"]
        parts.append(
            f"{name}: {s['steps']} steps, train loss {s['train_loss']:.3g}, test loss {s['test_loss']:.3g} "
            f"(gap {gap:+.3g}), test accuracy {s['test_acc']:.1%}, sharpness {s['sharpness']:.3g}"
            if math.isfinite(gap) else f"{name}: diverged"
        )
    return "\n".join(parts)
