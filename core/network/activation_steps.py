"""The fast path's activations: each one's forward step and autograd's derivative for it.

Each derivative is autograd's formula for that op (torch's *_backward kernels), so the
gradient matches the reference trainer's to rounding.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["ACTIVATION_STEPS", "NEEDS_PREACTIVATION", "LEAKY_SLOPE"]

LEAKY_SLOPE = 0.01  # the registry's default slope, which is what the builder uses


# grad(da, a, z): da the gradient at the layer's output a = f(z); z is kept only for the
# activations in NEEDS_PREACTIVATION (their derivative is not a function of the output alone).
def _tanh_grad(da, a, z):
    return torch.addcmul(da, da, a * a, value=-1.0)  # da * (1 - a²)


def _sigmoid_grad(da, a, z):
    return da.mul_(torch.addcmul(a, a, a, value=-1.0))  # da * a (1 - a)


def _relu_grad(da, a, z):
    return da.mul_(a > 0)


def _leaky_grad(da, a, z):
    return da.mul_(torch.where(a > 0, 1.0, LEAKY_SLOPE))


def _identity_grad(da, a, z):
    return da


def _hardtanh_grad(da, a, z):
    return da.mul_(a.abs() < 1)  # torch: 0 where x <= -1 or x >= 1; the output is ±1 exactly there


def _elu_grad(da, a, z):
    return da.mul_(torch.where(z > 0, 1.0, z.exp()))  # nn.ELU is not in place: autograd uses exp(x)


def _selu_grad(da, a, z):
    return da.mul_(torch.where(z > 0, SELU_SCALE, z.exp().mul_(SELU_SCALE * SELU_ALPHA)))


def _gelu_grad(da, a, z):
    cdf = torch.erf(z * math.sqrt(0.5)).add_(1.0).mul_(0.5)
    pdf = (z * z).mul_(-0.5).exp_().mul_(0.5 * M_2_SQRTPI * math.sqrt(0.5))
    return da.mul_(cdf.add_(pdf.mul_(z)))  # cdf + x·pdf


def _silu_grad(da, a, z):
    s = torch.sigmoid(z)
    return da.mul_(s * (1 + z * (1 - s)))


def _softplus_grad(da, a, z):
    e = z.exp()
    return da.mul_(torch.where(z > SOFTPLUS_THRESHOLD, 1.0, e / (e + 1)))


def _mish_grad(da, a, z):
    t = torch.tanh(F.softplus(z))
    return da.mul_(t + z * torch.sigmoid(z) * (1 - t * t))


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
M_2_SQRTPI = 2 / math.sqrt(math.pi)
SOFTPLUS_THRESHOLD = 20.0  # F.softplus's default: above it softplus(x) is x

# (forward, derivative): the forward works in place on the buffer, or (for NEEDS_PREACTIVATION)
# returns f(z) to be copied into the layer's output buffer; the registry's defaults.
ACTIVATION_STEPS = {
    "tanh": (torch.Tensor.tanh_, _tanh_grad),
    "sigmoid": (torch.Tensor.sigmoid_, _sigmoid_grad),
    "relu": (torch.Tensor.relu_, _relu_grad),
    "leaky_relu": (lambda h: F.leaky_relu_(h, LEAKY_SLOPE), _leaky_grad),
    "linear": (None, _identity_grad),
    "hardtanh": (F.hardtanh_, _hardtanh_grad),
    "elu": (F.elu, _elu_grad),
    "selu": (F.selu, _selu_grad),
    "gelu": (F.gelu, _gelu_grad),
    "silu": (F.silu, _silu_grad),
    "softplus": (F.softplus, _softplus_grad),
    "mish": (F.mish, _mish_grad),
}
NEEDS_PREACTIVATION = frozenset({"elu", "selu", "gelu", "silu", "softplus", "mish"})
