"""Every preset's title and description is a claim, and each is checked here.

A preset is an experiment a lecturer loads in front of a class: if its text says "the
loss explodes" or "a quarter of the ReLU units die", the run must show it. ``CLAIMS``
holds, for every preset under assets/presets, the claim in words and a check of the
events its job yields (and, where the claim is about the screen, of what the tab shows).
Thresholds come from measured values with a margin; every job is seeded.

A few presets are checked on a shorter run (``state`` overrides, e.g. fewer epochs):
the seeds are the same, so the shorter run is the first part of the shipped one, and the
claim is one that is already visible by then. Claims that need minutes of convolutional
training are ``slow``: they run only with DLLAB_SLOW_CLAIMS=1 (the suite's time budget);
their cheap, structural part (parameter counts, shapes) runs always (all of them pass:
about 90 s on two idle cores).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.engine import Diverged, Event, Finished, History, Metrics, Snapshot
from lab.experiments import PRESETS_DIR, load_experiment

SLOW = os.environ.get("DLLAB_SLOW_CLAIMS") == "1"


# -- a recorded run ---------------------------------------------------------------------
@dataclass
class Run:
    """The events of one preset's job, and the tab that showed them."""

    tab: Any
    events: list[Event]

    def snapshots(self, kind: str) -> list[dict]:
        return [e.data for e in self.events if isinstance(e, Snapshot) and e.kind == kind]

    def last(self, kind: str) -> dict:
        found = self.snapshots(kind)
        assert found, f"no {kind!r} snapshot"
        return found[-1]

    def history(self, series: str = "") -> dict[str, np.ndarray]:
        """History chunks of one series joined: 'step' and one array per value."""
        out: dict[str, list] = {}
        for e in self.events:
            if isinstance(e, History) and e.series == series:
                out.setdefault("step", []).extend(np.asarray(e.steps).tolist())
                for k, v in e.values.items():
                    out.setdefault(k, []).extend(np.asarray(v).tolist())
        assert out, f"no history for series {series!r}"
        return {k: np.asarray(v, float) for k, v in out.items()}

    def metrics(self, series: str = "") -> dict[str, np.ndarray]:
        rows = [e.values for e in self.events if isinstance(e, Metrics) and e.series == series]
        return {k: np.asarray([r[k] for r in rows], float) for k in rows[0]} if rows else {}

    @property
    def finished(self) -> dict:
        done = [e for e in self.events if isinstance(e, Finished)]
        assert done, "the job never finished"
        return dict(done[-1].summary)

    @property
    def diverged(self) -> list[Diverged]:
        return [e for e in self.events if isinstance(e, Diverged)]


@dataclass(frozen=True)
class Claim:
    says: str
    check: Callable[[Run], None]
    state: dict = field(default_factory=dict)  # merged into the preset's state: a shorter run of the same seed
    slow: bool = False  # minutes of training: DLLAB_SLOW_CLAIMS=1 only
    quick: Callable[[Run], None] | None = None  # for a slow claim, the part checked always on a one-step run


