"""The bias–variance simulation for classification on a 2-D data set of the network
builder (core.datasets.points2d), with the same model families.

The loss is 0-1, decomposed after Domingos (2000): with y*(x) the Bayes-optimal
class, N(x) = P(y ≠ y*) the noise, the main prediction y_m(x) = the majority vote
of the M models, bias B(x) = [y_m ≠ y*] and variance V(x) = P_m(ŷ ≠ y_m), the
expected error is exactly (for two classes)

    E[L(x)] = c₁ N(x) + B(x) + (1 − 2B(x)) V(x),   c₁ = 2 P_m(ŷ = y*) − 1,

so variance *adds* error where the vote is right and *removes* it where it is wrong.
P(y | x) of a Playground data set has no closed form: it is estimated once from a
large sample (30 000 points, 60 nearest neighbours at each grid point).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Iterator

import numpy as np
import torch

from core.bias_variance.config import KNOBS, sweep_configs
from core.bias_variance.data import streams
from core.bias_variance.fit import fit_knn, legendre_features
from core.bias_variance.mlp import train_mlp
from core.bias_variance.simulation import Progress, until_predictions
from core.bias_variance.tree import fit_tree_nd
from core.datasets.points2d import DOMAIN, make_dataset
from core.devices import torch_device
from core.engine import Event, Finished, Metrics, RunControl, Snapshot

__all__ = ["GRID_2D", "ClassData", "sample_class_data", "bayes_probability", "class_decompose", "class_fit_predict", "classification_job"]

GRID_2D = 41  # grid points per axis over the Playground domain
BOUNDARIES_SHOWN = 12
BAYES_SAMPLE, BAYES_K = 30_000, 60


@dataclass(frozen=True)
class ClassData:
    x: np.ndarray  # (M, n, 2)
    y: np.ndarray  # (M, n) labels 0/1
    grid: np.ndarray  # (G, 2) test points
    axis: np.ndarray  # (GRID_2D,) coordinates of one axis
    p1: np.ndarray  # (G,) estimated P(y = 1 | x)
    test_labels: np.ndarray  # (M, G) fresh labels drawn from p1


def _grid() -> tuple[np.ndarray, np.ndarray]:
    axis = np.linspace(DOMAIN[0], DOMAIN[1], GRID_2D)
    gx, gy = np.meshgrid(axis, axis)  # row = y, column = x: an image of the plane
    return axis, np.stack([gx.ravel(), gy.ravel()], 1)


@lru_cache(maxsize=16)
def bayes_probability(dataset: str, noise: float) -> np.ndarray:
    """P(y = 1 | x) on the grid, from a large sample of the data set (cached)."""
    big = make_dataset(dataset, BAYES_SAMPLE, noise, seed=987_654)
    _, grid = _grid()
    X = torch.from_numpy(big.X.astype(np.float32))
    y = torch.from_numpy(big.y.astype(np.float32))
    out = []
    for chunk in torch.split(torch.from_numpy(grid.astype(np.float32)), 256):
        idx = torch.cdist(chunk, X).topk(BAYES_K, largest=False).indices
        out.append(y[idx].mean(1))
    return torch.cat(out).double().numpy()


def sample_class_data(dataset: str, noise: float, n: int, m: int, seed: int) -> ClassData:
    xs, ys = [], []
    for i in range(m):  # data generation only; every fit below is batched over the M sets
        ds = make_dataset(dataset, n, noise, seed=seed * 100_003 + i)
        xs.append(ds.X)
        ys.append(ds.y)
    axis, grid = _grid()
    p1 = bayes_probability(dataset, float(noise))
    (rng,) = streams(seed + 404, 1)
    test_labels = (rng.random((m, len(grid))) < p1).astype(np.int64)
    return ClassData(np.stack(xs).astype(np.float64), np.stack(ys), grid, axis, p1, test_labels)


def class_decompose(pred: np.ndarray, p1: np.ndarray, test_labels: np.ndarray) -> dict[str, float]:
    """Domingos' decomposition of the 0-1 loss; ``pred`` (M, G) labels 0/1."""
    best = (p1 > 0.5).astype(np.int64)
    noise = np.minimum(p1, 1.0 - p1)
    vote = pred.mean(0)
    main = (vote > 0.5).astype(np.int64)
    bias = (main != best).astype(np.float64)
    variance = np.where(main == 1, 1.0 - vote, vote)
    c1 = 2.0 * np.where(best == 1, vote, 1.0 - vote) - 1.0
    b, v, nz = float(bias.mean()), float(((1 - 2 * bias) * variance).mean()), float((c1 * noise).mean())
    return {
        "bias2": b,
        "variance": v,
        "noise": nz,
        "total": b + v + nz,
        "test_error": float(np.mean(pred != test_labels)),
        "bayes_error": float(noise.mean()),
    }


