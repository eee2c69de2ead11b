"""Layer stacks for image classifiers: spec, shape/parameter/multiply-add inference, build.

A stack is a list of plain dicts, JSON as it is, e.g.
``[{"type": "conv", "filters": 8, "kernel": 3}, {"type": "activation", "fn": "relu"},
{"type": "maxpool", "kernel": 2, "stride": 2}, {"type": "flatten"}]``.
The output layer (a Linear to the number of classes) is always appended, so a stack
fits any data set. A stack may instead be one ``{"type": "torchvision", "arch": ...}``
layer: a whole untrained torchvision architecture with its own classifier.

:func:`infer_stack` walks the stack with closed-form shape arithmetic and reports per
layer the output shape, learnable parameters, multiply-adds, receptive field and, for
a convolution, what a fully connected layer doing the same mapping would cost. The
first impossible layer is reported with its reason. Tests compare every number with
what torch computes on the built model.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch
from torch import nn

from core.state_values import shown

__all__ = [
    "FieldSpec",
    "LayerType",
    "LAYER_TYPES",
    "ACTIVATIONS",
    "TORCHVISION_ARCHS",
    "PRESETS",
    "LayerRow",
    "StackReport",
    "normalize_layer",
    "infer_stack",
    "build_model",
    "preset_layers",
    "layer_label",
    "count_macs",
]


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    default: Any
    lo: float = 0
    hi: float = 0
    choices: tuple[str, ...] = ()  # a choice field when given
    is_float: bool = False


@dataclass(frozen=True)
class LayerType:
    label: str
    fields: tuple[FieldSpec, ...] = ()
    help: str = ""


ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}

TORCHVISION_ARCHS = {
    "resnet18": "ResNet-18",
    "mobilenet_v3_small": "MobileNetV3-Small",
    "shufflenet_v2_x0_5": "ShuffleNetV2 ×0.5",
    "squeezenet1_1": "SqueezeNet 1.1",
    "efficientnet_b0": "EfficientNet-B0",
    "alexnet": "AlexNet",
}

_POOL_FIELDS = (FieldSpec("kernel", "kernel", 2, 1, 8), FieldSpec("stride", "stride", 2, 1, 8))

LAYER_TYPES: dict[str, LayerType] = {
    "conv": LayerType(
        "Conv2d",
        (
            FieldSpec("filters", "filters", 8, 1, 512),
            FieldSpec("kernel", "kernel", 3, 1, 11),
            FieldSpec("stride", "stride", 1, 1, 4),
            FieldSpec("padding", "padding", 0, 0, 5),
            FieldSpec("dilation", "dilation", 1, 1, 4),
        ),
        "Slides small kernels (one per filter) over the image: the same weights at every position.",
    ),
    "maxpool": LayerType("MaxPool2d", _POOL_FIELDS, "Keeps the largest value of each window; no parameters."),
    "avgpool": LayerType("AvgPool2d", _POOL_FIELDS, "Averages each window; no parameters."),
    "batchnorm": LayerType("BatchNorm", (), "Normalizes each channel over the batch, then scales and shifts."),
    "dropout": LayerType("Dropout", (FieldSpec("p", "p", 0.25, 0.0, 0.9, is_float=True),), "Zeroes a random share p of values while training."),
    "flatten": LayerType("Flatten", (), "Turns channel×height×width maps into one vector."),
    "linear": LayerType("Linear", (FieldSpec("units", "units", 64, 1, 4096),), "Every output connected to every input."),
    "activation": LayerType("Activation", (FieldSpec("fn", "function", "relu", choices=tuple(ACTIVATIONS)),), "A nonlinearity applied to every value."),
    "torchvision": LayerType(
        "torchvision model",
        (FieldSpec("arch", "architecture", "resnet18", choices=tuple(TORCHVISION_ARCHS)),),
        "A whole torchvision architecture, untrained, with its own classifier.",
    ),
}


def normalize_layer(layer: Any, index: int = 0) -> dict:
    """A complete, checked copy of one layer dict (defaults filled in); ValueError if bad."""
    where = f"Layer {index + 1}"
    if not isinstance(layer, dict) or "type" not in layer:
        raise ValueError(f"{where}: a layer must be an object with a 'type'")
    kind = layer["type"]
    if not (isinstance(kind, str) and kind in LAYER_TYPES):
        raise ValueError(f"{where}: unknown layer type {kind!r}; choose one of {', '.join(LAYER_TYPES)}")
    spec = LAYER_TYPES[kind]
    out = {"type": kind}
    for f in spec.fields:
        v = layer.get(f.name, f.default)
        if f.choices:
            if not (isinstance(v, str) and v in f.choices):
                raise ValueError(f"{where} ({spec.label}): {f.label} must be one of {', '.join(f.choices)}, got {shown(v)}")
        else:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError(f"{where} ({spec.label}): {f.label} must be a number, got {shown(v)}")
            # The range first, on the value as given: int() of inf and float() of 10**400 raise.
            if not f.lo <= v <= f.hi:
                raise ValueError(f"{where} ({spec.label}): {f.label} must be between {f.lo:g} and {f.hi:g}, got {shown(v)}")
            if not f.is_float:
                if v != int(v):
                    raise ValueError(f"{where} ({spec.label}): {f.label} must be a whole number, got {v}")
                v = int(v)
            else:
                v = float(v)
        out[f.name] = v
    return out


def layer_label(layer: dict) -> str:
    """Short text for a layer, e.g. ``Conv2d 8×3×3 s1 p0``."""
    kind = layer["type"]
    if kind == "conv":
        defaults = {"stride": 1, "padding": 0, "dilation": 1}
        extra = "".join(f" {k[0]}{layer[k]}" for k, v in defaults.items() if layer[k] != v)
        return f"Conv2d {layer['filters']} × {layer['kernel']}×{layer['kernel']}{extra}"
    if kind in ("maxpool", "avgpool"):
        return f"{LAYER_TYPES[kind].label} {layer['kernel']}×{layer['kernel']} s{layer['stride']}"
    if kind == "dropout":
        return f"Dropout p={layer['p']:g}"
    if kind == "linear":
        return f"Linear {layer['units']}"
    if kind == "activation":
        return layer["fn"]
    if kind == "torchvision":
        return f"{TORCHVISION_ARCHS[layer['arch']]} (torchvision, untrained)"
    return LAYER_TYPES[kind].label


@dataclass
class LayerRow:
    index: int  # position in the stack; len(stack) for the output layer
    label: str
    out_shape: tuple[int, ...] | None = None  # per image, without the batch dimension
    params: int = 0
    macs: int = 0
    receptive_field: int | None = None  # pixels of the input one output value sees
    fc_equivalent: int | None = None  # parameters of a Linear doing the same mapping
    error: str = ""


@dataclass
class StackReport:
    rows: list[LayerRow] = field(default_factory=list)
    input_shape: tuple[int, int, int] = (1, 28, 28)
    error_index: int | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.error_index is None

    @property
    def total_params(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def total_macs(self) -> int:
        return sum(r.macs for r in self.rows)

    @property
    def total_fc_equivalent(self) -> int:
        """Parameters if every convolution were a fully connected layer (others as they are)."""
        return sum(r.fc_equivalent if r.fc_equivalent is not None else r.params for r in self.rows)


def _fmt_shape(shape: Sequence[int]) -> str:
    return "×".join(str(s) for s in shape)


def _spatial(kind: str, layer: dict, shape: tuple[int, ...]) -> tuple[tuple[int, ...], str]:
    """Output shape of a conv or pooling layer, or an error text."""
    name = LAYER_TYPES[kind].label
    if len(shape) != 3:
        return shape, f"{name} needs image maps (channels×height×width) but gets a flat vector of {shape[0]} values: move it before Flatten"
    c, h, w = shape
    k, s = layer["kernel"], layer["stride"]
    p = layer.get("padding", 0)
    d = layer.get("dilation", 1)
    span = d * (k - 1) + 1
    if span > h + 2 * p or span > w + 2 * p:
        what = f"kernel {k}×{k}" + (f" with dilation {d} spans {span}×{span}" if d > 1 else "")
        pad = f" (+ padding {p})" if p else ""
        return shape, f"{what} is larger than its {h}×{w} input{pad}"
    oh = (h + 2 * p - span) // s + 1
    ow = (w + 2 * p - span) // s + 1
    out_c = layer["filters"] if kind == "conv" else c
    return (out_c, oh, ow), ""


def infer_stack(layers: Sequence[dict], input_shape: Sequence[int], n_classes: int) -> StackReport:
    """Shapes, parameters and multiply-adds of every layer, or the first error and its layer."""
    report = StackReport(input_shape=tuple(int(v) for v in input_shape))
    try:
        layers = [normalize_layer(layer, i) for i, layer in enumerate(layers)]
    except ValueError as exc:
        report.error, report.error_index = str(exc), _index_of(str(exc))
        return report
    if any(layer["type"] == "torchvision" for layer in layers):
        return _infer_torchvision(layers, report, n_classes)
    shape: tuple[int, ...] = report.input_shape
    rf, jump = 1, 1  # receptive field and distance between neighbouring outputs, in input pixels
    for i, layer in enumerate([*layers, {"type": "output"}]):
        kind = layer["type"]
        row = LayerRow(i, layer_label(layer) if kind != "output" else f"Output: Linear {n_classes} (classes)")
        err = ""
        if kind in ("conv", "maxpool", "avgpool"):
            out, err = _spatial(kind, layer, shape)
            if not err:
                c_in = shape[0]
                if kind == "conv":
                    k = layer["kernel"]
                    row.params = out[0] * c_in * k * k + out[0]
                    row.macs = out[0] * out[1] * out[2] * c_in * k * k
                    in_n, out_n = c_in * shape[1] * shape[2], out[0] * out[1] * out[2]
                    row.fc_equivalent = in_n * out_n + out_n
                rf += (layer["kernel"] - 1) * layer.get("dilation", 1) * jump
                jump *= layer["stride"]
                shape = out
        elif kind == "batchnorm":
            row.params = 2 * shape[0]  # a scale and a shift per channel (or per feature)
        elif kind == "flatten":
            shape = (int(torch.Size(shape).numel()),)
        elif kind in ("linear", "output"):
            units = layer["units"] if kind == "linear" else n_classes
            if len(shape) != 1:
                where = "The output layer" if kind == "output" else "Linear"
                err = f"{where} needs a flat vector but gets {_fmt_shape(shape)} maps: add Flatten before it"
            else:
                row.params = shape[0] * units + units
                row.macs = shape[0] * units
                shape = (units,)
        if err:
            row.error = err
            report.rows.append(row)
            report.error, report.error_index = f"Layer {i + 1} ({row.label}): {err}" if kind != "output" else err, i
            return report
        row.out_shape = shape
        row.receptive_field = rf if len(shape) == 3 else None
        report.rows.append(row)
    return report


def _index_of(message: str) -> int:
    try:
        return int(message.split()[1].rstrip(":")) - 1
    except (IndexError, ValueError):
        return 0


def _infer_torchvision(layers: list[dict], report: StackReport, n_classes: int) -> StackReport:
    layer = next(layer for layer in layers if layer["type"] == "torchvision")
    i = layers.index(layer)
    row = LayerRow(i, layer_label(layer))
    report.rows.append(row)
    if len(layers) != 1:
        row.error = "a torchvision architecture is a whole network with its own classifier: make it the only layer"
    else:
        try:
            model = torchvision_model(layer["arch"], report.input_shape, n_classes)
            out, row.macs = count_macs(model, report.input_shape)
            row.out_shape = tuple(out.shape[1:])
            row.params = sum(p.numel() for p in model.parameters())
        except (RuntimeError, ValueError) as exc:
            row.error = f"does not fit a {_fmt_shape(report.input_shape)} input ({str(exc).splitlines()[0]})"
    if row.error:
        report.error, report.error_index = f"Layer {i + 1} ({row.label}): {row.error}", i
    return report


def count_macs(model: nn.Module, input_shape: Sequence[int]) -> tuple[torch.Tensor, int]:
    """Run one image through ``model`` (eval mode) and count multiply-adds with torch."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            out = model(torch.zeros(1, *input_shape))
    finally:
        model.train(was_training)
    return out, counter.get_total_flops() // 2


