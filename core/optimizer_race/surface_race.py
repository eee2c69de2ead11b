"""The optimizer race on a 2-D surface: every racer from the same start, in lockstep.

All racers' points are one (N, 2) float64 tensor; one autograd call gives every
gradient and :class:`core.optimizer_race.batched_optimizers.BatchedOptimizers` applies each racer's own
torch.optim update. A racer whose point becomes NaN/Inf or leaves the map far behind
stops alone ("diverged at step N"); on a surface without a minimum (the saddle) a
racer that leaves the map downhill has "escaped". :func:`reference_race` runs the
same race with one real torch.optim optimizer per racer, for the tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch

from core.devices import torch_device
from core.engine import Diverged, Event, Finished, RunControl, Snapshot, Throttle, counts
from core.optimizer_race.batched_optimizers import BatchedOptimizers, OptimizerSetting, make_torch_optimizer
from core.optimizer_race.explain import explain_step
from core.optimizer_race.surfaces import Surface, check_start, make_surface

__all__ = [
    "RaceConfig",
    "RaceResult",
    "SurfaceRace",
    "race_job",
    "simulate_race",
    "reference_race",
    "leaderboard",
    "rank_racers",
    "surface_of",
    "DEFAULT_RACERS",
]

DEFAULT_RACERS = tuple(
    OptimizerSetting(k)
    for k in ("sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop", "adam", "adamw", "nadam")
)
FAR_AWAY = 10.0  # a racer more than this many map sizes outside the map has diverged


@dataclass(frozen=True)
class RaceConfig:
    surface: str = "rosenbrock"
    condition: float = 10.0  # for the elongated bowl
    formula: str = ""  # for "custom"
    start: tuple[float, float] | None = None  # None: the surface's suggested start
    racers: tuple[OptimizerSetting, ...] = DEFAULT_RACERS
    steps: int = 500
    epsilon: float = 1e-2  # "reached" = within this distance of a minimum
    seed: int = 0
    device: str = "cpu"


def surface_of(cfg: RaceConfig) -> Surface:
    return make_surface(cfg.surface, condition=cfg.condition, formula=cfg.formula)


def _validate(cfg: RaceConfig) -> tuple[Surface, tuple[float, float]]:
    if not cfg.racers:
        raise ValueError("Switch on at least one optimizer to race")
    if not 1 <= cfg.steps <= 100_000:
        raise ValueError(f"Steps must be between 1 and 100000, got {cfg.steps}")
    if not (cfg.epsilon > 0 and math.isfinite(cfg.epsilon)):
        raise ValueError(f"The target distance ε must be positive, got {cfg.epsilon}")
    for s in cfg.racers:
        s.validate()
    surface = surface_of(cfg)
    start = tuple(map(float, cfg.start)) if cfg.start is not None else surface.start
    check_start(surface, *start)
    return surface, start


@dataclass
class RaceResult:
    """Everything a finished (or running) race has computed so far, as numpy arrays."""

    names: list[str]
    path: np.ndarray  # (t+1, N, 2) positions, row 0 = start
    loss: np.ndarray  # (t+1, N) f at each position
    grad_norm: np.ndarray  # (t, N) norm of the gradient used in each step
    lr: np.ndarray  # (t, N) learning rate used in each step
    diverged_at: np.ndarray  # (N,) step or -1
    escaped_at: np.ndarray  # (N,) step or -1
    minima: np.ndarray  # (M, 2)
    floor: float
    epsilon: float
    extra: dict = field(default_factory=dict)

    def distance(self) -> np.ndarray:
        """(t+1, N) distance to the nearest minimum (NaN without minima)."""
        if len(self.minima) == 0:
            return np.full(self.loss.shape, np.nan)
        d = self.path[:, :, None, :] - self.minima[None, None, :, :]
        return np.sqrt((d**2).sum(-1)).min(-1)

    def step_size(self) -> np.ndarray:
        return np.sqrt((np.diff(self.path, axis=0) ** 2).sum(-1))

    def reached_at(self) -> np.ndarray:
        """(N,) first step within ε of a minimum, or -1."""
        close = self.distance() < self.epsilon
        first = np.where(close.any(0), close.argmax(0), -1)
        return first


class SurfaceRace:
    """The state of one race on a surface, stepped by :meth:`advance`; the race job,
    :func:`simulate_race` and the learning-rate tuning all drive it."""

    def __init__(self, cfg: RaceConfig):
        self.cfg = cfg
        self.surface, start = _validate(cfg)
        dev = torch_device(cfg.device)
        n = len(cfg.racers)
        self.dtype = torch.float64 if dev.type != "mps" else torch.float32
        self.p = torch.tensor([start] * n, dtype=self.dtype, device=dev)
        self.opt = BatchedOptimizers(cfg.racers, 2, cfg.steps, dtype=self.dtype, device=dev, track_rate=True)
        self.noise = torch.tensor([[s.noise] for s in cfg.racers], dtype=self.dtype, device=dev)
        self.has_noise = bool((self.noise > 0).any())
        self.gen = torch.Generator(device=dev).manual_seed(cfg.seed)
        T = cfg.steps
        self.path = torch.full((T + 1, n, 2), math.nan, dtype=self.dtype, device=dev)
        self.loss = torch.full((T + 1, n), math.nan, dtype=self.dtype, device=dev)
        self.grads = torch.full((T, n, 2), math.nan, dtype=self.dtype, device=dev)
        self.lr = np.full((T, n), np.nan)
        self.rate = torch.full((T, n), math.nan, dtype=self.dtype, device=dev)  # effective lr, mean over x and y
        self.alive = torch.ones(n, dtype=torch.bool, device=dev)
        self.diverged_at = np.full(n, -1)
        self.escaped_at = np.full(n, -1)
        x0, x1, y0, y1 = self.surface.domain
        self.centre = torch.tensor([(x0 + x1) / 2, (y0 + y1) / 2], dtype=self.dtype, device=dev)
        self.half = torch.tensor([(x1 - x0) / 2, (y1 - y0) / 2], dtype=self.dtype, device=dev)
        self.far = float(FAR_AWAY * self.surface.span)
        self.escapable = len(self.surface.minima) == 0
        self.t = 0
        self.path[0] = self.p
        self._fg = self._value_and_grad()  # value and gradient at the current points
        self.loss[0] = self._fg[0]

    def _value_and_grad(self):
        if self.surface.grad is not None:
            x, y = self.p[:, 0], self.p[:, 1]
            gx, gy = self.surface.grad(x, y)
            return self.surface.fn(x, y), torch.stack([gx, gy], 1)
        q = self.p.detach().requires_grad_(True)
        with torch.enable_grad():
            f = self.surface.fn(q[:, 0], q[:, 1])
            (g,) = torch.autograd.grad(f.sum(), q)
        return f.detach(), g

    def advance(self) -> list[int]:
        """One step for every racer still running; returns rows that stopped just now."""
        f, g = self._fg
        if self.has_noise:
            g = g + self.noise * torch.randn(g.shape, generator=self.gen, dtype=self.dtype, device=g.device)
        old = self.p.clone()
        self.opt.step(self.p, g)
        if self.opt.has_plateau:
            self.opt.observe_losses(f.cpu().numpy())
        t = self.t
        self.grads[t] = self.opt.last_grad
        self.lr[t] = self.opt.current_lr()
        self.rate[t] = self.opt.last_rate.mean(1)
        self.t = t + 1
        outside = ((self.p - self.centre).abs() - self.half).amax(1)
        diverged = (~torch.isfinite(self.p).all(1) | (outside > self.far)) & self.alive
        frozen = ~self.alive | diverged  # an escaped racer keeps its first point off the map
        stopped: list[int] = []
        if self.escapable:
            escaped = (outside > 0) & self.alive & ~diverged
            if bool(escaped.any()):
                for i in torch.nonzero(escaped).flatten().tolist():
                    self.escaped_at[i] = self.t
                    stopped.append(i)
                self.alive &= ~escaped
        if bool(diverged.any()):
            for i in torch.nonzero(diverged).flatten().tolist():
                self.diverged_at[i] = self.t
                stopped.append(i)
            self.alive &= ~diverged
        if bool(frozen.any()):
            self.p = torch.where(frozen[:, None], old, self.p)
        self.path[self.t] = self.p
        self._fg = self._value_and_grad()
        self.loss[self.t] = self._fg[0]
        return stopped

    @property
    def done(self) -> bool:
        """Every step taken, or no racer left running."""
        return self.t >= self.cfg.steps or not bool(self.alive.any())

    def result(self, upto: int | None = None) -> RaceResult:
        """Everything recorded up to step ``upto`` (default: the current step), as numpy."""
        t = self.t if upto is None else upto
        return RaceResult(
            names=[s.name for s in self.cfg.racers],
            path=self.path[: t + 1].cpu().numpy().copy(),
            loss=self.loss[: t + 1].cpu().numpy().copy(),
            grad_norm=self.grads[:t].norm(dim=-1).cpu().numpy().copy(),
            lr=self.lr[:t].copy(),
            diverged_at=self.diverged_at.copy(),
            escaped_at=self.escaped_at.copy(),
            minima=np.asarray(self.surface.minima, np.float64).reshape(-1, 2),
            floor=self.surface.floor,
            epsilon=self.cfg.epsilon,
        )

    def chunk(self, t0: int) -> dict:
        """The new data since step t0 (positions t0+1..t), metrics for the curves."""
        t = self.t
        path = self.path[t0 : t + 1].cpu().numpy()
        loss = self.loss[t0 : t + 1].cpu().numpy()
        gn = self.grads[t0:t].norm(dim=-1).cpu().numpy()
        minima = np.asarray(self.surface.minima, np.float64).reshape(-1, 2)
        if len(minima):
            dist = np.sqrt(((path[1:, :, None, :] - minima[None, None]) ** 2).sum(-1)).min(-1)
        else:
            dist = np.full(loss[1:].shape, np.nan)
        return {
            "steps": np.arange(t0 + 1, t + 1),
            "path": path[1:].copy(),
            "gap": loss[1:] - self.surface.floor,
            "distance": dist,
            "grad_norm": gn.copy(),
            "step_size": np.sqrt((np.diff(path, axis=0) ** 2).sum(-1)),
            "lr": self.lr[t0:t].copy(),
            "effective_lr": self.rate[t0:t].cpu().numpy().copy(),
            "alive": self.alive.cpu().numpy().copy(),
            "diverged_at": self.diverged_at.copy(),
            "escaped_at": self.escaped_at.copy(),
        }

    def snapshot(self, t0: int, explain: bool = True) -> Snapshot:
        """New data since step t0 and, with ``explain``, every racer's step written out
        (the panel shows the one the student picks)."""
        data = self.chunk(t0)
        if explain:
            data["inspect"] = [self.inspect(i) for i in range(len(self.cfg.racers))]
        return Snapshot(self.t, "race", data)

    def inspect(self, row: int) -> dict:
        """Racer ``row``'s last step written out: gradient, optimizer state, update, text lines."""
        row = min(max(row, 0), len(self.cfg.racers) - 1)
        setting = self.cfg.racers[row]
        if self.t == 0 or self.opt.last_grad is None:
            return {"row": row, "step": 0, "lines": [f"{setting.name}: press Step to take the first step"]}
        if self.diverged_at[row] >= 0:
            return {"row": row, "step": self.t, "lines": [f"{setting.name} diverged at step {self.diverged_at[row]}: "
                                                           "its point became infinite or left the map far behind"]}
        if self.escaped_at[row] >= 0:
            return {"row": row, "step": self.t, "lines": [f"{setting.name} escaped downhill off the map at step {self.escaped_at[row]}"]}
        state = self.opt.torch_state(row)
        grad = self.opt.last_grad[row].cpu().numpy().copy()
        position = self.path[self.t, row].cpu().numpy().copy()
        previous = self.path[self.t - 1, row].cpu().numpy().copy()
        delta = position - previous  # the step actually taken (AdamW's decay included)
        lr = float(self.opt.current_lr()[row])
        lines = explain_step(setting, self.t, lr, grad, state, delta, previous)
        return {"row": row, "step": self.t, "grad": grad, "state": state, "update": delta, "position": position,
                "lr": lr, "lines": lines}


