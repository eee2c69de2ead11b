"""Many torch.optim optimizers updating many parameter rows in one tensor program.

A race moves N points (or N small networks), each with its own optimizer kind and
settings. Stepping N separate ``torch.optim`` instances costs a Python loop of small
ops per row; here every row's update is written in one common form

    g   ← g + l2·p                          (L2 weight decay)
    m   ← a_m·m + b_m·g                     (velocity / first moment)
    v   ← max(a_v·v + b_v·g², (y·|g| + z)²) (squared-gradient state; the max is Adamax)
    r   ← sqrt(c_a·u + e_a)                 (Adadelta's accumulated update, 1 elsewhere)
    Δ   ← (k_g·g + k_m·m) · r / (sqrt(c_v·v + e_in) + ε_d)
    u   ← a_u·u + b_u·Δ²                    (Adadelta)
    p   ← p·(1 − dec) − Δ                   (dec: AdamW's decoupled decay)

with per-row, per-step coefficients taken from the torch.optim formulas (bias
corrections, NAdam's momentum schedule, RAdam's rectification, learning-rate
schedules by torch's own schedulers). The tests compare every kind against a
direct torch.optim loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

from core.optimizers import OPTIMIZERS, SCHEDULES, make_optimizer, make_scheduler

__all__ = [
    "OptimizerSetting",
    "hyper_defaults",
    "family_of",
    "make_torch_optimizer",
    "BatchedOptimizers",
    "HYPER_LIMITS",
]

CHUNK = 256  # steps of coefficients computed at once (vectorized over time)
NADAM_MOMENTUM_DECAY = 4e-3

# name -> (low, high, label): the checks every setting passes before a race starts
HYPER_LIMITS: dict[str, tuple[float, float, str]] = {
    "momentum": (0.0, 0.999, "momentum μ"),
    "beta1": (0.0, 0.999, "β₁"),
    "beta2": (0.0, 0.99999, "β₂"),
    "eps": (1e-12, 1.0, "ε"),
    "rho": (0.0, 0.999, "ρ"),
    "alpha": (0.0, 0.9999, "α"),
    "weight_decay": (0.0, 1.0, "weight decay"),
}

_FAMILY_BY_CLASS = {
    "SGD": "sgd",
    "Adagrad": "adagrad",
    "Adadelta": "adadelta",
    "RMSprop": "rmsprop",
    "Adam": "adam",
    "AdamW": "adamw",
    "NAdam": "nadam",
    "RAdam": "radam",
    "Adamax": "adamax",
}


def family_of(kind: str) -> str:
    """Which update rule a registry name uses (momentum and nesterov are SGD)."""
    if kind not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer {kind!r}; choose one of {', '.join(OPTIMIZERS)}")
    name = OPTIMIZERS[kind].cls.__name__
    if name not in _FAMILY_BY_CLASS:
        raise ValueError(f"{OPTIMIZERS[kind].label} cannot race (no batched form of {name})")
    return _FAMILY_BY_CLASS[name]


def hyper_defaults(kind: str) -> dict[str, float]:
    """The registry's defaults for ``kind`` as flat numbers (betas split in two)."""
    spec = OPTIMIZERS[kind]
    out: dict[str, float] = {}
    for key, value in spec.defaults.items():
        if key == "betas":
            out["beta1"], out["beta2"] = float(value[0]), float(value[1])
        elif key != "nesterov":
            out[key] = float(value)
    return out


