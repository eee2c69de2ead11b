"""The lab's data: preset experiments, sample images and the application icon.

A package of its own so that the wheel ships these files (as package data) and an
installed lab finds them wherever pip put them, through importlib.resources rather than
a path counted up from some module's ``__file__``. Pure data: no Qt, no torch, so core/
may read it too.

    presets/<tab>/<name>.json   experiment files, the same format File ▸ Save writes
    images/<name>.png           sample images drawn by core.datasets.samples
    icons/dllab.svg             the application icon
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["presets_dir", "images_dir", "icon_path"]


def _folder(name: str) -> Path:
    root = files(__name__)
    # The lab lists and opens these files by path (glob, open, Qt loaders), so they must lie
    # on disk; every pip install does that, only a zipped import would not.
    if not isinstance(root, Path):
        raise RuntimeError(f"dllab's data must be installed as files; found it inside an archive at {root}")
    return root / name


def presets_dir() -> Path:
    """The folder holding one sub-folder of preset experiments per tab."""
    return _folder("presets")


def images_dir() -> Path:
    """The folder of sample images (PNG) used by the augmentation and convolution labs."""
    return _folder("images")


def icon_path() -> Path:
    """The application icon, as SVG (Qt renders it crisply at every size)."""
    return _folder("icons") / "dllab.svg"