@counts("iterations")
def race_job(cfg: RaceConfig, ctl: RunControl) -> Iterator[Event]:
    """The race as a job: snapshots of new positions and metrics at most ~60 a second."""
    race = SurfaceRace(cfg)
    throttle = Throttle(60)
    explain = Throttle(5)  # the step panel is read, not watched: a few updates a second
    names = [s.name for s in cfg.racers]
    last = 0
    yield Snapshot(0, "race_start", {"path": race.path[:1].cpu().numpy().copy(),
                                     "gap": race.loss[:1].cpu().numpy() - race.surface.floor, "names": names,
                                     "steps": cfg.steps})
    while not race.done:
        ctl.checkpoint()
        stopped = race.advance()
        for i in stopped:
            if race.diverged_at[i] >= 0:
                yield Diverged(race.t, f"{names[i]} diverged at step {race.t}", series=names[i])
        if throttle.due() or race.done or ctl.paused:
            yield race.snapshot(last, explain.due() or race.done or ctl.paused)
            last = race.t
    if last < race.t:
        yield race.snapshot(last)
    result = race.result()
    yield Finished({"leaderboard": leaderboard(result), "steps": race.t})


def simulate_race(cfg: RaceConfig) -> RaceResult:
    """Run the whole race at once (tests, tuning, GIF export)."""
    race = SurfaceRace(cfg)
    while not race.done:
        race.advance()
    return race.result()


