"""Image data for the image-network lab: a built-in generated set, torchvision sets, folders.

Everything ends up as tensors in memory (no DataLoader workers): the training loop
indexes them directly, which is as fast as a plain torch loop can be.

* :func:`builtin_dataset` draws small grayscale shapes (disk, ring, square, ...) at
  random position, size, rotation and stroke, with background noise and specks. It
  needs no download, and position variation makes it hard for an MLP but easy for a
  CNN — the lesson of the lab.
* MNIST, Fashion-MNIST and CIFAR-10 come from ``torchvision.datasets`` after a
  download on request (:func:`download_job`, with progress and cancel) into a per-user
  folder; afterwards they load offline.
* :func:`load_image_folder` reads one sub-folder per class, resized; unreadable files
  are skipped and counted.
* :func:`prepare` takes a subset, splits train/validation and normalizes per channel
  with statistics of the training split only.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import urllib.error
import urllib.request
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

from core.datasets.image_files import folder_channels, load_image_folder, load_image_for_model
from core.engine import Event, Finished, RunControl, Snapshot, Throttle

__all__ = [
    "BUILTIN_CLASSES",
    "SOURCES",
    "DOWNLOADABLE",
    "DataConfig",
    "PreparedData",
    "DownloadConfig",
    "DownloadError",
    "builtin_dataset",
    "default_data_dir",
    "is_downloaded",
    "download_job",
    "load_image_folder",
    "load_source",
    "prepare",
    "clear_cache",
    "input_signature",
    "load_image_for_model",
]

BUILTIN_CLASSES = ["disk", "ring", "square", "frame", "triangle", "plus", "cross", "bars"]

SOURCES = {
    "builtin": "Built-in shapes (no download)",
    "mnist": "MNIST digits",
    "fashion_mnist": "Fashion-MNIST clothes",
    "cifar10": "CIFAR-10 photos",
    "folder": "Image folder (one sub-folder per class)",
}
DOWNLOADABLE = ("mnist", "fashion_mnist", "cifar10")


# ---------------------------------------------------------------------------------
# The built-in shapes
# ---------------------------------------------------------------------------------


def _rotate(x, y, theta):
    c, s = np.cos(theta), np.sin(theta)
    return c * x + s * y, -s * x + c * y


def _shape_sdf(name: str, x: np.ndarray, y: np.ndarray, stroke: np.ndarray) -> np.ndarray:
    """Signed distance (in shape units, negative inside) of a unit-size shape."""
    r = np.hypot(x, y)
    box = np.maximum(np.abs(x), np.abs(y))
    if name == "disk":
        return r - 1.0
    if name == "ring":
        return np.abs(r - 0.8) - stroke
    if name == "square":
        return box - 0.85
    if name == "frame":
        return np.abs(box - 0.75) - stroke
    if name == "triangle":
        angles = np.pi / 2 + np.arange(3) * 2 * np.pi / 3
        return np.max([np.cos(a) * x + np.sin(a) * y for a in angles], axis=0) - 0.5
    if name in ("plus", "cross"):  # a cross is a plus turned by 45°, see _ROTATION
        return np.minimum(
            np.maximum(np.abs(x) - stroke, np.abs(y) - 1.0),
            np.maximum(np.abs(y) - stroke, np.abs(x) - 1.0),
        )
    if name == "bars":
        return np.minimum(
            np.maximum(np.abs(x) - 1.0, np.abs(y - 0.45) - stroke),
            np.maximum(np.abs(x) - 1.0, np.abs(y + 0.45) - stroke),
        )
    raise ValueError(f"Unknown built-in shape {name!r}")


# Rotation range (radians) per class; ranges of plus and cross do not overlap.
_ROTATION = {
    "disk": (0.0, 0.0),
    "ring": (0.0, 0.0),
    "square": (0.0, np.pi / 2),
    "frame": (0.0, np.pi / 2),
    "triangle": (0.0, 2 * np.pi / 3),
    "plus": (-0.26, 0.26),
    "cross": (np.pi / 4 - 0.26, np.pi / 4 + 0.26),
    "bars": (-0.26, 0.26),
}


def _draw_class(name: str, n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    pixel = 2.0 / size
    coords = (np.arange(size) + 0.5) * pixel - 1.0
    gx, gy = coords[None, None, :], coords[None, :, None]
    scale = rng.uniform(0.32, 0.62, (n, 1, 1))
    room = 0.92 - scale
    cx = rng.uniform(-1, 1, (n, 1, 1)) * room
    cy = rng.uniform(-1, 1, (n, 1, 1)) * room
    lo, hi = _ROTATION[name]
    theta = rng.uniform(lo, hi, (n, 1, 1))
    stroke = np.maximum(rng.uniform(0.14, 0.26, (n, 1, 1)), 0.9 * pixel / scale)
    x, y = _rotate((gx - cx) / scale, (gy - cy) / scale, theta)
    sdf_pixels = _shape_sdf(name, x, y, stroke) * scale / pixel
    shape = np.clip(0.5 - sdf_pixels, 0.0, 1.0)  # one-pixel anti-aliased edge
    fg = rng.uniform(0.55, 1.0, (n, 1, 1))
    bg = rng.uniform(0.0, 0.25, (n, 1, 1))
    img = bg + (fg - bg) * shape
    # Specks: small bright blobs anywhere, so that "any bright pixel" is no shortcut.
    for _ in range(3):
        present = rng.random((n, 1, 1)) < 0.5
        sx, sy = rng.uniform(-0.95, 0.95, (2, n, 1, 1))
        blob = np.exp(-((gx - sx) ** 2 + (gy - sy) ** 2) / (2 * (1.2 * pixel) ** 2))
        img = img + present * rng.uniform(0.3, 0.8, (n, 1, 1)) * blob
    img = img + rng.normal(0.0, 1.0, img.shape) * rng.uniform(0.04, 0.12, (n, 1, 1))
    return np.clip(img, 0.0, 1.0).astype(np.float32)


def builtin_dataset(n_per_class: int = 500, size: int = 28, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Generated grayscale shapes: (images N×1×size×size in [0,1], int64 labels, class names).

    The same arguments always give the same images; classes are shuffled together.
    """
    if not 1 <= int(n_per_class) <= 20000:
        raise ValueError(f"Images per class must be between 1 and 20000, got {n_per_class}")
    if not 8 <= int(size) <= 128:
        raise ValueError(f"Image size must be between 8 and 128 pixels, got {size}")
    rng = np.random.default_rng(seed)
    parts = [_draw_class(name, int(n_per_class), int(size), rng) for name in BUILTIN_CLASSES]
    images = np.concatenate(parts)[:, None]
    labels = np.repeat(np.arange(len(BUILTIN_CLASSES)), int(n_per_class))
    order = rng.permutation(len(labels))
    return torch.from_numpy(images[order].copy()), torch.from_numpy(labels[order].astype(np.int64)), list(BUILTIN_CLASSES)


