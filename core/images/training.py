"""Training an image classifier as an engine job: curves, confusion, predictions, filters.

``train_images(cfg, ctl)`` prepares the data (tensors in memory, on the job's device),
builds the layer stack, and trains with mini-batches drawn by indexing those tensors —
no DataLoader, no worker processes, so the loop costs what a plain torch loop costs.

Events:
* ``Snapshot("data")`` once: classes, shapes, normalization, the validation images of
  the prediction grid (in [0, 1] for display).
* ``History`` chunks of per-step ``train_loss`` / ``train_acc``.
* ``Metrics`` at each evaluation: ``val_loss``, ``val_acc``, ``images_per_s``,
  ``epoch_time_s``, ``lr``, ``epoch``.
* ``Snapshot("eval")``: confusion matrix, per-class accuracy, grid predictions and
  probabilities, first-layer filters, and (at most once a second, and at the end) the
  weights as numpy arrays so the GUI can rebuild the model for feature maps and export.
* ``Diverged`` when the loss is NaN/Inf; ``Finished`` with the final numbers.
"""

from __future__ import annotations

import inspect
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.datasets.images import DataConfig, PreparedData, prepare
from core.devices import available_memory, is_out_of_memory, torch_device
from core.engine import Diverged, Event, Finished, Message, Metrics, MetricsBuffer, RunControl, Snapshot, Throttle, counts, to_numpy
from core.images.models import StackReport, build_model, infer_stack, layer_label, normalize_layer, torchvision_model
from core.optimizers import OPTIMIZERS, SCHEDULES, make_optimizer, make_scheduler

__all__ = [
    "ImageTrainConfig",
    "train_images",
    "model_spec",
    "model_from_spec",
    "feature_maps",
    "class_probabilities",
    "first_layer_filters",
    "load_state",
    "estimate_training_bytes",
    "check_memory",
]

SPEC_KIND = "dllab-image-classifier"


@dataclass(frozen=True)
class ImageTrainConfig:
    data: DataConfig = field(default_factory=DataConfig)
    layers_json: str = "[]"  # the layer stack as JSON text (keeps the config frozen)
    optimizer: str = "adam"
    lr: float = 0.001
    batch_size: int = 64
    epochs: int = 5
    max_steps: int = 0  # stop after this many steps (0 = epochs decide)
    regularization: str = "none"  # "none" | "l1" | "l2", a penalty on the weights added to the loss
    reg_rate: float = 0.0
    weight_decay: float = 0.0
    schedule: str = "none"
    patience: int = 0  # early stopping: epochs without a better validation loss; 0 = off
    seed: int = 0
    device: str = "cpu"
    evals_per_epoch: int = 2
    live_val_limit: int = 2000  # validation images used by the evaluations during training
    grid_size: int = 64  # validation images shown in the prediction grid
    augment_json: str = ""  # an augmentation spec from the augmentation lab, or ""

    @property
    def layers(self) -> list[dict]:
        return json.loads(self.layers_json)

    def validate(self) -> None:
        self.data.validate()
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"Unknown optimizer {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"Unknown schedule {self.schedule!r}")
        if self.regularization not in ("none", "l1", "l2"):
            raise ValueError(f"Unknown regularization {self.regularization!r}; choose none, l1 or l2")
        if not 1 <= self.batch_size <= 65536:
            raise ValueError(f"Batch size must be between 1 and 65536, got {self.batch_size}")
        if not 1 <= self.epochs <= 10000:
            raise ValueError(f"Epochs must be between 1 and 10000, got {self.epochs}")
        if not (0 < self.lr < 1000):
            raise ValueError(f"The learning rate must be positive and below 1000, got {self.lr}")
        if self.reg_rate < 0 or self.weight_decay < 0:
            raise ValueError("Regularization rate and weight decay cannot be negative")
        for i, layer in enumerate(self.layers):
            normalize_layer(layer, i)


def model_spec(layers: list[dict], data: PreparedData) -> dict:
    """The JSON spec that rebuilds the model (with what inputs it expects)."""
    return {
        "kind": SPEC_KIND,
        "layers": [normalize_layer(layer, i) for i, layer in enumerate(layers)],
        "input_shape": list(data.input_shape),
        "classes": list(data.classes),
        "mean": list(data.mean),
        "std": list(data.std),
    }


MAX_IMAGE_SIDE = 4096