def reference_race(cfg: RaceConfig, steps: int | None = None) -> np.ndarray:
    """(steps+1, N, 2) paths from one real torch.optim optimizer per racer (the tests' yardstick).

    Uses the same gradient noise stream as the batched race; no divergence handling.
    """
    surface, start = _validate(cfg)
    steps = cfg.steps if steps is None else steps
    n = len(cfg.racers)
    params, opts = [], []
    for s in cfg.racers:
        p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
        opt, sched = make_torch_optimizer(s, [p], cfg.steps)
        params.append(p)
        opts.append((opt, sched, s.schedule == "plateau"))
    noise = torch.tensor([[s.noise] for s in cfg.racers], dtype=torch.float64)
    has_noise = bool((noise > 0).any())
    gen = torch.Generator().manual_seed(cfg.seed)
    out = np.empty((steps + 1, n, 2))
    out[0] = np.asarray(start)
    for t in range(steps):
        draw = noise * torch.randn((n, 2), generator=gen, dtype=torch.float64) if has_noise else None
        for i, (p, (opt, sched, plateau)) in enumerate(zip(params, opts)):
            opt.zero_grad()
            loss = surface.fn(p[0], p[1])
            loss.backward()
            if draw is not None:
                p.grad.add_(draw[i])
            opt.step()
            if sched is not None:
                sched.step(float(loss.detach())) if plateau else sched.step()
            out[t + 1, i] = p.detach().numpy()
    return out