@dataclass(frozen=True)
class OptimizerSetting:
    """One racer's optimizer: registry kind, learning rate, its hyperparameters, schedule."""

    kind: str
    lr: float | None = None  # None: the registry's default
    hyper: tuple[tuple[str, float], ...] = ()  # overrides of hyper_defaults(kind)
    schedule: str = "none"
    step_size: int = 100
    gamma: float = 0.5
    patience: int = 10
    noise: float = 0.0  # standard deviation of Gaussian noise added to each gradient
    label: str = ""

    @property
    def family(self) -> str:
        return family_of(self.kind)

    @property
    def learning_rate(self) -> float:
        return OPTIMIZERS[self.kind].lr if self.lr is None else float(self.lr)

    @property
    def name(self) -> str:
        return self.label or OPTIMIZERS[self.kind].label

    def values(self) -> dict[str, float]:
        h = hyper_defaults(self.kind)
        h.update({k: float(v) for k, v in self.hyper})
        return h

    def torch_kwargs(self) -> dict:
        h = self.values()
        kwargs: dict = {}
        if "beta1" in h or "beta2" in h:
            kwargs["betas"] = (h.pop("beta1", 0.9), h.pop("beta2", 0.999))
        kwargs.update(h)
        if OPTIMIZERS[self.kind].defaults.get("nesterov"):
            kwargs["nesterov"] = True
        return kwargs

    def validate(self) -> None:
        """ValueError naming the racer and the value when a setting cannot run."""
        who = self.name
        family = family_of(self.kind)
        lr = self.learning_rate
        if not (math.isfinite(lr) and 0 < lr < 1e3):
            raise ValueError(f"{who}: learning rate must be positive and below 1000, got {lr:g}")
        for key, value in self.values().items():
            if key not in HYPER_LIMITS:
                raise ValueError(f"{who}: unknown setting {key!r}")
            lo, hi, label = HYPER_LIMITS[key]
            if not (math.isfinite(value) and lo <= value <= hi):
                raise ValueError(f"{who}: {label} must be between {lo:g} and {hi:g}, got {value:g}")
        if OPTIMIZERS[self.kind].defaults.get("nesterov") and not self.values().get("momentum"):
            # torch.optim.SGD refuses it (the schedule's own optimizer would fail unnamed)
            raise ValueError(f"{who}: Nesterov's look-ahead needs a momentum above 0 (with 0 it is plain SGD)")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"{who}: unknown schedule {self.schedule!r}")
        if self.schedule == "onecycle" and family not in ("sgd", "adam", "adamw", "nadam", "radam", "adamax"):
            # torch's one-cycle also cycles a momentum or β₁, which these optimizers lack
            # (RMSprop's would switch on its momentum buffer, a different update rule).
            raise ValueError(f"{who}: one-cycle needs SGD or an Adam-type optimizer; pick another schedule")
        if self.schedule in ("step", "exponential", "plateau") and not 0 < self.gamma <= 1:
            raise ValueError(f"{who}: the schedule's factor γ must be in (0, 1], got {self.gamma:g}")
        if not (math.isfinite(self.noise) and 0 <= self.noise <= 100):
            raise ValueError(f"{who}: gradient noise must be between 0 and 100, got {self.noise:g}")


def make_torch_optimizer(setting: OptimizerSetting, params, total_steps: int):
    """The real torch.optim optimizer and scheduler for a setting (reference and baselines)."""
    opt = make_optimizer(setting.kind, params, setting.learning_rate, **setting.torch_kwargs())
    sched = make_scheduler(
        setting.schedule, opt, total_steps, step_size=setting.step_size, gamma=setting.gamma, patience=setting.patience
    )
    return opt, sched


class _ScheduleStream:
    """Per-step learning rate, momentum and β₁ of one racer, recorded from torch's scheduler.

    A dummy parameter with no gradient makes ``optimizer.step()`` a no-op that still
    counts, so the scheduler behaves exactly as in a real loop.
    """

    def __init__(self, setting: OptimizerSetting, total_steps: int):
        self._param = torch.zeros(1, requires_grad=True)
        self.opt, self.sched = make_torch_optimizer(setting, [self._param], total_steps)
        self.plateau = setting.schedule == "plateau"
        self.total_steps = total_steps
        self.values: list[tuple[float, float, float]] = []

    def _read(self) -> tuple[float, float, float]:
        g = self.opt.param_groups[0]
        betas = g.get("betas", (0.0, 0.0))
        return float(g["lr"]), float(g.get("momentum", 0.0)), float(betas[0])

    def upto(self, n: int) -> list[tuple[float, float, float]]:
        """Values for steps 1..n (the plateau schedule only records what it has seen)."""
        if self.plateau:
            return []
        while len(self.values) < n:
            self.values.append(self._read())
            # Past the planned steps (a coefficient chunk may reach beyond them) the
            # last values repeat; one-cycle refuses to step further.
            if self.sched is not None and len(self.values) < self.total_steps:
                self.opt.step()
                self.sched.step()
        return self.values

    def observe(self, loss: float) -> float:
        """Plateau schedule: feed this step's loss, return the learning rate for the next."""
        self.opt.step()
        self.sched.step(loss)
        return float(self.opt.param_groups[0]["lr"])


_COLUMNS = ("l2", "am", "bm", "av", "bv", "ya", "za", "ca", "ea", "au", "bu", "cv", "ein", "epsd", "kg", "km", "keep", "scv")


@dataclass
class _Rows:
    """Static per-row settings as numpy vectors (N,)."""

    family: np.ndarray
    lr: np.ndarray
    momentum: np.ndarray
    beta1: np.ndarray
    beta2: np.ndarray
    eps: np.ndarray
    rho: np.ndarray
    alpha: np.ndarray
    wd: np.ndarray
    nesterov: np.ndarray
    extra: dict = field(default_factory=dict)


