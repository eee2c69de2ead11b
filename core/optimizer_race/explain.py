"""One optimizer step written out: the update equation with this step's numbers in it.

The numbers are the racer's real state after the step (torch.optim's names:
``momentum_buffer``, ``exp_avg``, ``exp_avg_sq``, ``sum``, ``square_avg``,
``acc_delta``, ``exp_inf``); derived quantities (bias-corrected moments, the step)
are computed from them in closed form, as torch.optim does.
"""

from __future__ import annotations

import numpy as np

from core.optimizer_race.batched_optimizers import NADAM_MOMENTUM_DECAY, OptimizerSetting

__all__ = ["explain_step", "vec"]


def vec(v) -> str:
    """A 2-vector (or a scalar) for a student: (1.234, −0.0567)."""
    arr = np.atleast_1d(np.asarray(v, np.float64))
    parts = [f"{x:.4g}".replace("-", "−") for x in arr]
    return parts[0] if len(parts) == 1 else "(" + ", ".join(parts) + ")"


def explain_step(
    setting: OptimizerSetting,
    t: int,
    lr: float,
    grad: np.ndarray,
    state: dict[str, np.ndarray],
    update: np.ndarray,
    previous: np.ndarray,
) -> list[str]:
    """Lines of text: the rule, then each quantity with its value at step ``t``."""
    h = setting.values()
    f = setting.family
    g = vec(grad)
    lines = [f"{setting.name}, step {t}, learning rate η = {lr:.4g}", f"gradient g = ∇f{vec(previous)} = {g}"]
    if f == "sgd":
        if "momentum_buffer" in state:
            mu = h.get("momentum", 0.0)
            v = state["momentum_buffer"]
            lines.append(f"velocity v ← μ·v + g   (μ = {mu:g})   v = {vec(v)}")
            if setting.kind == "nesterov":
                lines.append(f"step: p ← p − η·(g + μ·v) = p − {lr:.4g}·{vec(grad + mu * v)}")
            else:
                lines.append(f"step: p ← p − η·v = p − {lr:.4g}·{vec(v)}")
        else:
            lines.append(f"step: p ← p − η·g = p − {lr:.4g}·{g}")
    elif f == "adagrad":
        s = state["sum"]
        eps = h["eps"]
        lines.append(f"squared-gradient sum G ← G + g²   G = {vec(s)}")
        lines.append(f"step: p ← p − η·g / (√G + ε)   per coordinate η/(√G + ε) = {vec(lr / (np.sqrt(s) + eps))}")
    elif f == "rmsprop":
        s = state["square_avg"]
        a, eps = h["alpha"], h["eps"]
        lines.append(f"squared-gradient average s ← α·s + (1−α)·g²   (α = {a:g})   s = {vec(s)}")
        lines.append(f"step: p ← p − η·g / (√s + ε)   per coordinate η/(√s + ε) = {vec(lr / (np.sqrt(s) + eps))}")
    elif f == "adadelta":
        s, u = state["square_avg"], state["acc_delta"]
        rho = h["rho"]
        lines.append(f"squared-gradient average s ← ρ·s + (1−ρ)·g²   (ρ = {rho:g})   s = {vec(s)}")
        lines.append("Δ = √(u + ε) / √(s + ε) · g   (u before this step)")
        lines.append(f"update average u ← ρ·u + (1−ρ)·Δ²   u = {vec(u)}")
        lines.append("step: p ← p − η·Δ")
    else:
        m = state["exp_avg"]
        b1, b2, eps = h["beta1"], h["beta2"], h["eps"]
        bc1, bc2 = 1 - b1**t, 1 - b2**t
        lines.append(f"first moment (velocity) m ← β₁·m + (1−β₁)·g   (β₁ = {b1:g})   m = {vec(m)}")
        if f == "adamax":
            u = state["exp_inf"]
            lines.append(f"infinity norm u ← max(β₂·u, |g| + ε)   (β₂ = {b2:g})   u = {vec(u)}")
            lines.append(f"step: p ← p − η/(1−β₁ᵗ)·m/u = p − {lr / bc1:.4g}·{vec(m / u)}")
        else:
            v = state["exp_avg_sq"]
            lines.append(f"second moment v ← β₂·v + (1−β₂)·g²   (β₂ = {b2:g})   v = {vec(v)}")
            m_hat, v_hat = m / bc1, v / bc2
            lines.append(f"bias-corrected m̂ = m/(1−β₁ᵗ) = {vec(m_hat)}   v̂ = v/(1−β₂ᵗ) = {vec(v_hat)}")
            if f == "nadam":
                mu = b1 * (1 - 0.5 * 0.96 ** (t * NADAM_MOMENTUM_DECAY))
                lines.append(f"Nesterov look-ahead: mixes g and m with μₜ = {mu:.4g}")
                lines.append("step: p ← p − η·[(1−μₜ)·g/(1−Πμ) + μₜ₊₁·m/(1−Πμ·μₜ₊₁)] / (√v̂ + ε)")
            elif f == "radam":
                rho_inf = 2 / (1 - b2) - 1
                rho_t = rho_inf - 2 * t * b2**t / bc2
                if rho_t > 5:
                    lines.append(f"variance is trusted (ρₜ = {rho_t:.3g} > 5): p ← p − η·r·m̂ / (√v̂ + ε)")
                else:
                    lines.append(f"too few steps to trust v (ρₜ = {rho_t:.3g} ≤ 5): p ← p − η·m̂ (plain momentum)")
            else:
                lines.append(f"step: p ← p − η·m̂ / (√v̂ + ε) = p − {lr:.4g}·{vec(m_hat / (np.sqrt(v_hat) + eps))}")
                if f == "adamw":
                    lines.append(f"decoupled weight decay first: p ← p·(1 − η·λ)   (λ = {h['weight_decay']:g})")
    if setting.noise > 0:
        lines.insert(2, f"(g includes gradient noise of standard deviation {setting.noise:g})")
    lines.append(f"update Δp = {vec(update)}   |Δp| = {float(np.linalg.norm(update)):.4g}   new p = {vec(previous + update)}")
    return lines