def torchvision_model(arch: str, input_shape: Sequence[int], n_classes: int) -> nn.Module:
    """An untrained torchvision architecture for images of ``input_shape`` and ``n_classes``.

    Its source goes into model archives' rebuild.py as it is, so it imports what it needs."""
    import torchvision

    model = getattr(torchvision.models, arch)(weights=None, num_classes=n_classes)
    channels = int(input_shape[0])
    if channels != 3:
        # Swap the first convolution for one that takes the data's channels.
        for parent in model.modules():
            for name, child in parent.named_children():
                if isinstance(child, nn.Conv2d) and child.in_channels == 3:
                    setattr(parent, name, nn.Conv2d(channels, child.out_channels, child.kernel_size, child.stride, child.padding, child.dilation, child.groups, child.bias is not None))
                    return model
    return model


def build_model(layers: Sequence[dict], input_shape: Sequence[int], n_classes: int) -> nn.Module:
    """The torch model for a valid stack; ValueError naming the first impossible layer."""
    report = infer_stack(layers, input_shape, n_classes)
    if not report.ok:
        raise ValueError(report.error)
    layers = [normalize_layer(layer, i) for i, layer in enumerate(layers)]
    if layers and layers[0]["type"] == "torchvision":
        return torchvision_model(layers[0]["arch"], input_shape, n_classes)
    modules: list[nn.Module] = []
    shape: tuple[int, ...] = tuple(input_shape)
    for layer, row in zip(layers, report.rows):
        modules.append(_module(layer, shape))
        shape = row.out_shape
    modules.append(nn.Linear(shape[0], n_classes))
    return nn.Sequential(*modules)