class BatchedOptimizers:
    """Steps rows of a (N, D) parameter tensor, row i by ``settings[i]``, in lockstep."""

    def __init__(
        self,
        settings: Sequence[OptimizerSetting],
        n_params: int,
        total_steps: int,
        *,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str = "cpu",
        track_rate: bool = False,
    ):
        if not settings:
            raise ValueError("Add at least one optimizer to the race")
        for s in settings:
            s.validate()
        self.settings = list(settings)
        self.total_steps = max(1, int(total_steps))
        self.dtype, self.device = dtype, torch.device(device)
        n = len(settings)
        shape = (n, n_params)
        self.m = torch.zeros(shape, dtype=dtype, device=self.device)
        self.v = torch.zeros(shape, dtype=dtype, device=self.device)
        self.u = torch.zeros(shape, dtype=dtype, device=self.device)
        self.t = 0  # steps taken
        self.last_grad: torch.Tensor | None = None
        self.track_rate = track_rate  # keep last_rate, the per-parameter effective learning rate (an extra op per step)
        self.last_rate: torch.Tensor | None = None
        fam = [s.family for s in settings]
        vals = [s.values() for s in settings]

        def col(key, default=0.0):
            return np.array([v.get(key, default) for v in vals], np.float64)

        self.rows = _Rows(
            family=np.array(fam),
            lr=np.array([s.learning_rate for s in settings], np.float64),
            momentum=col("momentum"),
            beta1=col("beta1"),
            beta2=col("beta2"),
            eps=col("eps", 1e-8),
            rho=col("rho"),
            alpha=col("alpha"),
            wd=col("weight_decay"),
            nesterov=np.array([bool(OPTIMIZERS[s.kind].defaults.get("nesterov")) for s in settings]),
        )
        self._streams = {i: _ScheduleStream(s, self.total_steps) for i, s in enumerate(settings) if s.schedule != "none"}
        self._plateau_lr = {i: self.rows.lr[i] for i, st in self._streams.items() if st.plateau}
        self._nadam_mu_product = np.ones(n)  # NAdam's running product of μ_t, per row
        self._has_nadam = "nadam" in fam
        self._table: list | None = None
        self._table_start = 0
        self._chunk_len = 0
        self._flags: dict[str, bool] = {}
        self._lr_now = self.rows.lr.copy()

    # -- coefficients ------------------------------------------------------------
    def _schedule_values(self, t0: int, steps: int):
        """(steps, N) arrays of learning rate, momentum and β₁ for steps t0+1 ... t0+steps."""
        r = self.rows
        n = len(r.lr)
        lr = np.broadcast_to(r.lr, (steps, n)).copy()
        mom = np.broadcast_to(r.momentum, (steps, n)).copy()
        b1 = np.broadcast_to(r.beta1, (steps, n)).copy()
        for i, stream in self._streams.items():
            if stream.plateau:
                lr[:, i] = self._plateau_lr[i]
                continue
            seq = np.asarray(stream.upto(t0 + steps)[t0 : t0 + steps])
            lr[:, i], b1[:, i] = seq[:, 0], np.where(r.family[i] == "sgd", r.beta1[i], seq[:, 2])
            if r.family[i] == "sgd":
                mom[:, i] = seq[:, 1]
        return lr, mom, b1

    def _coefficients(self, t0: int, steps: int) -> np.ndarray:
        """(steps, columns, N) coefficients of the common update for the next steps."""
        r = self.rows
        n = len(r.lr)
        t = np.arange(t0 + 1, t0 + steps + 1, dtype=np.float64)[:, None]
        lr, mom, b1 = self._schedule_values(t0, steps)
        b2 = r.beta2[None, :]
        eps = r.eps[None, :]
        c = {k: np.zeros((steps, n)) for k in _COLUMNS}
        c["ea"][:] = 1.0  # r = 1 unless Adadelta
        c["keep"][:] = 1.0  # p·(1 − decoupled decay)
        c["epsd"][:] = 1.0  # denominator 1 unless adaptive
        fam = r.family
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            bc1 = 1 - b1**t
            bc2 = 1 - b2**t
            for i in range(n):
                f = fam[i]
                col = slice(None), i
                if f != "adamw":
                    c["l2"][col] = r.wd[i]
                if f == "sgd":
                    mu = mom[:, i]
                    c["am"][col] = mu
                    c["bm"][col] = mu != 0  # dampening 0: the buffer starts as g, then μ·m + g
                    if r.nesterov[i]:
                        c["kg"][col], c["km"][col] = lr[:, i], lr[:, i] * mu
                    else:
                        c["kg"][col] = np.where(mu != 0, 0.0, lr[:, i])
                        c["km"][col] = np.where(mu != 0, lr[:, i], 0.0)
                elif f == "adagrad":
                    c["av"][col], c["bv"][col], c["cv"][col] = 1.0, 1.0, 1.0
                    c["epsd"][col] = eps[0, i]
                    c["kg"][col] = lr[:, i]  # lr_decay is 0 in the registry
                elif f == "rmsprop":
                    a = r.alpha[i]
                    c["av"][col], c["bv"][col], c["cv"][col] = a, 1 - a, 1.0
                    c["epsd"][col], c["kg"][col] = eps[0, i], lr[:, i]
                elif f == "adadelta":
                    rho = r.rho[i]
                    c["av"][col], c["bv"][col], c["cv"][col], c["ein"][col], c["epsd"][col] = rho, 1 - rho, 1.0, eps[0, i], 0.0
                    c["ca"][col], c["ea"][col] = 1.0, eps[0, i]
                    c["au"][col], c["bu"][col] = rho, (1 - rho) / lr[:, i] ** 2
                    c["kg"][col] = lr[:, i]
                else:  # the Adam family: first and second moments
                    beta1 = b1[:, i]
                    c["am"][col], c["bm"][col] = beta1, 1 - beta1
                    c["av"][col], c["bv"][col] = b2[0, i], 1 - b2[0, i]
                    c["epsd"][col] = eps[0, i]
                    if f in ("adam", "adamw"):
                        c["cv"][col], c["km"][col] = 1 / bc2[:, i], lr[:, i] / bc1[:, i]
                        if f == "adamw":
                            c["keep"][col] = 1 - lr[:, i] * r.wd[i]
                    elif f == "nadam":
                        self._nadam(c, i, t[:, 0], lr[:, i], beta1, bc2[:, i])
                    elif f == "radam":
                        self._radam(c, i, t[:, 0], lr[:, i], b2[0, i], bc1[:, i], bc2[:, i], eps[0, i])
                    elif f == "adamax":
                        c["av"][col], c["bv"][col] = b2[0, i] ** 2, 0.0
                        c["ya"][col], c["za"][col] = 1.0, eps[0, i]
                        c["cv"][col], c["epsd"][col] = 1.0, 0.0
                        c["km"][col] = lr[:, i] / bc1[:, i]
        c["scv"] = np.sqrt(c["cv"])  # sqrt(c_v·v) = sqrt(c_v)·sqrt(v): one op less per step
        return np.stack([c[k] for k in _COLUMNS], 1)

    def _nadam(self, c, i, t, lr, beta1, bc2) -> None:
        mu = beta1 * (1 - 0.5 * 0.96 ** (t * NADAM_MOMENTUM_DECAY))
        mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * NADAM_MOMENTUM_DECAY))
        prod = self._nadam_mu_product[i] * np.cumprod(mu)
        c["cv"][:, i] = 1 / bc2
        c["kg"][:, i] = lr * (1 - mu) / (1 - prod)
        c["km"][:, i] = lr * mu_next / (1 - prod * mu_next)

    @staticmethod
    def _radam(c, i, t, lr, beta2, bc1, bc2, eps) -> None:
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2**t / bc2
        adaptive = rho_t > 5
        with np.errstate(invalid="ignore"):
            rect = np.sqrt(np.where(adaptive, (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t), 1.0))
        c["cv"][:, i] = np.where(adaptive, 1 / bc2, 0.0)
        c["epsd"][:, i] = np.where(adaptive, eps / np.sqrt(bc2), 1.0)
        c["km"][:, i] = lr * rect / bc1

    def _ensure_table(self) -> None:
        idx = self.t - self._table_start
        if self._table is not None and 0 <= idx < self._chunk_len:
            return
        steps = CHUNK
        coef = self._coefficients(self.t, steps)
        table = torch.as_tensor(coef, dtype=self.dtype).to(self.device).unsqueeze(-1)
        # Coefficients that stay the same over the chunk become one (N, 1) tensor; only
        # the ones that change (bias corrections, schedules) are indexed per step.
        # One tuple of (N, 1) coefficient tensors per step, made here in bulk: unbind()
        # makes a chunk's views in one call, where indexing per step costs an op each.
        columns = []
        for c in range(len(_COLUMNS)):
            if bool(np.all(coef[:, c, :] == coef[:1, c, :])):
                columns.append([table[0, c].clone()] * steps)
            else:
                columns.append(table[:, c].clone().unbind(0))
        self._table = list(zip(*columns))
        self._chunk_len = steps
        self._table_start = self.t
        self._flags = {
            "m": bool(np.any(coef[:, [1, 2]] != 0)),
            "adamax": bool(np.any(coef[:, 5] != 0)),
            "adadelta": bool(np.any(coef[:, 7] != 0)),
            "l2": bool(np.any(coef[:, 0] != 0)),
            "dec": bool(np.any(coef[:, 16] != 1)),
            "ein": bool(np.any(coef[:, 12] != 0)),
        }
        self._chunk_lr, _, b1 = self._schedule_values(self.t, steps)
        t = np.arange(self.t + 1, self.t + steps + 1, dtype=np.float64)[:, None]
        mu = b1 * (1 - 0.5 * 0.96 ** (t * NADAM_MOMENTUM_DECAY))
        self._chunk_mu = np.where(self.rows.family == "nadam", mu, 1.0)

    def _invalidate(self) -> None:
        self._table = None

    # -- the step ----------------------------------------------------------------
    def step(self, params: torch.Tensor, grads: torch.Tensor) -> None:
        """Update ``params`` (N, D) in place from ``grads``.

        Neither tensor may require grad (the caller is in no_grad or passes plain
        tensors): a decorator here would cost as much as the update itself.
        """
        self._ensure_table()
        k = self.t - self._table_start
        (l2, am, bm, av, bv, ya, za, ca, ea, au, bu, cv, ein, epsd, kg, km, keep, scv) = self._table[k]
        flags = self._flags
        g = grads + l2 * params if flags["l2"] else grads
        if flags["m"]:
            self.m.mul_(am).addcmul_(bm, g)
        self.v.mul_(av).addcmul_(bv * g, g)
        if flags["adamax"]:
            torch.maximum(self.v, (ya * g.abs() + za).square_(), out=self.v)
        if flags["ein"]:
            denom = (self.v * cv).add_(ein).sqrt_().add_(epsd)
        else:
            denom = torch.addcmul(epsd, self.v.sqrt(), scv)
        numer = kg * g
        if flags["m"]:
            numer.addcmul_(km, self.m)
        if flags["dec"]:
            params.mul_(keep)
        if self.track_rate:
            # What multiplies the gradient (or its running average) in this step, per
            # parameter: lr for SGD, lr/(√G + ε) for Adagrad, lr/(√v + ε) for RMSprop...
            rate = torch.maximum(torch.as_tensor(kg), torch.as_tensor(km)) / denom
            self.last_rate = rate * (self.u * ca + ea).sqrt() if flags["adadelta"] else rate
        if flags["adadelta"]:
            delta = numer.mul_((self.u * ca + ea).sqrt_()).div_(denom)
            self.u.mul_(au).addcmul_(bu, delta * delta)
            params.sub_(delta)
        else:
            params.addcdiv_(numer, denom, value=-1.0)
        self.t += 1
        self._lr_now = self._chunk_lr[k]
        if self._has_nadam:
            self._nadam_mu_product *= self._chunk_mu[k]
        self.last_grad = g

    @property
    def has_plateau(self) -> bool:
        return bool(self._plateau_lr)

    def observe_losses(self, losses) -> None:
        """Feed the plateau schedules this step's (or epoch's) loss per row."""
        if not self._plateau_lr:
            return
        changed = False
        for i in self._plateau_lr:
            value = float(losses[i])
            if not math.isfinite(value):
                continue
            lr = self._streams[i].observe(value)
            if lr != self._plateau_lr[i]:
                self._plateau_lr[i] = lr
                changed = True
        if changed:
            self._invalidate()

    # -- what the inspector shows -----------------------------------------------
    def current_lr(self) -> np.ndarray:
        """The learning rate each row used in its last step."""
        return np.asarray(self._lr_now, np.float64).copy()

    def torch_state(self, row: int) -> dict[str, np.ndarray]:
        """Row ``row``'s state under torch.optim's own names (momentum_buffer, exp_avg, ...)."""
        f = self.rows.family[row]
        m, v, u = (t[row].detach().cpu().numpy().copy() for t in (self.m, self.v, self.u))
        if f == "sgd":
            cycled = self.settings[row].schedule == "onecycle"  # one-cycle switches momentum on
            return {"momentum_buffer": m} if self.rows.momentum[row] or cycled else {}
        if f == "adagrad":
            return {"sum": v}
        if f == "rmsprop":
            return {"square_avg": v}
        if f == "adadelta":
            return {"square_avg": v, "acc_delta": u}
        if f == "adamax":
            return {"exp_avg": m, "exp_inf": np.sqrt(v)}
        return {"exp_avg": m, "exp_avg_sq": v}
