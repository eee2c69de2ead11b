"""Depth-limited CART trees on d-dimensional inputs, M data sets grown at once.

Level by level: for every feature, all points are sorted by (data set, node, x_f),
so that every node is a contiguous run; prefix sums of the weighted targets give the
impurity decrease of every cut of every run at once (squared error on the target
columns — with one-hot class columns this is the Gini decrease), and a segmented
arg-max picks each node's best cut over all features. No loop over data sets or
nodes in Python; the 1-D fitter in :mod:`core.bias_variance.fit` is the special case d = 1.
"""

from __future__ import annotations

import numpy as np

__all__ = ["fit_tree_nd"]


def fit_tree_nd(x: np.ndarray, targets: np.ndarray, w: np.ndarray, xq: np.ndarray, depth: int) -> np.ndarray:
    """Grow trees on x (M, n, d) fitting targets (M, n, K); predict leaf means at xq (M, Q, d) → (M, Q, K)."""
    x, t, w = np.asarray(x, np.float64), np.asarray(targets, np.float64), np.asarray(w, np.float64)
    m, n, d = x.shape
    k = t.shape[-1]
    # Node of each point, numbered per data set as in a heap (children 2i+1, 2i+2);
    # points of weight 0 (out of a resample) sit in node -1 and never take part.
    node = np.where(w > 0, 0, -1).astype(np.int64)
    splits: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # per level: (split?, feature, threshold) over (M, 2^level)
    flat_w, flat_t = w.ravel(), t.reshape(-1, k) * w.reshape(-1, 1)
    for level in range(depth):
        width = 2**level
        first = width - 1  # heap index of the first node on this level
        best_gain = np.zeros((m, width))
        best_feat = np.zeros((m, width), np.int64)
        best_thr = np.zeros((m, width))
        active = (node >= first) & (node < first + width)
        key = np.where(active, node - first + np.arange(m)[:, None] * width, -1).ravel()
        for f in range(d):
            xf = x[..., f].ravel()
            order = np.lexsort((xf, key))
            ks, xs = key[order], xf[order]
            ws, ts = flat_w[order], flat_t[order]
            new_seg = np.ones(len(ks), bool)
            new_seg[1:] = ks[1:] != ks[:-1]
            starts = np.flatnonzero(new_seg)
            seg = np.cumsum(new_seg) - 1
            ends = np.append(starts[1:], len(ks)) - 1
            cw, ct = np.cumsum(ws), np.cumsum(ts, 0)
            base_w = np.where(starts > 0, cw[starts - 1], 0.0)
            base_t = np.where(starts[:, None] > 0, ct[np.maximum(starts - 1, 0)], 0.0)
            lw, lt = cw - base_w[seg], ct - base_t[seg]
            tw, tt = cw[ends] - base_w, ct[ends] - base_t
            rw, rt = tw[seg] - lw, tt[seg] - lt
            pos = np.arange(len(ks))
            nxt = np.minimum(pos + 1, len(ks) - 1)
            valid = (ks >= 0) & (pos < ends[seg]) & (xs[nxt] > xs) & (lw > 0) & (rw > 0)
            sl, sr = np.where(valid, lw, 1.0), np.where(valid, rw, 1.0)
            st = np.where(tw > 0, tw, 1.0)
            gain = (lt**2).sum(1) / sl + (rt**2).sum(1) / sr - ((tt**2).sum(1) / st)[seg]
            gain = np.where(valid, gain, -np.inf)
            seg_best = np.maximum.reduceat(gain, starts)
            is_best = valid & (gain >= seg_best[seg])
            at = np.minimum.reduceat(np.where(is_best, pos, len(ks)), starts)
            found = at < len(ks)
            seg_key = ks[starts]
            use = found & (seg_key >= 0)
            dm, dn = np.divmod(seg_key[use], width)
            g = seg_best[use]
            thr = 0.5 * (xs[at[use]] + xs[at[use] + 1])
            better = g > best_gain[dm, dn] + 1e-12 * (1.0 + np.abs(best_gain[dm, dn]))
            best_gain[dm[better], dn[better]] = g[better]
            best_feat[dm[better], dn[better]] = f
            best_thr[dm[better], dn[better]] = thr[better]
        split = best_gain > 1e-12
        splits.append((split, best_feat, best_thr))
        node = _descend(node, x, first, width, split, best_feat, best_thr)
    return _leaf_predict(node, t, w, xq, splits)


def _descend(node, x, first, width, split, feat, thr):
    """Send the points of this level's split nodes to their children."""
    m = node.shape[0]
    here = (node >= first) & (node < first + width)
    local = np.clip(node - first, 0, width - 1)
    rows = np.arange(m)[:, None]
    go = here & split[rows, local]
    f = feat[rows, local]
    right = np.take_along_axis(x, f[..., None], -1)[..., 0] > thr[rows, local]
    return np.where(go, 2 * node + 1 + right, node)


def _leaf_predict(node, t, w, xq, splits):
    m, q = xq.shape[:2]
    k = t.shape[-1]
    qnode = np.zeros((m, q), np.int64)
    for level, (split, feat, thr) in enumerate(splits):
        qnode = _descend(qnode, xq, 2**level - 1, 2**level, split, feat, thr)
    size = 2 ** (len(splits) + 1)
    ids = np.where(node >= 0, node + np.arange(m)[:, None] * size, m * size).ravel()
    sum_w = np.bincount(ids, weights=w.ravel(), minlength=m * size + 1)[:-1]
    sums = np.stack([np.bincount(ids, weights=(w * t[..., j]).ravel(), minlength=m * size + 1)[:-1] for j in range(k)], -1)
    leaf = np.divide(sums, sum_w[:, None], out=np.zeros_like(sums), where=sum_w[:, None] > 0)
    return leaf[(qnode + np.arange(m)[:, None] * size).ravel()].reshape(m, q, k)