def _module(layer: dict, in_shape: tuple[int, ...]) -> nn.Module:
    kind = layer["type"]
    if kind == "conv":
        return nn.Conv2d(in_shape[0], layer["filters"], layer["kernel"], layer["stride"], layer["padding"], layer["dilation"])
    if kind == "maxpool":
        return nn.MaxPool2d(layer["kernel"], layer["stride"])
    if kind == "avgpool":
        return nn.AvgPool2d(layer["kernel"], layer["stride"])
    if kind == "batchnorm":
        return nn.BatchNorm2d(in_shape[0]) if len(in_shape) == 3 else nn.BatchNorm1d(in_shape[0])
    if kind == "dropout":
        return nn.Dropout(layer["p"])
    if kind == "flatten":
        return nn.Flatten()
    if kind == "linear":
        return nn.Linear(in_shape[0], layer["units"])
    if kind == "activation":
        return ACTIVATIONS[layer["fn"]]()
    raise ValueError(f"Cannot build a {kind!r} layer inside a stack")


def _act(fn: str = "relu") -> dict:
    return {"type": "activation", "fn": fn}


def _conv(filters: int, kernel: int = 3, padding: int = 0) -> dict:
    return {"type": "conv", "filters": filters, "kernel": kernel, "stride": 1, "padding": padding, "dilation": 1}


