"""The network of the network builder: input features of (x1, x2), hidden layers, an output.

A :class:`NetworkSpec` describes the architecture (features, widths, activation, dropout
and batch norm per layer, task, loss, initialization). :func:`build_network` turns it
into a plain torch module, :class:`Network2D`, whose forward takes raw points (n, 2)
and returns logits (classification) or values (regression). The same module is what
the model archive saves, what TorchScript exports and what ``rebuild.py`` rebuilds.
"""

from __future__ import annotations

import inspect
from dataclasses import asdict, dataclass
from typing import Any, List, Mapping

import torch
from torch import nn

from core.activation_functions import ACTIVATIONS, activation_module
from core.model_io import register_model_kind

__all__ = [
    "FEATURES",
    "INITS",
    "LOSSES",
    "MAX_LAYERS",
    "MAX_NEURONS",
    "NetworkSpec",
    "FeatureMap",
    "Network2D",
    "build_network",
    "init_network_",
    "layer_outputs",
    "linear_layers",
]

MAX_LAYERS = 8
MAX_NEURONS = 32

# name -> label shown on the input node
FEATURES: dict[str, str] = {
    "x1": "X₁",
    "x2": "X₂",
    "x1_sq": "X₁²/6",
    "x2_sq": "X₂²/6",
    "x1x2": "X₁X₂/6",
    "sin_x1": "sin(X₁)",
    "sin_x2": "sin(X₂)",
    "cos_x1": "cos(X₁)",
    "cos_x2": "cos(X₂)",
}

INITS = {
    "playground": "Uniform ±0.5 (Playground)",
    "xavier": "Xavier / Glorot",
    "kaiming": "Kaiming / He",
    "zeros": "Zeros (symmetry!)",
}

LOSSES = {"cross_entropy": "Cross-entropy", "mse": "Mean squared error"}


@dataclass(frozen=True)
class NetworkSpec:
    features: tuple[str, ...] = ("x1", "x2")
    hidden: tuple[int, ...] = (4, 2)
    activations: tuple[str, ...] = ("tanh", "tanh")
    dropout: tuple[float, ...] = (0.0, 0.0)
    batchnorm: tuple[bool, ...] = (False, False)
    task: str = "classification"
    n_classes: int = 2
    loss: str = "cross_entropy"
    init: str = "playground"

    def __post_init__(self):
        # Accept lists (from JSON) but store tuples so that the spec stays hashable and frozen.
        for name in ("features", "hidden", "activations", "dropout", "batchnorm"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    @property
    def n_outputs(self) -> int:
        return self.n_classes if self.task == "classification" and self.n_classes > 2 else 1

    @property
    def sizes(self) -> list[int]:
        """Widths of every layer of neurons, inputs first: e.g. [2, 4, 2, 1]."""
        return [len(self.features), *self.hidden, self.n_outputs]

    def check(self) -> "NetworkSpec":
        """ValueError with a student-readable reason for an impossible network."""
        if not self.features:
            raise ValueError("Choose at least one input feature")
        unknown = [f for f in self.features if f not in FEATURES]
        if unknown:
            raise ValueError(f"Unknown input feature(s) {', '.join(unknown)}; choose from {', '.join(FEATURES)}")
        if len(set(self.features)) != len(self.features):
            raise ValueError("Each input feature can be used once")
        if len(self.hidden) > MAX_LAYERS:
            raise ValueError(f"At most {MAX_LAYERS} hidden layers")
        for i, n in enumerate(self.hidden):
            if not (isinstance(n, int) and 1 <= n <= MAX_NEURONS):
                raise ValueError(f"Hidden layer {i + 1} needs 1 to {MAX_NEURONS} neurons, got {n}")
        L = len(self.hidden)
        if not (len(self.activations) == len(self.dropout) == len(self.batchnorm) == L):
            raise ValueError("Every hidden layer needs an activation, a dropout rate and a batch-norm switch")
        for a in self.activations:
            if a not in ACTIVATIONS:
                raise ValueError(f"Unknown activation {a!r}; choose one of {', '.join(ACTIVATIONS)}")
        for i, p in enumerate(self.dropout):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"Dropout of layer {i + 1} must be at least 0 and below 1, got {p}")
        if self.task not in ("classification", "regression"):
            raise ValueError(f"Task must be classification or regression, got {self.task!r}")
        if self.task == "classification" and not 2 <= self.n_classes <= 10:
            raise ValueError(f"A classification task needs 2 to 10 classes, got {self.n_classes}")
        if self.task == "regression" and self.loss != "mse":
            raise ValueError("Regression is trained with the mean squared error")
        if self.loss not in LOSSES:
            raise ValueError(f"Unknown loss {self.loss!r}; choose one of {', '.join(LOSSES)}")
        if self.init not in INITS:
            raise ValueError(f"Unknown initialization {self.init!r}; choose one of {', '.join(INITS)}")
        return self

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("features", "hidden", "activations", "dropout", "batchnorm"):
            d[k] = list(d[k])
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "NetworkSpec":
        known = {f for f in cls.__dataclass_fields__}
        try:
            return cls(**{k: v for k, v in d.items() if k in known}).check()
        except TypeError as exc:
            raise ValueError(f"Bad network description: {exc}") from None

    def model_spec(self) -> dict[str, Any]:
        """The JSON spec stored in a model archive (rebuilds via ``kind``)."""
        return {"kind": "network2d", "input_shape": [2], **self.to_dict()}