def check_spec(spec: Any) -> None:
    """ValueError naming the field when a spec (from a file: anything) is not one of ours."""
    if not isinstance(spec, dict) or spec.get("kind") != SPEC_KIND:
        raise ValueError("This model was not made by the image-network lab")
    missing = [k for k in ("layers", "input_shape", "classes") if k not in spec]
    if missing:
        raise ValueError(f"The image-model spec lacks {', '.join(missing)}")
    shape = spec["input_shape"]
    if not (isinstance(shape, list) and len(shape) == 3 and all(type(v) is int for v in shape)
            and 1 <= shape[0] <= 4 and all(1 <= v <= MAX_IMAGE_SIDE for v in shape[1:])):
        raise ValueError(f"input_shape must be [channels 1–4, height, width 1–{MAX_IMAGE_SIDE}], got {shape!r}")
    classes = spec["classes"]
    if not (isinstance(classes, list) and len(classes) >= 2 and all(isinstance(c, str) for c in classes)):
        raise ValueError("classes must be a list of at least two class names")
    if len(set(classes)) != len(classes):
        raise ValueError("classes must name each class once")
    if not isinstance(spec["layers"], list):
        raise ValueError("layers must be a list of layers")
    for key in ("mean", "std"):
        values = spec.get(key, [0.0] * shape[0] if key == "mean" else [1.0] * shape[0])
        if not (isinstance(values, list) and len(values) == shape[0]
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values)):
            raise ValueError(f"{key} must hold one finite number per channel ({shape[0]})")
        if key == "std" and min(values) <= 0:
            raise ValueError("std must be positive")


def model_from_spec(spec: dict) -> nn.Module:
    """The untrained model an image-model spec describes; ValueError for any bad spec."""
    check_spec(spec)
    try:
        return build_model(spec["layers"], spec["input_shape"], len(spec["classes"]))
    except (KeyError, TypeError, AttributeError, OverflowError) as exc:
        raise ValueError(f"The image-model spec is incomplete ({type(exc).__name__}: {exc})") from None


def load_state(model: nn.Module, state: dict) -> nn.Module:
    model.load_state_dict({k: torch.as_tensor(np.asarray(v)) for k, v in state.items()})
    return model


def _script_source(spec: dict) -> str:
    """Stand-alone source for an archive's rebuild.py: the model from spec.json with torch
    alone (torchvision too for its architectures), ready for state_dict.pt."""
    layers = [normalize_layer(layer, i) for i, layer in enumerate(spec["layers"])]
    if layers and layers[0]["type"] == "torchvision":
        return (
            "from typing import Sequence\n\n\n"
            + inspect.getsource(torchvision_model)
            + "\n\ndef build_model(spec):\n"
            + "    return torchvision_model(spec[\"layers\"][0][\"arch\"], spec[\"input_shape\"], len(spec[\"classes\"]))\n"
        )
    # Every module's repr is its constructor call with every argument, so the exact stack
    # can be written out; the archive's state_dict then fills in the weights.
    lines = ",\n        ".join(f"nn.{m!r}" for m in model_from_spec(spec))
    return "def build_model(spec):\n    return nn.Sequential(\n        " + lines + ",\n    )\n"


def _register_model_kind() -> None:
    from core.model_io import register_model_kind

    register_model_kind(
        SPEC_KIND, model_from_spec, script_source=_script_source, example_input=lambda spec: torch.zeros(1, *spec["input_shape"])
    )


_register_model_kind()


# -- what the views show -----------------------------------------------------------------


def first_layer_filters(model: nn.Module, input_shape, max_filters: int = 64) -> np.ndarray | None:
    """The first weighted layer's weights as images (F×C×k×k), or None.

    For a convolution these are its kernels; for an MLP (Flatten then Linear) each
    hidden unit's weights, reshaped to the input image, are its "filter".
    """
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return to_numpy(m.weight[:max_filters])
        if isinstance(m, nn.Linear):
            w = m.weight[:max_filters]
            if w.shape[1] == int(np.prod(input_shape)):
                return to_numpy(w.reshape(-1, *input_shape))
            return None
    return None


@torch.no_grad()
def feature_maps(model: nn.Module, image: torch.Tensor, max_channels: int = 32) -> list[tuple[int, str, np.ndarray]]:
    """Outputs of each layer of a stack that still has image shape, for one image (C×H×W).

    For other models (torchvision architectures) the outputs of their convolutions,
    caught with forward hooks.
    """
    if not isinstance(model, nn.Sequential):
        return _conv_outputs(model, image, max_channels)
    was = model.training
    model.eval()
    out = []
    x = image.unsqueeze(0)
    try:
        for i, m in enumerate(model):
            x = m(x)
            if x.dim() == 4:
                out.append((i, _module_label(m), to_numpy(x[0, :max_channels])))
    finally:
        model.train(was)
    return out


