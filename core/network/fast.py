"""The lean trainer for small networks: hand-written backprop and fused updates in torch.

A Playground-sized network is all per-op overhead (a few microseconds per torch call,
whatever the tensor size), so this path does as few calls per step as it can:

- every weight matrix and its bias live in ONE flat parameter tensor, as ``[W | b]``
  blocks of shape (out, in + 1); gradients live in a second flat tensor laid out alike,
  so the optimizer update is one to six calls for the whole network;
- activations are kept feature-major, (width + 1, batch), with a constant row of ones,
  so that one matrix product gives a layer's pre-activation including its bias, and one
  product gives the gradient of weights and bias together;
- each epoch shuffles once and pre-splits the batches (views, no copies per step);
- the loss gradient at the output is one call, with 1/batch folded into the targets.

The numbers must be torch.optim's: tests check that parameters match the reference
trainer (autograd + torch.optim) to 1e-5 over the first epochs for every optimizer
covered here. Anything not covered (see :func:`fast_path_gap`) runs on the reference.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from core.network.activation_steps import ACTIVATION_STEPS, NEEDS_PREACTIVATION
from core.network.compiled import (
    ACTIVATION_CODES,
    OPT_ADAMW,
    OPT_SGD,
    OPTIMIZER_CODES,
    REG_L1,
    REG_L2,
    REG_NONE,
    TASK_BINARY,
    TASK_BINARY_MSE,
    TASK_MULTICLASS,
    TASK_MULTICLASS_MSE,
    TASK_REGRESSION,
)
from core.network.model import Network2D, NetworkSpec, linear_layers
from core.network.settings import PreparedData, TrainSettings, make_lr_holder, step_schedule
from core.network.torch_trainer import evaluate_outputs

__all__ = ["FastTrainer", "fast_path_gap", "FAST_ACTIVATIONS", "FAST_OPTIMIZERS", "ONECYCLE_OPTIMIZERS"]

FAST_ACTIVATIONS = ("tanh", "sigmoid", "relu", "leaky_relu", "linear", "elu", "selu", "gelu", "silu", "softplus", "mish",
                    "hardtanh")
FAST_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "adagrad", "rmsprop", "adadelta", "adamax", "nadam", "radam")
# One-cycle cycles the learning rate and SGD's momentum or Adam's beta1 in the torch.optim
# holder each epoch; the updates read both from it, so they follow the cycle as they are.
ONECYCLE_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "adamax", "nadam", "radam")


def fast_path_gap(spec: NetworkSpec, settings: TrainSettings) -> str | None:
    """Why this setup needs the reference trainer, or None when the fast path covers it."""
    if any(spec.batchnorm):
        return "batch norm"
    if any(p > 0 for p in spec.dropout):
        return "dropout"
    for a in spec.activations:
        if a not in FAST_ACTIVATIONS:
            return f"the {a} activation"
    if settings.optimizer not in FAST_OPTIMIZERS:
        return f"the {settings.optimizer} optimizer"
    if settings.schedule == "onecycle" and settings.optimizer not in ONECYCLE_OPTIMIZERS:
        # OneCycleLR cycles a momentum: it switches on RMSprop's (which the updates here
        # lack) and refuses Adagrad and Adadelta, which have none; the reference says so.
        return f"the one-cycle schedule with {settings.optimizer}"
    return None


class _Buffers:
    """Activation buffers for one batch width: (width + 1, cols), last row all ones."""

    def __init__(self, widths: list[int], keep_z: list[bool], cols: int, device):
        self.full = []
        self.hidden = []
        self.pre = []  # pre-activations (width, cols) of the layers whose derivative needs them, else None
        for w, kz in zip(widths, keep_z):
            buf = torch.ones(w + 1, cols, device=device)
            self.full.append(buf)
            self.hidden.append(buf[:w])  # contiguous: the rows above the ones
            self.pre.append(torch.empty(w, cols, device=device) if kz else None)
        self.full_t = [b.t() for b in self.full]  # views made once, not once per step


class FastTrainer:
    """Same interface as :class:`~core.network.torch_trainer.TorchTrainer`; see the module doc."""

    fast = True
    compiled = False  # epochs run in the numba kernel (see :meth:`switch_to_compiled`)

    def __init__(self, model: Network2D, spec: NetworkSpec, data: PreparedData, settings: TrainSettings,
                 shuffle: torch.Generator, step: int = 0):
        gap = fast_path_gap(spec, settings)
        if gap:
            raise ValueError(f"The fast path does not cover {gap}")
        self.model, self.spec, self.data = model, spec, data
        self.device = dev = data.X_train.device
        self.shuffle = shuffle
        self.step = step
        sizes = spec.sizes
        self.shapes = [(sizes[k + 1], sizes[k] + 1) for k in range(len(sizes) - 1)]
        total = sum(o * i for o, i in self.shapes)
        self.P = torch.zeros(total, device=dev)
        self.G = torch.zeros(total, device=dev)
        self.mask = torch.zeros(total, device=dev)  # 1 on weights, 0 on biases: penalties skip biases
        self.W, self.GW, self.W_in_t, self.slices = [], [], [], []
        off = 0
        for o, i in self.shapes:
            n = o * i
            W = self.P[off : off + n].view(o, i)
            self.W.append(W)
            self.GW.append(self.G[off : off + n].view(o, i))
            self.W_in_t.append(W[:, : i - 1].t())  # for da = Wᵀ δ, without the bias column
            self.mask[off : off + n].view(o, i)[:, : i - 1] = 1.0
            self.slices.append((off, off + n))
            off += n
        self.widths = list(spec.hidden)
        self.act_fns = [ACTIVATION_STEPS[a][0] for a in spec.activations]
        self.act_grads = [ACTIVATION_STEPS[a][1] for a in spec.activations]
        self.keep_z = [a in NEEDS_PREACTIVATION for a in spec.activations]
        self._buffers: dict[int, _Buffers] = {}
        self.load_from_model()
        with torch.no_grad():
            ones = lambda n: torch.ones(1, n, device=dev)  # noqa: E731
            ft, fs = model.features(data.X_train), model.features(data.X_test)
            self.Xa = torch.cat([ft.t(), ones(len(ft))]).contiguous()
            self.X_all = torch.cat([torch.cat([ft, fs]).t(), ones(len(ft) + len(fs))]).contiguous()
        self.n_train = len(ft)
        # The reference trainer's noise stream, seeded alike: the same noise, draw by draw.
        self.noise_gen = torch.Generator(dev).manual_seed(settings.seed + 1)
        self.settings = settings
        # squared error on the class probabilities (sigmoid or softmax), not on the logits
        self.prob_mse = data.task == "classification" and spec.loss == "mse"
        self._coef_cache: dict[int, tuple[torch.Tensor, list[float]]] = {}
        self._reset_optimizer_state()
        self._make_holder(settings)
        self._make_targets(settings)

    # -- weights ----------------------------------------------------------------------
    @torch.no_grad()
    def load_from_model(self) -> None:
        for W, lin in zip(self.W, linear_layers(self.model)):
            W[:, :-1] = lin.weight
            W[:, -1] = lin.bias

    @torch.no_grad()
    def sync_model(self) -> Network2D:
        for W, lin in zip(self.W, linear_layers(self.model)):
            lin.weight.copy_(W[:, :-1])
            lin.bias.copy_(W[:, -1])
        return self.model

    @torch.no_grad()
    def set_parameter(self, layer: int, row: int, col: int, value: float) -> None:
        self.W[layer][row, col if col >= 0 else -1] = value

    # -- settings ---------------------------------------------------------------------
    def _reset_optimizer_state(self) -> None:
        self.momentum_buf = None
        self.exp_avg = torch.zeros_like(self.P)
        self.exp_avg_sq = torch.zeros_like(self.P)
        self.adam_step = 0  # the step count of every optimizer that keeps one
        self.mu_product = np.float32(1.0)  # NAdam's product of momentum factors (a float32 tensor in torch)

    def _make_holder(self, settings: TrainSettings) -> None:
        # A real torch.optim optimizer holds the hyper-parameters and drives the
        # scheduler; it is never stepped. Its defaults are the registry's.
        self.holder, self.scheduler = make_lr_holder(settings, [self.P])
        self.holder._opt_called = True  # its steps are taken by _update; tells the scheduler so
        group = self.holder.param_groups[0]
        # Options torch.optim has that the builder never sets; the updates below assume them off.
        unsupported = ("dampening", "maximize", "amsgrad", "lr_decay", "initial_accumulator_value", "centered")
        if any(group.get(k) for k in unsupported) or (settings.optimizer == "rmsprop" and group.get("momentum")) \
                or (settings.optimizer in ("nadam", "radam") and group.get("decoupled_weight_decay")):
            raise ValueError(f"The fast path covers none of {', '.join(unsupported)}, RMSprop's momentum, "
                             "nor decoupled decay in NAdam or RAdam")
        self._set_lr(group["lr"])

    def _set_lr(self, lr: float) -> None:
        self.current_lr = lr
        self.lrvec = torch.empty_like(self.P)
        for (a, b), mult in zip(self.slices, self.settings.multipliers(len(self.slices))):
            self.lrvec[a:b] = lr * mult
        self._decay = None

    def decay_vector(self, wd: float) -> torch.Tensor:
        """AdamW's factor 1 − lr·wd per parameter, rounded once as torch.optim rounds it."""
        if self._decay is None or self._decay[0] != wd:
            vec = torch.empty_like(self.P)
            for (a, b), mult in zip(self.slices, self.settings.multipliers(len(self.slices))):
                vec[a:b] = 1 - self.current_lr * mult * wd
            self._decay = (wd, vec)
        return self._decay[1]

    def _make_targets(self, settings: TrainSettings) -> None:
        """Targets (outputs, n) such that the output gradient is ``alpha * p + target``."""
        y, eps, k = self.data.y_train, settings.label_smoothing, self.data.n_classes
        if self.prob_mse:
            eps = 0.0  # data_loss smooths cross-entropy's targets only
        if self.data.task == "regression":
            t = y.reshape(1, -1).float()
        elif k > 2:
            t = F.one_hot(y, k).t().float() * (1 - eps) + eps / k
        else:
            t = y.reshape(1, -1).float() * (1 - eps) + eps / 2
        self.T = t.contiguous()

    def apply_settings(self, settings: TrainSettings) -> None:
        gap = fast_path_gap(self.spec, settings)
        if gap:
            raise ValueError(f"The fast path does not cover {gap}")
        old = self.settings
        self.settings = settings
        if old.optimizer != settings.optimizer:
            self._reset_optimizer_state()
        keys = ("optimizer", "lr", "weight_decay", "schedule", "layer_lr", "schedule_epochs")
        if any(getattr(old, k) != getattr(settings, k) for k in keys):
            self._make_holder(settings)
        if old.label_smoothing != settings.label_smoothing:
            self._make_targets(settings)

    @property
    def lr(self) -> float:
        return self.current_lr

    # -- training ---------------------------------------------------------------------
    def _buffers_for(self, cols: int) -> _Buffers:
        b = self._buffers.get(cols)
        if b is None:
            b = self._buffers[cols] = _Buffers(self.widths, self.keep_z, cols, self.device)
        return b

    def _coefficients(self, batch: int) -> tuple[torch.Tensor, list[float]]:
        """Per-column scale of the targets and per-batch alpha: ∂loss/∂z = alpha·(p − t)."""
        cached = self._coef_cache.get(batch)
        if cached is None:
            n = self.n_train
            factor = 2.0 if self.data.task == "regression" else 1.0  # d/dz of mean (z − t)² is 2(z − t)/n
            if self.prob_mse:  # the mean runs over samples and classes: d/dp is 2(p − t)/(n·classes)
                factor = 2.0 / self.spec.n_outputs
            sizes = [min(batch, n - s) for s in range(0, n, batch)]
            alphas = [factor / m for m in sizes]
            col = torch.cat([torch.full((m,), -a) for m, a in zip(sizes, alphas)]).to(self.device)
            cached = self._coef_cache[batch] = (col, alphas)
        return cached

    # -- the compiled loop (core/network/compiled.py) --------------------------------
    def switch_to_compiled(self, kernels) -> None:
        """Run the following epochs, evaluations and pictures in the numba kernels.

        They step this trainer's own buffers (seen as numpy arrays) with the same
        arithmetic, so weights, optimizer state, schedule and shuffling carry on as they
        are: the switch is invisible in the curves. CPU only.
        """
        if self.device.type != "cpu":
            raise ValueError("The compiled kernels run on the CPU only")
        self._kernels = kernels
        self.compiled = True
        sizes = self.spec.sizes
        self._k_sizes = np.asarray(sizes, np.int64)
        self._k_offs = np.asarray([0] + [b for _, b in self.slices], np.int64)
        self._k_acts = np.asarray([ACTIVATION_CODES[a] for a in self.spec.activations], np.int64)
        self._k_X = self.Xa[:-1].t().contiguous().numpy()
        self._k_X_all = self.X_all[:-1].t().contiguous().numpy()
        self._k_T_of = None
        n_units = sum(self.widths)
        self._k_units = np.zeros(n_units, np.float32)
        self._k_pre = np.zeros(n_units, np.float32)
        self._k_deltas = np.zeros(n_units + sizes[-1], np.float32)
        self._k_z = np.zeros(sizes[-1], np.float32)
        self._k_y_all = torch.cat([self.data.y_train, self.data.y_test]).to(torch.float32).cpu().numpy()
        self._k_eval = np.zeros(4)
        if self.data.task == "regression":
            self._k_task = TASK_REGRESSION
        elif self.data.n_classes > 2:
            self._k_task = TASK_MULTICLASS_MSE if self.prob_mse else TASK_MULTICLASS
        else:
            self._k_task = TASK_BINARY_MSE if self.prob_mse else TASK_BINARY

    def _epoch_compiled(self) -> None:
        s = self.settings
        group = self.holder.param_groups[0]
        perm_t = torch.randperm(self.n_train, generator=self.shuffle)  # the torch loop's draws
        perm = perm_t.numpy()
        if self._k_T_of is not self.T:  # new targets (label smoothing changed)
            self._k_T, self._k_T_of = self.T.t().contiguous().numpy(), self.T
        X, T = self._k_X, self._k_T
        noise = self._noise()
        if noise == "input":
            # The noisy features are drawn and computed here, batch by batch as the torch
            # loop does; the kernel then reads them in order.
            X = torch.cat([xb[:-1].t() for xb in self._noisy_inputs(perm_t)]).contiguous().numpy()
            T = T[perm]
            perm = np.arange(self.n_train, dtype=np.int64)
        n_batches = -(-self.n_train // s.batch_size)
        weight_noise = np.zeros((n_batches if noise == "weights" else 0, len(self.P)), np.float32)
        for b in range(len(weight_noise)):
            for (a, _), (o, i), n in zip(self.slices, self.shapes, self._draw_weight_noise()):
                weight_noise[b, a:a + o * i].reshape(o, i)[:, :-1] = n.numpy()
        wd = group["weight_decay"]
        opt = OPTIMIZER_CODES[s.optimizer]
        momentum, nesterov, started, beta1, beta2, eps = 0.0, False, False, 0.0, 0.0, group.get("eps", 0.0)
        buf1, buf2 = self.exp_avg, self.exp_avg_sq
        if opt == OPT_SGD:
            momentum, nesterov = group["momentum"], group["nesterov"]
            started = self.momentum_buf is not None
            if not started:
                self.momentum_buf = torch.zeros_like(self.P)
            buf1 = self.momentum_buf
        elif "betas" in group:
            beta1, beta2 = group["betas"]
            momentum = group.get("momentum_decay", 0.0)  # NAdam's
        else:
            beta2 = group.get("alpha", group.get("rho", 0.0))  # RMSprop's alpha, Adadelta's rho
        decay = self.decay_vector(wd) if opt == OPT_ADAMW and wd else self.lrvec
        reg = {"l1": REG_L1, "l2": REG_L2}.get(s.regularization, REG_NONE)
        counters = np.array([self.adam_step, int(started)], np.int64)
        mu_product = np.array([self.mu_product], np.float32)
        steps = self._kernels.train_epoch(
            self.P.numpy(), self.G.numpy(), self.mask.numpy(), self.lrvec.numpy(), decay.numpy(), X, T,
            perm, weight_noise, s.batch_size, self._k_offs, self._k_sizes, self._k_acts, self._k_task, reg, float(s.reg_rate),
            opt, float(wd), float(momentum), bool(nesterov), float(beta1), float(beta2), float(eps),
            buf1.numpy(), buf2.numpy(), counters, mu_product, self._k_units, self._k_pre, self._k_deltas, self._k_z)
        self.adam_step = int(counters[0])
        self.mu_product = mu_product[0]
        if opt == OPT_SGD and not counters[1]:
            self.momentum_buf = None  # momentum 0: the torch loop never made one either
        self.step += int(steps)

    def _forward_compiled(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = X.shape[0]
        hidden = np.empty((n, sum(self.widths)), np.float32)
        z = np.empty((n, self.spec.sizes[-1]), np.float32)
        self._kernels.forward(self.P.numpy(), self._k_offs, self._k_sizes, self._k_acts, X, hidden, z)
        return hidden, z

    @torch.no_grad()
    def epoch(self) -> None:
        if self.compiled:
            self._epoch_compiled()
            return
        B = self.settings.batch_size
        col, alphas = self._coefficients(B)
        perm = torch.randperm(self.n_train, generator=self.shuffle).to(self.device)
        if self._noise() == "input":
            xs = self._noisy_inputs(perm)
            xts = [xb.t() for xb in xs]
        else:
            xp = self.Xa.index_select(1, perm)
            # unsafe_split: the C++ split without Tensor.split's Python wrapper (these views are read-only here)
            xs, xts = xp.unsafe_split(B, 1), xp.t().unsafe_split(B, 0)
        ts = self.T.index_select(1, perm).mul_(col).unsafe_split(B, 1)
        weight_noise = self._noise() == "weights"
        task_out = torch.sigmoid if self.data.task == "classification" and self.data.n_classes == 2 else None
        if self.data.task == "classification" and self.data.n_classes > 2:
            task_out = _softmax_rows
        W, GW, W_in_t = self.W, self.GW, self.W_in_t
        act_fns, act_grads = self.act_fns, self.act_grads
        L = len(self.widths)
        prob_mse, multiclass = self.prob_mse, self.data.n_classes > 2
        mm, add = torch.mm, torch.add
        update, penalty = self._update, self._add_penalty_gradient
        for xb, xbt, tb, alpha in zip(xs, xts, ts, alphas):
            if weight_noise:  # the gradient is taken at noisy weights; the clean ones are updated
                noise = self._draw_weight_noise()
                for Wk, n in zip(W, noise):
                    Wk[:, :-1].add_(n)
            bufs = self._buffers_for(xb.shape[1])
            hidden, full, full_t, pre = bufs.hidden, bufs.full, bufs.full_t, bufs.pre
            a = xb
            for k in range(L):
                h, zk = hidden[k], pre[k]
                if zk is None:
                    mm(W[k], a, out=h)
                    if act_fns[k] is not None:
                        act_fns[k](h)
                else:
                    h.copy_(act_fns[k](mm(W[k], a, out=zk)))
                a = full[k]
            z = mm(W[L], a)
            p = task_out(z) if task_out is not None else z
            delta = add(tb, p, alpha=alpha)
            if prob_mse:  # on through the sigmoid or softmax, in autograd's order
                if multiclass:
                    delta = delta.sub_((delta * p).sum(0, keepdim=True)).mul_(p)
                else:
                    delta = delta.mul_(1 - p).mul_(p)
            for k in range(L, 0, -1):
                mm(delta, full_t[k - 1], out=GW[k])
                delta = act_grads[k - 1](mm(W_in_t[k], delta), hidden[k - 1], pre[k - 1])
            mm(delta, xbt, out=GW[0])
            penalty()  # at the weights the loss saw: the noisy ones, if any
            if weight_noise:
                for Wk, n in zip(W, noise):
                    Wk[:, :-1].sub_(n)
            update()
        self.step += len(alphas)

    # -- noise, drawn exactly as the reference trainer draws it ----------------------
    def _noise(self) -> str:
        s = self.settings
        return s.noise if s.noise_std > 0 else "none"

    def _noisy_inputs(self, perm: torch.Tensor) -> list[torch.Tensor]:
        """Per batch: the features of the raw points plus fresh Gaussian noise, (features + 1, batch)."""
        X, std, out = self.data.X_train, self.settings.noise_std, []
        for idx in perm.split(self.settings.batch_size):
            xb = X[idx]
            f = self.model.features(xb + torch.randn(xb.shape, generator=self.noise_gen, device=self.device) * std)
            out.append(torch.cat([f.t(), torch.ones(1, len(f), device=self.device)]))
        return out

    def _draw_weight_noise(self) -> list[torch.Tensor]:
        std = self.settings.noise_std
        return [torch.randn((o, i - 1), generator=self.noise_gen, device=self.device) * std for o, i in self.shapes]

    def _add_penalty_gradient(self) -> None:
        s, P, G = self.settings, self.P, self.G
        if s.regularization == "l2" and s.reg_rate:
            G.addcmul_(P, self.mask, value=s.reg_rate)
        elif s.regularization == "l1" and s.reg_rate:
            G.addcmul_(P.sign(), self.mask, value=s.reg_rate)

    def _update(self) -> None:
        s, P, G = self.settings, self.P, self.G
        group = self.holder.param_groups[0]
        wd = group["weight_decay"]
        if s.optimizer in ("adam", "adamw"):
            if s.optimizer == "adamw":
                if wd:
                    P.mul_(self.decay_vector(wd))  # decoupled: p ← p (1 − lr·wd)
            elif wd:
                G.add_(P, alpha=wd)
            beta1, beta2 = group["betas"]
            self.adam_step += 1
            t = self.adam_step
            self.exp_avg.lerp_(G, 1 - beta1)
            self.exp_avg_sq.mul_(beta2).addcmul_(G, G, value=1 - beta2)
            denom = (self.exp_avg_sq.sqrt() / math.sqrt(1 - beta2**t)).add_(group["eps"])
            P.addcdiv_(self.exp_avg * self.lrvec, denom, value=-1 / (1 - beta1**t))
            return
        if s.optimizer in ADAPTIVE:
            if wd:
                G.add_(P, alpha=wd)
            self.adam_step += 1
            _ADAPTIVE_UPDATES[s.optimizer](self, group, self.adam_step)
            return
        if wd:
            G.add_(P, alpha=wd)
        momentum = group["momentum"]
        if momentum:
            if self.momentum_buf is None:
                self.momentum_buf = G.clone()
            else:
                self.momentum_buf.mul_(momentum).add_(G)
            d = G.add(self.momentum_buf, alpha=momentum) if group["nesterov"] else self.momentum_buf
        else:
            d = G
        P.addcmul_(d, self.lrvec, value=-1.0)

    def end_epoch(self, test_loss: float) -> None:
        if self.scheduler is None:
            return
        step_schedule(self.scheduler, test_loss, self.settings.schedule_epochs)
        lr = self.holder.param_groups[0]["lr"]
        if lr != self.current_lr:
            self._set_lr(lr)

    # -- evaluation -------------------------------------------------------------------
    def _forward(self, xa: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        bufs = self._buffers_for(xa.shape[1])
        a = xa
        for k in range(len(self.widths)):
            h, zk = bufs.hidden[k], bufs.pre[k]
            if zk is None:
                torch.mm(self.W[k], a, out=h)
                if self.act_fns[k] is not None:
                    self.act_fns[k](h)
            else:
                h.copy_(self.act_fns[k](torch.mm(self.W[k], a, out=zk)))
            a = bufs.full[k]
        return bufs.hidden, torch.mm(self.W[-1], a)

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        if self.compiled:
            # Losses and accuracies in the same compiled pass as the outputs: the dozen
            # small torch ops of evaluate_outputs cost as much as the forward pass itself.
            self._kernels.evaluate(self.P.numpy(), self._k_offs, self._k_sizes, self._k_acts, self._k_X_all, self._k_y_all,
                                   self.n_train, self._k_task, max(2, self.data.n_classes), self._k_units, self._k_pre,
                                   self._k_z, self._k_eval)
            names = ["train_loss", "test_loss", "train_accuracy", "test_accuracy"]
            return dict(zip(names[: 4 if self.data.task == "classification" else 2], self._k_eval.tolist()))
        else:
            out = self._forward(self.X_all)[1].t()
        return evaluate_outputs(out[: self.n_train], out[self.n_train :], self.data, self.spec)

    @torch.no_grad()
    def maps(self, grid: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        f = self.model.features(grid)
        if self.compiled:
            hidden, z = self._forward_compiled(f.contiguous().numpy())
            ends = np.cumsum([0, *self.widths])
            return [torch.from_numpy(hidden[:, a:b].copy()) for a, b in zip(ends[:-1], ends[1:])], torch.from_numpy(z)
        xa = torch.cat([f.t(), torch.ones(1, len(f), device=self.device)])
        hidden, z = self._forward(xa)
        return [h.t().clone() for h in hidden], z.t()


# torch.optim's single-tensor updates (what it runs on the CPU), in its order of operations,
# with the per-parameter learning rates in place of the group's one. G already holds the
# weight decay; exp_avg and exp_avg_sq hold each optimizer's running averages.
def _adagrad(t: FastTrainer, group, step: int) -> None:
    t.exp_avg_sq.addcmul_(t.G, t.G, value=1)  # the sum of squared gradients
    t.P.addcdiv_(t.G * t.lrvec, t.exp_avg_sq.sqrt().add_(group["eps"]), value=-1.0)


def _rmsprop(t: FastTrainer, group, step: int) -> None:
    alpha = group["alpha"]
    t.exp_avg_sq.mul_(alpha).addcmul_(t.G, t.G, value=1 - alpha)
    t.P.addcdiv_(t.G * t.lrvec, t.exp_avg_sq.sqrt().add_(group["eps"]), value=-1.0)


def _adadelta(t: FastTrainer, group, step: int) -> None:
    rho, eps = group["rho"], group["eps"]
    square_avg, acc_delta = t.exp_avg_sq, t.exp_avg
    square_avg.mul_(rho).addcmul_(t.G, t.G, value=1 - rho)
    std = square_avg.add(eps).sqrt_()
    delta = acc_delta.add(eps).sqrt_().div_(std).mul_(t.G)
    acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
    t.P.addcmul_(delta, t.lrvec, value=-1.0)


def _adamax(t: FastTrainer, group, step: int) -> None:
    (beta1, beta2), eps = group["betas"], group["eps"]
    exp_inf = t.exp_avg_sq
    t.exp_avg.lerp_(t.G, 1 - beta1)
    torch.maximum(exp_inf.mul_(beta2), t.G.abs().add_(eps), out=exp_inf)
    t.P.addcdiv_(t.exp_avg * t.lrvec, exp_inf, value=-1 / (1 - beta1**step))


def _nadam(t: FastTrainer, group, step: int) -> None:
    (beta1, beta2), eps, decay = group["betas"], group["eps"], group["momentum_decay"]
    mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * decay)))
    mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * decay)))
    t.mu_product = np.float32(t.mu_product * np.float32(mu))
    t.exp_avg.lerp_(t.G, 1 - beta1)
    t.exp_avg_sq.mul_(beta2).addcmul_(t.G, t.G, value=1 - beta2)
    denom = t.exp_avg_sq.div(1 - beta2**step).sqrt_().add_(eps)
    product = float(t.mu_product)
    t.P.addcdiv_(t.G * t.lrvec, denom, value=-(1.0 - mu) / (1.0 - product))
    t.P.addcdiv_(t.exp_avg * t.lrvec, denom, value=-mu_next / (1.0 - product * mu_next))


def _radam(t: FastTrainer, group, step: int) -> None:
    (beta1, beta2), eps = group["betas"], group["eps"]
    t.exp_avg.lerp_(t.G, 1 - beta1)
    t.exp_avg_sq.mul_(beta2).addcmul_(t.G, t.G, value=1 - beta2)
    bias_correction1, bias_correction2 = 1 - beta1**step, 1 - beta2**step
    corrected = (t.exp_avg / bias_correction1).mul_(t.lrvec)
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
    if rho_t > 5.0:  # the variance is tractable: rectified adaptive step
        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        adaptive = (bias_correction2**0.5) / t.exp_avg_sq.sqrt().add_(eps)
        corrected.mul_(adaptive).mul_(rect)
    t.P.sub_(corrected)


_ADAPTIVE_UPDATES = {"adagrad": _adagrad, "rmsprop": _rmsprop, "adadelta": _adadelta, "adamax": _adamax,
                     "nadam": _nadam, "radam": _radam}
ADAPTIVE = tuple(_ADAPTIVE_UPDATES)


def _softmax_rows(z: torch.Tensor) -> torch.Tensor:
    return torch.softmax(z, 0)  # outputs are feature-major: classes along dim 0