def merged(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = merged(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


# -- helpers for the checks ---------------------------------------------------------------
def span(log10: np.ndarray) -> float:
    return float(np.max(log10) - np.min(log10))


def by_scheme(run: Run) -> dict[str, dict]:
    return {d["scheme"]: d for d in run.snapshots("layers")}


def race(run: Run) -> tuple[list[str], dict[str, np.ndarray]]:
    """The surface race: racer names and the chunks joined (per step, per racer)."""
    names = run.last("race_start")["names"]
    chunks = run.snapshots("race")
    joined = {k: np.concatenate([c[k] for c in chunks]) for k in ("gap", "effective_lr", "step_size")}
    joined["diverged_at"], joined["escaped_at"] = chunks[-1]["diverged_at"], chunks[-1]["escaped_at"]
    return names, joined


def board(run: Run) -> dict[str, dict]:
    return {row["name"]: row for row in run.finished["leaderboard"]}


def draws(run: Run) -> list[dict]:
    return [d for snap in run.snapshots("draws") for d in snap["draws"]]


def steps_of(run: Run):
    return run.last("steps")["steps"]


def torch_forward(steps) -> np.ndarray:
    spec = steps.spec
    x = torch.tensor(spec.x, dtype=torch.float64)[None]
    if spec.op == "maxpool":
        return F.max_pool2d(x, spec.kernel_size, spec.stride, spec.padding, spec.dilation)[0].numpy()
    w = torch.tensor(np.asarray(spec.weight, float))
    b = torch.tensor(spec.bias_or_zeros())
    if spec.op == "transposed":
        return F.conv_transpose2d(x, w, b, spec.stride, spec.padding, dilation=spec.dilation)[0].numpy()
    return F.conv2d(x, w, b, spec.stride, spec.padding, spec.dilation)[0].numpy()


def out_hw(run: Run) -> tuple[int, int]:
    return steps_of(run).out_hw


def net(run: Run) -> dict[str, np.ndarray]:
    return run.history()


def first_epoch(values: np.ndarray, epochs: np.ndarray, at_least: float) -> float:
    hit = np.flatnonzero(values >= at_least)
    return float(epochs[hit[0]]) if hit.size else math.inf


def image_data(run: Run) -> dict:
    return run.last("data")


def image_curves(run: Run) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(epoch, train accuracy over the epoch before, validation accuracy) at each evaluation."""
    h, m = run.history(), run.metrics()
    steps_per_epoch = image_data(run)["steps_per_epoch"]
    train = []
    for ep in m["epoch"]:
        hi = ep * steps_per_epoch
        window = (h["step"] > hi - steps_per_epoch) & (h["step"] <= hi)
        train.append(h["train_acc"][window].mean())
    return m["epoch"], np.asarray(train), m["val_acc"]


# -- the checks, one per preset -------------------------------------------------------------
def dead_relu(run: Run) -> None:
    relu = run.history("relu")
    late = relu["step"] >= 100
    assert relu["dead"][late].min() >= 0.2, "a quarter of the ReLUs die and stay dead"
    for other in ("leaky_relu", "elu"):
        assert run.history(other)["dead"][-1] <= 0.1, other
    assert relu["accuracy"][-1] >= 0.9 and relu["dead"][0] <= 0.1  # it is the rate that kills them, not the init


def dead_relu_negative_bias(run: Run) -> None:
    relu, leaky, elu = (run.history(a) for a in ("relu", "leaky_relu", "elu"))
    assert relu["dead"][0] >= 0.7 and relu["dead"].min() >= 0.7, "most ReLUs start dead and stay so"
    assert relu["accuracy"].max() <= 0.55, "the ReLU network cannot learn (chance on two classes)"
    assert leaky["accuracy"][-1] >= 0.75 and elu["accuracy"][-1] >= 0.95, "Leaky ReLU and ELU still learn"


def depth_50(run: Run) -> None:
    norms = run.last("depth")["log10_norms"]
    assert set(norms) == {"sigmoid", "tanh", "relu", "gelu"} and all(len(v) == 50 for v in norms.values())
    assert span(norms["sigmoid"]) > 20, "one init for all: sigmoid loses tens of orders of magnitude"
    assert span(norms["tanh"]) < 1 and span(norms["relu"]) < 1


def depth_20(run: Run) -> None:
    norms = run.last("depth")["log10_norms"]
    assert all(len(v) == 20 for v in norms.values())
    assert span(norms["sigmoid"]) > 8, "sigmoid loses many orders of magnitude"
    assert span(norms["relu"]) < 1, "ReLU (Kaiming) keeps it"


def zero_centred(run: Run) -> None:
    paths = run.last("paths")
    assert paths["same_sign_fraction"]["positive"] == 1.0, "all-positive inputs: every update in one quadrant"
    assert paths["same_sign_fraction"]["centred"] <= 0.7


def cutmix(run: Run) -> None:
    mix = run.last("mix")
    assert mix["kind"] == "cutmix"
    top, left, bottom, right = mix["params"]["box"]
    h, w = mix["images"][0].shape[:2]
    area = (bottom - top) * (right - left) / (h * w)
    assert 0.1 < area < 0.9
    np.testing.assert_allclose(mix["soft_labels"].sum(1), 1.0)
    assert sorted(mix["soft_labels"][0][mix["soft_labels"][0] > 0]) == pytest.approx(sorted([area, 1 - area]), abs=1e-3)


def cutout(run: Run) -> None:
    ds = draws(run)
    assert len(ds) == 16
    for d in ds:
        m = re.search(r"h=(\d+), w=(\d+), v=0", " ".join(d["params"]))
        assert m, d["params"]
        erased = int(m[1]) * int(m[2]) / (d["image"].shape[0] * d["image"].shape[1])
        assert 0.05 - 1e-3 <= erased <= 0.25 + 1e-3
        black = (d["image"] == 0).all(-1).mean()
        assert black >= 0.9 * erased, "a black rectangle hides part of the image"
    assert run.last("sweep")["label"] == "area"


def label_breaking(run: Run) -> None:
    turned = 0
    for d in draws(run):
        text = " ".join(d["params"])
        flipped = "Vertical flip: applied" in text
        angle = float(re.search(r"angle=(-?[\d.]+)", text)[1])
        turned += flipped != (abs(angle) > 90)  # upside down by a flip or by a turn past 90°, not both
    assert turned >= 5, f"about half of the 16 draws of the 6 are upside down (a 9): {turned}"


def label_preserving(run: Run) -> None:
    for d in draws(run):
        text = " ".join(d["params"])
        angle = float(re.search(r"angle=(-?[\d.e-]+)", text)[1])
        tx, ty = (int(v) for v in re.search(r"translate=\((-?\d+), (-?\d+)\)", text).groups())
        scale = float(re.search(r"scale=([\d.]+)", text)[1])
        assert abs(angle) <= 10 and abs(tx) <= 5 and abs(ty) <= 5 and 0.9 <= scale <= 1.1, text


def label_smoothing(run: Run) -> None:
    mix = run.last("mix")
    k = len(mix["classes"])
    soft = mix["soft_labels"]
    np.testing.assert_allclose(np.diag(soft), 1 - 0.1 + 0.1 / k)
    np.testing.assert_allclose(soft[~np.eye(k, dtype=bool)], 0.1 / k)


def mixup(run: Run) -> None:
    mix = run.last("mix")
    lam = mix["params"]["lam"]
    assert mix["kind"] == "mixup" and 0 < lam < 1
    for row in mix["soft_labels"]:
        assert sorted(row[row > 0]) == pytest.approx(sorted([lam, 1 - lam]))


def normalize(run: Run) -> None:
    stats = run.last("stats")
    before, after = stats["before"], stats["after"]

    def below_zero(h):
        return h["counts"][:, h["edges"][1:] <= 0].sum(1) / h["counts"].sum(1)

    assert (below_zero(before) == 0).all(), "pixels in [0, 1] before"
    assert (below_zero(after) >= 0.4).all(), f"shifted below zero after Normalize: {below_zero(after)}"
    assert (np.abs(after["mean"]) < 0.5).all(), f"the channel means land near zero: {after['mean']}"
    assert after["edges"][0] < -2 and after["edges"][-1] > 2.5, "from [0, 1] to about [−2.1, 2.6]"


def standard_imagenet(run: Run) -> None:
    steps = ["Random resized crop", "flip", "Rotation", "Colour jitter", "Gaussian blur", "Random erasing"]
    for d in draws(run):
        assert d["image"].shape[:2] == (224, 224)
        assert [s for s in steps if any(s in p for p in d["params"])] == steps


def bagging(run: Run) -> None:
    s = run.finished
    assert s["single"]["bias2"] < 0.02, "a deep tree has low bias"
    assert s["bagged"]["variance"] < 0.7 * s["single"]["variance"], "bagging averages much of the variance away"
    assert len(run.metrics()["B"]) == 50


def boosting(run: Run) -> None:
    h = run.history()
    assert h["bias2"][-1] < 0.1 * h["bias2"][0], "bias² falls round by round"
    assert h["variance"][-1] > 1.5 * h["variance"][1], "while the variance creeps up"
    assert h["step"][-1] == 150


def knn(run: Run) -> None:
    s = run.last("class_fits")["scores"]
    assert s["train_error"] == 0, "1-NN fits every training point"
    assert s["variance"] > s["bias2"] and s["test_error"] > s["bayes_error"]


def poly(degree: int) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        s = run.last("fits")["scores"]
        assert run.last("fits")["curves"].shape[1] == 200
        if degree == 1:
            assert s["bias2"] > 5 * s["variance"] and s["bias2"] > 0.1, "high bias, low variance"
        elif degree == 4:
            assert s["bias2"] < 0.005 and s["variance"] < 0.01, "close to the truth with a small spread"
        else:
            assert s["variance"] > 100 * max(s["bias2"], 0.01) or s["variance"] > 10, "the curves fan out wildly"
            assert s["train_error"] < 0.01, "it follows the noise"
    return check


def early_stopping(run: Run) -> None:
    h, s = run.history(), run.finished
    assert h["train_error"][-1] == h["train_error"].min(), "the training error keeps falling"
    best_val = h["step"][np.argmin(h["val_error"])]
    best_test = h["step"][np.argmin(h["test_error"])]
    assert 50 <= best_val <= 500 and 50 <= best_test <= 500, "validation and test errors turn up after ~100 epochs"
    assert h["test_error"][-1] > 1.3 * h["test_error"].min()
    assert abs(s["stop_epoch"] - best_test) <= 50, "early stopping stops near the true best epoch"


def ridge(run: Run) -> None:
    m = run.metrics()
    order = np.argsort(m["complexity"])  # λ: small = weak regularization
    weak, strong = order[0], order[-1]
    assert m["complexity"][strong] == 100 and m["complexity"][weak] == pytest.approx(1e-8)
    assert m["variance"][weak] > 1000 * m["variance"][strong], "a tiny λ lets the polynomial overfit"
    assert m["bias2"][strong] > 10 * m["bias2"][np.argmin(m["test_error"])], "a large λ: high bias"


def conv_equals_torch(shape_in: tuple[int, int], shape_out: tuple[int, int]) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        steps = steps_of(run)
        assert steps.spec.x.shape[1:] == shape_in and steps.out_hw == shape_out
        np.testing.assert_allclose(steps.result, torch_forward(steps), atol=1e-9)
    return check


def conv_grads(steps, upstream: np.ndarray):
    """torch's ∂L/∂input and ∂L/∂kernel for L = Σ upstream · conv(x, w)."""
    spec = steps.spec
    x = torch.tensor(spec.x, dtype=torch.float64, requires_grad=True)
    w = torch.tensor(np.asarray(spec.weight, float), requires_grad=True)
    y = F.conv2d(x[None], w, stride=spec.stride, padding=spec.padding, dilation=spec.dilation)[0]
    gx, gw = torch.autograd.grad(y, (x, w), torch.tensor(upstream).reshape(y.shape))
    return gx.numpy(), gw.numpy()


def backward_input(run: Run) -> None:
    steps = steps_of(run)
    assert steps.kind == "grad_input" and steps.spec.stride == (2, 2)
    inserted = steps.grid_role == 2
    assert inserted.any() and (steps.grid[:, inserted] == 0).all(), "zero-inserted for stride 2"
    upstream = steps.grid[:, steps.grid_role == 0]  # the upstream gradient's own cells, in order
    gx, _ = conv_grads(steps, upstream)
    np.testing.assert_allclose(steps.result, gx, atol=1e-9)


def backward_kernel(run: Run) -> None:
    steps = steps_of(run)
    assert steps.kind == "grad_kernel"
    upstream = steps.kernels[:, 0]  # stride 1: the upstream gradient is the kernel as it is
    _, gw = conv_grads(steps, upstream)
    np.testing.assert_allclose(steps.result, gw, atol=1e-9)
    assert steps.result.shape == np.asarray(steps.spec.weight).shape, "one gradient per weight"


def image_edges(run: Run) -> None:
    steps = steps_of(run)
    assert steps.values.shape == (4, 24, 24), "one 24×24 feature map per kernel"
    np.testing.assert_allclose(steps.result, torch_forward_same(steps), atol=1e-9)


def torch_forward_same(steps) -> np.ndarray:
    spec = steps.spec
    x = torch.tensor(spec.x, dtype=torch.float64)[None]
    w = torch.tensor(np.asarray(spec.weight, float))
    return F.conv2d(x, w, torch.tensor(spec.bias_or_zeros()), 1, "same")[0].numpy()


def max_pooling(run: Run) -> None:
    steps = steps_of(run)
    assert steps.kind == "maxpool" and steps.out_hw == (2, 2)
    np.testing.assert_allclose(steps.result, torch_forward(steps))


def multichannel(run: Run) -> None:
    steps = steps_of(run)
    assert steps.grid.shape[0] == 3 and steps.values.shape[0] == 2, "three channels, two filters"
    np.testing.assert_allclose(steps.values, steps.partial.sum(-1) + steps.bias[:, None, None])
    np.testing.assert_allclose(steps.result, torch_forward(steps), atol=1e-9)


def unvisited(run: Run) -> None:
    steps = steps_of(run)
    assert steps.out_hw == (2, 2)
    marked = steps.unvisited_cells()
    assert marked[5].all() and marked[:, 5].all() and marked.sum() == 11, "the last row and column are never visited"
    shown = run.tab.view.inputs.grids[0].marked
    assert shown is not None and np.array_equal(shown, marked), "and crossed out in the input grid"


def batch_size_1(run: Run) -> None:
    h = net(run)
    assert h["iteration"][1] == 250, "250 steps per epoch"
    assert first_epoch(h["test_accuracy"], h["step"], 0.9) <= 30, "fast progress per epoch"
    assert np.abs(np.diff(h["train_loss"][10:])).max() > 0.005, "a jittery loss curve"


def batch_size_250(run: Run) -> None:
    h = net(run)
    assert h["iteration"][1] == 1, "one step per epoch"
    assert h["test_accuracy"][-1] <= 0.7, "60 epochs get nowhere"
    rises = np.diff(h["train_loss"]) > 1e-4
    assert rises.mean() < 0.2, "one smooth step per epoch"


def learning_rate_too_high(run: Run) -> None:
    (div,) = run.diverged
    h = net(run)
    finite = h["train_loss"]
    assert np.isfinite(finite).all() and len(finite) >= 10 and div.step == h["step"][-1] + 1
    assert (np.diff(finite[1:]) > 0).all() and finite[-1] > 1e6 * finite[0], "the loss explodes over many epochs"
    xs, ys = run.tab.view.loss_plot.data("train loss")
    assert len(xs) == len(finite), "every finite loss is drawn"
    lines = [i for i in run.tab.view.loss_plot.getPlotItem().items if type(i).__name__ == "InfiniteLine"]
    assert [round(line.value()) for line in lines] == [div.step] and run.tab.view.loss_plot.log_y


def overfitting(run: Run) -> None:
    h = net(run)
    assert h["train_loss"][-1] < 0.01, "the training loss falls"
    best = np.argmin(h["test_loss"])
    assert h["step"][best] <= 50 and h["test_loss"][-1] > 3 * h["test_loss"][best], "while the test loss rises"


def regularized(run: Run) -> None:
    h = net(run)
    assert h["test_loss"][-1] < 0.4 and h["test_loss"][-1] < 2.5 * h["test_loss"].min(), "the test loss stays low"
    assert h["test_loss"][-1] - h["train_loss"][-1] < 0.3, "the gap closes"


def spiral(run: Run) -> None:
    assert net(run)["test_accuracy"][-1] >= 0.95


def universal(run: Run) -> None:
    h = net(run)
    assert run.tab.spec.hidden == (32,) and h["test_loss"][-1] < 0.03 < h["test_loss"][0]


def xor_linear(run: Run) -> None:
    h = net(run)
    late = h["step"] >= 20
    assert h["train_loss"][late].min() >= 0.65, "the loss stays at chance level"
    assert h["test_accuracy"][late].max() <= 0.76, "no line separates XOR"


def xor_product(run: Run) -> None:
    h = net(run)
    assert h["test_accuracy"][0] < 0.75, "not solved before training"
    assert 3 <= first_epoch(h["test_accuracy"], h["step"], 0.9) <= 30, "training solves it over some epochs"
    assert h["test_accuracy"][-1] >= 0.95


def adagrad(run: Run) -> None:
    names, r = race(run)
    rate = r["effective_lr"][:, names.index("Adagrad")]
    assert (np.diff(rate) <= 1e-15).all(), "Adagrad's effective learning rate only ever shrinks"
    others = [r["effective_lr"][-1, names.index(n)] for n in ("RMSprop", "Adam")]
    assert rate[-1] < min(others) / 2
    assert r["gap"][-1, names.index("Adagrad")] > 10 * r["gap"][-1, names.index("RMSprop")], "it stalls, they keep moving"
    page = run.tab.surface_page
    assert page.metric_stack.currentWidget() is page.rate_plot and len(page.rate_plot.data("Adagrad")[0]) == len(rate)


def batch_race(run: Run) -> None:
    s = run.finished["batches"]
    assert set(s) == {"batch 4", "batch 250"}
    assert len(run.last("landscape")["lines"]) == 3, "start → both solutions and between them"
    curves = {c["name"]: c for c in run.snapshots("batch_curves")}
    assert all(c["epochs"][-1] == 150 for c in curves.values())
    assert s["batch 4"]["steps"] > 10 * s["batch 250"]["steps"]


def network_race(run: Run) -> None:
    chunks = run.snapshots("net_race")
    names = run.last("net_start")["names"]
    loss = np.concatenate([c["train_loss"] for c in chunks])
    acc = np.concatenate([c["test_acc"] for c in chunks])
    epochs = np.concatenate([c["epochs"] for c in chunks])
    assert len(names) == 8 and epochs[-1] == 200
    assert np.ptp(loss[0]) < 0.01, f"one start for all: after one epoch they are still together {loss[0]}"
    assert acc[-1].max() >= 0.99
    reach = [first_epoch(-loss[:, i], epochs, -0.1) for i in range(8)]
    assert reach[names.index("SGD")] == max(reach), f"plain SGD is the slowest to a loss of 0.1: {dict(zip(names, reach))}"


def rosenbrock(run: Run) -> None:
    b = board(run)
    assert b["SGD"]["reached_at"] < 0 and b["SGD"]["loss_gap"] > 100 * b["Adam"]["loss_gap"], "SGD crawls"
    assert b["Momentum"]["reached_at"] > 0 and b["Nesterov"]["reached_at"] > 0
    names, r = race(run)
    # the largest rise of the loss from one step to the next, as a factor: an overshoot across the valley
    jump = {n: float(np.max(r["gap"][1:, i] / r["gap"][:-1, i])) for i, n in enumerate(names)}
    assert min(jump["Momentum"], jump["Nesterov"]) > 1.2 * jump["SGD"], f"momentum swings across the valley: {jump}"
    assert jump["Adam"] < jump["SGD"], f"Adam follows it: {jump}"


def saddle(run: Run) -> None:
    b = board(run)
    plain, noisy = b["SGD η=0.01"], next(row for name, row in b.items() if "σ" in name or "noise" in name.lower())
    escaped = {n: row["escaped_at"] for n, row in b.items()}
    assert plain["escaped_at"] < 0 or plain["escaped_at"] == max(escaped.values()), "plain SGD waits"
    assert 0 < noisy["escaped_at"] and (plain["escaped_at"] < 0 or noisy["escaped_at"] < plain["escaped_at"])
    for n in ("Momentum", "Adam", "RMSprop", "Adagrad"):
        assert 0 < escaped[n] and (plain["escaped_at"] < 0 or escaped[n] < plain["escaped_at"]), n


def too_large(run: Run) -> None:
    b = board(run)
    assert [d.series for d in run.diverged] == ["SGD η=0.7"], "η = 0.7 diverges (and stops alone)"
    assert b["SGD η=0.6"]["reached_at"] > 0 and b["Adam η=3"]["reached_at"] > 0


def tanh_trio(run: Run) -> None:
    s = by_scheme(run)
    small, large, xavier = s["small_normal"], s["large_normal"], s["xavier_normal"]
    assert small["act_std"][-1] < 1e-3 * small["act_std"][0], "×0.01 collapses toward 0"
    assert small["grad_std"][0] < 1e-3 * small["grad_std"][-1], "and the gradients vanish on the way back"
    assert (large["saturated"] > 0.85).all(), "×1.0 saturates every unit"
    assert xavier["act_std"][-1] > 0.1, "Xavier keeps the signal alive"


def relu_init(run: Run) -> None:
    s = by_scheme(run)
    x, k = s["xavier_normal"]["act_std"], s["kaiming_normal"]["act_std"]
    assert x[-1] < 0.1 * x[0], "Xavier: the variance halves at every layer"
    assert 0.5 < k[-1] / k[0] < 2, "Kaiming: the std stays flat"


def batchnorm_rescue(run: Run) -> None:
    std = by_scheme(run)["small_normal"]["act_std"]
    assert std.min() > 0.3 and std.max() / std.min() < 2, "the activations stay healthy in all ten layers"


def zero_init(run: Run) -> None:
    sym = run.last("symmetry")
    identical = dict(zip(sym["schemes"], sym["identical"]))
    assert identical["zeros"].all() and identical["constant"].all(), "the symmetry never breaks"
    assert not identical["xavier_normal"].any(), "Xavier breaks it at once"
    assert run.tab.pages.currentWidget() is run.tab.training, "the preset opens where the check is"
    assert "never breaks" in run.tab.training.symmetry.text()


def images_params(expected: int, tolerance: float = 0.0) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        params = image_data(run)["params"]
        assert abs(params - expected) <= tolerance * expected, params
    return check


def batchnorm_train(with_bn: bool) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        h = run.history()
        loss = h["train_loss"][-20:].mean()
        assert (loss < 0.9) if with_bn else (loss > 1.0), loss
    return check


def equal_budget(cnn: bool) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        images_params(11_150, 0.02)(run)
        val = run.metrics()["val_acc"][-1]
        assert (val > 0.7) if cnn else (val < 0.6), val
    return check


def dropout(with_dropout: bool) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        epochs, train, val = image_curves(run)
        gap = train - val
        if with_dropout:
            assert gap[-1] < 0.3, f"the gap shrinks with dropout: {gap[-1]:.2f}"
        else:
            assert train[-1] > 0.95 and gap[-1] > 0.45, f"training accuracy runs away: gap {gap[-1]:.2f}"
    return check


def lenet(run: Run) -> None:
    assert run.metrics()["val_acc"][-1] > 0.7


def pooling(with_pool: bool) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        epochs, train, val = image_curves(run)
        if with_pool:
            assert val[-1] > 0.65
        else:
            assert train[-1] - val[-1] > 0.15, "the network overfits"
    return check


def pooling_shape(with_pool: bool) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        # conv 8 (80) + conv 16 (1,168) + the output layer, whose inputs are 400 or 9,216 values
        out_inputs = 400 if with_pool else 16 * 24 * 24
        assert image_data(run)["params"] == 80 + 1168 + (out_inputs + 1) * 8
    return check


def curves_check(names):
    def check(run: Run) -> None:
        costs = run.last("costs")
        assert set(costs) == set(names) and all(c["ns_per_element"] > 0 for c in costs.values())
    return check


CLAIMS: dict[str, Claim] = {
    "activations/curves_classic": Claim("the cost of sigmoid, tanh and ReLU is measured", curves_check({"sigmoid", "tanh", "relu"})),
    "activations/curves_relu_family": Claim("the cost of all seven ReLU relatives is measured",
                                            curves_check({"relu", "leaky_relu", "elu", "selu", "gelu", "silu", "mish"})),
    "activations/dead_relu": Claim("ReLU dead share ≥ 20 % from epoch 100 on; Leaky/ELU ≤ 10 %", dead_relu,
                                   state={"dead_relu": {"epochs": 130}}),
    "activations/dead_relu_negative_bias": Claim("ReLU ≥ 70 % dead from the start and at chance; Leaky ≥ 75 %, ELU ≥ 95 %",
                                                 dead_relu_negative_bias),
    "activations/depth_50_layers": Claim("50 layers each; sigmoid's gradient spans > 20 decades, tanh/ReLU < 1", depth_50),
    "activations/depth_sigmoid_vs_relu": Claim("sigmoid spans > 8 decades over 20 layers, ReLU < 1", depth_20),
    "activations/zero_centred": Claim("all-positive inputs: 100 % of updates in one quadrant; centred ≤ 70 %", zero_centred),
    "augmentation/cutmix": Claim("labels shared by the pasted box's area", cutmix),
    "augmentation/cutout": Claim("every draw has a black box of 5–25 % of the image", cutout),
    "augmentation/digits_label_breaking": Claim("≥ 5 of 16 draws of the 6 are upside down", label_breaking),
    "augmentation/digits_label_preserving": Claim("every draw within ±10°, ±5 px, scale 0.9–1.1", label_preserving),
    "augmentation/label_smoothing": Claim("targets 1 − ε + ε/K and ε/K", label_smoothing),
    "augmentation/mixup": Claim("each label is the same λ blend", mixup),
    "augmentation/normalize": Claim("≥ 40 % of each channel below zero after Normalize, |mean| < 0.5, range ⊃ [−2, 2.5]", normalize),
    "augmentation/standard_imagenet": Claim("224×224, the six steps in order", standard_imagenet),
    "bias_variance/bagging_deep_tree": Claim("single tree bias² < 0.02; bagging cuts variance by > 30 %", bagging),
    "bias_variance/boosting_stumps_step": Claim("bias² falls > 10×, variance rises > 1.5×", boosting),
    "bias_variance/classification_moons_knn": Claim("1-NN: train error 0, variance > bias²", knn),
    "bias_variance/degree_01_underfit": Claim("bias² > 5 × variance", poly(1)),
    "bias_variance/degree_04_good_fit": Claim("bias² < 0.005, variance < 0.01", poly(4)),
    "bias_variance/degree_15_overfit": Claim("variance explodes, train error < 0.01", poly(15)),
    "bias_variance/early_stopping_mlp": Claim("val/test minimum at 50–500 epochs; stop within 50 of the best", early_stopping),
    "bias_variance/ridge_lambda_sweep": Claim("variance at λ=1e-8 > 1000 × at λ=100; bias² large at λ=100", ridge),
    "convolution/backward_input": Claim("∂L/∂input over the zero-inserted, padded gradient", backward_input),
    "convolution/backward_kernel": Claim("one gradient per weight", backward_kernel),
    "convolution/dilation": Claim("7×7 → 3×3, equal to torch", conv_equals_torch((7, 7), (3, 3))),
    "convolution/image_edges": Claim("four 24×24 maps, equal to torch", image_edges),
    "convolution/max_pooling": Claim("4×4 → 2×2 window maxima", max_pooling),
    "convolution/multichannel": Claim("3 channels, 2 filters; partial sums + bias", multichannel),
    "convolution/no_padding_no_strides": Claim("4×4 → 2×2, equal to torch", conv_equals_torch((4, 4), (2, 2))),
    "convolution/padding": Claim("5×5 → 5×5, equal to torch", conv_equals_torch((5, 5), (5, 5))),
    "convolution/strides": Claim("5×5 → 3×3, equal to torch", conv_equals_torch((5, 5), (3, 3))),
    "convolution/transposed": Claim("2×2 → 5×5, equal to torch", conv_equals_torch((2, 2), (5, 5))),
    "convolution/unvisited": Claim("last row and column unvisited, and crossed out on screen", unvisited),
    "images/batchnorm_1_without": Claim("train loss still > 1.0 after its steps", batchnorm_train(False), slow=True,
                                        quick=images_params(28920)),
    "images/batchnorm_2_with": Claim("train loss < 0.9 in the same steps", batchnorm_train(True), slow=True,
                                     quick=images_params(29112)),
    "images/dropout_1_overfit": Claim("train accuracy > 95 %, gap > 45 points", dropout(False)),
    "images/dropout_2_dropout": Claim("gap < 30 points (no dropout: > 45)", dropout(True)),
    "images/equal_budget_1_mlp": Claim("≈ 11,000 parameters; validation accuracy < 60 %", equal_budget(False)),
    "images/equal_budget_2_cnn": Claim("≈ 11,000 parameters; validation accuracy > 70 %", equal_budget(True), slow=True,
                                       quick=images_params(11_150, 0.02)),
    "images/lenet5": Claim("validation accuracy > 70 %", lenet, slow=True, quick=images_params(61536)),
    "images/pooling_with": Claim("the output layer sees 400 values; validation > 65 %", pooling(True), slow=True,
                                 quick=pooling_shape(True)),
    "images/pooling_without": Claim("the output layer sees 9,216 values; train − val > 15 points", pooling(False), slow=True,
                                    quick=pooling_shape(False)),
    "initialization/batchnorm_rescue": Claim("×0.01 with BatchNorm: std within 2× in all layers", batchnorm_rescue),
    "initialization/relu_xavier_vs_kaiming": Claim("Xavier std falls > 10×; Kaiming within 2×", relu_init),
    "initialization/tanh_trio": Claim("×0.01 collapses (> 1000×), ×1 saturates (> 85 %), Xavier alive", tanh_trio),
    "initialization/zero_init_symmetry": Claim("zeros/constant stay identical, Xavier not; opens on training", zero_init),
    "network/batch_size_1": Claim("250 steps/epoch, 90 % test accuracy within 30 epochs, jittery", batch_size_1),
    "network/batch_size_250": Claim("1 step/epoch, smooth, ≤ 70 % after 60 epochs", batch_size_250),
    "network/learning_rate_too_high": Claim("the loss rises every epoch by > 1e6 in all, then Diverged; drawn and marked",
                                            learning_rate_too_high),
    "network/overfitting": Claim("train loss < 0.01; test loss > 3× its best (by epoch 50)", overfitting),
    "network/overfitting_dropout": Claim("test loss < 0.4 and within 2.5× its best; gap < 0.3", regularized,
                                         state={"render_epochs": 150}),
    "network/overfitting_l2": Claim("test loss < 0.4 and within 2.5× its best; gap < 0.3", regularized),
    "network/spiral_needs_depth": Claim("test accuracy ≥ 95 %", spiral, state={"render_epochs": 150}),
    "network/universal_approximation": Claim("one layer of 32: test loss < 0.03", universal, state={"render_epochs": 150}),
    "network/xor_linear_fails": Claim("loss ≥ 0.65 and accuracy ≤ 76 % after epoch 20", xor_linear),
    "network/xor_product_feature": Claim("< 75 % at epoch 0, 90 % after 3–30 epochs, ≥ 95 % at the end", xor_product),
    "optimizers/adagrad_vanishing_step": Claim("Adagrad's effective lr never rises and ends below half of RMSprop's/Adam's; "
                                               "shown on screen", adagrad),
    "optimizers/batch_size": Claim("both trained 150 epochs; three loss lines", batch_race),
    "optimizers/network_race": Claim("same initial loss for all eight", network_race),
    "optimizers/rosenbrock_valley": Claim("SGD never reaches (gap 100× Adam's); momentum/Nesterov reach, overshoot > 1.2× SGD's largest rise; Adam's smallest", rosenbrock),
    "optimizers/saddle_point": Claim("plain SGD escapes last (or never); the rest escape before it", saddle),
    "optimizers/too_large_learning_rate": Claim("only η = 0.7 diverges; η = 0.6 and Adam η = 3 arrive", too_large),
}


def preset_names() -> list[str]:
    return sorted(f"{p.parent.name}/{p.stem}" for p in PRESETS_DIR.glob("*/*.json"))


def test_every_preset_has_a_claim():
    names = preset_names()
    assert names
    assert sorted(set(names) - set(CLAIMS)) == [], "presets without a claim"
    assert sorted(set(CLAIMS) - set(names)) == [], "claims of presets that no longer exist"


@pytest.fixture(scope="module")
def lab_tab(make_module_tab):
    """One tab per lab for all its presets, as a lecturer loads one after another (and
    opening a tab costs more than most presets' runs)."""
    tabs: dict[str, Any] = {}

    def get(lab: str):
        if lab not in tabs:
            tabs[lab] = make_module_tab(lab)
        return tabs[lab]

    return get


def run_preset(lab_tab, name: str, state_changes: dict, max_events: int | None = None) -> Run:
    exp = load_experiment(PRESETS_DIR / f"{name}.json")
    tab = lab_tab(exp.tab)
    tab.apply_experiment_state(merged(exp.state, state_changes))
    tab.runner.shutdown()  # what loading started (a first paused frame, a recompute) must not deliver into this run
    job, cfg = tab.current_job()
    if exp.tab == "network":  # its headless run: the preset's epochs, no live channel (NetworkTab.run_to_end)
        cfg = dataclasses.replace(cfg, max_epochs=tab.render_epochs, live=None)
    events: list[Event] = []

    def recorded(cfg, ctl):
        for ev in job(cfg, ctl):
            events.append(ev)
            yield ev

    tab.run_to_end((recorded, cfg), max_events)
    return Run(tab, events)


@pytest.mark.parametrize("name", sorted(CLAIMS))
def test_the_preset_shows_what_it_says(lab_tab, name):
    claim = CLAIMS[name]
    if claim.slow and not SLOW:
        if claim.quick is not None:
            claim.quick(run_preset(lab_tab, name, claim.state, max_events=2))  # up to the data and model report
        pytest.skip(f"{claim.says}: minutes of training, checked with DLLAB_SLOW_CLAIMS=1")
    claim.check(run_preset(lab_tab, name, claim.state))