def _conv_outputs(model: nn.Module, image: torch.Tensor, max_channels: int, max_layers: int = 24):
    convs = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Conv2d)][:max_layers]
    out: list[tuple[int, str, np.ndarray]] = []
    hooks = [
        m.register_forward_hook(lambda _m, _inp, y, i=i, name=name: out.append((i, f"{name} ({_module_label(_m)})", to_numpy(y[0, :max_channels]))))
        for i, (name, m) in enumerate(convs)
    ]
    was = model.training
    model.eval()
    try:
        model(image.unsqueeze(0))
    finally:
        model.train(was)
        for h in hooks:
            h.remove()
    return out


def _module_label(m: nn.Module) -> str:
    if isinstance(m, nn.Conv2d):
        return f"Conv2d {m.out_channels} × {m.kernel_size[0]}×{m.kernel_size[1]}"
    return type(m).__name__


@torch.no_grad()
def class_probabilities(model: nn.Module, image: torch.Tensor) -> np.ndarray:
    was = model.training
    model.eval()
    try:
        return to_numpy(torch.softmax(model(image.unsqueeze(0)), 1)[0])
    finally:
        model.train(was)


# -- the job ---------------------------------------------------------------------------


def _augmenter(cfg: ImageTrainConfig, data: PreparedData, device):
    """A function batch -> augmented batch (per image, in [0, 1] space), or None."""
    if not cfg.augment_json:
        return None
    from core.transforms import build_pipeline, normalize_spec

    pipeline = build_pipeline(normalize_spec(json.loads(cfg.augment_json)))
    mean = torch.tensor(data.mean, device=device).view(1, -1, 1, 1)
    std = torch.tensor(data.std, device=device).view(1, -1, 1, 1)

    def augment(xb: torch.Tensor) -> torch.Tensor:
        raw = (xb * std + mean).clamp_(0, 1)
        out = torch.stack([pipeline(img) for img in raw])
        if out.shape != raw.shape:
            raise ValueError(
                f"The augmentation pipeline turns {tuple(raw.shape[1:])} images into {tuple(out.shape[1:])}; "
                "the network needs the size unchanged (crop to the same size)"
            )
        return (out.to(raw.dtype) - mean) / std

    try:  # fail now, before training, when it cannot work
        augment(data.x_train[:2].to(device))
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. a transform that needs uint8 images
        raise ValueError(f"The augmentation pipeline cannot run on these images: {exc}") from None
    return augment


def _penalty(model: nn.Module, kind: str):
    weights = [p for p in model.parameters() if p.dim() > 1]
    if kind == "l1":
        return lambda: sum(w.abs().sum() for w in weights)
    return lambda: sum((w * w).sum() for w in weights)


@torch.no_grad()
def _evaluate(model, x, y, n_classes, batch=1024):
    model.eval()
    loss_sum, confusion = 0.0, torch.zeros(n_classes * n_classes, dtype=torch.int64, device=x.device)
    for i in range(0, len(x), batch):
        logits = model(x[i : i + batch])
        yb = y[i : i + batch]
        loss_sum += float(F.cross_entropy(logits, yb, reduction="sum"))
        confusion += torch.bincount(yb * n_classes + logits.argmax(1), minlength=n_classes * n_classes)
    model.train()
    confusion = confusion.view(n_classes, n_classes).cpu().numpy()
    return loss_sum / len(x), confusion


def _state_numpy(model: nn.Module) -> dict[str, np.ndarray]:
    return {k: to_numpy(v) for k, v in model.state_dict().items()}


# Optimizer state per parameter, in copies of the weights (Adam keeps two moments).
_STATE_COPIES = {"sgd": 0, "momentum": 1, "nesterov": 1, "adagrad": 1, "rmsprop": 1, "adadelta": 2}


def estimate_training_bytes(report: StackReport, optimizer: str, batch_size: int, data_bytes: int = 0) -> int:
    """Memory a training run needs, in bytes (float32), before anything is allocated.

    Weights, their gradients and the optimizer's state, plus every layer's output kept for
    the backward pass and its gradient, for one batch; ``data_bytes`` for data kept on the
    device. An estimate: allocator slack and library workspaces come on top."""
    copies = 2 + _STATE_COPIES.get(optimizer, 2)
    activations = sum(math.prod(r.out_shape) for r in report.rows if r.out_shape)
    return 4 * (copies * report.total_params + 2 * batch_size * activations) + int(data_bytes)


