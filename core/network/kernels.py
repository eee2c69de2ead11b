"""numba kernels of the network builder's fast path (loaded by core/network/compiled.py).

Imported only on the loader's thread: importing this module imports numba and compiles
(or reads from the disk cache) every kernel. Each kernel is one function for every
activation, task and optimizer (they are arguments, not specialisations), so that no
change of settings ever waits for a compile.

The arithmetic is torch.optim's, step for step (see core/network/fast.py, whose buffers
these are): float32 storage, the same update formulas in the same order.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["train_epoch", "forward", "warm_up"]

LEAKY_SLOPE = np.float32(0.01)


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
SQRT_HALF = math.sqrt(0.5)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
SOFTPLUS_THRESHOLD = 20.0  # F.softplus's default: above it softplus(x) is x


@njit(nogil=True, cache=True, fastmath=False)
def _softplus(x):
    return x if x > SOFTPLUS_THRESHOLD else math.log1p(math.exp(x))


@njit(nogil=True, cache=True, fastmath=False)
def _sigmoid(x):
    # the two branches keep exp from overflowing for large |x|, as torch does
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@njit(nogil=True, cache=True, fastmath=False)
def _activate(code, x):
    """f(x) for the codes of compiled.ACTIVATION_CODES (the registry's default parameters)."""
    if code == 1:
        return math.tanh(x)
    if code == 2:
        return _sigmoid(x)
    if code == 3:
        return x if x > 0 else 0.0
    if code == 4:
        return x if x > 0 else x * 0.01
    if code <= 0:
        return x
    xd = np.float64(x)  # the smooth ones in double, rounded once to float32 by the caller
    if code == 5:  # ELU
        return xd if xd > 0 else math.expm1(xd)
    if code == 6:  # SELU
        return SELU_SCALE * (xd if xd > 0 else SELU_ALPHA * math.expm1(xd))
    if code == 7:  # GELU, exact (erf) form
        return 0.5 * xd * (1.0 + math.erf(xd * SQRT_HALF))
    if code == 8:  # SiLU
        return xd * _sigmoid(xd)
    if code == 9:  # Softplus
        return _softplus(xd)
    if code == 10:  # Mish
        return xd * math.tanh(_softplus(xd))
    return min(max(xd, -1.0), 1.0)  # 11: hard tanh


@njit(nogil=True, cache=True, fastmath=False)
def _slope(code, a, x):
    """f'(x), from the activation's output a = f(x) where that suffices, else from x itself."""
    if code == 1:
        return 1.0 - a * a
    if code == 2:
        return a * (1.0 - a)
    if code == 3:
        return 1.0 if a > 0 else 0.0
    if code == 4:
        return 1.0 if a > 0 else 0.01
    if code <= 0:
        return 1.0
    xd = np.float64(x)
    if code == 5:
        return 1.0 if xd > 0 else math.exp(xd)
    if code == 6:
        return SELU_SCALE if xd > 0 else SELU_SCALE * SELU_ALPHA * math.exp(xd)
    if code == 7:
        return 0.5 * (1.0 + math.erf(xd * SQRT_HALF)) + xd * INV_SQRT_2PI * math.exp(-0.5 * xd * xd)
    if code == 8:
        s = _sigmoid(xd)
        return s * (1.0 + xd * (1.0 - s))
    if code == 9:
        return 1.0 if xd > SOFTPLUS_THRESHOLD else _sigmoid(xd)
    if code == 10:
        t = math.tanh(_softplus(xd))
        return t + xd * _sigmoid(xd) * (1.0 - t * t)
    return 1.0 if -1.0 < xd < 1.0 else 0.0  # 11: hard tanh (torch: 0 at ±1 and beyond)


# Inlined into its callers: called once per sample, a call that passes nine arrays (each
# a struct of pointers, shape and strides) costs as much as the small network's sums.
@njit(nogil=True, cache=True, fastmath=False, inline="always")
def _forward_one(P, offs, sizes, acts, X, s, units, pre, z):
    """Row s of X through the network: hidden outputs into ``units`` (all layers, flat), their
    pre-activations into ``pre`` (laid out alike; the derivatives of some activations need them),
    logits into z."""
    L = len(sizes) - 2
    prev_start = -1  # -1: the previous layer is the input x
    start = 0
    for k in range(L + 1):
        n_in, n_out = sizes[k], sizes[k + 1]
        base = offs[k]
        stride = n_in + 1
        for r in range(n_out):
            row = base + r * stride
            acc = np.float32(P[row + n_in])  # the bias
            if prev_start < 0:
                for c in range(n_in):
                    acc += P[row + c] * X[s, c]  # indexed, not a row view: a view per sample costs more than its sums
            else:
                for c in range(n_in):
                    acc += P[row + c] * units[prev_start + c]
            if k < L:
                pre[start + r] = acc
                units[start + r] = _activate(acts[k], acc)
            else:
                z[r] = acc
        if k < L:
            prev_start = start
            start += n_out


@njit(nogil=True, cache=True, fastmath=False)
def forward(P, offs, sizes, acts, X, hidden_out, z_out):
    """Every row of X (n, inputs) through the network: hidden (n, units) and logits (n, outputs)."""
    pre = np.empty(hidden_out.shape[1], np.float32)
    for s in range(X.shape[0]):
        _forward_one(P, offs, sizes, acts, X, s, hidden_out[s], pre, z_out[s])


@njit(nogil=True, cache=True, fastmath=False)
def evaluate(P, offs, sizes, acts, X, y, n_train, task, n_classes, units, pre, z, out):
    """The curves' numbers in one pass over every row of X (training rows first, then test):
    out = [train loss, test loss, train accuracy, test accuracy], each a mean over its rows
    (0 for an empty set), computed as core.network.settings.data_loss and accuracy do. y
    holds the targets as float32 (class indices for classification)."""
    sums = np.zeros(4)  # train loss, test loss, train hits, test hits
    for s in range(X.shape[0]):
        _forward_one(P, offs, sizes, acts, X, s, units, pre, z)
        t = y[s]
        if task == 0:  # regression: squared error
            d = np.float64(z[0]) - t
            loss, hit = d * d, 0.0
        elif task == 1 or task == 3:  # binary: cross-entropy with logits, or squared error on the probability
            x = np.float64(z[0])
            if task == 1:
                loss = max(x, 0.0) - x * t + math.log1p(math.exp(-abs(x)))
            else:
                d = _sigmoid(x) - t
                loss = d * d
            hit = 1.0 if (x > 0) == (t > 0.5) else 0.0
        else:  # multi-class: cross-entropy, or squared error on the softmax (mean over classes)
            best = 0
            m = np.float64(z[0])
            for j in range(1, n_classes):
                if z[j] > z[best]:
                    best = j
                m = max(m, np.float64(z[j]))
            total = 0.0
            for j in range(n_classes):
                total += math.exp(np.float64(z[j]) - m)
            label = int(t)
            if task == 2:
                loss = m + math.log(total) - np.float64(z[label])
            else:
                loss = 0.0
                for j in range(n_classes):
                    d = math.exp(np.float64(z[j]) - m) / total - (1.0 if j == label else 0.0)
                    loss += d * d
                loss /= n_classes
            hit = 1.0 if best == label else 0.0
        k = 0 if s < n_train else 1
        sums[k] += loss
        sums[2 + k] += hit
    n_test = X.shape[0] - n_train
    out[0] = sums[0] / n_train if n_train else 0.0
    out[1] = sums[1] / n_test if n_test else 0.0
    out[2] = sums[2] / n_train if n_train else 0.0
    out[3] = sums[3] / n_test if n_test else 0.0


@njit(nogil=True, cache=True, fastmath=False)
def train_epoch(P, G, mask, lrvec, decay, X, T, perm, weight_noise, batch, offs, sizes, acts, task, reg, reg_rate,
                opt, wd, momentum, nesterov, beta1, beta2, eps, buf1, buf2, counters, mu_product, units, pre, deltas, z):
    """One epoch of mini-batch training in place; returns the number of steps taken.

    P, G, mask, lrvec, decay, buf1, buf2: flat float32 vectors of FastTrainer (buf1 is the
    momentum buffer or the first running average, buf2 the second). X (n, inputs) and
    T (n, outputs) are sample-major; T holds the (smoothed) targets; the batches take the
    samples in ``perm`` order. weight_noise is empty or holds, per batch, the noise added
    to the weights (zero on biases) while that batch's gradient is taken. counters[0] is
    the optimizer's step, counters[1] whether the momentum buffer holds a value yet;
    mu_product[0] is NAdam's product of momentum factors. For the adaptive optimizers
    beta2 carries RMSprop's alpha and Adadelta's rho, and momentum NAdam's momentum decay.
    """
    n = perm.shape[0]
    L = len(sizes) - 2
    n_units = units.shape[0]
    n_outputs = sizes[L + 1]
    steps = 0
    noisy = weight_noise.shape[0] > 0
    for b0 in range(0, n, batch):
        m = min(batch, n - b0)
        G[:] = 0.0
        if noisy:
            for i in range(P.shape[0]):
                P[i] += weight_noise[steps, i]
        # mean over the batch; d/dz of mean (z − t)² is 2(z − t)/m; squared error on the
        # class probabilities is a mean over every (sample, class): 2(p − t)/(m·classes)
        if task == 0 or task == 3:
            alpha = np.float32(2.0 / m)
        elif task == 4:
            alpha = np.float32(2.0 / (m * n_outputs))
        else:
            alpha = np.float32(1.0 / m)
        for j in range(m):
            s = perm[b0 + j]
            _forward_one(P, offs, sizes, acts, X, s, units, pre, z)
            # ∂loss/∂z = alpha · (p − t) for cross-entropy and regression; squared error on
            # probabilities goes on through the sigmoid or softmax (autograd's order of operations)
            if task == 2 or task == 4:
                zmax = z[0]
                for r in range(1, n_outputs):
                    zmax = max(zmax, z[r])
                total = 0.0
                for r in range(n_outputs):
                    z[r] = math.exp(z[r] - zmax)
                    total += z[r]
                if task == 2:
                    for r in range(n_outputs):
                        deltas[n_units + r] = alpha * (z[r] / total - T[s, r])
                else:
                    dot = np.float32(0.0)
                    for r in range(n_outputs):
                        z[r] = z[r] / total  # z now holds the probabilities
                        g = alpha * (z[r] - T[s, r])
                        deltas[n_units + r] = g
                        dot += g * z[r]
                    for r in range(n_outputs):
                        deltas[n_units + r] = (deltas[n_units + r] - dot) * z[r]
            elif task == 1 or task == 3:
                for r in range(n_outputs):
                    p = np.float32(_sigmoid(z[r]))
                    g = alpha * (p - T[s, r])
                    deltas[n_units + r] = g if task == 1 else g * (np.float32(1.0) - p) * p
            else:
                for r in range(n_outputs):
                    deltas[n_units + r] = alpha * (z[r] - T[s, r])
            # Backward, layer L (the output) down to 0. Layer k's outputs start at
            # out_start in units/deltas (the output layer's right after all hidden units).
            out_start = n_units
            for k in range(L, -1, -1):
                n_in, n_out = sizes[k], sizes[k + 1]
                in_start = out_start - n_in  # where layer k's inputs sit in units (k > 0)
                base = offs[k]
                stride = n_in + 1
                for r in range(n_out):
                    d = deltas[out_start + r]
                    row = base + r * stride
                    if k > 0:
                        for c in range(n_in):
                            G[row + c] += d * units[in_start + c]
                    else:
                        for c in range(n_in):
                            G[row + c] += d * X[s, c]
                    G[row + n_in] += d
                if k > 0:
                    for c in range(n_in):
                        acc = np.float32(0.0)
                        for r in range(n_out):
                            acc += P[base + r * stride + c] * deltas[out_start + r]
                        deltas[in_start + c] = acc * _slope(acts[k - 1], units[in_start + c], pre[in_start + c])
                out_start = in_start
        _add_penalty_gradient(P, G, mask, reg, reg_rate)  # at the weights the loss saw: the noisy ones, if any
        if noisy:
            for i in range(P.shape[0]):
                P[i] -= weight_noise[steps, i]
        _update(P, G, decay, lrvec, opt, wd, momentum, nesterov, beta1, beta2, eps, buf1, buf2, counters, mu_product)
        steps += 1
    return steps


@njit(nogil=True, cache=True, fastmath=False)
def _add_penalty_gradient(P, G, mask, reg, reg_rate):
    """The L1/L2 penalty's gradient on the weights (mask: 1 on weights, 0 on biases)."""
    N = P.shape[0]
    rr = np.float32(reg_rate)
    if reg == 2 and reg_rate != 0.0:
        for i in range(N):
            G[i] += rr * (P[i] * mask[i])
    elif reg == 1 and reg_rate != 0.0:
        for i in range(N):
            sg = np.float32(1.0) if P[i] > 0 else (np.float32(-1.0) if P[i] < 0 else np.float32(0.0))
            G[i] += rr * (sg * mask[i])


@njit(nogil=True, cache=True, fastmath=False)
def _update(P, G, decay, lrvec, opt, wd, momentum, nesterov, beta1, beta2, eps, buf1, buf2, counters, mu_product):
    """FastTrainer._update, element by element (and so torch.optim's single-tensor updates)."""
    N = P.shape[0]
    w = np.float32(wd)
    if opt == 1 or opt == 2:
        if wd != 0.0:
            if opt == 2:
                for i in range(N):
                    P[i] *= decay[i]
            else:
                for i in range(N):
                    G[i] += w * P[i]
        counters[0] += 1
        t = counters[0]
        b1 = np.float32(1.0 - beta1)
        b2 = np.float32(beta2)
        one_minus_b2 = np.float32(1.0 - beta2)
        bias2 = np.float32(math.sqrt(1.0 - beta2**t))
        step = np.float32(-1.0 / (1.0 - beta1**t))
        e = np.float32(eps)
        for i in range(N):
            g = G[i]
            buf1[i] = buf1[i] + b1 * (g - buf1[i])  # torch's lerp for weights below 0.5
            buf2[i] = buf2[i] * b2 + one_minus_b2 * (g * g)
            denom = np.float32(math.sqrt(buf2[i])) / bias2 + e
            P[i] += step * ((buf1[i] * lrvec[i]) / denom)
        return
    if wd != 0.0:
        for i in range(N):
            G[i] += w * P[i]
    if opt >= 3:
        counters[0] += 1
        _adaptive(opt, P, G, lrvec, beta1, beta2, eps, momentum, buf1, buf2, counters[0], mu_product)
        return
    mu = np.float32(momentum)
    if momentum != 0.0:
        first = counters[1] == 0
        counters[1] = 1
        for i in range(N):
            if first:
                buf1[i] = G[i]
            else:
                buf1[i] = buf1[i] * mu + G[i]
            d = G[i] + mu * buf1[i] if nesterov else buf1[i]
            P[i] -= d * lrvec[i]
    else:
        for i in range(N):
            P[i] -= G[i] * lrvec[i]


@njit(nogil=True, cache=True, fastmath=False)
def _adaptive(opt, P, G, lrvec, beta1, beta2, eps, momentum_decay, buf1, buf2, step, mu_product):
    """Adagrad, RMSprop, Adadelta, Adamax, NAdam and RAdam as core/network/fast.py writes them."""
    N = P.shape[0]
    e = np.float32(eps)
    if opt == 3:  # Adagrad: buf2 = sum of squared gradients
        for i in range(N):
            g = G[i]
            buf2[i] += g * g
            P[i] += np.float32(-1.0) * ((g * lrvec[i]) / (np.float32(math.sqrt(buf2[i])) + e))
    elif opt == 4:  # RMSprop: buf2 = square average, alpha in beta2
        a, one_minus_a = np.float32(beta2), np.float32(1.0 - beta2)
        for i in range(N):
            g = G[i]
            buf2[i] = buf2[i] * a + one_minus_a * (g * g)
            P[i] += np.float32(-1.0) * ((g * lrvec[i]) / (np.float32(math.sqrt(buf2[i])) + e))
    elif opt == 5:  # Adadelta: buf2 = square average, buf1 = accumulated deltas, rho in beta2
        rho, one_minus_rho = np.float32(beta2), np.float32(1.0 - beta2)
        for i in range(N):
            g = G[i]
            buf2[i] = buf2[i] * rho + one_minus_rho * (g * g)
            std = np.float32(math.sqrt(buf2[i] + e))
            delta = (np.float32(math.sqrt(buf1[i] + e)) / std) * g
            buf1[i] = buf1[i] * rho + one_minus_rho * (delta * delta)
            P[i] += np.float32(-1.0) * (delta * lrvec[i])
    elif opt == 6:  # Adamax: buf1 = first moment, buf2 = infinity norm
        b1, b2 = np.float32(1.0 - beta1), np.float32(beta2)
        clr = np.float32(-1.0 / (1.0 - beta1**step))
        for i in range(N):
            g = G[i]
            buf1[i] = buf1[i] + b1 * (g - buf1[i])
            buf2[i] = max(buf2[i] * b2, abs(g) + e)
            P[i] += clr * ((buf1[i] * lrvec[i]) / buf2[i])
    elif opt == 7:  # NAdam
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
        mu_product[0] = np.float32(mu_product[0] * np.float32(mu))
        product = np.float64(mu_product[0])
        c_grad = np.float32(-(1.0 - mu) / (1.0 - product))
        c_avg = np.float32(-mu_next / (1.0 - product * mu_next))
        b1, b2, one_minus_b2 = np.float32(1.0 - beta1), np.float32(beta2), np.float32(1.0 - beta2)
        bias2 = np.float32(1.0 - beta2**step)
        for i in range(N):
            g = G[i]
            buf1[i] = buf1[i] + b1 * (g - buf1[i])
            buf2[i] = buf2[i] * b2 + one_minus_b2 * (g * g)
            denom = np.float32(math.sqrt(buf2[i] / bias2)) + e
            P[i] += c_grad * ((g * lrvec[i]) / denom)
            P[i] += c_avg * ((buf1[i] * lrvec[i]) / denom)
    else:  # RAdam
        b1, b2, one_minus_b2 = np.float32(1.0 - beta1), np.float32(beta2), np.float32(1.0 - beta2)
        bias1, bias2 = 1.0 - beta1**step, 1.0 - beta2**step
        rho_inf = 2.0 / (1.0 - beta2) - 1.0
        rho_t = rho_inf - 2.0 * step * (beta2**step) / bias2
        rectified = rho_t > 5.0
        rect = np.float32(0.0)
        if rectified:
            rect = np.float32(math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)))
        sqrt_bias2 = np.float32(math.sqrt(bias2))
        for i in range(N):
            g = G[i]
            buf1[i] = buf1[i] + b1 * (g - buf1[i])
            buf2[i] = buf2[i] * b2 + one_minus_b2 * (g * g)
            corrected = (buf1[i] / np.float32(bias1)) * lrvec[i]
            if rectified:
                corrected = (corrected * (sqrt_bias2 / (np.float32(math.sqrt(buf2[i])) + e))) * rect
            P[i] -= corrected


