"""Model archives: a trained model as files a student can keep, rerun and load back.

An archive is a folder (or the same files in a ``.zip``)::

    spec.json             {"format": "dllab-model", "version": 1, "spec": {...}, "extra": {...}}
    state_dict.pt         the weights (torch.save of the state_dict; loads with weights_only)
    metrics.csv           one column per metric (epoch, train_loss, ...)
    model.torchscript.pt  the model as TorchScript, when the model scripts or traces
    rebuild.py            a short PyTorch script that rebuilds the model and evaluates it

The spec is the model's description; ``spec["kind"]`` names the builder that turns it
back into a module. Labs register their builders (and, optionally, the source code of
a stand-alone builder for ``rebuild.py``) with :func:`register_model_kind`.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
import tempfile
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch
from torch import nn

__all__ = [
    "ModelKind",
    "register_model_kind",
    "model_kind",
    "build_model",
    "save_model_archive",
    "load_model_archive",
    "load_model",
    "quiet_jit",
    "ARCHIVE_FORMAT",
    "ARCHIVE_VERSION",
]

ARCHIVE_FORMAT = "dllab-model"
ARCHIVE_VERSION = 1
SPEC_FILE, WEIGHTS_FILE, METRICS_FILE = "spec.json", "state_dict.pt", "metrics.csv"
SCRIPT_FILE, TORCHSCRIPT_FILE = "rebuild.py", "model.torchscript.pt"


@dataclass(frozen=True)
class ModelKind:
    """How to rebuild one kind of model from its spec.

    ``script_source``, when given, returns Python source defining
    ``build_model(spec) -> nn.Module`` using only torch; ``rebuild.py`` embeds it so the
    script runs without dllab. ``example_input(spec)`` gives a batch for evaluation
    and for tracing.
    """

    build: Callable[[Mapping[str, Any]], nn.Module]
    script_source: Callable[[Mapping[str, Any]], str] | None = None
    example_input: Callable[[Mapping[str, Any]], torch.Tensor] | None = None


_KINDS: dict[str, ModelKind] = {}


def register_model_kind(
    kind: str,
    build: Callable[[Mapping[str, Any]], nn.Module],
    *,
    script_source: Callable[[Mapping[str, Any]], str] | None = None,
    example_input: Callable[[Mapping[str, Any]], torch.Tensor] | None = None,
) -> None:
    """Register (or replace) the builder for ``spec["kind"] == kind``."""
    _KINDS[kind] = ModelKind(build, script_source, example_input)


def model_kind(kind: str) -> ModelKind:
    if kind not in _KINDS:
        known = ", ".join(sorted(_KINDS)) or "none registered"
        raise ValueError(f"No model builder for kind {kind!r} (known: {known})")
    return _KINDS[kind]


def build_model(spec: Mapping[str, Any], builder: Callable[[Mapping[str, Any]], nn.Module] | None = None) -> nn.Module:
    """A fresh module for ``spec``, by ``builder`` or by the builder registered for its kind."""
    if builder is not None:
        return builder(spec)
    kind = spec.get("kind")
    if not isinstance(kind, str):
        raise ValueError("The model spec has no 'kind', so it is not known how to rebuild it")
    return model_kind(kind).build(spec)


# -- saving ---------------------------------------------------------------------------


def save_model_archive(
    path: str | Path,
    model: nn.Module,
    spec: Mapping[str, Any],
    metrics: Mapping[str, Sequence[float]],
    extra: Mapping[str, Any] | None = None,
    torchscript: bool = True,
) -> Path:
    """Write the archive; a path ending in ``.zip`` gives a zip file, anything else a folder."""
    path = Path(path)
    try:
        json.dumps(spec)
        json.dumps(extra or {})
    except (TypeError, ValueError) as exc:
        raise ValueError(f"The model spec must be plain JSON data: {exc}") from None
    kind = _KINDS.get(spec.get("kind")) if isinstance(spec.get("kind"), str) else None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / (path.stem if path.suffix.lower() == ".zip" else path.name)
        folder.mkdir()
        _write_files(folder, model, spec, metrics, extra, torchscript, kind)
        if path.suffix.lower() == ".zip":
            path.parent.mkdir(parents=True, exist_ok=True)
            part = path.with_name(path.name + ".part")
            with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as zf:
                for f in sorted(folder.iterdir()):
                    zf.write(f, f.name)
            part.replace(path)  # never leave half an archive under the real name
        else:
            if path.exists() and not (path / SPEC_FILE).exists() and any(path.iterdir()):
                raise ValueError(f"{path} is a folder with other files in it; choose an empty or new folder")
            path.mkdir(parents=True, exist_ok=True)
            for f in folder.iterdir():
                shutil.copy2(f, path / f.name)
            if not torchscript or not (folder / TORCHSCRIPT_FILE).exists():
                (path / TORCHSCRIPT_FILE).unlink(missing_ok=True)  # no stale copy from an older save
    return path


def _write_files(folder: Path, model, spec, metrics, extra, torchscript: bool, kind: ModelKind | None) -> None:
    state = {k: v.detach().to("cpu").clone() for k, v in model.state_dict().items()}
    torch.save(state, folder / WEIGHTS_FILE)
    scripted = False
    if torchscript:
        scripted = _save_torchscript(model, spec, kind, folder / TORCHSCRIPT_FILE)
    header = {"format": ARCHIVE_FORMAT, "version": ARCHIVE_VERSION, "spec": dict(spec), "extra": dict(extra or {}),
              "files": {"weights": WEIGHTS_FILE, "metrics": METRICS_FILE, "script": SCRIPT_FILE,
                        "torchscript": TORCHSCRIPT_FILE if scripted else None}}
    (folder / SPEC_FILE).write_text(json.dumps(header, indent=2) + "\n", encoding="utf-8")
    _write_metrics(folder / METRICS_FILE, metrics)
    (folder / SCRIPT_FILE).write_text(_rebuild_script(spec, kind, scripted), encoding="utf-8")


@contextlib.contextmanager
def quiet_jit():
    """A context in which torch.jit's deprecation warnings stay quiet: for writing the
    archive's TorchScript file and for loading it back."""
    # torch >= 2.9 marks torch.jit as deprecated; TorchScript is still what the
    # issue asks for and what C++/mobile users load, so we keep writing it.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit.*deprecated", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.jit.*")
        yield


