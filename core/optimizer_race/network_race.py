"""The optimizer race on a real network: the same MLP, the same initial weights and the
same batch order, trained by several optimizers side by side.

K copies of a small MLP live in one (K, D) parameter tensor; a forward and a
hand-written backward pass with batched matrix products serve all K at once (tested
against autograd), and :class:`core.optimizer_race.batched_optimizers.BatchedOptimizers` applies each copy's
own torch.optim update. Tiny networks are all per-op overhead, so this runs tens of
times faster than K modules with K optimizers in a Python loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
import torch

from core.datasets.points2d import DATASETS, make_dataset, split_train_test
from core.devices import torch_device
from core.engine import Diverged, Event, Finished, RunControl, Snapshot, Throttle, counts
from core.optimizer_race.batched_optimizers import BatchedOptimizers, OptimizerSetting

__all__ = [
    "NetRaceConfig",
    "BatchedMLP",
    "NetRace",
    "check_net_config",
    "loss_and_grad_out",
    "accuracy",
    "NetData",
    "load_net_data",
    "net_race_job",
    "ACTIVATIONS",
    "NET_DATASETS",
    "DEFAULT_NET_RACERS",
    "image_data_available",
]

ACTIVATIONS = {"tanh": "tanh", "relu": "ReLU", "sigmoid": "sigmoid", "linear": "linear"}
DEFAULT_NET_RACERS = tuple(
    OptimizerSetting(k) for k in ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "nadam")
)
IMAGE_SET = "image:shapes"


def image_data_available() -> bool:
    try:
        from core.datasets import images  # noqa: F401
    except ImportError:
        return False
    return hasattr(images, "builtin_dataset")


def _net_datasets() -> dict[str, str]:
    names = {k: v[0] for k, v in DATASETS.items()}
    if image_data_available():
        names[IMAGE_SET] = "Built-in shapes images (16×16, 8 classes)"
    return names


NET_DATASETS = _net_datasets()


@dataclass(frozen=True)
class NetRaceConfig:
    dataset: str = "circle"
    n_points: int = 500  # half for training: Playground's 250 training points
    noise: float = 0.0
    train_fraction: float = 0.5
    hidden: tuple[int, ...] = (4, 2)
    activation: str = "tanh"
    racers: tuple[OptimizerSetting, ...] = DEFAULT_NET_RACERS
    epochs: int = 200
    batch_size: int = 10
    seed: int = 0
    device: str = "cpu"


@dataclass(frozen=True)
class NetData:
    x_train: torch.Tensor
    y_train: torch.Tensor  # (n, 1) float targets (binary / regression) or (n,) int64 classes
    x_test: torch.Tensor
    y_test: torch.Tensor
    task: str  # "binary" | "multiclass" | "regression"
    n_out: int


def load_net_data(cfg: NetRaceConfig, device: torch.device, dtype=torch.float32) -> NetData:
    """The data set as tensors on the device; classes 0/1 become one sigmoid output."""
    if cfg.dataset == IMAGE_SET:
        return _image_data(cfg, device, dtype)
    ds = make_dataset(cfg.dataset, cfg.n_points, cfg.noise, cfg.seed)
    train, test = split_train_test(ds, cfg.train_fraction, cfg.seed)

    def targets(d):
        if d.task == "regression":
            return torch.as_tensor(d.y, dtype=dtype, device=device)[:, None]
        if d.n_classes == 2:
            return torch.as_tensor(d.y, dtype=dtype, device=device)[:, None]
        return torch.as_tensor(d.y, dtype=torch.int64, device=device)

    task = "regression" if ds.task == "regression" else ("binary" if ds.n_classes == 2 else "multiclass")
    # Playground feeds raw coordinates in [-6, 6]; scale them to about [-1, 1] as its inputs do.
    scale = 1 / 6
    return NetData(
        torch.as_tensor(train.X * scale, dtype=dtype, device=device), targets(train),
        torch.as_tensor(test.X * scale, dtype=dtype, device=device), targets(test),
        task, 1 if task != "multiclass" else ds.n_classes,
    )


def _image_data(cfg: NetRaceConfig, device, dtype) -> NetData:
    from core.datasets.images import builtin_dataset

    per_class = max(2, cfg.n_points // 8)
    images, labels, classes = builtin_dataset(per_class, 16, cfg.seed)
    x = images.reshape(len(images), -1).to(dtype)
    x = (x - x.mean()) / (x.std() + 1e-8)
    n_train = min(len(x) - 1, max(1, round(len(x) * cfg.train_fraction)))
    return NetData(x[:n_train].to(device), labels[:n_train].to(device), x[n_train:].to(device), labels[n_train:].to(device),
                   "multiclass", len(classes))


def check_net_config(cfg: NetRaceConfig) -> None:
    """ValueError with a readable reason for settings the race cannot run."""
    if cfg.dataset not in NET_DATASETS:
        raise ValueError(f"Unknown data set {cfg.dataset!r}; choose one of {', '.join(NET_DATASETS)}")
    if not cfg.racers:
        raise ValueError("Switch on at least one optimizer to race")
    if len(cfg.racers) > 64:
        raise ValueError("At most 64 optimizers can race at once")
    if cfg.activation not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {cfg.activation!r}; choose one of {', '.join(ACTIVATIONS)}")
    if len(cfg.hidden) > 6 or any(not 1 <= h <= 256 for h in cfg.hidden):
        raise ValueError("Use at most 6 hidden layers of 1 to 256 neurons each")
    if not 1 <= cfg.epochs <= 100_000:
        raise ValueError(f"Epochs must be between 1 and 100000, got {cfg.epochs}")
    if not 1 <= cfg.batch_size <= 100_000:
        raise ValueError(f"Batch size must be at least 1, got {cfg.batch_size}")
    for s in cfg.racers:
        s.validate()


class BatchedMLP:
    """K copies of one MLP as a flat (K, D) parameter tensor, with a hand-written backward."""

    def __init__(self, sizes: Sequence[int], activation: str, k: int, *, seed: int = 0,
                 dtype=torch.float32, device: torch.device | str = "cpu"):
        self.sizes = list(sizes)
        self.activation = activation
        self.k = k
        self.shapes = list(zip(self.sizes[:-1], self.sizes[1:]))
        self.n_params = sum(i * o + o for i, o in self.shapes)
        # One initialization (torch.nn.Linear's), copied to every racer: identical start.
        gen = torch.Generator().manual_seed(seed)
        flat = []
        for i, o in self.shapes:
            bound = 1 / math.sqrt(i)
            flat.append(torch.empty(i * o, dtype=torch.float64).uniform_(-bound, bound, generator=gen))
            flat.append(torch.empty(o, dtype=torch.float64).uniform_(-bound, bound, generator=gen))
        self.theta = torch.cat(flat).to(dtype).to(device).repeat(k, 1).contiguous()
        self.layers = self.views(self.theta)
        # Views made once (the optimizer updates theta in place): every op saved per step
        # counts when a step is a few dozen microseconds.
        self._bias_rows = [b.unsqueeze(1) for _, b in self.layers]
        self._w_t = [w.transpose(1, 2) for w, _ in self.layers]
        # backward() writes each layer's gradient straight into its slice of one buffer
        self._grad = torch.zeros_like(self.theta)
        self._grad_views = self.views(self._grad)

    def views(self, flat: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(W (K, in, out), b (K, out)) views into a flat (K, D) tensor."""
        out, o = [], 0
        k = flat.shape[0]
        for i, n in self.shapes:
            w = flat[:, o : o + i * n].view(k, i, n)
            o += i * n
            b = flat[:, o : o + n]
            o += n
            out.append((w, b))
        return out

    def _act(self, z):
        a = self.activation
        if a == "tanh":
            return torch.tanh(z)
        if a == "relu":
            return torch.relu(z)
        if a == "sigmoid":
            return torch.sigmoid(z)
        return z

    def _act_grad(self, d, h):
        # aten's fused backward ops: one call each instead of three Python-level ops
        a = self.activation
        if a == "tanh":
            return torch.ops.aten.tanh_backward(d, h)
        if a == "relu":
            return torch.ops.aten.threshold_backward(d, h, 0)
        if a == "sigmoid":
            return torch.ops.aten.sigmoid_backward(d, h)
        return d

    def forward(self, x: torch.Tensor, layers=None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Outputs (K, B, n_out) for inputs x (B, d) shared by all K, and the activations."""
        biases = self._bias_rows if layers is None else [b.unsqueeze(1) for _, b in layers]
        layers = layers or self.layers
        k = layers[0][0].shape[0]
        h = x.expand(k, *x.shape)
        acts = [h]
        last = len(layers) - 1
        for j, (w, _) in enumerate(layers):
            z = torch.baddbmm(biases[j], h, w)
            h = z if j == last else self._act(z)
            acts.append(h)
        return h, acts

    def backward(self, d_out: torch.Tensor, acts: list[torch.Tensor]) -> torch.Tensor:
        """Gradient (K, D) of the loss whose derivative by the outputs is ``d_out``.

        The result is a buffer reused by the next call: use it before calling again.
        """
        d = d_out
        for j in range(len(self.layers) - 1, -1, -1):
            h = acts[j]
            gw, gb = self._grad_views[j]
            torch.bmm(h.transpose(1, 2), d, out=gw)
            torch.sum(d, 1, out=gb)
            if j:
                d = self._act_grad(torch.bmm(d, self._w_t[j]), h)
        return self._grad


def grad_out(out: torch.Tensor, y: torch.Tensor, task: str) -> torch.Tensor:
    """d loss / d outputs of each model's mean loss (training needs no loss value)."""
    b = out.shape[1]
    if task == "binary":
        return torch.sigmoid(out).sub_(y).div_(b)
    if task == "regression":
        return torch.sub(out, y).mul_(2 / b)
    return loss_and_grad_out(out, y, task)[1]


def loss_and_grad_out(out: torch.Tensor, y: torch.Tensor, task: str):
    """Per-model mean loss (K,) and d loss / d outputs for each model's mean loss."""
    b = out.shape[1]
    if task == "binary":
        yk = y.expand(out.shape[0], *y.shape)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(out, yk, reduction="none").mean((1, 2))
        return loss, (torch.sigmoid(out) - yk) / b
    if task == "regression":
        diff = out - y
        return (diff * diff).mean((1, 2)), 2 * diff / b
    logp = torch.log_softmax(out, -1)
    idx = y.expand(out.shape[0], -1).unsqueeze(-1)
    loss = -logp.gather(-1, idx).squeeze(-1).mean(1)
    d = logp.exp()
    d.scatter_add_(-1, idx, -torch.ones_like(idx, dtype=d.dtype))
    return loss, d / b


def accuracy(out: torch.Tensor, y: torch.Tensor, task: str) -> torch.Tensor:
    """(K,) share of correct predictions; for regression 1 − normalized squared error."""
    if task == "binary":
        return ((out > 0).to(out.dtype) == y).to(out.dtype).mean((1, 2))
    if task == "multiclass":
        return (out.argmax(-1) == y).to(out.dtype).mean(1)
    err = ((out - y) ** 2).mean((1, 2))
    return 1 - err / (y.var() + 1e-12)


class NetRace:
    """The batched training of K copies: one :meth:`epoch` at a time."""

    def __init__(self, cfg: NetRaceConfig, *, dtype=torch.float32):
        check_net_config(cfg)
        self.cfg = cfg
        self.device = torch_device(cfg.device)
        self.data = load_net_data(cfg, self.device, dtype)
        n_in = self.data.x_train.shape[1]
        k = len(cfg.racers)
        self.model = BatchedMLP([n_in, *cfg.hidden, self.data.n_out], cfg.activation, k, seed=cfg.seed,
                                dtype=dtype, device=self.device)
        n_train = len(self.data.x_train)
        self.batch = min(cfg.batch_size, n_train)
        self.steps_per_epoch = math.ceil(n_train / self.batch)
        self.opt = BatchedOptimizers(cfg.racers, self.model.n_params, cfg.epochs * self.steps_per_epoch,
                                     dtype=dtype, device=self.device)
        self.gen = torch.Generator().manual_seed(cfg.seed + 1)  # one batch order for every racer
        self.epochs_done = 0
        self.alive = np.ones(k, bool)

    def epoch(self) -> dict[str, np.ndarray]:
        """Train every copy for one epoch; returns the full-set metrics after it.

        The training loss also goes to the racers' plateau schedules: ReduceLROnPlateau
        counts its patience in epochs of this loss, as in a torch training loop."""
        self.train_epoch()
        metrics = self.evaluate()
        if self.opt.has_plateau:
            self.opt.observe_losses(metrics["train_loss"])
        return metrics

    def train_epoch(self) -> None:
        """One pass over the training data in the shared batch order (no metrics, no
        plateau schedule: :meth:`epoch` is the whole epoch)."""
        d = self.data
        perm = torch.randperm(len(d.x_train), generator=self.gen).to(self.device)
        xs, ys = d.x_train[perm], d.y_train[perm]
        model, task, step = self.model, d.task, self.opt.step
        with torch.no_grad():
            for s in range(0, len(xs), self.batch):
                out, acts = model.forward(xs[s : s + self.batch])
                step(model.theta, model.backward(grad_out(out, ys[s : s + self.batch], task), acts))
        self.epochs_done += 1

    @torch.no_grad()
    def evaluate(self) -> dict[str, np.ndarray]:
        d = self.data
        out_tr, _ = self.model.forward(d.x_train)
        out_te, _ = self.model.forward(d.x_test)
        train_loss, _ = loss_and_grad_out(out_tr, d.y_train, d.task)
        test_loss, _ = loss_and_grad_out(out_te, d.y_test, d.task)
        vals = torch.stack([train_loss, test_loss, accuracy(out_tr, d.y_train, d.task), accuracy(out_te, d.y_test, d.task)])
        arr = vals.cpu().numpy().astype(np.float64)
        return {"train_loss": arr[0], "test_loss": arr[1], "train_acc": arr[2], "test_acc": arr[3]}


@counts("epochs")
def net_race_job(cfg: NetRaceConfig, ctl: RunControl) -> Iterator[Event]:
    """Per-epoch curves of every racer, in chunks at most ~30 a second."""
    race = NetRace(cfg)
    names = [s.name for s in cfg.racers]
    throttle = Throttle(30)
    pending: list[tuple[int, dict]] = []
    yield Snapshot(0, "net_start", {"names": names, "steps_per_epoch": race.steps_per_epoch,
                                    "n_params": race.model.n_params, "task": race.data.task})
    for e in range(1, cfg.epochs + 1):
        ctl.checkpoint()
        metrics = race.epoch()
        bad = ~np.isfinite(metrics["train_loss"]) & race.alive
        for i in np.nonzero(bad)[0]:
            race.alive[i] = False
            yield Diverged(e, f"{names[i]} diverged at epoch {e}", series=names[i])
        for key in metrics:
            metrics[key] = np.where(race.alive, metrics[key], np.nan)
        pending.append((e, metrics))
        if throttle.due() or e == cfg.epochs or ctl.paused:
            yield _chunk(pending, race.alive)
            pending = []
        if not race.alive.any():
            break
    if pending:
        yield _chunk(pending, race.alive)
    final = race.evaluate()
    board = sorted(
        ({"name": n, "test_acc": float(final["test_acc"][i]) if race.alive[i] else math.nan,
          "test_loss": float(final["test_loss"][i]) if race.alive[i] else math.nan, "alive": bool(race.alive[i])}
         for i, n in enumerate(names)),
        key=lambda r: (not r["alive"], -(r["test_acc"] if r["alive"] else 0), r["test_loss"] if r["alive"] else 0),
    )
    yield Finished({"leaderboard": board, "epochs": race.epochs_done})


def _chunk(pending, alive) -> Snapshot:
    epochs = np.array([e for e, _ in pending])
    data = {key: np.stack([m[key] for _, m in pending]) for key in pending[0][1]}
    data["epochs"] = epochs
    data["alive"] = alive.copy()
    return Snapshot(int(epochs[-1]), "net_race", data)
