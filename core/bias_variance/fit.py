"""Batched fits of M data sets at once: polynomial least squares, kNN, regression trees.

Every fitter takes inputs ``x`` (M, n), targets ``y`` (M, n), non-negative sample
weights ``w`` (M, n) and query points ``xq`` (M, Q), and returns predictions (M, Q).
Weights are how bootstrap resamples (counts 0, 1, 2, …) and cross-validation folds
(0 for held-out points) are expressed without gathering ragged arrays: a weight of 2
is exactly a duplicated point, a weight of 0 a point that is not there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["PolyFit", "fit_poly", "legendre_features", "fit_knn", "fit_tree", "scale_inputs"]


def _dtype(device: torch.device) -> torch.dtype:
    return torch.float32 if device.type == "mps" else torch.float64


def _tensor(a, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A private copy (inputs may be read-only broadcast views, which torch warns about)."""
    return torch.from_numpy(np.array(a, dtype=np.float64)).to(device=device, dtype=dtype)


def scale_inputs(x: np.ndarray, x_range: tuple[float, float]) -> np.ndarray:
    """Map the input range onto [-1, 1]: polynomial bases stay well conditioned there."""
    lo, hi = x_range
    return (2.0 * (np.asarray(x, np.float64) - lo) / (hi - lo)) - 1.0


def legendre_features(t: torch.Tensor, degree: int) -> torch.Tensor:
    """Legendre polynomials P_0..P_degree of scaled inputs t ∈ [-1, 1]: (..., degree + 1).

    Same function space as 1, t, t², …, but the columns are nearly orthogonal on
    [-1, 1], so degree 15 on 30 points does not lose every digit to round-off.
    """
    cols = [torch.ones_like(t)]
    if degree >= 1:
        cols.append(t)
    for k in range(1, degree):
        cols.append(((2 * k + 1) * t * cols[k] - k * cols[k - 1]) / (k + 1))
    return torch.stack(cols, -1)


@dataclass(frozen=True)
class PolyFit:
    pred: np.ndarray  # (M, Q)
    min_rank: int  # smallest rank of the (weighted) design over the M fits
    n_coef: int


def fit_poly(
    t: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    tq: np.ndarray,
    degree: int,
    ridge: float = 0.0,
    device: torch.device | str = "cpu",
) -> PolyFit:
    """Weighted (ridge) least squares of a degree-``degree`` polynomial, all M at once.

    Solves the normal equations (AᵀA + λI) c = Aᵀy by one batched Cholesky; fits
    whose Gram matrix is singular or nearly so (fewer distinct points than
    coefficients) go through an eigen-decomposition instead, where tiny eigenvalues
    are cut: that is the minimum-norm least-squares solution. ``t`` and ``tq`` are
    inputs already scaled to [-1, 1], where the Legendre basis keeps AᵀA well
    conditioned. (A batched SVD would do the same 10–20× slower on a CPU.)
    """
    device = torch.device(device)
    dt = _dtype(device)
    T = _tensor(t, dt, device)
    sw = _tensor(w, dt, device).sqrt()
    A = legendre_features(T, degree) * sw[..., None]  # (M, n, p)
    b = _tensor(y, dt, device) * sw
    p = degree + 1
    gram = A.transpose(-1, -2) @ A + ridge * torch.eye(p, dtype=dt, device=device)
    rhs = A.transpose(-1, -2) @ b[..., None]
    chol, info = torch.linalg.cholesky_ex(gram)
    diag = chol.diagonal(dim1=-2, dim2=-1).abs()
    rcond = torch.finfo(dt).eps ** 0.6  # ≈ 4e-10 in float64: beyond it the solve is noise
    ok = (info == 0) & (diag.min(-1).values ** 2 > rcond * diag.max(-1).values ** 2)
    coef = torch.cholesky_solve(rhs, torch.where(ok[:, None, None], chol, torch.eye(p, dtype=dt, device=device)))
    rank = torch.full((A.shape[0],), p, device=device)
    bad = (~ok).nonzero().squeeze(-1)
    if bad.numel():
        evals, evecs = torch.linalg.eigh(gram[bad])
        keep = evals > evals[..., -1:].clamp(min=0) * torch.finfo(dt).eps * p * 100
        inv = torch.where(keep, 1.0 / torch.where(keep, evals, torch.ones_like(evals)), torch.zeros_like(evals))
        proj = (evecs.transpose(-1, -2) @ rhs[bad]) * inv[..., None]
        coef[bad] = evecs @ proj
        rank[bad] = keep.sum(-1)
    Fq = legendre_features(_tensor(tq, dt, device), degree)
    pred = (Fq @ coef).squeeze(-1)
    return PolyFit(pred.cpu().numpy().astype(np.float64), int(rank.min().item()), p)


def fit_knn(x: np.ndarray, y: np.ndarray, w: np.ndarray, xq: np.ndarray, k: int, device: torch.device | str = "cpu") -> np.ndarray:
    """k-nearest-neighbour regression of all M sets at once; x (M, n) or (M, n, d).

    Neighbours are taken by weight: a point with weight 2 fills two of the k places,
    one with weight 0 none. Where less than k weight exists, the mean is over all.
    """
    device = torch.device(device)
    dt = _dtype(device)
    X = _tensor(x, dt, device)
    Xq = _tensor(xq, dt, device)
    if X.dim() == 2:
        dist = (Xq[:, :, None] - X[:, None, :]).abs()  # (M, Q, n)
    else:
        dist = torch.cdist(Xq, X)
    Y = _tensor(y, dt, device)
    W = _tensor(w, dt, device)
    dist = torch.where(W[:, None, :] > 0, dist, torch.full_like(dist, float("inf")))
    order = torch.sort(dist, dim=-1, stable=True).indices
    w_sorted = torch.gather(W[:, None, :].expand_as(dist), -1, order)
    y_sorted = torch.gather(Y[:, None, :].expand_as(dist), -1, order)
    before = w_sorted.cumsum(-1) - w_sorted
    take = (k - before).clamp(min=0).minimum(w_sorted)
    total = take.sum(-1).clamp(min=1e-300)
    pred = (take * y_sorted).sum(-1) / total
    return pred.cpu().numpy().astype(np.float64)