def _save_torchscript(model: nn.Module, spec, kind: ModelKind | None, target: Path) -> bool:
    was_training = model.training
    model.eval()
    try:
        with quiet_jit():
            try:
                scripted = torch.jit.script(model)
            except Exception:  # noqa: BLE001 - scripting fails on many Python constructs; try tracing
                if kind is None or kind.example_input is None:
                    return False
                try:
                    with torch.no_grad():
                        scripted = torch.jit.trace(model, kind.example_input(spec).to(next(model.parameters()).device))
                except Exception:  # noqa: BLE001
                    return False
            scripted = scripted.to("cpu") if hasattr(scripted, "to") else scripted
            torch.jit.save(scripted, str(target))
        return True
    finally:
        model.train(was_training)


def _write_metrics(path: Path, metrics: Mapping[str, Sequence[float]]) -> None:
    names = list(metrics)
    columns = [list(metrics[n]) for n in names]
    rows = max((len(c) for c in columns), default=0)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(names)
        for i in range(rows):
            w.writerow([_fmt(c[i]) if i < len(c) else "" for c in columns])


def _fmt(v) -> str:
    v = float(v)
    return repr(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)


_SCRIPT_HEAD = '''"""Rebuild and evaluate the model that dllab saved in this folder.

Run:  python rebuild.py          (needs only torch; unzip the archive first)
"""

import json
import pathlib

import torch
from torch import nn  # noqa: F401  (used by the builder below)

HERE = pathlib.Path(__file__).resolve().parent
spec = json.loads((HERE / "spec.json").read_text(encoding="utf-8"))["spec"]
'''

_SCRIPT_EVAL = '''
state = torch.load(HERE / "state_dict.pt", map_location="cpu", weights_only=True)
model.load_state_dict(state)
model.eval()
{example}
with torch.no_grad():
    out = model(x)
print("model:", model)
print("input:", tuple(x.shape), "-> output:", tuple(out.shape))
print(out[:5])
'''


def _rebuild_script(spec, kind: ModelKind | None, scripted: bool) -> str:
    example = "x = torch.zeros(1, *spec.get('input_shape', [1]))"
    if "input_shape" not in spec:
        example = "x = torch.zeros(1, 1)  # replace with a batch of your own inputs"
    if kind is not None and kind.script_source is not None:
        source = kind.script_source(spec).strip("\n")
        if "def example_input" in source:
            example = "x = example_input(spec)"
        return _SCRIPT_HEAD + "\n\n" + source + "\n\n\nmodel = build_model(spec)\n" + _SCRIPT_EVAL.format(example=example)
    if scripted:
        return (
            _SCRIPT_HEAD
            + "\n# No stand-alone builder for this kind of model: the TorchScript file holds the whole model.\n"
            + "model = torch.jit.load(str(HERE / \"model.torchscript.pt\"), map_location=\"cpu\")\n"
            + "model.eval()\n"
            + _SCRIPT_EVAL.split("model.eval()\n", 1)[1].format(example=example)
        )
    return (
        _SCRIPT_HEAD
        + "\nfrom core.model_io import load_model  # needs dllab installed\n\n"
        + "model, *_ = load_model(HERE)\n"
        + _SCRIPT_EVAL.split("model.eval()\n", 1)[1].format(example=example)
    )


