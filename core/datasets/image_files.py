"""Image files from disk: a folder of class sub-folders, or one image for a model.

Only what is safe to open is opened: regular files (a FIFO named like an image would
block forever), each file once however many links reach it, and no decompression bomb.
"""

from __future__ import annotations

import os
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

__all__ = ["FolderImages", "load_image_folder", "folder_channels", "load_image_for_model"]


_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "F"}


def _image_files(root: Path, class_to_idx: dict[str, int], extensions: tuple[str, ...]) -> tuple[list[tuple[str, int]], list[str]]:
    """(path, label) of every image file under the class folders, and what was passed over.

    Only regular files count: a FIFO named like an image would block the read forever.
    Links to folders are not followed (a link loop would list the same images again and
    again), and a file reached twice through links is read once."""
    samples, passed_over, seen = [], [], set()
    for name, label in sorted(class_to_idx.items(), key=lambda kv: kv[1]):
        for folder, dirs, files in os.walk(root / name, followlinks=False):
            dirs.sort()
            for file in sorted(files):
                path = os.path.join(folder, file)
                if not file.lower().endswith(extensions):
                    continue
                try:
                    regular = stat.S_ISREG(os.stat(path).st_mode)
                    real = os.path.realpath(path)
                except OSError:
                    regular = False
                if not regular:
                    passed_over.append(os.path.relpath(path, root))
                elif real not in seen:
                    seen.add(real)
                    samples.append((path, label))
    return samples, passed_over


def _open_image(path: str):
    """PIL's image, refusing decompression bombs outright (the size warning is an error)."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return Image.open(path)


# Everything PIL raises for a file that is not a readable image of sane size.
_UNREADABLE = (OSError, ValueError, SyntaxError, EOFError, Warning)


@dataclass
class FolderImages:
    images: torch.Tensor  # uint8 N×C×H×W
    labels: torch.Tensor
    classes: list[str]
    skipped: list[str] = field(default_factory=list)  # unreadable files (relative paths)


def load_image_folder(root: str | Path, size: int = 32, channels: int = 0, check: Callable[[], None] | None = None) -> FolderImages:
    """Read ``root/<class>/<image>`` resized to size×size; unreadable images are skipped.

    ``channels`` 1 or 3 forces grayscale or colour; 0 picks grayscale when every image is.
    ``check`` is called between images (a job passes ``ctl.checkpoint`` to allow cancel).
    """
    from PIL import Image
    from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes

    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"The image folder {str(root)!r} does not exist")
    if not 8 <= int(size) <= 256:
        raise ValueError(f"Image size must be between 8 and 256 pixels, got {size}")
    try:
        classes, class_to_idx = find_classes(str(root))
    except FileNotFoundError:
        raise ValueError(f"{root.name} has no sub-folders; put the images of each class in a sub-folder of its own") from None
    if len(classes) < 2:
        raise ValueError(f"{root.name} has only one class folder ({classes[0]}); a classifier needs at least two")
    samples, skipped = _image_files(root, class_to_idx, IMG_EXTENSIONS)
    pictures, labels, all_gray = [], [], True
    for path, label in samples:
        if check is not None:
            check()
        try:
            with _open_image(path) as im:
                all_gray &= im.mode in _GRAY_MODES
                pictures.append(im.convert("RGB").resize((size, size), Image.Resampling.BILINEAR))
                labels.append(label)
        except (*_UNREADABLE, Image.DecompressionBombError):
            skipped.append(os.path.relpath(path, root))
    counts = np.bincount(np.asarray(labels, np.int64), minlength=len(classes))
    empty = [c for c, k in zip(classes, counts) if k == 0]
    if empty:
        raise ValueError(f"No readable images in the class folder(s) {', '.join(empty)} of {root.name}")
    gray = channels == 1 or (channels == 0 and all_gray)
    if gray:
        arr = np.stack([np.asarray(p.convert("L"))[None] for p in pictures])
    else:
        arr = np.stack([np.asarray(p).transpose(2, 0, 1) for p in pictures])
    return FolderImages(torch.from_numpy(arr.copy()), torch.tensor(labels, dtype=torch.int64), list(classes), skipped)


def folder_channels(root: Path, class_to_idx: dict[str, int]) -> int:
    """1 when every image under the class folders is grayscale, else 3 (headers only)."""
    from PIL import Image
    from torchvision.datasets.folder import IMG_EXTENSIONS

    for path, _ in _image_files(root, class_to_idx, IMG_EXTENSIONS)[0]:
        try:
            with _open_image(path) as im:  # reads the header only
                if im.mode not in _GRAY_MODES:
                    return 3
        except (*_UNREADABLE, Image.DecompressionBombError):
            continue
    return 1


def load_image_for_model(path: str | Path, input_shape, mean, std) -> tuple[torch.Tensor, torch.Tensor]:
    """An image file as the model's input: (normalized C×H×W tensor, the same in [0, 1])."""
    from PIL import Image

    c, h, w = (int(v) for v in input_shape)
    if not Path(path).is_file():
        raise ValueError(f"{Path(path).name} is not a regular file")
    try:
        with _open_image(str(path)) as im:
            im = im.convert("L" if c == 1 else "RGB").resize((w, h), Image.Resampling.BILINEAR)
            arr = np.asarray(im, dtype=np.float32) / 255
    except (*_UNREADABLE, Image.DecompressionBombError) as exc:
        raise ValueError(f"{Path(path).name} cannot be read as an image ({type(exc).__name__})") from None
    raw = torch.from_numpy(arr.reshape(h, w, -1).transpose(2, 0, 1).copy())
    m = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)
    return (raw - m) / s, raw