def warm_up() -> None:
    """Compile (or load from the disk cache) every kernel with the argument types the trainer uses."""
    f32, i64 = np.float32, np.int64
    sizes = np.array([2, 3, 1], i64)
    offs = np.array([0, 9, 13], i64)
    acts = np.array([1], i64)
    P = np.zeros(13, f32)
    X, T = np.zeros((4, 2), f32), np.zeros((4, 1), f32)
    units, deltas, z = np.zeros(3, f32), np.zeros(4, f32), np.zeros(1, f32)
    train_epoch(P, np.zeros_like(P), np.ones_like(P), np.ones_like(P), np.ones_like(P), X, T, np.arange(4, dtype=i64),
                np.zeros((0, 13), f32), 2,
                offs, sizes, acts, 1, 0, 0.0, 0, 0.0, 0.0, False, 0.9, 0.999, 1e-8, np.zeros_like(P), np.zeros_like(P),
                np.zeros(2, i64), np.ones(1, f32), units, np.zeros_like(units), deltas, z)
    forward(P, offs, sizes, acts, X, np.zeros((4, 3), f32), np.zeros((4, 1), f32))
    evaluate(P, offs, sizes, acts, X, np.zeros(4, f32), 2, 1, 2, units, np.zeros_like(units), z, np.zeros(4))