def _pool(kind: str = "maxpool") -> dict:
    return {"type": kind, "kernel": 2, "stride": 2}


_FLAT = {"type": "flatten"}

PRESETS: dict[str, tuple[str, list[dict]]] = {
    "mlp": ("MLP 128-64", [_FLAT, {"type": "linear", "units": 128}, _act(), {"type": "linear", "units": 64}, _act()]),
    "small_cnn": ("Small CNN (conv 8, conv 16)", [_conv(8), _act(), _pool(), _conv(16), _act(), _pool(), _FLAT]),
    "lenet5": (
        "LeNet-5-like",
        [_conv(6, 5, 2), _act(), _pool("avgpool"), _conv(16, 5), _act(), _pool("avgpool"), _FLAT, {"type": "linear", "units": 120}, _act(), {"type": "linear", "units": 84}, _act()],
    ),
    "small_vgg": (
        "Small VGG-style",
        [
            _conv(32, 3, 1), {"type": "batchnorm"}, _act(), _conv(32, 3, 1), {"type": "batchnorm"}, _act(), _pool(),
            _conv(64, 3, 1), {"type": "batchnorm"}, _act(), _conv(64, 3, 1), {"type": "batchnorm"}, _act(), _pool(),
            _FLAT, {"type": "dropout", "p": 0.3}, {"type": "linear", "units": 128}, _act(),
        ],
    ),
    "resnet18": ("ResNet-18 (torchvision)", [{"type": "torchvision", "arch": "resnet18"}]),
    "mobilenet_v3_small": ("MobileNetV3-Small (torchvision)", [{"type": "torchvision", "arch": "mobilenet_v3_small"}]),
}


def preset_layers(name: str) -> list[dict]:
    if name not in PRESETS:
        raise ValueError(f"Unknown network preset {name!r}; choose one of {', '.join(PRESETS)}")
    return copy.deepcopy(PRESETS[name][1])