def _poly_features(x: np.ndarray, degree: int) -> np.ndarray:
    """Products P_i(u) P_j(v), i + j ≤ degree, of Legendre polynomials of the scaled inputs."""
    t = torch.from_numpy(np.clip(np.array(x) / DOMAIN[1], -1.2, 1.2))
    pu, pv = legendre_features(t[..., 0], degree), legendre_features(t[..., 1], degree)
    cols = [pu[..., i] * pv[..., j] for i in range(degree + 1) for j in range(degree + 1 - i)]
    return torch.stack(cols, -1).numpy()


def class_fit_predict(cfg, x, y, w, xq, ctl: RunControl | None = None) -> Iterator[Event]:
    """P(class 1) at xq (M, Q, 2) for every data set at once; a generator like fit_predict."""
    device = torch_device(cfg.device)
    if cfg.family == "knn":
        return fit_knn(x, y.astype(np.float64), w, xq, cfg.k, device)
    if cfg.family == "tree":
        return fit_tree_nd(x, y[..., None].astype(np.float64), w, xq, cfg.depth)[..., 0]
    if cfg.family == "poly":
        inputs, queries = _poly_features(x, cfg.degree), _poly_features(xq, cfg.degree)
        shape = dict(width=1, layers=0, weight_decay=cfg.ridge)
    else:
        inputs, queries = x / DOMAIN[1], xq / DOMAIN[1]
        shape = dict(width=cfg.width, layers=cfg.layers)
    steps = train_mlp(inputs, y, w, queries, epochs=cfg.epochs, lr=cfg.lr, seed=cfg.seed + 1, device=device, n_classes=2, **shape)
    probabilities = yield from until_predictions(steps, cfg.epochs, f"training {x.shape[0]} models", ctl)
    return probabilities[..., 1]


def _simulate(cfg, data: ClassData, ctl) -> Iterator[Event]:
    m, n = data.y.shape
    xq = np.concatenate([data.x, np.broadcast_to(data.grid, (m, *data.grid.shape))], 1)
    p = yield from class_fit_predict(cfg, data.x, data.y, np.ones(data.y.shape), xq, ctl)
    return p[:, n:], p[:, :n]


def _scores(data: ClassData, grid_p, train_p) -> dict[str, float]:
    scores = class_decompose((grid_p > 0.5).astype(np.int64), data.p1, data.test_labels)
    scores["train_error"] = float(np.mean((train_p > 0.5) != data.y))
    return scores


def classification_job(cfg, ctl: RunControl) -> Iterator[Event]:
    if cfg.analysis == "fits":
        data = sample_class_data(cfg.dataset, cfg.class_noise, cfg.n, cfg.m, cfg.seed)
        grid_p, train_p = yield from _simulate(cfg, data, ctl)
        scores = _scores(data, grid_p, train_p)
        side = (GRID_2D, GRID_2D)
        labels = (grid_p > 0.5).astype(np.float64)
        vote = labels.mean(0)
        yield Snapshot(
            0,
            "class_fits",
            {
                "axis": data.axis,
                "vote": vote.reshape(side),
                "bayes": data.p1.reshape(side),
                "variance": np.minimum(vote, 1 - vote).reshape(side),
                "boundaries": grid_p[:BOUNDARIES_SHOWN].reshape(-1, *side),
                "sample_x": data.x[0],
                "sample_y": data.y[0],
                "scores": scores,
                "complexity": getattr(cfg, KNOBS[cfg.family][0]),
            },
        )
        yield Finished(scores)
        return
    if cfg.analysis == "complexity":
        data = sample_class_data(cfg.dataset, cfg.class_noise, cfg.n, cfg.m, cfg.seed)
        sweep = sweep_configs(cfg)
        best = None
        for i, (v, one) in enumerate(sweep):
            ctl.checkpoint()
            grid_p, train_p = yield from _simulate(one, data, ctl)
            scores = _scores(data, grid_p, train_p)
            if best is None or scores["test_error"] < best[1]:
                best = (v, scores["test_error"])
            yield Metrics(i, {"complexity": float(v), **scores})
            yield Progress(i + 1, len(sweep), f"{KNOBS[cfg.knob][1]} = {v:g}")
        yield Finished({"best": best[0], "best_test_error": best[1], "knob": cfg.knob})
        return
    sizes = sorted(set(int(s) for s in cfg.sizes))
    for i, n in enumerate(sizes):
        ctl.checkpoint()
        data = sample_class_data(cfg.dataset, cfg.class_noise, n, cfg.m, cfg.seed)
        grid_p, train_p = yield from _simulate(replace(cfg, n=n, k=min(cfg.k, n)), data, ctl)
        yield Metrics(n, {"n": float(n), **_scores(data, grid_p, train_p)})
        yield Progress(i + 1, len(sizes), f"n = {n}")
    yield Finished({"sizes": sizes})