# ---------------------------------------------------------------------------------
# torchvision data sets: per-user folder, download with progress and cancel
# ---------------------------------------------------------------------------------


def default_data_dir() -> Path:
    """Where downloaded data sets live: $DLLAB_DATA, else the per-user data folder."""
    env = os.environ.get("DLLAB_DATA")
    if env:
        return Path(env)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "dllab" / "datasets"


def _tv_class(dataset: str):
    import torchvision.datasets as tvd

    return {"mnist": tvd.MNIST, "fashion_mnist": tvd.FashionMNIST, "cifar10": tvd.CIFAR10}[dataset]


def _open_torchvision(dataset: str, data_dir: Path, *, download: bool = False):
    cls = _tv_class(dataset)
    return cls(str(data_dir), train=True, download=download)


def is_downloaded(dataset: str, data_dir: str | Path | None = None) -> bool:
    try:
        _open_torchvision(dataset, Path(data_dir or default_data_dir()))
    except (RuntimeError, OSError):
        return False
    return True


class DownloadError(ValueError):
    """A download that did not succeed; the message says why and what to do."""


Resource = tuple[str, str, str, tuple[str, ...]]  # (sub-folder, file name, md5, urls)


def _resources(dataset: str) -> list[Resource]:
    cls = _tv_class(dataset)
    if dataset == "cifar10":
        return [("", cls.filename, cls.tgz_md5, (cls.url,))]
    sub = os.path.join(cls.__name__, "raw")
    return [(sub, name, md5, tuple(m + name for m in cls.mirrors)) for name, md5 in cls.resources]


@dataclass(frozen=True)
class DownloadConfig:
    dataset: str
    data_dir: str = ""
    # Normally taken from torchvision; tests give file:// URLs here.
    resources: tuple[Resource, ...] | None = None
    timeout_s: float = 20.0