def check_memory(report: StackReport, cfg: "ImageTrainConfig", data_bytes: int = 0) -> None:
    """ValueError with the estimate when the device cannot hold the run (None where it can,
    or where the device does not say how much it has)."""
    need = estimate_training_bytes(report, cfg.optimizer, cfg.batch_size, data_bytes)
    have = available_memory(cfg.device)
    if have is not None and need > have:
        raise ValueError(
            f"This network needs about {need / 2**30:.1f} GiB to train ({report.total_params:,} parameters, "
            f"{OPTIMIZERS[cfg.optimizer].label} state and batch {cfg.batch_size}), but {cfg.device} has "
            f"{have / 2**30:.1f} GiB available: use fewer or narrower layers, or a smaller batch."
        )


@counts("iterations")
def train_images(cfg: ImageTrainConfig, ctl: RunControl) -> Iterator[Event]:
    cfg.validate()
    device = torch_device(cfg.device)
    yield Message("Preparing the data…")
    data = prepare(cfg.data, ctl.checkpoint)
    n_classes = len(data.classes)
    report = infer_stack(cfg.layers, data.input_shape, n_classes)
    if not report.ok:
        raise ValueError(report.error)
    data_bytes = sum(t.numel() * t.element_size() for t in (data.x_train, data.x_val)) if device.type != "cpu" else 0
    check_memory(report, cfg, data_bytes)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.layers, data.input_shape, n_classes).to(device)
    try:
        yield from _train(cfg, ctl, data, model, device, report.total_params)
    except RuntimeError as exc:  # torch.OutOfMemoryError on a GPU; a plain RuntimeError on the CPU
        if not is_out_of_memory(exc):
            raise
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()
        where = "or run on the CPU" if device.type != "cpu" else "or use a smaller subset"
        raise RuntimeError(
            f"Out of memory on {cfg.device} with batch size {cfg.batch_size}: lower the batch size "
            f"(or the network's size), {where}."
        ) from None


