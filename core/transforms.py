"""Augmentation pipelines as JSON: the spec, its checks, the torchvision Compose it
builds, and the equivalent Python code a student can copy.

A spec is plain JSON::

    {"version": 1,
     "transforms": [{"type": "RandomRotation", "enabled": true, "p": 1.0,
                     "params": {"degrees": 30}}, ...],
     "mix": {"kind": "none" | "mixup" | "cutmix", "alpha": 1.0, "label_smoothing": 0.0}}

Public entry points (other labs train with them): :func:`build_pipeline` and
:func:`pipeline_from_json`. torchvision is imported inside functions only: importing it
costs seconds and the tab module must open fast.

Images enter the pipeline as uint8 ``tv_tensors.Image``; a ``ToDtype(float32, scale=True)``
is put in front of the first transform that needs floats (Normalize, GaussianNoise), the
way a real training pipeline does it, and it appears in the generated code too.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

__all__ = [
    "ParamDef",
    "TransformDef",
    "TRANSFORMS",
    "SPEC_VERSION",
    "MIX_KINDS",
    "default_entry",
    "default_spec",
    "normalize_spec",
    "build_pipeline",
    "build_steps",
    "make_transform",
    "pipeline_from_json",
    "spec_to_json",
    "pipeline_code",
    "draw_seed",
    "search_transforms",
]

SPEC_VERSION = 1
MIX_KINDS = ("none", "mixup", "cutmix")


def draw_seed(seed: int, index: int) -> int:
    """The torch seed of draw ``index`` of a grid: ``seed * 1000 + index`` (N ≤ 999 draws),
    so that two grids with different seeds never share a draw."""
    return int(seed) * 1000 + int(index)


@dataclass(frozen=True)
class ParamDef:
    """One constructor argument: its kind, default, allowed range and a label for the UI.

    kind: "float", "int", "bool", "choice", "pair" (two numbers lo ≤ hi), "triple".
    """

    name: str
    kind: str
    default: Any
    lo: float = 0.0
    hi: float = 1.0
    label: str = ""
    choices: tuple[str, ...] = ()
    odd: bool = False  # kernel sizes
    help: str = ""

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ")

    def check(self, value: Any, where: str) -> Any:
        """The value in canonical JSON form, or ValueError saying what is wrong."""
        name = f"{where}: {self.title}"
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false")
            return value
        if self.kind == "choice":
            if not (isinstance(value, str) and value in self.choices):
                raise ValueError(f"{name} must be one of {', '.join(self.choices)}")
            return value
        if self.kind in ("pair", "triple"):
            n = 2 if self.kind == "pair" else 3
            if not isinstance(value, (list, tuple)) or len(value) != n:
                raise ValueError(f"{name} needs {n} numbers")
            out = [self._number(v, name) for v in value]
            if self.kind == "pair" and out[0] > out[1]:
                raise ValueError(f"{name}: the minimum {out[0]:g} is larger than the maximum {out[1]:g}")
            return out
        return self._number(value, name)

    def _number(self, v: Any, name: str) -> float | int:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
            raise ValueError(f"{name} must be a number")
        if not (self.lo <= v <= self.hi):
            raise ValueError(f"{name} must be between {self.lo:g} and {self.hi:g}, got {v!r:.40}")
        if self.kind == "int":
            if v != int(v):
                raise ValueError(f"{name} must be a whole number")
            v = int(v)
            if self.odd and v % 2 == 0:
                raise ValueError(f"{name} must be odd (3, 5, 7, …), got {v}")
            return v
        return float(v)


@dataclass(frozen=True)
class TransformDef:
    """A transform the lab offers: how to build it and what the student can set."""

    type: str  # the name in torchvision.transforms.v2
    title: str
    group: str
    params: tuple[ParamDef, ...] = ()
    own_p: bool = False  # takes ``p`` itself; others are wrapped in RandomApply when p < 1
    needs_float: bool = False
    label_breaking: str = ""  # when this transform can change what the image shows
    default_p: float = 1.0
    # Turns checked params into constructor kwargs; ``is_float`` says what dtype arrives.
    kwargs: Callable[[dict, bool], dict] | None = None
    extra_check: Callable[[dict], None] | None = None
    sweep: tuple[str, float, float, Callable[[float, dict], dict]] | None = field(default=None)

    def param(self, name: str) -> ParamDef:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)


def _pf(name, default, lo, hi, label="", help=""):
    return ParamDef(name, "float", default, lo, hi, label, help=help)


def _pi(name, default, lo, hi, label="", odd=False, help=""):
    return ParamDef(name, "int", default, lo, hi, label, odd=odd, help=help)


def _pair(name, default, lo, hi, label="", help=""):
    return ParamDef(name, "pair", list(default), lo, hi, label, help=help)


def _solarize_kwargs(p: dict, is_float: bool) -> dict:
    # The threshold is given as a fraction of white so that it means the same for uint8 and float.
    return {"threshold": p["threshold"] if is_float else round(p["threshold"] * 255.0, 3)}


def _affine_kwargs(p: dict, is_float: bool) -> dict:
    return {"degrees": p["degrees"], "translate": list(p["translate"]), "scale": list(p["scale"]), "shear": p["shear"]}


def _randaugment_check(p: dict) -> None:
    if p["magnitude"] >= p["num_magnitude_bins"]:
        raise ValueError(
            f"RandAugment: magnitude ({p['magnitude']}) must be smaller than the number of magnitude bins ({p['num_magnitude_bins']})"
        )


def _normalize_check(p: dict) -> None:
    if min(p["std"]) <= 0:
        raise ValueError("Normalize: every std must be larger than 0")


def _jitter_sweep(key: str):
    return lambda v, p: {**{k: 0.0 for k in ("brightness", "contrast", "saturation", "hue")}, key: [v, v]}


_DEF_LIST = [
    TransformDef("RandomHorizontalFlip", "Horizontal flip", "geometry", own_p=True, default_p=0.5),
    TransformDef(
        "RandomVerticalFlip", "Vertical flip", "geometry", own_p=True, default_p=0.5,
        label_breaking="turns a 6 into a 9 and puts the sky at the bottom",
    ),
    TransformDef(
        "RandomCrop", "Random crop", "geometry",
        (_pi("size", 192, 8, 1024), _pi("padding", 0, 0, 256), ParamDef("pad_if_needed", "bool", True, label="pad if needed")),
        kwargs=lambda p, f: {"size": p["size"], "padding": p["padding"] or None, "pad_if_needed": p["pad_if_needed"]},
    ),
    TransformDef(
        "RandomResizedCrop", "Random resized crop", "geometry",
        (_pi("size", 224, 8, 1024), _pair("scale", (0.08, 1.0), 0.01, 1.0, "area scale"), _pair("ratio", (0.75, 1.3333), 0.1, 10.0, "aspect ratio")),
        sweep=("area scale", 0.05, 1.0, lambda v, p: {**p, "scale": [v, v]}),
    ),
    TransformDef("Resize", "Resize", "geometry", (_pi("size", 224, 8, 1024, help="length of the shorter side"),)),
    TransformDef(
        "RandomRotation", "Rotation", "geometry", (_pf("degrees", 30.0, 0.0, 180.0, "max angle °"),),
        sweep=("angle °", -45.0, 45.0, lambda v, p: {"degrees": [v, v]}),
    ),
    TransformDef(
        "RandomAffine", "Affine (translate, scale, shear)", "geometry",
        (
            _pf("degrees", 0.0, 0.0, 180.0, "max angle °"),
            _pair("translate", (0.1, 0.1), 0.0, 1.0, "max shift x, y"),
            _pair("scale", (0.9, 1.1), 0.1, 4.0, "scale"),
            _pf("shear", 10.0, 0.0, 80.0, "max shear °"),
        ),
        kwargs=_affine_kwargs,
        sweep=("shear °", -45.0, 45.0, lambda v, p: {"degrees": 0.0, "translate": [0.0, 0.0], "scale": [1.0, 1.0], "shear": [v, v]}),
    ),
    TransformDef(
        "RandomPerspective", "Perspective", "geometry", (_pf("distortion_scale", 0.5, 0.0, 1.0, "distortion"),),
        own_p=True, default_p=0.5, sweep=("distortion", 0.0, 1.0, lambda v, p: {"distortion_scale": v}),
    ),
    TransformDef(
        "ElasticTransform", "Elastic", "geometry", (_pf("alpha", 50.0, 0.0, 1000.0, "strength α"), _pf("sigma", 5.0, 0.1, 50.0, "smoothness σ")),
        sweep=("strength α", 0.0, 200.0, lambda v, p: {**p, "alpha": v}),
    ),
    TransformDef(
        "ColorJitter", "Colour jitter", "colour",
        (
            _pf("brightness", 0.4, 0.0, 1.0), _pf("contrast", 0.4, 0.0, 1.0),
            _pf("saturation", 0.4, 0.0, 1.0), _pf("hue", 0.1, 0.0, 0.5),
        ),
        sweep=("hue shift", -0.5, 0.5, _jitter_sweep("hue")),
    ),
    TransformDef("RandomGrayscale", "Grayscale", "colour", own_p=True, default_p=0.2),
    TransformDef(
        "GaussianBlur", "Gaussian blur", "filter",
        (_pi("kernel_size", 5, 1, 51, "kernel size", odd=True), _pair("sigma", (0.1, 2.0), 0.01, 20.0, "σ range")),
        sweep=("σ", 0.1, 5.0, lambda v, p: {"kernel_size": 2 * int(3 * 5.0) + 1, "sigma": [v, v]}),
    ),
    TransformDef(
        "GaussianNoise", "Gaussian noise", "filter",
        (_pf("mean", 0.0, -1.0, 1.0), _pf("sigma", 0.1, 0.0, 1.0, "σ"), ParamDef("clip", "bool", True)),
        needs_float=True, sweep=("σ", 0.0, 0.5, lambda v, p: {**p, "sigma": v}),
    ),
    TransformDef(
        "RandomErasing", "Random erasing (cutout)", "occlusion",
        (_pair("scale", (0.02, 0.33), 0.0, 1.0, "area"), _pair("ratio", (0.3, 3.3), 0.05, 20.0, "aspect ratio"), _pf("value", 0.0, 0.0, 1.0, "fill (0 black, 1 white)")),
        own_p=True, default_p=0.5, label_breaking="can hide the very part that decides the class",
        kwargs=lambda p, f: {"scale": p["scale"], "ratio": p["ratio"], "value": p["value"] if f else round(p["value"] * 255)},
        sweep=("area", 0.0, 0.6, lambda v, p: {**p, "scale": [v, v]}),
    ),
    TransformDef(
        "RandomPosterize", "Posterize", "colour", (_pi("bits", 3, 1, 8),), own_p=True, default_p=0.5,
        sweep=("bits", 1, 8, lambda v, p: {"bits": int(round(v))}),
    ),
    TransformDef(
        "RandomSolarize", "Solarize", "colour", (_pf("threshold", 0.5, 0.0, 1.0, "threshold (fraction of white)"),),
        own_p=True, default_p=0.5, kwargs=_solarize_kwargs, sweep=("threshold", 0.0, 1.0, lambda v, p: {"threshold": v}),
    ),
    TransformDef("RandomEqualize", "Equalize", "colour", own_p=True, default_p=0.5),
    TransformDef("RandomAutocontrast", "Autocontrast", "colour", own_p=True, default_p=0.5),
    TransformDef(
        "RandomAdjustSharpness", "Sharpness", "filter", (_pf("sharpness_factor", 2.0, 0.0, 20.0, "sharpness"),),
        own_p=True, default_p=0.5, sweep=("sharpness", 0.0, 10.0, lambda v, p: {"sharpness_factor": v}),
    ),
    TransformDef("AutoAugment", "AutoAugment", "policy", (ParamDef("policy", "choice", "imagenet", choices=("imagenet", "cifar10", "svhn")),)),
    TransformDef(
        "RandAugment", "RandAugment", "policy",
        (_pi("num_ops", 2, 1, 10, "operations"), _pi("magnitude", 9, 0, 99), _pi("num_magnitude_bins", 31, 2, 100, "magnitude bins")),
        extra_check=_randaugment_check,
    ),
    TransformDef("TrivialAugmentWide", "TrivialAugmentWide", "policy", (_pi("num_magnitude_bins", 31, 2, 100, "magnitude bins"),)),
    TransformDef(
        "AugMix", "AugMix", "policy",
        (_pi("severity", 3, 1, 10), _pi("mixture_width", 3, 1, 10, "chains"), _pi("chain_depth", -1, -1, 10, "chain depth (-1 random)"), _pf("alpha", 1.0, 0.01, 10.0, "α")),
    ),
    TransformDef(
        "Normalize", "Normalize", "preprocess",
        (ParamDef("mean", "triple", [0.485, 0.456, 0.406], -1.0, 2.0), ParamDef("std", "triple", [0.229, 0.224, 0.225], 0.0, 10.0)),
        needs_float=True, extra_check=_normalize_check,
    ),
]

TRANSFORMS: dict[str, TransformDef] = {d.type: d for d in _DEF_LIST}


def search_transforms(text: str) -> list[TransformDef]:
    """Transforms whose title, type or group contains every word of ``text``."""
    words = text.lower().split()
    return [d for d in _DEF_LIST if all(w in f"{d.title} {d.type} {d.group}".lower() for w in words)]


def default_entry(type_name: str) -> dict:
    d = _definition(type_name)
    return {"type": d.type, "enabled": True, "p": d.default_p, "params": {p.name: copy.deepcopy(p.default) for p in d.params}}


def default_spec() -> dict:
    return {
        "version": SPEC_VERSION,
        "transforms": [default_entry(t) for t in ("RandomResizedCrop", "RandomHorizontalFlip", "RandomRotation", "ColorJitter")],
        "mix": {"kind": "none", "alpha": 1.0, "label_smoothing": 0.0},
    }


def _definition(type_name: Any) -> TransformDef:
    if not (isinstance(type_name, str) and type_name in TRANSFORMS):
        raise ValueError(f"Unknown transform {type_name!r}; choose one of {', '.join(TRANSFORMS)}")
    return TRANSFORMS[type_name]


def normalize_spec(spec: Any) -> dict:
    """A checked copy of ``spec`` in canonical form (missing params take their defaults).

    Raises ValueError naming the transform and the parameter when anything is wrong.
    """
    if not isinstance(spec, dict):
        raise ValueError("A pipeline must be a JSON object with a 'transforms' list")
    if spec.get("version", SPEC_VERSION) != SPEC_VERSION:
        raise ValueError(f"Pipeline format version {spec.get('version')} is not supported (this lab reads {SPEC_VERSION})")
    items = spec.get("transforms")
    if not isinstance(items, list):
        raise ValueError("A pipeline needs a 'transforms' list")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f"Transform {i + 1} must be an object with a 'type'")
        d = _definition(item.get("type"))
        where = f"{d.title} (step {i + 1})"
        p = item.get("p", d.default_p)
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not (0.0 <= p <= 1.0):
            raise ValueError(f"{where}: probability p must be between 0 and 1")
        given = item.get("params", {})
        if not isinstance(given, dict):
            raise ValueError(f"{where}: 'params' must be an object")
        unknown = set(given) - {q.name for q in d.params}
        if unknown:
            raise ValueError(f"{where}: unknown parameter {sorted(unknown)[0]!r}")
        params = {q.name: q.check(given.get(q.name, copy.deepcopy(q.default)), where) for q in d.params}
        if d.extra_check is not None:
            d.extra_check(params)
        enabled = item.get("enabled", True)
        if not isinstance(enabled, bool):
            raise ValueError(f"{where}: 'enabled' must be true or false")
        out.append({"type": d.type, "enabled": enabled, "p": float(p), "params": params})
    mix = spec.get("mix", {}) or {}
    if not isinstance(mix, dict):
        raise ValueError("'mix' must be an object")
    kind = mix.get("kind", "none")
    if not (isinstance(kind, str) and kind in MIX_KINDS):
        raise ValueError(f"Batch mixing must be one of {', '.join(MIX_KINDS)}")
    alpha = _pf("alpha", 1.0, 0.01, 10.0, "mixing α").check(mix.get("alpha", 1.0), "Batch mixing")
    smoothing = _pf("label_smoothing", 0.0, 0.0, 0.99, "label smoothing").check(mix.get("label_smoothing", 0.0), "Labels")
    return {"version": SPEC_VERSION, "transforms": out, "mix": {"kind": kind, "alpha": alpha, "label_smoothing": smoothing}}


@dataclass(frozen=True)
class Step:
    """One transform as built: the spec entry it came from (None for the inserted ToDtype),
    the constructor call as text, and the module."""

    entry_index: int | None
    code: str
    module: Any


def _constructor_kwargs(d: TransformDef, entry: dict, is_float: bool) -> dict:
    kw = d.kwargs(entry["params"], is_float) if d.kwargs else dict(entry["params"])
    if d.own_p:
        kw["p"] = entry["p"]
    return kw


def _py(value: Any) -> str:
    if isinstance(value, float):
        return repr(round(value, 6))
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_py(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, str):
        return repr(value)
    return repr(value)


def _call_text(type_name: str, kw: dict) -> str:
    args = []
    for k, v in kw.items():
        if type_name in ("AutoAugment",) and k == "policy":
            args.append(f"policy=v2.AutoAugmentPolicy.{v.upper()}")
        else:
            args.append(f"{k}={_py(v)}")
    return f"v2.{type_name}({', '.join(args)})"


def make_transform(type_name: str, kw: dict):
    """The torchvision v2 transform ``type_name`` built from constructor arguments as a
    spec holds them: JSON lists become tuples and AutoAugment's policy name its enum."""
    from torchvision.transforms import v2

    kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in kw.items()}
    if type_name == "AutoAugment":
        kw["policy"] = v2.AutoAugmentPolicy(kw["policy"])
    return getattr(v2, type_name)(**kw)