def leaderboard(result: RaceResult) -> list[dict]:
    """Racers ranked: reached (by step), escaped (by step), still running (by loss), diverged."""
    return rank_racers(result.names, result.reached_at(), result.escaped_at, result.diverged_at,
                       result.loss[-1] - result.floor, result.distance()[-1])


def rank_racers(names, reached, escaped, diverged, last_gap, last_distance) -> list[dict]:
    """The leaderboard from per-racer numbers (also used live by the GUI)."""
    rows = []
    for i, name in enumerate(names):
        if diverged[i] >= 0:
            status, key = f"diverged at step {diverged[i]}", (3, diverged[i], 0.0)
        elif escaped[i] >= 0:
            status, key = f"escaped at step {escaped[i]}", (1, escaped[i], 0.0)
        elif reached[i] >= 0:
            status, key = f"reached at step {reached[i]}", (0, reached[i], 0.0)
        else:
            gap = float(last_gap[i]) if math.isfinite(last_gap[i]) else math.inf
            status, key = "not reached", (2, 0, gap)
        rows.append({"racer": i, "name": name, "status": status, "reached_at": int(reached[i]),
                     "diverged_at": int(diverged[i]), "escaped_at": int(escaped[i]),
                     "loss_gap": float(last_gap[i]), "distance": float(last_distance[i]), "_key": key})
    rows.sort(key=lambda r: r["_key"])
    for rank, r in enumerate(rows, 1):
        r["rank"] = rank
        del r["_key"]
    return rows