def _train(cfg: ImageTrainConfig, ctl: RunControl, data: PreparedData, model: nn.Module, device, n_params: int) -> Iterator[Event]:
    n_classes = len(data.classes)
    x_train, y_train = data.x_train.to(device), data.y_train.to(device)
    live_val = min(len(data.y_val), cfg.live_val_limit)
    x_val, y_val = data.x_val.to(device), data.y_val.to(device)
    grid = min(cfg.grid_size, len(data.y_val))
    grid_x = x_val[:grid]
    augment = _augmenter(cfg, data, device)

    n = len(y_train)
    batch = min(cfg.batch_size, n)
    steps_per_epoch = max(1, n // batch)  # the last partial batch is dropped (BatchNorm needs ≥ 2)
    total = steps_per_epoch * cfg.epochs
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    eval_every = max(1, steps_per_epoch // max(1, cfg.evals_per_epoch))

    opt = make_optimizer(cfg.optimizer, model.parameters(), cfg.lr, weight_decay=cfg.weight_decay)
    sched = make_scheduler(cfg.schedule, opt, total)
    penalty = _penalty(model, cfg.regularization) if cfg.regularization != "none" and cfg.reg_rate > 0 else None

    yield Snapshot(0, "data", {
        "classes": list(data.classes),
        "input_shape": data.input_shape,
        "mean": data.mean,
        "std": data.std,
        "description": data.description,
        "skipped": len(data.skipped),
        "grid_images": to_numpy(data.denormalize(data.x_val[:grid])),
        "grid_labels": to_numpy(data.y_val[:grid]),
        "n_train": n,
        "n_val": len(data.y_val),
        "steps_per_epoch": steps_per_epoch,
        "total_steps": total,
        "params": n_params,
    })

    gen = torch.Generator(device="cpu").manual_seed(cfg.seed)
    buffer, throttle, weights_throttle = MetricsBuffer(), Throttle(20), Throttle(1)
    losses: list[torch.Tensor] = []
    corrects: list[torch.Tensor] = []
    best_loss, best_state, since_best, best_acc = math.inf, None, 0, 0.0
    train_time, images_since, t_mark = 0.0, 0, time.perf_counter()
    step, stop_reason = 0, ""
    perm = None
    model.train()
    while step < total and not stop_reason:
        epoch_step = step % steps_per_epoch
        if epoch_step == 0:
            perm = torch.randperm(n, generator=gen).to(device)
        ctl.checkpoint()
        idx = perm[epoch_step * batch : (epoch_step + 1) * batch]
        xb, yb = x_train[idx], y_train[idx]
        if augment is not None:
            xb = augment(xb)
        logits = model(xb)
        loss = F.cross_entropy(logits, yb)
        total_loss = loss + cfg.reg_rate * penalty() if penalty is not None else loss
        opt.zero_grad(set_to_none=True)
        total_loss.backward()
        opt.step()
        if sched is not None and cfg.schedule != "plateau":
            sched.step()
        step += 1
        images_since += batch
        # Keep the numbers on the device; read them in chunks (no sync per step).
        losses.append(total_loss.detach())
        corrects.append((logits.argmax(1) == yb).sum())

        eval_due = step % eval_every == 0 or step == total
        if eval_due or throttle.due():
            if _flush(buffer, losses, corrects, step, batch):
                yield Diverged(step, "the training loss became NaN or infinite — lower the learning rate")
                return
            ev = buffer.flush()
            if ev is not None:
                yield ev
        if not eval_due:
            continue
        now = time.perf_counter()
        train_time += now - t_mark
        final = step == total
        vx, vy = (x_val, y_val) if final else (x_val[:live_val], y_val[:live_val])
        val_loss, confusion = _evaluate(model, vx, vy, n_classes)
        val_acc = float(np.trace(confusion) / max(1, confusion.sum()))
        best_acc = max(best_acc, val_acc)
        if sched is not None and cfg.schedule == "plateau":
            sched.step(val_loss)
        yield Metrics(step, {
            "val_loss": val_loss,
            "val_acc": val_acc,
            "images_per_s": images_since / max(1e-9, now - t_mark),
            "epoch_time_s": steps_per_epoch * train_time / step,
            "lr": opt.param_groups[0]["lr"],
            "epoch": step / steps_per_epoch,
        })
        if not math.isfinite(val_loss):
            yield Diverged(step, "the validation loss became NaN or infinite — lower the learning rate")
            return
        if val_loss < best_loss - 1e-6:
            best_loss, since_best = val_loss, 0
            if cfg.patience:
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            since_best += 1
            if cfg.patience and since_best >= cfg.patience * max(1, cfg.evals_per_epoch):
                stop_reason = f"no better validation loss for {cfg.patience} epoch(s)"
                model.load_state_dict(best_state)
                val_loss, confusion = _evaluate(model, x_val, y_val, n_classes)
                final = True
        yield _eval_snapshot(step, model, data, grid_x, confusion, final or weights_throttle.due())
        images_since, t_mark = 0, time.perf_counter()
    if stop_reason:
        yield Message(f"Stopped early at step {step}: {stop_reason}; the best weights were restored.")
    yield Finished({
        "steps": step,
        "epochs": step / steps_per_epoch,
        "best_val_acc": best_acc,
        "val_loss": val_loss,
        "val_acc": float(np.trace(confusion) / max(1, confusion.sum())),
        "stopped_early": bool(stop_reason),
        "params": n_params,
        "layers": [layer_label(normalize_layer(layer, i)) for i, layer in enumerate(cfg.layers)],
        "spec": model_spec(cfg.layers, data),
        "state": _state_numpy(model),
    })


def _flush(buffer: MetricsBuffer, losses: list, corrects: list, step: int, batch: int) -> bool:
    """Move the chunk of per-step numbers into the buffer; True when a loss is not finite."""
    if not losses:
        return False
    values = torch.stack(losses).cpu().numpy()
    accs = torch.stack(corrects).cpu().numpy() / batch
    first = step - len(values) + 1
    for i, (lv, av) in enumerate(zip(values, accs)):
        buffer.add(first + i, train_loss=float(lv), train_acc=float(av))
    losses.clear()
    corrects.clear()
    return not np.isfinite(values).all()


def _eval_snapshot(step, model, data, grid_x, confusion, with_weights: bool) -> Snapshot:
    with torch.no_grad():
        model.eval()
        grid_pred = model(grid_x).argmax(1)
        model.train()
    per_class = confusion.diagonal() / np.maximum(1, confusion.sum(1))
    payload = {
        "confusion": confusion,
        "per_class_acc": per_class,
        "grid_pred": to_numpy(grid_pred),
        "filters": first_layer_filters(model, data.input_shape),
    }
    if with_weights:
        payload["state"] = _state_numpy(model)
    return Snapshot(step, "eval", payload)
