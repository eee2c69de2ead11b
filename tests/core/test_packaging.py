"""The wheel holds the whole lab: every module, every preset, image and icon, the licence
and both launchers, so that a non-editable ``pip install`` works like the checkout.

The wheel is built from a fresh copy of the sources: setuptools reuses a ``build/`` folder
left in the tree, and a stale one could hand the wheel files the sources no longer ship.
"""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["lab", "core", "widgets", "assets"]
TOP_FILES = ["pyproject.toml", "README.md", "LICENSE"]


def _source_files(package: str) -> set[str]:
    return {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / package).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    src = tmp_path_factory.mktemp("src")
    for name in TOP_FILES:
        shutil.copy2(ROOT / name, src / name)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    # -v passes the build backend's own output through, so its warnings can be read below.
    cmd = [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation", "-w", str(out), str(src)]
    built = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-4000:]
    (path,) = out.glob("dllab-*.whl")
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        (metadata,) = (zf.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
        (entry_points,) = (zf.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
    return {"names": names, "metadata": metadata, "entry_points": entry_points, "log": built.stdout + built.stderr}


def test_every_preset_image_and_icon_is_in_the_wheel(wheel):
    data = _source_files("assets")
    presets = {n for n in data if n.startswith("assets/presets/") and n.endswith(".json")}
    images = {n for n in data if n.startswith("assets/images/") and n.endswith(".png")}
    assert len(presets) >= 60 and len(images) >= 5 and "assets/icons/dllab.svg" in data
    assert not data - wheel["names"], f"missing from the wheel: {sorted(data - wheel['names'])}"


@pytest.mark.parametrize("package", ["lab", "core", "widgets"])
def test_every_module_is_in_the_wheel(wheel, package):
    modules = {n for n in _source_files(package) if n.endswith(".py")}
    assert f"{package}/__init__.py" in modules
    assert not modules - wheel["names"], f"missing from the wheel: {sorted(modules - wheel['names'])}"
    assert not any(n.startswith("tests/") for n in wheel["names"])


def test_the_wheel_carries_the_licence_and_both_launchers(wheel):
    names = wheel["names"]
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "License-Expression: MIT" in wheel["metadata"].splitlines()
    assert "[console_scripts]\ndllab = lab.cli:main" in wheel["entry_points"]
    assert "[gui_scripts]\ndllab-gui = lab.cli:main" in wheel["entry_points"]


def test_the_build_raises_no_setuptools_warning(wheel):
    # A deprecated setting in pyproject.toml (the licence table, say) warns first and fails
    # later; setuptools' warnings print as "SomethingWarning: ..." (its lower-case
    # "warning: byte-compiling is disabled" notes are not about the project).
    warnings = [line.strip() for line in wheel["log"].splitlines() if "Warning: " in line]
    assert not warnings, "\n".join(warnings)