def _md5(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fetch(url: str, target: Path, cfg: DownloadConfig, ctl: RunControl, throttle: Throttle, label: str) -> Iterator[Event]:
    part = target.with_name(target.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=cfg.timeout_s) as response, open(part, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            while True:
                ctl.checkpoint()  # cancel between chunks; the partial file is removed below
                chunk = response.read(1 << 16)
                if not chunk:
                    break
                out.write(chunk)
                done += len(chunk)
                if throttle.due():
                    yield Snapshot(done, "download", {"file": label, "done": done, "total": total})
        yield Snapshot(done, "download", {"file": label, "done": done, "total": total or done})
        part.replace(target)
    finally:
        if part.exists():
            part.unlink()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        return str(getattr(exc.reason, "strerror", None) or exc.reason)
    return str(exc) or type(exc).__name__


def download_job(cfg: DownloadConfig, ctl: RunControl) -> Iterator[Event]:
    """Download a torchvision data set into the data folder; Snapshot("download") as progress."""
    if cfg.resources is None and cfg.dataset not in DOWNLOADABLE:
        raise ValueError(f"{cfg.dataset!r} cannot be downloaded; choose one of {', '.join(DOWNLOADABLE)}")
    root = Path(cfg.data_dir or default_data_dir())
    resources = list(cfg.resources) if cfg.resources is not None else _resources(cfg.dataset)
    throttle = Throttle(20)
    for sub, name, md5, urls in resources:
        folder = root / sub
        target = folder / name
        if target.exists() and _md5(target) == md5:
            continue
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DownloadError(f"Cannot create the data folder {folder}: {exc.strerror or exc}") from None
        errors = []
        for url in urls:
            try:
                yield from _fetch(url, target, cfg, ctl, throttle, name)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                errors.append(f"{url}: {_reason(exc)}")
                continue
            if _md5(target) != md5:
                target.unlink()
                errors.append(f"{url}: the file arrived damaged (checksum mismatch)")
                continue
            break
        else:
            raise DownloadError(
                f"Could not download {name} ({'; '.join(errors)}). Check the internet connection, "
                "or use the built-in shapes data set, which needs no download."
            )
    if cfg.resources is None:
        yield Snapshot(0, "download", {"file": "unpacking", "done": 0, "total": 0})
        try:
            _open_torchvision(cfg.dataset, root, download=True)  # files are present: only unpacks
        except (RuntimeError, OSError) as exc:
            raise DownloadError(f"The downloaded files could not be unpacked: {exc}") from None
        clear_cache()
    yield Finished({"dataset": cfg.dataset, "path": str(root)})


# ---------------------------------------------------------------------------------
# Configuration, cache, subset / split / normalization
# ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataConfig:
    source: str = "builtin"
    folder: str = ""  # for source "folder"
    size: int = 28  # built-in and folder images; torchvision sets keep their own size
    channels: int = 0  # folder: 0 auto, 1 gray, 3 colour
    n_per_class: int = 600  # built-in set
    subset: int = 0  # images used before the split; 0 = all
    val_fraction: float = 0.2
    seed: int = 0
    normalize: bool = True
    data_dir: str = ""  # "" = default_data_dir()

    def validate(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"Unknown data source {self.source!r}; choose one of {', '.join(SOURCES)}")
        if self.source == "folder" and not self.folder:
            raise ValueError("Choose an image folder (one sub-folder per class) first")
        if not 0.05 <= self.val_fraction <= 0.5:
            raise ValueError(f"The validation share must be between 5 % and 50 %, got {self.val_fraction:.0%}")
        if self.subset < 0:
            raise ValueError("The subset size cannot be negative (0 means all images)")


@dataclass(frozen=True)
class SourceImages:
    # N×C×H×W: uint8 for files and downloaded sets (a quarter of the memory), else float in [0, 1]
    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str]
    description: str
    skipped: tuple[str, ...] = ()


_cache: OrderedDict = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 3


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _source_key(cfg: DataConfig) -> tuple:
    if cfg.source == "builtin":
        return ("builtin", cfg.n_per_class, cfg.size, cfg.seed)
    if cfg.source == "folder":
        return ("folder", str(Path(cfg.folder).resolve()), cfg.size, cfg.channels)
    return (cfg.source, cfg.data_dir or str(default_data_dir()))


def load_source(cfg: DataConfig, check: Callable[[], None] | None = None) -> SourceImages:
    """The whole source as tensors (uint8, or float in [0, 1]); cached, since loading can take seconds."""
    cfg.validate()
    key = _source_key(cfg)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    if cfg.source == "builtin":
        x, y, classes = builtin_dataset(cfg.n_per_class, cfg.size, cfg.seed)
        src = SourceImages(x, y, classes, f"built-in shapes, {len(y)} images of {cfg.size}×{cfg.size}")
    elif cfg.source == "folder":
        f = load_image_folder(cfg.folder, cfg.size, cfg.channels, check)
        note = f", {len(f.skipped)} unreadable file(s) skipped" if f.skipped else ""
        src = SourceImages(f.images, f.labels, f.classes, f"{Path(cfg.folder).name}: {len(f.labels)} images{note}", tuple(f.skipped))
    else:
        root = Path(cfg.data_dir or default_data_dir())
        try:
            ds = _open_torchvision(cfg.source, root)
        except (RuntimeError, OSError):
            raise ValueError(f"{SOURCES[cfg.source]} is not downloaded yet: press Download (it is saved in {root}), or use the built-in shapes") from None
        data = torch.as_tensor(np.asarray(ds.data))
        data = data[:, None] if data.ndim == 3 else data.permute(0, 3, 1, 2)
        src = SourceImages(data.contiguous(), torch.as_tensor(ds.targets, dtype=torch.int64), list(ds.classes), f"{SOURCES[cfg.source]}, {len(data)} training images")
    with _cache_lock:
        _cache[key] = src
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return src


@dataclass(frozen=True)
class PreparedData:
    x_train: torch.Tensor  # normalized float32
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    classes: list[str]
    mean: tuple[float, ...]  # per channel, from the training split only
    std: tuple[float, ...]
    description: str
    skipped: tuple[str, ...] = ()

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """Back to [0, 1] for display."""
        mean = torch.tensor(self.mean).view(1, -1, 1, 1)
        std = torch.tensor(self.std).view(1, -1, 1, 1)
        return (x * std + mean).clamp_(0, 1)


def channel_stats(x: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation of N×C×H×W images."""
    mean = x.mean(dim=(0, 2, 3))
    std = x.std(dim=(0, 2, 3)).clamp_min(1e-6)
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)


def _unit_float(x: torch.Tensor) -> torch.Tensor:
    return x.float().div_(255) if x.dtype == torch.uint8 else x


def prepare(cfg: DataConfig, check: Callable[[], None] | None = None) -> PreparedData:
    """Subset, train/validation split and normalization (training-split statistics only)."""
    src = load_source(cfg, check)
    n = len(src.labels)
    gen = torch.Generator().manual_seed(cfg.seed)
    order = torch.randperm(n, generator=gen)
    if cfg.subset:
        order = order[: min(cfg.subset, n)]
    n_val = max(1, round(len(order) * cfg.val_fraction))
    if len(order) - n_val < 2:
        raise ValueError(f"Only {len(order)} images: too few to split into training and validation")
    train_idx, val_idx = order[n_val:], order[:n_val]
    x_train, x_val = _unit_float(src.images[train_idx]), _unit_float(src.images[val_idx])
    if cfg.normalize:
        mean, std = channel_stats(x_train)
    else:
        c = x_train.shape[1]
        mean, std = (0.0,) * c, (1.0,) * c
    m = torch.tensor(mean).view(1, -1, 1, 1)
    s = torch.tensor(std).view(1, -1, 1, 1)
    return PreparedData(
        (x_train - m) / s,
        src.labels[train_idx],
        (x_val - m) / s,
        src.labels[val_idx],
        src.classes,
        mean,
        std,
        f"{src.description}; {len(train_idx)} for training, {len(val_idx)} for validation",
        src.skipped,
    )


def input_signature(cfg: DataConfig) -> tuple[tuple[int, int, int], list[str]]:
    """The input shape (C, H, W) and class names a source will give, without loading it all.

    For a folder this reads only the file headers, so it is quick enough for the GUI.
    """
    cfg.validate()
    if cfg.source == "builtin":
        return (1, cfg.size, cfg.size), list(BUILTIN_CLASSES)
    if cfg.source in ("mnist", "fashion_mnist"):
        return (1, 28, 28), list(_tv_class(cfg.source).classes)
    if cfg.source == "cifar10":
        return (3, 32, 32), ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    from torchvision.datasets.folder import find_classes

    key = _source_key(cfg)
    with _cache_lock:
        if key in _cache:
            src = _cache[key]
            return tuple(src.images.shape[1:]), list(src.classes)
    root = Path(cfg.folder)
    if not root.is_dir():
        raise ValueError(f"The image folder {str(root)!r} does not exist")
    try:
        classes, class_to_idx = find_classes(str(root))
    except FileNotFoundError:
        raise ValueError(f"{root.name} has no sub-folders; put the images of each class in a sub-folder of its own") from None
    channels = cfg.channels or folder_channels(root, class_to_idx)
    return (channels, cfg.size, cfg.size), list(classes)