def build_steps(spec: dict, *, float_input: bool = False) -> list[Step]:
    """The enabled transforms in order, as torchvision modules with their code text.

    ``float_input``: the images will be float in [0, 1] (a training set already
    converted) rather than uint8, so dtype-dependent values (solarize threshold, erasing
    fill) are given on that scale and no ToDtype is inserted.
    """
    import torch
    from torchvision.transforms import v2

    spec = normalize_spec(spec)
    steps: list[Step] = []
    is_float = bool(float_input)
    for i, entry in enumerate(spec["transforms"]):
        if not entry["enabled"]:
            continue
        d = TRANSFORMS[entry["type"]]
        if d.needs_float and not is_float:
            steps.append(Step(None, "v2.ToDtype(torch.float32, scale=True)", v2.ToDtype(torch.float32, scale=True)))
            is_float = True
        kw = _constructor_kwargs(d, entry, is_float)
        try:
            module = make_transform(d.type, kw)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{d.title} (step {i + 1}): {exc}") from None
        code = _call_text(d.type, kw)
        if not d.own_p and entry["p"] < 1.0:
            module = v2.RandomApply([module], p=entry["p"])
            code = f"v2.RandomApply([{code}], p={_py(entry['p'])})"
        steps.append(Step(i, code, module))
    return steps


