"""Experiment files: a tab's whole setup as JSON. Presets in assets/ use the same format.

    {"format": "dllab-experiment", "version": 1, "tab": "activations",
     "title": "...", "description": "...", "state": {... the tab's own keys ...}}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assets import presets_dir

__all__ = [
    "Experiment",
    "load_experiment",
    "save_experiment",
    "PRESETS_DIR",
    "list_presets",
    "find_preset",
    "FORMAT",
    "VERSION",
]

FORMAT = "dllab-experiment"
VERSION = 1
PRESETS_DIR = presets_dir()


@dataclass(frozen=True)
class Experiment:
    tab: str
    state: dict[str, Any]
    title: str = ""
    description: str = ""
    path: Path | None = field(default=None, compare=False)

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "tab": self.tab,
            "title": self.title,
            "description": self.description,
            "state": self.state,
        }


# Read on the GUI thread: a 48 MB file blocked the window for 11 s. The largest real
# experiment (a network builder state with its points) is well under 1 MB.
MAX_EXPERIMENT_BYTES = 4 * 2**20


def load_experiment(path: str | Path) -> Experiment:
    """Read and check an experiment file; ValueError with a readable reason otherwise."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_EXPERIMENT_BYTES:
            raise ValueError(
                f"{path.name} is {size / 2**20:.1f} MB; an experiment file is at most {MAX_EXPERIMENT_BYTES // 2**20} MB "
                "(it holds settings and a few hundred points, not data sets)"
            )
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"Cannot read {path.name}: {exc.strerror or exc}") from None
    except RecursionError:
        raise ValueError(f"{path.name} is nested too deeply to be an experiment file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path.name} is not a valid JSON file ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path.name} is not a dllab experiment file")
    if data.get("version") != VERSION:
        raise ValueError(f"{path.name} has format version {data.get('version')}; this dllab reads version {VERSION}")
    tab, state = data.get("tab"), data.get("state")
    if not isinstance(tab, str) or not isinstance(state, dict):
        raise ValueError(f"{path.name} lacks a 'tab' name or a 'state' object")
    return Experiment(tab, state, str(data.get("title", "")), str(data.get("description", "")), path)


def save_experiment(exp: Experiment, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(exp.to_json(), indent=2, sort_keys=False) + "\n", encoding="utf-8")
    tmp.replace(path)  # never leave a half-written experiment behind
    return path


def list_presets(tab: str) -> list[Experiment]:
    folder = PRESETS_DIR / tab
    presets = []
    for p in sorted(folder.glob("*.json")):
        try:
            presets.append(load_experiment(p))
        except ValueError:
            continue
    return presets


def find_preset(ref: str) -> Path:
    """A preset by file path, or by ``tab/name`` under assets/presets."""
    p = Path(ref)
    if p.suffix == ".json" and p.exists():
        return p
    candidate = PRESETS_DIR / (ref if ref.endswith(".json") else ref + ".json")
    if candidate.exists():
        return candidate
    known = sorted(f"{q.parent.name}/{q.stem}" for q in PRESETS_DIR.glob("*/*.json"))
    raise ValueError(f"No preset {ref!r}. Known presets: {', '.join(known) or 'none'}")