# -- loading --------------------------------------------------------------------------


def load_model_archive(path: str | Path) -> tuple[dict, dict[str, torch.Tensor], dict[str, list[float]], dict]:
    """Read an archive written by :func:`save_model_archive`: (spec, state_dict, metrics, extra).

    ValueError with the reason for anything that is not such an archive.
    """
    path = Path(path)
    files = _read_files(path)
    name = path.name
    if SPEC_FILE not in files:
        raise ValueError(f"{name} is not a dllab model archive: it has no {SPEC_FILE}")
    try:
        header = json.loads(files[SPEC_FILE].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"{name}: {SPEC_FILE} is not valid JSON ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != ARCHIVE_FORMAT:
        raise ValueError(f"{name} is not a dllab model archive ({SPEC_FILE} has no 'format': '{ARCHIVE_FORMAT}')")
    if header.get("version") != ARCHIVE_VERSION:
        raise ValueError(f"{name} is model archive version {header.get('version')}; this dllab reads {ARCHIVE_VERSION}")
    spec, extra = header.get("spec"), header.get("extra", {})
    if not isinstance(spec, dict) or not isinstance(extra, dict):
        raise ValueError(f"{name}: {SPEC_FILE} lacks the model spec")
    if WEIGHTS_FILE not in files:
        raise ValueError(f"{name} has no weights ({WEIGHTS_FILE} is missing)")
    try:
        state = torch.load(io.BytesIO(files[WEIGHTS_FILE]), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad file
        raise ValueError(f"{name}: {WEIGHTS_FILE} cannot be read as PyTorch weights ({type(exc).__name__})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{name}: {WEIGHTS_FILE} is not a state_dict of tensors")
    metrics = _read_metrics(files.get(METRICS_FILE, b""), name)
    return spec, dict(state), metrics, extra


def load_model(
    path: str | Path, builder: Callable[[Mapping[str, Any]], nn.Module] | None = None
) -> tuple[nn.Module, dict, dict[str, list[float]], dict]:
    """Rebuild the archived model with its weights: (model, spec, metrics, extra)."""
    spec, state, metrics, extra = load_model_archive(path)
    name = Path(path).name
    try:
        model = build_model(spec, builder)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - a spec from a file: whatever it holds, one refusal
        raise ValueError(f"{name}: its spec does not describe a model that can be built ({type(exc).__name__}: {exc})") from None
    try:
        model.load_state_dict(state)
    except (RuntimeError, ValueError, TypeError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{name}: the weights do not fit the model the spec describes ({first})") from None
    model.eval()
    return model, spec, metrics, extra


def _read_files(path: Path) -> dict[str, bytes]:
    if not path.exists():
        raise ValueError(f"{path} does not exist")
    wanted = (SPEC_FILE, WEIGHTS_FILE, METRICS_FILE)
    if path.is_dir():
        return {n: (path / n).read_bytes() for n in wanted if (path / n).is_file()}
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path.name} is neither a model folder nor a zip archive")
    out: dict[str, bytes] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                base = info.filename.rsplit("/", 1)[-1]
                depth = info.filename.count("/")
                if base in wanted and depth <= 1 and base not in out:  # files at the top or one folder down
                    out[base] = zf.read(info)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError, RuntimeError, ValueError) as exc:
        # RuntimeError: an encrypted member; NotImplementedError: an unknown compression.
        raise ValueError(f"{path.name} is a damaged zip file ({type(exc).__name__}: {exc})") from None
    return out


def _read_metrics(data: bytes, name: str) -> dict[str, list[float]]:
    if not data:
        return {}
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"{name}: {METRICS_FILE} is not a readable CSV file ({exc})") from None
    if not rows:
        return {}
    names = rows[0]
    metrics: dict[str, list[float]] = {n: [] for n in names}
    for row in rows[1:]:
        for n, cell in zip(names, row):
            if cell == "":
                continue
            try:
                metrics[n].append(float(cell))
            except ValueError:
                raise ValueError(f"{name}: {METRICS_FILE} has a non-number {cell!r} in column {n!r}") from None
    return metrics