def build_pipeline(spec: dict, *, float_input: bool = False):
    """A ``torchvision.transforms.v2.Compose`` for ``spec``: uint8 images in by default,
    float images in [0, 1] with ``float_input=True``.

    Batch mixing (``spec["mix"]``) is not part of it: MixUp/CutMix act on batches with
    labels; see :func:`core.augmentation.mix.mix_batch`.
    """
    from torchvision.transforms import v2

    return v2.Compose([s.module for s in build_steps(spec, float_input=float_input)])


def spec_to_json(spec: dict) -> str:
    return json.dumps(normalize_spec(spec), indent=2) + "\n"


def pipeline_from_json(path: str | Path, *, float_input: bool = False):
    """Read a pipeline spec file (or a dllab experiment whose state holds one) and build it."""
    return build_pipeline(load_spec(path), float_input=float_input)


def load_spec(path: str | Path) -> dict:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"Cannot read {path.name}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path.name} is not valid JSON ({exc})") from None
    if isinstance(data, dict) and data.get("format") == "dllab-experiment":
        data = (data.get("state") or {}).get("pipeline")
    return normalize_spec(data)


def pipeline_code(spec: dict, *, seed: int | None = None, n_draws: int = 16, image_size: tuple[int, int] | None = None) -> str:
    """Python code that builds the pipeline; with ``seed`` it also draws the grid.

    Executed with a uint8 ``tv_tensors.Image`` named ``image`` in scope, the draw loop
    reproduces this lab's grid for that seed exactly (same torch seeds, same order).
    """
    steps = build_steps(spec)
    lines = ["import torch", "from torchvision.transforms import v2", "", "pipeline = v2.Compose(["]
    lines += [f"    {s.code}," for s in steps]
    lines.append("])")
    mix = normalize_spec(spec)["mix"]
    if mix["kind"] != "none":
        cls = "MixUp" if mix["kind"] == "mixup" else "CutMix"
        lines += ["", "# On a batch of images with integer labels, after the pipeline:",
                  f"batch_mix = v2.{cls}(alpha={_py(mix['alpha'])}, num_classes=NUM_CLASSES)",
                  "# images, soft_labels = batch_mix(images, labels)"]
    if mix["label_smoothing"]:
        lines += [f"loss_fn = torch.nn.CrossEntropyLoss(label_smoothing={_py(mix['label_smoothing'])})"]
    if seed is not None:
        lines += [
            "",
            "# The lab's grid: draw i uses torch seed SEED * 1000 + i.",
            "# `image` is a uint8 tensor (3, H, W), e.g. torchvision.io.decode_image(path, mode=torchvision.io.ImageReadMode.RGB)",
            f"SEED, N = {int(seed)}, {int(n_draws)}",
            "draws = []",
            "for i in range(N):",
            "    torch.manual_seed(SEED * 1000 + i)",
            "    draws.append(pipeline(image))",
        ]
    return "\n".join(lines) + "\n"