def fit_tree(x: np.ndarray, y: np.ndarray, w: np.ndarray, xq: np.ndarray, depth: int) -> np.ndarray:
    """Depth-limited regression trees on 1-D inputs (squared error), all M at once.

    In one dimension a tree's leaves are runs of neighbouring points in sorted order,
    so each level splits every run at once: prefix sums give the error reduction of
    every possible cut, and a segmented arg-max picks the best cut of each run.
    """
    x, y, w = (np.asarray(a, np.float64) for a in (x, y, w))
    m, n = x.shape
    order = np.argsort(x, axis=1, kind="stable")
    xs = np.take_along_axis(x, order, 1)
    ys = np.take_along_axis(y, order, 1)
    ws = np.take_along_axis(w, order, 1)
    starts = np.zeros((m, n), bool)
    starts[:, 0] = True
    # Cumulative sums over the flattened (M·n) order; runs never cross data sets.
    cw = np.cumsum(ws.ravel())
    cy = np.cumsum((ws * ys).ravel())
    distinct_next = np.zeros((m, n), bool)
    distinct_next[:, :-1] = xs[:, 1:] > xs[:, :-1]
    distinct_next = distinct_next.ravel()
    pos = np.arange(m * n)
    for _ in range(depth):
        flat_starts = starts.ravel()
        seg = np.cumsum(flat_starts) - 1
        start_pos = np.flatnonzero(flat_starts)
        end_pos = np.append(start_pos[1:], m * n) - 1
        base_w = np.where(start_pos > 0, cw[start_pos - 1], 0.0)
        base_y = np.where(start_pos > 0, cy[start_pos - 1], 0.0)
        tot_w = cw[end_pos] - base_w
        tot_y = cy[end_pos] - base_y
        lw = cw - base_w[seg]
        ly = cy - base_y[seg]
        rw = tot_w[seg] - lw
        ry = tot_y[seg] - ly
        valid = (pos < end_pos[seg]) & distinct_next & (lw > 0) & (rw > 0)
        safe_l = np.where(valid, lw, 1.0)
        safe_r = np.where(valid, rw, 1.0)
        safe_t = np.where(tot_w > 0, tot_w, 1.0)
        gain = np.where(valid, ly**2 / safe_l + ry**2 / safe_r - (tot_y**2 / safe_t)[seg], -np.inf)
        best = np.maximum.reduceat(gain, start_pos)
        scale = np.maximum.reduceat(np.abs(ly), start_pos) ** 2 + 1.0
        is_best = valid & (gain >= best[seg]) & (best[seg] > 1e-12 * scale[seg])
        cut = np.minimum.reduceat(np.where(is_best, pos, m * n), start_pos)
        cut = cut[cut < m * n]
        if cut.size == 0:
            break
        new_starts = flat_starts.copy()
        new_starts[cut + 1] = True
        starts = new_starts.reshape(m, n)
    flat_starts = starts.ravel()
    seg = np.cumsum(flat_starts) - 1
    start_pos = np.flatnonzero(flat_starts)
    sum_w = np.add.reduceat((ws).ravel(), start_pos)
    sum_y = np.add.reduceat((ws * ys).ravel(), start_pos)
    leaf = np.divide(sum_y, sum_w, out=np.zeros_like(sum_y), where=sum_w > 0)
    values = leaf[seg].reshape(m, n)
    # Points of weight 0 (out of the bootstrap, out of the fold) must not place the
    # cuts: they take the place and value of the nearest weighted point to the left.
    idx = np.where(ws > 0, np.arange(n), -1)
    idx = np.maximum.accumulate(idx, axis=1)
    first = np.argmax(ws > 0, axis=1)
    idx = np.where(idx < 0, first[:, None], idx)
    xs = np.take_along_axis(xs, idx, 1)
    values = np.take_along_axis(values, idx, 1)
    return _piecewise_predict(xs, values, np.asarray(xq, np.float64))


def _piecewise_predict(xs: np.ndarray, values: np.ndarray, xq: np.ndarray) -> np.ndarray:
    """Predict at xq from per-point leaf values; cuts sit halfway between neighbours."""
    m, n = xs.shape
    xs_t = torch.from_numpy(np.array(xs))
    xq_t = torch.from_numpy(np.array(np.broadcast_to(xq, (m, xq.shape[-1]))))
    right = torch.searchsorted(xs_t, xq_t).numpy().clip(1, n - 1) if n > 1 else np.zeros(xq_t.shape, np.int64)
    left = right - 1 if n > 1 else right
    xl = np.take_along_axis(xs, left, 1)
    xr = np.take_along_axis(xs, right, 1)
    vl = np.take_along_axis(values, left, 1)
    vr = np.take_along_axis(values, right, 1)
    return np.where(xq_t.numpy() < 0.5 * (xl + xr), vl, vr)