class FeatureMap(nn.Module):
    """Raw points (n, 2) -> the chosen input features (n, len(names)).

    Products of two coordinates are divided by 6: on Playground's ±6 square they would
    span ±36, dwarf x1 and x2, and a random initial weight on x1·x2 alone classified XOR
    before any training. Divided by 6 they span the same ±6 as the raw coordinates.
    (A literal, not a module constant: this class's source goes into saved models.)"""

    def __init__(self, names: List[str]):
        super().__init__()
        self.names = list(names)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = x[:, 0]
        x2 = x[:, 1]
        cols: List[torch.Tensor] = []
        for name in self.names:
            if name == "x1":
                cols.append(x1)
            elif name == "x2":
                cols.append(x2)
            elif name == "x1_sq":
                cols.append(x1 * x1 / 6.0)
            elif name == "x2_sq":
                cols.append(x2 * x2 / 6.0)
            elif name == "x1x2":
                cols.append(x1 * x2 / 6.0)
            elif name == "sin_x1":
                cols.append(torch.sin(x1))
            elif name == "sin_x2":
                cols.append(torch.sin(x2))
            elif name == "cos_x1":
                cols.append(torch.cos(x1))
            else:
                cols.append(torch.cos(x2))
        return torch.stack(cols, 1)


class Network2D(nn.Module):
    """Features, then the hidden layers and the output layer as one nn.Sequential."""

    def __init__(self, features: List[str], body: nn.Sequential):
        super().__init__()
        self.features = FeatureMap(features)
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.features(x))


def _body(spec: NetworkSpec) -> nn.Sequential:
    layers: list[nn.Module] = []
    sizes = spec.sizes
    for i, width in enumerate(spec.hidden):
        layers.append(nn.Linear(sizes[i], width))
        if spec.batchnorm[i]:
            layers.append(nn.BatchNorm1d(width))
        layers.append(activation_module(spec.activations[i]))
        if spec.dropout[i] > 0:
            layers.append(nn.Dropout(spec.dropout[i]))
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


def build_network(spec: NetworkSpec | Mapping[str, Any], seed: int | None = None) -> Network2D:
    """A fresh network; with ``seed`` its weights are initialized as the spec says."""
    if not isinstance(spec, NetworkSpec):
        spec = NetworkSpec.from_dict(spec)
    spec.check()
    model = Network2D(list(spec.features), _body(spec))
    if seed is not None:
        init_network_(model, spec.init, seed)
    return model


def linear_layers(model: Network2D) -> list[nn.Linear]:
    return [m for m in model.body if isinstance(m, nn.Linear)]


@torch.no_grad()
def init_network_(model: Network2D, scheme: str, seed: int) -> None:
    """Initialize every linear layer; the same seed gives the same weights."""
    g = torch.Generator().manual_seed(int(seed))
    for lin in linear_layers(model):
        w = torch.empty(lin.weight.shape)
        b = torch.zeros(lin.bias.shape)
        if scheme == "playground":
            nn.init.uniform_(w, -0.5, 0.5, generator=g)
            b.fill_(0.1)  # Playground starts every bias at 0.1
        elif scheme == "xavier":
            nn.init.xavier_uniform_(w, generator=g)
        elif scheme == "kaiming":
            nn.init.kaiming_uniform_(w, nonlinearity="relu", generator=g)
        elif scheme == "zeros":
            w.zero_()
        else:
            raise ValueError(f"Unknown initialization {scheme!r}; choose one of {', '.join(INITS)}")
        lin.weight.copy_(w)
        lin.bias.copy_(b)


@torch.no_grad()
def layer_outputs(model: Network2D, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    """(activations of every hidden layer, output logits) for raw points ``x`` in eval mode."""
    was_training = model.training
    model.eval()  # dropout off, batch norm from running statistics: what the network computes
    h = model.features(x)
    hidden = []
    for m in model.body:
        h = m(h)
        if not isinstance(m, (nn.Linear, nn.BatchNorm1d, nn.Dropout)):
            hidden.append(h)  # the output of an activation: one hidden layer's neurons
    model.train(was_training)
    return hidden, h


# -- model archive support -----------------------------------------------------------


def _script_source(spec: Mapping[str, Any]) -> str:
    """Stand-alone source for rebuild.py: the modules above and the exact layer list."""
    body = _body(NetworkSpec.from_dict(spec))
    lines = ",\n        ".join(f"nn.{m!r}" for m in body)
    return (
        "from typing import List\n\n"
        + inspect.getsource(FeatureMap)
        + "\n\n"
        + inspect.getsource(Network2D)
        + "\n\ndef build_model(spec):\n"
        + "    return Network2D(spec[\"features\"], nn.Sequential(\n        "
        + lines
        + ",\n    ))\n\n\n"
        + "def example_input(spec):\n"
        + "    # a few points of the plane; the model maps raw (x1, x2) to logits or values\n"
        + "    return torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0], [-3.0, -3.0], [5.0, 5.0]])\n"
    )


def _example_input(spec: Mapping[str, Any]) -> torch.Tensor:
    return torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0], [-3.0, -3.0], [5.0, 5.0]])


register_model_kind("network2d", lambda spec: build_network(spec), script_source=_script_source, example_input=_example_input)
